"""The runs table: one small JSON file per job run under ``<warehouse>/runs/``.

A job writes its record when it starts (``status='running'``) and replaces it when it ends
(``'succeeded'`` or ``'failed'``, with stages, counts, tables and the error). Each write is a
temporary file renamed over ``<run_id>.json``, so a reader sees the old or the new record, never a
torn one. A job killed outright (SIGKILL, OOM killer, lost node) cannot write again: its record
stays ``'running'`` with no ``finished_at`` forever; ``started_at`` tells a stuck run from a live
one. Reusing ``--run-id`` replaces that run's record.

As a table (:meth:`RunLog.read`) it has the schema :data:`mining.schemas.RUNS`.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from numbers import Integral
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from mining.errors import InputError
from mining.io._atomic import check_run_id
from mining.io.warehouse import Warehouse
from mining.masking import mask_config, mask_secrets
from mining.schemas import RUNS

__all__ = ["STATUSES", "RunLog", "RunRecord", "check_run_id"]

STATUSES = ("running", "succeeded", "failed")


@dataclass
class RunRecord:
    """One run of one job, as recorded in the runs table.

    ``config`` must already be masked (:func:`mining.masking.mask_config`);
    :meth:`RunLog.write` masks it, the inputs and the error once more before writing.
    """

    run_id: str
    job: str
    config: dict[str, Any]
    spark_version: str
    started_at: datetime
    inputs: list[str] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    stages: list[dict[str, Any]] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    status: str = "running"
    error: str | None = None
    seconds: float | None = None
    finished_at: datetime | None = None
    notes: dict[str, str] = field(default_factory=dict)

    def to_row(self) -> dict[str, Any]:
        """The record as one JSON object with the columns of ``RUNS``, secrets masked."""
        if self.status not in STATUSES:
            raise InputError(f"run status must be one of {STATUSES}, got {self.status!r}")
        return {
            "run_id": check_run_id(self.run_id),
            "job": self.job,
            "status": self.status,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "seconds": self.seconds,
            "spark_version": self.spark_version,
            # Written as a JSON object; RUNS reads it as a string (Spark keeps the raw JSON text
            # of an object read into a string column), so values keep their TOML types.
            "config": mask_config(self.config),
            "inputs": [mask_secrets(str(p)) for p in self.inputs],
            "counts": {mask_secrets(k): {str(n): int(c) for n, c in v.items()}
                       for k, v in self.counts.items()},
            "stages": [_stage_row(s) for s in self.stages],
            "tables": list(self.tables),
            "error": mask_secrets(self.error) if self.error else None,
            "notes": {str(k): mask_secrets(str(v)) for k, v in self.notes.items()},
        }

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> RunRecord:
        """Inverse of :meth:`to_row` (stage rows keep the ``rows``/``row_counts`` split)."""
        finished = row.get("finished_at")
        return cls(
            run_id=row["run_id"], job=row["job"], config=dict(row.get("config") or {}),
            spark_version=row.get("spark_version") or "",
            started_at=datetime.fromisoformat(row["started_at"]),
            inputs=list(row.get("inputs") or []), counts=dict(row.get("counts") or {}),
            stages=list(row.get("stages") or []), tables=list(row.get("tables") or []),
            status=row["status"], error=row.get("error"), seconds=row.get("seconds"),
            finished_at=datetime.fromisoformat(finished) if finished else None,
            notes=dict(row.get("notes") or {}),
        )


def _stage_row(stage: Mapping[str, Any]) -> dict[str, Any]:
    # A stage counts one number (rows=1234) or several (rows={"read": 10, "kept": 9}); one typed
    # column each keeps both queryable without a JSON parse.
    rows = stage.get("rows")
    row = {"name": mask_secrets(str(stage.get("name", ""))), "status": str(stage.get("status", "")),
           "seconds": stage.get("seconds"), "rows": None, "row_counts": None}
    if isinstance(rows, Integral) and not isinstance(rows, bool):
        row["rows"] = int(rows)
    elif isinstance(rows, Mapping):
        row["row_counts"] = {str(k): int(v) for k, v in rows.items()}
    return row


class RunLog:
    """Reads and writes the run records of one warehouse (``<warehouse>/runs/<run_id>.json``)."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.dir = warehouse.root / "runs"

    def write(self, record: RunRecord) -> Path:
        """Write (or replace) the record of ``record.run_id`` atomically; returns its path.

        Raises
        ------
        InputError
            One line when the file cannot be written (read-only warehouse, full disk, ...).
        """
        line = json.dumps(record.to_row(), sort_keys=True, default=str) + "\n"
        final = self.dir / f"{record.run_id}.json"
        # The leading dot hides a temporary file that a kill leaves behind from Spark's reader.
        tmp = self.dir / f".{record.run_id}.{uuid.uuid4().hex[:8]}.tmp"
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            with tmp.open("w", encoding="utf-8") as fh:
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, final)
        except OSError as exc:
            with suppress(OSError):  # a half-written temporary file, if any
                tmp.unlink(missing_ok=True)
            raise InputError(f"could not write the run record {final}: "
                             f"{exc.strerror or type(exc).__name__}") from None
        return final

    def get(self, run_id: str) -> RunRecord:
        """The record of one run, read without Spark.

        Raises
        ------
        InputError
            If there is no such run.
        """
        path = self.dir / f"{check_run_id(run_id)}.json"
        if not path.is_file():
            raise InputError(f"no run {run_id!r} in {self.dir}")
        return RunRecord.from_row(json.loads(path.read_text(encoding="utf-8")))

    def records(self) -> list[RunRecord]:
        """Every record, oldest start first, read without Spark."""
        found = [self.get(p.stem) for p in self.dir.glob("*.json")] if self.dir.is_dir() else []
        return sorted(found, key=lambda r: r.started_at)

    def read(self, spark: SparkSession) -> DataFrame:
        """The runs table with schema :data:`~mining.schemas.RUNS` (empty when no run yet)."""
        if not any(self.dir.glob("*.json")):
            return spark.createDataFrame([], RUNS)
        return spark.read.schema(RUNS).json(str(self.dir))

    def register(self, spark: SparkSession, name: str = "runs") -> str:
        """Register the runs table as a temporary view; returns its name."""
        self.read(spark).select("*").createOrReplaceTempView(name)  # read-only, as in Warehouse
        return name

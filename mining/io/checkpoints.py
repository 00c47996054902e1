"""Durable iteration states on a local or shared filesystem, so a killed job resumes.

Implements ``mining._iteration.StateStore``: every checkpoint is written as Parquet into a
temporary directory and renamed into place (``iter-000010``), with the history beside it as
JSON, so a kill at any moment leaves only complete checkpoints. ``load`` returns the newest one.
The directory is keyed by the caller (hash of inputs and parameters) so a changed job never
resumes a stale state. After ``load``, ``resumed_from`` says which iteration the run resumes
after (0 for a fresh start), for the job's run record.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from mining.io._paths import check_writable_dir

log = logging.getLogger(__name__)


class ParquetStateStore:
    """Durable states under ``<directory>/<key>/iter-NNNNNN``; keeps the newest ``keep``."""

    def __init__(self, spark: SparkSession, directory: str | Path, key: str, *,
                 keep: int = 2) -> None:
        self.spark = spark
        self.directory = Path(directory).expanduser().absolute()
        self.root = self.directory / key
        self.keep = keep
        self.resumed_from = 0  # set by load(): the iteration of the checkpoint resumed

    def check_writable(self) -> Path:
        """Create the directory if needed and prove it takes a write (before any Spark work).

        Raises
        ------
        InputError
            One line naming the directory and the reason (a file, read-only, disk full).
        """
        return check_writable_dir(self.directory, what="resume directory")

    def save(self, state: DataFrame, iteration: int, history: list[dict[str, Any]]) -> DataFrame:
        """Write ``state`` and ``history`` atomically; return the state read back."""
        self.root.mkdir(parents=True, exist_ok=True)
        final = self.root / f"iter-{iteration:06d}"
        tmp = self.root / f".tmp-{iteration:06d}-{uuid.uuid4().hex[:8]}"
        state.write.parquet(str(tmp / "state"))
        (tmp / "history.json").write_text(json.dumps(history, default=str), encoding="utf-8")
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        log.info("checkpoint: iteration %d saved to %s", iteration, final)
        self._prune()
        return self.spark.read.parquet(str(final / "state"))

    def load(self) -> tuple[int, DataFrame, list[dict[str, Any]]] | None:
        """The newest complete checkpoint, or ``None``."""
        self.resumed_from = 0
        if not self.root.is_dir():
            return None
        done = sorted(p for p in self.root.glob("iter-*") if (p / "history.json").is_file())
        if not done:
            return None
        last = done[-1]
        history = json.loads((last / "history.json").read_text(encoding="utf-8"))
        self.resumed_from = int(last.name.split("-")[1])
        return self.resumed_from, self.spark.read.parquet(str(last / "state")), history

    def clear(self) -> None:
        """Remove every checkpoint of this key (after the job has published its result)."""
        shutil.rmtree(self.root, ignore_errors=True)

    def _prune(self) -> None:
        for stale in self.root.glob(".tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        done = sorted(self.root.glob("iter-*"))
        for old in done[:-self.keep]:
            shutil.rmtree(old, ignore_errors=True)

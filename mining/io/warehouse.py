"""The result warehouse: Parquet tables, each replaced by one atomic pointer switch.

Layout (``<root>`` is a local directory)::

    <root>/<table>/current -> versions/v000007   symlink: the version every reader sees
    <root>/<table>/versions/v000005 .. v000007   Parquet parts, _SUCCESS, _mining.json
    <root>/<table>/_staging/<run_id>-<hex>/      a version being written (+ <run_id>-<hex>.lock)
    <root>/<table>/.lock                         serializes the commits of one table
    <root>/runs/<run_id>.json                    the run log (:mod:`mining.io.runs`)

A publish writes the whole new version into ``_staging``, moves it under ``versions`` and then
replaces ``current`` with ``os.replace`` of a freshly made symlink: one ``rename(2)``, so a
process killed at any instant leaves ``current`` at the old or the new version, both complete.
Spark's ``mode("overwrite")`` deletes the old files first and is never used.

Fault injection: when the environment variable ``MINING_FAULT_POINT`` names one of
:data:`FAULT_POINTS`, the process SIGKILLs itself there (tests prove the previous version
survives): ``after_stage`` (staging written), ``after_move`` (in ``versions``, pointer still
old), ``before_switch`` (temporary symlink made), ``after_switch`` (before old versions go).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import uuid
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from pyspark.sql import DataFrame, Observation, SparkSession
from pyspark.sql import functions as F

from mining.errors import ConfigError, InputError
from mining.io._atomic import (
    FAULT_POINTS,
    _current_name,
    _fault,
    _flock,
    _fsync,
    _fsync_tree,
    _remove_if_dead,
    _version_dirs,
    _version_number,
)
from mining.masking import mask_secrets

__all__ = [
    "FAULT_POINTS",
    "META_FILE",
    "RESERVED",
    "StagedTable",
    "TableVersion",
    "Warehouse",
    "check_table_name",
    "default_root",
    "parse_root",
]

META_FILE = "_mining.json"  # leading "_": Spark's file listing skips it
RESERVED = frozenset({"runs"})
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_URI = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")


def check_table_name(name: object) -> str:
    """Return ``name`` if it is a valid table name (``[a-z_][a-z0-9_]{0,62}``), else raise.

    Raises
    ------
    InputError
        For anything else (``../x``, ``/abs``, quotes, backticks, dots, empty, upper case):
        a valid name is one path component and one SQL identifier, so it can never leave the
        warehouse root nor break out of a query.
    """
    # fullmatch, not match + "$": "$" also matches before a trailing newline.
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InputError(f"invalid table name {name!r}: use 1-63 of a-z, 0-9, _ "
                         "(starting with a letter or _)")
    return name


def default_root() -> str:
    """The warehouse used when none is given: ``$MINING_WAREHOUSE`` or ``./warehouse``."""
    return os.environ.get("MINING_WAREHOUSE", "warehouse")


def parse_root(root: str | os.PathLike[str]) -> Path:
    """Absolute local path of a warehouse root given as a path or a ``file://`` URI.

    Raises
    ------
    ConfigError
        For an empty root or any other scheme (``s3a://``, ``hdfs://``, ...).
    """
    text = os.fspath(root)
    scheme = _URI.match(text)
    if not text.strip():
        raise ConfigError("the warehouse root is empty")
    if scheme and scheme.group(1).lower() == "file":
        parsed = urlparse(text)
        if parsed.netloc not in ("", "localhost"):
            raise ConfigError(f"warehouse root {text!r}: a file:// URI must name a local path")
        text = unquote(parsed.path)
    elif scheme and text[scheme.end():].startswith("//"):
        raise ConfigError(
            f"warehouse root {mask_secrets(text)!r}: {scheme.group(1)}:// is not supported. The "
            "warehouse publishes by an atomic rename of a local symlink, which object stores do "
            "not have. Use a local or NFS directory, or on an object store a table format with an "
            "atomic commit (Delta Lake or Apache Iceberg; they need their Maven packages)."
        )
    return Path(text).expanduser().absolute()


@dataclass
class StagedTable:
    """A table version written to staging, not yet visible; ``rows`` counted while writing."""

    name: str
    run_id: str
    path: Path
    rows: int | None = None
    lock_fd: int | None = field(default=None, repr=False)  # held until commit or abort


@dataclass(frozen=True)
class TableVersion:
    """One stored version of a table and the metadata written beside it."""

    table: str
    version: str
    path: Path
    current: bool
    rows: int | None
    run_id: str | None
    created_at: str | None


class Warehouse:
    """Result tables under one local root, each replaced atomically and kept ``retention`` deep.

    Parameters
    ----------
    root
        Local directory or ``file://`` URI (created on first publish).
    retention
        Versions kept per table, the current one included (>= 1).

    Raises
    ------
    ConfigError
        For a non-local root or ``retention < 1``.

    Notes
    -----
    Atomic per table, not across tables: a job killed in the middle of ``commit`` may have
    switched some of its tables and not others (the runs table then shows it ``running``).
    Readers through :meth:`path`, :meth:`read` and :meth:`register` pin the version current at
    that moment; a version is deleted only when ``retention`` newer ones exist.
    """

    def __init__(self, root: str | os.PathLike[str], *, retention: int = 3) -> None:
        if isinstance(retention, bool) or not isinstance(retention, int) or retention < 1:
            raise ConfigError(f"retention must be an integer >= 1, got {retention!r}")
        self.root = parse_root(root)
        self.retention = retention

    def _table_dir(self, name: str) -> Path:
        if check_table_name(name) in RESERVED:
            raise InputError(f"table name {name!r} is reserved by the warehouse")
        return self.root / name

    # --- writing ---------------------------------------------------------------------------

    def begin_stage(self, name: str, *, run_id: str) -> StagedTable:
        """Reserve a staging directory (its lock held by this process) for a writer to fill."""
        table_dir = self._table_dir(name)
        staging = table_dir / "_staging"
        staging.mkdir(parents=True, exist_ok=True)
        key = f"{run_id}-{uuid.uuid4().hex[:8]}"
        # Under the table lock, so a concurrent cleanup never sees the lock file before it is held.
        with _flock(table_dir / ".lock"):
            fd = os.open(staging / f"{key}.lock", os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX)
        return StagedTable(name=name, run_id=run_id, path=staging / key, lock_fd=fd)

    def finish_stage(self, staged: StagedTable, *, rows: int) -> StagedTable:
        """Write the metadata beside the staged files; the version is then ready to commit."""
        staged.rows = int(rows)
        meta = {"table": staged.name, "run_id": staged.run_id, "rows": staged.rows,
                "created_at": datetime.now(UTC).isoformat(timespec="seconds")}
        staged.path.mkdir(parents=True, exist_ok=True)
        (staged.path / META_FILE).write_text(json.dumps(meta) + "\n", encoding="utf-8")
        _fault("after_stage")
        return staged

    def stage(self, name: str, df: DataFrame, *, run_id: str) -> StagedTable:
        """Write ``df`` as Parquet to staging; the row count comes from the same pass.

        Returns
        -------
        StagedTable
            With ``name`` and ``rows``; invisible until :meth:`commit`.
        """
        staged = self.begin_stage(name, run_id=run_id)
        try:
            observation = Observation()
            counted = df.observe(observation, F.count(F.lit(1)).alias("rows"))
            counted.write.parquet(str(staged.path))
            self.finish_stage(staged, rows=int(observation.get["rows"]))
        except BaseException:
            self.abort([staged])
            raise
        return staged

    def commit(self, staged: Sequence[StagedTable]) -> list[TableVersion]:
        """Make each staged table the current version (one atomic switch per table)."""
        return [self._commit_one(s) for s in staged]

    def abort(self, staged: Sequence[StagedTable]) -> None:
        """Delete staged versions that will not be committed."""
        for s in staged:
            shutil.rmtree(s.path, ignore_errors=True)
            self._release(s)

    def publish(self, tables: Mapping[str, DataFrame], *, run_id: str) -> list[TableVersion]:
        """Stage every table, then commit them (nothing becomes visible if a write fails)."""
        staged: list[StagedTable] = []
        try:
            for name, df in tables.items():
                staged.append(self.stage(name, df, run_id=run_id))
        except BaseException:
            self.abort(staged)
            raise
        return self.commit(staged)

    def _commit_one(self, staged: StagedTable) -> TableVersion:
        if staged.lock_fd is None:
            raise InputError(f"staged table {staged.name!r} was already committed or aborted")
        table_dir = self._table_dir(staged.name)
        versions = table_dir / "versions"
        versions.mkdir(exist_ok=True)
        _fsync_tree(staged.path)
        with _flock(table_dir / ".lock"):
            self._clean(table_dir)
            numbers = [_version_number(p.name) for p in _version_dirs(table_dir)]
            version = f"v{max([0, *numbers]) + 1:06d}"
            os.rename(staged.path, versions / version)
            _fault("after_move")
            tmp = table_dir / f".current.{uuid.uuid4().hex[:8]}"
            os.symlink(f"versions/{version}", tmp)
            _fault("before_switch")
            os.replace(tmp, table_dir / "current")  # the one atomic step
            _fsync(table_dir)
            _fault("after_switch")
            self._prune(table_dir)
        self._release(staged)
        return self.current(staged.name)

    def _release(self, staged: StagedTable) -> None:
        if staged.lock_fd is not None:
            Path(f"{staged.path}.lock").unlink(missing_ok=True)
            os.close(staged.lock_fd)
            staged.lock_fd = None

    def _clean(self, table_dir: Path) -> None:
        """Remove what killed publishers left (caller holds the table lock)."""
        staging = table_dir / "_staging"
        for entry in sorted(staging.iterdir()) if staging.is_dir() else []:
            if entry.name.endswith(".lock"):
                _remove_if_dead(entry, staging / entry.name.removesuffix(".lock"))
            elif not (staging / f"{entry.name}.lock").exists():
                shutil.rmtree(entry, ignore_errors=True)  # trash, or its owner is gone
        for tmp in table_dir.glob(".current.*"):
            tmp.unlink(missing_ok=True)
        current = _current_name(table_dir)
        newest = _version_number(current) if current else 0
        for v in _version_dirs(table_dir):
            if _version_number(v.name) > newest:  # moved in but never switched to
                self._trash(table_dir, v)

    def _prune(self, table_dir: Path) -> None:
        for old in _version_dirs(table_dir)[: -self.retention]:
            self._trash(table_dir, old)

    def _trash(self, table_dir: Path, version_dir: Path) -> None:
        # One rename takes the version out of `versions` at once; a kill during the slow rmtree
        # leaves a lock-less directory in _staging that the next commit removes.
        trash = table_dir / "_staging" / f"trash-{version_dir.name}-{uuid.uuid4().hex[:8]}"
        trash.parent.mkdir(exist_ok=True)
        os.rename(version_dir, trash)
        shutil.rmtree(trash, ignore_errors=True)

    # --- reading ---------------------------------------------------------------------------

    def tables(self) -> list[str]:
        """Names of the tables that have a current version."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir()
                      if _NAME.fullmatch(p.name) and p.name not in RESERVED
                      and (p / "current").is_symlink())

    def current(self, name: str) -> TableVersion:
        """The current version of table ``name``.

        Raises
        ------
        InputError
            If the table does not exist.
        """
        table_dir = self._table_dir(name)
        version = _current_name(table_dir)
        if version is None:
            known = ", ".join(self.tables()) or "none"
            raise InputError(f"no table {name!r} in warehouse {self.root} (tables: {known})")
        return _describe(name, table_dir / "versions" / version, current=True)

    def path(self, name: str) -> Path:
        """Directory of the current version (pinned: later publishes do not change it)."""
        return self.current(name).path

    def versions(self, name: str) -> list[TableVersion]:
        """Stored versions of ``name``, oldest first (empty for an unknown table)."""
        table_dir = self._table_dir(name)
        current = _current_name(table_dir)
        return [_describe(name, d, current=d.name == current) for d in _version_dirs(table_dir)]

    def read(self, spark: SparkSession, name: str) -> DataFrame:
        """The current version of ``name`` as a DataFrame."""
        return spark.read.parquet(str(self.path(name)))

    def register(self, spark: SparkSession) -> list[str]:
        """Register every table as a read-only temporary view named after it; returns the names."""
        names = self.tables()
        for name in names:
            # A view straight over the Parquet relation accepts INSERT [OVERWRITE], which would
            # rewrite a published version in place; over a projection Spark refuses it.
            self.read(spark, name).select("*").createOrReplaceTempView(name)
        return names


def _describe(table: str, version_dir: Path, *, current: bool) -> TableVersion:
    meta: dict[str, Any] = {}
    with suppress(OSError, ValueError):  # a version written by hand has none; still readable
        meta = json.loads((version_dir / META_FILE).read_text(encoding="utf-8"))
    return TableVersion(table=table, version=version_dir.name, path=version_dir, current=current,
                        rows=meta.get("rows"), run_id=meta.get("run_id"),
                        created_at=meta.get("created_at"))

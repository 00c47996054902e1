"""Logging setup, where Spark's own log goes, and per-stage timing (one line per stage)."""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mining.masking import MaskingFormatter

log = logging.getLogger("mining")


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time of each record (pytest swaps it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:  # StreamHandler.__init__ assigns it
        pass


def setup_logging(*, quiet: bool = False, verbose: bool = False) -> None:
    """Log ``mining`` to stderr: INFO by default, WARNING with ``quiet``, DEBUG with ``verbose``.

    Every record, tracebacks included, passes :class:`mining.masking.MaskingFormatter`, so no
    credential reaches the terminal.
    """
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    root = logging.getLogger("mining")
    root.setLevel(level)
    if not any(getattr(h, "_mining", False) for h in root.handlers):
        handler = _StderrHandler()
        handler.setFormatter(MaskingFormatter("%(asctime)s %(levelname)-5s %(name)s: %(message)s",
                                              "%H:%M:%S"))
        handler._mining = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.propagate = False
    # py4j logs every gateway round trip at INFO/DEBUG; it drowns the stage lines.
    logging.getLogger("py4j").setLevel(logging.WARNING)


# Spark logs kept per log directory (oldest removed first); each run or command writes one.
KEEP_SPARK_LOGS = 50


def spark_log_path(root: str | os.PathLike[str], name: str) -> Path:
    """The file that receives the output of a JVM started for ``name`` (a job run, a command).

    ``$MINING_LOG_DIR`` if set, else ``<root>/logs`` (``root`` is the warehouse), else, when that
    does not exist or cannot be written, ``<tmp>/mining-logs``. Only the newest
    :data:`KEEP_SPARK_LOGS` are kept.
    """
    env = os.environ.get("MINING_LOG_DIR")
    # Never create a warehouse just for a log (`mining sql` on a path that does not exist yet).
    candidates = [Path(env)] if env else [Path(root) / "logs"] if Path(root).is_dir() else []
    candidates.append(Path(tempfile.gettempdir()) / "mining-logs")
    for directory in candidates:
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(directory, os.W_OK):
            _prune_logs(directory)
            return directory.absolute() / f"{name}.log"
    return candidates[-1].absolute() / f"{name}.log"


def _prune_logs(directory: Path) -> None:
    def age(p: Path) -> float:
        try:
            return p.stat().st_mtime
        except OSError:  # removed meanwhile by a concurrent run's prune
            return 0.0

    logs = sorted(directory.glob("*.log"), key=age)
    for old in logs[: max(0, len(logs) - KEEP_SPARK_LOGS + 1)]:
        old.unlink(missing_ok=True)


@dataclass
class Stage:
    """One timed stage; set ``rows`` (a count or a dict of counts) inside the ``with`` block."""

    name: str
    seconds: float = 0.0
    rows: Any = None
    status: str = "running"


@dataclass
class StageLog:
    """Times the stages of a job and keeps them for the runs table."""

    stages: list[Stage] = field(default_factory=list)

    @contextmanager
    def stage(self, name: str) -> Iterator[Stage]:
        """Time a block; logs ``stage <name>: <rows> in <s> s`` when it ends."""
        st = Stage(name)
        self.stages.append(st)
        start = time.perf_counter()
        log.info("stage %s: started", name)
        try:
            yield st
        except BaseException:
            st.status = "failed"
            raise
        finally:
            st.seconds = round(time.perf_counter() - start, 3)
            if st.status == "running":
                st.status = "ok"
            rows = f" rows={st.rows}" if st.rows is not None else ""
            log.info("stage %s: %s%s in %.2f s", name, st.status, rows, st.seconds)

    def as_records(self) -> list[dict[str, Any]]:
        """Stages as plain dicts (name, seconds, rows, status)."""
        return [
            {"name": s.name, "seconds": s.seconds, "rows": s.rows, "status": s.status}
            for s in self.stages
        ]

"""Logging setup and per-stage timing (one log line per stage, with row counts and seconds)."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("mining")


def setup_logging(*, quiet: bool = False, verbose: bool = False) -> None:
    """Log ``mining`` to stderr: INFO by default, WARNING with ``quiet``, DEBUG with ``verbose``."""
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    root = logging.getLogger("mining")
    root.setLevel(level)
    if not any(getattr(h, "_mining", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-5s %(name)s: %(message)s", "%H:%M:%S")
        )
        handler._mining = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.propagate = False
    # py4j logs every gateway round trip at INFO/DEBUG; it drowns the stage lines.
    logging.getLogger("py4j").setLevel(logging.WARNING)


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

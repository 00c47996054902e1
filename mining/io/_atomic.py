"""Filesystem primitives of the warehouse: locks, fsync, version directories, fault points.

Local POSIX filesystems only (``rename(2)`` of a symlink is the atomic step); see
``mining.io.warehouse`` for the layout and the publish protocol.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

FAULT_ENV = "MINING_FAULT_POINT"
FAULT_POINTS = ("after_stage", "after_move", "before_switch", "after_switch")
_VERSION = re.compile(r"v(\d{6,})")


def _fault(point: str) -> None:
    """Kill this process at ``point`` if ``MINING_FAULT_POINT`` names it (tests only)."""
    if os.environ.get(FAULT_ENV) == point:
        os.kill(os.getpid(), signal.SIGKILL)


@contextmanager
def _flock(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _fsync(*paths: Path) -> None:
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _fsync_tree(path: Path) -> None:
    # Hadoop's local writer never fsyncs; without this a power cut after the switch could leave
    # `current` pointing at empty files. Results are small, so the cost is a few milliseconds.
    for parent, _, files in os.walk(path):
        _fsync(*(Path(parent) / name for name in files), Path(parent))


def _version_number(name: str) -> int:
    m = _VERSION.fullmatch(name)
    return int(m.group(1)) if m else -1


def _version_dirs(table_dir: Path) -> list[Path]:
    vdir = table_dir / "versions"
    return sorted(vdir.iterdir() if vdir.is_dir() else [], key=lambda p: _version_number(p.name))


def _current_name(table_dir: Path) -> str | None:
    link = table_dir / "current"
    if not link.is_symlink():
        return None
    return Path(os.readlink(link)).name


def _remove_if_dead(lock: Path, staged_dir: Path) -> None:
    try:
        fd = os.open(lock, os.O_RDWR)
    except FileNotFoundError:  # its owner just committed or aborted
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:  # a live publisher holds it
        os.close(fd)
        return
    shutil.rmtree(staged_dir, ignore_errors=True)
    lock.unlink(missing_ok=True)
    os.close(fd)

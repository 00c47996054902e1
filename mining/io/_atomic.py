"""Filesystem primitives of the warehouse: locks, fsync, version directories, fault points, ids.

Local POSIX filesystems only (``rename(2)`` of a symlink is the atomic step); see
``mining.io.warehouse`` for the layout and the publish protocol.

Fault injection: when the environment variable ``MINING_FAULT_POINT`` names one of
:data:`FAULT_POINTS`, the process SIGKILLs itself there (tests prove the previous version
survives): ``after_stage`` (staging written), ``after_move`` (in ``versions``, pointer still
old), ``before_switch`` (temporary symlink made), ``after_switch`` (before old versions go).
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import signal
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mining.errors import InputError

FAULT_ENV = "MINING_FAULT_POINT"
FAULT_POINTS = ("after_stage", "after_move", "before_switch", "after_switch")
_VERSION = re.compile(r"v(\d{6,})")
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


def check_run_id(run_id: object) -> str:
    """Return ``run_id`` if it is safe as a file name (``[A-Za-z0-9][A-Za-z0-9_.-]{0,127}``).

    Here rather than in :mod:`mining.io.runs` because both the run log (``runs/<run_id>.json``)
    and the warehouse (``_staging/<run_id>-<hex>``) build paths from it, and ``runs`` imports
    ``warehouse``.

    Raises
    ------
    InputError
        For anything else (slashes, ``..`` at the start, spaces, empty).
    """
    # fullmatch, not match + "$": "$" also matches before a trailing newline.
    if not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id):
        raise InputError(f"invalid run id {run_id!r}: use up to 128 of A-Z a-z 0-9 _ . - "
                         "(starting with a letter or digit)")
    return run_id


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


def commit_version(table_dir: Path, staged: Path, *, retention: int) -> str:
    """Move ``staged`` under ``versions`` and switch ``current`` to it; returns its name.

    Under the table lock: first removes what killed publishers left, then the one atomic step
    (``os.replace`` of a fresh symlink over ``current``), then prunes to ``retention``.
    """
    versions = table_dir / "versions"
    versions.mkdir(exist_ok=True)
    _fsync_tree(staged)
    with _flock(table_dir / ".lock"):
        _clean(table_dir)
        numbers = [_version_number(p.name) for p in _version_dirs(table_dir)]
        version = f"v{max([0, *numbers]) + 1:06d}"
        os.rename(staged, versions / version)
        _fault("after_move")
        tmp = table_dir / f".current.{uuid.uuid4().hex[:8]}"
        os.symlink(f"versions/{version}", tmp)
        _fault("before_switch")
        os.replace(tmp, table_dir / "current")  # the one atomic step
        _fsync(table_dir)
        _fault("after_switch")
        for old in _version_dirs(table_dir)[:-retention]:
            _trash(table_dir, old)
    return version


def _clean(table_dir: Path) -> None:
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
            _trash(table_dir, v)


def _trash(table_dir: Path, version_dir: Path) -> None:
    # One rename takes the version out of `versions` at once; a kill during the slow rmtree
    # leaves a lock-less directory in _staging that the next commit removes.
    trash = table_dir / "_staging" / f"trash-{version_dir.name}-{uuid.uuid4().hex[:8]}"
    trash.parent.mkdir(exist_ok=True)
    os.rename(version_dir, trash)
    shutil.rmtree(trash, ignore_errors=True)

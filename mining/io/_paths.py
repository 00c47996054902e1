"""Paths of the warehouse: its root, table names, paths inside it, and a writability probe.

Everything here runs before Spark does any work, so a bad root, name or path is one line
(:class:`~mining.errors.ConfigError` or :class:`~mining.errors.InputError`) instead of a Spark
failure half way through a job.
"""

from __future__ import annotations

import errno
import os
import re
import uuid
from collections.abc import Collection
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlparse

from mining.errors import ConfigError, InputError
from mining.masking import mask_secrets

_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_URI = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_WHY_LOCAL = (
    "The warehouse publishes by an atomic rename of a local symlink, which object stores do not "
    "have. Use a local or NFS directory, or on an object store a table format with an atomic "
    "commit (Delta Lake or Apache Iceberg; they need their Maven packages)."
)


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


def is_table_name(name: str) -> bool:
    """True when ``name`` is a valid table name (no exception)."""
    return bool(_NAME.fullmatch(name))


def default_root() -> str:
    """The warehouse used when none is given: ``$MINING_WAREHOUSE`` or ``./warehouse``."""
    return os.environ.get("MINING_WAREHOUSE", "warehouse")


def parse_root(root: str | os.PathLike[str]) -> Path:
    """Absolute local path of a warehouse root given as a path or a ``file:`` URI.

    Raises
    ------
    ConfigError
        For an empty root or any URI scheme other than ``file:`` (``s3a://``, ``hdfs://``,
        and also ``hdfs:/x``, which would otherwise become a local directory named ``hdfs:``).
    """
    text = os.fspath(root)
    if not text.strip():
        raise ConfigError("the warehouse root is empty")
    scheme = _URI.match(text)
    if scheme is None:
        return Path(text).expanduser().absolute()
    name = scheme.group(1)
    if name.lower() == "file":
        parsed = urlparse(text)
        if parsed.netloc not in ("", "localhost"):
            raise ConfigError(f"warehouse root {text!r}: a file:// URI must name a local path")
        return Path(unquote(parsed.path)).expanduser().absolute()
    shown = mask_secrets(text)
    if text[scheme.end():].startswith("//"):
        raise ConfigError(f"warehouse root {shown!r}: {name}:// is not supported. {_WHY_LOCAL}")
    # One slash or none (hdfs:/x/y, s3a:bucket): still a URI to Hadoop, so refused the same way;
    # a local directory whose name has a colon is written ./name:x.
    raise ConfigError(f"warehouse root {shown!r}: the URI scheme {name}: is not supported "
                      f"(write ./{shown} for a local directory of that name). {_WHY_LOCAL}")


def confine(root: Path, relpath: str | os.PathLike[str], *, what: str,
            reserved: Collection[str] = ()) -> Path:
    """``root / relpath`` for a relative path that stays inside ``root``.

    Raises
    ------
    InputError
        For an empty or absolute path, a ``..`` component, a first component in ``reserved``
        (table directories: a file there would be read as part of a table), or a path that
        leaves ``root`` through a symlink.
    """
    text = os.fspath(relpath)
    pure = PurePosixPath(text)
    if not text.strip() or not pure.parts:
        raise InputError(f"{what} is empty: give a path relative to the warehouse {root}")
    if pure.is_absolute():
        raise InputError(f"{what} {text!r} must be relative to the warehouse {root}, "
                         "not absolute")
    if ".." in pure.parts:
        raise InputError(f"{what} {text!r} must stay inside the warehouse {root}: "
                         "'..' is not allowed")
    if pure.parts[0] in reserved:
        raise InputError(f"{what} {text!r} is inside the directory of table {pure.parts[0]!r}; "
                         "use a directory of its own, such as plots/")
    path = root / pure
    # An existing symlink on the way could still lead out; resolve what exists and compare.
    if not path.resolve().is_relative_to(root.resolve()):
        raise InputError(f"{what} {text!r} leads outside the warehouse {root} through a symlink")
    return path


def check_writable_dir(directory: Path, *, what: str) -> Path:
    """Create ``directory`` if needed and prove that it takes a durable write.

    ``os.access`` alone is not enough (root passes it on a read-only mount point's permissions,
    and it says nothing of free space), so a small probe file is written, fsynced and removed;
    a full disk fails the write or the fsync with ENOSPC.

    Raises
    ------
    InputError
        One line naming the directory and the reason (a file, read-only, permission denied,
        no space left on device).
    """
    if directory.exists() and not directory.is_dir():
        raise InputError(f"{what} {directory} is a file, not a directory")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        if not os.access(directory, os.W_OK | os.X_OK):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
        _probe(directory / f".probe-{uuid.uuid4().hex[:8]}")
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        if exc.errno == errno.ENOTDIR:
            reason = f"{_file_on_the_way(directory)} is a file, not a directory"
        raise InputError(f"{what} {directory} is not writable: {reason}") from None
    return directory


def _probe(path: Path) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, b"probe\n")
        os.fsync(fd)
    finally:
        os.close(fd)
        path.unlink(missing_ok=True)


def _file_on_the_way(directory: Path) -> Path:
    """The nearest ancestor of ``directory`` that exists and is not a directory."""
    for parent in [directory, *directory.parents]:
        if parent.exists() and not parent.is_dir():
            return parent
    return directory

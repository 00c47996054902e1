"""Input paths: resolve them and check local inputs up front, so bad ones fail with one line.

Checked for every local path when a reader is called (remote paths are left to Spark; a read
failure at action time is mapped to one line by :func:`mining.io.readers.explain_read_failure`):

* the path (or glob) exists;
* a directory holds at least one file to read, and no subdirectory that Spark would silently
  skip (``recursive`` readers read the whole tree instead);
* each file's first bytes (after gunzip for ``.gz``: only the first few KiB are decompressed,
  never the whole file) are not gzip data under a plain name, not UTF-16/UTF-32 and not binary,
  and a ``.gz`` file is gzip data whose stream does not break off within those first KiB.

:func:`relative_name` gives a file its name relative to the input it was found under.
"""

from __future__ import annotations

import glob
import gzip
import os
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Union
from urllib.parse import unquote, urlparse

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from mining.errors import InputError
from mining.io.readers._failures import explain_read_failure

PathArg = Union[str, "os.PathLike[str]", Sequence[Union[str, "os.PathLike[str]"]]]

# Bytes of each file looked at: enough to see a byte order mark or a NUL byte every other byte,
# small enough that sniffing thousands of files costs well under a second.
SNIFF_BYTES = 4096
_GZIP_MAGIC = b"\x1f\x8b"
# Compressed files Python cannot look into cheaply: their content is not sniffed.
_OTHER_CODECS = (".bz2", ".zst", ".zstd", ".lz4", ".snappy", ".deflate", ".xz")
COMPRESSED = (".gz", *_OTHER_CODECS)


def resolve_paths(path: PathArg, *, recursive: bool = False, hint: str = "") -> list[str]:
    """The input paths as strings, after checking every local one (see the module docstring).

    Parameters
    ----------
    path
        A file, directory, glob, or a list of them.
    recursive
        The reader reads directory trees (``recursiveFileLookup``): subdirectories are read,
        not refused.
    hint
        Appended to the message about subdirectories (e.g. "or pass recursive=True").

    Raises
    ------
    InputError
        One line naming the path: missing, an empty directory, a directory with subdirectories
        that would not be read, or a file that is UTF-16, binary, truncated or not gzip.
    """
    items = [path] if isinstance(path, (str, os.PathLike)) else list(path)
    if not items:
        raise InputError("no input path given")
    out = []
    for item in items:
        text = os.fspath(item)
        local = local_path(text)
        if local is not None:
            found = glob.glob(local) if glob.has_magic(local) else [local] * Path(local).exists()
            if not found:
                raise InputError(f"input path does not exist: {text}")
            for name in found:
                for file in _checked_listing(Path(name), recursive=recursive, hint=hint):
                    sniff(file)
        out.append(text)
    return out


def local_path(text: str) -> str | None:
    """The local file system path of ``text``, or ``None`` for a remote URI (``hdfs://``...)."""
    parsed = urlparse(text)
    if parsed.scheme in ("", "file") or len(parsed.scheme) == 1:  # 1 letter: a Windows drive
        return parsed.path if parsed.scheme == "file" else text
    return None


def input_bytes(df: DataFrame) -> tuple[int, int] | None:
    """On-disk bytes of the files ``df`` reads, ``(plain, compressed)``; ``None`` if unknown.

    From ``DataFrame.inputFiles()`` (Spark's best effort: the file scans of the plan; ``(0,
    0)`` for a frame of local data). ``None`` when a file is not on a local file system this
    process sees (a remote URI, or a Spark Connect server on another machine).
    """
    plain = compressed = 0
    for uri in df.inputFiles():
        local = local_path(uri)
        path = Path(unquote(local)) if local is not None else None  # URIs write %20
        if path is None or not path.is_file():
            return None
        size = path.stat().st_size
        if path.name.lower().endswith(COMPRESSED):
            compressed += size
        else:
            plain += size
    return plain, compressed


def input_error(paths: Sequence[str], exc: Exception) -> InputError:
    """An ``InputError`` for a failure to open the inputs: a damaged file's own line, else one
    naming the inputs with the first line of Spark's message that names an exception."""
    explained = explain_read_failure(exc)
    if explained is not None:
        return explained
    lines = [ln.strip(" :\t") for ln in str(exc).splitlines() if ln.strip(" :\t")]
    first = next((ln for ln in lines if "Exception" in ln), lines[0] if lines else "")
    return InputError(f"cannot read input {', '.join(paths)}: {first or type(exc).__name__}")


def hidden(name: str) -> bool:
    """Whether Spark's file listing skips a file or directory of this name."""
    return name.startswith((".", "_")) and "=" not in name


def _walk(root: Path, recursive: bool) -> Iterator[Path]:
    """Non-hidden entries of ``root`` (the whole tree with ``recursive``, hidden dirs pruned)."""
    for entry in sorted(root.iterdir()):
        if hidden(entry.name):
            continue
        yield entry
        if recursive and entry.is_dir():
            yield from _walk(entry, recursive)


def local_files(paths: Sequence[str], *, recursive: bool = False) -> list[Path] | None:
    """The files Spark will read from ``paths``, or ``None`` when a path is not local.

    Follows Spark's listing: a directory's files (and subdirectories' with ``recursive``),
    without hidden names (starting with ``.`` or ``_``, at any level).
    """
    out: list[Path] = []
    for text in paths:
        local = local_path(text)
        if local is None:
            return None
        for name in glob.glob(local) if glob.has_magic(local) else [local]:
            p = Path(name)
            found = _walk(p, recursive) if p.is_dir() else [p]
            out.extend(f for f in found if f.is_file())
    return out


def _checked_listing(path: Path, *, recursive: bool, hint: str) -> list[Path]:
    """The files read from ``path``; a directory must hold some and no unread subdirectory."""
    if not path.is_dir():
        return [path]
    entries = list(_walk(path, recursive))
    files = [e for e in entries if e.is_file()]
    subdirs = [e.name for e in entries if e.is_dir() and e.parent == path]
    if subdirs and not recursive:
        shown = ", ".join(subdirs[:3]) + (", ..." if len(subdirs) > 3 else "")
        raise InputError(
            f"input directory {path} holds subdirectories ({shown}), which would not be read: "
            f"pass their files or a glob such as {path / '*' / '*'}{hint}"
        )
    if not files:
        raise InputError(
            f"input directory {path} holds no file to read "
            "(names starting with '.' or '_' are ignored)"
        )
    return files


def sniff(path: Path) -> None:
    """Refuse a local file whose first bytes show it cannot be read as text (one line)."""
    head = _head(path)
    encoding = _wide_encoding(head)
    if encoding is not None:
        raise InputError(
            f"input file {path} is {encoding} text: the readers take UTF-8 (or Latin-1); "
            f"convert it, e.g. iconv -f {encoding.split()[0]} -t UTF-8"
        )
    if b"\x00" in head:
        raise InputError(f"input file {path} holds NUL bytes: it is binary, not text")


def file_contains(path: Path, needle: bytes, *, limit: int) -> bool | None:
    """Whether the local file's content (decompressed for ``.gz``) holds ``needle``.

    ``None`` when the file is bigger than ``limit`` bytes on disk or compressed otherwise:
    the caller then asks Spark (a pass over the input) instead of reading it here.
    """
    name = path.name.lower()
    if path.stat().st_size > limit or (name.endswith(_OTHER_CODECS)):
        return None
    opener: Any = gzip.open if name.endswith(".gz") else open
    keep, tail = len(needle) - 1, b""
    with opener(path, "rb") as f:
        while chunk := f.read(2**20):
            if needle in tail + chunk:
                return True
            tail = chunk[len(chunk) - keep:] if keep else b""
    return False


def _head(path: Path) -> bytes:
    """The first ``SNIFF_BYTES`` of the file's content (decompressed for ``.gz``)."""
    name = path.name.lower()
    with path.open("rb") as f:
        raw = f.read(SNIFF_BYTES)
    if name.endswith(".gz"):
        if raw and not raw.startswith(_GZIP_MAGIC):
            raise InputError(f"input file {path} is not gzip data although its name ends in .gz")
        try:
            with gzip.open(path) as g:
                return g.read(SNIFF_BYTES)
        except EOFError as exc:  # the whole stream ended before its end marker
            raise InputError(f"input file {path} is truncated or corrupt ({exc})") from None
        except (OSError, zlib.error) as exc:
            raise InputError(f"input file {path} is corrupt ({exc})") from None
    if name.endswith(_OTHER_CODECS):
        return b""
    if raw.startswith(_GZIP_MAGIC + b"\x08"):  # Spark picks the codec by the file name
        raise InputError(
            f"input file {path} is gzip-compressed but its name does not end in .gz: "
            "rename it so that it is decompressed"
        )
    return raw


def _wide_encoding(head: bytes) -> str | None:
    """``"UTF-16"`` (etc.) when ``head`` starts with a UTF-16/32 byte order mark or looks like
    UTF-16 without one (ASCII text in UTF-16 has a NUL byte every other byte)."""
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "UTF-32 (byte order mark)"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16 (byte order mark)"
    even, odd = head[0::2], head[1::2]
    if len(odd) < 2:
        return None
    nul_even, nul_odd = even.count(0) / len(even), odd.count(0) / len(odd)
    if nul_odd >= 0.3 and nul_even <= 0.05:
        return "UTF-16LE (no byte order mark: a NUL byte every other byte)"
    if nul_even >= 0.3 and nul_odd <= 0.05:
        return "UTF-16BE (no byte order mark: a NUL byte every other byte)"
    return None


def relative_name(path: Column, inputs: Sequence[str]) -> Column:
    """The file's path relative to the deepest directory holding all ``inputs``, else its name.

    ``path`` is a decoded file URI (``file:/docs/a/x.txt``); only its path part is compared.
    The inputs' directory is the directory given, the parent of a local file given, and for a
    glob the directory before its first wildcard; a remote input counts as a directory. Two
    files therefore never get the same name (``docs/a/x.txt`` and ``docs/b/x.txt`` read as
    ``docs`` are ``a/x.txt`` and ``b/x.txt``); a file outside the common directory (a remote
    relative path) falls back to its file name.
    """
    bare = F.regexp_replace(path, r"^[A-Za-z][A-Za-z0-9+.-]*:(//[^/]*)?", "")
    name = F.substring_index(bare, "/", -1)
    roots = [_root(p) for p in inputs]
    if not all(r.startswith("/") for r in roots):
        return name
    prefix = os.path.commonpath(roots).rstrip("/") + "/"
    cut = F.substr(bare, F.lit(len(prefix) + 1))
    return F.when(bare.startswith(prefix), cut).otherwise(name)


def _root(text: str) -> str:
    """The directory part of an input: local ones absolute, a glob cut before its wildcard."""
    local = local_path(text)
    path = os.path.abspath(local) if local is not None else urlparse(text).path
    parts = path.split("/")
    magic = next((i for i, part in enumerate(parts) if glob.has_magic(part)), None)
    if magic is not None:
        return "/".join(parts[:magic]) or "/"
    return os.path.dirname(path) if local is not None and os.path.isfile(path) else path

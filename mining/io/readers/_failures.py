"""Map Spark's failure to read an input file (raised at action time) to one ``InputError`` line.

Spark reads files lazily: a gzip file truncated beyond the part the readers sniff up front (or
any remote file) only fails when a job runs, as ``[FAILED_READ_FILE.*] Encountered error while
reading file <path>`` with the real cause further down the Java trace (``Caused by:
java.io.EOFException: Unexpected end of input stream``). Classic PySpark raises a
``Py4JJavaError`` whose text holds the whole trace; Spark Connect a ``SparkException`` whose
text holds the server's trace and whose ``getMessageParameters()`` holds the path.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import unquote, urlparse

from mining.errors import InputError

_FAILED_READ = re.compile(r"\[FAILED_READ_FILE[.\w]*\][^\n]*?reading file (\S+)\.(?:\s|$)")
_CAUSE = re.compile(r"Caused by: ([\w.$]+)(?::[ \t]*([^\n]*))?")
# Root causes that mean the bytes of the file are wrong (cut short or damaged), not the system.
_DAMAGED = ("EOFException", "ZipException", "DataFormatException")
_DAMAGED_TEXT = ("end of input stream", "not a gzip file", "unexpected end", "corrupt",
                 "invalid block type", "incorrect header check", "invalid distance")  # fmt: skip


def explain_read_failure(exc: BaseException) -> InputError | None:
    """One-line ``InputError`` for a failure to read an input file, else ``None``.

    Parameters
    ----------
    exc
        What a Spark action (or :meth:`ReadResult.counts`) raised; its ``__cause__`` and
        ``__context__`` are searched too.

    Returns
    -------
    InputError or None
        ``input file <path> is truncated or corrupt (<cause>)`` when the file's bytes are
        damaged (a cut gzip stream, bad gzip data), ``cannot read input file <path>
        (<cause>)`` for another read failure (e.g. the file vanished), ``None`` when ``exc``
        is not a file read failure. A ``file:`` path is shown as a local path.

    Examples
    --------
    >>> try:  # doctest: +SKIP
    ...     result.data.write.parquet(out)
    ... except Exception as exc:
    ...     raise (explain_read_failure(exc) or exc) from exc
    """
    for err in _chain(exc):
        if isinstance(err, InputError):
            return err
        text = str(err)
        match = _FAILED_READ.search(text)
        if match is None:
            continue
        path = _display(_param_path(err) or match.group(1))
        causes = _CAUSE.findall(text) or _java_causes(err)
        if not causes:
            return InputError(f"cannot read input file {path} ({_condition(text)})")
        cls, message = causes[-1]  # the root cause is the last one in the trace
        name = cls.rsplit(".", 1)[-1]
        detail = message.strip() or name
        if name in _DAMAGED or any(t in detail.lower() for t in _DAMAGED_TEXT):
            return InputError(f"input file {path} is truncated or corrupt ({detail})")
        return InputError(f"cannot read input file {path} ({name}: {detail})")
    return None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        err = todo.pop(0)
        if err is None or id(err) in seen:
            continue
        seen.add(id(err))
        yield err
        todo += [err.__cause__, err.__context__]


def _java_causes(err: BaseException) -> list[tuple[str, str]]:
    """``(class, message)`` of the Java causes, for an error whose text holds no trace
    (a captured PySpark exception shows the JVM trace only when configured to)."""
    throwable = getattr(err, "_origin", None) or getattr(err, "java_exception", None)
    out: list[tuple[str, str]] = []
    try:
        cause = throwable.getCause() if throwable is not None else None
        while cause is not None and len(out) < 20:
            out.append((str(cause.getClass().getName()), str(cause.getMessage() or "")))
            cause = cause.getCause()
    except Exception:  # the JVM side is gone: no cause to show
        return out
    return out


def _param_path(err: BaseException) -> str | None:
    get = getattr(err, "getMessageParameters", None)
    try:
        params = get() if callable(get) else None
    except Exception:  # a Py4J object whose JVM side is gone
        return None
    value = params.get("path") if isinstance(params, dict) else None
    return str(value) if value else None


def _display(path: str) -> str:
    """``file:///a%20b`` as ``/a b``; other URIs unchanged."""
    parsed = urlparse(path)
    return unquote(parsed.path) if parsed.scheme == "file" else path


def _condition(text: str) -> str:
    found = re.search(r"\[(FAILED_READ_FILE[.\w]*)\]", text)
    return found.group(1) if found else "read failed"

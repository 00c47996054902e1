"""The CSV record parser of ``read_documents(layout="csv")``, run per file in Python workers.

Records are cut with Python's ``csv`` module in strict mode, fed one physical line at a time,
so that the lines of every record are known. A quote that opens a field and never closes
properly would otherwise swallow the rest of the file into one record (Spark's CSV parser does
that): here a record that spans several lines and does not parse (text after a closing quote,
the wrong number of fields, end of file inside quotes, or more than ``max_record_lines``
lines) is taken as an unbalanced quote on its first line. That line alone is set aside
(quarantined, its reason names the line) and reading resumes at the next line, so the damage is
one line. A quote inside an unquoted field (``he said "hi``) is a literal character, as in
Spark.
"""

from __future__ import annotations

import csv
import itertools
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

# The columns the parser returns (the lines it is handed: source_file, block, mid, value and
# encoding_ok, sorted by file and position).
_COLUMNS = (
    ("source_file", "string"), ("block", "long"), ("mid", "long"), ("first_line", "long"),
    ("record", "long"), ("skip", "boolean"), ("reason", "string"), ("encoding_ok", "boolean"),
    ("value", "string"), ("id", "string"), ("text", "string"), ("label", "string"),
)  # fmt: skip
OUTPUT_DDL = ", ".join(f"{name} {kind}" for name, kind in _COLUMNS)
_WHITESPACE = " \t\n\r\f\v"
_BATCH_ROWS = 4096
# Python's default field limit (128 KiB) would cut long texts; the reader has its own limit.
_FIELD_LIMIT = 2**31 - 1

Line = tuple[int, str, bool, int, int]  # line number, text, valid encoding, block, mid


@dataclass(frozen=True)
class CsvSpec:
    """What to extract: header names of the id (or ``None``), text and label (or ``None``)."""

    id_column: str | None
    text_column: str
    label_column: str | None
    max_record_lines: int = 1000


class _TooLongError(Exception):
    """A quoted field open for more than ``max_record_lines`` lines."""


class _Records:
    """``(lines, fields, error)`` per record of one file; :meth:`set_aside_first` re-reads."""

    def __init__(self, lines: Iterable[Line], *, limit: int) -> None:
        self._source = iter(lines)
        self._pending: deque[Line] = deque()
        self._taken: list[Line] = []
        self._limit = limit

    def _feed(self) -> Iterator[str]:
        while True:
            line = self._pending.popleft() if self._pending else next(self._source, None)
            if line is None:
                return
            self._taken.append(line)
            if len(self._taken) > self._limit:
                raise _TooLongError(f"still open after {self._limit} lines")
            yield line[1] + "\n"

    def __iter__(self) -> Iterator[tuple[list[Line], list[str] | None, str | None]]:
        while True:  # a fresh reader after every error: the failed one is mid-record
            reader = csv.reader(self._feed(), strict=True)
            try:
                for fields in reader:
                    taken, self._taken = self._taken, []
                    yield taken, fields, None
                return
            except (csv.Error, _TooLongError) as exc:
                taken, self._taken = self._taken, []
                yield taken, None, str(exc)

    def set_aside_first(self, taken: list[Line]) -> None:
        """Read again, as new records, every line of ``taken`` but the first."""
        self._pending.extendleft(reversed(taken[1:]))


def _unbalanced(taken: list[Line], error: str) -> str:
    first = taken[0][0]
    if error == "unexpected end of data":
        why = "its quoted field is still open at the end of the file"
    elif error.startswith("still open"):
        why = f"its quoted field is {error}"
    else:
        why = f"the record it starts does not parse at line {taken[-1][0]} ({error})"
    return f"unbalanced quote on line {first}: {why}; only this line is set aside"


def _fields(names: list[str], fields: list[str], spec: CsvSpec) -> dict[str, Any]:
    """The id, text and label of a parsed record, or the reason it has none."""
    out: dict[str, Any] = {}
    for key, col in (("id", spec.id_column), ("text", spec.text_column),
                     ("label", spec.label_column)):  # fmt: skip
        if col is None:
            continue
        if col not in names:
            return {"reason": f"column {col!r} is not in the header of this file"}
        out[key] = fields[names.index(col)]
    return out


def parse_file(lines: Iterable[Line], spec: CsvSpec) -> Iterator[dict[str, Any]]:
    """One row (``OUTPUT_DDL`` without ``source_file``) per record, blank line or header.

    ``record`` numbers the data records of the file from 1 (header and blank lines: null).
    """
    records = _Records(lines, limit=spec.max_record_lines)
    names: list[str] | None = None
    count = 0
    for taken, fields, parse_error in records:
        error = parse_error
        raw = "\n".join(t[1] for t in taken)
        row: dict[str, Any] = {
            "block": taken[0][3], "mid": taken[0][4], "first_line": taken[0][0],
            "record": None, "skip": False, "reason": None, "value": raw,
            "encoding_ok": all(t[2] for t in taken), "id": None, "text": None, "label": None,
        }  # fmt: skip
        blank = len(taken) == 1 and raw.strip(_WHITESPACE) == ""
        if error is None and (blank or names is None):
            names = names if blank else fields
            yield {**row, "skip": True}
            continue
        if error is None and names is not None and fields is not None and \
                len(fields) != len(names):  # fmt: skip
            error = f"expected {len(names)} fields, got {len(fields)}"
        count += 1
        if error is not None:
            if len(taken) > 1 or error == "unexpected end of data" or error.startswith("still"):
                records.set_aside_first(taken)
                row.update(value=taken[0][1], encoding_ok=taken[0][2],
                           reason=_unbalanced(taken, error))  # fmt: skip
            else:
                row["reason"] = f"malformed CSV record: {error}"
            yield {**row, "record": count}
            continue
        assert names is not None and fields is not None
        yield {**row, "record": count, **_fields(names, fields, spec)}


def parse_batches(batches: Iterator[Any], spec: CsvSpec) -> Iterator[Any]:
    """``mapInArrow`` body: lines sorted by ``source_file, block, mid`` in, records out."""
    import pyarrow as pa  # only in the workers: the driver never needs it

    csv.field_size_limit(_FIELD_LIMIT)
    types = {"string": pa.string(), "long": pa.int64(), "boolean": pa.bool_()}
    schema = pa.schema([(name, types[kind]) for name, kind in _COLUMNS])
    rows = (row for batch in batches for row in batch.to_pylist())
    out: list[dict[str, Any]] = []
    for source, group in itertools.groupby(rows, key=lambda r: r["source_file"]):
        lines = ((n, r["value"], r["encoding_ok"], r["block"], r["mid"])
                 for n, r in enumerate(group, start=1))  # fmt: skip
        for record in parse_file(lines, spec):
            out.append({"source_file": source, **record})
            if len(out) >= _BATCH_ROWS:
                yield pa.RecordBatch.from_pylist(out, schema=schema)
                out = []
    if out:
        yield pa.RecordBatch.from_pylist(out, schema=schema)

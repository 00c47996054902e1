"""Staging parsed rows: reasons, the observed split into valid and quarantined rows, schemas.

A *staged frame* is a line frame (see :mod:`mining.io.readers._lines`) plus ``skip`` (a line
that is not data by the format: comment, blank, header) and ``reason`` (why a data line is
rejected; null when it is valid) and the reader's parsed columns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from mining._frames import conform
from mining.io.readers._lines import number_rows
from mining.io.readers.result import Probe, observe
from mining.schemas import QUARANTINE

# Quarantined raw text is cut to this many characters, so one huge line cannot bloat the table.
RAW_CHARS = 10_000


def first_reason(checks: Sequence[tuple[Column, Column | str]]) -> Column:
    """The reason of the first check that holds (``null`` when none does)."""
    expr: Column | None = None
    for cond, reason in checks:
        r = reason if isinstance(reason, Column) else F.lit(reason)
        expr = F.when(cond, r) if expr is None else expr.when(cond, r)
    assert expr is not None
    return expr


def line_checks(max_length: int, *, what: str = "line") -> list[tuple[Column, Column | str]]:
    """Checks every reader starts with: invalid UTF-8, a NUL byte, a line longer than
    ``max_length``.

    Local files in UTF-16 are refused up front (see :mod:`mining.io.readers._inputs`); a remote
    one is only seen here: its lines hold a NUL byte every other byte, which Spark's casts
    would silently strip from numbers.
    """
    return [
        (~F.col("encoding_ok"), "invalid UTF-8"),
        (F.col("value").contains("\x00"),
         f"NUL byte in the {what} (UTF-16 or binary input? convert it to UTF-8)"),
        (F.length("value") > max_length, f"{what} longer than {max_length} characters"),
    ]


def split_rows(
    staged: DataFrame,
    label: str,
    *,
    locator: str,
    lines: DataFrame | None = None,
    number_line: bool = True,
    metrics: Mapping[str, Column] | None = None,
    single: bool = False,
) -> tuple[DataFrame, DataFrame, Probe]:
    """Observe the staged rows, then split them into valid rows and the quarantine table.

    ``staged`` has ``skip`` (non-data line), ``reason`` (null when valid) and the line-frame
    columns, and ``line_number`` unless ``lines`` is given: then line numbers are added to the
    quarantine branch only (the valid branch does not pay for numbering).
    ``number_line=False`` leaves the quarantine's ``line_number`` null. ``metrics`` adds
    reader-specific observed counts. ``single``: the input is one split (see
    :func:`~mining.io.readers._lines.number_rows`).
    """
    skip, reason = F.col("skip"), F.col("reason")
    staged = staged.withColumn("reason", F.when(~skip, reason))
    observed, probe = observe(
        staged,
        f"{label}.rows",
        {
            "lines_read": F.count(F.lit(1)),
            "skipped": F.count_if(skip),
            "rows_quarantined": F.count_if(reason.isNotNull()),
            "_rows_valid": F.count_if(~skip & reason.isNull()),
            **(metrics or {}),
        },
    )
    valid = observed.filter(~skip & reason.isNull())
    bad = observed.filter(reason.isNotNull())
    if not number_line:
        bad = bad.withColumn("line_number", F.lit(None).cast("long"))
    elif lines is not None:
        bad = number_rows(lines, bad, single=single)
    quarantine = conform(
        bad.select(
            "source_file",
            "line_number",
            F.lit(locator).alias("locator"),
            F.substring(F.make_valid_utf8("value"), 1, RAW_CHARS).alias("raw"),
            "reason",
        ),
        QUARANTINE,
    )
    return valid, quarantine, probe

"""Market baskets: one basket per line (FIMI ``.dat``, groceries.csv) or (basket, item) rows."""

from __future__ import annotations

from typing import Literal

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from mining._frames import conform, one_row
from mining.errors import InputError
from mining.io.readers._inputs import PathArg, file_contains, resolve_paths
from mining.io.readers._lines import (
    REPARTITION_BYTES,
    number_rows,
    scan_text,
    single_split,
    split_trimmed,
    strip,
)
from mining.io.readers._stage import first_reason, line_checks, split_rows
from mining.io.readers.result import Probe, ReadResult, observe, standard_counts
from mining.schemas import BASKETS


def read_baskets(
    spark: SparkSession,
    path: PathArg,
    *,
    layout: Literal["lines", "long"] = "lines",
    delimiter: str | None = None,
    header: bool | None = None,
    basket_column: int = 0,
    item_column: int = 1,
    encoding: str = "utf-8",
    max_line_length: int = 1_000_000,
    partitions: int | None = None,
) -> ReadResult:
    """Read market baskets into ``BASKETS`` rows.

    Parameters
    ----------
    spark
        The session.
    path
        A file, directory, glob or a list of them (local paths must exist). A directory is
        read as all its files (names starting with ``.`` or ``_`` are ignored); it must hold
        at least one, and no subdirectory (Spark would skip it).
    layout
        ``"lines"``: one basket per line, items separated by ``delimiter`` (FIMI files such as
        retail or T10I4D100K: spaces, often a trailing one; groceries.csv: commas, item names
        with spaces). ``"long"``: one ``(basket, item)`` row per line, as Bakery.csv
        (``TransactionNo,Items,DateTime,Daypart,DayType``).
    delimiter
        ``None``: for ``"lines"``, a comma when any line of the file contains one, else runs of
        whitespace (decided per file); for ``"long"``, a comma. No quoting is recognised.
    header
        Skip the first line of every file; ``None``: ``False`` for lines, ``True`` for long.
    basket_column, item_column
        0-based fields of the long layout. The basket id must be a 64-bit integer and is kept
        as given.
    encoding
        ``"utf-8"`` (invalid bytes quarantine the line) or ``"latin-1"``.
    max_line_length
        Longer lines are quarantined (their ``raw`` is cut to 10,000 characters).
    partitions
        Repartition after the scan to this many partitions; ``None``: only a big (> 16 MiB)
        unsplittable compressed input (``.gz``, read by one task); 0: never.

    Returns
    -------
    ReadResult
        ``data``: ``basket`` (long), ``items`` (array of string: distinct, sorted as strings).
        In the lines layout ``basket`` is the 1-based number of the line among the data lines
        (header lines excluded) of all files in path order: for one file without a header it
        is the line number. ``quarantine``: ``locator`` ``'line'``, ``line_number`` the
        1-based physical line of ``source_file``.

    Raises
    ------
    InputError
        A local path does not exist, a directory holds no file (or a subdirectory), a local
        file is UTF-16, binary or damaged gzip (found from its first KiB), a non-local path
        cannot be read, or an option is invalid. Damage found later fails the job with
        Spark's error; :func:`~mining.io.readers.explain_read_failure` turns it into one line.

    Notes
    -----
    Lines layout: an empty (or blank) line is an empty basket: data, kept and counted in
    ``empty_baskets`` (it counts in the number of baskets N that supports are divided by).
    Empty fields (a trailing delimiter) are not items. An item repeated within a line is kept
    once and counted in ``duplicate_items``. Nothing is deduplicated across lines: equal
    baskets are different transactions. Rejected: invalid UTF-8, NUL byte, line too long.

    Long layout: a row is one ``(basket, item)`` pair; blank lines are skipped; a repeated
    pair counts in ``duplicates_removed``. Rejected: invalid UTF-8, NUL byte, line too long,
    too few columns, basket id not a 64-bit integer, empty item.

    Counts: the common keys (``rows_read`` counts lines in the lines layout and pairs in the
    long one) plus ``baskets`` (rows of ``data``), ``occurrences`` (kept (basket, item)
    pairs), ``empty_baskets``, ``duplicate_items`` and ``items`` (distinct items: one extra
    job at ``counts()`` time).

    Cost: lines layout, two passes over the input (one counts the lines of each file split
    for exact basket ids) and no shuffle of the baskets, or one pass when the input is one
    local file read as one split (a ``.gz`` file, or a plain one up to 4 MiB: see
    ``single_split``; with ``delimiter=None`` the file is then looked at for a comma here,
    up to 16 MiB on disk); long layout, one pass and two shuffles (pair deduplication,
    grouping).

    Baskets are the input of the market-basket model (MMDS §6.1).

    Examples
    --------
    >>> result = read_baskets(spark, "data/baskets/groceries.csv")  # doctest: +SKIP
    >>> result.counts()["baskets"], result.counts()["items"]  # doctest: +SKIP
    (9835, 169)
    """
    if layout not in ("lines", "long") or min(basket_column, item_column) < 0:
        raise InputError(f"unknown basket layout {layout!r} or negative column")
    paths = resolve_paths(path)
    lines = scan_text(spark, paths, encoding=encoding, partitions=partitions)
    one = single_split(spark, paths)
    if layout == "lines":
        # one file: decide the delimiter here rather than with a pass over the input
        comma = None if delimiter is not None or one is None else file_contains(
            one, b",", limit=REPARTITION_BYTES)
        baskets, quarantine, probes = _lines_layout(
            lines, delimiter, bool(header), max_line_length, comma=comma, single=one is not None
        )
    else:
        head = True if header is None else header
        columns = (basket_column, item_column)
        baskets, quarantine, probes = _long_layout(
            lines, delimiter, head, columns, max_line_length, single=one is not None
        )
    data = conform(baskets, BASKETS)

    def derive(raw: dict[str, int]) -> dict[str, int]:
        out = standard_counts(raw)
        out.setdefault("baskets", out["rows_kept"])
        out.setdefault("occurrences", out["rows_kept"])
        out.setdefault("empty_baskets", 0)
        out.setdefault("duplicate_items", 0)
        return out

    def items() -> int:
        items = data.select(F.explode("items").alias("item"))
        row = one_row(items.agg(F.count_distinct("item")))
        return int(row[0]) if row is not None else 0

    checks = (("_rows_in", "_rows_valid"), ("_grouped", "rows_kept"))
    return ReadResult(data, quarantine, {}, probes, derive, {"items": items}, checks)


def _items(value: Column, delimiter: str | None, comma: bool | None) -> Column:
    """The non-empty fields; ``delimiter=None``: commas if ``comma`` (``None``: the file's
    ``has_comma`` flag), else runs of whitespace."""
    if delimiter is None and comma is not None:
        fields = split_trimmed(value, ",") if comma else F.split(strip(value), r"\s+")
    elif delimiter is None:
        fields = F.when(F.col("has_comma"), split_trimmed(value, ",")).otherwise(
            F.split(strip(value), r"\s+")
        )
    else:
        fields = split_trimmed(value, delimiter)
    return F.filter(fields, lambda item: item != "")


def _lines_layout(
    lines: DataFrame,
    delimiter: str | None,
    header: bool,
    max_length: int,
    *,
    comma: bool | None,
    single: bool,
) -> tuple[DataFrame, DataFrame, tuple[Probe, ...]]:
    """One basket per line: the baskets, the quarantine and the probes."""
    auto = delimiter is None and comma is None
    flags = {"has_comma": F.col("value").contains(",")} if auto else None
    rows = number_rows(lines, lines, header=header, file_any=flags, single=single)
    staged = rows.select(
        "source_file", "block", "mid", "value", "line_number",
        (F.lit(header) & (F.col("line_number") == 1)).alias("skip"),
        first_reason(line_checks(max_length)).alias("reason"),
        F.col("ordinal").alias("basket"),
        _items(F.col("value"), delimiter, comma).alias("raw_items"),
    )  # fmt: skip
    valid, quarantine, probe = split_rows(staged, "baskets", locator="line")
    baskets = valid.select(
        "basket",
        F.array_sort(F.array_distinct("raw_items")).alias("items"),
        F.size("raw_items").alias("n_raw"),
    )
    size = F.size("items")
    baskets, kept = observe(
        baskets,
        "baskets.kept",
        {
            "rows_kept": F.count(F.lit(1)),
            "empty_baskets": F.count_if(size == 0),
            "duplicate_items": F.coalesce(F.sum(F.col("n_raw") - size), F.lit(0)),
            "occurrences": F.coalesce(F.sum(size), F.lit(0)),
            "_rows_in": F.count(F.lit(1)),  # = _rows_valid, see ReadResult
        },
    )
    return baskets, quarantine, (probe, kept)


def _long_layout(
    lines: DataFrame,
    delimiter: str | None,
    header: bool,
    columns: tuple[int, int],
    max_length: int,
    *,
    single: bool,
) -> tuple[DataFrame, DataFrame, tuple[Probe, ...]]:
    """One (basket, item) pair per line: the grouped baskets, the quarantine and the probes."""
    rows = number_rows(lines, lines, header=True, single=single) if header else lines
    value = F.col("value")
    fields = split_trimmed(value, delimiter or ",")
    needed = max(columns) + 1
    basket, item = F.get(fields, columns[0]), F.get(fields, columns[1])
    skip = strip(value) == ""
    if header:
        skip = skip | (F.col("line_number") == 1)
    checks = [
        *line_checks(max_length),
        (F.size(fields) < needed, F.format_string(
            "too few columns: expected at least %d, got %d", F.lit(needed), F.size(fields))),
        (basket.try_cast("long").isNull(), "basket id is not a 64-bit integer"),
        (item == "", "empty item"),
    ]  # fmt: skip
    staged = rows.select(
        "source_file", "block", "mid", "value",
        *(["line_number"] if header else []),
        skip.alias("skip"),
        first_reason(checks).alias("reason"),
        basket.try_cast("long").alias("basket"),
        item.alias("item"),
    )  # fmt: skip
    valid, quarantine, probe = split_rows(
        staged, "baskets", locator="line", lines=None if header else lines, single=single
    )
    pairs, kept = observe(
        valid.groupBy("basket", "item").agg(F.count("*").alias("n")),
        "baskets.pairs",
        {"rows_kept": F.count(F.lit(1)), "_rows_in": F.coalesce(F.sum("n"), F.lit(0))},
    )
    grouped = pairs.groupBy("basket").agg(F.array_sort(F.collect_list("item")).alias("items"))
    grouped, groups = observe(
        grouped,
        "baskets.groups",
        {"baskets": F.count(F.lit(1)), "_grouped": F.coalesce(F.sum(F.size("items")), F.lit(0))},
    )
    return grouped, quarantine, (probe, kept, groups)

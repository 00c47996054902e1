"""Edge lists: SNAP-style text (whitespace separated, ``#`` comments) and CSV."""

from __future__ import annotations

from typing import Literal

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from mining._frames import conform, one_row
from mining.errors import InputError
from mining.io.readers._ids import dense_ids
from mining.io.readers._inputs import PathArg, resolve_paths
from mining.io.readers._lines import (
    number_rows,
    scan_text,
    single_split,
    split_trimmed,
    strip,
)
from mining.io.readers._stage import first_reason, line_checks, split_rows
from mining.io.readers.result import Probe, ReadResult, observe, standard_counts
from mining.schemas import EDGES, NODE_MAP, UNIT_WEIGHT


def _input_order() -> Column:
    """Sort key of a line in input order: file path, split offset, position in the split."""
    return F.struct("source_file", "block", "mid")


def read_edges(
    spark: SparkSession,
    path: PathArg,
    *,
    format: Literal["snap", "csv"] = "snap",
    delimiter: str | None = None,
    header: bool = False,
    comment: str | None = "#",
    src_column: int = 0,
    dst_column: int = 1,
    weight_column: int | None = None,
    directed: bool = True,
    node_ids: Literal["int", "string"] = "int",
    dedup: bool = True,
    duplicate_weight: Literal["first", "sum"] = "first",
    encoding: str = "utf-8",
    max_line_length: int = 1_000_000,
    partitions: int | None = None,
) -> ReadResult:
    """Read an edge list into ``EDGES`` rows, quarantining the lines that are not edges.

    Parameters
    ----------
    spark
        The session.
    path
        A file, directory, glob or a list of them (local paths must exist). A directory is
        read as all its files (names starting with ``.`` or ``_`` are ignored); it must hold
        at least one, and no subdirectory (Spark would skip it).
    format
        ``"snap"``: fields separated by runs of whitespace (tabs or spaces, as SNAP's
        ``FromNodeId<TAB>ToNodeId``); ``"csv"``: fields separated by ``delimiter`` (default
        ``,``), no quoting.
    delimiter
        Field separator; ``None`` means whitespace for snap and ``,`` for csv.
    header
        Skip the first line of every file.
    comment
        Lines starting with this prefix (after leading spaces) are skipped; ``None``: none.
    src_column, dst_column, weight_column
        0-based field positions. Without ``weight_column`` every weight is 1.0. Further fields
        (bitcoin-otc's TIME) are ignored. Weights are kept as given, sign included.
    directed
        ``False`` reads each line as an undirected edge: ``data`` holds both directions (a
        self-loop once).
    node_ids
        ``"int"``: ids are non-negative 64-bit integers; ``"string"``: any non-empty text
        (e.g. URL-encoded article names), numbered 0..n-1 in sorted-name order.
    dedup
        Remove repeated edges (for undirected input, repeated unordered pairs).
    duplicate_weight
        Weight kept for repeated edges: ``"first"`` (of the first line in input order) or
        ``"sum"``.
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
        ``data``: ``src`` (long), ``dst`` (long), ``weight`` (double), one row per kept edge
        (per direction when undirected). ``extras["node_map"]`` (string ids only): ``node``
        (long), ``name`` (string). ``quarantine``: ``locator`` ``'line'``, ``line_number``
        the 1-based physical line of ``source_file`` (comments and blank lines included).

    Raises
    ------
    InputError
        A local path does not exist, a directory holds no file (or a subdirectory), a local
        file is UTF-16, binary or damaged gzip (found from its first KiB), a non-local path
        cannot be read, or an option is invalid. Damage found later fails the job with
        Spark's error; :func:`~mining.io.readers.explain_read_failure` turns it into one line.

    Notes
    -----
    Counts: ``lines_read`` physical lines; ``skipped`` blank, comment and header lines;
    ``rows_read`` edge lines; ``rows_quarantined`` (reasons: invalid UTF-8, NUL byte, line too
    long, too few columns, non-numeric/negative/beyond-64-bit node id, empty node id,
    non-numeric, NaN or infinite weight); ``duplicates_removed`` repeated edges; ``rows_kept``
    distinct edges (unordered pairs when undirected); ``self_loops`` kept self-loops (``src ==
    dst``, never dropped); ``edges`` rows of ``data`` (= ``rows_kept`` when directed, ``2 *
    rows_kept - self_loops`` when undirected); ``nodes`` distinct ids in ``data`` (one extra job
    at ``counts()`` time).

    Repeated weighted edges keep the first line's weight by default: a repeated line is more
    often a copy (a rating entered twice) than a second unit of flow, and summing would move
    signed ratings outside their scale. ``duplicate_weight="sum"`` adds them (a multigraph).

    Cost: one pass for valid rows plus one shuffle for deduplication; line numbers (only for
    quarantined rows, or all rows with ``header``) cost one more pass; string ids sort the
    distinct names in one task and join twice.

    The edge list is the input of link analysis (MMDS §5.1: the web as a directed graph).

    Examples
    --------
    >>> result = read_edges(spark, "data/graphs/p2p-Gnutella08.txt")  # doctest: +SKIP
    >>> result.data.write.parquet("out/edges")  # doctest: +SKIP
    >>> result.counts()["edges"], result.counts()["nodes"]  # doctest: +SKIP
    (20777, 6301)
    """
    if format not in ("snap", "csv") or node_ids not in ("int", "string"):
        raise InputError(f"unknown edge format {format!r} or node_ids {node_ids!r}")
    if duplicate_weight not in ("first", "sum") or min(src_column, dst_column) < 0:
        raise InputError("duplicate_weight must be 'first' or 'sum'; columns must be >= 0")
    paths = resolve_paths(path)
    lines = scan_text(spark, paths, encoding=encoding, partitions=partitions)
    one = single_split(spark, paths) is not None
    rows = number_rows(lines, lines, header=True, single=one) if header else lines
    staged = _stage(
        rows, format=format, delimiter=delimiter, comment=comment, header=header,
        max_length=max_line_length, columns=(src_column, dst_column, weight_column),
        node_ids=node_ids,
    )  # fmt: skip
    valid, quarantine, probe = split_rows(
        staged, "edges", locator="line", lines=None if header else lines, single=one
    )

    edges, kept = _deduplicate(valid, directed=directed, dedup=dedup, weights=duplicate_weight)
    extras: dict[str, DataFrame] = {}
    if node_ids == "string":
        ok = staged.filter(~F.col("skip") & F.col("reason").isNull())  # not the observed frame
        names = ok.select(F.explode(F.array("src", "dst")).alias("name"))
        node_map = conform(dense_ids(names), NODE_MAP)
        extras["node_map"] = node_map
        edges = _to_ids(edges, node_map)
    if not directed:
        edges = _both_directions(edges)
    data = conform(edges, EDGES)
    if weight_column is None and not (dedup and duplicate_weight == "sum"):
        data = data.withMetadata("weight", {UNIT_WEIGHT: True})

    def derive(raw: dict[str, int]) -> dict[str, int]:
        out = standard_counts(raw)
        # undirected: both directions of each kept pair, a self-loop once
        both = 2 * out["rows_kept"] - out["self_loops"]
        out["edges"] = out["rows_kept"] if directed else both
        return out

    def nodes() -> int:
        if "node_map" in extras:
            return extras["node_map"].count()
        ids = data.select(F.explode(F.array("src", "dst")).alias("node"))
        row = one_row(ids.agg(F.count_distinct("node")))
        return int(row[0]) if row is not None else 0

    return ReadResult(data, quarantine, extras, (probe, kept), derive, {"nodes": nodes})


def _deduplicate(
    valid: DataFrame, *, directed: bool, dedup: bool, weights: str
) -> tuple[DataFrame, Probe]:
    """Keep one row per edge (per unordered pair when undirected) and observe what is kept.

    ``n`` (the lines merged into each kept edge) lets ``counts()`` check that the observation
    saw every row: its sum equals the number of valid lines.
    """
    if directed:
        a, b = F.col("src"), F.col("dst")
    else:  # one orientation per unordered pair
        a, b = F.least("src", "dst"), F.greatest("src", "dst")
    edges = valid.select(a.alias("src"), b.alias("dst"), "weight", "source_file", "block", "mid")
    if dedup:
        first = F.min_by("weight", _input_order())
        weight = F.sum("weight") if weights == "sum" else first
        edges = edges.groupBy("src", "dst").agg(weight.alias("weight"), F.count("*").alias("n"))
    else:
        edges = edges.withColumn("n", F.lit(1))
    return observe(
        edges.select("src", "dst", "weight", "n"),
        "edges.kept",
        {
            "rows_kept": F.count(F.lit(1)),
            "self_loops": F.count_if(F.col("src") == F.col("dst")),
            "_rows_in": F.coalesce(F.sum("n"), F.lit(0)),
        },
    )


def _stage(
    rows: DataFrame,
    *,
    format: str,
    delimiter: str | None,
    comment: str | None,
    header: bool,
    max_length: int,
    columns: tuple[int, int, int | None],
    node_ids: str,
) -> DataFrame:
    """Split, classify and parse every line: ``skip``, ``reason``, ``src``, ``dst``, ``weight``."""
    value = F.col("value")
    trimmed = strip(value)
    if delimiter is None and format == "snap":
        fields = F.split(trimmed, r"\s+")
    else:
        fields = split_trimmed(value, delimiter or ",")
    skip = trimmed == ""
    if comment:
        # Java's \s is exactly WHITESPACE; \Q..\E quotes the comment marker.
        skip = skip | value.rlike(r"^\s*\Q" + comment.replace(r"\E", "") + r"\E")
    if header:
        skip = skip | (F.col("line_number") == 1)
    src_c, dst_c, weight_c = columns
    needed = max(c for c in columns if c is not None) + 1
    src, dst = F.get(fields, src_c), F.get(fields, dst_c)
    weight = F.get(fields, weight_c).try_cast("double") if weight_c is not None else F.lit(1.0)
    checks = [
        *line_checks(max_length),
        (F.size(fields) < needed, F.format_string(
            "too few columns: expected at least %d, got %d", F.lit(needed), F.size(fields))),
        *_id_checks(src, node_ids),
        *_id_checks(dst, node_ids),
        (weight.isNull(), "non-numeric weight"),
        (F.isnan(weight) | (F.abs(weight) == float("inf")), "weight is NaN or infinite"),
    ]  # fmt: skip
    if node_ids == "int":
        src, dst = src.try_cast("long"), dst.try_cast("long")
    return rows.select(
        "source_file", "block", "mid", "value",
        *(["line_number"] if header else []),
        F.coalesce(skip, F.lit(False)).alias("skip"),
        first_reason(checks).alias("reason"),
        src.alias("src"), dst.alias("dst"), weight.alias("weight"),
    )  # fmt: skip


def _id_checks(field: Column, node_ids: str) -> list[tuple[Column, Column | str]]:
    if node_ids == "string":
        return [(field == "", "empty node id")]
    # try_cast to bigint accepts exactly [+-]digits; the regexes only run on rejected fields
    cast = field.try_cast("long")
    return [
        (cast < 0, "negative node id"),
        (cast.isNull() & field.rlike(r"^-[0-9]+$"), "negative node id"),
        (cast.isNull() & field.rlike(r"^\+?[0-9]+$"), "node id beyond 64 bits"),
        (cast.isNull(), "non-numeric node id"),
    ]


def _to_ids(edges: DataFrame, node_map: DataFrame) -> DataFrame:
    """Replace node names by their dense ids (every name is in the map: an inner join)."""
    src_ids = node_map.select(F.col("name").alias("src"), F.col("node").alias("src_id"))
    dst_ids = node_map.select(F.col("name").alias("dst"), F.col("node").alias("dst_id"))
    return (
        edges.join(src_ids, on="src", how="inner")
        .join(dst_ids, on="dst", how="inner")
        .select(F.col("src_id").alias("src"), F.col("dst_id").alias("dst"), "weight")
    )


def _both_directions(edges: DataFrame) -> DataFrame:
    """Each unordered pair as two directed edges; a self-loop once. ``explode``, not ``union``:
    a union would put the observed plan (and its metrics) in the query twice."""
    fwd = F.struct(F.col("src").alias("s"), F.col("dst").alias("d"))
    back = F.struct(F.col("dst").alias("s"), F.col("src").alias("d"))
    pairs = F.when(F.col("src") == F.col("dst"), F.array(fwd)).otherwise(F.array(fwd, back))
    return edges.select(F.inline(pairs), "weight").select(
        F.col("s").alias("src"), F.col("d").alias("dst"), "weight"
    )

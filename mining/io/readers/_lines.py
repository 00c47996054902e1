"""Shared machinery of the line readers: the text scan, exact line numbers, splitting.

A *line frame* is what :func:`scan_text` returns: one row per physical line (or record, with a
custom separator; or file, with ``whole_files``) with columns ``source_file``, ``block`` (byte
offset of the file split the line came from), ``mid`` (``monotonically_increasing_id`` taken
right after the scan), ``value`` (the decoded line) and ``encoding_ok``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from mining.errors import InputError
from mining.io.readers._inputs import input_error, local_files

_ENCODINGS = {
    "utf-8": "UTF-8", "utf8": "UTF-8",
    "latin-1": "ISO-8859-1", "latin1": "ISO-8859-1", "iso-8859-1": "ISO-8859-1",
}  # fmt: skip
# Spark's trim() strips spaces only; blank lines may hold tabs, CRs or form feeds too.
WHITESPACE = " \t\n\r\f\v"
# Hadoop codecs whose files cannot be split: one file, one task.
_UNSPLITTABLE = (".gz", ".zst", ".zstd", ".lz4", ".snappy", ".deflate")
# Repartitioning a compressed file read by one task only pays off for big files. Measured on
# 2 cores (data write, repartition to 4 vs none): retail.dat.gz 1.6 MB 1.31 s vs 0.91 s,
# email-Enron.txt.gz 1.0 MB 2.08 s vs 1.04 s, mnist_test.csv.gz 2.2 MB 2.40 s vs 2.47 s: the
# shuffle of the raw lines costs as much as the parse it spreads. Beyond this many compressed
# bytes (64+ MB of text, where Spark would split a plain file) the shuffle is worth it.
REPARTITION_BYTES = 16 * 2**20


def spark_encoding(encoding: str) -> str:
    """Spark's name of a supported encoding (UTF-8 or ISO-8859-1), else ``InputError``."""
    try:
        return _ENCODINGS[encoding.lower()]
    except KeyError:
        raise InputError(
            f"unsupported encoding {encoding!r}: use 'utf-8' or 'latin-1'"
        ) from None


def _big_unsplittable(paths: Sequence[str], recursive: bool) -> bool:
    """Whether an unsplittable compressed input is big enough to repartition (remote: yes)."""
    files = local_files(paths, recursive=recursive)
    if files is None:
        return any(p.lower().endswith(_UNSPLITTABLE) for p in paths)
    sizes = [f.stat().st_size for f in files if f.name.lower().endswith(_UNSPLITTABLE)]
    return max(sizes, default=0) > REPARTITION_BYTES


_BYTE_UNITS = {"": 1, "b": 1, "k": 2**10, "kb": 2**10, "m": 2**20, "mb": 2**20,
               "g": 2**30, "gb": 2**30, "t": 2**40, "tb": 2**40}


def _conf_bytes(spark: SparkSession, key: str) -> int:
    """A byte-size setting ("134217728b", "64MB", "4m") as a number of bytes; 0 if unreadable
    (then no input counts as one split: the numbering pass runs, which is always right)."""
    text = str(spark.conf.get(key)).strip().lower()
    digits = text.rstrip("kmgtb")
    unit = _BYTE_UNITS.get(text[len(digits):])
    return int(digits) * unit if digits.isdigit() and unit is not None else 0


def single_split(
    spark: SparkSession, paths: Sequence[str], *, recursive: bool = False
) -> Path | None:
    """The one local file of ``paths`` when Spark reads it as one split (one scan task).

    An unsplittable compressed file is always one split. A plain file is when it is no bigger
    than both ``spark.sql.files.maxPartitionBytes`` and ``spark.sql.files.openCostInBytes``:
    Spark's split size is ``min(maxPartitionBytes, max(openCostInBytes, bytesPerCore))``, never
    below that. Then the scan has one partition and ``mid`` is the 0-based line index, so line
    numbers need no pass over the input (see :func:`number_rows`).
    """
    files = local_files(paths, recursive=recursive)
    if files is None or len(files) != 1:
        return None
    file = files[0]
    if file.name.lower().endswith(_UNSPLITTABLE):
        return file
    limit = min(_conf_bytes(spark, "spark.sql.files.maxPartitionBytes"),
                _conf_bytes(spark, "spark.sql.files.openCostInBytes"))
    return file if file.stat().st_size <= limit else None


def scan_text(
    spark: SparkSession,
    paths: Sequence[str],
    *,
    encoding: str = "utf-8",
    line_sep: str | None = None,
    whole_files: bool = False,
    recursive: bool = False,
    partitions: int | None = None,
    decoded_path: bool = False,
) -> DataFrame:
    """Read text into a line frame (see the module docstring).

    ``line_sep`` replaces the line separators (default ``\n``, ``\r\n`` or ``\r``);
    ``whole_files`` makes every file one record. That uses Spark's ``binaryFile`` source:
    the ``text`` source's ``wholetext`` yields no record at all for an empty file.

    ``partitions=None`` repartitions round-robin to ``spark.sql.shuffle.partitions`` only when
    an input is compressed with an unsplittable codec (a ``.gz`` file is read by one task) and
    is bigger than ``REPARTITION_BYTES`` (16 MiB compressed; any size for a remote input);
    0 never repartitions; n > 0 always repartitions to n. ``mid`` is taken before that shuffle,
    because line numbering relies on the scan's row order. ``decoded_path=True`` (only with
    ``whole_files``) adds ``path``, the file's URI with its characters decoded (``source_file``
    and ``_metadata.file_name`` keep ``%20`` for a space).
    """
    charset = spark_encoding(encoding)
    reader = spark.read.format("binaryFile" if whole_files else "text")
    if line_sep is not None:
        reader = reader.option("lineSep", line_sep)
    if recursive:
        reader = reader.option("recursiveFileLookup", True)
    try:
        raw = reader.load(list(paths))
        raw.schema  # noqa: B018 (Spark Connect analyses lazily: surface a missing path here)
    except Exception as exc:  # AnalysisException, or a file system error of a remote URI
        raise input_error(paths, exc) from exc
    # Both sources keep the raw bytes: a string column may hold invalid UTF-8.
    value = F.col("content").cast("string") if whole_files else F.col("value")
    if charset == "UTF-8":
        ok = F.is_valid_utf8(value)
        # a UTF-8 byte order mark is not part of the first field
        text = F.when(value.startswith("\ufeff"), F.substr(value, F.lit(2))).otherwise(value)
    else:  # the scan keeps the raw bytes in the string; decode them as Latin-1
        ok, text = F.lit(True), F.decode(value.cast("binary"), charset)
    lines = raw.select(
        F.col("_metadata.file_path").alias("source_file"),
        F.col("_metadata.file_block_start").alias("block"),
        F.monotonically_increasing_id().alias("mid"),
        F.coalesce(text, F.lit("")).alias("value"),
        F.coalesce(ok, F.lit(True)).alias("encoding_ok"),
        *([F.col("path")] if decoded_path and whole_files else []),
    )
    n = partitions
    if n is None:
        big = _big_unsplittable(paths, recursive)
        n = int(spark.conf.get("spark.sql.shuffle.partitions") or 0) if big else 0
    return lines.repartition(n) if n > 0 else lines


def number_rows(
    lines: DataFrame,
    rows: DataFrame,
    *,
    header: bool = False,
    file_any: Mapping[str, Column] | None = None,
    first_line: Mapping[str, Callable[[Column], Column]] | None = None,
    single: bool = False,
) -> DataFrame:
    """Add exact ``line_number`` and ``ordinal`` to ``rows`` (a subset of ``lines``).

    ``line_number`` is the 1-based physical line in its file; ``ordinal`` the 1-based position
    among the non-header lines of all files in path order. ``file_any`` adds per-file
    ``bool_or`` flags over the file's lines; ``first_line`` adds per-file values of functions
    of the file's first line (applied once per file split, not once per row).

    Notes
    -----
    The rows of one file split are contiguous in one scan partition, so a row's index in its
    split is ``mid - min(mid)`` of the split, and a split's offset is the number of lines in
    the earlier splits of the file. The split table (one row per file split) is aggregated in
    one extra pass over the input and broadcast; nothing else is shuffled. ``single=True``
    (the input is one split, see :func:`single_split`) numbers the lines from ``mid`` with no
    pass, unless ``file_any`` or ``first_line`` need one.
    """
    if single and not file_any and not first_line:
        head = 1 if header else 0
        return rows.withColumns({
            "line_number": F.col("mid") + 1,
            "ordinal": F.col("mid") + (1 - head),
        })
    keys = ["source_file", "block"]
    firsts = dict(first_line or {})
    aggs = [
        F.min("mid").alias("first_mid"),
        F.count(F.lit(1)).alias("n"),
        *[F.bool_or(c).alias(k) for k, c in (file_any or {}).items()],
        *([F.min_by("value", F.col("mid")).alias("_first")] if firsts else []),
    ]
    blocks = lines.groupBy(*keys).agg(*aggs)
    in_file = Window.partitionBy("source_file")
    before = Window.unboundedPreceding, -1
    # The split table is tiny (one row per file split): one window partition is fine.
    everything = Window.partitionBy(F.lit(0)).orderBy(*keys).rowsBetween(*before)
    n_head = F.when(F.lit(header) & (F.col("block") == F.min("block").over(in_file)), 1)
    blocks = blocks.select(
        *keys, "first_mid", "n",
        F.coalesce(F.sum("n").over(in_file.orderBy("block").rowsBetween(*before)), F.lit(0))
        .alias("line_offset"),
        F.coalesce(n_head, F.lit(0)).alias("n_head"),
        *[F.bool_or(k).over(in_file).alias(k) for k in file_any or {}],
        *[fn(F.min_by("_first", F.col("block")).over(in_file)).alias(k)
          for k, fn in firsts.items()],
    )  # fmt: skip
    data_lines = F.col("n") - F.col("n_head")
    blocks = blocks.withColumn(
        "data_offset", F.coalesce(F.sum(data_lines).over(everything), F.lit(0))
    ).drop("n")
    index = F.col("mid") - F.col("first_mid")
    numbers = {
        "line_number": F.col("line_offset") + index + 1,
        "ordinal": F.col("data_offset") + index + 1 - F.col("n_head"),
    }
    return (
        rows.join(F.broadcast(blocks), on=keys, how="inner")
        .withColumns(numbers)
        .drop("first_mid", "line_offset", "data_offset", "n_head")
    )


# Characters a one-character Java regex cannot be taken literally as (String.split's fast path).
_REGEX_META = ".$|()[{^?*+\\"


def quote_regex(delimiter: str) -> str:
    """A Java regex matching ``delimiter`` literally (Spark's ``split`` takes a regex).

    A single ordinary character is its own regex: Java's ``String.split`` then cuts on it
    without compiling a pattern for every row (``\\Q,\\E`` would compile one per row).
    """
    if "\\E" in delimiter:
        raise InputError(f"unsupported delimiter {delimiter!r}")
    if len(delimiter) == 1 and delimiter not in _REGEX_META:
        return delimiter
    return f"\\Q{delimiter}\\E"


def split_trimmed(value: Column, delimiter: str) -> Column:
    """``value`` split on the literal ``delimiter``, every field stripped of whitespace."""
    # Not F.transform(..., strip)-style shortcuts: transform calls a two-parameter function
    # with (element, index), and F.trim's second parameter is the set of characters to strip.
    return F.transform(F.split(value, quote_regex(delimiter)), lambda f: strip(f))  # noqa: PLW0108


def strip(value: Column) -> Column:
    """``value`` without leading and trailing whitespace (not only spaces)."""
    # btrim, not the two-argument trim (deprecated in Spark 4.3: it warns on every plan).
    return F.btrim(value, F.lit(WHITESPACE))

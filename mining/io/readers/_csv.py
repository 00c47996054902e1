"""CSV documents whose quoted fields may span lines (Tweets.csv), with unbalanced quotes contained.

The lines are read by the text source (splittable, exact line numbers), grouped by file and
cut into records by :mod:`mining.io.readers._csv_parse` in Python workers (one task per file,
as Spark's own multi-line CSV reader). That parser, unlike Spark's, sets aside only the line of
an unbalanced quote instead of swallowing the rest of the file into one record.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from mining.errors import InputError
from mining.io.readers._csv_parse import OUTPUT_DDL, CsvSpec, parse_batches
from mining.io.readers._inputs import input_error, local_files
from mining.io.readers._lines import scan_text, spark_encoding, strip
from mining.io.readers._stage import first_reason, split_rows
from mining.io.readers.result import Probe


def _header(spark: SparkSession, paths: Sequence[str], encoding: str) -> list[str]:
    """The header names of the first file, read eagerly (one small job) to check the columns."""
    options = {
        "header": "true", "multiLine": "true", "encoding": spark_encoding(encoding),
        "escape": '"',  # RFC 4180: a quote inside a quoted field is doubled
    }  # fmt: skip
    try:
        return spark.read.options(**options).csv(list(paths)).columns
    except Exception as exc:  # AnalysisException, or a file system error of a remote URI
        raise input_error(paths, exc) from exc


def _parsed(spark: SparkSession, paths: Sequence[str], encoding: str, spec: CsvSpec) -> DataFrame:
    """The parser's rows (``OUTPUT_DDL``): one per record, header or blank line."""
    lines = scan_text(spark, paths, encoding=encoding, partitions=0)
    # invalid UTF-8 cannot cross into Arrow; it is flagged by encoding_ok and shown repaired
    value = F.when(F.col("encoding_ok"), F.col("value")).otherwise(F.make_valid_utf8("value"))
    files = local_files(paths)
    n = int(spark.conf.get("spark.sql.shuffle.partitions") or 1)
    n = max(1, min(n, len(files))) if files is not None else n
    ordered = (
        lines.select("source_file", "block", "mid", value.alias("value"), "encoding_ok")
        .repartition(n, "source_file")
        .sortWithinPartitions("source_file", "block", "mid")
    )
    return ordered.mapInArrow(functools.partial(parse_batches, spec=spec), OUTPUT_DDL)


def _ordinals(records: DataFrame) -> DataFrame:
    """Add ``ordinal``: the record's number among the data records of all files in path order."""
    per_file = records.groupBy("source_file").agg(F.coalesce(F.max("record"), F.lit(0)).alias("n"))
    before = Window.partitionBy(F.lit(0)).orderBy("source_file").rowsBetween(
        Window.unboundedPreceding, -1
    )
    offsets = per_file.select(
        "source_file", F.coalesce(F.sum("n").over(before), F.lit(0)).alias("offset")
    )
    return records.join(F.broadcast(offsets), on="source_file", how="inner").withColumn(
        "ordinal", F.col("offset") + F.col("record")
    )


def csv_documents(
    spark: SparkSession,
    paths: Sequence[str],
    encoding: str,
    columns: tuple[int | str | None, int | str, int | str | None],
    max_length: int,
    *,
    max_record_lines: int = 1000,
) -> tuple[DataFrame, DataFrame, Probe]:
    """Stage CSV records into documents; see ``read_documents`` (layout ``"csv"``).

    Quarantine ``line_number`` is the record's number in its file (header excluded, locator
    ``'record'``); the reasons written by the parser name physical lines.
    """
    if any(c is not None and not isinstance(c, str) for c in columns):
        raise InputError("csv layout: id/text/label columns are header names")
    if max_record_lines < 1:
        raise InputError("max_record_lines must be at least 1")
    names = _header(spark, paths, encoding)
    for c in columns:
        if c is not None and c not in names:
            raise InputError(f"column {c!r} is not in the CSV header {names} of {paths[0]}")
    id_c, text_c, label_c = (c if isinstance(c, str) else None for c in columns)
    assert text_c is not None
    spec = CsvSpec(id_c, text_c, label_c, max_record_lines)
    rows = _parsed(spark, paths, encoding, spec)
    if id_c is None:  # the record number is the document id
        rows = _ordinals(rows)
    doc_id = strip(F.col("id")) if id_c else F.col("ordinal").cast("string")
    checks: list[tuple[Column, Column | str]] = [
        (~F.col("encoding_ok"), "invalid UTF-8"),
        (F.col("reason").isNotNull(), F.col("reason")),
        (F.coalesce(doc_id, F.lit("")) == "", "missing document id"),
        (F.length("text") > max_length, f"text longer than {max_length} characters"),
    ]
    staged = rows.select(
        "source_file", "block", "mid", "value",
        F.col("record").alias("line_number"),
        "skip",
        first_reason(checks).alias("reason"),
        doc_id.alias("doc_id"),
        F.coalesce("text", F.lit("")).alias("text"),
        F.nullif(F.col("label"), F.lit("")).alias("label"),
    )  # fmt: skip
    return split_rows(staged, "documents", locator="record")

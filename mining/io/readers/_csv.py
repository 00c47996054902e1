"""CSV documents whose quoted fields may span lines (Tweets.csv), through Spark's CSV reader."""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from mining.errors import InputError
from mining.io.readers._lines import input_error, number_rows, spark_encoding, strip
from mining.io.readers._stage import first_reason, split_rows
from mining.io.readers.result import Probe

_CORRUPT = "_corrupt_record"


def _col(name: str) -> Column:
    """A column by its exact header name (dots and spaces included)."""
    return F.col("`" + name.replace("`", "``") + "`")


def _header(spark: SparkSession, paths: Sequence[str], options: dict[str, str]) -> list[str]:
    try:
        return spark.read.options(**options).csv(list(paths)).columns
    except Exception as exc:  # AnalysisException, or a file system error of a remote URI
        raise input_error(paths, exc) from exc


def csv_documents(
    spark: SparkSession,
    paths: Sequence[str],
    encoding: str,
    columns: tuple[int | str | None, int | str, int | str | None],
    max_length: int,
) -> tuple[DataFrame, DataFrame, Probe]:
    """Stage CSV records into documents; see ``read_documents`` (layout ``"csv"``).

    The header is read first (one small job) so that the records can then be read with an
    explicit all-string schema plus a corrupt-record column: a record Spark cannot parse
    (an unterminated quote, a wrong number of fields) lands there instead of failing the read.
    Records are numbered per file (a multi-line CSV file is one task, never split).
    """
    options = {
        "header": "true", "multiLine": "true", "encoding": spark_encoding(encoding),
        "escape": '"',  # RFC 4180: a quote inside a quoted field is doubled
    }  # fmt: skip
    names = _header(spark, paths, options)
    if any(c is not None and not isinstance(c, str) for c in columns):
        raise InputError("csv layout: id/text/label columns are header names")
    for c in columns:
        if c is not None and c not in names:
            raise InputError(f"column {c!r} is not in the CSV header {names} of {paths[0]}")
    id_c, text_c, label_c = (c if isinstance(c, str) else None for c in columns)
    assert text_c is not None
    schema = T.StructType(
        [T.StructField(n, T.StringType()) for n in names]
        + [T.StructField(_CORRUPT, T.StringType())]
    )
    records = (
        spark.read.schema(schema)
        .options(**options, mode="PERMISSIVE", columnNameOfCorruptRecord=_CORRUPT)
        .csv(list(paths))
    )
    rows = records.select(
        F.col("_metadata.file_path").alias("source_file"),
        F.col("_metadata.file_block_start").alias("block"),
        F.monotonically_increasing_id().alias("mid"),
        F.coalesce(_col(_CORRUPT), F.to_csv(F.struct(*[_col(n) for n in names])))
        .alias("value"),
        _col(_CORRUPT).alias("corrupt"),
        *[_col(c).alias(k) for k, c in (("id", id_c), ("text", text_c), ("label", label_c)) if c],
    )  # fmt: skip
    unnumbered = rows
    if id_c is None:  # the record number is the document id
        rows = number_rows(rows, rows)
    doc_id = strip(F.col("id")) if id_c else F.col("ordinal").cast("string")
    checks: list[tuple[Column, Column | str]] = [
        (F.col("corrupt").isNotNull(), "malformed CSV record"),
        (F.coalesce(doc_id, F.lit("")) == "", "missing document id"),
        (F.col("text").isNull(), "missing text"),
        (F.length("text") > max_length, f"text longer than {max_length} characters"),
    ]
    staged = rows.select(
        "source_file", "block", "mid", "value",
        *(["line_number"] if id_c is None else []),
        F.lit(False).alias("skip"),
        first_reason(checks).alias("reason"),
        doc_id.alias("doc_id"),
        "text",
        (F.col("label") if label_c else F.lit(None).cast("string")).alias("label"),
    )  # fmt: skip
    lines = unnumbered if id_c is not None else None
    return split_rows(staged, "documents", locator="record", lines=lines)

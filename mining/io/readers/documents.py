"""Text documents: one per file, one per line, CSV records, or Reuters-21578 SGML."""

from __future__ import annotations

from typing import Literal

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from mining._frames import conform
from mining.errors import InputError
from mining.io.readers._csv import csv_documents
from mining.io.readers._inputs import (
    COMPRESSED,
    PathArg,
    local_files,
    relative_name,
    resolve_paths,
)
from mining.io.readers._lines import (
    number_rows,
    quote_regex,
    scan_text,
    single_split,
    strip,
)
from mining.io.readers._reuters import reuters_documents
from mining.io.readers._stage import first_reason, line_checks, split_rows
from mining.io.readers.result import Probe, ReadResult, observe, standard_counts
from mining.schemas import DOCUMENTS

Layout = Literal["files", "lines", "csv", "reuters"]
Staged = tuple[DataFrame, DataFrame, Probe]


def read_documents(
    spark: SparkSession,
    path: PathArg,
    *,
    layout: Layout = "files",
    encoding: str | None = None,
    id_column: int | str | None = None,
    text_column: int | str | None = None,
    label_column: int | str | None = None,
    delimiter: str = "\t",
    header: bool = False,
    recursive: bool = False,
    dedup: bool = True,
    max_line_length: int = 1_000_000,
    max_record_lines: int = 1000,
    partitions: int | None = None,
) -> ReadResult:
    """Read documents into ``DOCUMENTS`` rows.

    Parameters
    ----------
    spark
        The session.
    path
        A file, directory, glob or a list of them (local paths must exist). A directory is
        read as all its files (names starting with ``.`` or ``_`` are ignored); it must hold
        at least one, and no subdirectory unless ``recursive`` (files layout).
    layout
        ``"files"``: every file is one document, ``doc_id`` its path relative to the
        deepest directory holding all inputs (``a/x.txt`` for ``docs/a/x.txt`` read as
        ``docs``; a file given by itself: its name; a glob counts from the directory before
        its first wildcard), so different files never share an id. ``"lines"``: one
        document per line, fields separated by ``delimiter`` (the SMS Spam Collection is
        ``label<TAB>text``: ``label_column=0``). ``"csv"``: CSV with a header line, quoted
        fields may span lines (Tweets.csv: ``id_column="tweet_id"``, ``text_column="text"``,
        ``label_column="airline_sentiment"``). ``"reuters"``: Reuters-21578 SGML files.
    encoding
        ``"utf-8"`` or ``"latin-1"``; ``None``: latin-1 for reuters, UTF-8 otherwise. In UTF-8
        input, invalid bytes quarantine the document (csv: the record).
    id_column, text_column, label_column
        Lines layout: 0-based field positions; csv layout: header names (``text_column``
        defaults to ``"text"``). Without ``id_column``, ``doc_id`` is the line's (or record's)
        1-based number among the non-header lines (records) of all files in path order: for
        one file, its line number. ``text_column`` defaults to the field after the id and
        label fields; when it is the last field it takes the rest of the line, delimiters and
        all.
    delimiter, header
        Lines layout: the field separator, and whether the first line of each file is a
        header.
    recursive
        Files layout: read files in subdirectories too (hidden ones excepted).
    dedup
        Keep one document per ``doc_id`` (the first in input order).
    max_line_length
        Longer lines (files layout and reuters: documents; csv: texts) are quarantined, their
        ``raw`` cut to 10,000 characters.
    max_record_lines
        CSV layout: a quoted field still open after this many lines is taken as an
        unbalanced quote (see Notes).
    partitions
        Repartition after the scan to this many partitions; ``None``: only a big (> 16 MiB)
        unsplittable compressed input (``.gz``, read by one task); 0: never.

    Returns
    -------
    ReadResult
        ``data``: ``doc_id`` (string), ``text`` (string), ``label`` (string or null; reuters:
        the TOPICS joined by ``,``, null without topics). ``quarantine``: ``locator`` and
        ``line_number``: ``'line'`` and the 1-based physical line (lines layout);
        ``'record'`` and the 1-based CSV record after the header (csv); ``'document'`` and the
        1-based ``<REUTERS>`` element of the file (reuters), or null (files: the whole file).

    Raises
    ------
    InputError
        A path does not exist, a directory holds no file (or subdirectories without
        ``recursive``), a local file is UTF-16, binary or damaged gzip, an option is invalid,
        or a csv column is not in the header.

    Notes
    -----
    Counts: the common keys (``lines_read`` counts lines, files, CSV records or
    ``</REUTERS>``-separated records); ``skipped`` blank and header lines (lines layout),
    blank records and documents without a BODY (reuters); ``documents`` (rows of ``data``);
    ``empty_documents`` (kept with text ``""``); files layout: ``empty_files``, files of 0
    bytes, counted in ``lines_read`` and ``skipped`` (Spark's file sources never list them,
    so only local ones can be counted: an empty file on a remote file system is not seen);
    reuters: ``reuters_elements`` and ``no_body``. Reuters documents without a ``<BODY>``
    (2,535 of the 21,578) are not data for a text reader, nor errors: they are skipped and
    counted in ``no_body``, so that ``rows_read`` is the number of bodies. Blank lines inside
    a CSV file are dropped by Spark's CSV parser and are not counted.

    CSV layout: ``lines_read`` counts records, the header and blank lines (both
    ``skipped``). Line breaks inside quoted fields become ``\n``. A record that spans lines
    and does not parse (text after a closing quote, the wrong number of fields, the end of the
    file or ``max_record_lines`` lines inside quotes) is an unbalanced quote on its first line:
    that line alone is quarantined, with a reason naming it, and reading resumes at the next
    line (Spark's CSV parser would swallow the rest of the file into one record).

    Rejected: invalid UTF-8, NUL byte, too long, too few fields, empty id (lines); malformed
    record, unbalanced quote, missing id, invalid UTF-8 (csv); not a REUTERS element, missing
    NEWID, unterminated BODY (reuters). Cost: one pass and one shuffle (dedup); numbering
    lines without an id column costs one more pass; the csv layout reads the header line
    eagerly and parses records in Python workers (one task per file).

    Documents are the input of shingling and minhashing (MMDS §3.2-3.3).

    Examples
    --------
    >>> sms = read_documents(spark, "data/text/SMSSpamCollection", layout="lines",
    ...                      label_column=0)  # doctest: +SKIP
    >>> sms.data.groupBy("label").count().collect()  # doctest: +SKIP
    [Row(label='ham', count=4827), Row(label='spam', count=747)]
    """
    charset = encoding or ("latin-1" if layout == "reuters" else "utf-8")
    hint = ", or pass recursive=True" if layout == "files" else ""
    paths = resolve_paths(path, recursive=recursive and layout == "files", hint=hint)
    if layout == "files":
        docs, quarantine, probe = _files(
            spark, paths, encoding=charset, recursive=recursive, max_length=max_line_length,
            partitions=partitions,
        )  # fmt: skip
    elif layout == "lines":
        positions = _line_columns(id_column, text_column, label_column)
        lines = scan_text(spark, paths, encoding=charset, partitions=partitions)
        one = single_split(spark, paths) is not None
        docs, quarantine, probe = _lines(
            lines, positions, delimiter, header, max_line_length, single=one
        )
    elif layout == "csv":
        names = (id_column, "text" if text_column is None else text_column, label_column)
        docs, quarantine, probe = csv_documents(
            spark, paths, charset, names, max_line_length, max_record_lines=max_record_lines
        )
    elif layout == "reuters":
        lines = scan_text(spark, paths, encoding=charset, line_sep="</REUTERS>",
                          partitions=partitions)  # fmt: skip
        docs, quarantine, probe = reuters_documents(lines, max_line_length)
    else:
        raise InputError(f"unknown document layout {layout!r}")
    # Spark's file sources never list empty files; for local input they are counted here
    empty_files = 0
    if layout == "files":
        files = local_files(paths, recursive=recursive)
        empty_files = sum(f.stat().st_size == 0 for f in files or [])
        packed = next((f for f in files or [] if f.name.lower().endswith(COMPRESSED)), None)
        if packed is not None:  # binaryFile hands over the compressed bytes as they are
            raise InputError(
                f"input file {packed} is compressed: the files layout reads every file's bytes "
                "as they are; decompress it first"
            )
    if dedup:
        first = F.min_by(F.struct("text", "label"), F.struct("source_file", "block", "mid"))
        docs = docs.groupBy("doc_id").agg(first.alias("doc"), F.count("*").alias("n"))
        docs = docs.select("doc_id", "doc.*", "n")
    else:
        docs = docs.withColumn("n", F.lit(1))
    docs, kept = observe(
        docs.select("doc_id", "text", "label", "n"),
        "documents.kept",
        {
            "rows_kept": F.count(F.lit(1)),
            "empty_documents": F.count_if(F.col("text") == ""),
            "_rows_in": F.coalesce(F.sum("n"), F.lit(0)),  # = _rows_valid, see ReadResult
        },
    )

    def derive(raw: dict[str, int]) -> dict[str, int]:
        raw["lines_read"] += empty_files
        raw["skipped"] += empty_files
        out = standard_counts(raw)
        out["documents"] = out["rows_kept"]
        out["empty_files"] = empty_files
        return out

    return ReadResult(conform(docs, DOCUMENTS), quarantine, {}, (probe, kept), derive)


def _files(
    spark: SparkSession,
    paths: list[str],
    *,
    encoding: str,
    recursive: bool,
    max_length: int,
    partitions: int | None,
) -> Staged:
    whole = scan_text(spark, paths, encoding=encoding, whole_files=True, recursive=recursive,
                      partitions=partitions, decoded_path=True)  # fmt: skip
    staged = whole.select(
        "source_file", "block", "mid", "value",
        F.lit(False).alias("skip"),
        first_reason(line_checks(max_length, what="document")).alias("reason"),
        relative_name(F.col("path"), paths).alias("doc_id"),
        F.col("value").alias("text"),
        F.lit(None).cast("string").alias("label"),
    )  # fmt: skip
    return split_rows(staged, "documents", locator="document", number_line=False)


def _line_columns(
    id_column: int | str | None, text_column: int | str | None, label_column: int | str | None
) -> tuple[int | None, int, int | None]:
    given = [c for c in (id_column, text_column, label_column) if c is not None]
    if any(not isinstance(c, int) or c < 0 for c in given):
        raise InputError("lines layout: id/text/label columns are 0-based field positions")
    others = [c for c in (id_column, label_column) if isinstance(c, int)]
    text = text_column if isinstance(text_column, int) else max(others, default=-1) + 1
    id_c = id_column if isinstance(id_column, int) else None
    label_c = label_column if isinstance(label_column, int) else None
    if len({text, *others}) != 1 + len(others):
        raise InputError("lines layout: id, text and label must be different columns")
    return id_c, text, label_c


def _lines(
    lines: DataFrame,
    columns: tuple[int | None, int, int | None],
    delimiter: str,
    header: bool,
    max_length: int,
    *,
    single: bool,
) -> Staged:
    id_c, text_c, label_c = columns
    n = max(c for c in columns if c is not None) + 1
    # the text takes the rest of the line when it is the last field
    fields = F.split(F.col("value"), quote_regex(delimiter), n if text_c == n - 1 else -1)
    numbered = id_c is None or header
    rows = number_rows(lines, lines, header=header, single=single) if numbered else lines
    doc_id = strip(F.get(fields, id_c)) if id_c is not None else F.col("ordinal").cast("string")
    label = F.nullif(strip(F.get(fields, label_c)), F.lit("")) if label_c is not None else None
    skip = strip(F.col("value")) == ""
    if header:
        skip = skip | (F.col("line_number") == 1)
    checks: list[tuple[Column, Column | str]] = [
        *line_checks(max_length),
        (F.size(fields) < n, F.format_string(
            "too few fields: expected %d, got %d", F.lit(n), F.size(fields))),
        (doc_id == "", "empty document id"),
    ]  # fmt: skip
    staged = rows.select(
        "source_file", "block", "mid", "value",
        *(["line_number"] if numbered else []),
        skip.alias("skip"),
        first_reason(checks).alias("reason"),
        doc_id.alias("doc_id"),
        F.get(fields, text_c).alias("text"),
        (label if label is not None else F.lit(None).cast("string")).alias("label"),
    )  # fmt: skip
    return split_rows(
        staged, "documents", locator="line", lines=None if numbered else lines, single=single
    )

"""Labelled examples: LIBSVM/SVMlight sparse text, or dense CSV with a label column."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from mining._frames import conform
from mining.errors import InputError
from mining.io.readers._ids import dense_ids
from mining.io.readers._inputs import PathArg, resolve_paths
from mining.io.readers._lines import (
    number_rows,
    quote_regex,
    scan_text,
    single_split,
    strip,
)
from mining.io.readers._stage import first_reason, line_checks, split_rows
from mining.io.readers.result import ReadResult, observe, standard_counts
from mining.schemas import LABEL_MAP, LABELED_POINTS

Checks = list[tuple[Column, Column | str]]


def read_labeled(
    spark: SparkSession,
    path: PathArg,
    *,
    format: Literal["libsvm", "csv"] = "libsvm",
    n_features: int | None = None,
    label_column: int = 0,
    header: bool = False,
    labels: Sequence[float] | Sequence[str] | None = None,
    string_labels: bool = False,
    delimiter: str = ",",
    max_abs_value: float = 1e12,
    encoding: str = "utf-8",
    max_line_length: int = 1_000_000,
    partitions: int | None = None,
) -> ReadResult:
    """Read labelled examples into ``LABELED_POINTS`` rows (sparse, 0-based indices).

    Parameters
    ----------
    spark
        The session.
    path
        A file, directory, glob or a list of them (local paths must exist). A directory is
        read as all its files (names starting with ``.`` or ``_`` are ignored); it must hold
        at least one, and no subdirectory (Spark would skip it).
    format
        ``"libsvm"``: ``label [qid:n] index:value ...`` with 1-based, strictly increasing
        indices; ``#`` starts a comment (a line holding only a comment is skipped). ``"csv"``:
        dense rows of numbers split on ``delimiter`` (no quoting) with the label in
        ``label_column`` (spambase: ``-1``, the last; letter-recognition and MNIST: ``0``);
        the other columns become features 0..d-1 in order.
    n_features
        LIBSVM: indices above it are rejected. CSV: rows must have ``n_features + 1``
        columns; ``None``: as many as the first line of their file (header or data).
    label_column
        CSV: 0-based label column, negative counts from the end.
    header
        CSV: skip the first line of every file.
    labels
        The expected labels; other labels are rejected. Names (``str``) also fix the numeric
        label of each name: its position in ``labels``.
    string_labels
        CSV: labels are names (letter-recognition's ``A``..``Z``), numbered 0..k-1 in sorted
        order unless ``labels`` gives the order; the map is ``extras["label_map"]``.
    delimiter
        CSV field separator.
    max_abs_value
        Feature values with a larger absolute value are rejected, like NaN and infinity.
    encoding
        ``"utf-8"`` (invalid bytes quarantine the line) or ``"latin-1"``.
    max_line_length
        Longer lines are quarantined (their ``raw`` cut to 10,000 characters).
    partitions
        Repartition after the scan to this many partitions; ``None``: only a big (> 16 MiB)
        unsplittable compressed input (``.gz``, read by one task); 0: never.

    Returns
    -------
    ReadResult
        ``data``: ``row`` (long, the 1-based physical line in its file), ``label`` (double),
        ``indices`` (array of int, 0-based), ``values`` (array of double), ``qid`` (long or
        null). ``extras["label_map"]`` with string labels: ``label`` (double), ``name``.
        ``quarantine``: ``locator`` ``'line'``, ``line_number`` the 1-based physical line.

    Raises
    ------
    InputError
        A local path does not exist, a directory holds no file (or a subdirectory), a local
        file is UTF-16, binary or damaged gzip (found from its first KiB), a non-local path
        cannot be read, or an option is invalid. Damage found later fails the job with
        Spark's error; :func:`~mining.io.readers.explain_read_failure` turns it into one line.

    Notes
    -----
    One bad line is quarantined; it never fails the file (Spark's own ``libsvm`` source fails
    the whole read). Reasons: invalid UTF-8, NUL byte, line too long, non-numeric or
    NaN/infinite label, label not in ``labels``, malformed qid, malformed ``index:value`` token,
    index not a 32-bit integer, index 0 or negative (indices are 1-based), indices not
    increasing, repeated index, index above ``n_features``, wrong number of columns (CSV),
    non-numeric, NaN/infinite or too large value. Numbers are parsed by Spark's cast
    (surrounding spaces allowed).

    Counts: the common keys (``skipped``: blank, comment and header lines; nothing is
    deduplicated: equal examples are kept) plus ``features`` (largest 0-based index + 1 among
    kept rows). Cost: two passes (one numbers the lines of each file split for ``row``).

    Labelled points are the input of the linear models and SGD of MMDS §12.

    Examples
    --------
    >>> test = read_labeled(spark, "a9a.t.gz", n_features=123)  # doctest: +SKIP
    >>> test.counts()["rows_kept"]  # doctest: +SKIP
    16281
    """
    if format not in ("libsvm", "csv"):
        raise InputError(f"unknown labeled format {format!r}")
    names = [x for x in labels or [] if isinstance(x, str)]
    string_labels = string_labels or bool(names)
    if format == "libsvm" and string_labels:
        raise InputError("LIBSVM labels are numbers: string_labels/labels names need csv")
    if labels is not None and string_labels and len(names) != len(labels):
        raise InputError("with string labels, `labels` must be the class names")
    paths = resolve_paths(path)
    lines = scan_text(spark, paths, encoding=encoding, partitions=partitions)
    if format == "libsvm":
        rows = number_rows(lines, lines, single=single_split(spark, paths) is not None)
        parsed, checks = _libsvm(n_features)
    else:
        def width(line: Column) -> Column:
            return F.size(F.split(line, quote_regex(delimiter)))

        # the first line's width is only needed when it fixes the expected width
        first = {"first_width": width} if n_features is None else None
        rows = number_rows(lines, lines, header=header, first_line=first,
                           single=single_split(spark, paths) is not None)
        parsed, checks = _dense(delimiter, label_column, header, n_features, string_labels)
    checks = [*line_checks(max_line_length), *checks,
              *value_checks(F.col("v"), max_abs_value)]  # fmt: skip
    if labels is not None:
        expected = [x for x in labels if isinstance(x, str) == string_labels]
        checks.append((~F.col("label").isin(expected), "label not in the expected set"))
    staged = rows.select("*", *parsed)
    staged = staged.select("*", first_reason(checks).alias("reason"))
    valid, quarantine, probe = split_rows(staged, "labeled", locator="line")
    extras: dict[str, DataFrame] = {}
    if string_labels:
        ok = staged.filter(~F.col("skip") & F.col("reason").isNull())  # not the observed frame
        label_map = _label_map(spark, ok, names)
        extras["label_map"] = label_map
        valid = valid.join(
            F.broadcast(label_map.select(F.col("name").alias("label"), F.col("label").alias("y"))),
            on="label",
            how="inner",
        ).withColumn("label", F.col("y"))
    points = valid.select(
        F.col("line_number").alias("row"), "label",
        "indices", F.col("v").alias("values"), "qid",
    )  # fmt: skip
    points, kept = observe(
        points,
        "labeled.kept",
        {
            "rows_kept": F.count(F.lit(1)),
            "features": F.coalesce(F.max(F.array_max("indices")) + 1, F.lit(0)),
            "_rows_in": F.count(F.lit(1)),  # = _rows_valid, see ReadResult
        },
    )
    return ReadResult(
        conform(points, LABELED_POINTS), quarantine, extras, (probe, kept), standard_counts
    )


def _libsvm(n_features: int | None) -> tuple[list[Column], Checks]:
    """Columns ``skip, label, qid, i, v, indices`` of a LIBSVM line, and its syntax checks."""
    content = strip(F.substring_index(F.col("value"), "#", 1))  # before any comment
    tokens = F.split(content, r"\s+")
    rest = F.slice(tokens, 2, F.greatest(F.size(tokens) - 1, F.lit(0)))
    has_qid = F.coalesce(F.get(rest, 0).startswith("qid:"), F.lit(False))
    feats = F.when(has_qid, F.slice(rest, 2, F.greatest(F.size(rest) - 1, F.lit(0)))).otherwise(
        rest
    )
    label_token = F.get(tokens, 0)
    qid_token = F.when(has_qid, F.substr(F.get(rest, 0), F.lit(5)))
    idx = F.transform(feats, lambda t: F.substring_index(t, ":", 1).try_cast("int"))
    # the value is everything after the first colon, so "1:2:3" fails the cast
    val = F.transform(feats, lambda t: F.substr(t, F.instr(t, ":") + 1).try_cast("double"))
    parsed = [
        (content == "").alias("skip"),
        label_token.try_cast("double").alias("label"),
        qid_token.try_cast("long").alias("qid"),
        idx.alias("i"),
        val.alias("v"),
        F.transform(idx, lambda x: F.coalesce(x, F.lit(0)) - 1).alias("indices"),  # 0-based
        # flags of the split line are columns, so the checks do not split the line again
        (has_qid & qid_token.try_cast("long").isNull()).alias("bad_qid"),
        F.exists(feats, lambda t: F.instr(t, ":") == 0).alias("malformed"),
    ]
    i = F.col("i")
    checks: Checks = [
        *_label_checks(False),
        (F.col("bad_qid"), "malformed qid"),
        (F.col("malformed"), "malformed feature (not index:value)"),
        (F.exists(i, lambda x: x.isNull()), "feature index is not a 32-bit integer"),
        (F.array_contains(i, 0), "feature index 0 (LIBSVM indices start at 1)"),
        (F.array_min(i) < 0, "negative feature index"),
        # array built-ins, not lambdas: higher-order functions are interpreted, row by row
        (i != F.array_sort(i), "feature indices not in increasing order"),
        (F.size(F.array_distinct(i)) < F.size(i), "repeated feature index"),
    ]
    if n_features is not None:
        checks.append((F.array_max(i) > n_features,
                       f"feature index above n_features ({n_features})"))  # fmt: skip
    return parsed, checks


def _label_checks(string_labels: bool) -> Checks:
    label = F.col("label")
    if string_labels:
        return [(F.coalesce(label, F.lit("")) == "", "empty label")]
    return [
        (label.isNull(), "non-numeric label"),
        (F.isnan(label) | (F.abs(label) == float("inf")), "label is NaN or infinite"),
    ]


def value_checks(values: Column, max_abs: float) -> Checks:
    """Checks of parsed feature values: non-numeric, NaN or infinite, too large."""
    # array_max/array_min skip nulls and order NaN above +inf, so two built-in passes find
    # NaN, infinities and the largest magnitude without a lambda per element
    high, low = F.array_max(values), F.array_min(values)
    return [
        (F.exists(values, lambda v: v.isNull()), "non-numeric feature value"),
        (F.isnan(high) | (F.abs(high) == float("inf")) | (low == float("-inf")),
         "NaN or infinite feature value"),
        (F.greatest(F.abs(high), F.abs(low)) > max_abs,
         f"feature value beyond {max_abs:g} in absolute value"),
    ]  # fmt: skip


def _dense(
    delimiter: str,
    label_column: int,
    header: bool,
    n_features: int | None,
    string_labels: bool,
) -> tuple[list[Column], Checks]:
    """Columns ``skip, label, qid, v, indices`` of a dense CSV line, and its shape checks."""
    fields = F.split(F.col("value"), quote_regex(delimiter))
    width = F.size(fields)
    expected = F.lit(n_features + 1) if n_features is not None else F.col("first_width")
    at = F.lit(label_column) if label_column >= 0 else width + label_column
    label_token = strip(F.get(fields, at))
    # slices and an array cast, not lambdas: higher-order functions are interpreted per element
    # (784 of them per MNIST row)
    cut = F.least(F.greatest(at, F.lit(0)), width)  # slice() fails on a negative length
    features = F.concat(F.slice(fields, 1, cut), F.slice(fields, cut + 2, width))
    values = features.try_cast(T.ArrayType(T.DoubleType()))
    n = F.size(features)
    indices = F.when(n > 0, F.sequence(F.lit(0), n - 1)).otherwise(F.array().cast("array<int>"))
    skip = strip(F.col("value")) == ""
    if header:
        skip = skip | (F.col("line_number") == 1)
    parsed = [
        skip.alias("skip"),
        (label_token if string_labels else label_token.try_cast("double")).alias("label"),
        F.lit(None).cast("long").alias("qid"),
        values.alias("v"),
        indices.alias("indices"),
        width.alias("width"),  # a column, so the checks do not split the line again
    ]
    got = F.col("width")
    checks: Checks = [
        (got != expected, F.format_string(
            "wrong number of columns: expected %d, got %d", expected, got)),
        *_label_checks(string_labels),
    ]  # fmt: skip
    return parsed, checks


def _label_map(spark: SparkSession, ok: DataFrame, names: list[str]) -> DataFrame:
    """Class name -> numeric label: the position in ``names``, else the rank of the name."""
    if names:
        return spark.createDataFrame([(float(k), n) for k, n in enumerate(names)], LABEL_MAP)
    ranked = dense_ids(ok.select(F.col("label").alias("name")), id_col="label")
    return conform(ranked, LABEL_MAP)

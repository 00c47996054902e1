"""Spark -> pandas keeping nullable integers, and rows rendered as text for the CLI."""

from __future__ import annotations

import csv
import io
import json
import math

import pandas as pd
import pytest

from mining.io.frames import to_pandas, write_rows

BIG = 2**53 + 1  # not representable as float64: a float conversion changes the id


@pytest.mark.connect
def test_nullable_types_survive(spark) -> None:
    df = spark.createDataFrame(
        [(BIG, 1, True, "a", 0.5), (None, None, None, None, None)],
        "id bigint, n int, flag boolean, name string, x double",
    )
    pdf = to_pandas(df)
    assert [str(t) for t in pdf.dtypes] == ["Int64", "Int32", "boolean", "string", "float64"]
    assert pdf["id"].iloc[0] == BIG
    assert pdf.iloc[1, :4].isna().all() and math.isnan(pdf["x"].iloc[1])


def test_left_join_keeps_integers(spark) -> None:
    pages = spark.createDataFrame([(1, "home"), (2, "about"), (3, "orphan")],
                                  "node bigint, name string")
    ranks = spark.createDataFrame([(1, BIG), (2, 7)], "node bigint, hits bigint")
    joined = pages.join(ranks, on="node", how="left").orderBy("node")
    # The pitfall: the plain conversion turns the column into float64 and BIG into BIG - 1.
    assert str(joined.toPandas()["hits"].dtype) == "float64"
    pdf = to_pandas(joined)
    assert str(pdf["hits"].dtype) == "Int64"
    assert pdf["hits"].tolist()[:2] == [BIG, 7] and pdf["hits"].isna().tolist() == [
        False, False, True]
    # The same pitfall in pandas itself: a left merge with a missing key keeps Int64 too.
    merged = to_pandas(pages).merge(to_pandas(ranks), on="node", how="left")
    assert str(merged["hits"].dtype) == "Int64" and merged["hits"].isna().sum() == 1


ROWS = [(1, "a,b", 0.123456789, None), (22, "c", float("nan"), [1, 2])]
COLUMNS = ["n", "s", "x", "arr"]


def _render(fmt: str) -> str:
    out = io.StringIO()
    write_rows(COLUMNS, ROWS, fmt, out)
    return out.getvalue()


def test_table_format_is_aligned() -> None:
    lines = _render("table").splitlines()
    assert lines == [
        " n | s   |        x | arr",  # numbers (and their headers) right-aligned
        "---+-----+----------+-------",
        " 1 | a,b | 0.123457 | NULL",
        "22 | c   |      nan | [1, 2]",
        "(2 rows)",
    ]


def test_csv_and_json_formats() -> None:
    parsed = list(csv.reader(io.StringIO(_render("csv"))))
    assert parsed == [COLUMNS, ["1", "a,b", "0.123456789", ""], ["22", "c", "NaN", "[1, 2]"]]
    objects = [json.loads(line) for line in _render("json").splitlines()]
    assert objects == [{"n": 1, "s": "a,b", "x": 0.123456789, "arr": None},
                       {"n": 22, "s": "c", "x": "NaN", "arr": [1, 2]}]
    with pytest.raises(ValueError, match="format"):
        write_rows(COLUMNS, ROWS, "xml", io.StringIO())


def test_pandas_frame_of_no_rows(spark) -> None:
    pdf = to_pandas(spark.createDataFrame([], "id bigint, name string"))
    assert pdf.empty and isinstance(pdf, pd.DataFrame)
    assert [str(t) for t in pdf.dtypes] == ["Int64", "string"]

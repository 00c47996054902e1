"""Collected results out of Spark: to pandas without losing nulls, or to text for the CLI.

``DataFrame.toPandas()`` turns an integer column with a null into ``float64`` with ``NaN``
(ids above 2**53 then silently change value) and a boolean column with a null into ``object``.
:func:`to_pandas` goes through Arrow and maps each Arrow type to the pandas extension type
that has a missing value of its own (``Int64``, ``boolean``, ``string``). :func:`write_rows`
prints collected rows as an aligned table, CSV or JSON lines (``mining sql``, ``mining tables``).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TextIO

import pandas as pd
import pyarrow as pa
from pyspark.sql import DataFrame

_NULLABLE: dict[pa.DataType, Any] = {
    pa.int8(): pd.Int8Dtype(),
    pa.int16(): pd.Int16Dtype(),
    pa.int32(): pd.Int32Dtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.uint8(): pd.UInt8Dtype(),
    pa.uint16(): pd.UInt16Dtype(),
    pa.uint32(): pd.UInt32Dtype(),
    pa.uint64(): pd.UInt64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
    pa.string(): pd.StringDtype(),
    pa.large_string(): pd.StringDtype(),
}


def nullable_dtype(arrow_type: pa.DataType) -> Any:
    """The pandas extension dtype for ``arrow_type``, or ``None`` for pandas' default.

    Floats keep ``float64`` (``NaN`` for null, pandas' own convention); timestamps, decimals and
    nested types keep their default conversion too.
    """
    return _NULLABLE.get(arrow_type)


def to_pandas(df: DataFrame) -> pd.DataFrame:
    """Collect ``df`` to the driver as pandas with nullable integer, boolean and string columns.

    Parameters
    ----------
    df
        A classic or Spark Connect DataFrame (both have ``toArrow()`` since Spark 4.0).

    Returns
    -------
    pandas.DataFrame
        Same columns in the same order: Spark ``tinyint``..``bigint`` -> ``Int8``..``Int64``,
        ``boolean`` -> ``boolean``, ``string`` -> ``string``; nulls are ``pd.NA`` in those.

    Notes
    -----
    Collects the whole DataFrame to the driver (one Arrow table): use it on results, not inputs.

    Examples
    --------
    >>> to_pandas(spark.createDataFrame([(1,), (None,)], "n bigint")).dtypes["n"]
    Int64Dtype()
    """
    return df.toArrow().to_pandas(types_mapper=nullable_dtype)


# --- rows as text (``mining sql``, ``mining tables``) ---------------------------------------

FORMATS = ("table", "csv", "json")


def write_rows(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str, out: TextIO
) -> None:
    """Write collected rows to ``out`` as an aligned table, CSV with a header, or JSON lines.

    Parameters
    ----------
    columns
        Column names.
    rows
        Row values in column order (``Row`` objects work).
    fmt
        ``"table"`` (numbers right-aligned, null as ``NULL``, floats to 6 significant digits,
        then a ``(n rows)`` line), ``"csv"`` (null empty, full precision) or ``"json"`` (one
        object per line; NaN and infinities as strings, as Spark's ``to_json`` writes them).
    out
        Where to write (the CLI passes ``sys.stdout``).
    """
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([_csv_cell(v) for v in row] for row in rows)
    elif fmt == "json":
        for row in rows:
            out.write(json.dumps({c: _jsonable(v) for c, v in zip(columns, row, strict=True)},
                                 ensure_ascii=False) + "\n")
    elif fmt == "table":
        _write_table(columns, rows, out)
    else:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")


def _write_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], out: TextIO) -> None:
    cells = [[_table_cell(v) for v in row] for row in rows]
    numeric = [all(_is_number(row[i]) or row[i] is None for row in rows) and bool(rows)
               for i in range(len(columns))]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]

    def line(values: Sequence[str]) -> str:
        padded = (v.rjust(w) if num else v.ljust(w)
                  for v, w, num in zip(values, widths, numeric, strict=True))
        return " | ".join(padded).rstrip()

    out.write(line(columns) + "\n")
    out.write("-+-".join("-" * w for w in widths) + "\n")
    out.writelines(line(r) + "\n" for r in cells)
    out.write(f"({len(rows)} row{'' if len(rows) == 1 else 's'})\n")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _table_cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, list | dict | tuple):
        return json.dumps(_jsonable(value), ensure_ascii=False)
    return str(value)


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list | dict | tuple):
        return json.dumps(_jsonable(value), ensure_ascii=False)
    return _jsonable(value)


def _jsonable(value: Any) -> Any:
    # Row is a tuple with names: keep its names. NaN/inf are not JSON; Spark writes them as text.
    if hasattr(value, "asDict"):
        return {k: _jsonable(v) for k, v in value.asDict().items()}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal | bytes | bytearray):
        return str(value) if isinstance(value, Decimal) else value.hex()
    return value

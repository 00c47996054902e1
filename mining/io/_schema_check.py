"""Checking a result table against its declared schema when it is published.

Names and types are checked before anything is written (from the DataFrame's schema, no Spark
job). NOT NULL is checked on the data: Spark's ``nullable`` flag is true for most computed
columns that never hold a null (every column read from a file, most UDF results), so it can
neither prove nor disprove a constraint. The null counts are taken with ``DataFrame.observe`` in
the same pass that writes the files and counts the rows, so the check costs no extra job (for a
column Spark does know to be non-null, its optimizer folds the count to 0 and it costs nothing).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from mining import schemas
from mining.errors import InputError

ROWS = "rows"


def declared_schema(table: str, schema: T.StructType | None) -> T.StructType:
    """``schema`` if given, else the table's entry in :data:`mining.schemas.RESULT_TABLES`.

    Raises
    ------
    InputError
        For a table with neither.
    """
    if schema is not None:
        return schema
    found = schemas.RESULT_TABLES.get(table)  # looked up per call: tests may register tables
    if found is None:
        raise InputError(f"no declared schema for table {table!r}: add it to "
                         "mining.schemas.RESULT_TABLES or pass schema=")
    return found


def conform(table: str, df: DataFrame, schema: T.StructType) -> DataFrame:
    """``df`` with exactly the declared columns, in the declared order.

    Types must be equal up to nullability flags (top level, array elements, map values, struct
    fields); field metadata is ignored. Nothing is cast: an ``int`` where ``bigint`` is declared
    is a mistake upstream, and a silent cast would hide it.

    Raises
    ------
    InputError
        One line naming the table and the first offending column.
    """
    declared = schema.fieldNames()
    have = df.schema
    twice = [name for name, n in Counter(have.fieldNames()).items() if n > 1]
    if twice:
        raise InputError(f"table {table!r}: column {twice[0]!r} appears more than once")
    names = set(have.fieldNames())
    missing = [name for name in declared if name not in names]
    if missing:
        raise InputError(f"table {table!r}: column {missing[0]!r} is missing "
                         f"(declared: {', '.join(declared)})")
    extra = [name for name in have.fieldNames() if name not in set(declared)]
    if extra:
        raise InputError(f"table {table!r}: column {extra[0]!r} is not declared "
                         f"(declared: {', '.join(declared)})")
    actual = {f.name: f.dataType for f in have.fields}
    for field in schema.fields:
        got = actual[field.name]
        if _loose(got) != _loose(field.dataType):
            raise InputError(f"table {table!r}: column {field.name!r} is "
                             f"{got.simpleString()}, declared {field.dataType.simpleString()}")
    return df.select(*[_col(name) for name in declared])


def conform_all(tables: Mapping[str, DataFrame], given: Mapping[str, T.StructType]
                ) -> dict[str, tuple[DataFrame, T.StructType]]:
    """:func:`conform` every table (``given`` schemas first, then the registry) before any write."""
    checked = {}
    for name, df in tables.items():
        declared = declared_schema(name, given.get(name))
        checked[name] = (conform(name, df, declared), declared)
    return checked


def observed_counts(schema: T.StructType) -> list[Column]:
    """``DataFrame.observe`` aggregates: the row count, one null count per NOT NULL column."""
    nulls = [F.count(F.when(_col(f.name).isNull(), 1)).alias(_null_key(i))
             for i, f in enumerate(schema.fields) if not f.nullable]
    return [F.count(F.lit(1)).alias(ROWS), *nulls]


def check_nulls(table: str, schema: T.StructType, observed: Mapping[str, object]) -> None:
    """Raise if an observed null count of a NOT NULL column is not zero.

    Raises
    ------
    InputError
        Naming the table, the first such column and its number of nulls.
    """
    for i, field in enumerate(schema.fields):
        found = observed.get(_null_key(i))
        if not field.nullable and found:
            raise InputError(f"table {table!r}: column {field.name!r} is declared NOT NULL but "
                             f"has {found} null values")


def _col(name: str) -> Column:
    return F.col("`" + name.replace("`", "``") + "`")


def _null_key(i: int) -> str:
    # Positional names: column names could collide with each other or with "rows".
    return f"nulls_{i}"


def _loose(dt: T.DataType) -> T.DataType:
    """``dt`` with every nullability flag set and metadata dropped, for comparing types."""
    if isinstance(dt, T.StructType):
        return T.StructType([T.StructField(f.name, _loose(f.dataType), True) for f in dt.fields])
    if isinstance(dt, T.ArrayType):
        return T.ArrayType(_loose(dt.elementType), True)
    if isinstance(dt, T.MapType):
        return T.MapType(_loose(dt.keyType), _loose(dt.valueType), True)
    return dt

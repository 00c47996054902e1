"""Maximal and closed frequent itemsets (MMDS §6.1, exercise 6.1.6) from a frequent-itemset table.

Both are anti-joins of the table against the immediate subsets of its own itemsets: a frequent
itemset is maximal when no frequent (k+1)-itemset contains it, and closed when none containing
it has the same support count. Checking only frequent supersets is enough for closedness: a
superset with the same count as a frequent itemset is itself frequent, so it is in the table.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from mining._frames import conform
from mining.errors import InputError
from mining.schemas import ITEMSETS


def maximal_itemsets(itemsets: DataFrame) -> DataFrame:
    """The frequent itemsets none of whose immediate supersets is frequent (MMDS §6.1).

    Parameters
    ----------
    itemsets
        All frequent itemsets at one threshold, schema :data:`mining.schemas.ITEMSETS`, with
        distinct items in each itemset. If the table was cut at a maximum size, its largest
        itemsets all look maximal (their supersets were never counted).

    Returns
    -------
    DataFrame
        The maximal itemsets, schema :data:`mining.schemas.ITEMSETS` (rows as in the input).

    Raises
    ------
    InputError
        ``itemsets`` lacks one of the ITEMSETS columns.

    Notes
    -----
    Each k-itemset (k >= 2) explodes into its k (k-1)-subsets (``array_remove`` of one item
    keeps the rest sorted): sum(k) rows, one shuffle for the left anti-join on the array key.
    No driver-side collect.
    """
    table = _select(itemsets)
    covered = _immediate_subsets(table).select("items")
    return conform(table.join(covered, on="items", how="left_anti"), ITEMSETS)


def closed_itemsets(itemsets: DataFrame) -> DataFrame:
    """The frequent itemsets with no immediate superset of the same support (MMDS §6.1).

    Parameters
    ----------
    itemsets
        All frequent itemsets at one threshold, schema :data:`mining.schemas.ITEMSETS`, with
        distinct items in each itemset. If the table was cut at a maximum size, its largest
        itemsets all look closed.

    Returns
    -------
    DataFrame
        The closed itemsets, schema :data:`mining.schemas.ITEMSETS`. Every maximal itemset is
        closed; every frequent itemset has the support of its smallest closed superset.

    Raises
    ------
    InputError
        ``itemsets`` lacks one of the ITEMSETS columns.

    Notes
    -----
    As :func:`maximal_itemsets`, with the superset's ``support_count`` in the anti-join key: a
    superset's count is never above its subset's, so equal counts mean equal support.
    """
    table = _select(itemsets)
    absorbed = _immediate_subsets(table)
    return conform(table.join(absorbed, on=["items", "support_count"], how="left_anti"),
                   ITEMSETS)


def _select(itemsets: DataFrame) -> DataFrame:
    missing = [f.name for f in ITEMSETS.fields if f.name not in itemsets.columns]
    if missing:
        raise InputError(f"itemsets lacks column(s) {', '.join(missing)} (see schemas.ITEMSETS)")
    return itemsets.select(*ITEMSETS.fieldNames())


def _immediate_subsets(table: DataFrame) -> DataFrame:
    """(items, support_count): each (k-1)-subset of every k-itemset, with the k-itemset's count."""
    return (
        table.where(F.col("size") >= 2)
        .select("items", "support_count", F.explode("items").alias("dropped"))
        .select(F.array_remove("items", F.col("dropped")).alias("items"), "support_count")
    )

"""Profiles of input data: degree and basket-size distributions (what the demo publishes first).

Pure transforms: DataFrame in, DataFrame out.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

__all__ = ["basket_size_distribution", "degree_distribution"]


def degree_distribution(edges: DataFrame) -> DataFrame:
    """Out- and in-degree distributions of a directed graph.

    Parameters
    ----------
    edges
        Edge table with columns ``src`` and ``dst`` (schema ``mining.schemas.EDGES``); one row per
        distinct edge (the edge reader deduplicates).

    Returns
    -------
    DataFrame
        Schema ``mining.schemas.DEGREE_DISTRIBUTION``: ``direction`` ('out' or 'in'),
        ``degree`` (long), ``nodes`` (long: how many nodes have that degree). Every node that
        appears in an edge is counted in both directions, so nodes with out-degree 0 (dead ends,
        MMDS §5.1.4) appear as ``('out', 0, n)``.

    Notes
    -----
    Two aggregations and one union; the node set is ``src ∪ dst``. Cost: one shuffle of the
    edges per direction plus one of the (small) degree table.
    """
    e = edges.select("src", "dst")
    nodes = e.select(F.col("src").alias("node")).union(e.select(F.col("dst").alias("node")))
    nodes = nodes.distinct()
    out_deg = e.groupBy(F.col("src").alias("node")).agg(F.count(F.lit(1)).alias("degree"))
    in_deg = e.groupBy(F.col("dst").alias("node")).agg(F.count(F.lit(1)).alias("degree"))
    per_node = (
        nodes.join(out_deg.withColumnRenamed("degree", "out"), on="node", how="left")
        .join(in_deg.withColumnRenamed("degree", "in"), on="node", how="left")
        .select(
            F.coalesce(F.col("out"), F.lit(0)).alias("out"),
            F.coalesce(F.col("in"), F.lit(0)).alias("in"),
        )
    )
    stacked = per_node.select(
        F.explode(
            F.array(
                F.struct(F.lit("out").alias("direction"), F.col("out").alias("degree")),
                F.struct(F.lit("in").alias("direction"), F.col("in").alias("degree")),
            )
        ).alias("d")
    )
    return (
        stacked.groupBy("d.direction", "d.degree")
        .agg(F.count(F.lit(1)).alias("nodes"))
        .select(
            F.col("direction"),
            F.col("degree").cast("long").alias("degree"),
            F.col("nodes").cast("long").alias("nodes"),
        )
    )


def basket_size_distribution(baskets: DataFrame) -> DataFrame:
    """How many baskets have each number of distinct items.

    Parameters
    ----------
    baskets
        Basket table (schema ``mining.schemas.BASKETS``: ``basket``, ``items``).

    Returns
    -------
    DataFrame
        Schema ``mining.schemas.BASKET_SIZE_DISTRIBUTION``: ``size`` (long, 0 for an empty
        basket) and ``baskets`` (long).

    Notes
    -----
    One aggregation (a shuffle of one small row per basket, combined map-side).
    """
    return (
        baskets.select(F.size("items").alias("size"))
        .groupBy("size")
        .agg(F.count(F.lit(1)).alias("baskets"))
        .select(F.col("size").cast("long").alias("size"), F.col("baskets").cast("long"))
    )

"""TrustRank and spam mass (MMDS §5.4): PageRank and trust computed in one pass."""

from __future__ import annotations

from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from mining.errors import InputError
from mining.link_analysis.pagerank import pagerank


def _trusted_topics(trusted: DataFrame) -> DataFrame:
    if "node" not in trusted.columns:
        raise InputError("the trusted-page table needs a `node` column")
    return trusted.select(F.lit("trust").alias("topic"), F.col("node").cast("long"))


def trustrank(edges: DataFrame, trusted: DataFrame, **options: Any) -> DataFrame:
    """TrustRank (§5.4.4): topic-sensitive PageRank teleporting to trusted pages only.

    Parameters
    ----------
    edges
        Edge table (``src``, ``dst``, optional ``weight``).
    trusted
        ``node``: the trusted pages (teleport set, uniform over its nodes).
    **options
        As :func:`mining.link_analysis.pagerank.pagerank` (``beta``, ``tol``, ``strategy``...).

    Returns
    -------
    DataFrame
        ``node`` (long), ``trust_rank`` (double, summing to 1).
    """
    ranks = pagerank(edges, topics=_trusted_topics(trusted), **options)
    return ranks.select("node", F.col("rank_trust").alias("trust_rank"))


def spam_mass(edges: DataFrame, trusted: DataFrame, *, threshold: float = 0.9,
              **options: Any) -> DataFrame:
    """Spam mass (§5.4.5) of every page: ``(r - t) / r`` with PageRank r and TrustRank t.

    PageRank and TrustRank come from one pass over the graph (a two-column ranks matrix).

    Parameters
    ----------
    edges, trusted, **options
        As :func:`trustrank`.
    threshold
        Pages with spam mass at least this are flagged ``suspect``. Spam mass is at most 1;
        it is negative for pages that get more than their share of rank from trusted pages.

    Returns
    -------
    DataFrame
        ``node`` (long), ``rank`` (PageRank), ``trust_rank``, ``spam_mass`` (double) and
        ``suspect`` (boolean).
    """
    if not threshold <= 1.0:
        raise InputError(f"spam-mass threshold must be <= 1, got {threshold}")
    ranks = pagerank(edges, topics=_trusted_topics(trusted), **options)
    mass = (F.col("rank") - F.col("rank_trust")) / F.col("rank")
    return ranks.select(
        "node", "rank", F.col("rank_trust").alias("trust_rank"), mass.alias("spam_mass"),
        (mass >= threshold).alias("suspect"))

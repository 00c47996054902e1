"""Link analysis (MMDS §2.3, chapter 5): matrix-vector products and the PageRank family.

Public transforms (DataFrame in, DataFrame out):

* :func:`matvec` / :func:`run_matvec` — M·v by map-reduce with in-memory, stripe, block and
  block-stripe strategies and their communication cost (§2.3.1-2.3.2, §5.2.3-5.2.4);
* :func:`pagerank` / :func:`run_pagerank` — taxed PageRank, dead ends redistributed or removed,
  weights, personalization, strategy chosen by size (§5.1-5.2);
* :func:`topic_sensitive_pagerank` — many topics in one pass (§5.3);
* :func:`trustrank`, :func:`spam_mass` (§5.4); :func:`hits` / :func:`run_hits` (§5.5).
"""

from __future__ import annotations

from mining.link_analysis.hits import hits, run_hits
from mining.link_analysis.matvec import MatVec, matvec, run_matvec
from mining.link_analysis.pagerank import (
    PageRankResult,
    pagerank,
    run_pagerank,
    topic_sensitive_pagerank,
)
from mining.link_analysis.spam import spam_mass, trustrank

__all__ = [
    "MatVec",
    "PageRankResult",
    "hits",
    "matvec",
    "pagerank",
    "run_hits",
    "run_matvec",
    "run_pagerank",
    "spam_mass",
    "topic_sensitive_pagerank",
    "trustrank",
]

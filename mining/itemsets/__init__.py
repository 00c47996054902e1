"""Frequent itemsets and association rules (MMDS chapter 6), DataFrame in, DataFrame out.

Input: baskets with the :data:`mining.schemas.BASKETS` columns (``basket``, ``items``: distinct
strings; empty baskets count in N), as :func:`mining.io.readers.read_baskets` returns them.

* :func:`run_itemsets` / :func:`frequent_itemsets`: every itemset whose support is at least
  ``min_support`` (a fraction of baskets below 1, or a basket count from 2 up), with the
  :data:`~mining.schemas.ITEMSETS` columns, plus one statistics row per counting pass;
* :func:`association_rules`: rules with multi-item consequents and their confidence, lift,
  interest, leverage and conviction (§6.1.3);
* :func:`maximal_itemsets`, :func:`closed_itemsets` (§6.1).

Algorithms (``algorithm=``): ``"apriori"`` (§6.2: triangular-matrix or triples pair counting,
candidates by join and prune, numpy counting kernels per partition). PCY, multistage,
multihash, SON and Toivonen (§6.3-6.4) are not implemented yet; ``"auto"`` picks A-Priori.
"""

from __future__ import annotations

from pyspark.sql import DataFrame

from mining.errors import InputError
from mining.itemsets.apriori import ItemsetsResult, frequent_itemsets, run_apriori
from mining.itemsets.closed import closed_itemsets, maximal_itemsets
from mining.itemsets.rules import association_rules

__all__ = [
    "ALGORITHMS",
    "ItemsetsResult",
    "association_rules",
    "closed_itemsets",
    "frequent_itemsets",
    "maximal_itemsets",
    "run_apriori",
    "run_itemsets",
]

ALGORITHMS = ("apriori",)


def run_itemsets(
    baskets: DataFrame,
    *,
    min_support: float,
    max_size: int | None = None,
    algorithm: str = "auto",
) -> ItemsetsResult:
    """Frequent itemsets of ``baskets`` by the named algorithm, or the one ``auto`` picks.

    Parameters
    ----------
    baskets
        ``basket``, ``items`` (:data:`mining.schemas.BASKETS`).
    min_support
        A fraction of baskets in (0, 1), or a basket count >= 2 (a threshold below 2 baskets is
        an :class:`~mining.errors.InputError`).
    max_size
        Largest itemset size counted; ``None`` for no limit.
    algorithm
        ``"auto"`` or one of :data:`ALGORITHMS`.

    Returns
    -------
    ItemsetsResult
        ``itemsets``, ``passes``, ``n_baskets``, ``threshold``, ``algorithm`` and ``reason``.
    """
    if algorithm not in ("auto", *ALGORITHMS):
        raise InputError(f"algorithm must be 'auto' or one of {', '.join(ALGORITHMS)}; "
                         f"got {algorithm!r}")
    res = run_apriori(baskets, min_support=min_support, max_size=max_size)
    if algorithm == "auto":
        res.reason = f"auto: A-Priori is the only algorithm implemented yet; {res.reason}"
    return res

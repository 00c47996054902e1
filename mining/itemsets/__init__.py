"""Frequent itemsets and association rules (MMDS chapter 6), DataFrame in, DataFrame out.

Input: baskets with the :data:`mining.schemas.BASKETS` columns (``basket``, ``items``: distinct
strings; empty baskets count in N), as :func:`mining.io.readers.read_baskets` returns them.

* :func:`run_itemsets` / :func:`frequent_itemsets`: every itemset whose support is at least
  ``min_support`` (a fraction of baskets below 1, or a basket count from 2 up), with the
  :data:`~mining.schemas.ITEMSETS` columns, plus one statistics row per counting pass;
* :func:`association_rules`: rules with multi-item consequents and their confidence, lift,
  interest, leverage and conviction (§6.1.3);
* :func:`maximal_itemsets`, :func:`closed_itemsets` (§6.1).

Algorithms (``algorithm=``), all exact (the same itemsets and counts as mlxtend):

* ``"apriori"`` (§6.2): one pass per itemset size; pairs by triangular matrix or triples;
* ``"pcy"``, ``"multistage"``, ``"multihash"`` (§6.3): pass 1 also hashes pairs into buckets,
  whose bitmaps cut the candidate pairs of pass 2;
* ``"son"`` (§6.4.3-6.4.4): every task mines its chunk in memory, one pass counts the union;
* ``"toivonen"`` (§6.4.5-6.4.6): a sample mined in memory, one pass over the whole data set
  for the sample's frequent itemsets and their negative border, repeated on failure.

``"auto"`` is SON: counted, encoded and mined by one task in one Spark job when the input
holds at most :data:`~mining.itemsets.son.ONE_JOB_OCCURRENCES` item occurrences; else in one
task after a Spark pass 1 when the frequent items occur at most
:data:`~mining.itemsets.son.SINGLE_TASK_IDS` times, else over the shuffle partitions. Measured
here it is the fastest on every data set tried, sparse and dense (see
:func:`~mining.itemsets.son.run_son` and the README's benchmark table).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from pyspark.sql import DataFrame

from mining.errors import InputError
from mining.itemsets._result import ItemsetsResult
from mining.itemsets._support import check_max_size, check_min_support
from mining.itemsets.apriori import frequent_itemsets, run_apriori
from mining.itemsets.closed import closed_itemsets, maximal_itemsets
from mining.itemsets.pcy import run_multihash, run_multistage, run_pcy
from mining.itemsets.rules import association_rules, check_rule_options
from mining.itemsets.son import run_son
from mining.itemsets.toivonen import run_toivonen

log = logging.getLogger(__name__)

__all__ = [
    "ALGORITHMS",
    "ItemsetsResult",
    "association_rules",
    "check_options",
    "closed_itemsets",
    "frequent_itemsets",
    "maximal_itemsets",
    "run_apriori",
    "run_itemsets",
    "run_multihash",
    "run_multistage",
    "run_pcy",
    "run_son",
    "run_toivonen",
]

_RUN: dict[str, Callable[..., ItemsetsResult]] = {"apriori": run_apriori, "pcy": run_pcy,
                                                  "multistage": run_multistage,
                                                  "multihash": run_multihash, "son": run_son,
                                                  "toivonen": run_toivonen}
ALGORITHMS = tuple(_RUN)


def check_options(*, min_support: float, max_size: int | None = None, algorithm: str = "auto",
                  min_confidence: float = 0.0, max_consequent_size: int | None = None) -> None:
    """Validate the options of :func:`run_itemsets` and :func:`association_rules` up front.

    A job calls it before reading its input, so a bad flag costs no pass over the data. (A
    support below 2 baskets can only be found once N is known, in pass 1.)

    Raises
    ------
    InputError
        The first invalid option, in one line.
    """
    if algorithm not in ("auto", *ALGORITHMS):
        raise InputError(f"algorithm must be 'auto' or one of {', '.join(ALGORITHMS)}; "
                         f"got {algorithm!r}")
    check_min_support(min_support)
    check_max_size(max_size)
    check_rule_options(n_baskets=1, min_confidence=min_confidence,
                       max_consequent_size=max_consequent_size)


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
    check_options(min_support=min_support, max_size=max_size, algorithm=algorithm)
    res = _RUN["son" if algorithm == "auto" else algorithm](
        baskets, min_support=min_support, max_size=max_size)
    if algorithm == "auto":
        res.reason = f"auto picks SON (fastest measured on sparse and dense sets); {res.reason}"
    log.info("itemsets by %s: %s", res.algorithm, res.reason)
    return res

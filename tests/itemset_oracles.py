"""The oracle side of the frequent-itemset tests: plain-Python parsing and mlxtend's fpgrowth."""

from __future__ import annotations

import gzip
from collections import Counter
from pathlib import Path

import pandas as pd
from mlxtend.frequent_patterns import fpgrowth
from mlxtend.preprocessing import TransactionEncoder

Itemsets = dict[tuple[str, ...], int]

# name -> (bundled | shared, path under that data root, delimiter)
SETS = {
    "groceries": ("bundled", "baskets/groceries.csv", ","),
    "retail": ("shared", "baskets/retail.dat.gz", None),
    "mushroom": ("shared", "baskets/mushroom.dat", None),
    "chess": ("shared", "baskets/chess.dat", None),
    "bms1": ("shared", "baskets/BMS-WebView-1.dat", None),
    "bms2": ("shared", "baskets/BMS-WebView-2.dat.gz", None),
    "t10": ("shared", "baskets/T10I4D100K.dat.gz", None),
    "browsing": ("shared", "baskets/browsing.txt.gz", None),
}


def parse_baskets(path: Path, delimiter: str | None) -> list[list[str]]:
    """Baskets read by plain Python (the oracle's own parse, blank lines are empty baskets)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    return [sorted({f.strip() for f in line.split(delimiter) if f.strip()}) for line in lines]


def mlxtend_itemsets(baskets: list[list[str]], min_support: float,
                     max_size: int | None) -> Itemsets:
    """mlxtend fpgrowth's itemsets with their support counts.

    Items below the threshold are removed first: no itemset holding one can be frequent
    (support is monotone), N stays the number of baskets, and mlxtend's encoder then builds
    70 columns for retail instead of 16,470 (seconds instead of most of a minute).
    A count threshold (>= 1) is turned into mlxtend's fraction ``count / N``.
    """
    n = len(baskets)
    fraction = min_support / n if min_support >= 1 else min_support
    counts = Counter(item for basket in baskets for item in basket)
    keep = {item for item, c in counts.items() if c / n >= fraction}
    baskets = [[item for item in basket if item in keep] for basket in baskets]
    enc = TransactionEncoder()
    frame = pd.DataFrame(enc.fit(baskets).transform(baskets), columns=enc.columns_)
    found = fpgrowth(frame, min_support=fraction, use_colnames=True, max_len=max_size)
    return {tuple(sorted(s)): round(sup * n) for s, sup in
            zip(found["itemsets"], found["support"])}


def as_dict(itemsets) -> Itemsets:
    """``{items: support_count}`` of an ``ITEMSETS`` frame (checking ``size``)."""
    rows = itemsets.collect()
    assert all(r["size"] == len(r["items"]) for r in rows)
    return {tuple(r["items"]): r["support_count"] for r in rows}

"""Frequent-itemset test fixtures: real basket sets and their mlxtend answers, once per session.

``basket_set(name)`` gives ``(cached BASKETS frame, baskets parsed by plain Python)``;
``mlxtend_answer(name, min_support, max_size)`` the oracle's ``{itemset: count}``. Both are
cached for the whole test session, so every algorithm's test compares against the same oracle
run (mlxtend's fpgrowth is seconds per case on retail).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from itemset_oracles import SETS, Itemsets, mlxtend_itemsets, parse_baskets

from mining.io.readers import read_baskets

BasketSet = tuple[object, list[list[str]]]


@pytest.fixture(scope="session")
def basket_set(request: pytest.FixtureRequest, spark,
               bundled_data: Path) -> Iterator[Callable[[str], BasketSet]]:
    """Named basket sets (``SETS``); shared ones skip without ``../shared/data``."""
    cache: dict[str, BasketSet] = {}

    def get(name: str) -> BasketSet:
        if name not in cache:
            root, rel, delimiter = SETS[name]
            # the shared_data fixture skips with its reason when ../shared/data is absent
            base = bundled_data if root == "bundled" else request.getfixturevalue("shared_data")
            path = base / rel
            df = read_baskets(spark, path, layout="lines", delimiter=delimiter).data.cache()
            cache[name] = (df, parse_baskets(path, delimiter))
        return cache[name]

    yield get
    for df, _ in cache.values():
        df.unpersist()  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def mlxtend_answer(basket_set) -> Callable[..., Itemsets]:
    """mlxtend fpgrowth's itemsets and counts for ``(name, min_support, max_size)``."""
    cache: dict[tuple[str, float, int | None], Itemsets] = {}

    def get(name: str, min_support: float, max_size: int | None = None) -> Itemsets:
        key = (name, min_support, max_size)
        if key not in cache:
            cache[key] = mlxtend_itemsets(basket_set(name)[1], min_support, max_size)
        return cache[key]

    return get

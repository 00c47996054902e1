"""Association rules of a small itemset table in numpy (MMDS §6.1.3), the same as the Spark plan.

:func:`~mining.itemsets.rules.association_rules` sends a table of at most ``LOCAL_ITEMSETS``
itemsets (and ``LOCAL_CANDIDATES`` candidate rules) here instead of to its Spark plan
(explode, two joins on array keys): the plan costs ~1 s of analysis and jobs whatever the
size (retail at 0.5%, 580 itemsets: 0.23 s for the checks' job, 0.56 s to build and analyse
the plan, 0.4 s for its job), while the table fits in a few kilobytes. The table is
collected as Arrow, its items encoded as ids in string order, and every split of every
itemset enumerated per (size, bitmask) with its antecedent's and consequent's counts found by
binary search in the sorted rows of their sizes. The metrics are the same float64 operations
as the Spark plan's, in the same order, so the two give the same bits.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql.pandas.types import to_arrow_schema

from mining.itemsets._result import Levels
from mining.schemas import RULES

__all__ = ["LOCAL_CANDIDATES", "LOCAL_ITEMSETS", "encode_table", "local_rules"]

LOCAL_ITEMSETS = 100_000  # itemsets collected to the driver at most
LOCAL_CANDIDATES = 2_000_000  # candidate rules (sum of 2^k - 2) enumerated there at most
_RULES_ARROW = to_arrow_schema(RULES)  # the Arrow twin of the Spark schema


def encode_table(table: pa.Table) -> tuple[pa.Array, Levels]:
    """Items (sorted) and levels ``(sets, counts)`` per size from 1 of an itemset table.

    ``table`` has ``items`` (sorted lists of strings) and ``support_count``; rows of one size
    become one ``f x k`` int32 array of ids into the returned items.
    """
    col = table.column("items").combine_chunks()
    sizes = pc.fill_null(pc.list_value_length(col), 0).to_numpy().astype(np.int64)
    encoded = pc.dictionary_encode(pc.list_flatten(col))
    order = pc.sort_indices(encoded.dictionary).to_numpy()  # ids in string order
    rank = np.empty(len(order), np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    ids = rank[encoded.indices.to_numpy()]
    counts = table.column("support_count").to_numpy().astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    levels: Levels = []
    for k in range(1, int(sizes.max(initial=0)) + 1):
        rows = np.flatnonzero(sizes == k)
        cols = (starts[rows, None] + np.arange(k)).ravel()
        levels.append((ids[cols].reshape(-1, k), counts[rows]))
    return encoded.dictionary.take(pa.array(order)), levels


def local_rules(items: pa.Array, levels: Levels, n_baskets: int, *, min_confidence: float,
                min_lift: float | None, max_consequent_size: int | None) -> pa.Table:
    """Every rule of the itemsets in ``levels`` with its metrics: the columns of ``RULES``.

    A split whose antecedent or consequent is not in the table is dropped (the Spark plan's
    inner joins). Rows: for each size, for each bitmask (bit ``i`` set puts ``items[i]`` in
    the antecedent), the rules of that size's itemsets in table order.
    """
    bits = max(1, len(items).bit_length())
    lookup = [_Lookup(sets, counts, bits) for sets, counts in levels]
    parts: list[dict[str, np.ndarray]] = []
    for k in range(2, len(levels) + 1):
        sets, counts = levels[k - 1]
        if len(sets) == 0:
            continue
        for mask in range(1, 2**k - 1):
            ante = [i for i in range(k) if mask >> i & 1]
            cons = [i for i in range(k) if not mask >> i & 1]
            if max_consequent_size is not None and len(cons) > max_consequent_size:
                continue
            a, c = sets[:, ante], sets[:, cons]
            a_count, a_ok = lookup[len(ante) - 1].counts_of(a)
            c_count, c_ok = lookup[len(cons) - 1].counts_of(c)
            ok = a_ok & c_ok
            parts.append({"a": a[ok], "c": c[ok], "ac": a_count[ok], "cc": c_count[ok],
                          "n": counts[ok]})
    return _table(items, parts, n_baskets, min_confidence, min_lift)


class _Lookup:
    """Counts of the itemsets of one size by binary search in their sorted keys."""

    def __init__(self, sets: np.ndarray, counts: np.ndarray, bits: int) -> None:
        self.bits = bits
        keys = self._keys(sets)
        self.order = np.argsort(keys, kind="stable")
        self.keys, self.counts = keys[self.order], counts[self.order]

    def _keys(self, sets: np.ndarray) -> np.ndarray:
        k = sets.shape[1]
        if k * self.bits <= 63:  # the ids packed into one int64
            shifts = (np.arange(k, dtype=np.int64) * self.bits)[::-1]
            return (sets.astype(np.int64) << shifts).sum(axis=1)
        return np.ascontiguousarray(sets, np.int32).view(np.dtype((np.void, 4 * k))).ravel()

    def counts_of(self, sets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The count of each row of ``sets`` (0 where absent) and whether it is present."""
        keys = self._keys(sets)
        at = np.minimum(np.searchsorted(self.keys, keys), max(len(self.keys) - 1, 0))
        found = (self.keys[at] == keys) if len(self.keys) else np.zeros(len(keys), bool)
        return np.where(found, self.counts[at] if len(self.keys) else 0, 0), found


def _table(items: pa.Array, parts: list[dict[str, np.ndarray]], n_baskets: int,
           min_confidence: float, min_lift: float | None) -> pa.Table:
    def column(key: str, dtype: type) -> np.ndarray:
        return np.concatenate([p[key] for p in parts]).astype(dtype) if parts else \
            np.zeros(0, dtype)

    ac, cc, count = column("ac", np.float64), column("cc", np.float64), column("n", np.int64)
    n = float(n_baskets)
    s_a, s_c, s_ac = ac / n, cc / n, count / n
    with np.errstate(divide="ignore", invalid="ignore"):
        confidence = count / ac
        lift = confidence / s_c
        conviction = np.where(count == ac, np.inf, (1.0 - s_c) / (1.0 - confidence))
    keep = confidence >= float(min_confidence)
    if min_lift is not None:
        keep &= lift >= float(min_lift)
    values = {
        "antecedent": _lists(items, [p["a"] for p in parts], keep),
        "consequent": _lists(items, [p["c"] for p in parts], keep),
        "antecedent_support": s_a[keep], "consequent_support": s_c[keep],
        "support": s_ac[keep], "support_count": count[keep], "confidence": confidence[keep],
        "lift": lift[keep], "interest": (confidence - s_c)[keep],
        "leverage": (s_ac - s_a * s_c)[keep], "conviction": conviction[keep],
    }
    return pa.table({name: pa.array(v) if isinstance(v, np.ndarray) else v
                     for name, v in values.items()}).cast(_RULES_ARROW)


def _lists(items: pa.Array, blocks: list[np.ndarray], keep: np.ndarray) -> pa.Array:
    """The rows of the id blocks (each ``rules x width``) as lists of item strings."""
    widths = np.concatenate([np.full(len(b), b.shape[1], np.int64) for b in blocks]) \
        if blocks else np.zeros(0, np.int64)
    flat = np.concatenate([b.ravel() for b in blocks]) if blocks else np.zeros(0, np.int32)
    starts = np.concatenate([[0], np.cumsum(widths)[:-1]]).astype(np.int64)
    kept = np.flatnonzero(keep)
    sizes = widths[kept]
    take = np.repeat(starts[kept], sizes) + (np.arange(int(sizes.sum())) -
                                             np.repeat(np.cumsum(sizes) - sizes, sizes))
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), items.take(pa.array(flat[take])))

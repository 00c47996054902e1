"""IBM Quest-style synthetic baskets (Agrawal & Srikant, VLDB 1994), deterministic by seed.

The generator behind T10I4D100K: ``L`` "potentially large" patterns of mean size ``I`` over
``n_items`` items, each sharing an exponentially distributed fraction (mean 0.5) of its items
with the previous pattern, with exponential weights and a corruption level ~ N(0.5, 0.1).
A basket has Poisson(``T``) size; it is filled with patterns drawn by weight, each item of a
pattern kept unless a draw falls below the pattern's corruption level, until the size is
reached. Vectorized over a chunk of baskets, so 10M baskets take about a minute; the file is
one basket per line, space-separated integer items (the FIMI ``.dat`` layout of T10I4D100K).
Files are cached under ``$MINING_BENCH_CACHE`` (default ``/tmp/mining-bench-cache``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

CACHE = Path(os.environ.get("MINING_BENCH_CACHE", "/tmp/mining-bench-cache"))
SIZES = {"quest-1m": 1_000_000, "quest-10m": 10_000_000}


def _patterns(rng: np.random.Generator, n_patterns: int, mean_size: float,
              n_items: int) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    sizes = np.maximum(1, rng.poisson(mean_size, n_patterns))
    patterns: list[np.ndarray] = []
    prev = np.empty(0, np.int64)
    for size in sizes:
        shared = min(len(prev), round(min(1.0, rng.exponential(0.5)) * size))
        reused = rng.choice(prev, shared, replace=False) if shared else np.empty(0, np.int64)
        fresh = rng.integers(0, n_items, size - shared)
        prev = np.unique(np.concatenate([reused, fresh]))
        patterns.append(prev)
    weights = rng.exponential(1.0, n_patterns)
    corruption = np.clip(rng.normal(0.5, 0.1, n_patterns), 0.0, 1.0)
    return patterns, weights / weights.sum(), corruption


def _lines(n_baskets: int, avg_size: float, pattern_size: float, n_patterns: int,
           n_items: int, seed: int, chunk: int) -> Iterator[str]:
    rng = np.random.default_rng(seed)
    patterns, weights, corruption = _patterns(rng, n_patterns, pattern_size, n_items)
    lengths = np.array([len(p) for p in patterns])
    flat = np.concatenate(patterns)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    per_basket = max(1, int(np.ceil(avg_size / max(lengths.mean() * 0.5, 1.0)))) * 2
    for lo in range(0, n_baskets, chunk):
        n = min(chunk, n_baskets - lo)
        target = np.maximum(1, rng.poisson(avg_size, n))
        # per_basket pattern draws per basket; items kept past the corruption draw, then
        # the basket is cut at its target size (the original fills pattern by pattern)
        chosen = rng.choice(n_patterns, (n, per_basket), p=weights)
        reps = lengths[chosen].ravel()
        basket = np.repeat(np.repeat(np.arange(n), per_basket), reps)
        pat = np.repeat(chosen.ravel(), reps)
        offset = np.arange(len(pat)) - np.repeat(np.cumsum(reps) - reps, reps)
        item = flat[starts[pat] + offset]
        keep = rng.random(len(pat)) >= corruption[pat]
        basket, item = basket[keep], item[keep]
        rank = np.arange(len(basket)) - np.searchsorted(basket, basket)
        basket, item = basket[rank < target[basket]], item[rank < target[basket]]
        keys = np.unique(basket * n_items + item)
        basket, item = keys // n_items, keys % n_items
        text = np.char.mod("%d", item)
        bounds = np.searchsorted(basket, np.arange(n + 1))
        yield "\n".join(" ".join(text[bounds[b]:bounds[b + 1]]) for b in range(n)) + "\n"


def quest_file(n_baskets: int, *, seed: int = 7) -> Path:
    """A T10I4-style basket file of ``n_baskets`` lines, generated once and cached."""
    path = CACHE / f"quest-T10I4-n{n_baskets}-seed{seed}.dat"
    if path.is_file():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="ascii") as fh:
        for block in _lines(n_baskets, 10.0, 4.0, 2000, 1000, seed, 200_000):
            fh.write(block)
    tmp.replace(path)
    return path

"""numpy helpers shared by the kernels of every package."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

__all__ = ["ranges", "run_pairs", "unique"]

_MAX_BLOCK = 4_000_000  # pair positions generated at once (32 MB of int64)


def unique(values: np.ndarray) -> np.ndarray:
    """The sorted distinct values of ``values`` (flattened), as ``np.unique(values)``.

    By sorting: numpy 2.4's ``np.unique`` without ``return_*`` flags takes a hash-table path
    that measured here 0.8-1.0 s on 900k int64 keys, against 0.014-0.016 s for a sort and a
    neighbour comparison (sorted or random keys alike).
    """
    flat = np.sort(np.asarray(values).ravel())
    if flat.size == 0:
        return flat
    keep = np.empty(flat.size, bool)
    keep[0] = True
    np.not_equal(flat[1:], flat[:-1], out=keep[1:])
    return flat[keep]


def run_pairs(sizes: np.ndarray, starts: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Positions ``(p, q)``, ``p < q``, of every pair inside each run of a flat array.

    Run ``i`` is the ``sizes[i]`` positions from ``starts[i]`` (a basket's items, a bucket's
    documents). Runs of one size form a matrix (runs x size) and ``np.triu_indices(size, 1)``
    picks all its pairs at once, so the Python loop runs over distinct sizes, not runs; in
    blocks of at most ``_MAX_BLOCK`` pairs.
    """
    sizes = np.asarray(sizes)
    starts = np.asarray(starts, np.int64)
    for size in unique(sizes).tolist():
        if size < 2:
            continue
        first = starts[sizes == size]
        p, q = np.triu_indices(int(size), 1)
        step = max(1, _MAX_BLOCK // len(p))
        for lo in range(0, len(first), step):
            block = first[lo:lo + step, None]
            yield (block + p).ravel(), (block + q).ravel()


def ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The concatenated positions ``starts[i] .. starts[i] + lengths[i] - 1`` (int64)."""
    starts, lengths = np.asarray(starts, np.int64), np.asarray(lengths, np.int64)
    total = int(lengths.sum())
    begin = np.cumsum(lengths) - lengths
    return np.repeat(starts - begin, lengths) + np.arange(total, dtype=np.int64)

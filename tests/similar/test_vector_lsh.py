"""Cosine and Euclidean LSH against brute force on letter-recognition (20,000 x 16)."""

from __future__ import annotations

import numpy as np
import pytest

from mining.io.readers import read_labeled
from mining.similar import find_similar_vectors


@pytest.fixture(scope="module")
def letters(spark, shared_data):
    """The first 6,000 vectors (cached) and, for the brute force, their dense matrix."""
    res = read_labeled(spark, shared_data / "classification" / "letter-recognition.data",
                       format="csv", header=True, string_labels=True, label_column=0)
    points = res.data.where("row <= 6001").cache()  # line 1 is the header
    local = points.select("row", "indices", "values").orderBy("row").collect()
    x = np.zeros((len(local), 16))
    for i, r in enumerate(local):
        x[i, r.indices] = r.values
    yield points, np.array([r.row for r in local]), x
    points.unpersist()


def _brute(ids: np.ndarray, x: np.ndarray, metric: str, threshold: float) -> dict:
    """Every pair within the threshold (angle in degrees or L2), by blocks of 1,000 rows."""
    out = {}
    norms = np.linalg.norm(x, axis=1)
    for lo in range(0, len(x), 1000):
        block = x[lo:lo + 1000]
        if metric == "cosine":
            cos = (block @ x.T) / np.outer(norms[lo:lo + 1000], norms)
            dist = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
        else:
            sq = (block**2).sum(1)[:, None] + (x**2).sum(1)[None, :] - 2 * block @ x.T
            dist = np.sqrt(np.maximum(sq, 0.0))
        i, j = np.nonzero(dist <= threshold + 1e-5)
        for a, b in zip(i + lo, j):
            if a < b:
                out[(int(ids[a]), int(ids[b]))] = float(dist[a - lo, b])
    return out


@pytest.mark.shared_data
@pytest.mark.parametrize(("metric", "threshold", "n"), [("cosine", 5.0, 1000),
                                                        ("euclidean", 2.0, 6000)])
def test_recall_and_exact_distances_against_brute_force(letters, metric, threshold, n):
    # cosine at 5 degrees: bands that catch a pair at 5 degrees with probability 0.995 also
    # pass many pairs at 10-20 degrees on these small integer vectors; fewer rows keep it short
    points, ids, x = letters
    points, ids, x = points.where(f"row <= {n + 1}"), ids[:n], x[:n]
    truth = _brute(ids, x, metric, threshold)
    res = find_similar_vectors(points, metric=metric, threshold=threshold, dim=16)
    try:
        got = {(r.id_a, r.id_b): r.distance for r in res.pairs.collect()}
    finally:
        res.unpersist()
    assert len(truth) > 100
    assert set(got) <= set(truth)
    assert len(got) >= 0.99 * len(truth), (len(got), len(truth), res.choice)
    # the library's exact distance against numpy's (angles near 0 lose digits in arccos)
    tol = 1e-5 if metric == "cosine" else 1e-9
    assert all(abs(got[p] - truth[p]) <= tol for p in got)

"""The shared numpy helpers against numpy's own answers."""

from __future__ import annotations

import numpy as np
import pytest

from mining._arrays import unique


@pytest.mark.parametrize("values", [
    np.array([], np.int64), np.array([5]), np.array([3, 1, 3, 2, 1, 3]),
    np.random.default_rng(0).integers(0, 50, (40, 3)),
    np.random.default_rng(1).integers(-2**62, 2**62, 10_000),
])
def test_unique_is_numpys(values):
    got = unique(values)
    want = np.unique(values)
    assert got.dtype == want.dtype and np.array_equal(got, want)

"""numpy helpers shared by the kernels of every package."""

from __future__ import annotations

import numpy as np

__all__ = ["unique"]


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

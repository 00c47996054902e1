"""R-MAT power-law graph generator (Chakrabarti, Zhan, Faloutsos 2004), deterministic by seed.

Each edge picks one of the four quadrants of the adjacency matrix ``scale`` times with
probabilities (a, b, c, d), giving the skewed degrees of web and social graphs. Duplicate edges
are removed; self-loops are kept. Files are cached under ``$MINING_BENCH_CACHE``
(default ``/tmp/mining-bench-cache``), never beside the shared data.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

CACHE = Path(os.environ.get("MINING_BENCH_CACHE", "/tmp/mining-bench-cache"))


def rmat_edges(scale: int, edges: int, *, a: float = 0.57, b: float = 0.19, c: float = 0.19,
               seed: int = 42, chunk: int = 4_000_000) -> np.ndarray:
    """``(m, 2)`` int64 array of distinct R-MAT edges over ``2**scale`` node ids (m <= edges)."""
    rng = np.random.default_rng(seed)
    parts = []
    for lo in range(0, edges, chunk):
        k = min(chunk, edges - lo)
        src = np.zeros(k, dtype=np.int64)
        dst = np.zeros(k, dtype=np.int64)
        for level in range(scale):
            r = rng.random(k)
            down = r >= a + b          # quadrants c or d: source bit set
            right = ((r >= a) & (r < a + b)) | (r >= a + b + c)  # quadrants b or d: target bit
            bit = np.int64(1) << (scale - 1 - level)
            src |= np.where(down, bit, 0)
            dst |= np.where(right, bit, 0)
        parts.append(src << 32 | dst)
    keys = np.unique(np.concatenate(parts))
    return np.column_stack([keys >> 32, keys & 0xFFFFFFFF])


def rmat_file(scale: int, edges: int, *, seed: int = 42) -> Path:
    """An edge-list text file (``src dst`` per line) for the graph, generated once and cached."""
    path = CACHE / f"rmat-s{scale}-m{edges}-seed{seed}.txt"
    if path.is_file():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    e = rmat_edges(scale, edges, seed=seed)
    tmp = path.with_suffix(".tmp")
    table = pa.table({"src": e[:, 0], "dst": e[:, 1]})
    pacsv.write_csv(table, tmp, pacsv.WriteOptions(include_header=False, delimiter=" "))
    os.replace(tmp, path)
    return path


# Name -> (scale, edges drawn). Edge factor 16 as in Graph500; dedup leaves slightly fewer.
SIZES = {"rmat-1m": (16, 1_050_000), "rmat-4m": (18, 4_200_000), "rmat-16m": (20, 16_800_000)}

"""Test helpers: parse edge lists independently of mining's readers, build oracles."""

from __future__ import annotations

import gzip
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd


def parse_edges(path: Path) -> np.ndarray:
    """(m, 2) int64 array of a SNAP-style or `start end`-header edge list (comments skipped)."""
    opener = gzip.open if path.suffix == ".gz" else open
    rows = []
    with opener(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            parts = line.replace(",", " ").split()
            if not parts or line.startswith("#") or not parts[0].lstrip("-").isdigit():
                continue
            rows.append((int(parts[0]), int(parts[1])))
    return np.array(rows, dtype=np.int64)


def to_networkx(edges: np.ndarray, weights: np.ndarray | None = None) -> nx.DiGraph:
    g = nx.DiGraph()
    if weights is None:
        g.add_edges_from(map(tuple, edges.tolist()))
    else:
        g.add_weighted_edges_from((int(a), int(b), float(w)) for (a, b), w in zip(edges, weights))
    return g


def edge_frame(spark, edges: np.ndarray, weights: np.ndarray | None = None):  # type: ignore[no-untyped-def]
    pdf = pd.DataFrame({"src": edges[:, 0], "dst": edges[:, 1],
                        "weight": np.ones(len(edges)) if weights is None else weights})
    return spark.createDataFrame(pdf, "src long, dst long, weight double")


def as_vector(pdf: pd.DataFrame, column: str, order: list[int]) -> np.ndarray:
    s = pdf.set_index("node")[column]
    return s.reindex(order).to_numpy()

"""Training rows as numpy blocks, and the seeded hashes that pick mini-batches (§12.4).

A task turns the Arrow batches of ``LABELED_POINTS`` rows it holds into one :class:`Block`:
a sparse CSR matrix (LIBSVM input stays sparse), or a dense array when at least
:data:`DENSE_FRACTION` of its entries are set (a dense BLAS product is then faster and not much
bigger). Which mini-batch, and which split (train or validation), a row belongs to is a hash of
its ``row`` id and the seed, never of its position: the same rows form the same batches in one
task or spread over any number of partitions, which is what makes synchronous training
independent of the partitioning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import scipy.sparse as sp

from mining._arrow import list_values

__all__ = ["DENSE_FRACTION", "Block", "batch_of", "block_from_batches", "in_validation",
           "row_hash"]

DENSE_FRACTION = 0.1
_VALIDATION_SALT = 0x5EED_0F_5A11D
_BATCH_SALT = 0xBA7C4


@dataclass
class Block:
    """Rows of one task: features ``X`` (n x d, CSR or dense), ``y`` and the ``rows`` ids."""

    X: np.ndarray | sp.csr_matrix
    y: np.ndarray
    rows: np.ndarray

    @property
    def n(self) -> int:
        """Number of rows."""
        return len(self.y)

    def take(self, mask: np.ndarray) -> Block:
        """The rows where ``mask`` is true (a copy)."""
        return Block(self.X[mask], self.y[mask], self.rows[mask])

    def with_class_ids(self, classes: np.ndarray) -> Block:
        """The block with each label replaced by its position in the sorted ``classes``
        (itself for a regression, which has no classes)."""
        if not len(classes):
            return self
        return Block(self.X, np.searchsorted(classes, self.y).astype(np.float64), self.rows)


def block_from_batches(batches: Sequence[pa.RecordBatch], n_features: int | None,
                       dense: bool | None = None) -> Block:
    """One :class:`Block` from ``LABELED_POINTS`` Arrow batches (``row``, ``label``, ``indices``,
    ``values``).

    ``n_features=None``: one more than the largest index; a model's own ``n_features`` drops
    larger indices (features never seen in training have no weight). ``dense=None`` picks
    dense storage from :data:`DENSE_FRACTION`.
    """
    parts = [b for b in batches if b.num_rows]
    if not parts:
        return Block(np.zeros((0, n_features or 0)), np.zeros(0), np.zeros(0, np.int64))
    table = pa.Table.from_batches(parts)
    rows = table.column("row").to_numpy().astype(np.int64)
    y = table.column("label").to_numpy().astype(np.float64)
    offsets, cols = list_values(table.column("indices"))
    _, vals = list_values(table.column("values"))
    if n_features is None:
        n_features = int(cols.max()) + 1 if len(cols) else 0
    elif len(cols) and int(cols.max()) >= n_features:
        keep = cols < n_features
        row_of = np.repeat(np.arange(len(rows)), np.diff(offsets))
        offsets = np.concatenate([[0], np.cumsum(np.bincount(row_of[keep], minlength=len(rows)))])
        cols, vals = cols[keep], vals[keep]
    X = sp.csr_matrix((vals.astype(np.float64, copy=False), cols.astype(np.int32, copy=False),
                       offsets), shape=(len(rows), n_features))
    if dense is None:
        dense = len(vals) >= DENSE_FRACTION * len(rows) * max(n_features, 1)
    return Block(X.toarray() if dense else X, y, rows)


def row_hash(rows: np.ndarray, seed: int, salt: int) -> np.ndarray:
    """A 64-bit hash of each row id with the seed (splitmix64's finalizer), as uint64."""
    with np.errstate(over="ignore"):
        z = np.asarray(rows).astype(np.uint64) ^ np.uint64((seed * 0x9E3779B97F4A7C15 + salt)
                                                           & 0xFFFFFFFFFFFFFFFF)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def in_validation(rows: np.ndarray, seed: int, fraction: float) -> np.ndarray:
    """Whether each row is held out for validation: a seeded coin with P(heads) = fraction."""
    if fraction <= 0:
        return np.zeros(len(rows), bool)
    unit = (row_hash(rows, seed, _VALIDATION_SALT) >> np.uint64(11)).astype(np.float64) / 2.0**53
    return unit < fraction


def batch_of(rows: np.ndarray, seed: int, n_batches: int) -> np.ndarray:
    """The mini-batch (0..n_batches-1) of each row; batches keep their rows every epoch."""
    if n_batches <= 1:
        return np.zeros(len(rows), np.int64)
    return (row_hash(rows, seed, _BATCH_SALT) % np.uint64(n_batches)).astype(np.int64)

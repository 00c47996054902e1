"""Candidate pairs of one task, verified there: banding, exact Jaccard, estimates (§3.4).

:func:`local_candidates` takes the sketches of a whole (small) corpus, or of all documents of
some buckets, as numpy arrays: it forms the band table, expands buckets into candidate pairs
(:func:`~mining.similar._banding.candidate_pairs`, oversized buckets reported) and verifies
every pair exactly with :func:`jaccard_pairs`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from mining._arrays import ranges, unique
from mining.similar._banding import BandTable, Candidates, candidate_pairs

__all__ = ["Verified", "jaccard_pairs", "local_candidates"]


@dataclass(frozen=True)
class Verified:
    """Candidate pairs (positions ``first < second``) with band hits and both similarities."""

    candidates: Candidates
    jaccard: np.ndarray  # float64, exact
    estimated: np.ndarray  # float64, agreeing fraction of the signatures


def jaccard_pairs(offsets: np.ndarray, keys: np.ndarray, first: np.ndarray,
                  second: np.ndarray) -> np.ndarray:
    """Exact Jaccard similarity of documents ``first[p]`` and ``second[p]`` for every ``p``.

    ``keys[offsets[d]:offsets[d + 1]]`` are document ``d``'s shingle keys, sorted and
    distinct, none empty. The keys are ranked (one sort), so that ``(document << 32) | rank``
    is one sorted uint64 array; the shingles of ``first[p]`` are then looked up in
    ``second[p]``'s run by one ``searchsorted``: work proportional to the shingles of the
    first documents, whatever the number of pairs.
    """
    first, second = np.asarray(first, np.int64), np.asarray(second, np.int64)
    if len(first) == 0:
        return np.zeros(0, np.float64)
    sizes = np.diff(offsets)
    docs = unique(np.concatenate([first, second]))  # only the documents of some pair
    ranks = np.unique(keys[ranges(offsets[docs], sizes[docs])],
                      return_inverse=True)[1].astype(np.uint64)
    local = np.repeat(np.arange(len(docs), dtype=np.uint64), sizes[docs])
    table = (local << np.uint64(32)) | ranks  # sorted: documents ascend, ranks within them
    starts = np.concatenate([[0], np.cumsum(sizes[docs])])
    a, b = np.searchsorted(docs, first), np.searchsorted(docs, second)
    count = sizes[first]
    owner = np.repeat(np.arange(len(first)), count)
    at = ranges(starts[a], count)
    probe = (b[owner].astype(np.uint64) << np.uint64(32)) | (table[at] & np.uint64(0xFFFFFFFF))
    where = np.minimum(np.searchsorted(table, probe), len(table) - 1)
    common = np.bincount(owner, weights=table[where] == probe, minlength=len(first))
    return common / (sizes[first] + sizes[second] - common)


def local_candidates(signatures: np.ndarray, empty: np.ndarray, band_keys: np.ndarray,
                     offsets: np.ndarray, keys: np.ndarray, *, max_bucket: int,
                     rank: np.ndarray | None = None) -> Verified:
    """Candidates of documents ``0..n-1`` by their band keys, verified exactly.

    Parameters
    ----------
    signatures
        ``(n, num_perm)`` uint32 MinHash values.
    empty
        ``(n,)`` bool: documents without shingles (never candidates).
    band_keys
        ``(non-empty documents, bands)`` uint64 bucket keys, in document order.
    offsets, keys
        CSR shingle keys (sorted, distinct per document).
    max_bucket
        Larger buckets are reported, not expanded.
    rank
        Each document's rank in the order that pairs follow (``first`` before ``second``:
        the order of the documents' ids, say); default: positions. The returned pairs are
        positions, ordered by rank.
    """
    full = np.flatnonzero(~np.asarray(empty, bool))
    order = np.arange(len(empty), dtype=np.int64) if rank is None else np.asarray(rank, np.int64)
    bands = band_keys.shape[1] if band_keys.ndim == 2 else 0
    table = BandTable(np.repeat(order[full], bands),
                      np.tile(np.arange(bands, dtype=np.int32), len(full)),
                      band_keys.ravel())
    cands = candidate_pairs(table, max_bucket=max_bucket)
    if rank is not None:  # back from ranks to positions
        position = np.empty(len(order), np.int64)
        position[order] = np.arange(len(order))
        cands = replace(cands, first=position[cands.first], second=position[cands.second])
    jac = jaccard_pairs(offsets, keys, cands.first, cands.second)
    estimated = (signatures[cands.first] == signatures[cands.second]).mean(axis=1) \
        if len(cands.first) else np.zeros(0, np.float64)
    return Verified(cands, jac, estimated)

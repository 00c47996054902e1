"""LSH banding of MinHash signatures (MMDS §3.4.1): band bucket keys and candidate pairs.

The signature matrix is cut into ``b`` bands of ``r`` rows (the first ``b r`` hash functions);
documents whose signatures agree on all ``r`` rows of some band are a candidate pair (AND
within a band, OR across bands). A band's ``r`` uint32 values become one 64-bit bucket key,
FNV-1a 64 over their ``4 r`` little-endian bytes (offset basis 0xcbf29ce484222325, prime
0x100000001b3): a published, stable hash; two different bands share a key by accident with
probability about 2^-64, which at worst adds a candidate that verification removes.

:func:`candidate_pairs` works on one task's ``(doc, band, key)`` rows (all rows of a bucket
must be in the same task, e.g. after a shuffle by ``(band, key)``): it sorts by
``(band, key)``, expands every bucket of at most ``max_bucket`` documents into its pairs and
reports the larger buckets instead of expanding them (a bucket of ``m`` documents has
``m (m - 1) / 2`` pairs: 50k documents sharing a boilerplate band would be 1.25e9).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mining._arrays import run_pairs

__all__ = ["MAX_BUCKET", "BandTable", "Candidates", "band_keys", "band_table",
           "candidate_pairs", "fnv1a_64"]

MAX_BUCKET = 1000  # documents in a bucket expanded into pairs (~500k pairs); larger: reported
_FNV_BASIS, _FNV_PRIME = np.uint64(0xCBF29CE484222325), np.uint64(0x100000001B3)


@dataclass(frozen=True)
class BandTable:
    """One row per (document, band): the document, the band (0-based) and its bucket key."""

    doc: np.ndarray  # int64
    band: np.ndarray  # int32
    key: np.ndarray  # uint64


@dataclass(frozen=True)
class Candidates:
    """Candidate pairs ``first < second`` (sorted), the bands they share, oversized buckets."""

    first: np.ndarray  # int64
    second: np.ndarray  # int64
    band_hits: np.ndarray  # int32: bands in which the pair shares a bucket (>= 1)
    oversized_band: np.ndarray  # int32: band of each bucket not expanded
    oversized_key: np.ndarray  # uint64: its key
    oversized_size: np.ndarray  # int64: its documents (> max_bucket)


def fnv1a_64(data: np.ndarray) -> np.ndarray:
    """FNV-1a 64 of each row of a ``(n, width)`` uint8 matrix (one hash per row)."""
    data = np.asarray(data, np.uint8)
    h = np.full(data.shape[:-1], _FNV_BASIS, np.uint64)
    for column in range(data.shape[-1]):
        h ^= data[..., column]
        h *= _FNV_PRIME
    return h


def band_keys(values: np.ndarray, *, bands: int, rows: int) -> np.ndarray:
    """``(documents, bands)`` uint64 bucket keys of a uint32 signature matrix."""
    values = np.asarray(values)
    if values.ndim != 2 or values.dtype != np.uint32:
        raise ValueError("signatures must be a (documents, hash functions) uint32 matrix")
    if bands < 1 or rows < 1 or bands * rows > values.shape[1]:
        raise ValueError(f"{bands} bands of {rows} rows need {bands * rows} hash functions, "
                         f"the signatures have {values.shape[1]}")
    block = np.ascontiguousarray(values[:, :bands * rows], "<u4")
    return fnv1a_64(block.view(np.uint8).reshape(len(values), bands, 4 * rows))


def band_table(values: np.ndarray, empty: np.ndarray, *, bands: int, rows: int,
               docs: np.ndarray | None = None) -> BandTable:
    """The ``(doc, band, key)`` rows of a batch of signatures, empty documents left out.

    ``docs``: the documents' ids (int64; default their positions). An empty document's
    signature is all sentinels: banded, all empty documents would share every bucket.
    """
    keys = band_keys(values, bands=bands, rows=rows)
    ids = np.arange(len(values), dtype=np.int64) if docs is None else np.asarray(docs, np.int64)
    if len(ids) != len(values) or len(empty) != len(values):
        raise ValueError("docs and empty must have one entry per signature")
    keep = ~np.asarray(empty, bool)
    return BandTable(np.repeat(ids[keep], bands),
                     np.tile(np.arange(bands, dtype=np.int32), int(keep.sum())),
                     keys[keep].ravel())


def _count_pairs(first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, ...]:
    """Distinct ``(first, second)`` pairs, sorted, and how often each occurs."""
    if len(first) == 0:
        return first, second, np.zeros(0, np.int32)
    if max(int(first.max()), int(second.max())) < 2**32:
        keys = np.sort((first.astype(np.uint64) << np.uint64(32)) | second.astype(np.uint64))
        new = np.concatenate([[True], keys[1:] != keys[:-1]])
        at = np.flatnonzero(new)
        return ((keys[at] >> np.uint64(32)).astype(np.int64),
                (keys[at] & np.uint64(0xFFFFFFFF)).astype(np.int64),
                np.diff(np.append(at, len(keys))).astype(np.int32))
    order = np.lexsort((second, first))  # ids of 2^32 and more: two sort keys
    first, second = first[order], second[order]
    new = np.concatenate([[True], (first[1:] != first[:-1]) | (second[1:] != second[:-1])])
    at = np.flatnonzero(new)
    return first[at], second[at], np.diff(np.append(at, len(first))).astype(np.int32)


def candidate_pairs(table: BandTable, *, max_bucket: int = MAX_BUCKET) -> Candidates:
    """The candidate pairs of the given band rows, each once, with its band hits.

    Parameters
    ----------
    table
        ``(doc, band, key)`` rows (:func:`band_table`), each document at most once per band;
        document ids non-negative.
    max_bucket
        Buckets of more documents are not expanded but reported in ``oversized_*``; their
        documents still pair through the other bands they share.

    Returns
    -------
    Candidates
        Pairs ``first < second`` in lexicographic order, the number of bands in which they
        share a bucket, and the oversized buckets (by band, key).

    Notes
    -----
    One sort of the rows by ``(band, key, doc)``; the pairs of all buckets of one size are
    generated at once, in blocks (:func:`~mining._arrays.run_pairs`); one sort of the pairs
    counts the band hits. Memory: 16 bytes per pair occurrence (at most ``max_bucket^2 / 2``
    per bucket).
    """
    if max_bucket < 2:
        raise ValueError(f"max_bucket must be at least 2, got {max_bucket}")
    doc, band, key = np.asarray(table.doc), np.asarray(table.band), np.asarray(table.key)
    order = np.lexsort((doc, key, band))
    doc, band, key = doc[order].astype(np.int64), band[order], key[order]
    if len(doc) and doc.min() < 0:
        raise ValueError("document ids must be non-negative")
    new = np.ones(len(doc), bool)
    new[1:] = (band[1:] != band[:-1]) | (key[1:] != key[:-1])
    if (~new[1:] & (doc[1:] == doc[:-1])).any():
        raise ValueError("a document appears twice in one band")
    starts = np.flatnonzero(new)
    sizes = np.diff(np.append(starts, len(doc)))
    big = sizes > max_bucket
    expand = (sizes >= 2) & ~big
    firsts, seconds = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for p, q in run_pairs(sizes[expand], starts[expand]):
        firsts.append(doc[p])  # docs ascend within a bucket: first < second
        seconds.append(doc[q])
    first, second, hits = _count_pairs(np.concatenate(firsts), np.concatenate(seconds))
    return Candidates(first, second, hits, band[starts[big]].astype(np.int32),
                      key[starts[big]].astype(np.uint64), sizes[big].astype(np.int64))

"""Shingle, MinHash and band every document where it is read: one ``mapInArrow`` pass.

Each Arrow batch of ``(doc_id, text)`` rows goes through the numpy kernels in one call:
:meth:`Shingling.hash_batch` (64-bit keys, kept for the exact Jaccard of verification),
:func:`minhash` over their high halves (the 32-bit shingle hashes) and :func:`band_keys`.
Nothing depends on the batch, so sketches are the same for any partitioning (§3.3.5's
signature matrix, one document at a time).

The sketch of a document is internal (``SKETCHES``): its signature, its ``bands`` bucket keys
(empty for an empty document, which is never banded: all empty documents would share every
bucket) and its sorted ``shingles``. The published ``signatures`` table is a projection.
Signatures and shingles are packed little-endian into binary values (uint32, uint64): Spark
caches, shuffles and hands a binary value to Python as one copy, where an array of 2.5 M
longs (Reuters' shingles) cost about 0.7 s more to cache and move to one task here.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
from pyspark.sql import DataFrame
from pyspark.sql.pandas.types import to_arrow_schema

from mining import schemas
from mining._arrow import binary_array, lists_array
from mining.similar._banding import band_keys
from mining.similar._hashing import Shingling
from mining.similar._minhash import minhash

__all__ = ["SKETCHES", "sketch"]

SKETCHES = schemas.SIMILAR_INDEX  # what query mode stores
_ARROW = to_arrow_schema(SKETCHES)


def _lists(values: np.ndarray, offsets: np.ndarray, field: str) -> pa.Array:
    return lists_array(values, offsets, _ARROW.field(field).type)


def _sketch_batch(batch: pa.RecordBatch, shingling: Shingling, num_perm: int, seed: int,
                  bands: int, rows: int) -> pa.RecordBatch:
    texts = batch.column("text").to_pylist()
    offsets, keys = shingling.hash_batch(texts, wide=True)
    sig = minhash(offsets, (keys >> np.uint64(32)).astype(np.uint32), num_perm=num_perm,
                  seed=seed)
    n = len(texts)
    counts = np.diff(offsets)
    keep = ~sig.empty
    band = band_keys(sig.values[keep], bands=bands, rows=rows) if keep.any() else \
        np.zeros((0, bands), np.uint64)
    band_offsets = np.concatenate([[0], np.cumsum(np.where(keep, bands, 0))])
    arrays = [
        batch.column("doc_id"),
        pa.array(counts.astype(np.int32)),
        pa.array(sig.empty),
        binary_array(sig.values.astype("<u4").ravel(), np.arange(n + 1) * num_perm),
        _lists(band.ravel().view(np.int64), band_offsets, "bands"),
        binary_array(keys.astype("<u8"), offsets),
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=_ARROW)


def sketch(documents: DataFrame, *, shingling: Shingling, num_perm: int, seed: int,
           bands: int, rows: int) -> DataFrame:
    """``SKETCHES`` rows of ``documents`` (``doc_id``, ``text``): one pass, no shuffle.

    Cost (one core, Reuters-21578 bodies, 2.5 M word 5-shingles): shingling with 64-bit keys
    0.96 s, MinHash 128 functions about 0.5 s; the Arrow lists add little, as every column
    is built from whole numpy arrays.
    """
    if bands * rows > num_perm:
        raise ValueError(f"{bands} bands of {rows} rows need {bands * rows} hash functions, "
                         f"num_perm is {num_perm}")

    def kernel(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            if batch.num_rows:
                yield _sketch_batch(batch, shingling, num_perm, seed, bands, rows)

    return documents.select("doc_id", "text").mapInArrow(kernel, SKETCHES)

"""Similar items (MMDS chapter 3): in progress (issue #9).

Today: the numpy kernels, pure functions over arrays with no Spark in them, on which the
DataFrame pipeline (shingling and MinHash in ``mapInArrow``, banding, verification, duplicate
clusters, cosine and Euclidean LSH, query mode) will be built.

* :class:`Shingling` (§3.2): character, word and stop-word shingles of normalized text,
  MurmurHash3_x86_32 to uint32, as CSR arrays (``offsets``, ``hashes``);
* :func:`minhash` (§3.3): exact ``(a x + b) mod (2^61 - 1)`` signatures from a seed, the same
  for any batching; empty documents flagged; :func:`estimate_jaccard`;
* :func:`band_table`, :func:`candidate_pairs` (§3.4.1): FNV-1a 64 band keys and the candidate
  pairs of one task with their band hits, oversized buckets reported, not expanded;
* :func:`choose_bands` (§3.4.3): ``(b, r)`` from a threshold and false-positive/negative
  weights by exact integration of the S-curve; :func:`s_curve_table`.

Measured (CPU seconds on one core of a 2-core machine shared with another benchmark; 20,000
synthetic ASCII texts of 1 KB, 19.4 M characters): shingling 0.55 s for word 5-shingles (3.5 M
distinct), 0.9 s for stop-word 3-shingles (1.5 M), 1.1 s for character 5-shingles (17 M; 1.7 s
with accented letters); MinHash with 128 functions ~4.8 ns per shingle and function: 2.2 s
for the word 5-shingles, 1.0 s for the stop-word ones, 10.4 s for the character 5-shingles;
band keys and candidate pairs (16 x 8) 0.08 s.
"""

from __future__ import annotations

from mining.similar._banding import (
    MAX_BUCKET,
    BandTable,
    Candidates,
    band_keys,
    band_table,
    candidate_pairs,
)
from mining.similar._hashing import STOP_WORDS, ShingleKind, Shingling, murmur3_32
from mining.similar._minhash import EMPTY, Signatures, estimate_jaccard, minhash
from mining.similar._scurve import (
    BandChoice,
    approximate_threshold,
    candidate_probability,
    choose_bands,
    error_areas,
    s_curve_table,
)

__all__ = [
    "EMPTY",
    "MAX_BUCKET",
    "STOP_WORDS",
    "BandChoice",
    "BandTable",
    "Candidates",
    "ShingleKind",
    "Shingling",
    "Signatures",
    "approximate_threshold",
    "band_keys",
    "band_table",
    "candidate_pairs",
    "candidate_probability",
    "choose_bands",
    "error_areas",
    "estimate_jaccard",
    "minhash",
    "murmur3_32",
    "s_curve_table",
]

"""Near-duplicate documents by MinHash and LSH banding, verified exactly (MMDS §3.3-3.4).

The pipeline, all DataFrame operations over one cached sketch table:

1. :func:`~mining.similar._sketch.sketch`: shingles, signature and band keys of every
   document, in the task that reads it (``mapInArrow``, no shuffle).
2. Banding (§3.4.1): buckets of ``2..max_bucket`` documents become candidate pairs with their
   band hits, larger ones are reported in ``oversized`` instead of expanded (a bucket of ``m``
   documents is ``m (m - 1) / 2`` pairs): in one numpy task for a small input
   (:mod:`~mining.similar._onetask`), else per ``(band, bucket)`` partition
   (:mod:`~mining.similar._distributed`).
3. Verification (§3.4.3): ``jaccard`` is the exact similarity of the two 64-bit shingle sets,
   ``estimated_jaccard`` the agreeing fraction of the signatures; the candidates at or above
   the threshold are ``pairs``.

``(bands, rows)`` default to :func:`~mining.similar._scurve.choose_bands` of the threshold with
false-negative weight 0.99: recall matters more than candidates here, as verification removes
every false positive (precision is 1.0 by construction).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from mining import schemas
from mining._frames import conform
from mining.errors import InputError
from mining.io.readers import input_bytes
from mining.similar._banding import MAX_BUCKET
from mining.similar._distributed import banded_pairs, verify_pairs
from mining.similar._hashing import Shingling
from mining.similar._onetask import one_task_candidates
from mining.similar._scurve import BandChoice, choose_bands, error_areas
from mining.similar._sketch import sketch

__all__ = ["DEFAULT_SHINGLING", "ONE_TASK_BYTES", "SimilarResult", "Strategy", "band_choice",
           "check_options", "find_similar"]

DEFAULT_SHINGLING = Shingling(k=5, kind="word")
Strategy = Literal["auto", "one_task", "distributed"]
# Inputs up to this many bytes on disk (compressed ones counted 4x) are banded and verified in
# one task. Measured from cached sketches: Reuters (32 MiB counted) 0.07 s of numpy in the task;
# 100,000 synthetic documents (72 MiB) 1.6 s in one task against 4.6 s distributed (banding
# 2.3 s, verification 2.3 s); the task then holds ~170 MB of sketches, ~2.3 bytes per input byte.
ONE_TASK_BYTES = 128 * 2**20
# Distributed path: up to this many pair rows, their documents' ids are broadcast (~50 bytes
# each, two per pair) so that the sketch table is not shuffled for verification.
BROADCAST_PAIRS = 500_000


@dataclass(frozen=True)
class SimilarResult:
    """What :func:`find_similar` found: lazy frames over one cached sketch table.

    ``sketches`` is persisted (memory and disk): ``unpersist()`` it when done with the rest.
    """

    signatures: DataFrame  # schemas.SIGNATURES
    candidates: DataFrame  # schemas.CANDIDATE_PAIRS
    pairs: DataFrame  # schemas.SIMILAR_PAIRS
    oversized: DataFrame  # schemas.OVERSIZED_BUCKETS
    sketches: DataFrame
    choice: BandChoice
    strategy: str  # "one_task" or "distributed"
    reason: str
    threshold: float
    num_perm: int
    seed: int
    shingling: Shingling

    cached: tuple[DataFrame, ...] = ()

    def unpersist(self) -> None:
        """Release the cached sketches (and the one-task result)."""
        for frame in (self.sketches, *self.cached):
            frame.unpersist()


def band_choice(threshold: float, *, num_perm: int, bands: int | None = None,
                rows: int | None = None, fn_weight: float = 0.99) -> BandChoice:
    """The ``(bands, rows)`` to use: both given, or chosen by :func:`choose_bands`."""
    if (bands is None) != (rows is None):
        raise InputError("give both bands and rows, or neither (to choose them from the "
                         "threshold)")
    if bands is None or rows is None:
        return choose_bands(threshold, num_perm=num_perm, fp_weight=1.0 - fn_weight,
                            fn_weight=fn_weight)
    if bands < 1 or rows < 1 or bands * rows > num_perm:
        raise InputError(f"{bands} bands of {rows} rows need {bands * rows} hash functions, "
                         f"num_perm is {num_perm}")
    fp, fn = error_areas(threshold, bands=bands, rows=rows)
    return BandChoice(bands, rows, fp, fn, (1.0 / bands) ** (1.0 / rows))


def check_options(*, threshold: float, num_perm: int = 128, bands: int | None = None,
                  rows: int | None = None, max_bucket: int = MAX_BUCKET,
                  fn_weight: float = 0.99, strategy: str = "auto") -> BandChoice:
    """Validate :func:`find_similar`'s options (a job does it before reading its input).

    Returns
    -------
    BandChoice
        The banding the options give.

    Raises
    ------
    InputError
        The first invalid option, in one line.
    """
    if not 0.0 < threshold < 1.0:
        raise InputError(f"threshold must be in (0, 1), got {threshold!r}")
    if isinstance(num_perm, bool) or not isinstance(num_perm, int) or num_perm < 1:
        raise InputError(f"num_perm must be a positive integer, got {num_perm!r}")
    if isinstance(max_bucket, bool) or not isinstance(max_bucket, int) or max_bucket < 2:
        raise InputError(f"max_bucket must be an integer of at least 2, got {max_bucket!r}")
    if not 0.0 < fn_weight < 1.0:
        raise InputError(f"fn_weight must be in (0, 1), got {fn_weight!r}")
    if strategy not in ("auto", "one_task", "distributed"):
        raise InputError(f"strategy must be 'auto', 'one_task' or 'distributed', got "
                         f"{strategy!r}")
    return band_choice(threshold, num_perm=num_perm, bands=bands, rows=rows,
                       fn_weight=fn_weight)


def find_similar(
    documents: DataFrame,
    *,
    threshold: float = 0.8,
    shingling: Shingling = DEFAULT_SHINGLING,
    num_perm: int = 128,
    bands: int | None = None,
    rows: int | None = None,
    seed: int = 1,
    max_bucket: int = MAX_BUCKET,
    fn_weight: float = 0.99,
    strategy: Strategy = "auto",
) -> SimilarResult:
    """Pairs of documents whose shingle sets have Jaccard similarity >= ``threshold``.

    Parameters
    ----------
    documents
        ``doc_id`` (string, distinct) and ``text`` (string) columns, as
        :func:`~mining.io.readers.read_documents` returns.
    threshold
        Jaccard similarity of a similar pair, in (0, 1).
    shingling
        How texts become shingle sets (§3.2); default word 5-shingles.
    num_perm
        MinHash functions (signature length, §3.3.4).
    bands, rows
        LSH banding (§3.4.1); default: chosen from ``threshold`` (§3.4.3).
    seed
        Seed of the MinHash functions: the same seed gives the same signatures.
    max_bucket
        Buckets with more documents are reported in ``oversized``, not expanded.
    fn_weight
        Weight of false negatives (1 - it: of false positives) when choosing the banding.
    strategy
        ``"one_task"``: banding and verification of the whole corpus in one numpy task;
        ``"distributed"``: band rows shuffled by bucket across tasks, verification by joins
        (this path runs one action here: the count of its pair rows);
        ``"auto"``: one task for inputs of at most :data:`ONE_TASK_BYTES` on disk.

    Returns
    -------
    SimilarResult
        Lazy ``signatures``, ``candidates`` (every candidate pair with band hits and both
        similarities), ``pairs`` (the verified ones) and ``oversized``; the banding used.

    Notes
    -----
    MMDS §3.4.3's recipe: LSH finds candidates, exact Jaccard removes every false positive, so
    precision is 1.0 and recall is the S-curve's ``1 - (1 - s^r)^b`` at each pair's
    similarity (a pair at ``s = 1`` always shares all bands). Empty documents (no shingles)
    are flagged in ``signatures`` and never candidates. The sketches and the candidates are
    persisted: call :meth:`SimilarResult.unpersist` when done.
    """
    choice = check_options(threshold=threshold, num_perm=num_perm, bands=bands, rows=rows,
                           max_bucket=max_bucket, fn_weight=fn_weight, strategy=strategy)
    how, reason = _strategy(documents, strategy)
    sketches = sketch(documents, shingling=shingling, num_perm=num_perm, seed=seed,
                      bands=choice.bands, rows=choice.rows).persist(StorageLevel.MEMORY_AND_DISK)
    if how == "one_task":
        found = one_task_candidates(sketches, max_bucket=max_bucket, num_perm=num_perm,
                                    bands=choice.bands, rows=choice.rows)
    else:
        found = banded_pairs(sketches, max_bucket=max_bucket)
    found = found.persist(StorageLevel.MEMORY_AND_DISK)
    cached: tuple[DataFrame, ...] = (found,)
    if how == "one_task":
        candidates = conform(found.where(F.col("doc_a").isNotNull()), schemas.CANDIDATE_PAIRS)
    else:
        # one action: the number of pair rows decides whether the ids of their documents are
        # broadcast to the verification (a few MB) or joined by a shuffle
        pair_rows = found.count()
        candidates = verify_pairs(found, sketches, num_perm=num_perm,
                                  broadcast_docs=pair_rows <= BROADCAST_PAIRS).persist(
            StorageLevel.MEMORY_AND_DISK)  # small; read by the pairs and the candidates
        cached = (*cached, candidates)
    oversized = conform(found.where(F.col("doc_a").isNull()), schemas.OVERSIZED_BUCKETS)
    similar = conform(candidates.where(F.col("jaccard") >= threshold), schemas.SIMILAR_PAIRS)
    signatures = conform(sketches, schemas.SIGNATURES)
    return SimilarResult(signatures, candidates, similar, oversized, sketches, choice, how,
                         reason, threshold, num_perm, seed, shingling, cached)


def _strategy(documents: DataFrame, strategy: Strategy) -> tuple[str, str]:
    """The strategy to run and why."""
    if strategy in ("one_task", "distributed"):
        return strategy, f"strategy={strategy} given"
    size = input_bytes(documents)
    if size is None:
        return "distributed", "input size unknown (not local files)"
    weighted = size[0] + 4 * size[1]
    if weighted <= ONE_TASK_BYTES:
        return "one_task", (f"one task: input {weighted / 2**20:.1f} MiB (compressed x4) <= "
                            f"{ONE_TASK_BYTES / 2**20:.0f} MiB (ONE_TASK_BYTES)")
    return "distributed", (f"distributed: input {weighted / 2**20:.1f} MiB (compressed x4) > "
                           f"{ONE_TASK_BYTES / 2**20:.0f} MiB (ONE_TASK_BYTES)")

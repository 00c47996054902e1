"""Query mode: near-duplicates of new documents against a stored corpus (MMDS §3.4).

A corpus is stored once as its sketches (``similar_index``: signatures, band keys, shingle
keys) and the parameters that made them (``similar_index_params``, :class:`IndexParams`). A
query sketches only the new documents with the same parameters, joins their band rows to the
stored ones on ``(band, bucket)``, and verifies each candidate exactly against the stored
shingles: the corpus is never shingled or hashed again.

Stored buckets of more than ``max_bucket`` documents are skipped (their documents still match
through their other bands), as in :func:`~mining.similar.find_similar`.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from mining import schemas
from mining._frames import conform, one_row
from mining.errors import InputError
from mining.similar._banding import MAX_BUCKET
from mining.similar._distributed import verify_between
from mining.similar._hashing import Shingling
from mining.similar._sketch import sketch

__all__ = ["IndexParams", "index_params", "query_similar"]


@dataclass(frozen=True)
class IndexParams:
    """How a stored corpus was sketched: what a query must repeat."""

    shingling: Shingling
    num_perm: int
    seed: int
    bands: int
    rows: int
    threshold: float

    def frame(self, spark: SparkSession) -> DataFrame:
        """The one-row ``SIMILAR_INDEX_PARAMS`` table of these parameters."""
        s = self.shingling
        row = (s.kind, s.k, s.lowercase, s.strip_punctuation, s.collapse_whitespace,
               s.keep_short, sorted(s.stop_words), self.num_perm, self.seed, self.bands,
               self.rows, float(self.threshold))
        return spark.createDataFrame([row], schemas.SIMILAR_INDEX_PARAMS)


def index_params(table: DataFrame) -> IndexParams:
    """The :class:`IndexParams` of a stored ``similar_index_params`` table (one row)."""
    rows = table.collect()
    if len(rows) != 1:
        raise InputError(f"similar_index_params must hold one row, it holds {len(rows)}; "
                         f"store the corpus again with the similar job")
    r = rows[0]
    shingling = Shingling(k=r.k, kind=r.shingle, lowercase=r.lowercase,
                          strip_punctuation=r.strip_punctuation,
                          collapse_whitespace=r.collapse_whitespace, keep_short=r.keep_short,
                          stop_words=frozenset(r.stop_words))
    return IndexParams(shingling, r.num_perm, r.seed, r.bands, r.rows, r.threshold)


def _band_rows(sketches: DataFrame, name: str) -> DataFrame:
    return sketches.where(~F.col("empty")).select(
        F.col("doc_id").alias(name), F.posexplode("bands").alias("band", "bucket"))


def query_similar(queries: DataFrame, index: DataFrame, *, params: IndexParams,
                  threshold: float | None = None, max_bucket: int = MAX_BUCKET) -> DataFrame:
    """Stored documents whose Jaccard similarity with a query document is >= ``threshold``.

    Parameters
    ----------
    queries
        ``doc_id`` (distinct) and ``text`` of the new documents.
    index
        The stored ``similar_index`` table (``SIMILAR_INDEX`` columns).
    params
        How the index was made (:func:`index_params` of ``similar_index_params``).
    threshold
        Default: the stored run's threshold. The banding is the stored one, so a threshold
        far below it misses more pairs (the S-curve of ``params.bands`` x ``params.rows``).
    max_bucket
        Stored buckets of more documents are skipped.

    Returns
    -------
    DataFrame
        ``QUERY_MATCHES``: ``query_id``, ``doc_id``, ``jaccard`` (exact), ``estimated_jaccard``,
        ``band_hits``. A query document that is also stored matches itself (J = 1).
    """
    limit = params.threshold if threshold is None else threshold
    if not 0.0 < limit < 1.0:
        raise InputError(f"threshold must be in (0, 1), got {limit!r}")
    missing = set(schemas.SIMILAR_INDEX.fieldNames()) - set(index.columns)
    if missing:
        raise InputError(f"the index has no column {sorted(missing)[0]!r}: pass the "
                         f"similar_index table")
    probe = one_row(index.select(F.max(F.length("signature")).alias("width")))
    if probe is not None and probe.width is not None and probe.width != 4 * params.num_perm:
        raise InputError(f"the index holds signatures of {probe.width // 4} functions, its "
                         f"parameters say {params.num_perm}")
    asked = sketch(queries, shingling=params.shingling, num_perm=params.num_perm,
                   seed=params.seed, bands=params.bands, rows=params.rows)
    stored = _band_rows(index, "doc_b")
    crowded = stored.groupBy("band", "bucket").count().where(F.col("count") > max_bucket)
    pairs = (_band_rows(asked, "doc_a")
             .join(stored.join(crowded.select("band", "bucket"), ["band", "bucket"],
                               "left_anti"), ["band", "bucket"])
             .groupBy("doc_a", "doc_b").agg(F.count(F.lit(1)).cast("int").alias("band_hits")))
    matched = verify_between(pairs, asked, index, num_perm=params.num_perm)
    out = matched.where(F.col("jaccard") >= limit).select(
        F.col("doc_a").alias("query_id"), F.col("doc_b").alias("doc_id"), "jaccard",
        "estimated_jaccard", "band_hits")
    return conform(out, schemas.QUERY_MATCHES)

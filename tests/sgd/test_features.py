"""Feature transforms against scikit-learn and an independent XXH64, on real data (a9a,
spambase, the airline tweets' categorical columns) and small hand-written tables.

Oracles: ``StandardScaler`` on the files as scikit-learn / numpy parse them; ``OneHotEncoder`` on
the same table in pandas; for the hashing trick the tokens recomputed in plain Python
(tests/feature_oracles.py) and, where the two hash functions are comparable, the structure of
scikit-learn's ``FeatureHasher`` output.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from feature_oracles import spark_xxhash64
from pyspark.sql import types as T
from sklearn.datasets import load_svmlight_file
from sklearn.feature_extraction import FeatureHasher
from sklearn.preprocessing import OneHotEncoder as SkOneHot
from sklearn.preprocessing import StandardScaler

from mining.errors import InputError
from mining.io.readers import read_labeled
from mining.schemas import LABELED_POINTS
from mining.sgd.features import (
    MAX_CENTERED_FEATURES,
    OneHotEncoder,
    Standardizer,
    hash_features,
    one_hot,
)

CATEGORICAL = ["airline", "negativereason", "user_timezone", "tweet_location"]
NUMERIC = ["airline_sentiment_confidence", "retweet_count"]
SENTIMENT = {"negative": 0.0, "neutral": 1.0, "positive": 2.0}
POINTS = "row long, label double, indices array<int>, values array<double>"


def _csr(local: pd.DataFrame, width: int) -> sp.csr_matrix:
    """The rows of a collected ``LABELED_POINTS`` frame, ordered by ``row``, as a CSR matrix."""
    local = local.sort_values("row")
    lengths = local["indices"].map(len).to_numpy()
    cols = np.concatenate([np.zeros(0, np.int64)] + [np.asarray(v, np.int64)
                                                     for v in local["indices"]])
    vals = np.concatenate([np.zeros(0)] + [np.asarray(v, np.float64) for v in local["values"]])
    return sp.csr_matrix((vals, cols, np.concatenate([[0], np.cumsum(lengths)])),
                         shape=(len(local), width))


@pytest.fixture(scope="module")
def a9a(spark, shared_data):
    """a9a through our reader, and through scikit-learn's own LIBSVM parser (row i = line i)."""
    path = shared_data / "classification" / "a9a.gz"
    points = read_labeled(spark, path, n_features=123).data.cache()
    X, _ = load_svmlight_file(str(path), n_features=123)
    yield points, X
    points.unpersist()


@pytest.fixture(scope="module")
def spambase(spark, shared_data):
    path = shared_data / "classification" / "spambase.data"
    points = read_labeled(spark, path, format="csv", label_column=-1).data.cache()
    yield points, np.loadtxt(path, delimiter=",")[:, :-1]
    points.unpersist()


@pytest.fixture(scope="module")
def tweets(spark, shared_data):
    """The tweets' categorical and numeric columns: pandas for the oracle, Spark for ours."""
    raw = pd.read_csv(shared_data / "text" / "Tweets.csv.gz", keep_default_na=False,
                      na_values=[""], usecols=[*CATEGORICAL, *NUMERIC, "airline_sentiment"])
    local = raw[CATEGORICAL].astype(object).where(raw[CATEGORICAL].notna(), None)
    local[NUMERIC] = raw[NUMERIC]
    local["label"] = raw["airline_sentiment"].map(SENTIMENT)
    local.insert(0, "row", np.arange(1, len(raw) + 1))
    schema = T.StructType([T.StructField("row", T.LongType())]
                          + [T.StructField(c, T.StringType()) for c in CATEGORICAL]
                          + [T.StructField(NUMERIC[0], T.DoubleType()),
                             T.StructField(NUMERIC[1], T.LongType()),
                             T.StructField("label", T.DoubleType())])
    frame = spark.createDataFrame(local, schema).cache()
    yield local, frame
    frame.unpersist()


# -- Standardizer ---------------------------------------------------------------------------
@pytest.mark.shared_data
def test_standardizer_matches_sklearn_on_sparse_a9a(a9a):
    points, X = a9a
    ours = Standardizer().fit(points)
    sk = StandardScaler(with_mean=False).fit(X)
    assert ours.n_samples_seen_ == 32561 and ours.n_features_in_ == 123
    np.testing.assert_allclose(ours.mean_, sk.mean_, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(ours.var_, sk.var_, rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(ours.scale_, sk.scale_, rtol=1e-10)
    out = ours.transform(points.where("row % 8 = 1"))  # rows 1, 9, 17, ...: X[0::8]
    assert out.schema == LABELED_POINTS
    got, expected = _csr(out.toPandas(), 123), sk.transform(X[0::8])
    assert got.nnz == expected.nnz  # still sparse: the same stored entries
    np.testing.assert_allclose(got.toarray(), expected.toarray(), rtol=1e-10)


@pytest.mark.shared_data
@pytest.mark.parametrize(("with_mean", "partitions"), [(True, 3), (False, 1)])
def test_standardizer_on_dense_spambase_like_sklearn(spambase, with_mean, partitions):
    points, X = spambase
    ours = Standardizer(with_mean=with_mean).fit(points.repartition(partitions))
    sk = StandardScaler(with_mean=with_mean).fit(X)
    np.testing.assert_allclose(ours.mean_, sk.mean_, rtol=1e-12)
    np.testing.assert_allclose(ours.scale_, sk.scale_, rtol=1e-10)
    got = _csr(ours.transform(points).toPandas(), 57).toarray()
    np.testing.assert_allclose(got, sk.transform(X), rtol=1e-9, atol=1e-12)


@pytest.mark.connect
def test_standardizer_edge_cases(spark):
    points = spark.createDataFrame(
        [(1, 0.0, [0, 1], [2.0, 5.0]), (2, 1.0, [0, 1], [4.0, 5.0]),
         (3, 1.0, [0, 1, 3], [6.0, 5.0, 7.0])], POINTS)
    with pytest.raises(InputError, match="not fitted"):
        Standardizer().transform(points)
    fitted = Standardizer().fit(points.where("row < 3"))
    np.testing.assert_allclose(fitted.mean_, [3.0, 5.0])
    np.testing.assert_allclose(fitted.scale_, [1.0, 1.0])  # feature 1 is constant: scale 1
    rows = {r["row"]: r for r in fitted.transform(points).collect()}
    assert rows[3]["indices"] == [0, 1, 3]
    assert rows[3]["values"] == pytest.approx([6.0, 5.0, 7.0])  # index 3 unseen: as it was
    assert rows[3]["qid"] is None
    with pytest.raises(InputError, match="no rows"):
        Standardizer().fit(points.where("row < 0"))
    wide = spark.createDataFrame([(1, 0.0, [MAX_CENTERED_FEATURES], [1.0])], POINTS)
    with pytest.raises(InputError, match="densifies"):
        Standardizer(with_mean=True).fit(wide)
    assert Standardizer(with_mean=True).get_params() == {"with_mean": True, "with_std": True}
    with pytest.raises(InputError, match="no parameter"):
        Standardizer().set_params(mean=True)


def test_centering_works_in_bounded_dense_chunks(monkeypatch):
    from mining.sgd import _scaling

    monkeypatch.setattr(_scaling, "DENSE_CELLS", 13)  # 2 rows of 6 fitted features a chunk
    X = sp.random(25, 8, density=0.4, format="csr", random_state=np.random.default_rng(1))
    mean, scale = np.arange(6) / 10.0, np.arange(1, 7) / 2.0
    got = _scaling._centered(X, mean, scale)
    dense = X.toarray()
    expected = np.hstack([(dense[:, :6] - mean) / scale, dense[:, 6:]])  # 6, 7: as they were
    assert got.has_sorted_indices
    np.testing.assert_allclose(got.toarray(), expected, rtol=1e-15)


# -- one-hot --------------------------------------------------------------------------------
@pytest.mark.shared_data
def test_one_hot_matches_sklearn_on_tweets_with_unseen_categories(tweets):
    local, frame = tweets
    is_test = local["row"] % 4 == 0
    encoder = OneHotEncoder(columns=CATEGORICAL, numeric=NUMERIC,
                            label="label").fit(frame.where("row % 4 != 0"))
    sk = SkOneHot(handle_unknown="ignore").fit(local.loc[~is_test, CATEGORICAL])
    for ours_cats, sk_cats in zip(encoder.categories_, sk.categories_, strict=True):
        assert list(ours_cats) == list(sk_cats)  # sorted, the null category last
    width = len(encoder.feature_names_)
    assert width == sum(len(c) for c in sk.categories_) + len(NUMERIC)
    got = encoder.transform(frame).toPandas()
    for part in (local[~is_test], local[is_test]):
        dummies = sk.transform(part[CATEGORICAL])
        expected = sp.hstack([dummies, part[NUMERIC].to_numpy(float)]).toarray()
        mine = got[got["row"].isin(set(part["row"]))]
        np.testing.assert_array_equal(_csr(mine, width).toarray(), expected)
        assert mine.sort_values("row")["label"].tolist() == part["label"].tolist()
    unseen = set(local.loc[is_test, "tweet_location"].dropna()) - set(encoder.categories_[3])
    assert unseen  # the test rows do hold categories the fit never saw


@pytest.mark.connect
def test_one_hot_order_nulls_and_errors(spark):
    raw = spark.createDataFrame([(10, "b", 1.5, 1), (2, "a", 0.0, 0), (None, "a", 2.0, 1)],
                                "k int, c string, x double, y int")
    encoder = OneHotEncoder(columns=["k", "c"], numeric=["x"], label="y").fit(raw)
    assert encoder.categories_ == [(2, 10, None), ("a", "b")]  # numbers sort as numbers
    assert encoder.feature_names_ == ["k=2", "k=10", "k=null", "c=a", "c=b", "x"]
    rows = sorted(encoder.transform(raw).collect(), key=lambda r: r["label"])
    assert [(r["indices"], r["values"]) for r in rows] == [
        ([0, 3], [1.0, 1.0]), ([1, 4, 5], [1.0, 1.0, 1.5]), ([2, 3, 5], [1.0, 1.0, 2.0])]
    unseen = spark.createDataFrame([(99, "z", 0.5, 1)], "k int, c string, x double, y int")
    assert [(r["indices"], r["values"]) for r in encoder.transform(unseen).collect()] == [
        ([5], [0.5])]  # unseen categories: all zero
    dropped = one_hot(raw, columns=["k", "c"], label="y", drop_first=True).collect()
    assert sorted((r["indices"], r["label"]) for r in dropped) == [
        ([], 0.0), ([0, 2], 1.0), ([1], 1.0)]  # k=2 and c=a dropped; k=10 -> 0, null -> 1
    with pytest.raises(InputError, match="has nulls"):
        OneHotEncoder(columns=["k"], label="y", nulls="error").fit(raw)
    strict = OneHotEncoder(columns=["k"], label="y", nulls="error").fit(raw.where("k > 0"))
    with pytest.raises(Exception, match="is null"):
        strict.transform(raw).collect()
    with pytest.raises(InputError, match="no column 'z'"):
        OneHotEncoder(columns=["z"], label="y").fit(raw)
    with pytest.raises(InputError, match="named twice"):
        OneHotEncoder(columns=["k"], numeric=["k"], label="y").fit(raw)
    with pytest.raises(InputError, match="not fitted"):
        OneHotEncoder(columns=["k"], label="y").transform(raw)


def test_row_ids_are_the_row_column_or_a_content_hash(spark):
    raw = spark.createDataFrame([("a", 3, 1), ("b", 4, 0)], "c string, id int, y int")
    hashed = {r["label"]: r["row"] for r in hash_features(raw.repartition(2), columns=["c"],
                                                         label="y").collect()}
    for c, y in (("a", 1), ("b", 0)):  # xxhash64 of the used columns: c, then the label
        assert hashed[float(y)] == spark_xxhash64(c, (y, "int"))
    by_id = hash_features(raw, columns=["c"], label="y", row="id").collect()
    assert sorted(r["row"] for r in by_id) == [3, 4]
    own = hash_features(raw.withColumnRenamed("id", "row"), columns=["c"], label="y").collect()
    assert sorted(r["row"] for r in own) == [3, 4]


# -- hashing trick --------------------------------------------------------------------------
def _hashed_oracle(local: pd.DataFrame, n_features: int, seed: int) -> sp.csr_matrix:
    """The documented tokens in plain Python: categorical ``(seed, column, value)``, numeric
    ``(seed, column)`` times the value; slot ``h mod n``, sign ``-1`` for ``h < 0``."""
    rows, cols, vals = [], [], []
    for i, rec in enumerate(local.to_dict("records")):
        tokens = [(spark_xxhash64((seed, "long"), c, rec[c]), 1.0) for c in CATEGORICAL]
        tokens += [(spark_xxhash64((seed, "long"), c), float(rec[c])) for c in NUMERIC]
        for h, v in tokens:
            rows.append(i)
            cols.append(h % n_features)
            vals.append(v if h >= 0 else -v)
    return sp.csr_matrix((vals, (rows, cols)), shape=(len(local), n_features))


@pytest.mark.shared_data
def test_hash_features_match_the_documented_tokens(tweets):
    local, frame = tweets
    sample = local[local["row"] % 3 == 0]
    n = 2**10  # small enough that some rows collide (and cancel)
    ours = hash_features(frame.where("row % 3 == 0"), columns=CATEGORICAL, numeric=NUMERIC,
                         label="label", n_features=n, seed=7)
    got = ours.toPandas()
    expected = _hashed_oracle(sample, n, 7)
    expected.eliminate_zeros()
    features = len(CATEGORICAL) + (sample[NUMERIC] != 0).sum(axis=1).to_numpy()
    collided = np.diff(expected.indptr) < features
    assert collided.sum() > 10  # the summing of colliding features is exercised
    got_matrix = _csr(got, n)
    np.testing.assert_allclose(got_matrix.toarray(), expected.toarray(), rtol=1e-15)
    assert got_matrix.nnz == expected.nnz  # zeros (cancelled or numeric 0) left out
    assert all(list(ix) == sorted(set(ix)) for ix in got["indices"])


@pytest.mark.shared_data
def test_hash_features_have_feature_hashers_structure(tweets):
    """XXH64 and scikit-learn's MurmurHash3 place tokens differently, but with 2^20 slots and
    ~100 tokens neither collides: both are the one-hot matrix with its columns relabelled."""
    local, frame = tweets
    columns = CATEGORICAL[:3]
    ours = _csr(hash_features(frame, columns=columns, label="label", n_features=2**20,
                              alternate_sign=False).toPandas(), 2**20)
    records = [{c: "null" if v is None else v for c, v in r.items()}
               for r in local[columns].to_dict("records")]
    theirs = FeatureHasher(n_features=2**20, input_type="dict",
                           alternate_sign=False).transform(records)
    dummies = SkOneHot().fit_transform(local[columns])
    counts = sorted(np.asarray(dummies.sum(0)).ravel().tolist())
    for matrix in (ours, theirs):
        used = np.asarray(matrix.sum(0)).ravel()
        assert sorted(used[used > 0].tolist()) == counts
        assert (np.diff(matrix.tocsr().indptr) == len(columns)).all()


def test_hash_features_rejects_bad_arguments(spark):
    raw = spark.createDataFrame([("a", 1)], "c string, y int")
    with pytest.raises(InputError, match="n_features"):
        hash_features(raw, columns=["c"], label="y", n_features=0)
    with pytest.raises(InputError, match="not a string"):
        hash_features(raw, columns="c", label="y")
    with pytest.raises(InputError, match="no feature columns"):
        hash_features(raw, columns=[], label="y")

"""k-fold cross-validation and grid search on spambase, against scikit-learn on the same folds.

The folds are recomputed here from their documented rule with a plain-Python XXH64
(tests/feature_oracles.py), so scikit-learn's ``cross_val_score`` gets the same train/test
splits without the code under test; the rows come from numpy's parse of the file.
"""

from __future__ import annotations

from functools import reduce

import numpy as np
import pandas as pd
import pytest
from feature_oracles import spark_xxhash64
from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.preprocessing import StandardScaler

from mining.errors import InputError
from mining.io.readers import read_labeled
from mining.schemas import LABELED_POINTS
from mining.sgd import LogisticRegression, SGDEstimator
from mining.sgd.features import Standardizer
from mining.sgd.selection import CVResult, clone, cross_validate, grid_search, kfold

SPAMBASE_ROWS = 4601
SGD = {"mode": "in_task", "optimizer": "adam", "learning_rate": 0.01, "batch_size": 64,
       "max_epochs": 20, "patience": 5}


def _folds(rows: np.ndarray, k: int, seed: int) -> np.ndarray:
    """The documented fold rule, ``pmod(xxhash64(row, seed), k)``, in plain Python."""
    return np.array([spark_xxhash64((int(r), "long"), (seed, "long")) % k for r in rows])


@pytest.fixture(scope="module")
def spambase(spark, shared_data):
    """Standardized spambase (numpy's parse, scikit-learn's scaler) as ``LABELED_POINTS``."""
    data = np.loadtxt(shared_data / "classification" / "spambase.data", delimiter=",")
    X, y = StandardScaler().fit_transform(data[:, :-1]), data[:, -1]
    rows = np.arange(1, len(y) + 1)
    local = pd.DataFrame({"row": rows, "label": y, "values": list(X), "qid": None,
                          "indices": [np.arange(X.shape[1], dtype=np.int32)] * len(y)})
    return spark.createDataFrame(local[LABELED_POINTS.names], LABELED_POINTS), X, y, rows


@pytest.mark.shared_data
def test_folds_partition_the_rows_exactly(spark, shared_data):
    path = shared_data / "classification" / "spambase.data"
    with open(path, "rb") as f:
        lines = sum(1 for _ in f)  # the independent count: spambase is one row per line
    points = read_labeled(spark, path, format="csv", label_column=-1).data.cache()
    k, seed = 5, 3
    tagged = [test.select(F.lit(i).alias("fold"), "row") for i, (_, test) in
              enumerate(kfold(points, k=k, seed=seed))]
    tagged += [train.select(F.lit(-1 - i).alias("fold"), "row") for i, (train, _) in
               enumerate(kfold(points, k=k, seed=seed))]
    got = reduce(DataFrame.unionByName, tagged).toPandas()
    points.unpersist()
    everything = set(range(1, lines + 1))
    tests = [set(got.loc[got["fold"] == i, "row"]) for i in range(k)]
    assert sum(len(t) for t in tests) == lines == SPAMBASE_ROWS  # no row twice
    assert set().union(*tests) == everything  # no row left out
    for i in range(k):
        train = got.loc[got["fold"] == -1 - i, "row"]
        assert len(train) + len(tests[i]) == lines
        assert set(train) == everything - tests[i]
    expected = _folds(np.arange(1, lines + 1), k, seed)  # the documented rule, recomputed
    assert all(tests[i] == set(np.flatnonzero(expected == i) + 1) for i in range(k))
    sigma = np.sqrt(lines * (1 / k) * (1 - 1 / k))
    assert all(abs(len(t) - lines / k) < 4 * sigma for t in tests)  # a hash, not a skew


def test_clone_follows_scikit_learns_rules():
    weights = {0.0: 1.0, 1.0: 3.0}
    original = LogisticRegression(alpha=0.01, class_weight=weights, hidden=None)
    copy = clone(original)
    assert type(copy) is LogisticRegression and copy is not original
    assert copy.get_params() == original.get_params()
    assert copy.class_weight == weights and copy.class_weight is not weights  # deep copy
    original.model_ = "fitted"  # whatever fit learned is not carried over
    assert not hasattr(clone(original), "model_")
    assert clone(Standardizer(with_mean=True)).get_params() == {"with_mean": True,
                                                                 "with_std": True}

    class Meddling(SGDEstimator):
        def __init__(self, *, alpha: float = 1e-4) -> None:
            super().__init__(alpha=alpha)
            self.alpha = float(alpha) * 2

    with pytest.raises(InputError, match="does not store parameter 'alpha'"):
        clone(Meddling(alpha=1.0))


@pytest.mark.shared_data
def test_cross_validate_matches_sklearn_on_the_same_folds(spambase):
    points, X, y, rows = spambase
    result = cross_validate(LogisticRegression(**SGD), points, k=5, seed=0)
    fold = _folds(rows, 5, 0)
    cv = [(np.flatnonzero(fold != i), np.flatnonzero(fold == i)) for i in range(5)]
    sk = cross_val_score(SkLogisticRegression(max_iter=2000), X, y, cv=cv)
    assert isinstance(result, CVResult) and len(result.scores) == 5
    assert abs(result.mean - sk.mean()) < 0.015, (result.scores, sk)
    assert np.abs(np.asarray(result.scores) - sk).max() < 0.03, (result.scores, sk)
    assert result.mean == pytest.approx(np.mean(result.scores))
    assert result.std == pytest.approx(np.std(result.scores))
    assert all(0 <= b < e <= SGD["max_epochs"] for b, e in zip(result.best_epochs,
                                                               result.epochs))
    assert all(s > 0 for s in result.seconds)
    assert points.storageLevel == StorageLevel.NONE  # cached for the folds, then released


@pytest.mark.shared_data
def test_grid_search_picks_the_better_setting_and_refits(spambase):
    points, _, y, _ = spambase
    estimator = LogisticRegression(**{**SGD, "max_epochs": 10})
    result = grid_search(estimator, points, grid={"learning_rate": [1e-6, 0.05]}, k=3)
    assert [r.params for r in result.rows] == [{"learning_rate": 1e-6}, {"learning_rate": 0.05}]
    slow, good = result.rows
    assert result.best_params == {"learning_rate": 0.05}
    assert result.best_score == good.mean > slow.mean + 0.01, (slow.cv.scores, good.cv.scores)
    assert len(good.cv.scores) == 3 and good.std == pytest.approx(np.std(good.cv.scores))
    best = result.best_estimator
    assert best.learning_rate == 0.05 and best.model_.n_train + best.model_.n_validation == len(y)
    assert estimator.learning_rate == 0.01 and not hasattr(estimator, "model_")
    assert not hasattr(clone(best), "model_")


def test_grid_search_rejects_bad_grids_before_training(spark):
    points = spark.createDataFrame([], LABELED_POINTS)  # never read: the grid fails first
    estimator = LogisticRegression()
    for grid, message in [({}, "grid is empty"), ({"alpha": []}, "has no values"),
                          ({"optimizer": "adam"}, "must be a list"),
                          ({"alpha": [0.1], "lerning_rate": [0.1]}, "no parameter 'lerning_rate'")]:
        with pytest.raises(InputError, match=message):
            grid_search(estimator, points, grid=grid)

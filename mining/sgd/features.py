"""Features for the SGD models: standardization, one-hot ("dummies") and hashed categories.

MMDS §12.1 describes a training example as a feature vector with numerical and categorical
components; the linear models and SGD of §12.2-12.4 need numbers on comparable scales. Every
transform here returns :data:`~mining.schemas.LABELED_POINTS` rows (sparse ``indices`` /
``values``, ``qid`` null for the ones built from a table), the input of
:class:`~mining.sgd.SGDEstimator`:

* :class:`Standardizer` scales features to unit variance (and centers them with
  ``with_mean=True``), a fitted estimator as scikit-learn's ``StandardScaler``;
* :class:`OneHotEncoder` / :func:`one_hot`: one 0/1 feature per category (sorted), fitted on a
  training table and applied to any other;
* :func:`hash_features`: the hashing trick, no fitted state and no driver-side vocabulary.

Row ids (:func:`one_hot`, :func:`hash_features`): the ``row`` argument names the id column;
``None`` takes the input's ``row`` column when it has one, and otherwise the ``xxhash64`` of the
row's used columns (label included). That rule is deterministic across runs and partitionings
(``monotonically_increasing_id`` is neither), and it keeps exact duplicates together in every
fold, mini-batch and validation split (no duplicate leaks from training into evaluation); but
duplicates then share an id, so pass ``row=`` when the id must be a key.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from mining.errors import InputError
from mining.schemas import LABELED_POINTS
from mining.sgd._categorical import OneHotEncoder, hash_features, one_hot
from mining.sgd._params import Params
from mining.sgd._scaling import feature_moments, scale_kernel

__all__ = ["MAX_CENTERED_FEATURES", "OneHotEncoder", "Standardizer", "hash_features", "one_hot"]

MAX_CENTERED_FEATURES = 10_000
_POINTS = ("row", "label", "indices", "values")
_POINTS_ARROW = pa.schema([("row", pa.int64(), False), ("label", pa.float64(), False),
                          ("indices", pa.list_(pa.field("element", pa.int32(), False)), False),
                          ("values", pa.list_(pa.field("element", pa.float64(), False)), False),
                          ("qid", pa.int64())])


class Standardizer(Params):
    """Scale each feature of ``LABELED_POINTS`` rows to unit variance (MMDS §12.2's inputs).

    Parameters
    ----------
    with_mean : bool
        Also subtract each feature's mean. Off by default, as scikit-learn's ``StandardScaler``
        requires for sparse input: centering turns every absent (zero) value into
        ``-mean / scale``, so the output rows are dense. Allowed up to
        :data:`MAX_CENTERED_FEATURES` features.
    with_std : bool
        Divide by each feature's standard deviation (population, ``ddof=0``).

    Attributes
    ----------
    mean_, var_, scale_ : numpy.ndarray
        Per feature (index ``0 .. n_features_in_ - 1``) over all rows, absent values counted as
        0; ``scale_`` is ``sqrt(var_)``, 1 for constant features (scikit-learn's
        ``_is_constant_feature`` rule) and everywhere when ``with_std=False``.
    n_samples_seen_, n_features_in_ : int
        Rows, and 1 + the largest index stored.

    Notes
    -----
    ``fit`` is one Spark job of built-in functions: each feature's count, mean and variance of
    its stored values (a ``groupBy`` of the exploded values, one shuffled row per feature per
    task), one row per feature collected to the driver, where the implicit zeros are added
    (see :mod:`mining.sgd._scaling` for the design and its measurements). ``transform`` is
    lazy, one ``mapInArrow`` pass; indices at or beyond ``n_features_in_`` pass through
    unscaled.

    Examples
    --------
    >>> scaler = Standardizer().fit(train)                     # doctest: +SKIP
    >>> model = LogisticRegression().fit(scaler.transform(train))  # doctest: +SKIP
    """

    def __init__(self, *, with_mean: bool = False, with_std: bool = True) -> None:
        self.with_mean, self.with_std = with_mean, with_std

    def fit(self, points: DataFrame) -> Standardizer:
        """Per-feature mean and variance of ``points`` (``LABELED_POINTS``); one job."""
        n, mean, m2 = feature_moments(points)
        if not n:
            raise InputError("no rows to fit the standardizer on")
        if self.with_mean and len(mean) > MAX_CENTERED_FEATURES:
            raise InputError(f"with_mean=True densifies the rows: {len(mean)} features is more "
                             f"than {MAX_CENTERED_FEATURES}; use with_mean=False")
        var = m2 / n
        eps = np.finfo(np.float64).eps
        constant = var <= n * eps * var + (n * mean * eps) ** 2
        self.n_samples_seen_, self.n_features_in_ = n, len(mean)
        self.mean_, self.var_ = mean, var
        self.scale_ = np.where(constant, 1.0, np.sqrt(var)) if self.with_std else np.ones(len(var))
        return self

    def transform(self, points: DataFrame) -> DataFrame:
        """``points`` scaled (centered with ``with_mean``): ``LABELED_POINTS`` rows; lazy."""
        if not hasattr(self, "scale_"):
            raise InputError("this Standardizer is not fitted yet; call fit first")
        qid = F.col("qid") if "qid" in points.columns else F.lit(None).cast("long")
        kernel = scale_kernel(self.mean_, self.scale_, self.with_mean, _POINTS_ARROW)
        return points.select(*_POINTS, qid.alias("qid")).mapInArrow(kernel, LABELED_POINTS)

    def fit_transform(self, points: DataFrame) -> DataFrame:
        """``fit(points).transform(points)``."""
        return self.fit(points).transform(points)

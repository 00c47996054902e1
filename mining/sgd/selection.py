"""Model selection: k-fold cross-validation and a grid search over hyperparameters.

MMDS §12.1 holds out part of the training set to choose a model and its parameters; k-fold
cross-validation holds out each of k folds in turn and averages the k scores, and a grid search
does that for every combination of the parameter values and refits the best on all rows. The
estimators are :class:`~mining.sgd.SGDEstimator`'s (scikit-learn's rules: ``get_params``,
``set_params``, ``fit``, ``score``), so :func:`clone` copies them as scikit-learn's ``clone``
does.

Folds are a seeded hash of the row id, ``pmod(xxhash64(row, seed), k)`` (Spark's ``xxhash64``,
a long row and a long seed), so a row's fold does not depend on the partitioning or on the run,
and it is independent of the estimator's own validation split and mini-batches (a different
hash of the row, :func:`mining.sgd._data.row_hash`). Folds are then as equal as a hash makes
them (binomial sizes), not exactly equal as scikit-learn's ``KFold``.
"""

from __future__ import annotations

import copy
import itertools
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, Self, TypeVar

import numpy as np
from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from mining.errors import InputError
from mining.sgd._estimators import SGDEstimator

__all__ = ["CVResult", "GridResult", "GridRow", "clone", "cross_validate", "fold_of",
           "grid_search", "kfold"]

log = logging.getLogger(__name__)


class HasParams(Protocol):
    """What :func:`clone` needs: scikit-learn's parameter protocol."""

    def get_params(self, deep: bool = True) -> dict[str, Any]: ...

    def set_params(self, **params: Any) -> Self: ...


E = TypeVar("E", bound=HasParams)


def fold_of(*, k: int, seed: int = 0) -> Column:
    """The fold ``0 .. k-1`` of each row: ``pmod(xxhash64(row, seed), k)`` (a long column)."""
    if k < 2:
        raise InputError(f"k must be >= 2 folds, got {k}")
    return F.pmod(F.xxhash64(F.col("row").cast("long"), F.lit(int(seed)).cast("long")),
                  F.lit(int(k)))


def kfold(points: DataFrame, *, k: int = 5, seed: int = 0) -> list[tuple[DataFrame, DataFrame]]:
    """``k`` pairs ``(train, test)`` of ``points``; every row is in exactly one test set.

    Parameters
    ----------
    points : DataFrame
        Rows with a ``row`` id column (``LABELED_POINTS``).
    k : int
        Folds (>= 2).
    seed : int
        Chooses the assignment of rows to folds.

    Returns
    -------
    list of (DataFrame, DataFrame)
        Fold ``i``'s training rows (the other folds) and test rows, both with ``points``'
        columns; lazy filters, no action. Cache ``points`` before using several folds.

    Notes
    -----
    The fold is :func:`fold_of`, a hash of the row id: rows with equal ids share a fold.

    Examples
    --------
    >>> for train, test in kfold(points.cache(), k=5):  # doctest: +SKIP
    ...     print(LogisticRegression().fit(train).score(test))
    """
    fold = fold_of(k=k, seed=seed)
    return [(points.where(fold != i), points.where(fold == i)) for i in range(k)]


def clone(estimator: E) -> E:
    """An unfitted copy of ``estimator``: the same class and (deep-copied) parameters.

    scikit-learn's rule: ``type(estimator)(**get_params())``; nothing that ``fit`` learned
    (the attributes ending in ``_``) is carried over. Raises :class:`InputError` when the
    constructor does not store its parameters as given.
    """
    params = {name: copy.deepcopy(value) for name, value in estimator.get_params().items()}
    fresh = type(estimator)(**params)
    stored = fresh.get_params()
    for name, value in params.items():
        if stored.get(name) is not value:
            raise InputError(f"cannot clone {type(estimator).__name__}: its constructor does "
                             f"not store parameter {name!r} as given")
    return fresh


@dataclass(frozen=True)
class CVResult:
    """The outcome of :func:`cross_validate`; one entry per fold in the tuples."""

    scores: tuple[float, ...]
    mean: float
    std: float
    best_epochs: tuple[int, ...]
    epochs: tuple[int, ...]
    seconds: tuple[float, ...]


@dataclass(frozen=True)
class GridRow:
    """One combination of :func:`grid_search`: its parameters and cross-validated score."""

    params: dict[str, Any]
    mean: float
    std: float
    cv: CVResult


@dataclass(frozen=True)
class GridResult:
    """The outcome of :func:`grid_search`: every combination, in grid order, and the best."""

    rows: tuple[GridRow, ...]
    best_params: dict[str, Any]
    best_score: float
    best_estimator: SGDEstimator
    seconds: float


def _cached(points: DataFrame) -> tuple[DataFrame, bool]:
    """``points`` cached (lazily: the first fold fills the cache), and whether it was cached
    here."""
    if points.storageLevel != StorageLevel.NONE:
        return points, False
    return points.persist(StorageLevel.MEMORY_AND_DISK), True


def _run_folds(estimator: SGDEstimator, folds: Sequence[tuple[DataFrame, DataFrame]],
               ) -> CVResult:
    scores, best, epochs, seconds = [], [], [], []
    for i, (train, test) in enumerate(folds):
        start = time.perf_counter()
        model = clone(estimator).fit(train)
        scores.append(model.score(test))
        best.append(model.best_epoch_)
        epochs.append(model.n_epochs_)
        seconds.append(time.perf_counter() - start)
        log.info("fold %d/%d: score %.4f, %d epochs (best %d), %.2f s", i + 1, len(folds),
                 scores[-1], epochs[-1], best[-1], seconds[-1])
    return CVResult(tuple(scores), float(np.mean(scores)), float(np.std(scores)), tuple(best),
                    tuple(epochs), tuple(seconds))


def cross_validate(estimator: SGDEstimator, points: DataFrame, *, k: int = 5,
                   seed: int = 0) -> CVResult:
    """Score ``estimator`` by k-fold cross-validation: k fits, each scored on its held-out fold.

    Parameters
    ----------
    estimator : SGDEstimator
        Cloned for every fold (``estimator`` itself is not fitted).
    points : DataFrame
        ``LABELED_POINTS`` rows.
    k, seed
        Folds and their seed (:func:`kfold`).

    Returns
    -------
    CVResult
        Per fold: the score (``estimator.score``: accuracy, or R² for a regression), the best
        epoch, the epochs run and the seconds to fit and score; the mean and the population
        standard deviation (``ddof=0``, as scikit-learn's ``cv_results_``) of the scores.

    Notes
    -----
    ``points`` is cached once for the folds (and unpersisted after, unless it was cached
    already). Cost: ``k`` fits plus ``k`` one-action scores; each fold filters the cached rows
    again. The estimator's own validation split (early stopping) is taken inside each
    training set.

    Examples
    --------
    >>> cv = cross_validate(LogisticRegression(mode="in_task"), points, k=5)  # doctest: +SKIP
    >>> round(cv.mean, 3), round(cv.std, 3)  # doctest: +SKIP
    (0.918, 0.009)
    """
    data, owned = _cached(points)
    try:
        return _run_folds(estimator, kfold(data, k=k, seed=seed))
    finally:
        if owned:
            data.unpersist()


def _combinations(estimator: SGDEstimator, grid: Mapping[str, Sequence[Any]],
                  ) -> list[dict[str, Any]]:
    """The cartesian product of ``grid`` in its order, each checked by ``set_params``."""
    if not grid:
        raise InputError("the grid is empty: give at least one parameter and its values")
    for name, values in grid.items():
        if isinstance(values, str | bytes) or not isinstance(values, Sequence):
            raise InputError(f"grid[{name!r}] must be a list of values, got {values!r}")
        if not values:
            raise InputError(f"grid[{name!r}] has no values")
    names = list(grid)
    combos = [dict(zip(names, values)) for values in itertools.product(*grid.values())]
    for params in combos:
        clone(estimator).set_params(**params)
    return combos


def grid_search(estimator: SGDEstimator, points: DataFrame, *,
                grid: Mapping[str, Sequence[Any]], k: int = 3, seed: int = 0) -> GridResult:
    """Cross-validate every combination of ``grid``'s values; refit the best on all rows.

    Parameters
    ----------
    estimator : SGDEstimator
        The parameters not in ``grid`` (cloned; not fitted itself).
    points : DataFrame
        ``LABELED_POINTS`` rows.
    grid : mapping of str to sequence
        Parameter names and the values to try, e.g.
        ``{"learning_rate": [0.001, 0.01], "alpha": [1e-4, 1e-3]}``: the cartesian product.
    k, seed
        Folds and their seed (:func:`kfold`), the same folds for every combination.

    Returns
    -------
    GridResult
        ``rows`` in grid order (params, mean and std of the fold scores, the
        :class:`CVResult`); ``best_params`` and ``best_score`` (the highest mean, the first in
        grid order on a tie, as scikit-learn's rank); ``best_estimator`` fitted on all of
        ``points`` with ``best_params``; ``seconds`` in all.

    Raises
    ------
    InputError
        An empty grid, a parameter with no values (or a string for its values), or a name
        that is not a parameter of ``estimator`` (checked before any training).

    Notes
    -----
    ``points`` is cached once for every fit. Cost: ``k x combinations + 1`` fits and ``k x
    combinations`` one-action scores.

    Examples
    --------
    >>> grid = {"learning_rate": [1e-3, 1e-2], "alpha": [1e-5, 1e-4]}
    >>> found = grid_search(LogisticRegression(), points, grid=grid)  # doctest: +SKIP
    >>> found.best_params, found.best_estimator.score(test)  # doctest: +SKIP
    """
    start = time.perf_counter()
    combos = _combinations(estimator, grid)
    data, owned = _cached(points)
    try:
        folds = kfold(data, k=k, seed=seed)
        rows: list[GridRow] = []
        for params in combos:
            log.info("grid %d/%d: %s", len(rows) + 1, len(combos), params)
            cv = _run_folds(clone(estimator).set_params(**params), folds)
            rows.append(GridRow(params, cv.mean, cv.std, cv))
        best = max(range(len(rows)), key=lambda i: (rows[i].mean, -i))
        refit = clone(estimator).set_params(**rows[best].params).fit(data)
    finally:
        if owned:
            data.unpersist()
    return GridResult(tuple(rows), dict(rows[best].params), rows[best].mean, refit,
                      time.perf_counter() - start)

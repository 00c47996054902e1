"""Training in one task (``mode="in_task"``) and prediction in every task (§12.2).

In one task: the rows go to a single partition, the task turns them into one numpy block, finds
the features and classes, and runs the whole of :func:`~mining.sgd._loop.fit_block` there, in
one Spark job. Deterministic, and for data that fits one task the fastest mode by far: it pays
one job, not one per step. The fitted model leaves the task as one packed value; a problem
found in the task (too few classes, no rows) leaves it as a message the driver raises.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
from pyspark.sql import DataFrame
from pyspark.sql import types as T

from mining._arrow import ArrowKernel
from mining._frames import one_row
from mining.errors import InputError
from mining.sgd._data import Block, block_from_batches
from mining.sgd._loop import Plan, fit_block
from mining.sgd._losses import LOSSES, predict_from_scores, proba_from_scores
from mining.sgd._model import Fitted, Recipe
from mining.sgd._network import scores

__all__ = ["FIT_ARROW", "FIT_ROW", "POINT_COLUMNS", "encode_labels", "fit_in_task", "predict_frame"]

POINT_COLUMNS = ("row", "label", "indices", "values")
FIT_ROW = T.StructType([T.StructField("fit", T.BinaryType(), True),
                        T.StructField("error", T.StringType(), True)])
FIT_ARROW = pa.schema([("fit", pa.binary()), ("error", pa.string())])


def encode_labels(recipe: Recipe, block: Block) -> tuple[np.ndarray, Block]:
    """The classes of ``block`` and the block with labels as class ids 0..k-1."""
    classes = recipe.classes(block.y)
    return classes, block.with_class_ids(classes)


def _fit_kernel(recipe: Recipe, plan: Plan, n_features: int | None) -> ArrowKernel:
    def kernel(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        try:
            block = block_from_batches(list(batches), n_features)
            if block.n == 0:
                raise InputError("no rows to train on")
            classes, block = encode_labels(recipe, block)
            counts = (np.bincount(block.y.astype(np.int64), minlength=len(classes))
                      if len(classes) else None)
            objective = recipe.objective(block.X.shape[1], classes, counts)
            theta = objective.spec.init(np.random.default_rng(plan.seed), recipe.initializer)
            fit = fit_block(objective, plan, block, theta)
            packed = Fitted(objective.spec, fit.theta, classes, fit.bn, fit.history,
                            fit.best_epoch, fit.stopped_early, fit.n_train,
                            fit.n_validation).pack()
            yield pa.record_batch([pa.array([packed], pa.binary()), pa.nulls(1, pa.string())],
                                  schema=FIT_ARROW)
        except InputError as exc:
            yield pa.record_batch([pa.nulls(1, pa.binary()), pa.array([str(exc)])],
                                  schema=FIT_ARROW)

    return kernel


def fit_in_task(points: DataFrame, recipe: Recipe, plan: Plan, *,
                n_features: int | None = None) -> Fitted:
    """Train on all of ``points`` (``LABELED_POINTS`` columns) in one task; one Spark job."""
    result = one_row(points.select(*POINT_COLUMNS).repartition(1)
                     .mapInArrow(_fit_kernel(recipe, plan, n_features), FIT_ROW))
    if result is None:
        raise InputError("no rows to train on")
    if result["error"] is not None:
        raise InputError(result["error"])
    return Fitted.unpack(bytes(result["fit"]), recipe)


PREDICTION_COLUMNS = ("row", "label", "prediction", "probability")


def _predict_kernel(fitted: Fitted, proba: bool) -> ArrowKernel:
    spec = fitted.spec

    def kernel(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            if not batch.num_rows:
                continue
            block = block_from_batches([batch], spec.n_features)
            s = scores(spec, fitted.theta, block.X, bn=fitted.bn)
            predicted = predict_from_scores(spec.loss, s)
            label = fitted.classes[predicted] if len(fitted.classes) else predicted
            columns = [pa.array(block.rows), pa.array(block.y),
                       pa.array(np.asarray(label, np.float64))]
            if proba:
                p = proba_from_scores(spec.loss, s)
                p = np.column_stack([1.0 - p, p]) if p.ndim == 1 else p
                columns.append(pa.FixedSizeListArray.from_arrays(p.ravel(), p.shape[1])
                               .cast(pa.list_(pa.float64())))
            else:
                columns.append(pa.nulls(block.n, pa.list_(pa.float64())))
            yield pa.record_batch(columns, names=list(PREDICTION_COLUMNS))

    return kernel


def predict_frame(points: DataFrame, fitted: Fitted, schema: T.StructType) -> DataFrame:
    """Predictions for every row of ``points``, in ``schema`` (``PREDICTIONS``); no action.

    ``probability`` holds the class probabilities, in the order of the model's classes, for
    the losses that model them (logistic, softmax); null otherwise.
    """
    proba = LOSSES[fitted.spec.loss].name in ("logistic", "softmax")
    return points.select(*POINT_COLUMNS).mapInArrow(_predict_kernel(fitted, proba), schema)

"""Synchronous data-parallel SGD: one Spark job per step, gradients summed (MMDS §12.4).

The rows are laid out once as mini-batch blocks and cached: every task turns its rows into one
row per mini-batch it holds (``batch``; ``-1`` for the validation rows), packed as CSR arrays.
A step is then one job over the cached blocks of one batch: every task computes the loss and
gradient sums of its rows of the batch at the current weights (shipped with the task's
closure), the driver adds the partial sums, divides by the batch size and takes the optimizer
step. Batch membership is a seeded hash of the row id, so the batches, their order and hence
the weights are the same for any partitioning (up to the order of floating-point addition) and
equal to ``mode="in_task"``'s. Dropout masks and batch-norm statistics are drawn and computed
per task, so those depend on the partitioning by design.

Bytes moved per step: the weights to every task and one gradient back from each, so
``2 x tasks x 8 x n_params``, against a batch's worth of rows read from the cache. The loop is
in the driver, not :func:`mining._iteration.iterate`: its state is a numpy vector, and the one
action per step is the collect of the partial sums.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from mining._arrow import ArrowKernel, binary_array, binary_values
from mining.errors import InputError
from mining.sgd._data import Block, batch_of, in_validation
from mining.sgd._in_task import POINT_COLUMNS
from mining.sgd._loop import Epoch, Objective, Plan, Stopper, apply_step, batch_order, evaluate
from mining.sgd._model import MAX_CLASSES, Fitted, Recipe
from mining.sgd._network import BatchNormState, moments_stats, stats_moments

__all__ = ["fit_sync", "profile_points"]

_PACKED = ("y", "rows", "indptr", "indices", "values")
_DTYPES = {"y": "<f8", "rows": "<i8", "indptr": "<i8", "indices": "<i4", "values": "<f8"}
BLOCKS = T.StructType([T.StructField("batch", T.IntegerType(), False),
                       T.StructField("n", T.LongType(), False)]
                      + [T.StructField(c, T.BinaryType(), False) for c in _PACKED])
PARTIAL = T.StructType([T.StructField("first_row", T.LongType(), False),
                        T.StructField("n", T.LongType(), False),
                        T.StructField("loss", T.DoubleType(), False),
                        T.StructField("extra", T.DoubleType(), False),
                        T.StructField("grad", T.BinaryType(), False)])


@dataclass(frozen=True)
class Profile:
    """What training needs to know of the data first: rows, features and classes."""

    n: int
    n_features: int
    classes: np.ndarray
    counts: np.ndarray  # rows per class (all rows: the validation split is not known yet)


def profile_points(points: DataFrame, recipe: Recipe) -> Profile:
    """Rows, features (1 + the largest index), sorted classes and their counts; one job."""
    aggs = [F.count("*").alias("n"), F.max(F.array_max("indices")).alias("top")]
    if recipe.task == "regression":
        rows = points.agg(*aggs).collect()
    else:
        rows = points.groupBy("label").agg(*aggs).limit(MAX_CLASSES + 1).collect()
    n = sum(int(r["n"]) for r in rows)
    if not n:
        raise InputError("no rows to train on")
    top = max((r["top"] for r in rows if r["top"] is not None), default=-1)
    if recipe.task == "regression":
        return Profile(n, top + 1, np.zeros(0), np.zeros(0))
    ordered = sorted(rows, key=lambda r: r["label"])
    classes = recipe.classes(np.asarray([r["label"] for r in ordered], np.float64))
    return Profile(n, top + 1, classes, np.asarray([r["n"] for r in ordered], np.float64))


def _block_kernel(plan: Plan, n_batches: int, classes: np.ndarray,
                  n_features: int) -> ArrowKernel:
    from mining.sgd._data import block_from_batches

    def kernel(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        block = block_from_batches(list(batches), n_features, dense=False)
        if not block.n:
            return
        y = block.with_class_ids(classes).y
        member = np.where(in_validation(block.rows, plan.seed, plan.validation_fraction), -1,
                          batch_of(block.rows, plan.seed, n_batches))
        out: dict[str, list[bytes]] = {c: [] for c in _PACKED}
        ids, sizes = np.unique(member, return_counts=True)
        for b in ids:
            take = member == b
            X = block.X[take]
            parts = {"y": y[take], "rows": block.rows[take], "indptr": X.indptr,
                     "indices": X.indices, "values": X.data}
            for c in _PACKED:
                out[c].append(np.ascontiguousarray(parts[c], _DTYPES[c]).tobytes())
        yield pa.record_batch([pa.array(ids.astype(np.int32)), pa.array(sizes.astype(np.int64))]
                              + [pa.array(out[c], pa.binary()) for c in _PACKED],
                              names=["batch", "n", *_PACKED])

    return kernel


def _blocks_of(table: pa.Table, n_features: int) -> list[Block]:
    import scipy.sparse as sp

    cols = {c: binary_values(table.column(c), np.dtype(_DTYPES[c])) for c in _PACKED}
    blocks = []
    for i in range(table.num_rows):
        part = {c: v[o[i]:o[i + 1]] for c, (o, v) in cols.items()}
        X = sp.csr_matrix((part["values"], part["indices"], part["indptr"]),
                          shape=(len(part["y"]), n_features))
        blocks.append(Block(X.toarray() if X.nnz >= 0.1 * X.shape[0] * n_features else X,
                            part["y"], part["rows"]))
    return blocks


def _step_kernel(objective: Objective, theta: np.ndarray, n_features: int, seed: tuple[int, ...],
                 train: bool, bn: BatchNormState | None) -> ArrowKernel:
    def kernel(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        parts = [b for b in batches if b.num_rows]
        if not parts:
            return
        for block in _blocks_of(pa.Table.from_batches(parts), n_features):
            first = int(block.rows.min())
            if train:
                rng = np.random.default_rng((*seed, first))
                done = objective.batch_pass(theta, block, rng)
                stats = stats_moments(done.batch_stats)
                grad, loss, extra = np.concatenate([done.grad, stats]), done.loss, 0.0
            else:
                mean_loss, metric = evaluate(objective, theta, block, bn)
                grad, loss, extra = np.zeros(0), mean_loss * block.n, metric * block.n
            yield pa.record_batch([pa.array([first]), pa.array([block.n]), pa.array([loss]),
                                   pa.array([extra]), binary_array(grad, np.array([0, grad.size]))],
                                  names=[f.name for f in PARTIAL])

    return kernel


def _gather(frame: DataFrame) -> tuple[int, float, float, np.ndarray]:
    """Sum the partial rows, in the order of their first row id (reproducible sums)."""
    table = frame.toArrow().sort_by("first_row")
    offsets, values = binary_values(table.column("grad"), np.dtype("<f8"))
    grads = [values[offsets[i]:offsets[i + 1]] for i in range(table.num_rows)]
    total = np.zeros_like(grads[0]) if grads else np.zeros(0)
    for g in grads:
        total += g
    return (int(pa.compute.sum(table.column("n")).as_py() or 0),
            float(pa.compute.sum(table.column("loss")).as_py() or 0.0),
            float(pa.compute.sum(table.column("extra")).as_py() or 0.0), total)


def _layout(points: DataFrame, plan: Plan, profile: Profile) -> tuple[DataFrame, int, int]:
    """The cached mini-batch blocks, batches per epoch and validation rows; one job, which
    fills the cache and returns each block's size."""
    n_batches = plan.n_batches(profile.n)
    blocks = (points.select(*POINT_COLUMNS)
              .mapInArrow(_block_kernel(plan, n_batches, profile.classes, profile.n_features),
                          BLOCKS)
              .persist(StorageLevel.MEMORY_AND_DISK))
    sizes = blocks.select("batch", "n").collect()
    return blocks, n_batches, sum(int(r["n"]) for r in sizes if r["batch"] == -1)


def fit_sync(points: DataFrame, recipe: Recipe, plan: Plan) -> Fitted:
    """Train with one Spark job per step over cached mini-batch blocks (see the module).

    Jobs: one profile, one layout, one per step and one per epoch for the validation loss.
    """
    profile = profile_points(points, recipe)
    blocks, n_batches, n_val = _layout(points, plan, profile)
    try:
        return _train(blocks, n_batches, n_val, recipe, plan, profile)
    finally:
        blocks.unpersist()


def _train(blocks: DataFrame, n_batches: int, n_val: int, recipe: Recipe, plan: Plan,
           profile: Profile) -> Fitted:
    objective = recipe.objective(profile.n_features, profile.classes, profile.counts)
    spec, d = objective.spec, profile.n_features
    theta = spec.init(np.random.default_rng(plan.seed), recipe.initializer)
    state = plan.optimizer.init(len(theta))
    bn = BatchNormState.initial(spec) if spec.batch_norm else None
    stopper, history = Stopper(plan), []
    best = (theta.copy(), bn)
    has_validation = n_val > 0
    step = 0
    for epoch in range(plan.max_epochs):
        start, loss_sum, n_sum = time.perf_counter(), 0.0, 0
        for b in batch_order(plan, n_batches, epoch):
            kernel = _step_kernel(objective, theta, d, (plan.seed, 3, step), True, None)
            n, loss, _, total = _gather(blocks.filter(F.col("batch") == b)
                                        .mapInArrow(kernel, PARTIAL))
            step += 1
            if not n:
                continue
            if bn is not None:
                bn.update(moments_stats(spec.hidden, total[len(theta):], n))
            value, grad = objective.penalized(theta, loss, total[:len(theta)], n)
            theta = apply_step(plan, state, theta, grad, epoch)
            loss_sum, n_sum = loss_sum + value * n, n_sum + n
        val: tuple[float | None, float | None] = (None, None)
        if has_validation:
            kernel = _step_kernel(objective, theta, d, (), False, bn)
            n, loss, metric, _ = _gather(blocks.filter("batch = -1").mapInArrow(kernel, PARTIAL))
            val = (loss / n, metric / n)
        history.append(Epoch(epoch, n_batches, loss_sum / max(n_sum, 1), val[0], val[1],
                             time.perf_counter() - start))
        if stopper.improved(val[0] if val[0] is not None else loss_sum / max(n_sum, 1), epoch):
            best = (theta.copy(), bn and bn.copy())
        if stopper.stop:
            break
    return Fitted(spec, best[0], profile.classes, best[1], history, stopper.best_epoch,
                  stopper.stop and len(history) < plan.max_epochs, profile.n - n_val, n_val)

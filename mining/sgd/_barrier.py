"""Barrier mode: tasks stay up for the whole training and all-reduce in place (§12.4).

One Spark job: ``mapInArrow(..., barrier=True)`` starts one task per partition at once; each
turns its rows into numpy blocks once and runs every epoch, summing vectors with the other
tasks through :class:`~mining.sgd._comm.Comm` (TCP after one ``allGather`` to meet). Every task
starts from the same weights and takes the same decisions, so no weights are sent to tasks:

* ``period=1`` (``mode="barrier"``, synchronous all-reduce): at each step every task computes
  the loss and gradient sums of its rows of the mini-batch; the all-reduce adds them in task
  order and every task takes the same optimizer step. The weights equal ``mode="sync"``'s and
  ``"in_task"``'s up to the order of floating-point addition.
* ``period=k > 1`` (``mode="local"``, local SGD): each task steps on its own rows of each
  mini-batch and, every ``k`` steps and at the end of each epoch, the tasks average their
  weights, optimizer states and batch-norm statistics, weighted by the rows each used since the
  last average (federated averaging). The result depends on the partitioning by design; it is
  reproducible for a fixed seed and partition count.

What it needs of the cluster: a free slot for every task at once (Spark refuses a barrier stage
that needs more slots than the cluster has; no dynamic allocation), and executors that reach
each other over TCP. What it costs: per all-reduce, ``2 (tasks - 1) x 8 n_params`` bytes
through task 0 (per step in ``barrier`` mode, per ``k`` steps in ``local`` mode).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
from pyspark.sql import DataFrame

from mining._arrow import ArrowKernel
from mining._frames import one_row
from mining.errors import InputError
from mining.sgd._comm import Comm
from mining.sgd._data import Block, block_from_batches, in_validation
from mining.sgd._in_task import FIT_ARROW, FIT_ROW, POINT_COLUMNS
from mining.sgd._loop import (
    Epoch,
    Objective,
    Plan,
    Stopper,
    apply_step,
    batch_order,
    evaluate,
    split_batches,
)
from mining.sgd._model import MAX_CLASSES, Fitted, Recipe
from mining.sgd._network import BatchNormState, moments_stats, stats_moments
from mining.sgd._sync import Profile

__all__ = ["fit_barrier"]


class _TaskTrainer:
    """One barrier task's training loop (every task runs the same one)."""

    def __init__(self, objective: Objective, plan: Plan, block: Block, n_batches: int,
                 period: int, initializer: str, comm: Comm) -> None:
        self.objective, self.plan, self.period, self.n_batches = objective, plan, period, \
            n_batches
        held = in_validation(block.rows, plan.seed, plan.validation_fraction)
        self.validation = block.take(held)
        self.batches = split_batches(plan, block.take(~held), n_batches)
        spec = objective.spec
        self.theta = spec.init(np.random.default_rng(plan.seed), initializer)
        self.state = plan.optimizer.init(len(self.theta))
        self.bn = BatchNormState.initial(spec) if spec.batch_norm else None
        self.comm = comm
        self.rng = np.random.default_rng((plan.seed, 4, comm.rank))
        self.used = 0.0  # rows stepped on since the last average (local SGD)

    def _sync_step(self, part: Block | None, epoch: int) -> tuple[float, int]:
        k = len(self.theta)
        if part is not None:
            done = self.objective.batch_pass(self.theta, part, self.rng)
            vec = np.concatenate([[done.n, done.loss], done.grad, stats_moments(done.batch_stats)])
        else:
            vec = np.zeros(2 + k + 2 * sum(self.objective.spec.hidden) * self.objective.spec
                           .batch_norm)
        total = self.comm.allreduce(vec)
        n = int(total[0])
        if not n:
            return 0.0, 0
        if self.bn is not None:
            self.bn.update(moments_stats(self.objective.spec.hidden, total[2 + k:], n))
        value, grad = self.objective.penalized(self.theta, float(total[1]), total[2:2 + k], n)
        self.theta = apply_step(self.plan, self.state, self.theta, grad, epoch)
        return value * n, n

    def _local_step(self, part: Block | None, epoch: int) -> tuple[float, int]:
        if part is None:
            return 0.0, 0
        done = self.objective.batch_pass(self.theta, part, self.rng, self.bn)
        if self.bn is not None:
            self.bn.update(done.batch_stats)
        value, grad = self.objective.penalized(self.theta, done.loss, done.grad, done.n)
        self.theta = apply_step(self.plan, self.state, self.theta, grad, epoch)
        self.used += done.n
        return value * done.n, done.n

    def average(self) -> None:
        """Federated averaging of weights, optimizer state and running batch-norm statistics."""
        names = sorted(self.state)
        parts = [self.theta] + [self.state[n].astype(np.float64) for n in names]
        if self.bn is not None:
            parts += self.bn.means + self.bn.variances
        flat = np.concatenate([np.ravel(p) for p in parts])
        summed = self.comm.allreduce(np.concatenate([[self.used], self.used * flat]))
        weight = float(summed[0])
        self.used = 0.0
        if weight == 0:
            return
        mean = summed[1:] / weight
        at = 0
        for i, p in enumerate(parts):
            size = np.size(p)
            value = np.reshape(mean[at:at + size], np.shape(p))
            at += size
            if i == 0:
                self.theta = value.copy()
            elif i <= len(names):
                self.state[names[i - 1]] = value.astype(self.state[names[i - 1]].dtype)
            elif self.bn is not None:
                j = i - 1 - len(names)
                hidden = len(self.bn.means)
                (self.bn.means if j < hidden else self.bn.variances)[j % hidden] = value.copy()

    def epoch(self, epoch: int) -> tuple[float, int]:
        """One epoch's steps; the summed objective and rows (all tasks' rows in sync)."""
        loss, n, steps = 0.0, 0, 0
        for b in batch_order(self.plan, self.n_batches, epoch):
            part = self.batches.get(b)
            step = self._sync_step if self.period == 1 else self._local_step
            value, rows = step(part, epoch)
            loss, n, steps = loss + value, n + rows, steps + 1
            if self.period > 1 and steps % self.period == 0:
                self.average()
        if self.period > 1:
            self.average()
            totals = self.comm.allreduce(np.asarray([loss, n], np.float64))
            loss, n = float(totals[0]), int(totals[1])
        return loss, n

    def validate(self) -> tuple[float | None, float | None]:
        """Validation loss and metric over every task's held-out rows."""
        sums = np.zeros(3)
        if self.validation.n:
            loss, metric = evaluate(self.objective, self.theta, self.validation, self.bn)
            sums = np.asarray([loss * self.validation.n, metric * self.validation.n,
                               self.validation.n], np.float64)
        total = self.comm.allreduce(sums)
        return (None, None) if not total[2] else (total[0] / total[2], total[1] / total[2])


def _run(trainer: _TaskTrainer, plan: Plan) -> Fitted:
    import time

    stopper, history = Stopper(plan), []
    best = (trainer.theta.copy(), trainer.bn and trainer.bn.copy())
    for epoch in range(plan.max_epochs):
        start = time.perf_counter()
        loss, n = trainer.epoch(epoch)
        val = trainer.validate()
        history.append(Epoch(epoch, trainer.n_batches, loss / max(n, 1), val[0], val[1],
                             time.perf_counter() - start))
        if stopper.improved(val[0] if val[0] is not None else loss / max(n, 1), epoch):
            best = (trainer.theta.copy(), trainer.bn and trainer.bn.copy())
        if stopper.stop:
            break
    n_val = int(trainer.comm.allreduce(np.asarray([trainer.validation.n], np.float64))[0])
    fitted = Fitted(trainer.objective.spec, best[0], np.zeros(0), best[1], history,
                    stopper.best_epoch, stopper.stop and len(history) < plan.max_epochs, 0, n_val)
    return fitted


def _profile(comm: Comm, batches: list[pa.RecordBatch], recipe: Recipe) -> Profile:
    """The data's :class:`Profile`, found by the tasks themselves: two all-gathers of each
    task's rows, largest index and label counts, so the input is read once (no profiling job
    before the barrier job: from a file that job would parse the whole input a second time)."""
    import pyarrow.compute as pc

    n = sum(b.num_rows for b in batches)
    tops = [pc.max(pc.list_flatten(b.column("indices"))).as_py() for b in batches if b.num_rows]
    top = max((t for t in tops if t is not None), default=-1)
    labels = (np.concatenate([b.column("label").to_numpy(zero_copy_only=False) for b in batches])
              if n else np.zeros(0))
    nan = np.isnan(labels)
    mine, counts = (np.unique(labels[~nan], return_counts=True) if recipe.task != "regression"
                    else (np.zeros(0), np.zeros(0)))
    mine, counts = mine[:MAX_CLASSES + 1], counts[:MAX_CLASSES + 1]  # more fails anyway
    # problems are raised only after the gather, so that every task raises the same one
    sizes = comm.allgather(np.asarray([n, top, len(mine), nan.sum()], np.float64))
    total = int(sizes[:, 0].sum())
    if not total:
        raise InputError("no rows to train on")
    if sizes[:, 3].sum():
        raise InputError(f"{int(sizes[:, 3].sum())} rows have a NaN label")
    width = int(sizes[:, 2].max())
    pad = np.full(2 * width, np.nan)
    pad[:len(mine)], pad[width:width + len(mine)] = mine, counts
    gathered = comm.allgather(pad)
    values, weights = gathered[:, :width].ravel(), gathered[:, width:].ravel()
    seen = ~np.isnan(values)
    classes, at = np.unique(values[seen], return_inverse=True)
    per_class = np.bincount(at, weights=weights[seen], minlength=len(classes))
    n_features = int(sizes[:, 1].max()) + 1
    if recipe.task == "regression":
        return Profile(total, n_features, np.zeros(0), np.zeros(0))
    return Profile(total, n_features, recipe.classes(classes), per_class)


def _kernel(recipe: Recipe, plan: Plan, period: int, transport: str) -> ArrowKernel:
    def kernel(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        parts = list(batches)
        with Comm(transport) as comm:
            try:
                profile = _profile(comm, parts, recipe)
            except InputError as exc:  # every task finds the same problem; task 0 tells it
                if comm.rank == 0:
                    yield pa.record_batch([pa.nulls(1, pa.binary()), pa.array([str(exc)])],
                                          schema=FIT_ARROW)
                return
            block = block_from_batches(parts, profile.n_features).with_class_ids(profile.classes)
            del parts
            objective = recipe.objective(profile.n_features, profile.classes, profile.counts)
            trainer = _TaskTrainer(objective, plan, block, plan.n_batches(profile.n), period,
                                   recipe.initializer, comm)
            fitted = _run(trainer, plan)
        if comm.rank == 0:
            fitted.classes = profile.classes
            fitted.n_train = profile.n - fitted.n_validation
            yield pa.record_batch([pa.array([fitted.pack()], pa.binary()),
                                   pa.nulls(1, pa.string())], schema=FIT_ARROW)

    return kernel


def fit_barrier(points: DataFrame, recipe: Recipe, plan: Plan, *, tasks: int,
                period: int = 1, transport: str = "tcp") -> Fitted:
    """Train in one barrier job of ``tasks`` tasks (see the module); one Spark job.

    Raises
    ------
    InputError
        If ``tasks`` or ``period`` is below 1.
    """
    if tasks < 1 or period < 1:
        raise InputError(f"need tasks >= 1 and period >= 1, got {tasks} and {period}")
    frame = (points.select(*POINT_COLUMNS).repartition(tasks)
             .mapInArrow(_kernel(recipe, plan, period, transport), FIT_ROW, barrier=True))
    row = one_row(frame)
    if row is None:  # an empty input can leave the stage with no task at all
        raise InputError("no rows to train on")
    if row["error"] is not None:
        raise InputError(row["error"])
    if row["fit"] is None:
        raise InputError("barrier training returned no model")
    return Fitted.unpack(bytes(row["fit"]), recipe)

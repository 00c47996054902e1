"""One training run in numpy: epochs of mini-batch steps, validation and early stopping (§12.2).

This is the whole of training when the data fits one task (``mode="in_task"``), and the
arithmetic of every distributed mode: :meth:`Objective.batch_gradient` is what a task computes
on its rows of a mini-batch, :func:`apply_step` what every mode does with the summed gradient.

Mini-batches are fixed sets of rows (:func:`~mining.sgd._data.batch_of`, a seeded hash of the
row id, so they do not depend on where the rows are); each epoch visits them in a seeded random
order. The objective of a step is scikit-learn's ``SGDClassifier`` convention: the mean loss of
the batch's rows plus ``alpha * R(w)`` (elastic net, intercepts not penalized).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from mining.errors import InputError
from mining.sgd._data import Block, batch_of, in_validation
from mining.sgd._losses import LOSSES, predict_from_scores
from mining.sgd._network import BatchNormState, Pass, forward_backward, scores
from mining.sgd._optim import Optimizer
from mining.sgd._schedule import Schedule, clip_by_norm
from mining.sgd._spec import NetSpec, penalty

__all__ = ["Epoch", "LocalFit", "Objective", "Plan", "Stopper", "apply_step", "batch_order",
           "evaluate", "fit_block", "split_batches"]


@dataclass(frozen=True)
class Objective:
    """What is minimized: the model, the elastic-net penalty and the class weights."""

    spec: NetSpec
    alpha: float = 0.0
    l1_ratio: float = 0.0
    class_weight: tuple[float, ...] | None = None

    def sample_weight(self, y: np.ndarray) -> np.ndarray | None:
        """Each row's weight: its class's weight, or ``None`` (all 1)."""
        if self.class_weight is None:
            return None
        return np.asarray(self.class_weight)[y.astype(np.int64)]

    def batch_pass(self, theta: np.ndarray, block: Block, rng: np.random.Generator | None,
                   bn: BatchNormState | None = None) -> Pass:
        """Loss and gradient sums of ``block``'s rows (training mode; no penalty)."""
        return forward_backward(self.spec, theta, block.X, block.y,
                                sample_weight=self.sample_weight(block.y), rng=rng, bn=bn)

    def penalized(self, theta: np.ndarray, loss_sum: float, grad_sum: np.ndarray,
                  n: int) -> tuple[float, np.ndarray]:
        """Mean loss of ``n`` rows plus the penalty, and its gradient."""
        value, grad = penalty(theta, self.spec.penalty_mask(), alpha=self.alpha,
                              l1_ratio=self.l1_ratio)
        return loss_sum / n + value, grad_sum / n + grad


# ``batch_size="auto"``. Steps cost the same whatever the batch (a few hundred microseconds of
# numpy and optimizer calls; an all-reduce in barrier mode), so past ~1,000 steps an epoch of a
# big input is better spent on bigger batches. Measured with logistic regression, Adam at 0.01,
# on synthetic dense 1M x 50 (2 cores): see the README's training table.
AUTO_BATCH = 256
AUTO_BATCHES = 1024


@dataclass(frozen=True)
class Plan:
    """How the objective is minimized: optimizer, rate, batches, epochs and stopping."""

    optimizer: Optimizer = field(default_factory=lambda: Optimizer("adam"))
    schedule: Schedule = field(default_factory=lambda: Schedule("constant", lr=0.001))
    batch_size: int | Literal["auto"] | None = 256
    max_epochs: int = 100
    seed: int = 0
    clip_norm: float | None = None
    validation_fraction: float = 0.1
    patience: int | None = 10
    tol: float = 1e-4

    def __post_init__(self) -> None:
        size = self.batch_size
        if size != "auto" and size is not None and (not isinstance(size, int) or size < 1):
            raise InputError(f"batch_size must be 'auto', an integer >= 1 or None (full batch), "
                             f"got {size!r}")
        if self.max_epochs < 1:
            raise InputError(f"max_epochs must be >= 1, got {self.max_epochs}")
        if not 0.0 <= self.validation_fraction < 1.0:
            raise InputError("validation_fraction must be in [0, 1), "
                             f"got {self.validation_fraction}")
        if self.patience is not None and self.patience < 1:
            raise InputError(f"patience must be >= 1 or None (no early stopping), "
                             f"got {self.patience}")

    def n_batches(self, n_rows: int) -> int:
        """Mini-batches per epoch for ``n_rows`` rows in all (validation rows included):
        ``round(n_rows (1 - validation_fraction) / batch_size)``, at least 1. Every mode uses
        this count, known before the split is (it is a hash of each row).

        ``batch_size="auto"``: batches of :data:`AUTO_BATCH` rows, but at most
        :data:`AUTO_BATCHES` of them per epoch (bigger batches past 262,144 training rows).
        """
        if self.batch_size is None:
            return 1
        n_train = n_rows * (1.0 - self.validation_fraction)
        if self.batch_size == "auto":
            return max(1, min(AUTO_BATCHES, round(n_train / AUTO_BATCH)))
        return max(1, round(n_train / self.batch_size))


@dataclass(frozen=True)
class Epoch:
    """One epoch of the history (losses are means; the metric is accuracy, or R² for squared)."""

    epoch: int
    steps: int
    train_loss: float
    validation_loss: float | None
    validation_metric: float | None
    seconds: float


@dataclass
class LocalFit:
    """The outcome of :func:`fit_block`: parameters (the best epoch's) and the history."""

    theta: np.ndarray
    bn: BatchNormState | None
    history: list[Epoch]
    best_epoch: int
    stopped_early: bool
    n_train: int
    n_validation: int


def apply_step(plan: Plan, state: dict[str, np.ndarray], theta: np.ndarray, grad: np.ndarray,
               epoch: int) -> np.ndarray:
    """Clip the gradient and take one optimizer step at the epoch's learning rate."""
    return plan.optimizer.step(theta, clip_by_norm(grad, plan.clip_norm), state,
                               plan.schedule.rate(epoch))


def evaluate(objective: Objective, theta: np.ndarray, block: Block,
             bn: BatchNormState | None) -> tuple[float, float]:
    """Mean loss (no penalty, evaluation mode) and metric of ``block``."""
    spec = objective.spec
    s = scores(spec, theta, block.X, bn=bn)
    loss, _ = LOSSES[spec.loss].fn(s, block.y, objective.sample_weight(block.y))
    weight = objective.sample_weight(block.y)
    total = float(weight.sum()) if weight is not None else block.n
    predicted = predict_from_scores(spec.loss, s)
    if LOSSES[spec.loss].task == "regression":
        spread = float(((block.y - block.y.mean()) ** 2).sum())
        metric = 1.0 - float(((block.y - predicted) ** 2).sum()) / spread if spread else 0.0
    else:
        metric = float((predicted == block.y).mean())
    return loss / total, metric


def split_batches(plan: Plan, train: Block, n_batches: int) -> dict[int, Block]:
    """The rows of ``train`` by mini-batch id (ids with no rows here are absent)."""
    member = batch_of(train.rows, plan.seed, n_batches)
    order = np.argsort(member, kind="stable")
    ordered = Block(train.X[order], train.y[order], train.rows[order])
    cuts = np.searchsorted(member[order], np.arange(n_batches + 1)).tolist()
    return {b: Block(ordered.X[lo:hi], ordered.y[lo:hi], ordered.rows[lo:hi])
            for b, (lo, hi) in enumerate(itertools.pairwise(cuts)) if hi > lo}


def batch_order(plan: Plan, n_batches: int, epoch: int) -> list[int]:
    """The epoch's seeded order of the mini-batch ids (the same in every mode and task)."""
    return np.random.default_rng((plan.seed, 2, epoch)).permutation(n_batches).tolist()


class Stopper:
    """Early stopping: no gain of ``tol`` for ``patience`` epochs (scikit-learn's rule)."""

    def __init__(self, plan: Plan) -> None:
        self.plan, self.best, self.best_epoch, self.waited = plan, np.inf, 0, 0

    def improved(self, value: float, epoch: int) -> bool:
        """Record ``value``; true when it is the best so far."""
        if value < self.best - self.plan.tol:
            self.waited = 0
        else:
            self.waited += 1
        if value < self.best:
            self.best, self.best_epoch = value, epoch
            return True
        return False

    @property
    def stop(self) -> bool:
        """Whether patience ran out."""
        return self.plan.patience is not None and self.waited >= self.plan.patience


def fit_block(objective: Objective, plan: Plan, block: Block, theta: np.ndarray) -> LocalFit:
    """Train on the rows of one task, from ``theta``; the best epoch's parameters are kept.

    The best epoch is the one of least validation loss (least training loss without a
    validation split). Stops early when it has not improved by ``plan.tol`` for
    ``plan.patience`` epochs.
    """
    held = in_validation(block.rows, plan.seed, plan.validation_fraction)
    train, validation = block.take(~held), block.take(held)
    if train.n == 0:
        raise InputError("no training rows: the input is empty or all held out for validation")
    n_batches = plan.n_batches(block.n)
    batches = split_batches(plan, train, n_batches)
    state = plan.optimizer.init(len(theta))
    rng = np.random.default_rng((plan.seed, 1))
    bn = BatchNormState.initial(objective.spec) if objective.spec.batch_norm else None
    stopper, history = Stopper(plan), []
    best = (theta.copy(), bn and bn.copy())
    for epoch in range(plan.max_epochs):
        start, loss_sum, n_sum = time.perf_counter(), 0.0, 0
        for b in batch_order(plan, n_batches, epoch):
            if b not in batches:
                continue
            done = objective.batch_pass(theta, batches[b], rng, bn)
            if bn is not None:
                bn.update(done.batch_stats)
            value, grad = objective.penalized(theta, done.loss, done.grad, done.n)
            theta = apply_step(plan, state, theta, grad, epoch)
            loss_sum, n_sum = loss_sum + value * done.n, n_sum + done.n
        val = evaluate(objective, theta, validation, bn) if validation.n else (None, None)
        history.append(Epoch(epoch, len(batches), loss_sum / n_sum, val[0], val[1],
                             time.perf_counter() - start))
        if stopper.improved(val[0] if val[0] is not None else loss_sum / n_sum, epoch):
            best = (theta.copy(), bn and bn.copy())
        if stopper.stop:
            break
    stopped = stopper.stop and len(history) < plan.max_epochs
    return LocalFit(best[0], best[1], history, stopper.best_epoch, stopped, train.n, validation.n)

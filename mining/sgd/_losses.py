"""Per-row losses of a batch of scores, summed over the rows, with their gradient (MMDS §12.2).

Every loss is ``f(scores, y, sample_weight) -> (sum_i w_i l_i, d sum / d scores)``: the sum, not
the mean, because the trainer adds the sums of every partition and divides by the global batch
size once (a mean per partition would weight small partitions up). ``scores`` has one column per
model output: ``(n,)`` or ``(n, 1)`` for the scalar losses (the gradient has the same shape),
``(n, k)`` for ``softmax``. Binary labels are 0/1 and mapped to ``y± = 2y - 1`` here; the
caller checks labels once when it reads them, not on every batch.

* ``squared``: ``½ (s - y)²`` (linear regression);
* ``logistic``: ``log(1 + exp(-y± s))`` (logistic regression), by ``logaddexp``: no overflow;
* ``hinge``: ``max(0, 1 - y± s)`` (linear SVM, §12.3), subgradient 0 at the margin 1;
* ``squared_hinge``: ``max(0, 1 - y± s)²`` (differentiable everywhere);
* ``softmax``: multinomial cross-entropy ``logsumexp(s) - s_y`` over ``k`` classes ``0..k-1``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from mining.errors import InputError

__all__ = ["LOSSES", "Loss", "hinge", "logistic", "predict_from_scores", "proba_from_scores",
           "softmax", "softmax_proba", "squared", "squared_hinge"]

LossFn = Callable[[np.ndarray, np.ndarray, "np.ndarray | None"], tuple[float, np.ndarray]]


@dataclass(frozen=True)
class Loss:
    """A loss: ``fn(scores, y, sample_weight) -> (sum, grad)`` and the task it models."""

    name: str
    task: str  # "regression", "binary" or "multiclass"
    fn: LossFn


def _column(values: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """``values`` (n,) shaped as the scores (n,) or (n, 1), as float64 (a view when it is)."""
    return np.asarray(values, dtype=np.float64).reshape(scores.shape)


def _signed(y: np.ndarray, scores: np.ndarray) -> np.ndarray:
    return 2.0 * _column(y, scores) - 1.0


def _weighted(losses: np.ndarray, grad: np.ndarray,
              weight: np.ndarray | None) -> tuple[float, np.ndarray]:
    """The (weighted) sum of the row losses, and the row gradients times the row weights."""
    if weight is None:
        return float(losses.sum()), grad
    w = np.asarray(weight, dtype=np.float64).reshape(-1)
    # One weight per row, broadcast over the k columns of a softmax gradient.
    return float(np.dot(w, losses.reshape(-1))), grad * w.reshape((-1,) + (1,) * (grad.ndim - 1))


def squared(scores: np.ndarray, y: np.ndarray,
            sample_weight: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """``sum_i w_i ½ (s_i - y_i)²`` and its gradient ``w_i (s_i - y_i)``."""
    residual = scores - _column(y, scores)
    return _weighted(0.5 * residual * residual, residual, sample_weight)


def logistic(scores: np.ndarray, y: np.ndarray,
             sample_weight: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """``sum_i w_i log(1 + exp(-y±_i s_i))`` and its gradient ``-w_i y±_i sigmoid(-y±_i s_i)``."""
    sign = _signed(y, scores)
    margin = sign * scores
    # logaddexp(0, -m) is log(1 + e^-m) without overflowing e^-m for a large negative margin.
    return _weighted(np.logaddexp(0.0, -margin), -sign * expit(-margin), sample_weight)


def hinge(scores: np.ndarray, y: np.ndarray,
          sample_weight: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """``sum_i w_i max(0, 1 - y±_i s_i)``; subgradient ``-w_i y±_i [y±_i s_i < 1]``."""
    sign = _signed(y, scores)
    slack = 1.0 - sign * scores
    # Strict inequality: at the margin exactly 1 the subgradient 0 is chosen (a correctly
    # classified row on the margin does not move the model; sklearn's Hinge takes -y± there).
    return _weighted(np.maximum(slack, 0.0), np.where(slack > 0.0, -sign, 0.0),
                     sample_weight)


def squared_hinge(scores: np.ndarray, y: np.ndarray,
                  sample_weight: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """``sum_i w_i max(0, 1 - y±_i s_i)²`` and its gradient ``-2 w_i y±_i max(0, 1 - y±_i s_i)``."""
    sign = _signed(y, scores)
    slack = np.maximum(1.0 - sign * scores, 0.0)
    return _weighted(slack * slack, -2.0 * sign * slack, sample_weight)


def _log_softmax(scores: np.ndarray) -> np.ndarray:
    # Shifting by the row maximum makes every exponent <= 0: no overflow, and the largest term
    # of the sum is 1, so the log never sees 0.
    shifted = scores - scores.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax(scores: np.ndarray, y: np.ndarray,
            sample_weight: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """``sum_i w_i (logsumexp(s_i) - s_{i, y_i})`` over ``n x k`` scores, classes ``0..k-1``.

    The gradient is ``w_i (p_i - e_{y_i})`` with ``p_i`` the softmax probabilities.
    """
    n = scores.shape[0]
    labels = np.asarray(y).astype(np.intp, copy=False)
    rows = np.arange(n)
    # One exp of the n x k matrix (the hot spot): p = e / z and loss = log z - shifted_y.
    shifted = scores - scores.max(axis=1, keepdims=True)
    grad = np.exp(shifted)
    z = grad.sum(axis=1)
    grad /= z[:, None]
    losses = np.log(z) - shifted[rows, labels]
    grad[rows, labels] -= 1.0  # one entry per row: plain fancy indexing, no np.add.at needed
    return _weighted(losses, grad, sample_weight)


LOSSES: dict[str, Loss] = {
    "squared": Loss("squared", "regression", squared),
    "logistic": Loss("logistic", "binary", logistic),
    "hinge": Loss("hinge", "binary", hinge),
    "squared_hinge": Loss("squared_hinge", "binary", squared_hinge),
    "softmax": Loss("softmax", "multiclass", softmax),
}


def _loss(loss: str | Loss) -> Loss:
    if isinstance(loss, Loss):
        return loss
    if loss not in LOSSES:
        raise InputError(f"unknown loss {loss!r}; choose one of {', '.join(LOSSES)}")
    return LOSSES[loss]


def softmax_proba(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax probabilities of ``n x k`` scores (stable)."""
    return np.exp(_log_softmax(np.asarray(scores, dtype=np.float64)))


def predict_from_scores(loss: str | Loss, scores: np.ndarray) -> np.ndarray:
    """Predictions from model scores: the label the loss's model predicts.

    Parameters
    ----------
    loss : str or Loss
        The training loss (a name in :data:`LOSSES`).
    scores : ndarray
        ``(n,)`` or ``(n, 1)`` scores of a scalar loss, ``(n, k)`` for ``softmax``.

    Returns
    -------
    ndarray
        ``(n,)``: the score itself (float64) for ``squared``; int64 labels otherwise, 1 where the
        score is positive for the binary losses, the argmax class for ``softmax``.
    """
    task = _loss(loss).task
    scores = np.asarray(scores)
    if task == "multiclass":
        return scores.argmax(axis=1).astype(np.int64)
    flat = scores.reshape(-1).astype(np.float64, copy=False)
    return flat if task == "regression" else (flat > 0.0).astype(np.int64)


def proba_from_scores(loss: str | Loss, scores: np.ndarray) -> np.ndarray:
    """Class probabilities from model scores, for the losses that are log-likelihoods.

    Returns
    -------
    ndarray
        ``(n,)`` probabilities of class 1 for ``logistic``; ``(n, k)`` rows summing to 1 for
        ``softmax``.

    Raises
    ------
    ValueError
        For the other losses, which do not model probabilities.
    """
    name = _loss(loss).name
    if name == "logistic":
        return np.asarray(expit(np.asarray(scores, np.float64).reshape(-1)), dtype=np.float64)
    if name == "softmax":
        return softmax_proba(scores)
    raise ValueError(f"loss {name!r} gives no probabilities; use logistic or softmax")

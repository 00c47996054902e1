"""Forward and backward passes of a model over a batch of rows: linear models and MLPs (§12.2).

A model is a :class:`NetSpec` (its shape, see :mod:`mining.sgd._spec` for the layout) and a
flat float64 vector ``theta``: the gradient of a partition is then one vector that Spark sums
with the others, and an optimizer is a function of flat vectors. Without hidden layers the
model is a linear model (linear regression, logistic regression, linear SVM, softmax
regression, by its loss); with them an MLP, optionally with inverted dropout and batch norm
(PyTorch's conventions: ``BatchNorm1d`` before the activation, momentum 0.1, eps 1e-5).

Only the first layer touches ``X``, as ``X @ W`` and ``X.T @ delta``, so a CSR matrix (sparse
LIBSVM rows) is never densified or copied; every other step is a dense product over the batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from mining.errors import InputError
from mining.sgd._activations import ACTIVATIONS
from mining.sgd._losses import LOSSES
from mining.sgd._spec import INITIALIZERS, Layer, NetSpec, penalty

# NetSpec, Layer and penalty live in _spec (the layout of theta); re-exported as the model API.
__all__ = ["BN_EPS", "BN_MOMENTUM", "INITIALIZERS", "BatchNormState", "BatchStats", "Layer",
           "NetSpec", "Pass", "forward_backward", "penalty", "pool_batch_stats", "scores"]

BN_EPS = 1e-5
BN_MOMENTUM = 0.1


@dataclass(frozen=True)
class BatchStats:
    """One hidden layer's batch-norm statistics over a batch: mean, biased variance, rows."""

    mean: np.ndarray
    var: np.ndarray
    n: int


def pool_batch_stats(parts: Sequence[Sequence[BatchStats]]) -> list[BatchStats]:
    """The statistics of the union of batches, from each batch's (per layer).

    For the trainer that combines the batch-norm statistics of several partitions: the pooled
    mean is the row-weighted mean, the pooled biased variance adds the spread of the means
    (the law of total variance), exactly the statistics of the concatenated rows.
    """
    pooled = []
    for layer_parts in zip(*parts):
        n = sum(p.n for p in layer_parts)
        mean = sum(p.n * p.mean for p in layer_parts) / n
        var = sum(p.n * (p.var + (p.mean - mean) ** 2) for p in layer_parts) / n
        pooled.append(BatchStats(np.asarray(mean), np.asarray(var), n))
    return pooled


def stats_moments(stats: Sequence[BatchStats]) -> np.ndarray:
    """Batch statistics as moments that add across tasks: ``n mean`` and ``n E[x²]`` per layer."""
    return np.concatenate([np.concatenate([s.n * s.mean, s.n * (s.var + s.mean**2)])
                           for s in stats] or [np.zeros(0)])


def moments_stats(hidden: Sequence[int], moments: np.ndarray, n: int) -> list[BatchStats]:
    """The pooled statistics of ``n`` rows from the summed :func:`stats_moments` of tasks."""
    stats, at = [], 0
    for width in hidden:
        mean = moments[at:at + width] / n
        var = moments[at + width:at + 2 * width] / n - mean**2
        stats.append(BatchStats(mean, np.maximum(var, 0.0), n))
        at += 2 * width
    return stats


@dataclass
class BatchNormState:
    """Running means and variances of every hidden layer, for evaluation (PyTorch's rule).

    ``running = (1 - momentum) running + momentum batch`` with ``momentum = 0.1``, and the batch
    variance made unbiased (``n / (n - 1)``) for the running estimate, as ``torch.nn.BatchNorm1d``.
    """

    means: list[np.ndarray]
    variances: list[np.ndarray]
    momentum: float = BN_MOMENTUM

    @classmethod
    def initial(cls, spec: NetSpec) -> BatchNormState:
        """Means 0 and variances 1 for every hidden layer (PyTorch's start)."""
        return cls([np.zeros(h) for h in spec.hidden], [np.ones(h) for h in spec.hidden])

    def copy(self) -> BatchNormState:
        """An independent copy (the best epoch's statistics are kept aside)."""
        return BatchNormState([m.copy() for m in self.means],
                              [v.copy() for v in self.variances], self.momentum)

    def update(self, batch_stats: Sequence[BatchStats]) -> None:
        """Move the running statistics towards one batch's (in place)."""
        m = self.momentum
        for i, stat in enumerate(batch_stats):
            unbiased = stat.var * (stat.n / (stat.n - 1)) if stat.n > 1 else stat.var
            self.means[i] = (1.0 - m) * self.means[i] + m * stat.mean
            self.variances[i] = (1.0 - m) * self.variances[i] + m * unbiased


@dataclass
class Pass:
    """A forward-backward pass over a batch: sums over its ``n`` rows (no penalty)."""

    loss: float
    grad: np.ndarray
    n: int
    batch_stats: list[BatchStats] = field(default_factory=list)


@dataclass
class _Cache:
    """What the backward pass needs of one hidden layer."""

    inputs: np.ndarray | sp.csr_matrix  # the layer's input (X for the first layer)
    u: np.ndarray  # the activation's input (after batch norm)
    a: np.ndarray  # the activation's output (before dropout)
    zhat: np.ndarray | None  # normalized pre-activations (batch norm)
    inv_std: np.ndarray | None  # 1 / sqrt(var + eps) (batch norm)
    keep: np.ndarray | None  # dropout: 0 or 1 / (1 - p)


def _weights(theta: np.ndarray, layer: Layer) -> np.ndarray:
    return theta[layer.weight].reshape(layer.fan_in, layer.fan_out)  # a view


def _keep(spec: NetSpec, i: int, shape: tuple[int, ...], masks: Sequence[np.ndarray] | None,
          rng: np.random.Generator | None) -> np.ndarray:
    if masks is not None:
        if len(masks) != len(spec.hidden) or np.shape(masks[i]) != shape:
            raise InputError(f"dropout masks must be one {shape} array per hidden layer")
        kept: np.ndarray = np.asarray(masks[i], dtype=np.float64)
    elif rng is not None:
        kept = rng.random(shape) >= spec.dropout  # kept with probability 1 - p
    else:
        raise InputError("dropout in training needs an rng (or fixed masks)")
    return kept * (1.0 / (1.0 - spec.dropout))  # a new array: the caller's masks stay 0/1


def _forward(spec: NetSpec, theta: np.ndarray, X: np.ndarray | sp.csr_matrix, *, train: bool,
             masks: Sequence[np.ndarray] | None, rng: np.random.Generator | None,
             bn: BatchNormState | None,
             ) -> tuple[np.ndarray, list[_Cache], np.ndarray | sp.csr_matrix, list[BatchStats]]:
    """Scores (n x outputs), hidden-layer caches, the output layer's input, batch statistics."""
    layers = spec.layers()
    act = ACTIVATIONS[spec.activation]
    caches: list[_Cache] = []
    stats: list[BatchStats] = []
    h = X
    for i, layer in enumerate(layers[:-1]):
        z = np.asarray(h @ _weights(theta, layer))
        if layer.bias is not None:
            z += theta[layer.bias]
        zhat = inv_std = None
        if layer.gamma is not None and layer.beta is not None:
            if train:
                mean = z.mean(axis=0)
                zc = z - mean
                var = np.einsum("ij,ij->j", zc, zc) / z.shape[0]  # biased, as PyTorch
                stats.append(BatchStats(mean, var, z.shape[0]))
            elif bn is None:
                raise InputError("evaluating a batch-norm model needs its BatchNormState")
            else:
                zc, var = z - bn.means[i], bn.variances[i]
            inv_std = 1.0 / np.sqrt(var + BN_EPS)
            zhat = zc * inv_std
            z = zhat * theta[layer.gamma] + theta[layer.beta]
        a = act.forward(z)
        keep = _keep(spec, i, a.shape, masks, rng) if train and spec.dropout > 0.0 else None
        caches.append(_Cache(h, z, a, zhat, inv_std, keep))
        h = a if keep is None else a * keep
    out = layers[-1]
    s = np.asarray(h @ _weights(theta, out))
    if out.bias is not None:
        s += theta[out.bias]
    return s, caches, h, stats


def _linear_backward(grad: np.ndarray, theta: np.ndarray, layer: Layer,
                     inputs: np.ndarray | sp.csr_matrix, delta: np.ndarray,
                     input_grad: bool) -> np.ndarray | None:
    """Fill the layer's ``W`` and ``b`` gradients; return the gradient of its input if asked."""
    grad[layer.weight] = np.asarray(inputs.T @ delta).reshape(-1)
    if layer.bias is not None:
        grad[layer.bias] = delta.sum(axis=0)
    return delta @ _weights(theta, layer).T if input_grad else None


def _backward(spec: NetSpec, theta: np.ndarray, caches: list[_Cache],
              last_input: np.ndarray | sp.csr_matrix, d_scores: np.ndarray,
              train: bool) -> np.ndarray:
    layers = spec.layers()
    act = ACTIVATIONS[spec.activation]
    grad = np.zeros_like(theta)
    d_h = _linear_backward(grad, theta, layers[-1], last_input, d_scores, bool(caches))
    for i in reversed(range(len(caches))):
        c, layer = caches[i], layers[i]
        assert d_h is not None  # every layer above the first returns its input gradient
        d_u = act.backward(c.u, c.a, d_h if c.keep is None else d_h * c.keep)
        if layer.gamma is not None and layer.beta is not None:
            assert c.zhat is not None and c.inv_std is not None
            grad[layer.gamma] = np.einsum("ij,ij->j", d_u, c.zhat)
            grad[layer.beta] = d_u.sum(axis=0)
            d_zhat = d_u * theta[layer.gamma]
            if train:  # the batch mean and variance depend on every row of the batch
                along_zhat = np.einsum("ij,ij->j", d_zhat, c.zhat) / c.zhat.shape[0]
                d_zhat -= d_zhat.mean(axis=0)
                d_zhat -= c.zhat * along_zhat
            d_u = d_zhat * c.inv_std
        d_h = _linear_backward(grad, theta, layer, c.inputs, d_u, i > 0)
    return grad


def _check(spec: NetSpec, theta: np.ndarray, X: np.ndarray | sp.csr_matrix) -> np.ndarray:
    theta = np.asarray(theta, dtype=np.float64)
    if theta.shape != (spec.n_params,):
        raise InputError(f"theta must have shape ({spec.n_params},), got {theta.shape}")
    if X.ndim != 2 or X.shape[1] != spec.n_features:
        raise InputError(f"X must be n x {spec.n_features}, got shape {X.shape}")
    return theta


def forward_backward(spec: NetSpec, theta: np.ndarray, X: np.ndarray | sp.csr_matrix,
                     y: np.ndarray, *, sample_weight: np.ndarray | None = None,
                     masks: Sequence[np.ndarray] | None = None,
                     rng: np.random.Generator | None = None, train: bool = True,
                     bn: BatchNormState | None = None) -> Pass:
    """The loss of a batch and its gradient with respect to ``theta``, both summed over rows.

    Parameters
    ----------
    spec : NetSpec
        The model's shape.
    theta : ndarray
        ``(spec.n_params,)`` float64 parameters.
    X : ndarray or scipy.sparse.csr_matrix
        ``n x n_features`` rows (dense or CSR; never copied).
    y : ndarray
        ``(n,)`` targets: values (``squared``), 0/1 (binary losses) or class ids (``softmax``).
    sample_weight : ndarray, optional
        ``(n,)`` weights multiplying each row's loss (class weights come through these).
    masks : sequence of ndarray, optional
        Fixed 0/1 dropout masks, one ``n x width`` array per hidden layer (gradient checks);
        otherwise training draws them from ``rng``.
    rng : numpy.random.Generator, optional
        The source of dropout masks in training.
    train : bool
        Training mode: dropout on, batch norm by the batch's statistics. ``False``: no dropout,
        batch norm by the running statistics of ``bn``.
    bn : BatchNormState, optional
        Running statistics, needed in evaluation mode by a batch-norm model.

    Returns
    -------
    Pass
        ``loss`` (sum over rows, no penalty), ``grad`` (its gradient, shape of ``theta``), ``n``
        and, in training with batch norm, each hidden layer's :class:`BatchStats`.

    Raises
    ------
    InputError
        On shapes that do not fit ``spec``, dropout without masks or rng, batch norm in
        training on a single row (as PyTorch), or evaluation of batch norm without ``bn``.

    Notes
    -----
    With batch norm in training the batch loss is not a sum of independent row terms (every row
    is normalized by the batch's statistics); the sums returned are still what the trainer
    divides by ``n``. Cost: two dense products per layer (three but the first), one sparse
    product each way for ``X``; no Python loop over rows.
    """
    theta = _check(spec, theta, X)
    n = X.shape[0]
    if len(y) != n or (sample_weight is not None and len(sample_weight) != n):
        raise InputError(f"y and sample_weight must have one value per row of X ({n})")
    if n == 0:  # an empty partition contributes nothing
        return Pass(0.0, np.zeros_like(theta), 0)
    if spec.batch_norm and train and n < 2:
        raise InputError("batch norm in training needs at least 2 rows per batch, got 1")
    s, caches, last_input, stats = _forward(spec, theta, X, train=train, masks=masks, rng=rng,
                                           bn=bn)
    loss, d_scores = LOSSES[spec.loss].fn(s, y, sample_weight)
    return Pass(loss, _backward(spec, theta, caches, last_input, d_scores, train), n, stats)


def scores(spec: NetSpec, theta: np.ndarray, X: np.ndarray | sp.csr_matrix, *,
           bn: BatchNormState | None = None) -> np.ndarray:
    """Evaluation-mode scores: ``(n,)`` for one output, ``(n, k)`` for ``softmax``.

    No dropout; batch norm by the running statistics of ``bn`` (required when
    ``spec.batch_norm``). Turn them into labels or probabilities with
    :func:`~mining.sgd._losses.predict_from_scores` and ``proba_from_scores``.
    """
    theta = _check(spec, theta, X)
    s = _forward(spec, theta, X, train=False, masks=None, rng=None, bn=bn)[0]
    return s.reshape(-1) if spec.n_outputs == 1 else s


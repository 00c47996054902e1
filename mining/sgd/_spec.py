"""The shape of a model and the layout of its flat parameter vector (MMDS §12.2).

A model is a :class:`NetSpec` and a flat float64 vector ``theta`` holding, layer after layer
(hidden layers first, the output layer last), the weights ``W`` (fan_in x fan_out, row-major),
the bias ``b``, and with batch norm the scale ``gamma`` and shift ``beta``; :meth:`NetSpec.layers`
gives each part's slice. Hidden layers always have a bias, except under batch norm, whose
``beta`` replaces it (a bias before batch norm is subtracted out with the batch mean: its
gradient would be 0); ``fit_intercept`` is the output layer's bias, as in scikit-learn's linear
models. Also the initial ``theta`` (:meth:`NetSpec.init`) and the elastic-net :func:`penalty`.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from mining.errors import InputError
from mining.sgd._activations import ACTIVATIONS, RELU_FAMILY
from mining.sgd._losses import LOSSES

__all__ = ["INITIALIZERS", "Layer", "NetSpec", "penalty"]

INITIALIZERS = ("auto", "xavier", "glorot", "he", "zeros")


@dataclass(frozen=True)
class Layer:
    """Where one layer's parameters lie in ``theta`` (``None``: the layer has no such part)."""

    fan_in: int
    fan_out: int
    weight: slice
    bias: slice | None
    gamma: slice | None
    beta: slice | None


@dataclass(frozen=True)
class NetSpec:
    """The shape of a model: features, outputs, loss, hidden layers and their options.

    ``n_outputs`` is 1 for ``squared``, ``logistic``, ``hinge``, ``squared_hinge`` and the number
    of classes for ``softmax``. ``dropout`` is the drop probability of each hidden unit in
    training (inverted dropout: kept units scaled by ``1 / (1 - p)``); ``batch_norm`` normalizes
    each hidden layer's pre-activations. Invalid combinations raise :class:`InputError`.
    """

    n_features: int
    n_outputs: int
    loss: str
    hidden: tuple[int, ...] = ()
    activation: str = "relu"
    dropout: float = 0.0
    batch_norm: bool = False
    fit_intercept: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        if self.loss not in LOSSES:
            raise InputError(f"unknown loss {self.loss!r}; choose one of {', '.join(LOSSES)}")
        if self.activation not in ACTIVATIONS:
            raise InputError(f"unknown activation {self.activation!r}; "
                             f"choose one of {', '.join(ACTIVATIONS)}")
        if self.n_features < 1 or any(h < 1 for h in self.hidden):
            raise InputError(f"n_features and hidden widths must be >= 1, got "
                             f"{self.n_features} and {self.hidden}")
        if not 0.0 <= self.dropout < 1.0:
            raise InputError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.loss == "softmax" and self.n_outputs < 2:
            raise InputError(f"loss 'softmax' needs n_outputs >= 2 (the number of classes), "
                             f"got {self.n_outputs}")
        if self.loss != "softmax" and self.n_outputs != 1:
            raise InputError(f"loss {self.loss!r} needs n_outputs == 1, got {self.n_outputs}")
        if not self.hidden and (self.batch_norm or self.dropout > 0.0):
            raise InputError("batch_norm and dropout need at least one hidden layer")

    def layers(self) -> tuple[Layer, ...]:
        """The layers in order (hidden layers, then the output layer), as slices of ``theta``."""
        return self._layers

    # Computed once per spec: every forward-backward pass reads the layout three times, and
    # rebuilding it cost ~12 us a time, a tenth of a small batch's pass. cached_property writes
    # the instance __dict__ directly, which a frozen dataclass allows (and pickle carries).
    @cached_property
    def _layers(self) -> tuple[Layer, ...]:
        widths = (self.n_features, *self.hidden, self.n_outputs)
        out: list[Layer] = []
        start = 0

        def take(size: int) -> slice:
            nonlocal start
            start += size
            return slice(start - size, start)

        for i, (fan_in, fan_out) in enumerate(itertools.pairwise(widths)):
            is_output = i == len(self.hidden)
            weight = take(fan_in * fan_out)
            has_bias = self.fit_intercept if is_output else not self.batch_norm
            bias = take(fan_out) if has_bias else None
            bn = self.batch_norm and not is_output
            gamma, beta = (take(fan_out), take(fan_out)) if bn else (None, None)
            out.append(Layer(fan_in, fan_out, weight, bias, gamma, beta))
        return tuple(out)

    @property
    def n_params(self) -> int:
        """The length of ``theta``."""
        last = self.layers()[-1]
        return int(max(s.stop for s in (last.weight, last.bias) if s is not None))

    def penalty_mask(self) -> np.ndarray:
        """1.0 on the weights ``W``, 0.0 on biases and batch-norm ``gamma``/``beta``.

        As scikit-learn and PyTorch's usual practice: penalizing an intercept would make the model
        depend on the origin of ``y``, and penalizing ``gamma`` fights the normalization.
        """
        mask = np.zeros(self.n_params)
        for layer in self.layers():
            mask[layer.weight] = 1.0
        return mask

    def init(self, rng: np.random.Generator, initializer: str = "auto") -> np.ndarray:
        """Initial ``theta``: weights by ``initializer``, biases and ``beta`` 0, ``gamma`` 1.

        Parameters
        ----------
        rng : numpy.random.Generator
            The source of the random weights.
        initializer : {"auto", "xavier", "glorot", "he", "zeros"}
            ``xavier``/``glorot``: uniform on ``±sqrt(6 / (fan_in + fan_out))`` (Glorot and
            Bengio, AISTATS 2010); ``he``: normal with deviation ``sqrt(2 / fan_in)`` (He et al.,
            ICCV 2015); ``auto``: zeros for a linear model (a convex loss needs no symmetry
            breaking, and zeros is scikit-learn's start), He for the ReLU family, Xavier for
            ``sigmoid``, ``tanh`` and ``identity``.
        """
        if initializer not in INITIALIZERS:
            raise InputError(f"unknown initializer {initializer!r}; "
                             f"choose one of {', '.join(INITIALIZERS)}")
        if initializer == "auto":
            initializer = ("zeros" if not self.hidden
                           else "he" if self.activation in RELU_FAMILY else "xavier")
        theta = np.zeros(self.n_params)
        for layer in self.layers():
            size = layer.fan_in * layer.fan_out
            if initializer in ("xavier", "glorot"):
                limit = math.sqrt(6.0 / (layer.fan_in + layer.fan_out))
                theta[layer.weight] = rng.uniform(-limit, limit, size)
            elif initializer == "he":
                theta[layer.weight] = rng.normal(0.0, math.sqrt(2.0 / layer.fan_in), size)
            if layer.gamma is not None:
                theta[layer.gamma] = 1.0
        return theta


def penalty(theta: np.ndarray, mask: np.ndarray, *, alpha: float,
            l1_ratio: float) -> tuple[float, np.ndarray]:
    """The elastic-net penalty of the masked entries of ``theta``, and its (sub)gradient.

    ``alpha (l1_ratio |w|_1 + (1 - l1_ratio) / 2 |w|_2^2)`` over ``w = mask * theta``, as
    scikit-learn's ``SGDClassifier(penalty="elasticnet")``: ``l1_ratio = 0`` is L2 (ridge),
    ``1`` is L1 (lasso). The L1 subgradient is ``sign(w)``, 0 at 0.

    Raises
    ------
    InputError
        If ``alpha < 0`` or ``l1_ratio`` is outside ``[0, 1]``.
    """
    if alpha < 0.0 or not 0.0 <= l1_ratio <= 1.0:
        raise InputError(f"need alpha >= 0 and 0 <= l1_ratio <= 1, got {alpha} and {l1_ratio}")
    if alpha == 0.0:
        return 0.0, np.zeros_like(theta, dtype=np.float64)
    w = theta * mask
    l2 = (1.0 - l1_ratio) * alpha
    l1 = l1_ratio * alpha
    value = l1 * float(np.abs(w).sum()) + 0.5 * l2 * float(np.dot(w, w))
    return value, l1 * np.sign(w) + l2 * w

"""Activation functions of the hidden layers and their derivatives, as numpy kernels.

Each :class:`Activation` has ``forward(z) -> a`` and ``backward(z, a, grad_a) -> grad_z`` (the
chain rule through the elementwise function: ``grad_a * f'(z)``); ``backward`` gets both the
input and the output so that each derivative uses whichever is cheaper (``tanh' = 1 - a^2``,
``relu' = [z > 0]``). The definitions are PyTorch's defaults: ``leaky_relu`` with slope 0.01,
``elu`` with ``alpha = 1``, the exact (erf) ``gelu``, ``swish`` as ``SiLU``. At a kink (``relu``
and ``leaky_relu`` at 0) the derivative taken is the left one, as PyTorch's.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import erf, expit

__all__ = ["ACTIVATIONS", "RELU_FAMILY", "Activation", "elu", "gelu", "identity", "leaky_relu",
           "relu", "sigmoid", "swish", "tanh"]

LEAKY_SLOPE = 0.01
ELU_ALPHA = 1.0
_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


@dataclass(frozen=True)
class Activation:
    """An elementwise activation: ``forward(z)`` and ``backward(z, a, grad_a) -> grad_z``."""

    name: str
    forward: Callable[[np.ndarray], np.ndarray]
    backward: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def sigmoid(z: np.ndarray) -> np.ndarray:
    """The logistic function ``1 / (1 + exp(-z))``, without overflow for any finite ``z``.

    ``scipy.special.expit`` evaluates the branch that exponentiates ``-|z|`` only, so it
    neither overflows nor raises floating-point flags at ``|z| = 1e4`` (the naive formula
    overflows ``exp`` from ``z < -709``).
    """
    return np.asarray(expit(z), dtype=np.float64)


def _sigmoid_backward(z: np.ndarray, a: np.ndarray, grad_a: np.ndarray) -> np.ndarray:
    return grad_a * a * (1.0 - a)


def tanh(z: np.ndarray) -> np.ndarray:
    """The hyperbolic tangent."""
    return np.tanh(z)


def _tanh_backward(z: np.ndarray, a: np.ndarray, grad_a: np.ndarray) -> np.ndarray:
    return grad_a * (1.0 - a * a)


def relu(z: np.ndarray) -> np.ndarray:
    """``max(z, 0)``."""
    return np.maximum(z, 0.0)


def _relu_backward(z: np.ndarray, a: np.ndarray, grad_a: np.ndarray) -> np.ndarray:
    return np.where(z > 0.0, grad_a, 0.0)


def leaky_relu(z: np.ndarray) -> np.ndarray:
    """``z`` for ``z > 0``, ``0.01 z`` otherwise (PyTorch's default slope)."""
    return np.where(z > 0.0, z, LEAKY_SLOPE * z)


def _leaky_relu_backward(z: np.ndarray, a: np.ndarray, grad_a: np.ndarray) -> np.ndarray:
    return np.where(z > 0.0, grad_a, LEAKY_SLOPE * grad_a)


def elu(z: np.ndarray) -> np.ndarray:
    """``z`` for ``z > 0``, ``exp(z) - 1`` otherwise (``alpha = 1``)."""
    # expm1 of min(z, 0): exp is never evaluated at a large positive z (no overflow), and
    # expm1 keeps the relative precision of exp(z) - 1 for small negative z.
    return np.where(z > 0.0, z, ELU_ALPHA * np.expm1(np.minimum(z, 0.0)))


def _elu_backward(z: np.ndarray, a: np.ndarray, grad_a: np.ndarray) -> np.ndarray:
    # For z <= 0, d/dz alpha (e^z - 1) = alpha e^z = a + alpha: no second exp.
    return np.where(z > 0.0, grad_a, grad_a * (a + ELU_ALPHA))


def _normal_cdf(z: np.ndarray) -> np.ndarray:
    return np.asarray(0.5 * (1.0 + erf(z * _INV_SQRT2)), dtype=np.float64)


def gelu(z: np.ndarray) -> np.ndarray:
    """``z Φ(z)`` with ``Φ`` the standard normal CDF (the exact form, PyTorch's default)."""
    return z * _normal_cdf(z)


def _gelu_backward(z: np.ndarray, a: np.ndarray, grad_a: np.ndarray) -> np.ndarray:
    # d/dz z Φ(z) = Φ(z) + z φ(z); Φ is recomputed, as recovering it from a = z Φ(z) fails at 0.
    density = _INV_SQRT_2PI * np.exp(-0.5 * z * z)
    return grad_a * (_normal_cdf(z) + z * density)


def swish(z: np.ndarray) -> np.ndarray:
    """``z sigmoid(z)`` (PyTorch's SiLU)."""
    return z * sigmoid(z)


def _swish_backward(z: np.ndarray, a: np.ndarray, grad_a: np.ndarray) -> np.ndarray:
    # d/dz z s(z) = s + z s (1 - s) = s (1 + z (1 - s)); s is recomputed, a / z fails at 0.
    s = sigmoid(z)
    return grad_a * s * (1.0 + z * (1.0 - s))


def identity(z: np.ndarray) -> np.ndarray:
    """``z`` itself (a linear layer)."""
    return z


def _identity_backward(z: np.ndarray, a: np.ndarray, grad_a: np.ndarray) -> np.ndarray:
    return grad_a


ACTIVATIONS: dict[str, Activation] = {
    "identity": Activation("identity", identity, _identity_backward),
    "sigmoid": Activation("sigmoid", sigmoid, _sigmoid_backward),
    "tanh": Activation("tanh", tanh, _tanh_backward),
    "relu": Activation("relu", relu, _relu_backward),
    "leaky_relu": Activation("leaky_relu", leaky_relu, _leaky_relu_backward),
    "elu": Activation("elu", elu, _elu_backward),
    "gelu": Activation("gelu", gelu, _gelu_backward),
    "swish": Activation("swish", swish, _swish_backward),
}

# Activations whose units are (close to) rectifiers, for which He initialization keeps the
# variance of the pre-activations constant across layers (He et al., ICCV 2015).
RELU_FAMILY = frozenset({"relu", "leaky_relu", "elu", "gelu", "swish"})

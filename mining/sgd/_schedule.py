"""Learning-rate schedules and gradient-norm clipping for the SGD trainer, as torch's.

The rate is a function of the epoch (torch's ``StepLR`` / ``ExponentialLR`` conventions, and the
1/t and 1/sqrt(t) decays of the notes this project started from); clipping is
``torch.nn.utils.clip_grad_norm_`` with the 2-norm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mining.errors import InputError
from mining.sgd._optim import check_at_least, flat_vector

__all__ = ["SCHEDULES", "Schedule", "clip_by_norm"]

SCHEDULES = ("constant", "step", "exponential", "inverse", "inverse_sqrt")
_CLIP_EPS = 1e-6  # torch.nn.utils.clip_grad_norm_ divides by norm + 1e-6


@dataclass(frozen=True)
class Schedule:
    """A learning rate as a function of the step (or epoch) number ``t = 0, 1, 2, ...``.

    Parameters
    ----------
    kind : str
        One of :data:`SCHEDULES`: ``"constant"`` ``lr``; ``"step"``
        ``lr * gamma ** (t // step_size)`` (torch ``StepLR``); ``"exponential"``
        ``lr * gamma ** t`` (torch ``ExponentialLR``); ``"inverse"`` ``lr / (1 + decay t)``;
        ``"inverse_sqrt"`` ``lr / sqrt(1 + decay t)``.
    lr, gamma : float
        The rate at ``t = 0`` and the factor of step/exponential, both > 0.
    step_size : int
        The period of ``"step"``, >= 1.
    decay : float
        The slope of the inverse schedules, >= 0.

    Raises
    ------
    InputError
        Unknown kind or a parameter out of its range.

    Examples
    --------
    >>> Schedule("step", lr=1.0, gamma=0.5, step_size=2).rate(5)
    0.25
    """

    kind: str
    lr: float = 0.01
    gamma: float = 0.1
    step_size: int = 10
    decay: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in SCHEDULES:
            raise InputError(f"unknown schedule {self.kind!r}; known: {', '.join(SCHEDULES)}")
        for what, value in (("lr", self.lr), ("gamma", self.gamma)):
            if not (math.isfinite(value) and value > 0):
                raise InputError(f"{what} must be finite and > 0, got {value!r}")
        if type(self.step_size) is not int or self.step_size < 1:
            raise InputError(f"step_size must be an integer >= 1, got {self.step_size!r}")
        check_at_least("decay", self.decay, 0.0)

    def rate(self, t: int) -> float:
        """The learning rate at step (or epoch) ``t >= 0``."""
        if isinstance(t, bool) or not isinstance(t, int | np.integer) or t < 0:
            raise InputError(f"t must be an integer >= 0, got {t!r}")
        t = int(t)
        if self.kind == "step":
            return self.lr * self.gamma ** (t // self.step_size)
        if self.kind == "exponential":
            return self.lr * self.gamma**t
        if self.kind == "inverse":
            return self.lr / (1.0 + self.decay * t)
        if self.kind == "inverse_sqrt":
            return self.lr / math.sqrt(1.0 + self.decay * t)
        return self.lr


def clip_by_norm(grad: np.ndarray, max_norm: float | None) -> np.ndarray:
    """``grad`` scaled down to a 2-norm of at most about ``max_norm``, as torch's clipping.

    Parameters
    ----------
    grad : numpy.ndarray
        A flat gradient (cast to float64; never modified in place).
    max_norm : float or None
        The largest norm let through, > 0; None: no clipping.

    Returns
    -------
    numpy.ndarray
        ``grad * max_norm / (norm + 1e-6)`` when that factor is below 1, else ``grad`` itself
        (as float64): ``torch.nn.utils.clip_grad_norm_`` with ``norm_type=2``.

    Raises
    ------
    InputError
        ``grad`` is not a flat vector, or ``max_norm`` is not finite and > 0.
    """
    g = flat_vector("grad", grad)
    if max_norm is None:
        return g
    if not (math.isfinite(max_norm) and max_norm > 0):
        raise InputError(f"max_norm must be finite and > 0, got {max_norm!r}")
    coef = max_norm / (math.sqrt(float(np.dot(g, g))) + _CLIP_EPS)
    return np.multiply(g, coef) if coef < 1.0 else g

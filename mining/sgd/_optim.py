"""Optimizers for the SGD trainer (MMDS ch. 12-13); schedules and clipping are in ``_schedule``.

Parameters are one flat float64 vector ``theta``; an optimizer's state is a dict of plain numpy
arrays because it travels (shipped to Spark tasks, averaged across them, checkpointed with
``np.savez``). Hence a functional API: :meth:`Optimizer.init` makes a state and
:meth:`Optimizer.step` returns the new ``theta``, updating the state in place. Every rule, default
and epsilon convention is torch.optim's (single-tensor path), checked step for step in the tests.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mining.errors import InputError

__all__ = ["OPTIMIZERS", "Optimizer", "check_at_least", "flat_vector"]

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam")

# torch.optim's defaults, where they differ between optimizers.
_DEFAULT_EPS = {"adagrad": 1e-10, "rmsprop": 1e-8, "adadelta": 1e-6, "adam": 1e-8}
_DEFAULT_RHO = {"rmsprop": 0.99, "adadelta": 0.9}
# The state vectors of each optimizer besides "step", under the names torch's state_dict uses.
_STATE_KEYS: dict[str, tuple[str, ...]] = {
    "sgd": (), "momentum": ("momentum_buffer",), "nesterov": ("momentum_buffer",),
    "adagrad": ("sum",), "rmsprop": ("square_avg",), "adadelta": ("square_avg", "acc_delta"),
    "adam": ("exp_avg", "exp_avg_sq"),
}

State = dict[str, np.ndarray]


@dataclass(frozen=True)
class Optimizer:
    """A first-order optimizer over a flat float64 parameter vector, as torch.optim defines it.

    Parameters
    ----------
    name : str
        One of :data:`OPTIMIZERS`.
    momentum : float
        μ of ``"momentum"`` and ``"nesterov"`` (torch ``SGD(momentum=μ, dampening=0)``).
    beta1, beta2 : float
        Adam's moment decays, in [0, 1).
    rho : float or None
        RMSprop's ``alpha`` / Adadelta's ``rho``, in [0, 1); None: torch's (0.99 / 0.9).
    eps : float or None
        The denominator guard, >= 0; None: torch's (Adagrad 1e-10, RMSprop 1e-8, Adadelta 1e-6,
        Adam 1e-8).
    weight_decay : float
        Coupled L2, torch's: ``weight_decay * theta`` joins the gradient (not AdamW's decay).

    Raises
    ------
    InputError
        Unknown name; negative momentum, eps or weight_decay; a beta or rho outside [0, 1).

    Notes
    -----
    torch's rules, with ``g`` = gradient + ``weight_decay * theta``, ``t`` the step from 1 and
    every state vector starting at zero:

    * sgd ``theta -= lr g``; momentum ``buf = μ buf + g; theta -= lr buf`` (the zero start
      makes the first ``buf`` exactly ``g``, torch's clone); nesterov, same ``buf``,
      ``theta -= lr (g + μ buf)``.
    * adagrad ``sum += g²; theta -= lr g / (sqrt(sum) + eps)`` (no lr decay).
    * rmsprop ``sq = ρ sq + (1-ρ) g²; theta -= lr g / (sqrt(sq) + eps)`` (not centred).
    * adadelta ``sq`` as rmsprop, ``d = sqrt(acc + eps) / sqrt(sq + eps) g;
      acc = ρ acc + (1-ρ) d²; theta -= lr d``: eps inside both roots, and torch's ``lr``
      (default 1.0) scales ``d``, so ``lr=1.0`` gives the textbook rule.
    * adam ``m += (1-β1)(g - m); v = β2 v + (1-β2) g²;
      theta -= lr / (1-β1^t) m / (sqrt(v) / sqrt(1-β2^t) + eps)``: both moments bias
      corrected, eps added after the root of the corrected second moment.

    A step makes a few passes over the ``n`` entries with at most three ``n``-sized temporaries.

    Examples
    --------
    >>> import numpy as np
    >>> opt = Optimizer("momentum", momentum=0.5)
    >>> state = opt.init(2)
    >>> theta = opt.step(np.zeros(2), np.array([1.0, -2.0]), state, lr=0.1)
    >>> opt.step(theta, np.array([1.0, -2.0]), state, lr=0.1).tolist()
    [-0.25, 0.5]
    """

    name: str
    momentum: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    rho: float | None = None
    eps: float | None = None
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        if self.name not in OPTIMIZERS:
            raise InputError(f"unknown optimizer {self.name!r}; known: {', '.join(OPTIMIZERS)}")
        check_at_least("momentum", self.momentum, 0.0)
        if self.name == "nesterov" and self.momentum == 0:
            raise InputError("nesterov needs momentum > 0")
        check_at_least("weight_decay", self.weight_decay, 0.0)
        if self.eps is not None:
            check_at_least("eps", self.eps, 0.0)
        for what, value in (("beta1", self.beta1), ("beta2", self.beta2), ("rho", self.rho)):
            if value is not None and not 0.0 <= value < 1.0:
                raise InputError(f"{what} must be in [0, 1), got {value!r}")

    @property
    def effective_eps(self) -> float:
        """``eps``, or torch's default for this optimizer (0.0 where none is used)."""
        return self.eps if self.eps is not None else _DEFAULT_EPS.get(self.name, 0.0)

    @property
    def effective_rho(self) -> float:
        """``rho``, or torch's default for this optimizer (0.0 where none is used)."""
        return self.rho if self.rho is not None else _DEFAULT_RHO.get(self.name, 0.0)

    def init(self, n_params: int) -> State:
        """A fresh, all-zero state for ``n_params`` parameters.

        ``"step"`` (int64, shape (1,) so every value is an array) counts the steps taken; the
        float64 vectors of shape ``(n_params,)`` are named as in torch's ``state_dict``
        (``momentum_buffer``, ``sum``, ``square_avg``, ``acc_delta``, ``exp_avg``, ``exp_avg_sq``).
        """
        if isinstance(n_params, bool) or not isinstance(n_params, int | np.integer) \
                or n_params < 0:
            raise InputError(f"n_params must be an integer >= 0, got {n_params!r}")
        n = int(n_params)
        state = {"step": np.zeros(1, np.int64)}
        state.update({key: np.zeros(n, np.float64) for key in _STATE_KEYS[self.name]})
        return state

    def step(self, theta: np.ndarray, grad: np.ndarray, state: State, lr: float) -> np.ndarray:
        """One update: the new parameters (a new float64 vector); ``state`` is updated in place.

        Parameters
        ----------
        theta, grad : numpy.ndarray
            The parameters and the loss gradient there, flat vectors of one shape (float32 is
            cast to float64); neither is modified.
        state : dict of str to numpy.ndarray
            From :meth:`init` of an optimizer of this name for ``theta.size`` parameters.
        lr : float
            This step's learning rate (from a :class:`Schedule`), finite and >= 0.

        Raises
        ------
        InputError
            Shapes that disagree, a state of another optimizer or size, a bad ``lr``.
        """
        theta = flat_vector("theta", theta)
        g = flat_vector("grad", grad)
        if g.shape != theta.shape:
            raise InputError(f"grad has shape {g.shape} but theta has shape {theta.shape}")
        self._check_state(state, theta.size)
        if not (math.isfinite(lr) and lr >= 0):
            raise InputError(f"lr must be finite and >= 0, got {lr!r}")
        if self.weight_decay != 0:
            g = g + self.weight_decay * theta  # a new array: the caller's gradient stays intact
        state["step"] += 1
        delta = _RULES[self.name](self, g, state, float(lr))
        return np.subtract(theta, delta, out=delta)

    def _check_state(self, state: State, n: int) -> None:
        make = f"make it with Optimizer({self.name!r}).init(n_params)"
        step = state.get("step")
        if not isinstance(step, np.ndarray) or step.shape != (1,):
            raise InputError(f"optimizer state needs a 'step' array of shape (1,); {make}")
        for key in _STATE_KEYS[self.name]:
            value = state.get(key)
            if not isinstance(value, np.ndarray):
                raise InputError(f"optimizer state lacks {key!r}; {make}")
            if value.shape != (n,) or value.dtype != np.float64:
                raise InputError(f"optimizer state {key!r} is {value.dtype} {value.shape}, "
                                 f"expected float64 ({n},)")


# Each rule takes g (weight decay included), the state (step already incremented) and lr, and
# returns a new vector delta with theta_new = theta - delta; the state is updated in place.
_Rule = Callable[[Optimizer, np.ndarray, State, float], np.ndarray]


def _sgd(opt: Optimizer, g: np.ndarray, state: State, lr: float) -> np.ndarray:
    return np.multiply(g, lr)


def _momentum(opt: Optimizer, g: np.ndarray, state: State, lr: float) -> np.ndarray:
    buf = state["momentum_buffer"]
    np.multiply(buf, opt.momentum, out=buf)
    np.add(buf, g, out=buf)
    if opt.name == "nesterov":
        delta = np.multiply(buf, opt.momentum)
        np.add(g, delta, out=delta)
        return np.multiply(delta, lr, out=delta)
    return np.multiply(buf, lr)


def _adagrad(opt: Optimizer, g: np.ndarray, state: State, lr: float) -> np.ndarray:
    total = state["sum"]
    delta = np.multiply(g, g)
    np.add(total, delta, out=total)
    np.sqrt(total, out=delta)
    np.add(delta, opt.effective_eps, out=delta)
    np.divide(g, delta, out=delta)
    return np.multiply(delta, lr, out=delta)


def _decay_square(avg: np.ndarray, g: np.ndarray, rho: float, scratch: np.ndarray) -> None:
    """``avg = rho * avg + (1 - rho) * g²`` in place, in torch's order of operations."""
    np.multiply(g, g, out=scratch)
    np.multiply(scratch, 1.0 - rho, out=scratch)
    np.multiply(avg, rho, out=avg)
    np.add(avg, scratch, out=avg)


def _rmsprop(opt: Optimizer, g: np.ndarray, state: State, lr: float) -> np.ndarray:
    square_avg = state["square_avg"]
    delta = np.empty_like(g)
    _decay_square(square_avg, g, opt.effective_rho, delta)
    np.sqrt(square_avg, out=delta)
    np.add(delta, opt.effective_eps, out=delta)
    np.divide(g, delta, out=delta)
    return np.multiply(delta, lr, out=delta)


def _adadelta(opt: Optimizer, g: np.ndarray, state: State, lr: float) -> np.ndarray:
    square_avg, acc_delta = state["square_avg"], state["acc_delta"]
    rho, eps = opt.effective_rho, opt.effective_eps
    std = np.empty_like(g)
    _decay_square(square_avg, g, rho, std)
    np.add(square_avg, eps, out=std)
    np.sqrt(std, out=std)
    delta = np.add(acc_delta, eps)
    np.sqrt(delta, out=delta)
    np.divide(delta, std, out=delta)
    np.multiply(delta, g, out=delta)
    _decay_square(acc_delta, delta, rho, std)
    return np.multiply(delta, lr, out=delta)


def _adam(opt: Optimizer, g: np.ndarray, state: State, lr: float) -> np.ndarray:
    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
    t = float(state["step"][0])
    delta = np.subtract(g, exp_avg)
    # torch moves the first moment with lerp, m + w (g - m); its other branch (w >= 0.5, i.e.
    # beta1 <= 0.5) rounds differently by an ulp, well inside the 1e-12 the tests demand.
    np.multiply(delta, 1.0 - opt.beta1, out=delta)
    np.add(exp_avg, delta, out=exp_avg)
    _decay_square(exp_avg_sq, g, opt.beta2, delta)
    step_size = lr / (1.0 - opt.beta1**t)
    np.sqrt(exp_avg_sq, out=delta)
    np.divide(delta, (1.0 - opt.beta2**t) ** 0.5, out=delta)
    np.add(delta, opt.effective_eps, out=delta)
    np.divide(exp_avg, delta, out=delta)
    return np.multiply(delta, step_size, out=delta)


_RULES: dict[str, _Rule] = {
    "sgd": _sgd, "momentum": _momentum, "nesterov": _momentum, "adagrad": _adagrad,
    "rmsprop": _rmsprop, "adadelta": _adadelta, "adam": _adam,
}


def flat_vector(what: str, values: np.ndarray) -> np.ndarray:
    """``values`` as a flat float64 vector, else :class:`InputError` naming ``what``."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise InputError(f"{what} must be a flat vector, got shape {array.shape}")
    return array


def check_at_least(what: str, value: float, low: float) -> None:
    """:class:`InputError` unless ``value`` is finite and at least ``low``."""
    if not (math.isfinite(value) and value >= low):
        raise InputError(f"{what} must be finite and >= {low:g}, got {value!r}")

"""The optimizers, schedules and clipping of mining.sgd._optim against torch.optim, step for step.

The problem is a 20-parameter logistic regression in float64 whose gradient is written out here in
closed form; ours and torch's trajectories each take the gradient at their own parameters, so an
update rule that differs anywhere drifts apart within a few of the 50 steps.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from mining.errors import InputError
from mining.sgd._optim import OPTIMIZERS, Optimizer
from mining.sgd._schedule import SCHEDULES, Schedule, clip_by_norm

torch = pytest.importorskip(
    "torch", reason="install the oracle-torch extra: make setup-test installs it"
)

N_ROWS, N_PARAMS, N_STEPS = 60, 20, 50
RTOL = 1e-12


def _problem() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(10)
    x = rng.normal(size=(N_ROWS, N_PARAMS))
    y = (x @ rng.normal(size=N_PARAMS) + rng.normal(size=N_ROWS) > 0).astype(np.float64)
    return x, y, rng.normal(scale=0.5, size=N_PARAMS)


X, Y, THETA0 = _problem()


def logistic_grad(theta: np.ndarray) -> np.ndarray:
    """The gradient of the mean logistic loss: X^T (sigmoid(X theta) - y) / n."""
    return X.T @ (1.0 / (1.0 + np.exp(-(X @ theta))) - Y) / N_ROWS


def lr_at(base: float, t: int) -> float:
    # A rate that changes every step checks that step() uses the lr it is given each time.
    return base * 0.98**t


def relative_error(ours: np.ndarray, want: np.ndarray) -> float:
    return float(np.linalg.norm(ours - want) / np.linalg.norm(want))


# (ours, torch class, torch keyword arguments, base lr)
CASES: dict[str, tuple[Optimizer, str, dict[str, Any], float]] = {
    "sgd": (Optimizer("sgd"), "SGD", {}, 0.5),
    "momentum": (Optimizer("momentum"), "SGD", {"momentum": 0.9}, 0.2),
    "momentum-0.5": (Optimizer("momentum", momentum=0.5), "SGD", {"momentum": 0.5}, 0.3),
    "nesterov": (Optimizer("nesterov"), "SGD", {"momentum": 0.9, "nesterov": True}, 0.2),
    "nesterov-0.7": (Optimizer("nesterov", momentum=0.7), "SGD",
                     {"momentum": 0.7, "nesterov": True}, 0.2),
    "adagrad": (Optimizer("adagrad"), "Adagrad", {}, 0.1),
    "adagrad-eps": (Optimizer("adagrad", eps=0.05), "Adagrad", {"eps": 0.05}, 0.1),
    "rmsprop": (Optimizer("rmsprop"), "RMSprop", {}, 0.01),
    "rmsprop-alpha": (Optimizer("rmsprop", rho=0.8, eps=0.05), "RMSprop",
                      {"alpha": 0.8, "eps": 0.05}, 0.01),
    "adadelta": (Optimizer("adadelta"), "Adadelta", {}, 1.0),
    "adadelta-rho": (Optimizer("adadelta", rho=0.5, eps=1e-2), "Adadelta",
                     {"rho": 0.5, "eps": 1e-2}, 0.7),
    "adam": (Optimizer("adam"), "Adam", {}, 0.05),
    # a large eps tells "eps after the bias-corrected sqrt" from the other placements
    "adam-betas-eps": (Optimizer("adam", beta1=0.7, beta2=0.95, eps=0.1), "Adam",
                       {"betas": (0.7, 0.95), "eps": 0.1}, 0.05),
}


def run_ours(opt: Optimizer, base_lr: float, steps: int = N_STEPS) -> list[np.ndarray]:
    theta, state, path = THETA0.copy(), opt.init(N_PARAMS), []
    for t in range(steps):
        theta = opt.step(theta, logistic_grad(theta), state, lr_at(base_lr, t))
        path.append(theta)
    return path


def run_torch(
    cls: str, kwargs: dict[str, Any], weight_decay: float, base_lr: float
) -> list[np.ndarray]:
    param = torch.nn.Parameter(torch.tensor(THETA0, dtype=torch.float64))
    optim = getattr(torch.optim, cls)(
        [param], lr=base_lr, weight_decay=weight_decay, foreach=False, **kwargs
    )
    path = []
    for t in range(N_STEPS):
        optim.param_groups[0]["lr"] = lr_at(base_lr, t)
        param.grad = torch.tensor(logistic_grad(param.detach().numpy().copy()), dtype=torch.float64)
        optim.step()
        path.append(param.detach().numpy().copy())
    return path


def with_decay(opt: Optimizer, weight_decay: float) -> Optimizer:
    return Optimizer(opt.name, momentum=opt.momentum, beta1=opt.beta1, beta2=opt.beta2,
                     rho=opt.rho, eps=opt.eps, weight_decay=weight_decay)


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
@pytest.mark.parametrize("case", list(CASES))
def test_matches_torch_step_for_step(case: str, weight_decay: float) -> None:
    opt, cls, kwargs, base_lr = CASES[case]
    ours = run_ours(with_decay(opt, weight_decay), base_lr)
    want = run_torch(cls, kwargs, weight_decay, base_lr)
    errors = [relative_error(a, b) for a, b in zip(ours, want)]
    worst = int(np.argmax(errors))
    assert errors[worst] <= RTOL, f"step {worst + 1}: relative error {errors[worst]:.3g}"
    # the comparison means something only if the parameters moved well beyond the tolerance
    assert relative_error(THETA0, want[-1]) > 1e-2


def test_cases_cover_every_optimizer() -> None:
    assert {opt.name for opt, *_ in CASES.values()} == set(OPTIMIZERS)


def test_variants_take_different_paths() -> None:
    # guards the oracle comparison against a degenerate problem where the rules coincide
    finals = {name: run_ours(opt, lr)[-1] for name, (opt, _, _, lr) in CASES.items()}
    names = list(finals)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert relative_error(finals[a], finals[b]) > 1e-6, (a, b)


@pytest.mark.parametrize(
    ("name", "cls", "torch_rho"),
    [("adagrad", "Adagrad", None), ("rmsprop", "RMSprop", "alpha"),
     ("adadelta", "Adadelta", "rho"), ("adam", "Adam", None)],
)
def test_defaults_are_torchs(name: str, cls: str, torch_rho: str | None) -> None:
    defaults = getattr(torch.optim, cls)([torch.nn.Parameter(torch.zeros(1))]).defaults
    opt = Optimizer(name)
    assert opt.effective_eps == defaults["eps"]
    if torch_rho is not None:
        assert opt.effective_rho == defaults[torch_rho]
    if name == "adam":
        assert (opt.beta1, opt.beta2) == defaults["betas"]


def test_adadelta_example_by_hand() -> None:
    # one step from zero state, g = 2, rho = 0.5, eps = 1: sq = 2, d = sqrt(1)/sqrt(3) * 2
    opt = Optimizer("adadelta", rho=0.5, eps=1.0)
    theta = opt.step(np.zeros(1), np.array([2.0]), opt.init(1), lr=1.0)
    assert theta[0] == pytest.approx(-2.0 / math.sqrt(3.0), rel=1e-15)


def _torch_rates(make: Callable[[Any], Any], n: int) -> list[float]:
    optim = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.3)
    scheduler, rates = make(optim), []
    for _ in range(n):
        rates.append(scheduler.get_last_lr()[0])
        optim.step()
        scheduler.step()
    return rates


@pytest.mark.parametrize(
    ("schedule", "make"),
    [
        (Schedule("constant", lr=0.3),
         lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda t: 1.0)),
        (Schedule("step", lr=0.3, gamma=0.5, step_size=7),
         lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=7, gamma=0.5)),
        (Schedule("step", lr=0.3),
         lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=10, gamma=0.1)),
        (Schedule("exponential", lr=0.3, gamma=0.95),
         lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.95)),
        (Schedule("inverse", lr=0.3, decay=0.25),
         lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda t: 1.0 / (1.0 + 0.25 * t))),
        (Schedule("inverse_sqrt", lr=0.3, decay=2.0),
         lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda t: (1.0 + 2.0 * t) ** -0.5)),
    ],
    ids=["constant", "step", "step-defaults", "exponential", "inverse", "inverse_sqrt"],
)
def test_schedules_match_torch(schedule: Schedule, make: Callable[[Any], Any]) -> None:
    want = _torch_rates(make, 60)
    ours = [schedule.rate(t) for t in range(60)]
    np.testing.assert_allclose(ours, want, rtol=RTOL, atol=0)
    assert schedule.kind in SCHEDULES


def test_step_schedule_by_hand() -> None:
    rates = [Schedule("step", lr=1.0, gamma=0.5, step_size=3).rate(t) for t in range(7)]
    assert rates == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]
    assert Schedule("inverse", lr=1.0, decay=1.0).rate(np.int64(3)) == 0.25


@pytest.mark.parametrize("scale", [0.0, 1e-3, 0.5, 1.0, 3.0, 1e4])
@pytest.mark.parametrize("max_norm", [0.5, 2.0])
def test_clip_by_norm_matches_torch(scale: float, max_norm: float) -> None:
    direction = np.random.default_rng(3).normal(size=N_PARAMS)
    grad = direction / np.linalg.norm(direction) * scale  # norm `scale`, 0 included
    before = grad.copy()
    param = torch.nn.Parameter(torch.zeros(N_PARAMS, dtype=torch.float64))
    param.grad = torch.tensor(grad, dtype=torch.float64)
    torch.nn.utils.clip_grad_norm_([param], max_norm, foreach=False)
    ours = clip_by_norm(grad, max_norm)
    np.testing.assert_allclose(ours, param.grad.numpy(), rtol=RTOL, atol=0)
    np.testing.assert_array_equal(grad, before)  # never in place
    if scale > max_norm:
        assert np.linalg.norm(ours) == pytest.approx(max_norm, rel=1e-5)


def test_clip_by_norm_none_and_float32() -> None:
    grad = np.arange(5.0) * 100
    np.testing.assert_array_equal(clip_by_norm(grad, None), grad)
    clipped = clip_by_norm(grad.astype(np.float32), 1.0)
    assert clipped.dtype == np.float64
    assert np.linalg.norm(clipped) == pytest.approx(1.0, rel=1e-6)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_state_round_trip(name: str) -> None:
    opt = Optimizer(name, weight_decay=0.01)
    theta, state = THETA0.copy(), opt.init(N_PARAMS)
    for _ in range(10):
        theta = opt.step(theta, logistic_grad(theta), state, 0.05)
    copied = {key: value.copy() for key, value in state.items()}
    buffer = io.BytesIO()
    np.savez(buffer, **state)
    buffer.seek(0)
    with np.load(buffer) as loaded:
        saved = {key: loaded[key] for key in loaded.files}
    assert state["step"].tolist() == [10]
    paths = []
    for st in (state, copied, saved, opt.init(N_PARAMS)):
        th = theta.copy()
        for _ in range(10):
            th = opt.step(th, logistic_grad(th), st, 0.05)
        paths.append(th)
    np.testing.assert_array_equal(paths[1], paths[0])
    np.testing.assert_array_equal(paths[2], paths[0])
    if name != "sgd":  # the state matters: a fresh one goes elsewhere
        assert relative_error(paths[3], paths[0]) > 1e-8


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_float32_gradient_is_cast(name: str) -> None:
    opt = Optimizer(name)
    grad32 = logistic_grad(THETA0).astype(np.float32)
    theta, grad_before = THETA0.copy(), grad32.copy()
    new32 = opt.step(theta, grad32, opt.init(N_PARAMS), 0.1)
    new64 = opt.step(theta, grad32.astype(np.float64), opt.init(N_PARAMS), 0.1)
    assert new32.dtype == np.float64
    np.testing.assert_array_equal(new32, new64)
    np.testing.assert_array_equal(theta, THETA0)  # inputs untouched
    np.testing.assert_array_equal(grad32, grad_before)
    assert not np.array_equal(new32, THETA0)


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda: Optimizer("adamw"), "unknown optimizer 'adamw'; known: sgd, momentum, nesterov"),
        (lambda: Optimizer("adam", eps=-1e-8), "eps must be finite and >= 0"),
        (lambda: Optimizer("momentum", momentum=-0.1), "momentum must be finite and >= 0"),
        (lambda: Optimizer("nesterov", momentum=0.0), "nesterov needs momentum > 0"),
        (lambda: Optimizer("adam", beta1=1.0), r"beta1 must be in \[0, 1\), got 1.0"),
        (lambda: Optimizer("adam", beta2=-0.5), r"beta2 must be in \[0, 1\)"),
        (lambda: Optimizer("rmsprop", rho=1.5), r"rho must be in \[0, 1\)"),
        (lambda: Optimizer("sgd", weight_decay=-1.0), "weight_decay must be finite and >= 0"),
        (lambda: Optimizer("sgd").init(-1), "n_params must be an integer >= 0, got -1"),
        (lambda: Optimizer("sgd").init(2.5), "n_params must be an integer >= 0, got 2.5"),
        (lambda: Schedule("cosine"), "unknown schedule 'cosine'; known: constant, step"),
        (lambda: Schedule("step", step_size=0), "step_size must be an integer >= 1"),
        (lambda: Schedule("exponential", gamma=0.0), "gamma must be finite and > 0"),
        (lambda: Schedule("constant", lr=-0.1), "lr must be finite and > 0"),
        (lambda: Schedule("inverse", decay=-1.0), "decay must be finite and >= 0"),
        (lambda: Schedule("constant").rate(-1), "t must be an integer >= 0"),
        (lambda: clip_by_norm(np.ones(3), -1.0), "max_norm must be finite and > 0"),
        (lambda: clip_by_norm(np.ones((2, 2)), 1.0),
         r"grad must be a flat vector, got shape \(2, 2\)"),
    ],
)
def test_input_errors(make: Callable[[], object], fragment: str) -> None:
    with pytest.raises(InputError, match=fragment) as info:
        make()
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("theta", "grad", "state", "lr", "fragment"),
    [
        (np.zeros(3), np.zeros(4), Optimizer("adam").init(3), 0.1, "grad has shape"),
        (np.zeros(3), np.zeros(3), Optimizer("adam").init(4), 0.1, "expected float64 \\(3,\\)"),
        (np.zeros(3), np.zeros(3), Optimizer("sgd").init(3), 0.1, "lacks 'exp_avg'"),
        (np.zeros(3), np.zeros(3), {}, 0.1, "needs a 'step' array"),
        (np.zeros(3), np.zeros(3), Optimizer("adam").init(3), -0.1, "lr must be finite"),
        (np.zeros(3), np.zeros(3), Optimizer("adam").init(3), math.nan, "lr must be finite"),
    ],
)
def test_step_input_errors(
    theta: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray], lr: float, fragment: str
) -> None:
    with pytest.raises(InputError, match=fragment):
        Optimizer("adam").step(theta, grad, state, lr)

"""Model kernels (§12.2): analytic gradients against central finite differences, forward values
against an independent numpy forward pass and hand-computed losses, and the model's options.

The finite-difference oracle checks that ``grad`` is the derivative of ``loss``; the reference
forward pass (written here from the formulas, sharing only the documented parameter layout)
checks that ``loss`` itself is right. Random points are redrawn until they are clear of every
kink (ReLU at 0, hinge margin 1, L1 at 0), where a finite difference is not a derivative.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
import scipy.sparse as sp

from mining.errors import InputError
from mining.sgd._activations import ACTIVATIONS, sigmoid
from mining.sgd._losses import LOSSES, predict_from_scores, proba_from_scores
from mining.sgd._network import (
    BatchNormState,
    BatchStats,
    NetSpec,
    forward_backward,
    penalty,
    pool_batch_stats,
    scores,
)

H = 1e-6  # finite-difference step
RTOL = 1e-6  # relative error of the gradient
KINK = 1e-4  # distance from a kink that a step of H cannot cross
N_ROWS, N_FEATURES, N_CLASSES, HIDDEN = 10, 3, 3, (4, 3)
PENALTIES = {"none": (0.0, 0.0), "l2": (0.3, 0.0), "l1": (0.3, 1.0), "elasticnet": (0.3, 0.15)}
_erf = np.vectorize(math.erf)
REF_ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "identity": lambda z: z,
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0.0),
    "leaky_relu": lambda z: np.where(z > 0, z, 0.01 * z),
    "elu": lambda z: np.where(z > 0, z, np.exp(np.minimum(z, 0.0)) - 1.0),
    "gelu": lambda z: z * 0.5 * (1.0 + _erf(z / math.sqrt(2.0))),
    "swish": lambda z: z / (1.0 + np.exp(-z)),
}
KINKED = {"relu", "leaky_relu"}


def _n_out(loss: str) -> int:
    return N_CLASSES if loss == "softmax" else 1


def reference(spec: NetSpec, theta: np.ndarray, x: np.ndarray, masks: list | None = None,
              running: list | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
    """Scores (n x outputs) and each hidden layer's activation inputs, from the formulas."""
    h = x.toarray() if sp.issparse(x) else x
    pre = []
    for i, layer in enumerate(spec.layers()):
        z = h @ theta[layer.weight].reshape(layer.fan_in, layer.fan_out)
        if layer.bias is not None:
            z = z + theta[layer.bias]
        if i == len(spec.hidden):
            return z, pre
        if layer.gamma is not None:
            mean, var = (z.mean(axis=0), z.var(axis=0)) if running is None else running[i]
            z = theta[layer.gamma] * (z - mean) / np.sqrt(var + 1e-5) + theta[layer.beta]
        pre.append(z)
        h = REF_ACTIVATIONS[spec.activation](z)
        if masks is not None:
            h = h * masks[i] / (1.0 - spec.dropout)
    raise AssertionError("unreachable")


def reference_loss(loss: str, s: np.ndarray, y: np.ndarray, w: np.ndarray | None) -> float:
    """Sum of the row losses, from their textbook formulas."""
    if loss == "softmax":
        rows = np.log(np.exp(s).sum(axis=1)) - s[np.arange(len(y)), y.astype(int)]
    else:
        s, sign = s.ravel(), 2.0 * y - 1.0
        rows = {"squared": lambda: 0.5 * (s - y) ** 2,
                "logistic": lambda: np.log1p(np.exp(-sign * s)),
                "hinge": lambda: np.maximum(0.0, 1.0 - sign * s),
                "squared_hinge": lambda: np.maximum(0.0, 1.0 - sign * s) ** 2}[loss]()
    return float(np.sum(rows if w is None else w * rows))


@dataclass
class Case:
    X: np.ndarray
    y: np.ndarray
    theta: np.ndarray
    weight: np.ndarray | None
    masks: list | None


def _labels(loss: str, rng: np.random.Generator, n: int) -> np.ndarray:
    if loss == "squared":
        return rng.normal(size=n)
    classes = N_CLASSES if loss == "softmax" else 2
    return rng.permutation(np.arange(n) % classes).astype(float)  # every class, as floats


def _clear_of_kinks(spec: NetSpec, case: Case) -> bool:
    s, pre = reference(spec, case.theta, case.X, case.masks)
    if spec.activation in KINKED and pre and min(np.abs(p).min() for p in pre) < KINK:
        return False
    if spec.loss in ("hinge", "squared_hinge"):
        margins = (2.0 * case.y - 1.0) * s.ravel()
        if np.abs(margins - 1.0).min() < KINK:
            return False
    return bool(np.abs(case.theta[spec.penalty_mask() == 1.0]).min() > KINK)


def draw(spec: NetSpec, *, weighted: bool = False, with_masks: bool = False,
         density: float = 1.0, n: int = N_ROWS) -> Case:
    """A random point (data, labels, parameters) clear of every kink."""
    for seed in range(100):
        rng = np.random.default_rng(seed)
        X = rng.normal(size=(n, spec.n_features))
        X[rng.random(X.shape) >= density] = 0.0
        case = Case(X, _labels(spec.loss, rng, n), rng.normal(0.0, 0.7, spec.n_params),
                    rng.uniform(0.2, 3.0, n) if weighted else None,
                    [(rng.random((n, h)) >= spec.dropout).astype(float) for h in spec.hidden]
                    if with_masks else None)
        if _clear_of_kinks(spec, case):
            return case
    raise AssertionError("no random point clear of the kinks")


def check_gradient(spec: NetSpec, case: Case, alpha: float = 0.0, l1_ratio: float = 0.0,
                   x: np.ndarray | sp.csr_matrix | None = None) -> None:
    """The mean loss plus penalty: analytic gradient against central differences."""
    X = case.X if x is None else x
    mask, n = spec.penalty_mask(), len(case.y)

    def objective(theta: np.ndarray) -> float:
        p = forward_backward(spec, theta, X, case.y, sample_weight=case.weight, masks=case.masks)
        return p.loss / n + penalty(theta, mask, alpha=alpha, l1_ratio=l1_ratio)[0]

    p = forward_backward(spec, case.theta, X, case.y, sample_weight=case.weight, masks=case.masks)
    g = p.grad / n + penalty(case.theta, mask, alpha=alpha, l1_ratio=l1_ratio)[1]
    g_fd = np.empty_like(g)
    for j in range(len(g)):
        up, down = case.theta.copy(), case.theta.copy()
        up[j] += H
        down[j] -= H
        g_fd[j] = (objective(up) - objective(down)) / (2 * H)
    err = np.linalg.norm(g - g_fd) / max(np.linalg.norm(g), np.linalg.norm(g_fd), 1e-12)
    assert err < RTOL, f"relative gradient error {err:.2e}"
    assert p.n == n


@pytest.mark.parametrize("pen", PENALTIES)
@pytest.mark.parametrize("loss", LOSSES)
def test_linear_gradient(loss: str, pen: str) -> None:
    spec = NetSpec(N_FEATURES, _n_out(loss), loss)
    check_gradient(spec, draw(spec), *PENALTIES[pen])


@pytest.mark.parametrize("pen", PENALTIES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("loss", LOSSES)
def test_mlp_gradient(loss: str, activation: str, pen: str) -> None:
    spec = NetSpec(N_FEATURES, _n_out(loss), loss, hidden=HIDDEN, activation=activation)
    check_gradient(spec, draw(spec), *PENALTIES[pen])


@pytest.mark.parametrize(("loss", "activation"),
                         [("softmax", "relu"), ("squared", "tanh"), ("logistic", "gelu")])
def test_dropout_gradient_with_fixed_masks(loss: str, activation: str) -> None:
    spec = NetSpec(N_FEATURES, _n_out(loss), loss, hidden=HIDDEN, activation=activation,
                   dropout=0.3)
    case = draw(spec, with_masks=True)
    assert 0 < sum(m.sum() for m in case.masks) < N_ROWS * sum(HIDDEN)  # some units dropped
    check_gradient(spec, case, *PENALTIES["elasticnet"])


@pytest.mark.parametrize("activation", ["relu", "tanh", "swish"])
@pytest.mark.parametrize("loss", ["softmax", "logistic", "squared", "squared_hinge"])
def test_batch_norm_gradient_training_mode(loss: str, activation: str) -> None:
    spec = NetSpec(N_FEATURES, _n_out(loss), loss, hidden=HIDDEN, activation=activation,
                   batch_norm=True)
    check_gradient(spec, draw(spec), *PENALTIES["l2"])


def test_batch_norm_with_dropout_and_weights_gradient() -> None:
    spec = NetSpec(N_FEATURES, N_CLASSES, "softmax", hidden=HIDDEN, activation="elu",
                   batch_norm=True, dropout=0.2)
    check_gradient(spec, draw(spec, with_masks=True, weighted=True), *PENALTIES["l1"])


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("hidden", [(), HIDDEN])
def test_sample_weight_gradient(loss: str, hidden: tuple[int, ...]) -> None:
    spec = NetSpec(N_FEATURES, _n_out(loss), loss, hidden=hidden, activation="tanh")
    check_gradient(spec, draw(spec, weighted=True))


@pytest.mark.parametrize("loss", LOSSES)
def test_sample_weight_two_is_a_duplicate_row_and_zero_a_missing_one(loss: str) -> None:
    spec = NetSpec(N_FEATURES, _n_out(loss), loss, hidden=HIDDEN, activation="sigmoid")
    case = draw(spec)
    w = np.ones(N_ROWS)
    w[0], w[1] = 2.0, 0.0
    weighted = forward_backward(spec, case.theta, case.X, case.y, sample_weight=w)
    rows = np.r_[0, np.arange(N_ROWS)[2:], 0]
    plain = forward_backward(spec, case.theta, case.X[rows], case.y[rows])
    assert weighted.loss == pytest.approx(plain.loss, rel=1e-12)
    np.testing.assert_allclose(weighted.grad, plain.grad, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("matrix", [sp.csr_matrix, sp.csr_array])
@pytest.mark.parametrize(("loss", "hidden", "batch_norm"),
                         [("logistic", (), False), ("softmax", HIDDEN, False),
                          ("hinge", HIDDEN, True)])
def test_sparse_and_dense_inputs_agree(matrix: type, loss: str, hidden: tuple[int, ...],
                                       batch_norm: bool) -> None:
    spec = NetSpec(N_FEATURES, _n_out(loss), loss, hidden=hidden, batch_norm=batch_norm)
    case = draw(spec, density=0.4, weighted=True)
    X_sparse = matrix(case.X)
    assert 0 < X_sparse.nnz < case.X.size
    dense = forward_backward(spec, case.theta, case.X, case.y, sample_weight=case.weight)
    sparse = forward_backward(spec, case.theta, X_sparse, case.y, sample_weight=case.weight)
    assert sparse.loss == pytest.approx(dense.loss, rel=1e-13)
    np.testing.assert_allclose(sparse.grad, dense.grad, rtol=1e-12, atol=1e-14)
    bn = BatchNormState.initial(spec) if batch_norm else None
    np.testing.assert_allclose(scores(spec, case.theta, X_sparse, bn=bn),
                               scores(spec, case.theta, case.X, bn=bn), rtol=1e-12)
    check_gradient(spec, case, x=X_sparse)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize(("loss", "batch_norm", "dropout"),
                         [("softmax", True, 0.3), ("logistic", False, 0.0),
                          ("squared", True, 0.0), ("hinge", False, 0.5)])
def test_loss_and_scores_match_the_reference_forward(activation: str, loss: str,
                                                      batch_norm: bool, dropout: float) -> None:
    spec = NetSpec(N_FEATURES, _n_out(loss), loss, hidden=HIDDEN, activation=activation,
                   batch_norm=batch_norm, dropout=dropout)
    case = draw(spec, weighted=True, with_masks=dropout > 0)
    p = forward_backward(spec, case.theta, case.X, case.y, sample_weight=case.weight,
                         masks=case.masks)
    s, _ = reference(spec, case.theta, case.X, case.masks)
    assert p.loss == pytest.approx(reference_loss(loss, s, case.y, case.weight), rel=1e-12)
    if not batch_norm:  # in evaluation mode: no dropout; batch norm would use running stats
        s_eval, _ = reference(spec, case.theta, case.X)
        np.testing.assert_allclose(scores(spec, case.theta, case.X),
                                   s_eval.ravel() if spec.n_outputs == 1 else s_eval,
                                   rtol=1e-12)


def test_activation_values_and_kink_convention() -> None:
    z = np.array([-2.0, -1.0, 0.0, 1.0])
    expected = {
        "identity": z,
        "sigmoid": [1 / (1 + math.e**2), 1 / (1 + math.e), 0.5, 1 / (1 + 1 / math.e)],
        "tanh": [math.tanh(-2), math.tanh(-1), 0.0, math.tanh(1)],
        "relu": [0.0, 0.0, 0.0, 1.0],
        "leaky_relu": [-0.02, -0.01, 0.0, 1.0],
        "elu": [math.exp(-2) - 1, math.exp(-1) - 1, 0.0, 1.0],
        "gelu": [-0.04550026389635842, -0.15865525393145707, 0.0, 0.8413447460685429],
        "swish": [-2 / (1 + math.e**2), -1 / (1 + math.e), 0.0, 1 / (1 + 1 / math.e)],
    }
    for name, values in expected.items():
        np.testing.assert_allclose(ACTIVATIONS[name].forward(z), values, rtol=1e-14, atol=0,
                                   err_msg=name)
    zero, one = np.zeros(1), np.ones(1)
    for name, slope in [("relu", 0.0), ("leaky_relu", 0.01)]:  # the left derivative at 0
        act = ACTIVATIONS[name]
        assert act.backward(zero, act.forward(zero), one)[0] == slope


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_derivative_by_finite_differences(name: str) -> None:
    act = ACTIVATIONS[name]
    z = np.linspace(-4.0, 4.0, 41) + 0.0123  # clear of 0
    grad = act.backward(z, act.forward(z), np.full_like(z, 1.5))
    fd = 1.5 * (act.forward(z + H) - act.forward(z - H)) / (2 * H)
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-9)


def test_loss_values_by_hand() -> None:
    one, zero = np.array([1.0]), np.array([0.0])
    cases = [  # (loss, scores, y, expected)
        ("squared", np.array([1.5]), np.array([0.5]), 0.5),
        ("logistic", np.array([2.0]), one, math.log(1 + math.exp(-2))),
        ("logistic", np.array([2.0]), zero, math.log(1 + math.exp(2))),
        ("hinge", np.array([0.5]), one, 0.5),
        ("hinge", np.array([0.5]), zero, 1.5),
        ("hinge", np.array([2.0]), one, 0.0),
        ("squared_hinge", np.array([0.5]), zero, 2.25),
        ("softmax", np.array([[1.0, 2.0, 3.0]]), np.array([0]),
         math.log(math.e + math.e**2 + math.e**3) - 1.0),
    ]
    for loss, s, y, expected in cases:
        value, grad = LOSSES[loss].fn(s, y, None)
        assert value == pytest.approx(expected, rel=1e-14), loss
        assert grad.shape == s.shape
    value, _ = LOSSES["hinge"].fn(np.array([0.5, 0.5]), np.array([1.0, 0.0]), np.array([2.0, 3.0]))
    assert value == pytest.approx(2.0 * 0.5 + 3.0 * 1.5)
    _, grad = LOSSES["hinge"].fn(np.array([1.0, -1.0]), np.array([1.0, 0.0]), None)
    np.testing.assert_array_equal(grad, [0.0, 0.0])  # the subgradient 0 on the margin


def test_extreme_scores_are_finite_without_warnings() -> None:
    big = np.array([-1e4, 1e4, -1e4, 1e4])
    y = np.array([1.0, 0.0, 0.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # Underflow is not trapped: 0 is the correctly rounded value of exp(-1e4).
        with np.errstate(all="raise", under="ignore"):
            np.testing.assert_array_equal(sigmoid(big), [0.0, 1.0, 0.0, 1.0])
            value, grad = LOSSES["logistic"].fn(big, y, None)
            assert value == pytest.approx(2e4, rel=1e-12)  # two rows wrong by a margin of 1e4
            np.testing.assert_allclose(grad, [-1.0, 1.0, 0.0, 0.0])
            value, grad = LOSSES["softmax"].fn(np.array([[1e4, -1e4], [-1e4, 1e4]]),
                                               np.array([1, 1]), None)
            assert value == pytest.approx(2e4, rel=1e-12)
            assert np.isfinite(grad).all()
            np.testing.assert_allclose(proba_from_scores("logistic", big), [0.0, 1.0, 0.0, 1.0])


def test_predictions_and_probabilities() -> None:
    np.testing.assert_array_equal(predict_from_scores("logistic", np.array([[-0.5], [2.0]])),
                                  [0, 1])
    np.testing.assert_array_equal(predict_from_scores("hinge", np.array([0.1, -3.0])), [1, 0])
    np.testing.assert_array_equal(predict_from_scores("squared", np.array([[1.5], [-2.0]])),
                                  [1.5, -2.0])
    s = np.array([[0.0, math.log(3.0)], [2.0, 1.0]])
    np.testing.assert_array_equal(predict_from_scores("softmax", s), [1, 0])
    np.testing.assert_allclose(proba_from_scores("softmax", s)[0], [0.25, 0.75], rtol=1e-14)
    np.testing.assert_allclose(proba_from_scores("logistic", np.array([0.0, math.log(3.0)])),
                               [0.5, 0.75], rtol=1e-14)
    for loss in ("squared", "hinge", "squared_hinge"):
        with pytest.raises(ValueError, match="no probabilities"):
            proba_from_scores(loss, np.zeros(2))


def test_fit_intercept_false_has_no_output_bias() -> None:
    spec = NetSpec(N_FEATURES, 1, "logistic", fit_intercept=False)
    assert spec.n_params == N_FEATURES
    case = draw(spec)
    check_gradient(spec, case, *PENALTIES["l2"])
    assert scores(spec, case.theta, np.zeros((2, N_FEATURES))).tolist() == [0.0, 0.0]


def test_layout_counts_and_penalty_mask() -> None:
    spec = NetSpec(3, 2, "softmax", hidden=(4,), batch_norm=True)
    # W1 3x4 (no bias under batch norm), gamma 4, beta 4, W2 4x2, b2 2.
    assert spec.n_params == 12 + 4 + 4 + 8 + 2
    hidden, out = spec.layers()
    assert hidden.bias is None and out.gamma is None and out.beta is None
    parts = [hidden.weight, hidden.gamma, hidden.beta, out.weight, out.bias]
    assert sorted((p.start, p.stop) for p in parts) == [(0, 12), (12, 16), (16, 20), (20, 28),
                                                        (28, 30)]
    mask = spec.penalty_mask()
    assert mask.sum() == 12 + 8
    for part in (hidden.gamma, hidden.beta, out.bias):
        assert not mask[part].any()
    plain = NetSpec(3, 1, "squared", hidden=(4,))
    assert plain.n_params == 12 + 4 + 4 + 1
    assert plain.penalty_mask().sum() == 16


def test_initializers() -> None:
    spec = NetSpec(400, 1, "logistic", hidden=(200,), activation="tanh", batch_norm=True)
    first = spec.layers()[0]
    xavier = spec.init(np.random.default_rng(1), "xavier")[first.weight]
    limit = math.sqrt(6 / 600)
    assert np.abs(xavier).max() <= limit
    assert xavier.std() == pytest.approx(limit / math.sqrt(3), rel=0.02)
    np.testing.assert_array_equal(spec.init(np.random.default_rng(1), "glorot"),
                                  spec.init(np.random.default_rng(1), "xavier"))
    he = spec.init(np.random.default_rng(2), "he")
    assert he[first.weight].std() == pytest.approx(math.sqrt(2 / 400), rel=0.02)
    assert abs(he[first.weight].mean()) < 0.05 * math.sqrt(2 / 400)
    np.testing.assert_array_equal(he[first.gamma], 1.0)
    np.testing.assert_array_equal(he[first.beta], 0.0)
    assert he[spec.layers()[1].bias].tolist() == [0.0]
    assert not spec.init(np.random.default_rng(3), "zeros")[spec.penalty_mask() == 1].any()
    auto = spec.init(np.random.default_rng(4))[first.weight]  # tanh: Xavier
    assert auto.std() == pytest.approx(limit / math.sqrt(3), rel=0.02)
    relu = NetSpec(400, 1, "logistic", hidden=(200,), activation="gelu")
    auto = relu.init(np.random.default_rng(5))[relu.layers()[0].weight]  # ReLU family: He
    assert auto.std() == pytest.approx(math.sqrt(2 / 400), rel=0.02)
    linear = NetSpec(400, 1, "logistic")
    assert not linear.init(np.random.default_rng(6)).any()
    with pytest.raises(InputError, match="unknown initializer 'lecun'"):
        linear.init(np.random.default_rng(7), "lecun")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"loss": "huber"}, r"^unknown loss 'huber'; choose one of squared, logistic"),
    ({"activation": "softplus", "hidden": (3,)}, r"^unknown activation 'softplus'"),
    ({"dropout": 1.0, "hidden": (3,)}, r"^dropout must be in \[0, 1\), got 1.0$"),
    ({"dropout": -0.1, "hidden": (3,)}, r"^dropout must be in \[0, 1\)"),
    ({"loss": "softmax"}, r"^loss 'softmax' needs n_outputs >= 2"),
    ({"loss": "hinge", "n_outputs": 2}, r"^loss 'hinge' needs n_outputs == 1, got 2$"),
    ({"batch_norm": True}, r"^batch_norm and dropout need at least one hidden layer$"),
    ({"dropout": 0.5}, r"^batch_norm and dropout need at least one hidden layer$"),
    ({"hidden": (3, 0)}, r"^n_features and hidden widths must be >= 1"),
])
def test_bad_specs_raise_one_line_input_errors(kwargs: dict, message: str) -> None:
    args = {"n_features": 3, "n_outputs": 1, "loss": "logistic", **kwargs}
    with pytest.raises(InputError, match=message) as info:
        NetSpec(**args)
    assert "\n" not in str(info.value)


def test_bad_batches_raise_input_errors() -> None:
    spec = NetSpec(3, 1, "squared", hidden=(2,), batch_norm=True, dropout=0.5)
    theta = spec.init(np.random.default_rng(0))
    X, y = np.ones((4, 3)), np.zeros(4)
    with pytest.raises(InputError, match=r"^theta must have shape \(13,\)"):
        forward_backward(spec, theta[:-1], X, y)
    with pytest.raises(InputError, match=r"^X must be n x 3"):
        forward_backward(spec, theta, np.ones((4, 2)), y)
    with pytest.raises(InputError, match="one value per row"):
        forward_backward(spec, theta, X, y[:3])
    with pytest.raises(InputError, match="needs an rng"):
        forward_backward(spec, theta, X, y)
    with pytest.raises(InputError, match="at least 2 rows"):
        forward_backward(spec, theta, X[:1], y[:1], rng=np.random.default_rng(0))
    with pytest.raises(InputError, match="needs its BatchNormState"):
        scores(spec, theta, X)
    empty = forward_backward(spec, theta, X[:0], y[:0])
    assert (empty.loss, empty.n, empty.grad.shape, empty.grad.any()) == (0.0, 0, (13,), False)


def test_eval_mode_uses_running_statistics() -> None:
    spec = NetSpec(3, 1, "squared", hidden=(2,), activation="tanh", batch_norm=True)
    case = draw(spec)
    bn = BatchNormState([np.array([0.3, -1.2])], [np.array([2.0, 0.5])])
    expected, _ = reference(spec, case.theta, case.X, running=[(bn.means[0], bn.variances[0])])
    got = scores(spec, case.theta, case.X, bn=bn)
    np.testing.assert_allclose(got, expected.ravel(), rtol=1e-12)
    train, _ = reference(spec, case.theta, case.X)
    assert np.abs(got - train.ravel()).max() > 1e-3  # not the batch's statistics
    p = forward_backward(spec, case.theta, case.X, case.y, train=False, bn=bn)
    assert p.loss == pytest.approx(0.5 * np.sum((expected.ravel() - case.y) ** 2), rel=1e-12)
    assert p.batch_stats == []


def test_batch_norm_state_follows_torch() -> None:
    spec = NetSpec(3, 1, "logistic", hidden=(4,), batch_norm=True)
    case = draw(spec)
    p = forward_backward(spec, case.theta, case.X, case.y)
    layer = spec.layers()[0]
    z = case.X @ case.theta[layer.weight].reshape(3, 4)  # no bias under batch norm
    (stat,) = p.batch_stats
    np.testing.assert_allclose(stat.mean, z.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(stat.var, z.var(axis=0), rtol=1e-12)  # biased in the batch
    bn = BatchNormState.initial(spec)
    bn.update(p.batch_stats)
    bn.update(p.batch_stats)
    # Two steps of momentum 0.1 from (0, 1), towards the unbiased variance (ddof=1).
    np.testing.assert_allclose(bn.means[0], 0.19 * z.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(bn.variances[0], 0.81 + 0.19 * z.var(axis=0, ddof=1), rtol=1e-12)


def test_pooled_batch_statistics_are_those_of_the_union() -> None:
    rng = np.random.default_rng(0)
    parts = [rng.normal(loc, 1.0, (n, 3)) for loc, n in [(0.0, 5), (2.0, 9), (-1.0, 2)]]
    pooled = pool_batch_stats([[BatchStats(p.mean(axis=0), p.var(axis=0), len(p))]
                               for p in parts])
    union = np.concatenate(parts)
    np.testing.assert_allclose(pooled[0].mean, union.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(pooled[0].var, union.var(axis=0), rtol=1e-12)
    assert pooled[0].n == 16


def test_penalty_value_and_subgradient() -> None:
    theta = np.array([1.5, -2.0, 0.0, 4.0, -3.0])
    mask = np.array([1.0, 1.0, 1.0, 0.0, 1.0])  # theta[3] is an intercept
    value, grad = penalty(theta, mask, alpha=0.1, l1_ratio=0.25)
    l1, l2 = 1.5 + 2.0 + 3.0, 1.5**2 + 2.0**2 + 3.0**2
    assert value == pytest.approx(0.1 * (0.25 * l1 + 0.75 / 2 * l2), rel=1e-14)
    np.testing.assert_allclose(grad, 0.1 * (0.25 * np.array([1, -1, 0, 0, -1])
                                            + 0.75 * np.array([1.5, -2.0, 0, 0, -3.0])))
    assert penalty(theta, mask, alpha=0.0, l1_ratio=0.5)[0] == 0.0
    with pytest.raises(InputError, match="l1_ratio"):
        penalty(theta, mask, alpha=0.1, l1_ratio=1.5)


def test_dropout_from_rng_keeps_units_with_probability_one_minus_p() -> None:
    width, p_drop = 4000, 0.25
    spec = NetSpec(1, 1, "squared", hidden=(width,), activation="identity", dropout=p_drop,
                   fit_intercept=False)
    theta = np.zeros(spec.n_params)
    theta[spec.layers()[0].weight] = 1.0  # every hidden unit is x
    theta[spec.layers()[1].weight] = 1.0  # the score is the sum of the kept, scaled units
    X, y = np.ones((1, 1)), np.zeros(1)

    def output_grad(seed: int) -> np.ndarray:
        grad = forward_backward(spec, theta, X, y, rng=np.random.default_rng(seed)).grad
        return grad[spec.layers()[1].weight]  # (score - y) * kept unit

    g = output_grad(0)
    kept = g != 0.0
    assert abs(kept.mean() - (1 - p_drop)) < 0.03
    score = kept.sum() / (1 - p_drop)  # inverted dropout: kept units scaled by 1 / (1 - p)
    np.testing.assert_allclose(g[kept], score / (1 - p_drop), rtol=1e-12)
    np.testing.assert_array_equal(output_grad(0), g)  # same seed, same masks
    assert (output_grad(1) != g).any()
    assert scores(spec, theta, X).tolist() == [float(width)]  # no dropout in evaluation

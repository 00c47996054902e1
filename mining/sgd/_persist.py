"""An estimator's parameters as JSON, and an estimator rebuilt from them and a packed model.

What :mod:`mining.io.models` stores and reads back: ``get_params()`` as JSON text (tuples and
the float keys of a ``class_weight`` mapping do not survive JSON as they are, so they are
written and read back here, where their types are known) and :meth:`Fitted.pack`. The
rebuilt estimator has the fitted attributes :meth:`SGDEstimator.fit` sets, so ``predict``,
``predict_proba`` and ``score`` work without training.
"""

from __future__ import annotations

import json
from typing import Any

from mining.errors import InputError
from mining.sgd._estimators import (
    LinearRegression,
    LinearSVM,
    LogisticRegression,
    MLPClassifier,
    MLPRegressor,
    SGDEstimator,
    SoftmaxRegression,
)
from mining.sgd._model import Fitted

__all__ = ["ESTIMATORS", "params_from_json", "params_to_json", "rebuild"]

ESTIMATORS: dict[str, type[SGDEstimator]] = {
    cls.__name__: cls for cls in (SGDEstimator, LogisticRegression, LinearSVM, SoftmaxRegression,
                                  LinearRegression, MLPClassifier, MLPRegressor)
}


def params_to_json(estimator: SGDEstimator, **extra: Any) -> str:
    """``estimator.get_params()`` and ``extra`` as one JSON object (keys sorted).

    A ``class_weight`` mapping is written as ``{"<label>": weight}`` (JSON keys are strings);
    ``hidden`` as a list.
    """
    params = estimator.get_params()
    if isinstance(params.get("class_weight"), dict):
        params["class_weight"] = {repr(float(k)): float(v)
                                  for k, v in params["class_weight"].items()}
    if params.get("hidden") is not None:
        params["hidden"] = [int(h) for h in params["hidden"]]
    overlap = set(params) & set(extra)
    if overlap:
        raise InputError(f"extra keys clash with estimator parameters: {sorted(overlap)}")
    return json.dumps({**params, **extra}, sort_keys=True)


def params_from_json(cls: type[SGDEstimator], text: str) -> dict[str, Any]:
    """The constructor parameters of ``cls`` in JSON ``text`` (other keys are ignored)."""
    try:
        stored = json.loads(text)
    except ValueError as exc:
        raise InputError(f"stored model config is not JSON: {exc}") from None
    if not isinstance(stored, dict):
        raise InputError("stored model config is not a JSON object")
    params = {k: v for k, v in stored.items() if k in set(cls.param_names())}
    if isinstance(params.get("class_weight"), dict):
        params["class_weight"] = {float(k): float(v) for k, v in params["class_weight"].items()}
    if params.get("hidden") is not None:
        params["hidden"] = tuple(int(h) for h in params["hidden"])
    return params


def rebuild(estimator: str, config: str, packed: bytes, *, mode: str) -> SGDEstimator:
    """An estimator of class ``estimator`` with the parameters in ``config`` (JSON, as
    :func:`params_to_json` wrote them), fitted with the model ``packed`` (:meth:`Fitted.pack`)
    trained in ``mode``.

    Raises
    ------
    InputError
        An unknown class name, a config that is not a JSON object, an unknown parameter.
    """
    cls = ESTIMATORS.get(estimator)
    if cls is None:
        raise InputError(f"unknown estimator {estimator!r}; known: {', '.join(ESTIMATORS)}")
    est = cls(**params_from_json(cls, config))
    fitted = Fitted.unpack(packed, est.recipe())
    # The fitted attributes of SGDEstimator.fit, in the same names.
    est.model_ = fitted
    est.mode_ = mode
    est.classes_ = fitted.classes
    est.n_features_in_ = fitted.spec.n_features
    est.history_ = fitted.history
    est.n_epochs_ = len(fitted.history)
    est.best_epoch_ = fitted.best_epoch
    return est

"""A model's recipe (what to build once the data's shape is known) and a fitted model.

The number of features and the classes are facts of the data; a task that holds all of it finds
them itself (no Spark job before training), so models are described by a :class:`Recipe` and
built by :meth:`Recipe.objective` where the data is. A :class:`Fitted` model is a few numpy
arrays, packed as one ``.npz`` value (``allow_pickle=False`` on the way back) to leave a task
or to be stored.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np

from mining.errors import InputError
from mining.sgd._loop import Epoch, Objective
from mining.sgd._losses import LOSSES
from mining.sgd._network import BatchNormState
from mining.sgd._spec import NetSpec

__all__ = ["MAX_CLASSES", "Fitted", "Recipe"]

MAX_CLASSES = 10_000
_HISTORY = ("epoch", "steps", "train_loss", "validation_loss", "validation_metric", "seconds")


@dataclass(frozen=True)
class Recipe:
    """A model without its data-dependent sizes: the loss, the network and the penalty.

    ``class_weight``: ``None`` (all 1), ``"balanced"`` (``n / (k n_c)``, scikit-learn's rule)
    or a mapping from original label to weight (missing labels weigh 1).
    """

    loss: str
    hidden: tuple[int, ...] = ()
    activation: str = "relu"
    dropout: float = 0.0
    batch_norm: bool = False
    fit_intercept: bool = True
    initializer: str = "auto"
    alpha: float = 0.0
    l1_ratio: float = 0.0
    class_weight: str | dict[float, float] | None = None

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise InputError(f"unknown loss {self.loss!r}; choose one of {', '.join(LOSSES)}")

    @property
    def task(self) -> str:
        """``"regression"``, ``"binary"`` or ``"multiclass"``."""
        return LOSSES[self.loss].task

    def classes(self, labels: np.ndarray) -> np.ndarray:
        """The sorted distinct labels of a classifier's data (empty for a regression)."""
        if self.task == "regression":
            return np.zeros(0)
        classes = np.unique(labels)
        want = "2" if self.task == "binary" else "at least 2"
        if len(classes) < 2 or (self.task == "binary" and len(classes) != 2):
            raise InputError(f"loss {self.loss!r} needs {want} classes in the training labels, "
                             f"found {len(classes)}: {classes[:5].tolist()}")
        if len(classes) > MAX_CLASSES:
            raise InputError(f"{len(classes)} distinct labels is too many classes "
                             f"(at most {MAX_CLASSES}); use loss='squared' for a regression")
        return classes

    def objective(self, n_features: int, classes: np.ndarray,
                  counts: np.ndarray | None = None) -> Objective:
        """The objective for data of ``n_features`` features and these classes (``counts``:
        training rows per class, for ``class_weight="balanced"``)."""
        spec = NetSpec(n_features=n_features,
                       n_outputs=len(classes) if self.task == "multiclass" else 1,
                       loss=self.loss, hidden=self.hidden, activation=self.activation,
                       dropout=self.dropout, batch_norm=self.batch_norm,
                       fit_intercept=self.fit_intercept)
        return Objective(spec, self.alpha, self.l1_ratio, self._weights(classes, counts))

    def _weights(self, classes: np.ndarray,
                 counts: np.ndarray | None) -> tuple[float, ...] | None:
        if self.class_weight is None or self.task == "regression":
            return None
        if self.class_weight == "balanced":
            if counts is None:
                raise InputError("class_weight='balanced' needs the class counts")
            total = float(np.sum(counts))
            return tuple(total / (len(classes) * max(float(c), 1.0)) for c in counts)
        if isinstance(self.class_weight, dict):
            return tuple(float(self.class_weight.get(float(c), 1.0)) for c in classes)
        raise InputError(f"class_weight must be None, 'balanced' or a dict of label -> weight, "
                         f"got {self.class_weight!r}")


@dataclass
class Fitted:
    """A trained model: its spec, parameters, batch-norm statistics, classes and history."""

    spec: NetSpec
    theta: np.ndarray
    classes: np.ndarray
    bn: BatchNormState | None = None
    history: list[Epoch] = field(default_factory=list)
    best_epoch: int = 0
    stopped_early: bool = False
    n_train: int = 0
    n_validation: int = 0

    def pack(self) -> bytes:
        """The arrays as one ``.npz`` value (the spec goes separately: it is the recipe's)."""
        rows = [[e.epoch, e.steps, e.train_loss, np.nan if e.validation_loss is None
                 else e.validation_loss, np.nan if e.validation_metric is None
                 else e.validation_metric, e.seconds] for e in self.history]
        bn = self.bn or BatchNormState([], [])
        out = io.BytesIO()
        np.savez(out, theta=self.theta, classes=self.classes,
                 history=np.asarray(rows, np.float64).reshape(-1, len(_HISTORY)),
                 bn_means=_concat(bn.means), bn_variances=_concat(bn.variances),
                 meta=np.asarray([self.best_epoch, int(self.stopped_early), self.n_train,
                                  self.n_validation, self.spec.n_features, self.spec.n_outputs],
                                 np.int64))
        return out.getvalue()

    @classmethod
    def unpack(cls, data: bytes, recipe: Recipe) -> Fitted:
        """The model :meth:`pack` wrote, with the spec rebuilt from ``recipe``."""
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            meta = z["meta"].tolist()
            classes = z["classes"]
            spec = recipe.objective(int(meta[4]), classes, np.ones(len(classes))).spec
            bn = None
            if spec.batch_norm:
                cuts = np.cumsum(spec.hidden)[:-1]
                bn = BatchNormState(np.split(z["bn_means"], cuts),
                                    np.split(z["bn_variances"], cuts))
            history = [Epoch(int(r[0]), int(r[1]), float(r[2]), _opt(r[3]), _opt(r[4]),
                             float(r[5])) for r in z["history"]]
            return cls(spec, z["theta"].copy(), classes.copy(), bn, history, int(meta[0]),
                       bool(meta[1]), int(meta[2]), int(meta[3]))


def _concat(arrays: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(arrays) if arrays else np.zeros(0)


def _opt(value: float) -> float | None:
    return None if np.isnan(value) else float(value)

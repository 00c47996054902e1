"""Distributed SGD model training (MMDS §12.2-12.4), DataFrame in, model and DataFrames out.

Input: labelled rows with the :data:`mining.schemas.LABELED_POINTS` columns (``row``, ``label``,
sparse ``indices``/``values``), as :func:`mining.io.readers.read_labeled` returns them for
LIBSVM and CSV files. Sparse input stays sparse (CSR blocks); dense rows become dense blocks.

Estimators by scikit-learn's rules (:class:`SGDEstimator` and its presets
:class:`LogisticRegression`, :class:`LinearSVM`, :class:`SoftmaxRegression`,
:class:`LinearRegression`, :class:`MLPClassifier`, :class:`MLPRegressor`): ``fit(points)``
returns ``self``; ``predict`` gives :data:`~mining.schemas.PREDICTIONS` rows.

Models: squared, logistic, hinge, squared-hinge and softmax losses on a linear model or an MLP
(sigmoid, tanh, ReLU, Leaky ReLU, ELU, GELU, Swish; Xavier/He initialization; inverted dropout;
batch normalization); elastic-net penalties. Optimizers: SGD, momentum, Nesterov, AdaGrad,
RMSProp, AdaDelta, Adam with PyTorch's update rules; learning-rate schedules; gradient clipping.

Where training runs (``mode=``):

* ``"in_task"``: all rows in one task, every epoch there; one Spark job;
* ``"sync"``: one Spark job per step over cached mini-batch blocks, gradients summed;
* ``"barrier"``: one barrier job whose tasks all-reduce the gradient of every step;
* ``"local"``: one barrier job of local SGD, weights averaged every ``period`` steps;
* ``"auto"``: ``in_task`` for inputs of at most :data:`IN_TASK_BYTES` on disk, else
  ``barrier`` (the same weights, all cores busy).

Mini-batches and the validation split are seeded hashes of the row ids, so ``in_task``,
``sync`` and ``barrier`` give the same weights for any partitioning (up to floating-point
addition order; dropout and batch norm aside).
"""

from mining.sgd._estimators import (
    IN_TASK_BYTES,
    MODES,
    LinearRegression,
    LinearSVM,
    LogisticRegression,
    MLPClassifier,
    MLPRegressor,
    SGDEstimator,
    SoftmaxRegression,
)
from mining.sgd._loop import Epoch
from mining.sgd._model import Fitted, Recipe
from mining.sgd._optim import OPTIMIZERS, Optimizer
from mining.sgd._schedule import SCHEDULES, Schedule
from mining.sgd.features import OneHotEncoder, Standardizer, hash_features, one_hot
from mining.sgd.selection import (
    CVResult,
    GridResult,
    GridRow,
    clone,
    cross_validate,
    fold_of,
    grid_search,
    kfold,
)

__all__ = [
    "IN_TASK_BYTES",
    "MODES",
    "OPTIMIZERS",
    "SCHEDULES",
    "CVResult",
    "Epoch",
    "Fitted",
    "GridResult",
    "GridRow",
    "LinearRegression",
    "LinearSVM",
    "LogisticRegression",
    "MLPClassifier",
    "MLPRegressor",
    "OneHotEncoder",
    "Optimizer",
    "Recipe",
    "SGDEstimator",
    "Schedule",
    "SoftmaxRegression",
    "Standardizer",
    "clone",
    "cross_validate",
    "fold_of",
    "grid_search",
    "hash_features",
    "kfold",
    "one_hot",
]

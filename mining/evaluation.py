"""Measures of a trained model's predictions: accuracy, log loss, per-class precision and recall,
the confusion matrix; RMSE, MAE and R² for a regression.

Input: :data:`~mining.schemas.PREDICTIONS` rows (``label``, ``prediction``, ``probability``),
as ``SGDEstimator.predict`` returns them. Output: rows of :data:`~mining.schemas.METRICS` and
:data:`~mining.schemas.CONFUSION` as tuples, for a job to publish with the rows of its other
splits and folds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

__all__ = ["LOG_LOSS_EPS", "Evaluation", "evaluate_predictions"]

# As scikit-learn's log_loss before 1.5 (since, the float's machine epsilon): a probability of
# 0 for the true class costs -log(1e-15) = 34.5, not infinity.
LOG_LOSS_EPS = 1e-15

MetricRow = tuple[str, int | None, str, float | None, float]
ConfusionRow = tuple[str, float, float, int]


@dataclass
class Evaluation:
    """The rows of ``metrics`` (split, fold, metric, label, value) and ``confusion`` (split,
    actual, predicted, rows) of one split."""

    metrics: list[MetricRow] = field(default_factory=list)
    confusion: list[ConfusionRow] = field(default_factory=list)


def evaluate_predictions(predictions: DataFrame, *, task: str, classes: Sequence[float] = (),
                         split: str, fold: int | None = None) -> Evaluation:
    """Measure ``predictions`` against their labels.

    Parameters
    ----------
    predictions
        ``PREDICTIONS`` rows: ``label``, ``prediction`` and, for probabilistic classifiers,
        ``probability`` (one entry per class of ``classes``, in that order; null otherwise).
    task
        ``"binary"`` or ``"multiclass"`` (a classifier) or ``"regression"``.
    classes
        The model's sorted classes (the order of ``probability``).
    split, fold
        Copied into every row.

    Returns
    -------
    Evaluation
        Classifier: ``rows``, ``accuracy``, ``log_loss`` (when probabilities are given: the
        mean of ``-log max(p_true, 1e-15)`` over the rows whose label is a known class),
        ``macro_f1`` (mean over the labels that occur as actual or predicted, as
        scikit-learn), and per label (``label`` set) ``precision``, ``recall``, ``f1``
        (0 where undefined, as scikit-learn's ``zero_division=0``) and ``support``; and the
        confusion matrix, pairs with no rows left out. Regression: ``rows``, ``rmse``,
        ``mae``, ``r2`` (0 when the labels are constant); no confusion rows.

    Notes
    -----
    One Spark job: an aggregation by (label, prediction) for a classifier, whose k² cells at
    most are collected to the driver (one global aggregate for a regression).
    """
    if task == "regression":
        return Evaluation(_regression(predictions, split, fold))
    known = F.array(*[F.lit(float(c)) for c in classes]) if classes else F.array().cast(
        "array<double>")
    position = F.array_position(known, F.col("label")).cast("int")
    p_true = F.when(position > 0, F.try_element_at(F.col("probability"), position))
    nll = -F.log(F.greatest(p_true, F.lit(LOG_LOSS_EPS)))
    cells = (predictions.groupBy("label", "prediction")
             .agg(F.count(F.lit(1)).alias("n"), F.sum(nll).alias("nll"),
                  F.count(p_true).alias("scored"))
             .collect())
    out = Evaluation()
    count: dict[tuple[float, float], int] = {}
    nll_sum, scored = 0.0, 0
    for c in cells:
        count[(c["label"], c["prediction"])] = int(c["n"])
        nll_sum += float(c["nll"] or 0.0)
        scored += int(c["scored"])
        out.confusion.append((split, float(c["label"]), float(c["prediction"]), int(c["n"])))
    out.confusion.sort()
    n = sum(count.values())
    out.metrics.append((split, fold, "rows", None, float(n)))
    if n:
        correct = sum(v for (a, p), v in count.items() if a == p)
        out.metrics.append((split, fold, "accuracy", None, correct / n))
    if scored:
        out.metrics.append((split, fold, "log_loss", None, nll_sum / scored))
    out.metrics.extend(_per_class(count, split, fold))
    return out


def _per_class(count: dict[tuple[float, float], int], split: str,
               fold: int | None) -> list[MetricRow]:
    actual: dict[float, int] = defaultdict(int)
    predicted: dict[float, int] = defaultdict(int)
    for (a, p), v in count.items():
        actual[a] += v
        predicted[p] += v
    rows: list[MetricRow] = []
    f1s = []
    for label in sorted(actual.keys() | predicted.keys()):
        tp = count.get((label, label), 0)
        precision = tp / predicted[label] if predicted[label] else 0.0
        recall = tp / actual[label] if actual[label] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        f1s.append(f1)
        rows.extend((split, fold, name, label, value) for name, value in (
            ("precision", precision), ("recall", recall), ("f1", f1),
            ("support", float(actual[label]))))
    if f1s:
        rows.append((split, fold, "macro_f1", None, sum(f1s) / len(f1s)))
    return rows


def _regression(predictions: DataFrame, split: str, fold: int | None) -> list[MetricRow]:
    err = F.col("label") - F.col("prediction")
    row = predictions.agg(F.count(F.lit(1)).alias("n"), F.sum(err * err).alias("sse"),
                          F.sum(F.abs(err)).alias("sae"), F.sum("label").alias("s"),
                          F.sum(F.col("label") * F.col("label")).alias("sq")).collect()[0]
    n = int(row["n"])
    out: list[MetricRow] = [(split, fold, "rows", None, float(n))]
    if n:
        total = float(row["sq"]) - float(row["s"]) ** 2 / n
        r2 = 1.0 - float(row["sse"]) / total if total > 0 else 0.0
        out += [(split, fold, "rmse", None, (float(row["sse"]) / n) ** 0.5),
                (split, fold, "mae", None, float(row["sae"]) / n),
                (split, fold, "r2", None, r2)]
    return out

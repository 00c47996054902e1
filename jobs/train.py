"""Training job: read labelled points, train a model by distributed SGD, publish (MMDS §12.2-12.4).

Tables (schemas in :data:`mining.schemas.RESULT_TABLES`, checked at publish):

* ``model`` (name, run_id, estimator, loss, mode, sizes, classes, best epoch, config,
  params): the trained model under ``--name``, beside the other stored models
  (:mod:`mining.io.models`; ``load_model`` reads it back);
* ``training_history`` (fold, epoch, steps, train_loss, validation_loss, validation_metric,
  seconds): one row per epoch, ``fold`` null for the model trained on all rows and 0..k-1 for
  the cross-validation models of ``--folds k``; also drawn in ``plots/loss_curve.png``;
* ``predictions`` (row, label, prediction, probability): of the ``--test`` rows if given, else
  of the training rows;
* ``metrics`` (split, fold, metric, label, value): accuracy, log loss, per-class precision,
  recall and F1 (RMSE, MAE, R² for a regression) of the splits ``train``, ``validation`` (the
  trainer's held-out rows at the best epoch), ``test`` and ``cv``;
* ``confusion`` (split, actual, predicted, count): of the published predictions;
* ``train_quarantine``: the input lines the readers set aside (training and test files).

The run record's notes say where training ran and why, the epochs and the best epoch.

Run: ``mining run train --input data/classification/a9a.t.gz --n-features 123`` or
``spark-submit --properties-file conf/spark-local.conf jobs/train.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from mining import schemas
from mining.errors import InputError
from mining.evaluation import Evaluation, evaluate_predictions
from mining.io.models import save_model
from mining.io.plots import loss_curve_plot
from mining.io.readers import ReadResult, read_labeled
from mining.runtime.job import JobContext, run_job
from mining.sgd import MODES, SGDEstimator
from mining.sgd.selection import fold_of

JOB = "train"


def estimator_from(p: Mapping[str, Any]) -> SGDEstimator:
    """The estimator the job's parameters describe (0 and "" mean "none", as in the TOML)."""
    try:
        hidden = tuple(int(h) for h in p["hidden"])
    except ValueError:
        raise InputError(f"hidden must be layer widths like 128,64, got {p['hidden']!r}") from None
    return SGDEstimator(
        loss=p["loss"], hidden=hidden, activation=p["activation"], dropout=p["dropout"],
        batch_norm=p["batch_norm"], alpha=p["alpha"], l1_ratio=p["l1_ratio"],
        optimizer=p["optimizer"], learning_rate=p["learning_rate"] or None, schedule=p["schedule"],
        momentum=p["momentum"], batch_size=batch_size(p["batch_size"]),
        max_epochs=p["max_epochs"], patience=p["patience"] or None, tol=p["tol"],
        validation_fraction=p["validation_fraction"], class_weight=p["class_weight"] or None,
        clip_norm=p["clip_norm"] or None, initializer=p["initializer"], mode=p["mode"],
        tasks=p["tasks"] or None, period=p["period"], seed=p["seed"])


def batch_size(text: str) -> int | Literal["auto"] | None:
    """The ``batch_size`` parameter: "auto", "full" (``None``) or a number of rows."""
    if text in ("auto", "full"):
        return None if text == "full" else "auto"
    if not text.isdigit() or int(text) < 1:
        raise InputError(f"batch_size must be auto, full or a number of rows, got {text!r}")
    return int(text)


def check_estimator(est: SGDEstimator, *, folds: int = 0) -> None:
    """Validate every parameter on a one-feature model, before any input is read."""
    if est.mode not in MODES:
        raise InputError(f"unknown mode {est.mode!r}; choose one of {', '.join(MODES)}")
    if folds == 1 or folds < 0:
        raise InputError(f"folds must be 0 (no cross-validation) or at least 2, got {folds}")
    if est.learning_rate is not None and not est.learning_rate > 0:
        raise InputError(f"learning_rate must be > 0, got {est.learning_rate}")
    if est.class_weight not in (None, "balanced"):
        raise InputError(f"class_weight must be '' or 'balanced', got {est.class_weight!r}")
    recipe, _ = est.recipe(), est.plan()
    k = {"regression": 0, "binary": 2}.get(recipe.task, 3)
    objective = recipe.objective(1, np.arange(k, dtype=np.float64), np.ones(k))
    theta = objective.spec.init(np.random.default_rng(0), recipe.initializer)
    objective.penalized(theta, 0.0, np.zeros_like(theta), 1)


def _read(ctx: JobContext, path: str, labels: Sequence[str] | None = None) -> ReadResult:
    p = ctx.params
    return read_labeled(ctx.spark, path, format=p["format"], n_features=p["n_features"] or None,
                        label_column=p["label_column"], header=p["header"],
                        string_labels=p["string_labels"], labels=labels,
                        delimiter=p["delimiter"])


def read_inputs(ctx: JobContext) -> tuple[DataFrame, DataFrame | None, list[str] | None]:
    """The training points, the test points (``--test``; else ``None``) and the class names of
    string labels (the test file is read with the training file's names and numbers)."""
    p = ctx.params
    ctx.record_input([p["input"], *([p["test"]] if p["test"] else [])])
    with ctx.stage("read points") as st:
        results = {"points": _read(ctx, p["input"])}
        names = None
        if p["string_labels"]:
            label_map = results["points"].extras["label_map"].orderBy("label").collect()
            names = [r["name"] for r in label_map]
        if p["test"]:
            results["test_points"] = _read(ctx, p["test"], labels=names)
        data = {k: r.data.persist(StorageLevel.MEMORY_AND_DISK) for k, r in results.items()}
        quarantine = results["points"].quarantine
        if "test_points" in results:
            quarantine = quarantine.unionByName(results["test_points"].quarantine)
        ctx.publish({"train_quarantine": quarantine})
        for key, df in data.items():
            df.count()
            ctx.record_counts(key, results[key].counts())
        st.rows = ctx.counts["points"]
    return data["points"], data.get("test_points"), names


@dataclass
class Trained:
    """A fitted estimator and the tables of its run (everything but ``model``)."""

    estimator: SGDEstimator
    tables: dict[str, DataFrame] = field(default_factory=dict)


def _history_rows(est: SGDEstimator, fold: int | None) -> list[tuple[Any, ...]]:
    return [(fold, e.epoch, e.steps, e.train_loss, e.validation_loss, e.validation_metric,
             e.seconds) for e in est.history_]


def _validation_rows(est: SGDEstimator, fold: int | None) -> list[tuple[Any, ...]]:
    best = next((e for e in est.history_ if e.epoch == est.best_epoch_), None)
    if best is None or best.validation_loss is None:
        return []
    metric = "r2" if est.recipe().task == "regression" else "accuracy"
    return [("validation", fold, "loss", None, best.validation_loss),
            ("validation", fold, metric, None, best.validation_metric)]


def _evaluate(est: SGDEstimator, points: DataFrame, split: str,
              fold: int | None = None) -> Evaluation:
    return evaluate_predictions(est.predict(points), task=est.recipe().task,
                                classes=[float(c) for c in est.classes_], split=split, fold=fold)


def cross_validate(ctx: JobContext, est: SGDEstimator, points: DataFrame,
                   folds: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """k-fold cross-validation: the history and the ``cv`` metrics of each fold's model.

    Fold ``f`` holds the rows whose seeded hash of ``row`` is ``f`` modulo ``folds`` (the same
    folds whatever the partitioning); its model is a clone of ``est`` trained on the others.
    The folds are those of :func:`mining.sgd.selection.fold_of`, whose ``cross_validate``
    gives scores only; the job publishes each fold's history and metrics too.
    """
    tagged = points.select("*", fold_of(k=folds, seed=est.seed).cast("int").alias("_fold"))
    history: list[tuple[Any, ...]] = []
    metrics: list[tuple[Any, ...]] = []
    for f in range(folds):
        with ctx.stage(f"fold {f}"):
            clone = type(est)(**est.get_params())
            clone.fit(tagged.where(F.col("_fold") != f).drop("_fold"))
            held = tagged.where(F.col("_fold") == f).drop("_fold")
            history += _history_rows(clone, f)
            metrics += _validation_rows(clone, f) + _evaluate(clone, held, "cv", f).metrics
    return history, metrics


def train_and_evaluate(ctx: JobContext, est: SGDEstimator, points: DataFrame,
                       test: DataFrame | None, *, folds: int = 0,
                       plot: str = "plots/loss_curve.png") -> Trained:
    """Fit ``est`` on ``points``, measure it (and ``folds``-fold CV), draw the loss curve.

    Returns the ``training_history``, ``predictions`` (of ``test``, else of ``points``),
    ``metrics`` and ``confusion`` tables; the notes get the mode, epochs and best epoch.
    """
    with ctx.stage("train") as st:
        est.fit(points)
        st.rows = {"epochs": est.n_epochs_, "best_epoch": est.best_epoch_}
    fitted = est.model_
    ctx.notes.update(mode=est.mode_, mode_reason=est.mode_reason_, epochs=est.n_epochs_,
                     best_epoch=est.best_epoch_, stopped_early=fitted.stopped_early,
                     train_rows=fitted.n_train, validation_rows=fitted.n_validation)
    history = _history_rows(est, None)
    metrics = _validation_rows(est, None)
    with ctx.stage("evaluate"):
        train_eval = _evaluate(est, points, "train")
        metrics += train_eval.metrics
        confusion = train_eval.confusion
        if test is not None:
            test_eval = _evaluate(est, test, "test")
            metrics += test_eval.metrics
            confusion = test_eval.confusion
    if folds:
        cv_history, cv_metrics = cross_validate(ctx, est, points, folds)
        history += cv_history
        metrics += cv_metrics
    loss_curve_plot([asdict(e) for e in est.history_], ctx.warehouse.inside(plot),
                    best_epoch=est.best_epoch_, title=f"{fitted.spec.loss} loss by epoch")
    spark = ctx.spark
    return Trained(est, {
        "training_history": spark.createDataFrame(history, schemas.TRAINING_HISTORY_BY_FOLD),
        "predictions": est.predict(test if test is not None else points),
        "metrics": spark.createDataFrame(metrics, schemas.METRICS),
        "confusion": spark.createDataFrame(confusion, schemas.CONFUSION),
    })


def pipeline(ctx: JobContext) -> None:
    """Read, train, measure, store the model, publish (see the module docstring)."""
    p = ctx.params
    est = estimator_from(p)
    check_estimator(est, folds=p["folds"])  # bad flags fail before the input is read
    points, test, names = read_inputs(ctx)
    trained = train_and_evaluate(ctx, est, points, test, folds=p["folds"])
    save_model(ctx, p["name"], trained.estimator, label_names=names)
    ctx.publish(trained.tables)
    points.unpersist()
    if test is not None:
        test.unpersist()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point for ``mining run train`` and ``spark-submit jobs/train.py``."""
    return run_job(JOB, pipeline, argv)


if __name__ == "__main__":
    raise SystemExit(main())

"""Trained models in the warehouse: the ``model`` table, one row per model name.

:func:`save_model` stages a new version of ``model`` through :meth:`JobContext.publish`
(checked against :data:`mining.schemas.MODEL`, visible when the job succeeds) holding the new
model and every other name of the current version; :func:`load_model` reads it back through
:meth:`Warehouse.read` into an estimator whose ``predict`` works at once. A row holds the
model's class, its parameters (``config``, JSON) and the model itself (``params``, one
``.npz`` value from :meth:`mining.sgd.Fitted.pack`), so it needs nothing but this table.

Examples
--------
>>> save_model(ctx, "adult", estimator)  # doctest: +SKIP
>>> load_model(spark, Warehouse("warehouse"), "adult").predict(points)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from mining import schemas
from mining.errors import InputError
from mining.io.warehouse import Warehouse
from mining.sgd import SGDEstimator
from mining.sgd._persist import params_to_json, rebuild

if TYPE_CHECKING:
    from mining.runtime.job import JobContext

__all__ = ["MODEL_TABLE", "load_model", "model_frame", "model_names", "save_model"]

MODEL_TABLE = "model"


def model_frame(spark: SparkSession, name: str, estimator: SGDEstimator, *, run_id: str,
                label_names: Sequence[str] | None = None) -> DataFrame:
    """The one-row :data:`~mining.schemas.MODEL` frame of a fitted ``estimator``.

    Parameters
    ----------
    spark
        The session.
    name
        The model's name (its key in the table).
    estimator
        A fitted estimator (``fit`` was called).
    run_id
        The run that trained it.
    label_names
        The class names of string labels, in the order of the numeric labels 0..k-1.

    Raises
    ------
    InputError
        The estimator is not fitted, or ``name`` is empty.
    """
    if not name:
        raise InputError("a model needs a non-empty name")
    fitted = getattr(estimator, "model_", None)
    if fitted is None:
        raise InputError(f"this {type(estimator).__name__} is not fitted yet; call fit first")
    spec = fitted.spec
    classes = [float(c) for c in fitted.classes]
    best = next((e for e in fitted.history if e.epoch == fitted.best_epoch), None)
    config = params_to_json(estimator, n_features=spec.n_features, classes=classes,
                            label_names=list(label_names) if label_names else None)
    row: tuple[Any, ...] = (
        name, run_id, type(estimator).__name__, spec.loss, getattr(estimator, "mode_", "auto"),
        spec.n_features, spec.n_outputs, spec.n_params, classes, len(fitted.history),
        fitted.best_epoch, best.validation_loss if best else None, fitted.n_train,
        fitted.n_validation, config, bytearray(fitted.pack()))
    return spark.createDataFrame([row], schemas.MODEL)


def save_model(ctx: JobContext, name: str, estimator: SGDEstimator, *,
               label_names: Sequence[str] | None = None) -> None:
    """Stage the ``model`` table with ``estimator`` under ``name`` (replacing a model of that
    name) and the other models of its current version; visible when the job succeeds.

    Notes
    -----
    One write of the table (its other rows are read from the current version during the
    write, never copied by path). Two jobs saving models at once: the later commit wins, and
    the model of the other is not in it.
    """
    new = model_frame(ctx.spark, name, estimator, run_id=ctx.run_id, label_names=label_names)
    if MODEL_TABLE in ctx.warehouse.tables():
        kept = ctx.warehouse.read(ctx.spark, MODEL_TABLE).where(F.col("name") != name)
        new = new.unionByName(kept.select(*schemas.MODEL.fieldNames()))
    ctx.publish({MODEL_TABLE: new})


def model_names(spark: SparkSession, warehouse: Warehouse) -> list[str]:
    """The names of the stored models, sorted (empty without a ``model`` table)."""
    if MODEL_TABLE not in warehouse.tables():
        return []
    rows = warehouse.read(spark, MODEL_TABLE).select("name").collect()
    return sorted(r["name"] for r in rows)


def load_model(spark: SparkSession, warehouse: Warehouse, name: str = "model") -> SGDEstimator:
    """The estimator stored under ``name``, fitted: ``predict``, ``predict_proba`` and
    ``score`` work as after ``fit`` (the same weights, classes, history and best epoch).

    Raises
    ------
    InputError
        No ``model`` table, or no model of that name (the message lists the stored names).

    Notes
    -----
    One job: the model's row is collected to the driver (its ``params`` is the size of the
    model: 8 bytes a parameter).
    """
    if MODEL_TABLE not in warehouse.tables():
        raise InputError(f"no stored models in warehouse {warehouse.root}: train one with "
                         "`mining run train` first")
    rows = (warehouse.read(spark, MODEL_TABLE).where(F.col("name") == F.lit(name))
            .select("estimator", "mode", "config", "params").collect())
    if not rows:
        known = ", ".join(model_names(spark, warehouse)) or "none"
        raise InputError(f"no model named {name!r} in warehouse {warehouse.root} "
                         f"(models: {known})")
    row = rows[0]
    return rebuild(row["estimator"], row["config"], bytes(row["params"]), mode=row["mode"])

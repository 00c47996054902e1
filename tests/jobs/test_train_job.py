"""The train job end to end on rows of the bundled a9a file: tables, metrics against
scikit-learn, the stored model, SQL, bad flags in one line."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from jobs import train as train_job
from mining import schemas
from mining.cli import main as mining_cli
from mining.errors import EXIT_BAD_INPUT, InputError
from mining.io.models import load_model, model_names
from mining.io.readers import read_labeled
from mining.io.runs import RunLog
from mining.io.warehouse import Warehouse
from mining.runtime.job import run_job

ROOT = Path(__file__).resolve().parents[2]
A9A = ROOT / "data" / "classification" / "a9a.t.gz"
TABLES = ("model", "training_history", "predictions", "metrics", "confusion",
          "train_quarantine")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """1,200 training and 400 test lines of the bundled a9a test split (plus a bad line), and
    the same rows as dense CSV files with named labels."""
    lines = gzip.decompress(A9A.read_bytes()).decode().splitlines()[:1600]
    out = tmp_path_factory.mktemp("train-data")
    paths = {"train": out / "train.svm", "test": out / "test.svm",
             "train_csv": out / "train.csv", "test_csv": out / "test.csv"}
    paths["train"].write_text("\n".join(lines[:1200]) + "\n")
    paths["test"].write_text("\n".join([*lines[1200:], "+1 5:1 3:1"]) + "\n")  # not increasing
    # The CSV keeps the first 20 features: a wide CSV costs the reader a check per column.
    header = ",".join([f"f{i}" for i in range(20)] + ["income"])
    for name, part in (("train_csv", lines[:600]), ("test_csv", lines[1200:1400])):
        rows = [header]
        for line in part:
            label, *tokens = line.split()
            dense = ["0"] * 20
            for token in tokens:
                index, value = token.split(":")
                if int(index) <= 20:
                    dense[int(index) - 1] = value
            rows.append(",".join([*dense, "over" if label == "+1" else "under"]))
        paths[name].write_text("\n".join(rows) + "\n")
    return paths


@pytest.fixture(scope="module")
def warehouse(spark, files: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    wh = tmp_path_factory.mktemp("train") / "wh"
    code = run_job("train", train_job.pipeline,
                   ["--input", str(files["train"]), "--test", str(files["test"]),
                    "--n-features", "123", "--folds", "2", "--max-epochs", "12",
                    "--learning-rate", "0.01", "--name", "adult", "--warehouse", str(wh),
                    "--quiet", "--run-id", "a9a"], spark=spark)
    assert code == 0
    return wh


def _test_points(spark, files: dict[str, Path]):
    return read_labeled(spark, str(files["test"]), n_features=123).data


@pytest.mark.connect
def test_job_publishes_every_table_with_its_schema(spark, warehouse: Path) -> None:
    wh = Warehouse(warehouse)
    for name in TABLES:
        got = wh.read(spark, name).schema
        want = schemas.RESULT_TABLES[name]
        assert [(f.name, f.dataType.simpleString()) for f in got] == [
            (f.name, f.dataType.simpleString()) for f in want], name
    (model,) = wh.read(spark, "model").collect()
    assert (model.name, model.estimator, model.loss, model.classes) == (
        "adult", "SGDEstimator", "logistic", [-1.0, 1.0])
    assert model.train_rows + model.validation_rows == 1200
    config = json.loads(model.config)
    assert config["learning_rate"] == 0.01 and config["max_epochs"] == 12
    history = wh.read(spark, "training_history").toPandas()
    final = history[history["fold"].isna()].sort_values("epoch")
    assert final["epoch"].tolist() == list(range(model.epochs))
    assert sorted(history["fold"].dropna().unique().tolist()) == [0, 1]
    assert wh.read(spark, "predictions").count() == 400  # the test rows
    (bad,) = wh.read(spark, "train_quarantine").collect()
    assert bad.source_file.endswith("test.svm") and bad.line_number == 401
    assert (warehouse / "plots" / "loss_curve.png").stat().st_size > 1000
    run = RunLog(wh).records()[-1]
    assert run.status == "succeeded" and run.notes["mode"] == "in_task"
    assert int(run.notes["best_epoch"]) == model.best_epoch
    assert run.counts["test_points"]["rows_quarantined"] == 1


def test_metrics_match_scikit_learn(spark, warehouse: Path) -> None:
    from sklearn import metrics as skm

    wh = Warehouse(warehouse)
    pred = wh.read(spark, "predictions").toPandas()
    y, yhat = pred["label"].to_numpy(), pred["prediction"].to_numpy()
    proba = np.stack(pred["probability"].to_numpy())
    got = {(r.metric, r.label): r.value
           for r in wh.read(spark, "metrics").where("split = 'test'").collect()}
    assert got[("accuracy", None)] == pytest.approx(skm.accuracy_score(y, yhat), abs=1e-12)
    assert got[("log_loss", None)] == pytest.approx(skm.log_loss(y, proba, labels=[-1, 1]),
                                                    rel=1e-9)
    precision, recall, f1, support = skm.precision_recall_fscore_support(
        y, yhat, labels=[-1.0, 1.0], zero_division=0)
    for i, label in enumerate((-1.0, 1.0)):
        assert got[("precision", label)] == pytest.approx(precision[i], abs=1e-12)
        assert got[("recall", label)] == pytest.approx(recall[i], abs=1e-12)
        assert got[("f1", label)] == pytest.approx(f1[i], abs=1e-12)
        assert got[("support", label)] == support[i]
    confusion = {(r.actual, r.predicted): r.rows
                 for r in wh.read(spark, "confusion").collect()}
    matrix = skm.confusion_matrix(y, yhat, labels=[-1.0, 1.0])
    assert confusion == {
        (a, p): int(matrix[i, j]) for i, a in enumerate((-1.0, 1.0))
        for j, p in enumerate((-1.0, 1.0)) if matrix[i, j]}


@pytest.mark.connect
def test_stored_model_predicts_what_the_job_published(spark, warehouse: Path, files) -> None:
    wh = Warehouse(warehouse)
    est = load_model(spark, wh, "adult")
    points = _test_points(spark, files)
    got = {r.row: (r.prediction, r.probability[1]) for r in est.predict(points).collect()}
    published = {r.row: (r.prediction, r.probability[1])
                 for r in wh.read(spark, "predictions").collect()}
    assert got == published
    # An independent reading of the weights: a linear model is theta = (w, b).
    theta, rows = est.model_.theta, points.orderBy("row").collect()
    X = np.zeros((len(rows), est.n_features_in_))
    for i, r in enumerate(rows):
        keep = [j for j in r.indices if j < est.n_features_in_]
        X[i, keep] = [v for j, v in zip(r.indices, r.values) if j < est.n_features_in_]
    p1 = 1.0 / (1.0 + np.exp(-(X @ theta[:-1] + theta[-1])))
    assert np.allclose([published[r.row][1] for r in rows], p1, rtol=1e-9, atol=1e-12)
    with pytest.raises(InputError, match=r"no model named 'nope'.*\(models: adult\)"):
        load_model(spark, wh, "nope")


def test_sql_queries_over_the_training_tables(spark, warehouse: Path, capsys) -> None:
    def query(*args: str) -> list[dict]:
        assert mining_cli(["sql", *args, "--warehouse", str(warehouse), "--format", "json"],
                          spark=spark) == 0
        return [json.loads(line) for line in capsys.readouterr().out.splitlines()]

    history = Warehouse(warehouse).read(spark, "training_history").toPandas()
    best = {r["fold"]: r for r in query("best_epoch")}
    for fold, group in history.groupby(history["fold"].fillna(-1)):
        want = group.sort_values(["validation_loss", "epoch"]).iloc[0]
        assert best[None if fold == -1 else fold]["best_epoch"] == want["epoch"]
    (model,) = Warehouse(warehouse).read(spark, "model").collect()
    assert best[None]["best_epoch"] == model.best_epoch  # what early stopping kept
    cells = query("confusion_matrix")
    assert sum(c["rows"] for c in cells) == 400 and {c["split"] for c in cells} == {"test"}
    for actual in {c["actual"] for c in cells}:
        shares = [c["share_of_actual"] for c in cells if c["actual"] == actual]
        assert sum(shares) == pytest.approx(1.0)
    folds = query("metrics_by_fold", "--param-string", "metric=accuracy")
    cv = [r for r in folds if r["split"] == "cv"]
    assert [r["fold"] for r in cv] == [0, 1]
    assert cv[0]["mean_over_folds"] == pytest.approx((cv[0]["value"] + cv[1]["value"]) / 2)


def test_csv_with_named_labels_trains_an_mlp(spark, files, warehouse: Path,
                                             tmp_path: Path) -> None:
    wh = tmp_path / "wh"  # a copy of the first run's warehouse: its model must stay stored
    shutil.copytree(warehouse, wh, symlinks=True)
    code = run_job("train", train_job.pipeline,
                   ["--input", str(files["train_csv"]), "--test", str(files["test_csv"]),
                    "--format", "csv", "--header", "--label-column", "-1", "--string-labels",
                    "--loss", "softmax", "--hidden", "8", "--max-epochs", "4",
                    "--batch-size", "full", "--patience", "0", "--name", "income_mlp",
                    "--warehouse", str(wh), "--quiet"], spark=spark)
    assert code == 0
    store = Warehouse(wh)
    assert model_names(spark, store) == ["adult", "income_mlp"]
    (model,) = store.read(spark, "model").where("name = 'income_mlp'").collect()
    assert json.loads(model.config)["label_names"] == ["over", "under"]
    assert (model.n_features, model.n_outputs, model.epochs) == (20, 2, 4)
    assert model.n_params == 20 * 8 + 8 + 8 * 2 + 2
    published = {r.row: r.prediction for r in store.read(spark, "predictions").collect()}
    test = read_labeled(spark, str(files["test_csv"]), format="csv", header=True,
                        label_column=-1, labels=["over", "under"]).data
    assert len(published) == 200 and set(published.values()) <= {0.0, 1.0}
    mlp = load_model(spark, store, "income_mlp")
    again = {r.row: r.prediction for r in mlp.predict(test).collect()}
    assert again == published


@pytest.mark.parametrize(("flags", "fragment"), [
    (["--mode", "warp"], "unknown mode 'warp'"),
    (["--hidden", "12,x"], "hidden must be layer widths"),
    (["--folds", "1"], "folds must be 0"),
    (["--batch-norm"], "batch_norm and dropout need at least one hidden layer"),
    (["--optimizer", "adamw"], "unknown optimizer 'adamw'"),
    (["--learning-rate", "-1"], "learning_rate must be > 0"),
    (["--class-weight", "heavy"], "class_weight must be"),
    (["--activation", "step"], "unknown activation 'step'"),
])
def test_bad_flags_are_one_line(spark, files, tmp_path: Path, capsys, flags: list[str],
                                fragment: str) -> None:
    code = run_job("train", train_job.pipeline,
                   ["--input", str(files["train"]), "--warehouse", str(tmp_path / "wh"),
                    "--quiet", *flags], spark=spark)
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == EXIT_BAD_INPUT and len(lines) == 1 and fragment in lines[0], lines


def test_mining_run_finds_the_job(capsys) -> None:
    assert mining_cli(["jobs"]) == 0 and "train" in capsys.readouterr().out.split()
    assert mining_cli(["run", "train", "--max-epochs", "many"]) == EXIT_BAD_INPUT
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "needs an integer, got 'many'" in line

"""Model training by SGD against MLlib and scikit-learn, side by side, like for like (#10).

Each tool trains on the training file and reports its accuracy on the test file; the clock
covers reading both (``*-from-file``, the headline) or neither (the cached variants):

* ``ours-from-file`` / ``ours``: :func:`mining.io.readers.read_labeled` and the preset
  estimator in its default (size-chosen) mode; ``ours-in-task``, ``ours-barrier``,
  ``ours-local`` force a mode (cached input); ``ours-sync`` is one Spark job per step
  (batches of 8,192, 3 epochs: measured, not held to the goal).
* ``mllib-from-file`` / ``mllib``: MLlib's own reader (``format("libsvm")``, or CSV and
  ``VectorAssembler``), labels mapped to 0/1, ``LogisticRegression()`` with its defaults
  (L-BFGS, 100 iterations) or ``MultilayerPerceptronClassifier`` (sigmoid hidden layer,
  L-BFGS, 100 iterations).
* ``sklearn``: one process, ``load_svmlight_file`` / ``numpy.loadtxt`` and
  ``LogisticRegression()`` (lbfgs) or ``MLPClassifier(128, relu, adam)``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.harness import BenchContext, Tools, benchmark, isolated
from bench.labeled_data import CACHE, dense_file, mnist_files, sparse_file


def _split(path: Path) -> tuple[Path, Path]:
    """Every fifth line of a (gzipped) LIBSVM file to a test file, the rest to training."""
    import gzip

    train, test = CACHE / f"{path.stem}-train.svm", CACHE / f"{path.stem}-test.svm"
    if not (train.exists() and test.exists()):
        CACHE.mkdir(parents=True, exist_ok=True)
        with gzip.open(path, "rt") as fh:
            lines = fh.read().splitlines(keepends=True)
        train.write_text("".join(ln for i, ln in enumerate(lines) if i % 5 != 4))
        test.write_text("".join(ln for i, ln in enumerate(lines) if i % 5 == 4))
    return train, test


def _read(ctx: BenchContext, path: Path, fmt: str, d: int) -> Any:
    from mining.io.readers import read_labeled

    return read_labeled(ctx.spark, str(path), format=fmt,  # type: ignore[arg-type]
                        n_features=d).data


def _ours(make: Callable[[], Any], train: Callable[[], Any], test: Callable[[], Any]
          ) -> Callable[[], dict[str, Any]]:
    def run() -> dict[str, Any]:
        est = make().fit(train())
        return {"accuracy": round(est.score(test()), 4), "epochs": est.n_epochs_,
                "mode": est.mode_}

    return run


def _mllib_read(ctx: BenchContext, path: Path, fmt: str, d: int) -> Any:
    from pyspark.ml.feature import VectorAssembler
    from pyspark.sql import functions as F

    spark = ctx.spark
    if fmt == "libsvm":
        df = spark.read.format("libsvm").option("numFeatures", d).load(str(path))
    else:
        raw = spark.read.csv(str(path), inferSchema=False).toDF("label",
                                                               *[f"x{i}" for i in range(d)])
        raw = raw.select(*[F.col(c).cast("double") for c in raw.columns])
        df = VectorAssembler(inputCols=raw.columns[1:], outputCol="features").transform(raw)
    return df.select(F.when(F.col("label") > 0, 1.0).otherwise(0.0).alias("label")
                     if fmt == "libsvm" else F.col("label"), "features")


def _mllib(make: Callable[[], Any], train: Callable[[], Any], test: Callable[[], Any]
           ) -> Callable[[], dict[str, Any]]:
    def run() -> dict[str, Any]:
        from pyspark.sql import functions as F

        model = make().fit(train())
        p = model.transform(test())
        acc = p.select(F.avg((F.col("label") == F.col("prediction")).cast("double"))).first()[0]
        return {"accuracy": round(float(acc), 4)}

    return run


def _sklearn(path: Path, test: Path, fmt: str, d: int, make: Callable[[], Any]
             ) -> Callable[[], dict[str, Any]]:
    def run() -> dict[str, Any]:
        import numpy as np
        from sklearn.datasets import load_svmlight_file

        def load(p: Path) -> tuple[Any, Any]:
            if fmt == "libsvm":
                X, y = load_svmlight_file(str(p), n_features=d)
                return X, (y > 0).astype(int)
            data = np.loadtxt(p, delimiter=",")
            return data[:, 1:], data[:, 0].astype(int)

        X, y = load(path)
        Xt, yt = load(test)
        return {"accuracy": round(float(make().fit(X, y).score(Xt, yt)), 4)}

    return run


def _tools(ctx: BenchContext, train: Path, test: Path, fmt: str, d: int, *,
           sync: bool = True) -> Tools:
    from pyspark.ml.classification import LogisticRegression as MLlibLR
    from sklearn.linear_model import LogisticRegression as SkLR

    from mining.sgd import LogisticRegression

    cached = _read(ctx, train, fmt, d).cache()
    cached_test = _read(ctx, test, fmt, d).cache()
    cached.count(), cached_test.count()
    m_train = _mllib_read(ctx, train, fmt, d).cache()
    m_test = _mllib_read(ctx, test, fmt, d).cache()
    m_train.count(), m_test.count()
    tools: dict[str, Any] = {
        "ours-from-file": _ours(LogisticRegression, lambda: _read(ctx, train, fmt, d),
                                lambda: _read(ctx, test, fmt, d)),
        "mllib-from-file": _mllib(MLlibLR, lambda: _mllib_read(ctx, train, fmt, d),
                                  lambda: _mllib_read(ctx, test, fmt, d)),
        "ours": _ours(LogisticRegression, lambda: cached, lambda: cached_test),
        "mllib": _mllib(MLlibLR, lambda: m_train, lambda: m_test),
        "sklearn": isolated(_sklearn(train, test, fmt, d, lambda: SkLR(max_iter=1000))),
    }
    def forced(mode: str) -> Callable[[], Any]:
        return lambda: LogisticRegression(mode=mode)  # type: ignore[arg-type]

    for mode in ("in_task", "barrier", "local"):
        tools[f"ours-{mode.replace('_', '-')}"] = _ours(forced(mode), lambda: cached,
                                                       lambda: cached_test)
    if sync:
        tools["ours-sync"] = _ours(
            lambda: LogisticRegression(mode="sync", batch_size=8192, max_epochs=3,
                                       learning_rate=0.05), lambda: cached, lambda: cached_test)
    return tools


@benchmark("train-a9a", ours="ours-from-file",
           description="logistic regression, a9a (32,561 x 123 sparse; test a9a.t)")
def train_a9a(ctx: BenchContext) -> Tools:
    """a9a and its test file, LIBSVM."""
    return _tools(ctx, ctx.shared_file("classification/a9a.gz"),
                  ctx.shared_file("classification/a9a.t.gz"), "libsvm", 123)


@benchmark("train-w8a", ours="ours-from-file",
           description="logistic regression, w8a (49,749 x 300 sparse; every 5th row tests)")
def train_w8a(ctx: BenchContext) -> Tools:
    """w8a split 4:1 by line."""
    train, test = _split(ctx.shared_file("classification/w8a.gz"))
    return _tools(ctx, train, test, "libsvm", 300)


def _register_synthetic(name: str, n: int) -> None:
    dense = name.startswith("dense")

    @benchmark(f"train-{name}", ours="ours-from-file",
               description=f"logistic regression, synthetic {'dense 50' if dense else 'sparse'}"
                           f" features, {n:,} rows (test 100k)")
    def setup(ctx: BenchContext) -> Tools:
        if dense:
            return _tools(ctx, dense_file(n), dense_file(n, test=True), "csv", 50, sync=False)
        return _tools(ctx, sparse_file(n), sparse_file(n, test=True), "libsvm", 10_000,
                      sync=False)


for _name, _n in {"dense-1m": 1_000_000, "dense-10m": 10_000_000,
                  "sparse-1m": 1_000_000}.items():
    _register_synthetic(_name, _n)


@benchmark("train-mnist-mlp", ours="ours-from-file",
           description="MLP 784-128-10 on the MNIST test set (8,000 train / 2,000 test)")
def train_mnist(ctx: BenchContext) -> Tools:
    """Our ReLU/Adam MLP against MLlib's sigmoid/L-BFGS MLP and scikit-learn's."""
    from pyspark.ml.classification import MultilayerPerceptronClassifier
    from sklearn.neural_network import MLPClassifier as SkMLP

    from mining.sgd import MLPClassifier

    train, test = mnist_files(ctx.shared_file("classification/mnist_test.csv.gz"))

    def ours() -> Any:
        return MLPClassifier(hidden=(128,), max_epochs=30, batch_size=128)

    def mllib() -> Any:
        return MultilayerPerceptronClassifier(layers=[784, 128, 10], maxIter=100, seed=1)

    cached = _read(ctx, train, "csv", 784).cache()
    cached_test = _read(ctx, test, "csv", 784).cache()
    m_train = _mllib_read(ctx, train, "csv", 784).cache()
    m_test = _mllib_read(ctx, test, "csv", 784).cache()
    for df in (cached, cached_test, m_train, m_test):
        df.count()
    return {
        "ours-from-file": _ours(ours, lambda: _read(ctx, train, "csv", 784),
                                lambda: _read(ctx, test, "csv", 784)),
        "mllib-from-file": _mllib(mllib, lambda: _mllib_read(ctx, train, "csv", 784),
                                  lambda: _mllib_read(ctx, test, "csv", 784)),
        "ours": _ours(ours, lambda: cached, lambda: cached_test),
        "mllib": _mllib(mllib, lambda: m_train, lambda: m_test),
        "sklearn": isolated(_sklearn(train, test, "csv", 784, lambda: SkMLP(
            hidden_layer_sizes=(128,), max_iter=30, random_state=1))),
    }

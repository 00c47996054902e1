"""The one place that builds or attaches a SparkSession.

Three ways to reach Spark, chosen in this order:

1. a Spark Connect remote (``remote=`` or the ``SPARK_REMOTE`` environment variable, ``sc://...``);
   the project's code is shipped to the server with ``spark.addArtifacts(..., pyfile=True)``;
2. the session ``spark-submit`` already configured (the driver was launched by ``spark-submit``,
   so its ``--properties-file``/``--conf``/``--master`` apply untouched);
3. a session started here from a properties file (default ``conf/spark-local.conf``), with the
   master from ``master=``, ``MINING_MASTER`` or the file (``local[2]``, ``spark://host:7077``).

Python workers (and the driver) always run this interpreter: PySpark otherwise starts the
system ``python3``, which lacks pyarrow ("No module named 'pyarrow'").
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path

from pyspark.sql import SparkSession

from mining.errors import ConfigError

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Settings a running session (remote or launched by spark-submit) cannot change.
_STATIC_ONLY = ("spark.master", "spark.driver.", "spark.executor.", "spark.ui.", "spark.log.",
                "spark.checkpoint.", "spark.default.parallelism", "spark.pyspark.")


def conf_dir() -> Path:
    """Directory holding ``spark-*.conf`` and ``jobs/*.toml``.

    ``MINING_CONF_DIR`` if set; else the checkout's ``conf/`` (editable install); else
    ``./conf`` (a job submitted from the project directory with the code in a zip or wheel).
    """
    if "MINING_CONF_DIR" in os.environ:
        return Path(os.environ["MINING_CONF_DIR"])
    checkout = PROJECT_ROOT / "conf"
    return checkout if checkout.is_dir() else Path.cwd() / "conf"


def read_properties(path: str | Path) -> dict[str, str]:
    """Parse a Spark properties file (``key value`` or ``key=value``; ``#`` comments).

    Raises
    ------
    ConfigError
        If the file does not exist or a line has a key but no value.
    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"Spark properties file not found: {p}")
    props: dict[str, str] = {}
    for n, raw in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", "!")):
            continue
        key, sep, value = line.replace("=", " ", 1).partition(" ")
        if not sep or not value.strip():
            raise ConfigError(f"{p}:{n}: property {key!r} has no value")
        props[key.strip()] = value.strip()
    return props


def launched_by_spark_submit() -> bool:
    """True when this driver was started by ``spark-submit`` (it set up the JVM gateway)."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def build_session(
    app_name: str = "mining",
    *,
    master: str | None = None,
    remote: str | None = None,
    properties_file: str | Path | None = None,
    conf: Mapping[str, str] | None = None,
) -> SparkSession:
    """Build (or attach to) the SparkSession for a job, the CLI or the tests.

    Parameters
    ----------
    app_name
        Spark application name.
    master
        Master URL for a session started here (``local[2]``, ``spark://127.0.0.1:7077``);
        defaults to ``MINING_MASTER``, then the properties file, then ``local[2]``.
    remote
        Spark Connect URL (``sc://host:15002``); defaults to ``SPARK_REMOTE``.
    properties_file
        Spark properties for a session started here; default ``conf/spark-local.conf``.
    conf
        Extra properties that win over the file (runtime SQL settings also apply to remote
        and spark-submit sessions).

    Returns
    -------
    SparkSession
    """
    extra = dict(conf or {})
    remote = remote or os.environ.get("SPARK_REMOTE")
    if remote:
        spark = SparkSession.builder.remote(remote).getOrCreate()
        _set_runtime_conf(spark, extra)
        ship_code(spark)
        log.info("attached to Spark Connect server %s", _mask_url(remote))
        return spark
    if launched_by_spark_submit():
        spark = SparkSession.builder.appName(app_name).getOrCreate()
        _set_runtime_conf(spark, extra)
        return spark
    props = read_properties(properties_file or conf_dir() / "spark-local.conf")
    props.update(extra)
    props.setdefault("spark.pyspark.python", sys.executable)
    props.setdefault("spark.pyspark.driver.python", sys.executable)
    os.environ.setdefault("PYSPARK_PYTHON", props["spark.pyspark.python"])
    chosen = master or os.environ.get("MINING_MASTER") or props.pop("spark.master", "local[2]")
    props.pop("spark.master", None)
    builder = SparkSession.builder.master(chosen).appName(app_name)
    for key, value in props.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    log.info("Spark %s session on %s", spark.version, chosen)
    return spark


def _set_runtime_conf(spark: SparkSession, conf: Mapping[str, str]) -> None:
    for key, value in conf.items():
        if not key.startswith(_STATIC_ONLY):
            spark.conf.set(key, value)


def is_remote(spark: SparkSession) -> bool:
    """True for a Spark Connect session (no SparkContext, no JVM on this side)."""
    return not hasattr(spark, "sparkContext") or type(spark).__module__.startswith(
        "pyspark.sql.connect"
    )


def ship_code(spark: SparkSession) -> Path | None:
    """Send this checkout's ``mining`` package to a Spark Connect server as a zip artifact.

    A remote server's Python workers cannot import ``mining`` otherwise. Skipped (returns
    ``None``) when ``MINING_SHIP_CODE=0``.
    """
    if os.environ.get("MINING_SHIP_CODE", "1") == "0":
        return None
    package = Path(__file__).resolve().parents[1]
    out = Path(tempfile.mkdtemp(prefix="mining-artifact-")) / "mining.zip"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(package.rglob("*.py")):
            zf.write(f, f.relative_to(package.parent).as_posix())
    spark.addArtifacts(str(out), pyfile=True)
    return out


def _mask_url(url: str) -> str:
    from mining.masking import mask_secrets

    return mask_secrets(url)

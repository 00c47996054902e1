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

A JVM started here writes its banner, warnings and log to ``spark_log`` (a file) instead of the
terminal when one is given (the jobs and the CLI do, unless ``--verbose``), and binds to the
loopback address of the profile: ``SPARK_LOCAL_IP`` is set from ``spark.driver.bindAddress``, so
no socket of the driver listens beyond 127.0.0.1 (tested) and Spark does not warn that the host
name resolves to a loopback address.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import sys
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

from pyspark.sql import SparkSession

from mining.errors import ConfigError, SparkStartError, one_line

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Settings a running session (remote or launched by spark-submit) cannot change.
_STATIC_ONLY = ("spark.master", "spark.driver.", "spark.executor.", "spark.ui.", "spark.log.",
                "spark.checkpoint.", "spark.default.parallelism", "spark.pyspark.",
                "spark.sql.restrictedMode.", "spark.sql.reflect.")


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
    if p.is_dir():
        raise ConfigError(f"Spark properties file {p} is a directory, not a file")
    if not p.is_file():
        raise ConfigError(f"Spark properties file not found: {p}")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"Spark properties file {p} is not UTF-8 text (byte {exc.start})"
                          ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read Spark properties file {p}: {exc.strerror}") from None
    props: dict[str, str] = {}
    for n, raw in enumerate(text.splitlines(), start=1):
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
    spark_log: str | Path | None = None,
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
    spark_log
        File that receives everything a JVM started here prints (banner, warnings, its log);
        ``None`` leaves it on the terminal.

    Returns
    -------
    SparkSession

    Raises
    ------
    ConfigError
        For a missing or unreadable properties file.
    SparkStartError
        When Spark does not start or a Connect server cannot be reached (one line, with the
        JVM's own reason when it gave one).
    """
    extra = dict(conf or {})
    remote = remote or os.environ.get("SPARK_REMOTE")
    if remote:
        return _attach_remote(remote, extra)
    if launched_by_spark_submit():
        spark = SparkSession.builder.appName(app_name).getOrCreate()
        _set_runtime_conf(spark, extra)
        return spark
    props = read_properties(properties_file or conf_dir() / "spark-local.conf")
    props.update(extra)
    props.setdefault("spark.pyspark.python", sys.executable)
    props.setdefault("spark.pyspark.driver.python", sys.executable)
    os.environ.setdefault("PYSPARK_PYTHON", props["spark.pyspark.python"])
    _bind_loopback(props.get("spark.driver.bindAddress"))
    chosen = master or os.environ.get("MINING_MASTER") or props.pop("spark.master", "local[2]")
    props.pop("spark.master", None)
    builder = SparkSession.builder.master(chosen).appName(app_name)
    for key, value in props.items():
        builder = builder.config(key, value)
    log_path = Path(spark_log) if spark_log is not None else None
    try:
        with _child_output_to(log_path):
            spark = builder.getOrCreate()
    except Exception as exc:
        raise SparkStartError(_start_failure(chosen, exc, log_path)) from exc
    if log_path is not None:
        log.info("Spark %s session on %s; Spark's own log: %s", spark.version, chosen, log_path)
    else:
        log.info("Spark %s session on %s", spark.version, chosen)
    return spark


def _attach_remote(remote: str, extra: Mapping[str, str]) -> SparkSession:
    check_reachable(remote)
    try:
        spark = SparkSession.builder.remote(remote).getOrCreate()
        _set_runtime_conf(spark, extra)
        ship_code(spark)
    except Exception as exc:
        raise SparkStartError(f"cannot use Spark Connect server {_mask_url(remote)}: "
                              f"{one_line(exc)}") from exc
    log.info("attached to Spark Connect server %s", _mask_url(remote))
    return spark


def check_reachable(remote: str, *, timeout: float = 5.0) -> None:
    """Fail fast, in one line, when nothing listens at a Spark Connect URL's host and port.

    The Connect client itself retries an unreachable server with backoff for minutes before it
    gives up; a TCP connect answers at once.

    Raises
    ------
    SparkStartError
        When the URL is not ``sc://host[:port]`` or the port refuses or times out.
    """
    parsed = urlparse(remote)
    if parsed.scheme != "sc" or not parsed.hostname:
        raise SparkStartError(f"Spark Connect URL {_mask_url(remote)!r} is not sc://host[:port]")
    port = parsed.port or 15002
    try:
        with socket.create_connection((parsed.hostname, port), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise SparkStartError(f"cannot reach Spark Connect server {parsed.hostname}:{port} "
                              f"({reason}); is it running?") from None


def _bind_loopback(bind_address: str | None) -> None:
    # Spark picks its advertised address from SPARK_LOCAL_IP before the host name; set from a
    # loopback bindAddress, every server socket of the driver stays on it.
    if not bind_address:
        return
    try:
        loopback = ipaddress.ip_address(bind_address).is_loopback
    except ValueError:
        loopback = bind_address == "localhost"
    if loopback:
        os.environ.setdefault("SPARK_LOCAL_IP", bind_address)


@contextmanager
def _child_output_to(path: Path | None) -> Iterator[None]:
    """Point file descriptors 1 and 2 at ``path`` while the JVM starts (it inherits them)."""
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    try:
        os.dup2(target, 1)
        os.dup2(target, 2)
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, target):
            os.close(fd)


def _start_failure(master: str, exc: BaseException, log_path: Path | None) -> str:
    """One line: why the JVM did not start (its last exception line in the log, if any)."""
    reason = one_line(exc)
    if log_path is not None and log_path.is_file():
        tail = log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-200:]
        causes = [ln.strip() for ln in tail if "Exception" in ln or "Error:" in ln]
        if causes:
            reason = causes[0].removeprefix('Exception in thread "main" ')
    where = f"; Spark's log: {log_path}" if log_path is not None else ""
    return f"Spark did not start (master {master!r}): {reason}{where}"


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

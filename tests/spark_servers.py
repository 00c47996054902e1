"""Local Spark servers for the test modes: a Spark Connect server and a standalone cluster.

Both run as child processes of the test session, bind to 127.0.0.1 only, write every file
(logs, checkpoints, work dirs, ``spark-warehouse``) under the ``workdir`` they are given, run
Python workers with this virtualenv's interpreter, and are stopped by killing their process
group, which also takes the Python workers and executors they forked.

Examples
--------
>>> server = ConnectServer(tmp_path / "connect").start()      # doctest: +SKIP
>>> spark = SparkSession.builder.remote(server.url).create()   # doctest: +SKIP
>>> server.stop()                                              # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
CONNECT_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """True when ``host:port`` accepts a TCP connection."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def spark_env(**extra: str) -> dict[str, str]:
    """Environment for Spark child processes: venv Python everywhere, loopback-only binding.

    ``SPARK_LOCAL_IP`` makes the web UIs, block managers and RPC endpoints bind to 127.0.0.1
    instead of every interface; ``PYSPARK_PYTHON`` makes Python workers import pyarrow and
    pandas from this virtualenv instead of the system ``python3``.
    """
    env = dict(os.environ)
    env.update(
        PYSPARK_PYTHON=sys.executable,
        PYSPARK_DRIVER_PYTHON=sys.executable,
        SPARK_LOCAL_IP="127.0.0.1",
        SPARK_LOCAL_HOSTNAME="127.0.0.1",
    )
    # A stale SPARK_HOME from the user's shell would mix another Spark's jars with the venv's.
    env.pop("SPARK_HOME", None)
    env.update(extra)
    return env


def log_tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a log file ('' if it does not exist)."""
    if not path.is_file():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _load_prctl() -> Callable[..., int] | None:
    try:
        return ctypes.CDLL("libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _load_prctl()  # resolved here: the child between fork and exec must not import


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM when the test process dies, even by SIGKILL.

    Without it a killed pytest would leave JVMs running in their own process groups.
    Linux only (``prctl(PR_SET_PDEATHSIG)``); elsewhere a no-op.
    """
    if _PRCTL is not None:
        _PRCTL(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


class _Daemon:
    """One long-running child process in its own process group, with its output in a log file."""

    def __init__(self, name: str, argv: Sequence[str], *, cwd: Path, env: dict[str, str]) -> None:
        self.name, self.argv, self.cwd, self.env = name, list(argv), cwd, env
        self.log = cwd / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._log_fh: IO[bytes] | None = None

    def start(self) -> None:
        self.cwd.mkdir(parents=True, exist_ok=True)
        self._log_fh = self.log.open("wb")
        # A new session: stop() can signal the JVM and every Python worker it forked at once.
        self.proc = subprocess.Popen(self.argv, cwd=self.cwd, env=self.env, stdout=self._log_fh,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True,
                                     # Only a C call after fork, nothing that takes a lock.
                                     preexec_fn=_die_with_parent)  # noqa: PLW1509

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, grace: float = 15.0) -> None:
        """SIGTERM the process group, wait up to ``grace`` seconds, then SIGKILL it."""
        if self.proc is None:
            return
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        with contextlib.suppress(ProcessLookupError):  # stragglers: workers the JVM left
            os.killpg(self.proc.pid, signal.SIGKILL)
        if self._log_fh is not None:
            self._log_fh.close()
        self.proc = None

    def wait_until(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll ``ready`` until true; raise with the log tail if the process dies or times out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            if not self.alive():
                raise RuntimeError(f"{self.name} exited before {what}; log tail:\n"
                                   f"{log_tail(self.log)}")
            time.sleep(0.25)
        raise TimeoutError(f"{self.name}: no {what} after {timeout:.0f} s; log tail:\n"
                           f"{log_tail(self.log)}")


class ConnectServer:
    """A Spark Connect server (``local[2]``, ``conf/spark-local.conf``) on 127.0.0.1.

    Parameters
    ----------
    workdir
        Directory for the server's log, checkpoints and scratch files (created).
    port
        gRPC port; a free one by default.
    token
        Bearer token clients must present (``spark.connect.authenticate.token``). ``None``
        (the default) generates a random one, so other users of a shared machine cannot use
        the server; ``""`` turns authentication off.
    properties_file
        Spark properties of the server's session.
    """

    def __init__(self, workdir: Path, port: int | None = None, *, token: str | None = None,
                 properties_file: Path = ROOT / "conf" / "spark-local.conf") -> None:
        self.workdir = Path(workdir)
        self.port = port or free_port()
        self.token = secrets.token_urlsafe(24) if token is None else token
        self.properties_file = properties_file
        self._daemon: _Daemon | None = None

    @property
    def url(self) -> str:
        """Connect URL: ``sc://127.0.0.1:<port>``, or ``sc://localhost:<port>/;token=...``.

        With a token the host is ``localhost`` because the Python client only sends a token
        without TLS over gRPC local credentials, which it uses for the name ``localhost``.
        """
        if self.token:
            return f"sc://localhost:{self.port}/;token={self.token}"
        return f"sc://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90.0) -> ConnectServer:
        """Start the server and wait until its port accepts connections."""
        checkpoints = self.workdir / "checkpoints"
        checkpoints.mkdir(parents=True, exist_ok=True)
        argv = [
            str(VENV_BIN / "spark-submit"), "--class", CONNECT_CLASS,
            "--properties-file", str(self.properties_file),
            "--conf", "spark.connect.grpc.binding.address=127.0.0.1",
            "--conf", f"spark.connect.grpc.binding.port={self.port}",
            # Fail loudly instead of silently moving to the next port (the URL would be wrong).
            "--conf", "spark.connect.grpc.port.maxRetries=0",
            "--conf", f"spark.checkpoint.dir={checkpoints}",
            "--conf", f"spark.sql.warehouse.dir={self.workdir / 'spark-warehouse'}",
            "--conf", f"spark.local.dir={self.workdir / 'local'}",
            "--conf", f"spark.pyspark.python={sys.executable}",
            "--conf", "spark.driver.memory=2g",
            "spark-internal",
        ]
        # The token goes through the environment, not argv, so `ps` does not show it.
        env = spark_env()
        env.pop("SPARK_CONNECT_AUTHENTICATE_TOKEN", None)
        if self.token:
            env["SPARK_CONNECT_AUTHENTICATE_TOKEN"] = self.token
        self._daemon = _Daemon("connect-server", argv, cwd=self.workdir, env=env)
        self._daemon.start()
        try:
            self._daemon.wait_until(lambda: port_open(self.port), timeout, "open gRPC port")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server and its Python workers."""
        if self._daemon is not None:
            self._daemon.stop()
            self._daemon = None

    def __enter__(self) -> ConnectServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class StandaloneCluster:
    """A standalone master and one worker (1 core, 1 GiB) on 127.0.0.1.

    Parameters
    ----------
    workdir
        Directory for the daemons' logs and the worker's executor directories (created).
    worker_memory
        Memory the worker offers; executors must ask for less (``spark.executor.memory``).
    """

    def __init__(self, workdir: Path, *, worker_cores: int = 1, worker_memory: str = "1g") -> None:
        self.workdir = Path(workdir)
        self.port, self.webui_port, self.worker_webui_port = free_port(), free_port(), free_port()
        self.worker_cores, self.worker_memory = worker_cores, worker_memory
        self._daemons: list[_Daemon] = []

    @property
    def master_url(self) -> str:
        """``spark://127.0.0.1:<port>``."""
        return f"spark://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> StandaloneCluster:
        """Start the master, then the worker, and wait until the worker has registered."""
        spark_class = str(VENV_BIN / "spark-class")
        env = spark_env()
        master = _Daemon("master", [
            spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
            "--port", str(self.port), "--webui-port", str(self.webui_port),
        ], cwd=self.workdir, env=env)
        worker = _Daemon("worker", [
            spark_class, "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
            "--cores", str(self.worker_cores), "--memory", self.worker_memory,
            "--webui-port", str(self.worker_webui_port),
            "--work-dir", str(self.workdir / "work"), self.master_url,
        ], cwd=self.workdir, env=env)
        self._daemons = [master, worker]
        try:
            master.start()
            master.wait_until(lambda: port_open(self.port), timeout, "open master port")
            worker.start()
            worker.wait_until(lambda: self.alive_workers() > 0, timeout, "worker registration")
        except BaseException:
            self.stop()
            raise
        return self

    def master_state(self) -> dict[str, object]:
        """The master's JSON status page (``/json``), or ``{}`` while it is not up."""
        # No proxy: an http_proxy in the environment must not intercept a loopback request.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(f"http://127.0.0.1:{self.webui_port}/json/", timeout=2) as resp:
                return dict(json.load(resp))
        except (OSError, ValueError):
            return {}

    def alive_workers(self) -> int:
        """Number of workers the master sees as ALIVE."""
        workers = self.master_state().get("workers", [])
        return sum(1 for w in workers if isinstance(w, dict) and w.get("state") == "ALIVE") \
            if isinstance(workers, list) else 0

    def logs(self) -> str:
        """Tails of the master and worker logs (for assertion messages)."""
        return "\n".join(f"--- {d.name}\n{log_tail(d.log, 20)}" for d in self._daemons)

    def stop(self) -> None:
        """Stop the worker (and its executors), then the master."""
        for daemon in reversed(self._daemons):
            daemon.stop()
        self._daemons = []

    def __enter__(self) -> StandaloneCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

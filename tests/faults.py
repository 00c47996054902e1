"""Fault injection for tests: tasks that fail once, Python workers that die once, subprocess runs.

The wrappers decorate the function given to ``mapInPandas``/``mapInArrow`` (any
``Iterator[batch] -> Iterator[batch]``). Each fires at most once per partition: the first
attempt of a task atomically creates a marker file ``<marker_dir>/<kind>-<partition>`` and then
fails; the retry finds the marker and runs normally. Markers need a directory every Python
worker sees (local mode, or a cluster on one machine); their count tells a test that the fault
really fired. Partitions that receive no batch never fire.

A session whose tasks may be retried needs ``local[N,F]`` (F attempts per task); plain
``local[N]`` allows one. The master of a running session cannot change, so fault tests run
their Spark work in a fresh interpreter through :func:`run_python_subprocess`.

Examples
--------
>>> flaky = fail_once(tmp_path / "markers")(double)                  # doctest: +SKIP
>>> df.mapInPandas(flaky, "id long").count()                         # doctest: +SKIP
>>> fired(tmp_path / "markers")                                      # doctest: +SKIP
4
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Collection, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[1]
B = TypeVar("B")
MapFn = Callable[[Iterator[B]], Iterator[B]]


def _pickle_by_value() -> None:
    # Python workers of a test's session (or a Connect server) cannot import this module by
    # name (pytest puts tests/ on sys.path only in the driver), so ship its code with the task.
    from pyspark import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])


class InjectedFault(RuntimeError):  # noqa: N818 (named after the event, as in pytest.Skipped)
    """The exception :func:`fail_once` raises inside a task."""


def _partition_id() -> int:
    from pyspark import TaskContext

    ctx = TaskContext.get()
    return ctx.partitionId() if ctx is not None else 0


def _claim(marker_dir: Path, kind: str, partitions: Collection[int] | None) -> bool:
    """True the first time any worker asks for this partition (atomic: O_CREAT | O_EXCL)."""
    pid = _partition_id()
    if partitions is not None and pid not in partitions:
        return False
    marker_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(marker_dir / f"{kind}-{pid}", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return False
    os.write(fd, str(os.getpid()).encode())
    os.close(fd)
    return True


def _once(kind: str, marker_dir: Path, partitions: Collection[int] | None,
          fault: Callable[[], None]) -> Callable[[MapFn[B]], MapFn[B]]:
    def decorate(fn: MapFn[B]) -> MapFn[B]:
        def wrapped(batches: Iterator[B]) -> Iterator[B]:
            first = True
            for batch in fn(batches):
                # After the first batch, not before: the fault hits a task that has started
                # streaming results, the harder case for Spark's retry.
                if first and _claim(marker_dir, kind, partitions):
                    fault()
                first = False
                yield batch

        wrapped.__name__ = getattr(fn, "__name__", "wrapped")
        return wrapped

    return decorate


def fail_once(marker_dir: str | Path, *, partitions: Collection[int] | None = None
              ) -> Callable[[MapFn[B]], MapFn[B]]:
    """Decorator: the first attempt of each task raises :class:`InjectedFault`.

    Parameters
    ----------
    marker_dir
        Directory for the marker files (created).
    partitions
        Partition ids that fail; all by default.
    """

    def fault() -> None:
        raise InjectedFault(f"injected failure in partition {_partition_id()}")

    return _once("fail", Path(marker_dir), partitions, fault)


def kill_worker_once(marker_dir: str | Path, *, partitions: Collection[int] | None = None
                     ) -> Callable[[MapFn[B]], MapFn[B]]:
    """Decorator: the first attempt of each task SIGKILLs its own Python worker.

    This is what an out-of-memory kill or a segfault in native code looks like to Spark: the
    worker vanishes without a Python traceback and the JVM sees a crashed worker.
    """

    def fault() -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    return _once("kill", Path(marker_dir), partitions, fault)


def fired(marker_dir: str | Path, kind: str | None = None) -> int:
    """Number of faults injected so far (markers in ``marker_dir``, optionally of one kind)."""
    d = Path(marker_dir)
    if not d.is_dir():
        return 0
    return sum(1 for p in d.iterdir() if kind is None or p.name.startswith(f"{kind}-"))


def run_python_subprocess(
    script: str,
    *,
    master: str = "local[2,3]",
    timeout: float = 180.0,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    args: Collection[str] = (),
) -> subprocess.CompletedProcess[str]:
    """Run ``script`` in a fresh interpreter of this virtualenv, with ``MINING_MASTER=master``.

    ``mining.runtime.session.build_session()`` in the script then starts Spark on ``master``.
    ``mining`` and the test helpers (``faults``, ``spark_servers``) are importable; Spark
    binds to 127.0.0.1 and its Python workers use this interpreter.

    Parameters
    ----------
    script
        Python source.
    master
        Spark master, e.g. ``local[2,3]`` (3 attempts per task) or ``local[2]`` (one).
    timeout
        Seconds before the run is killed (``subprocess.TimeoutExpired``).
    env
        Extra environment variables.
    cwd
        Working directory (default: the repository root).
    args
        Command-line arguments (``sys.argv[1:]`` of the script).

    Returns
    -------
    subprocess.CompletedProcess
        With ``returncode``, ``stdout`` and ``stderr`` as text.
    """
    path = os.pathsep.join(
        p for p in (str(ROOT), str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")) if p
    )
    full_env: dict[str, Any] = {
        **os.environ, "PYTHONPATH": path, "MINING_MASTER": master,
        "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable,
        "SPARK_LOCAL_IP": "127.0.0.1", **(env or {}),
    }
    full_env.pop("SPARK_REMOTE", None)  # a Connect URL would win over the master
    return subprocess.run([sys.executable, "-c", script, *args], cwd=cwd or ROOT, env=full_env,
                          capture_output=True, text=True, timeout=timeout, check=False)


_pickle_by_value()

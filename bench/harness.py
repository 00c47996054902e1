"""Benchmark registry and runner: our implementation and its anchors, side by side, time-limited.

A benchmark is a setup function registered with :func:`benchmark`. It receives a
:class:`BenchContext`, does its untimed preparation (find the data, cache inputs) and returns
the tools to time: a dict of zero-argument callables, ``{"ours": ..., "graphx": ...}``. The
runner calls them interleaved (ours, anchor, ours, anchor, ...) in one process sharing one
SparkSession, each run under a time limit.

Two ways to run a tool:

* in a thread of this process (the default, for Spark work): at the limit the runner cancels
  the Spark jobs that thread started (a job group in Classic, an operation tag over Connect),
  so the call raises and the next run starts on an idle cluster;
* in a forked child (wrap it with :func:`isolated`, for pure Python/numpy anchors, which no
  cancel reaches): at the limit the child is killed.

Examples
--------
>>> @benchmark("pagerank-wiki-vote")                                      # doctest: +SKIP
... def pagerank_wiki_vote(ctx: BenchContext) -> Tools:
...     edges = ctx.spark.read.parquet(str(ctx.shared_file("graphs/wiki.parquet"))).cache()
...     return {"ours": lambda: pagerank(edges).count(), "scipy": isolated(scipy_rank)}
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


class BenchmarkSkipped(Exception):  # noqa: N818 (a signal, like pytest.skip, not an error)
    """Raised by a setup step when the benchmark cannot run here (e.g. its data is absent)."""


@dataclass(frozen=True)
class Tool:
    """A timed callable; ``isolated`` tools run in a forked child that is killed at the limit."""

    fn: Callable[[], object]
    isolated: bool = False


def isolated(fn: Callable[[], object]) -> Tool:
    """Mark a pure Python/numpy tool to run in a forked child (killable at the time limit)."""
    return Tool(fn, isolated=True)


Tools = Mapping[str, Callable[[], object] | Tool]
SetupFn = Callable[["BenchContext"], Tools]


@dataclass(frozen=True)
class Benchmark:
    """A registered benchmark: its setup step and the name of our tool (the ratio's base)."""

    name: str
    setup: SetupFn
    description: str = ""
    ours: str = "ours"


REGISTRY: dict[str, Benchmark] = {}


def benchmark(name: str, *, ours: str = "ours", description: str | None = None,
              registry: dict[str, Benchmark] | None = None) -> Callable[[SetupFn], SetupFn]:
    """Register a setup function under ``name`` (decorator).

    Parameters
    ----------
    name
        Benchmark name, as given on the command line (``python -m bench NAME``).
    ours
        Key of our implementation in the returned tools; anchors are compared with it.
    description
        One line for the report (default: the first line of the function's docstring).
    registry
        Where to register (default the global :data:`REGISTRY`).
    """

    def register(fn: SetupFn) -> SetupFn:
        target = REGISTRY if registry is None else registry
        if name in target:
            raise ValueError(f"benchmark {name!r} is registered twice")
        doc = description or (fn.__doc__ or "").strip().split("\n")[0]
        target[name] = Benchmark(name, fn, doc, ours)
        return fn

    return register


@dataclass
class BenchContext:
    """What a setup step gets: the shared data directory and a lazily built SparkSession."""

    data_dir: Path = field(default_factory=lambda: Path(
        os.environ.get("MINING_SHARED_DATA", ROOT.parent / "shared" / "data")))
    _spark: Any = None

    @property
    def spark(self) -> Any:
        """The one SparkSession of this run, built on first use (``conf/spark-local.conf``)."""
        if self._spark is None:
            from mining.runtime.session import build_session

            self._spark = build_session("mining-bench")
        return self._spark

    @property
    def spark_started(self) -> Any:
        """The session if one was built, else ``None`` (never builds one)."""
        return self._spark

    def shared_file(self, relative: str) -> Path:
        """A file under the shared data directory; :class:`BenchmarkSkipped` when absent."""
        path = self.data_dir / relative
        if not path.is_file():
            raise BenchmarkSkipped(f"needs {path} (the shared data sets are not here)")
        return path

    def stop(self) -> None:
        """Stop the session, if one was built."""
        if self._spark is not None:
            self._spark.stop()
            self._spark = None


@dataclass
class RunResult:
    """One timed run of one tool."""

    tool: str
    repeat: int
    status: str  # "ok", "dnf" (past the time limit) or "error"
    seconds: float | None = None
    result: Any = None
    error: str | None = None
    driver_peak_mb: float | None = None
    jvm_peak_mb: float | None = None
    workers_peak_mb: float | None = None


def _summary(value: object) -> Any:
    """A small JSON-able view of a tool's return value (to check tools agree)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Mapping) and len(value) <= 20:
        return {str(k): _summary(v) for k, v in value.items()}
    return repr(value)[:200]


def _reset_peak(pid: int | None) -> None:
    # Writing 5 to clear_refs resets the kernel's VmHWM (peak RSS) so it covers one run only.
    if pid is not None:
        with suppress(OSError):  # not Linux, or not our process
            Path(f"/proc/{pid}/clear_refs").write_text("5")


def peak_rss_mb(pid: int | None) -> float | None:
    """Peak resident memory (VmHWM) of a process since its last reset, in MiB (Linux only)."""
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def descendants(pid: int | None) -> list[int]:
    """Pids of every process below ``pid`` (Linux ``/proc``; empty elsewhere)."""
    if pid is None:
        return []
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with suppress(OSError, ValueError, IndexError):
            # the command may hold spaces or parentheses: the parent pid follows the last ')'
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def reset_workers_peak(jvm: int | None) -> None:
    """Reset the peak RSS of the JVM's Python workers (PySpark's daemon forks them)."""
    for pid in descendants(jvm):
        _reset_peak(pid)


def workers_peak_mb(jvm: int | None) -> float | None:
    """The largest peak RSS among the JVM's Python worker processes since the last reset."""
    peaks = [p for p in (peak_rss_mb(pid) for pid in descendants(jvm)) if p is not None]
    return max(peaks) if peaks else None


def jvm_pid(spark: Any) -> int | None:
    """Pid of the local driver JVM of a Classic session (``None`` over Connect)."""
    proc = getattr(getattr(getattr(spark, "sparkContext", None), "_gateway", None), "proc", None)
    return getattr(proc, "pid", None)


class _Canceller:
    """Marks the Spark jobs a thread starts, so another thread can cancel them.

    Classic: a SparkContext job group (``interruptOnCancel`` also interrupts running tasks);
    ``SparkSession.interruptTag`` does not cancel Classic jobs in Spark 4.3 (measured: it
    returns no operation and the job runs on). Connect: an operation tag, which does.
    """

    def __init__(self, spark: Any, tag: str) -> None:
        from mining.runtime.session import is_remote

        self.spark, self.tag = spark, tag
        self.remote = spark is not None and is_remote(spark)

    def mark(self) -> None:
        if self.spark is None:
            return
        if self.remote:
            self.spark.addTag(self.tag)
        else:
            self.spark.sparkContext.setJobGroup(self.tag, "benchmark run", interruptOnCancel=True)

    def cancel(self) -> None:
        if self.spark is None:
            return
        if self.remote:
            self.spark.interruptTag(self.tag)
        else:
            self.spark.sparkContext.cancelJobGroup(self.tag)


def run_in_thread(fn: Callable[[], object], timeout: float, spark: Any = None,
                  grace: float = 30.0) -> tuple[str, float | None, Any, str | None]:
    """Run ``fn`` in a thread; at ``timeout`` cancel its Spark jobs and stop waiting.

    Returns ``(status, seconds, summary, error)``. A thread that does not unwind within
    ``grace`` seconds of the cancel (pure Python work) is abandoned as a daemon.
    """
    canceller = _Canceller(spark, f"bench-{uuid.uuid4().hex[:8]}")
    box: dict[str, Any] = {}

    def target() -> None:
        canceller.mark()  # per thread: only the jobs this thread starts
        start = time.perf_counter()
        try:
            box["summary"] = _summary(fn())
            box["seconds"] = time.perf_counter() - start
        except BaseException as exc:
            box["error"] = f"{type(exc).__name__}: {exc}"[:2000]

    thread = threading.Thread(target=target, name=canceller.tag, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        canceller.cancel()
        if spark is not None:
            thread.join(grace)
        return "dnf", None, None, None
    if "error" in box:
        return "error", None, None, box["error"]
    return "ok", box["seconds"], box["summary"], None


def _child(fn: Callable[[], object], conn: Any) -> None:
    _reset_peak(os.getpid())
    start = time.perf_counter()
    try:
        summary = _summary(fn())
        conn.send(("ok", time.perf_counter() - start, summary, None, peak_rss_mb(os.getpid())))
    except BaseException as exc:
        conn.send(("error", None, None, f"{type(exc).__name__}: {exc}"[:2000], None))
    finally:
        conn.close()
        # Skip interpreter teardown: the fork inherited the driver's py4j socket, and proxies
        # finalized at exit would send commands on it, in the middle of the parent's traffic.
        os._exit(0)


def run_in_child(fn: Callable[[], object], timeout: float
                 ) -> tuple[str, float | None, Any, str | None, float | None]:
    """Run ``fn`` in a forked child; kill it at ``timeout``.

    Returns ``(status, seconds, summary, error, child_peak_mb)``. Fork, not spawn: the child
    inherits the setup's data without pickling, and the timing covers ``fn`` only.
    """
    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(fn, send), daemon=True)
    proc.start()
    send.close()
    try:
        if not recv.poll(timeout):
            proc.kill()
            return "dnf", None, None, None, None
        try:
            status, seconds, summary, error, peak = recv.recv()
        except EOFError:  # the child died without a word (killed, segfault, os._exit)
            proc.join(5)
            return "error", None, None, f"child exited with code {proc.exitcode}", None
        return status, seconds, summary, error, peak
    finally:
        proc.join(5)
        recv.close()

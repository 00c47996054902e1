"""Run registered benchmarks: ``python -m bench [names...] [--repeats N] [--timeout S]``."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import pkgutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.harness import (
    REGISTRY,
    BenchContext,
    Benchmark,
    BenchmarkSkipped,
    RunResult,
    Tool,
    _reset_peak,
    jvm_pid,
    peak_rss_mb,
    reset_workers_peak,
    run_in_child,
    run_in_thread,
    workers_peak_mb,
)
from bench.report import build_record, to_markdown, write_record

log = logging.getLogger("bench")
DEFAULT_OUT = Path(__file__).resolve().parent / "results"


def discover() -> dict[str, Benchmark]:
    """Import every ``bench/bench_*.py`` module (each registers its benchmarks); the registry."""
    package = Path(__file__).resolve().parent
    for info in pkgutil.iter_modules([str(package)]):
        if info.name.startswith("bench_"):
            importlib.import_module(f"bench.{info.name}")
    return REGISTRY


def run_tool(name: str, tool: Tool, repeat: int, timeout: float, spark: Any) -> RunResult:
    """One time-limited run of one tool, with the peak memory of the processes involved."""
    if tool.isolated:
        status, secs, summary, error, child_peak = run_in_child(tool.fn, timeout)
        return RunResult(name, repeat, status, secs, summary, error, driver_peak_mb=child_peak)
    jvm = jvm_pid(spark)
    _reset_peak(os.getpid())
    _reset_peak(jvm)
    reset_workers_peak(jvm)
    status, secs, summary, error = run_in_thread(tool.fn, timeout, spark)
    return RunResult(name, repeat, status, secs, summary, error,
                     driver_peak_mb=peak_rss_mb(os.getpid()), jvm_peak_mb=peak_rss_mb(jvm),
                     workers_peak_mb=workers_peak_mb(jvm))


def run_benchmark(bench: Benchmark, ctx: BenchContext, *, repeats: int = 3,
                  timeout: float = 300.0) -> dict[str, Any]:
    """Set up ``bench`` (untimed), then time its tools interleaved, ``repeats`` rounds.

    A tool that runs past ``timeout`` or raises is recorded once and not run again in later
    rounds (it would only cost another ``timeout``).

    Raises
    ------
    BenchmarkSkipped
        From the setup step, when the benchmark cannot run here.
    """
    tools = {k: v if isinstance(v, Tool) else Tool(v) for k, v in bench.setup(ctx).items()}
    if bench.ours not in tools:
        raise ValueError(f"{bench.name}: no tool named {bench.ours!r} among {sorted(tools)}")
    runs: list[RunResult] = []
    retired: set[str] = set()
    for repeat in range(repeats):
        for name, tool in tools.items():
            if name in retired:
                continue
            run = run_tool(name, tool, repeat, timeout, ctx.spark_started)
            log.info("%s / %s #%d: %s %s", bench.name, name, repeat + 1, run.status,
                     f"{run.seconds:.3f} s" if run.seconds is not None else run.error or "")
            runs.append(run)
            if run.status != "ok":
                retired.add(name)
    return build_record(bench.name, bench.description, bench.ours, list(tools), runs,
                        repeats, timeout, ctx.spark_started)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Time our implementations against their anchors; write bench/results/.")
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="time limit per run of one tool, seconds (default 300)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results directory")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(list(argv))
    if args.repeats < 1 or args.timeout <= 0:
        parser.error("--repeats must be >= 1 and --timeout > 0")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit code (2: unknown benchmark name)."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S", stream=sys.stderr)
    # py4j logs every pinned thread it closes at INFO; the benchmark lines drown in them.
    logging.getLogger("py4j").setLevel(logging.WARNING)
    registry = discover()
    if args.list:
        for name, bench in sorted(registry.items()):
            print(f"{name}\t{bench.description}")
        return 0
    unknown = [n for n in args.names if n not in registry]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(sorted(registry))}",
              file=sys.stderr)
        return 2
    ctx = BenchContext()
    try:
        for name in args.names or sorted(registry):
            try:
                record = run_benchmark(registry[name], ctx, repeats=args.repeats,
                                       timeout=args.timeout)
            except BenchmarkSkipped as exc:
                print(f"## {name}: skipped ({exc})\n")
                continue
            json_path, md_path = write_record(record, args.out)
            print(to_markdown(record))
            print(f"(written to {json_path} and {md_path.name})\n")
    finally:
        ctx.stop()
    return 0

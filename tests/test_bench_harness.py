"""The benchmark harness itself, with fake tools (no Spark): timing, limits, records."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `bench` is not an installed package
    sys.path.insert(0, str(ROOT))

from bench.harness import BenchContext, Benchmark, Tools, benchmark, isolated  # noqa: E402
from bench.report import to_markdown, write_record  # noqa: E402
from bench.runner import main, run_benchmark  # noqa: E402


def _fake(ctx: BenchContext) -> Tools:
    return {
        "ours": lambda: 42,
        "fast-child": isolated(lambda: {"n": 7}),
        "slow-thread": lambda: time.sleep(20),
        "slow-child": isolated(lambda: time.sleep(60)),
        "broken": lambda: 1 / 0,
    }


def test_fast_tools_timed_slow_ones_abandoned(tmp_path: Path) -> None:
    registry: dict[str, Benchmark] = {}
    benchmark("fake", registry=registry)(_fake)
    ctx = BenchContext(data_dir=tmp_path)

    start = time.perf_counter()
    record = run_benchmark(registry["fake"], ctx, repeats=3, timeout=0.5)
    elapsed = time.perf_counter() - start

    # Two slow tools, each given up on once at 0.5 s and retired; nothing waits for them.
    assert elapsed < 5, f"the harness waited for a slow tool ({elapsed:.1f} s)"
    assert ctx.spark_started is None, "no Spark session for tools that need none"
    s = record["summary"]
    assert s["ours"]["status"] == "ok" and s["ours"]["runs_ok"] == 3
    assert s["ours"]["result"] == 42 and s["ours"]["ratio_vs_ours"] == 1.0
    assert 0 <= s["ours"]["min_s"] <= s["ours"]["median_s"] <= s["ours"]["max_s"] < 0.5
    assert s["fast-child"]["status"] == "ok" and s["fast-child"]["result"] == {"n": 7}
    for slow in ("slow-thread", "slow-child"):
        assert s[slow]["status"] == "dnf" and s[slow]["runs"] == 1, s[slow]
        assert s[slow]["note"] == "did not finish (limit 0.5 s)"
        assert s[slow]["median_s"] is None
    assert s["broken"]["status"] == "error" and "ZeroDivisionError" in s["broken"]["note"]
    order = [r["tool"] for r in record["runs"]]
    assert order[:5] == ["ours", "fast-child", "slow-thread", "slow-child", "broken"]
    assert order[5:] == ["ours", "fast-child", "ours", "fast-child"], "interleaved rounds"

    md = to_markdown(record)
    assert "| slow-child | did not finish (limit 0.5 s) |" in md
    assert "| ours | " in md and record["machine"]["cores"] is not None

    json_path, md_path = write_record(record, tmp_path / "results")
    assert json.loads(json_path.read_text())["summary"]["ours"]["result"] == 42
    assert md_path.read_text() == md


def test_cli_lists_and_rejects_unknown_names(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--list"]) == 0
    assert "read-wiki-vote" in capsys.readouterr().out
    assert main(["no-such-benchmark"]) == 2
    assert "unknown benchmark(s): no-such-benchmark" in capsys.readouterr().err

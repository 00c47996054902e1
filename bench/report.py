"""Benchmark records: machine facts, per-tool statistics, the markdown table, the files."""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import statistics
import subprocess
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.harness import ROOT, RunResult


def _run(argv: list[str], cwd: Path = ROOT) -> str:
    try:
        proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=20,
                              check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (proc.stdout + proc.stderr).strip()


def java_version() -> str | None:
    """Version of the ``java`` Spark would start (``JAVA_HOME`` first, as Spark does)."""
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not java:
        return None
    found = re.search(r'version "([^"]+)"', _run([java, "-version"]))
    return found.group(1) if found else None


def git_commit() -> str | None:
    """``HEAD`` of this checkout, with ``-dirty`` when the tree has uncommitted changes."""
    head = _run(["git", "rev-parse", "--short=12", "HEAD"])
    if not re.fullmatch(r"[0-9a-f]{12}", head):
        return None
    return head + ("-dirty" if _run(["git", "status", "--porcelain"]) else "")


def memory_gib() -> float | None:
    """Physical memory of the machine in GiB."""
    try:
        return round(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30, 1)
    except (ValueError, OSError):
        return None


def machine_facts(spark: Any = None) -> dict[str, Any]:
    """Cores, memory, Python/Java/Spark versions, master, date and git commit."""
    import pyspark

    facts: dict[str, Any] = {
        "cores": os.cpu_count(), "memory_gib": memory_gib(),
        "platform": platform.platform(), "python": platform.python_version(),
        "java": java_version(), "spark": pyspark.__version__, "master": None,
        "date": datetime.now(UTC).isoformat(timespec="seconds"), "git_commit": git_commit(),
    }
    if spark is not None:
        facts["spark"] = spark.version
        try:
            facts["master"] = spark.conf.get("spark.master")
        except Exception:  # a Connect server may not expose it
            facts["master"] = "remote"
    return facts


def summarize(runs: list[RunResult], tools: list[str], ours: str, timeout: float
              ) -> dict[str, dict[str, Any]]:
    """Per tool: median/min/max seconds of the finished runs, anchor/ours ratio, peaks, status."""
    out: dict[str, dict[str, Any]] = {}
    for tool in tools:
        mine = [r for r in runs if r.tool == tool]
        secs = [r.seconds for r in mine if r.status == "ok" and r.seconds is not None]
        failed = [r for r in mine if r.status != "ok"]
        status = "ok" if not failed else failed[0].status
        out[tool] = {
            "status": status,
            "runs_ok": len(secs), "runs": len(mine),
            "median_s": statistics.median(secs) if secs else None,
            "min_s": min(secs) if secs else None, "max_s": max(secs) if secs else None,
            "driver_peak_mb": _max(r.driver_peak_mb for r in mine),
            "jvm_peak_mb": _max(r.jvm_peak_mb for r in mine),
            "workers_peak_mb": _max(getattr(r, "workers_peak_mb", None) for r in mine),
            "result": next((r.result for r in reversed(mine) if r.status == "ok"), None),
            "note": _note(failed[0], timeout) if failed else "",
        }
    base = out.get(ours, {}).get("median_s")
    for stats in out.values():
        med = stats["median_s"]
        stats["ratio_vs_ours"] = round(med / base, 3) if med and base else None
    return out


def _max(values: Any) -> float | None:
    got = [v for v in values if v is not None]
    return max(got) if got else None


def _note(run: RunResult, timeout: float) -> str:
    if run.status == "dnf":
        return f"did not finish (limit {timeout:g} s)"
    # The first line only: a JVM error's stack trace would break the markdown table (the JSON
    # record keeps the full text).
    first = (run.error or "").strip().splitlines()[0] if run.error else ""
    return f"error: {first[:160]}"


def _fmt(value: float | None, digits: int = 3) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def to_markdown(record: dict[str, Any]) -> str:
    """The report: a header with the machine facts, then one table row per tool."""
    m = record["machine"]
    lines = [
        f"## {record['benchmark']} ({m['date']})",
        "",
        record.get("description") or "",
        "",
        f"{m['cores']} cores, {m['memory_gib']} GiB, Python {m['python']}, Java {m['java']}, "
        f"Spark {m['spark']} ({m['master']}), commit {m['git_commit']}. "
        f"{record['repeats']} repeats interleaved, limit {record['timeout_s']:g} s per run. "
        f"Ratio = tool median / `{record['ours']}` median (above 1: ours is faster). "
        "Peak memory: driver Python, driver JVM and the largest Python worker (where "
        "`mapInArrow` code runs) resident sets per run (the JVM rarely returns heap, so its "
        "figure includes earlier runs' growth).",
        "",
        "| tool | median s | min s | max s | ratio to ours | runs ok | driver peak MB "
        "| JVM peak MB | worker peak MB | result |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for tool, s in record["summary"].items():
        median = _fmt(s["median_s"]) if s["median_s"] is not None else s["note"]
        result = json.dumps(s["result"]) if s["result"] is not None else s["note"]
        lines.append(
            f"| {tool} | {median} | {_fmt(s['min_s'])} | {_fmt(s['max_s'])} | "
            f"{_fmt(s['ratio_vs_ours'], 2)} | {s['runs_ok']}/{s['runs']} | "
            f"{_fmt(s['driver_peak_mb'], 0)} | {_fmt(s['jvm_peak_mb'], 0)} | "
            f"{_fmt(s.get('workers_peak_mb'), 0)} | "
            f"{result.replace('|', '/')} |"
        )
    return "\n".join(lines) + "\n"


def build_record(name: str, description: str, ours: str, tools: list[str],
                 runs: list[RunResult], repeats: int, timeout: float, spark: Any = None
                 ) -> dict[str, Any]:
    """The JSON record of one benchmark run."""
    return {
        "benchmark": name, "description": description, "ours": ours, "tools": tools,
        "repeats": repeats, "timeout_s": timeout, "machine": machine_facts(spark),
        "summary": summarize(runs, tools, ours, timeout),
        "runs": [asdict(r) for r in runs],
    }


def write_record(record: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """Write ``<timestamp>-<name>.json`` and ``.md`` into ``out_dir``; return both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    base = f"{stamp}-{record['benchmark']}"
    json_path, md_path = out_dir / f"{base}.json", out_dir / f"{base}.md"
    json_path.write_text(json.dumps(record, indent=2, default=str) + "\n")
    md_path.write_text(to_markdown(record))
    return json_path, md_path

"""What a new user does: a fresh copy of the tree, the README's `make demo`, nothing else.

The copy gets its own virtual environment from ``scripts/bootstrap.sh`` (the script `make demo`
runs) with the runtime dependencies only, and the demo runs with nothing in the environment but
``PATH``, ``HOME`` and ``JAVA_HOME``: no ``PYSPARK_PYTHON`` pointing at the main `.venv`, no test
extras (CI installs them for the main suite, so a green suite alone could hide a runtime import of
a test-only package). pip reuses its cache, so this costs the install of cached wheels plus one
demo run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections import Counter
from itertools import combinations
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Lines the project prints on a clean demo run: section headers, result tables and the end.
HEADERS = ("== what each data set contributed", "== top 10 pages", "== rules of the groceries",
           "== biggest groups of near-duplicate", "== confusion matrix of a logistic",
           "== plots", "== Spark's own log")
SPARK_NOISE = re.compile(r"log4j|WARN|NativeCodeLoader|WindowExec|Setting default log level|"
                         r"resolves to a loopback|Traceback|SparkContext|Using Spark's", re.I)


def _tree_files() -> list[Path]:
    """Files of the checkout as a clone would have them (tracked and new, never ignored)."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         cwd=ROOT, capture_output=True, check=True).stdout.decode()
    return [Path(p) for p in out.split("\0") if p and (ROOT / p).is_file()]


@pytest.fixture(scope="module")
def fresh_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout to know which files a clone has")
    copy = tmp_path_factory.mktemp("fresh") / "mining"
    for rel in _tree_files():
        (copy / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, copy / rel)
    return copy


def _bare_env() -> dict[str, str]:
    env = {k: os.environ[k] for k in ("PATH", "HOME", "JAVA_HOME") if k in os.environ}
    # Without the main venv on PATH: the copy must find everything in its own .venv.
    main_bin = str(ROOT / ".venv" / "bin")
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if p != main_bin)
    return env


def _grocery_rules(path: Path, support: float,
                   confidence: float) -> list[tuple[tuple[str, ...], tuple[str, ...], float]]:
    """Association rules of the baskets by brute force in plain Python (the demo's oracle)."""
    baskets = [frozenset(f.strip() for f in line.split(",") if f.strip())
               for line in path.read_text(encoding="utf-8").splitlines()]
    n = len(baskets)
    frequent: dict[frozenset[str], int] = {}
    alive = {i for b in baskets for i in b}
    for k in range(1, 10):
        counts = Counter(frozenset(c) for b in baskets for c in combinations(sorted(b & alive), k))
        kept = {s: c for s, c in counts.items() if c / n >= support}
        if not kept:
            break
        frequent.update(kept)
        alive = set().union(*kept)
    out = []
    for items, count in frequent.items():
        for r in range(1, len(items)):
            for ante in combinations(sorted(items), r):
                conf = count / frequent[frozenset(ante)]
                if conf >= confidence:
                    out.append((ante, tuple(sorted(items - set(ante))), conf))
    return out


def test_make_demo_on_a_fresh_copy(fresh_copy: Path) -> None:
    proc = subprocess.run(["make", "demo"], cwd=fresh_copy, env=_bare_env(), capture_output=True,
                          text=True, timeout=900, stdin=subprocess.DEVNULL, check=False)
    report = f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert proc.returncode == 0, report
    venv_python = fresh_copy / ".venv" / "bin" / "python"
    # Runtime dependencies only: the test extra was never installed in this environment.
    probe = subprocess.run([str(venv_python), "-c", "import pytest"], capture_output=True,
                           text=True, env=_bare_env(), check=False)
    assert probe.returncode != 0 and "No module named 'pytest'" in probe.stderr
    assert (fresh_copy / ".venv" / ".mining-installed").is_file()

    out = proc.stdout.splitlines()
    assert [h for h in HEADERS if any(line.startswith(h) for line in out)] == list(HEADERS), report
    # The profile: four data sets, each row's counts add up (the last column).
    profile = [line for line in out if re.match(r"\s*(a9a_test|groceries|hollins|sms)\s+\|", line)]
    assert [row.split("|")[0].strip() for row in profile] == [
        "a9a_test", "groceries", "hollins", "sms"], report
    assert all(row.split("|")[-1].strip().lower() == "true" for row in profile), report
    # The top pages: ten ranked rows, positions 1..10 (ties could add rows, hollins has none).
    top = out[out.index(next(x for x in out if x.startswith("== top 10 pages"))) + 1:]
    positions = [int(m.group(1)) for line in top if (m := re.match(r"\s*(\d+) \|", line))]
    assert positions[:10] == list(range(1, 11)), report
    # The rules: as many as plain Python finds in the bundled baskets, strongest first.
    rules = out[out.index(next(x for x in out if x.startswith("== rules of the groceries"))) + 1:]
    want = _grocery_rules(fresh_copy / "data" / "baskets" / "groceries.csv", 0.01, 0.5)
    assert f"({len(want)} rows)" in rules, report
    best = max(want, key=lambda r: r[2])
    assert rules[2].split("|")[0].strip() == str(list(best[0])).replace("'", '"'), report
    # Clean output: nothing of Spark's own on either stream; its log is in the file it names.
    # (pip's own warnings about this machine's index configuration are not the project's.)
    noisy = [line for line in (proc.stdout + proc.stderr).splitlines()
             if SPARK_NOISE.search(line) and not line.startswith("WARNING: Location")]
    assert not noisy, report
    log_line = next(line for line in out if line.startswith("== Spark's own log"))
    log_dir = fresh_copy / log_line.split(":", 1)[1].strip()
    assert any(log_dir.glob("*.log")), report
    assert (fresh_copy / "warehouse" / "plots" / "pagerank_convergence.png").stat().st_size > 0
    assert (fresh_copy / "warehouse" / "plots" / "s_curve.png").stat().st_size > 0
    assert (fresh_copy / "warehouse" / "plots" / "loss_curve.png").stat().st_size > 0
    # The confusion matrix: the held-out a9a rows of both labels, each label's shares adding up
    # to 1 (columns: split | actual | predicted | rows | share_of_actual).
    matrix = out[out.index(next(x for x in out if x.startswith("== confusion matrix"))) + 1:]
    cells = [[f.strip() for f in line.split("|")] for line in matrix
             if re.match(r"\s*test\s+\|", line)]
    assert {c[1] for c in cells} == {"-1", "1"}, report
    for actual in ("-1", "1"):
        assert sum(float(c[4]) for c in cells if c[1] == actual) == pytest.approx(1.0, abs=1e-5)
    # The biggest near-duplicate groups: five, largest first (plain Python finds the largest
    # group of identical messages in the bundled file; near-duplicates can only add to it).
    groups = out[out.index(next(x for x in out if x.startswith("== biggest groups"))) + 1:]
    sizes = [int(m.group(1)) for line in groups[:8]
             if (m := re.match(r"\s*\S+\s*\|\s*(\d+)\s*\|", line))]
    texts = Counter(line.split("\t", 1)[1].lower().split().__str__() for line in
                    (fresh_copy / "data" / "text" / "SMSSpamCollection").read_text(
                        encoding="utf-8").splitlines() if "\t" in line)
    assert len(sizes) == 5 and sizes == sorted(sizes, reverse=True), report
    assert sizes[0] >= max(texts.values()), report

"""``scripts/bootstrap.sh``: one clear line and a non-zero exit for every missing prerequisite.

The failing cases run a copy of the script inside a scratch repository with a restricted
``PATH`` of fake executables, so the real ``.venv`` is never at risk, and check that the script
stopped before any virtualenv work (no ``.venv`` appears in the scratch repository).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BOOTSTRAP = ROOT / "scripts" / "bootstrap.sh"
# Tools the script needs before it reaches the virtualenv step.
TOOLS = ("dirname", "awk", "cut", "cat", "cksum")


def _executable(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o755)
    return path


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    """A scratch repo holding a copy of the script, and ``bin/`` with only the basic tools."""
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy(BOOTSTRAP, repo / "scripts" / "bootstrap.sh")
    shutil.copy(ROOT / "pyproject.toml", repo / "pyproject.toml")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in TOOLS:
        found = shutil.which(tool)
        assert found, f"test needs {tool} on PATH"
        (bin_dir / tool).symlink_to(found)
    return tmp_path


def fake_python(bin_dir: Path, version: str) -> Path:
    """A ``python`` that reports ``version`` and fails the 3.11 check (exit 1)."""
    return _executable(bin_dir / "python-old", "#!/bin/sh\n"
                       f'case "$*" in *python_version*) echo {version}; exit 0;; esac\nexit 1\n')


def fake_java(bin_dir: Path, banner: str) -> Path:
    """A ``java`` whose ``-version`` prints ``banner`` to stderr, as the real one does."""
    return _executable(bin_dir / "java", f"#!/bin/sh\necho '{banner}' >&2\n")


def run_bootstrap(sandbox: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the sandboxed script with PATH = ``bin/`` and no JAVA_HOME unless given."""
    base = {k: v for k, v in os.environ.items() if k not in ("JAVA_HOME", "PYTHON", "PATH")}
    full = {**base, "PATH": str(sandbox / "bin"), **env}
    return subprocess.run(["/bin/bash", str(sandbox / "repo" / "scripts" / "bootstrap.sh")],
                          env=full, capture_output=True, text=True, timeout=60, check=False)


def assert_one_clear_line(proc: subprocess.CompletedProcess[str], sandbox: Path,
                          *fragments: str) -> None:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    report = f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert proc.returncode != 0, report
    assert len(lines) == 1 and lines[0].startswith("error: "), report
    for fragment in fragments:
        assert fragment in lines[0], report
    assert proc.stdout == "", report
    assert "Traceback" not in proc.stderr, report
    assert not (sandbox / "repo" / ".venv").exists(), "bootstrap went on to create a venv"


# A real Python with venv and ensurepip, for the cases that must get past the Python check.
REAL_PYTHON = getattr(sys, "_base_executable", sys.executable)


def test_python_missing(sandbox: Path) -> None:
    proc = run_bootstrap(sandbox, PYTHON=str(sandbox / "nowhere" / "python3.11"))
    assert_one_clear_line(proc, sandbox, "Python 3.11+ is required", "was not found")


def test_python_not_on_path(sandbox: Path) -> None:
    proc = run_bootstrap(sandbox)  # default `python3`, and bin/ has none
    assert_one_clear_line(proc, sandbox, "'python3' was not found", "PYTHON=")


def test_python_too_old(sandbox: Path) -> None:
    proc = run_bootstrap(sandbox, PYTHON=str(fake_python(sandbox / "bin", "3.9.18")))
    assert_one_clear_line(proc, sandbox, "Python 3.11+ is required", "is 3.9.18")


def test_java_missing(sandbox: Path) -> None:
    proc = run_bootstrap(sandbox, PYTHON=REAL_PYTHON)
    assert_one_clear_line(proc, sandbox, "Java 17+ is required", "'java' was not found",
                          "JAVA_HOME")


@pytest.mark.parametrize(
    ("banner", "shown"),
    [('openjdk version "11.0.2" 2019-01-15', "Java 11.0.2"),
     ('java version "1.8.0_392"', "Java 1.8.0_392")],
)
def test_java_too_old(sandbox: Path, banner: str, shown: str) -> None:
    fake_java(sandbox / "bin", banner)
    proc = run_bootstrap(sandbox, PYTHON=REAL_PYTHON)
    assert_one_clear_line(proc, sandbox, "Java 17+ is required", shown)


def test_java_version_unreadable(sandbox: Path) -> None:
    fake_java(sandbox / "bin", "Error: could not open jvm.cfg")
    proc = run_bootstrap(sandbox, PYTHON=REAL_PYTHON)
    assert_one_clear_line(proc, sandbox, "could not read the Java version")


def test_java_home_points_nowhere(sandbox: Path) -> None:
    fake_java(sandbox / "bin", 'openjdk version "17.0.15" 2025-04-15')  # JAVA_HOME must win
    proc = run_bootstrap(sandbox, PYTHON=REAL_PYTHON, JAVA_HOME=str(sandbox / "no-jdk"))
    assert_one_clear_line(proc, sandbox, "JAVA_HOME is set to", "no-jdk")


def _checksum(repo: Path) -> str:
    """What bootstrap.sh writes into its stamp: cksum of pyproject.toml + constraints.txt."""
    return subprocess.run(
        "cat pyproject.toml requirements/constraints.txt | cksum | cut -d' ' -f1", shell=True,
        cwd=repo, capture_output=True, text=True, check=True,
    ).stdout.strip()


@pytest.mark.parametrize("stale", [False, True])
def test_stamp_makes_a_second_run_a_noop(sandbox: Path, stale: bool) -> None:
    """A current stamp: exit 0 and touch nothing. A stale one: reinstall, then a new stamp."""
    repo = sandbox / "repo"
    (repo / "requirements").mkdir()
    shutil.copy(ROOT / "requirements" / "constraints.txt", repo / "requirements")
    calls = sandbox / "venv-python-calls"
    # A stand-in for the venv's python: it logs its arguments instead of running pip.
    (repo / ".venv" / "bin").mkdir(parents=True)
    _executable(repo / ".venv" / "bin" / "python", f'#!/bin/sh\necho "$*" >> {calls}\n')
    stamp = repo / ".venv" / ".mining-installed-test-dev"
    stamp.write_text("stale\n" if stale else _checksum(repo) + "\n")
    java = shutil.which("java")
    if java is None:
        pytest.skip("needs a real java on PATH")
    (sandbox / "bin" / "java").symlink_to(java)

    proc = subprocess.run(["/bin/bash", str(repo / "scripts" / "bootstrap.sh"), "test,dev"],
                          env={"PATH": str(sandbox / "bin"), "PYTHON": REAL_PYTHON},
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    if not stale:
        assert (proc.stdout, proc.stderr) == ("", ""), "a no-op run prints nothing"
        assert not calls.exists(), "pip ran although the stamp was current"
    else:
        assert "installing .[test,dev]" in proc.stdout
        assert "-c requirements/constraints.txt -e .[test,dev]" in calls.read_text()
        assert stamp.read_text().strip() == _checksum(repo)


def _current_stamp() -> tuple[Path, str] | None:
    """The real venv's stamp that matches today's pyproject and constraints, with its extras."""
    want = _checksum(ROOT)
    for stamp in sorted((ROOT / ".venv").glob(".mining-installed*")):
        if stamp.read_text().strip() == want:
            extras = stamp.name.removeprefix(".mining-installed").removeprefix("-")
            return stamp, extras.replace("-", ",")
    return None


def test_second_run_is_a_noop() -> None:
    found = _current_stamp()
    if found is None:
        pytest.skip("no current bootstrap stamp in .venv (the venv was not made by "
                    "scripts/bootstrap.sh, or pyproject/constraints changed since)")
    stamp, extras = found
    before = stamp.stat().st_mtime_ns
    start = time.perf_counter()
    proc = subprocess.run(["/bin/bash", str(BOOTSTRAP), *([extras] if extras else [])],
                          capture_output=True, text=True, timeout=60, check=False)
    seconds = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and proc.stderr == "", "a no-op run prints nothing"
    assert stamp.stat().st_mtime_ns == before, "the stamp was rewritten: pip ran again"
    assert seconds < 10, f"a no-op run took {seconds:.1f} s"

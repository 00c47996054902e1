"""Every bad invocation of a job ends in one line on stderr and its own exit code, never a trace.

Cases that fail before Spark starts run `mining run` as a process (what a user types); those that
need a session run the job in-process on the test session, with stderr captured.
"""

from __future__ import annotations

import gzip
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from mining.errors import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_NOT_CONVERGED
from mining.io.runs import RunLog
from mining.io.warehouse import Warehouse
from mining.runtime.job import run_job

ROOT = Path(__file__).resolve().parents[1]
HOLLINS = ROOT / "data" / "graphs" / "hollins.dat"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def mining_run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "MINING_LOG_DIR": str(tmp_path / "l")}
    env.pop("SPARK_REMOTE", None)
    return subprocess.run([sys.executable, "-m", "mining.cli", "run", "pagerank", "--quiet", *args],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL, check=False)


def assert_one_line(code: int, err: str, want_code: int, *fragments: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    report = f"exit {code}, stderr:\n{err}"
    assert code == want_code, report
    assert len(lines) == 1, report
    assert "Traceback" not in err, report
    for fragment in fragments:
        assert fragment in lines[0], report
    return lines[0]


@pytest.fixture
def not_utf8(tmp_path: Path) -> Path:
    path = tmp_path / "latin1.toml"
    path.write_bytes("beta = 0.8  # taxe payée\n".encode("latin-1"))
    return path


@pytest.mark.parametrize(
    ("args", "code", "fragments"),
    [
        (["--spark-conf", "nope.conf"], EXIT_BAD_INPUT, ["Spark properties file not found",
                                                         "nope.conf"]),
        (["--spark-conf", "."], EXIT_BAD_INPUT, ["is a directory"]),
        (["--config", "latin1.toml"], EXIT_BAD_INPUT, ["latin1.toml", "not UTF-8"]),
        (["--config", "."], EXIT_BAD_INPUT, ["is a directory"]),
        (["--config", "missing.toml"], EXIT_BAD_INPUT, ["config file not found"]),
        (["--beta", "high"], EXIT_BAD_INPUT, ["--beta needs a number"]),
        (["--remote", "sc://127.0.0.1:{port}"], EXIT_FAILED, ["cannot reach Spark Connect server",
                                                             "127.0.0.1"]),
        (["--remote", "http://localhost:1"], EXIT_FAILED, ["is not sc://host"]),
        (["--warehouse", "hdfs:/x/y"], EXIT_BAD_INPUT, ["hdfs", "not supported"]),
        (["--warehouse", "s3a://KEY:ab/cd@bucket/wh"], EXIT_BAD_INPUT, ["not supported"]),
        (["--warehouse", "afile/wh"], EXIT_BAD_INPUT, ["afile"]),
        (["--warehouse", "afile"], EXIT_BAD_INPUT, ["afile"]),
        (["--run-id", "../escape"], EXIT_BAD_INPUT, ["invalid run id"]),
        (["--plot", "../outside.png"], EXIT_BAD_INPUT, ["outside.png"]),
        (["--plot", "/tmp/abs.png"], EXIT_BAD_INPUT, ["abs.png"]),
    ],
    ids=["spark-conf-missing", "spark-conf-dir", "config-not-utf8", "config-dir",
         "config-missing", "bad-flag-value", "remote-unreachable", "remote-not-sc",
         "warehouse-hdfs-one-slash", "warehouse-s3a", "warehouse-under-a-file",
         "warehouse-is-a-file", "run-id", "plot-escapes", "plot-absolute"],
)
def test_fails_before_spark_in_one_line(tmp_path: Path, not_utf8: Path, args: list[str],
                                        code: int, fragments: list[str]) -> None:
    (tmp_path / "afile").write_text("not a directory\n")
    port = str(_free_port())
    proc = mining_run(tmp_path, "--input", str(HOLLINS), *(a.replace("{port}", port)
                                                          for a in args))
    line = assert_one_line(proc.returncode, proc.stderr, code, *fragments)
    assert proc.stdout == ""
    assert "ab/cd" not in line  # the s3a secret is masked
    assert not (tmp_path / "hdfs:").exists(), "wrote a warehouse into ./hdfs:"


def test_bad_master_is_one_line_with_the_jvm_reason(tmp_path: Path) -> None:
    proc = mining_run(tmp_path, "--input", str(HOLLINS), "--master", "bogus://x",
                      "--warehouse", str(tmp_path / "wh"))
    assert_one_line(proc.returncode, proc.stderr, EXIT_FAILED, "Spark did not start",
                    "bogus://x", "Spark's log:")


# --- in-process, on the test session -----------------------------------------------------------


def _job(spark, tmp_path: Path, *args: str) -> int:
    from jobs.pagerank import pipeline

    argv = ["--warehouse", str(tmp_path / "wh"), "--quiet", "--no-hits", "--plot", "", *args]
    return run_job("pagerank", pipeline, argv, spark=spark)


def _truncated_gz(tmp_path: Path) -> Path:
    whole = gzip.compress(HOLLINS.read_bytes())
    path = tmp_path / "hollins.dat.gz"
    path.write_bytes(whole[: len(whole) // 2])
    return path


def _utf16(tmp_path: Path) -> Path:
    path = tmp_path / "hollins16.dat"
    path.write_text(HOLLINS.read_text(encoding="utf-8"), encoding="utf-16")
    return path


@pytest.mark.parametrize(
    ("make_input", "fragments"),
    [
        (lambda p: p / "nope.txt", ["does not exist", "nope.txt"]),
        (lambda p: (p / "empty").mkdir() or p / "empty", ["empty"]),
        (_truncated_gz, ["hollins.dat.gz", "truncated"]),
        (_utf16, ["hollins16.dat", "UTF-16"]),
    ],
    ids=["missing", "empty-directory", "truncated-gzip", "utf-16"],
)
def test_bad_input_file_is_one_line(spark, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                    make_input, fragments: list[str]) -> None:
    path = make_input(tmp_path)
    code = _job(spark, tmp_path, "--input", str(path))
    assert_one_line(code, capsys.readouterr().err, EXIT_BAD_INPUT, *fragments)


def test_not_converging_has_its_own_exit_code(spark, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    code = _job(spark, tmp_path, "--input", str(HOLLINS), "--max-iter", "2", "--tol", "1e-15",
                "--run-id", "slow-to-converge")
    line = assert_one_line(code, capsys.readouterr().err, EXIT_NOT_CONVERGED, "did not converge")
    assert "bad input" not in line
    record = RunLog(Warehouse(tmp_path / "wh")).get("slow-to-converge")
    assert record.status == "failed" and record.error is not None
    assert record.error.startswith("did not converge")


def test_full_disk_when_recording_the_run_is_one_line(
    spark, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from mining.io import runs

    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(runs.os, "fsync", no_space)
    code = _job(spark, tmp_path, "--input", str(HOLLINS))
    assert_one_line(code, capsys.readouterr().err, EXIT_BAD_INPUT, "No space left on device")

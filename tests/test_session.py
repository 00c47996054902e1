"""Sessions started here: the driver listens on loopback only; Spark's output goes to a file."""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from mining.runtime.logs import spark_log_path

ROOT = Path(__file__).resolve().parents[1]


def _listening(pid: int) -> list[tuple[str, int]]:
    """(address, port) of every TCP socket that process ``pid`` has in LISTEN state."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table, width in (("tcp", 8), ("tcp6", 32)):
        path = Path(f"/proc/{pid}/net/{table}")
        for line in path.read_text().splitlines()[1:] if path.exists() else []:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state != "0A" or inode not in inodes:  # 0A = TCP_LISTEN
                continue
            addr_hex, port_hex = local.split(":")
            assert len(addr_hex) == width
            # /proc prints each 32-bit word of the address in host (little-endian) order.
            raw = b"".join(bytes.fromhex(addr_hex[i:i + 8])[::-1] for i in range(0, width, 8))
            found.append((str(ipaddress.ip_address(raw)), int(port_hex, 16)))
    return found


def _is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


def test_driver_jvm_listens_on_loopback_only(spark, is_connect: bool) -> None:
    if is_connect:
        pytest.skip("the driver JVM of a Connect session is the server's")
    proc = spark.sparkContext._gateway.proc  # the spark-submit that exec'd the driver JVM
    spark.range(10).selectExpr("sum(id)").collect()  # block manager and workers are up
    sockets = _listening(proc.pid)
    assert sockets, "found no listening socket of the driver JVM (py4j at least)"
    assert all(_is_loopback(addr) for addr, _ in sockets), sockets
    assert os.environ.get("SPARK_LOCAL_IP") == "127.0.0.1"


def test_spark_output_goes_to_the_log_file(tmp_path: Path) -> None:
    """A `mining sql` process: Spark's banner and warnings in the file, one line on stderr."""
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "MINING_LOG_DIR": str(tmp_path / "l")}
    env.pop("SPARK_REMOTE", None)
    proc = subprocess.run([sys.executable, "-m", "mining.cli", "sql", "select 1 as one",
                           "--warehouse", str(tmp_path / "wh"), "--format", "csv"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["one", "1"]
    logs = list((tmp_path / "l").glob("*.log"))
    assert len(logs) == 1, proc.stderr
    text = logs[0].read_text()
    assert "WARN" in text or "log4j" in text.lower() or text == "", text[:500]
    noise = [line for line in proc.stderr.splitlines()
             if "WARN" in line or "log4j" in line or "NativeCodeLoader" in line]
    assert not noise, proc.stderr
    assert str(logs[0]) in proc.stderr  # its path, printed once
    assert proc.stderr.count(str(logs[0])) == 1


def test_log_path_falls_back_when_the_warehouse_is_not_writable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MINING_LOG_DIR", raising=False)
    (tmp_path / "file").write_text("x")
    path = spark_log_path(tmp_path / "file", "job-1")  # <file>/logs cannot be made
    assert path.name == "job-1.log" and path.parent.is_dir()
    assert "file" not in path.parent.parts[-2:]
    (tmp_path / "wh").mkdir()
    assert spark_log_path(tmp_path / "wh", "job-2") == (tmp_path / "wh" / "logs" / "job-2.log")
    # A warehouse that does not exist yet is not created for a log.
    assert spark_log_path(tmp_path / "new", "sql-1").parent.name == "mining-logs"
    assert not (tmp_path / "new").exists()


def test_unreachable_remote_fails_fast() -> None:
    from mining.errors import SparkStartError
    from mining.runtime.session import check_reachable

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(SparkStartError, match="cannot reach Spark Connect server"):
        check_reachable(f"sc://127.0.0.1:{port}/;token=abc", timeout=2)

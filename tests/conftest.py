"""Shared fixtures: one SparkSession per test session, local or Spark Connect, and real data.

Modes
-----
* default: ``local[2]`` session started in-process (UI off, 4 shuffle partitions).
* ``--spark-remote=auto``: start a local Spark Connect server (127.0.0.1, a free port) for the
  test session and run only tests marked ``connect`` against it.
* ``--spark-remote=sc://host:port``: use an existing Connect server (``connect`` tests only).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("MINING_SHARED_DATA", ROOT.parent / "shared" / "data"))
BUNDLED_DATA = ROOT / "data"

sys.path.insert(0, str(ROOT / "tests"))  # test helpers (spark_servers, faults) import by name


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--spark-remote",
        default=None,
        help="run the `connect` tests over Spark Connect: 'auto' starts a local server, "
        "or give sc://host:port",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--spark-remote"):
        return
    skip = pytest.mark.skip(reason="Spark Connect pass runs only tests marked `connect`")
    for item in items:
        if "connect" not in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def tmp_root() -> Iterator[Path]:
    """A scratch directory for the whole test session (checkpoints, warehouses)."""
    path = Path(tempfile.mkdtemp(prefix="mining-tests-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def spark(request: pytest.FixtureRequest, tmp_root: Path) -> Iterator[object]:
    """The one SparkSession of the test session (local[2] or Spark Connect)."""
    from mining.runtime.session import build_session

    remote = request.config.getoption("--spark-remote")
    conf = {
        "spark.sql.shuffle.partitions": "4",
        "spark.default.parallelism": "4",
        "spark.ui.enabled": "false",
        "spark.checkpoint.dir": str(tmp_root / "checkpoints"),
        "spark.driver.memory": "3g",
    }
    server = None
    try:
        if remote == "auto":
            from spark_servers import ConnectServer

            server = ConnectServer(tmp_root / "connect").start()
            remote = server.url
        session = build_session("mining-tests", master="local[2]", remote=remote, conf=conf)
        yield session
        session.stop()
    finally:  # a failed session start must not leave a Connect server behind
        if server is not None:
            server.stop()


@pytest.fixture(scope="session")
def is_connect(spark: object) -> bool:
    from mining.runtime.session import is_remote

    return is_remote(spark)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the repo; tests using it skip with a reason when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"needs the shared data sets at {SHARED_DATA} (not part of a user's clone)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def bundled_data() -> Path:
    """The small real data bundled in the repo (``data/``)."""
    return BUNDLED_DATA

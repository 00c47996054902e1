"""The job runner every ``jobs/<name>.py`` shares: args -> config -> session -> pipeline -> publish.

A job module defines ``pipeline(ctx: JobContext) -> None`` and ends with
``raise SystemExit(run_job("<name>", pipeline))``. The same module runs under ``spark-submit`` and
in-process through ``mining run <name>``. Exit codes: 0 success, 2 bad input or configuration,
1 any other failure. Result tables are staged while the pipeline runs and published together,
each by one atomic switch, only when the whole pipeline succeeded.
"""

from __future__ import annotations

import argparse
import logging
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from mining.errors import ConfigError, InputError
from mining.io.runs import RunLog, RunRecord, check_run_id
from mining.io.warehouse import StagedTable, Warehouse
from mining.masking import mask_config, mask_secrets
from mining.runtime.config import add_param_flags, load_params, params_from_args, read_toml
from mining.runtime.config import defaults_path as _defaults_path
from mining.runtime.logs import Stage, StageLog, setup_logging
from mining.runtime.session import build_session

log = logging.getLogger("mining.job")

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


@dataclass
class JobContext:
    """What a pipeline gets: the session, its parameters, and ways to time, count and publish."""

    spark: SparkSession
    job: str
    run_id: str
    params: Mapping[str, Any]
    warehouse: Warehouse
    stages: StageLog = field(default_factory=StageLog)
    inputs: list[str] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    staged: list[StagedTable] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[Stage]:
        """Time a block of the pipeline (logged, and recorded in the runs table)."""
        with self.stages.stage(name) as st:
            yield st

    def record_input(self, path: str | Sequence[str]) -> None:
        """Remember an input path for the runs table (credentials masked)."""
        paths = [path] if isinstance(path, str) else list(path)
        self.inputs.extend(mask_secrets(str(p)) for p in paths)

    def record_counts(self, name: str, counts: Mapping[str, int]) -> None:
        """Record the row counts of one reader or stage (e.g. read/kept/quarantined)."""
        self.counts[name] = {k: int(v) for k, v in counts.items()}

    def publish(self, tables: Mapping[str, DataFrame]) -> None:
        """Write tables to staging now; they become visible together when the job succeeds."""
        for name, df in tables.items():
            with self.stage(f"write {name}") as st:
                staged = self.warehouse.stage(name, df, run_id=self.run_id)
                st.rows = staged.rows
            self.staged.append(staged)


Pipeline = Callable[[JobContext], None]


def build_parser(job: str, defaults: Mapping[str, Any]) -> argparse.ArgumentParser:
    """Common flags (config, warehouse, Spark target, verbosity) plus one flag per parameter."""
    parser = argparse.ArgumentParser(prog=f"mining run {job}", description=f"Run the {job} job.")
    parser.add_argument("--config", type=Path, help="TOML file overriding the job's defaults")
    parser.add_argument("--warehouse", default=None,
                        help="warehouse directory (default: $MINING_WAREHOUSE or ./warehouse)")
    parser.add_argument("--retention", type=int, default=3, help="table versions to keep")
    parser.add_argument("--master", help="Spark master for a session started here")
    parser.add_argument("--remote", help="Spark Connect URL (default: $SPARK_REMOTE)")
    parser.add_argument("--spark-conf", type=Path, help="Spark properties file for a local session")
    parser.add_argument("--run-id", help="run id (default: a new UUID)")
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    verbosity.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    add_param_flags(parser, defaults)
    return parser


def _parse(job: str, argv: Sequence[str]) -> tuple[argparse.Namespace, dict[str, Any]]:
    defaults = read_toml(_defaults_path(job))
    args = build_parser(job, defaults).parse_args(list(argv))
    params = load_params(job, config_file=args.config, flags=params_from_args(args))
    return args, params


def run_job(
    job: str,
    pipeline: Pipeline,
    argv: Sequence[str] | None = None,
    *,
    spark: SparkSession | None = None,
) -> int:
    """Run ``pipeline`` as job ``job`` and return its exit code (never raises for job errors).

    Parameters
    ----------
    job
        Job name; its defaults are ``conf/jobs/<job>.toml``.
    pipeline
        The job body.
    argv
        Command-line arguments (default ``sys.argv[1:]``).
    spark
        An existing session (tests, ``mining run`` inside a live session); built otherwise.
    """
    import sys

    try:
        args, params = _parse(job, sys.argv[1:] if argv is None else argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code or 0)
    except ConfigError as exc:
        setup_logging()
        log.error("%s: %s", job, exc)
        return EXIT_BAD_INPUT
    setup_logging(quiet=args.quiet, verbose=args.verbose)
    try:  # before Spark starts: an s3a:// root or a run id like ../x is bad input, not a crash
        warehouse = Warehouse(_warehouse_root(args.warehouse), retention=args.retention)
        run_id = check_run_id(args.run_id or uuid.uuid4().hex[:12])
    except (ConfigError, InputError) as exc:
        log.error("%s: %s", job, mask_secrets(str(exc)))
        return EXIT_BAD_INPUT
    session = spark or build_session(f"mining-{job}", master=args.master, remote=args.remote,
                                     properties_file=args.spark_conf)
    ctx = JobContext(spark=session, job=job, run_id=run_id, params=params, warehouse=warehouse)
    return _execute(ctx, pipeline)


def one_line(exc: BaseException) -> str:
    """``Type: first meaningful line`` of an exception (Py4J errors carry whole Java traces).

    The full trace stays available with ``--verbose`` (logged at DEBUG).
    """
    text = str(exc).strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    # A Py4JJavaError starts with "An error occurred while calling ..."; the cause is the
    # first line that names an exception class.
    cause = next((ln for ln in lines if "Exception" in ln or "Error:" in ln), None)
    first = cause or (lines[0] if lines else "")
    return f"{type(exc).__name__}: {first[:500]}"


def _warehouse_root(arg: str | None) -> str:
    import os

    return arg or os.environ.get("MINING_WAREHOUSE", "warehouse")


def _execute(ctx: JobContext, pipeline: Pipeline) -> int:
    runs = RunLog(ctx.warehouse)
    record = RunRecord(
        run_id=ctx.run_id, job=ctx.job, config=mask_config(dict(ctx.params)),
        spark_version=ctx.spark.version, started_at=datetime.now(UTC),
    )
    runs.write(record)
    start = time.perf_counter()
    code, error = EXIT_OK, None
    try:
        pipeline(ctx)
        with ctx.stage("publish"):
            ctx.warehouse.commit(ctx.staged)
    except InputError as exc:
        code, error = EXIT_BAD_INPUT, f"bad input: {exc}"
    except ConfigError as exc:
        code, error = EXIT_BAD_INPUT, f"bad configuration: {exc}"
    except Exception as exc:  # report every failure in the runs table, then exit 1
        code, error = EXIT_FAILED, one_line(exc)
        log.debug("job failed", exc_info=True)
    if code != EXIT_OK:
        ctx.warehouse.abort(ctx.staged)
        log.error("%s failed: %s", ctx.job, mask_secrets(error or ""))
    record.status = "succeeded" if code == EXIT_OK else "failed"
    record.error = mask_secrets(error) if error else None
    record.inputs = ctx.inputs
    record.counts = ctx.counts
    record.stages = ctx.stages.as_records()
    record.tables = [s.name for s in ctx.staged] if code == EXIT_OK else []
    record.notes = {k: str(v) for k, v in ctx.notes.items()}
    record.seconds = round(time.perf_counter() - start, 3)
    record.finished_at = datetime.now(UTC)
    try:
        runs.write(record)
    except Exception as exc:  # the result is published; a lost run record is still a failure
        log.error("%s: could not record run %s: %s", ctx.job, ctx.run_id, exc)
        return code or EXIT_FAILED
    log.info("%s %s in %.1f s (run %s)", ctx.job, record.status, record.seconds, ctx.run_id)
    return code

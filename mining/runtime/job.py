"""The job runner every ``jobs/<name>.py`` shares: args -> config -> session -> pipeline -> publish.

A job module defines ``pipeline(ctx: JobContext) -> None`` and ends with
``raise SystemExit(run_job("<name>", pipeline))``. The same module runs under ``spark-submit`` and
in-process through ``mining run <name>``. Exit codes (:mod:`mining.errors`): 0 success, 2 bad
input or configuration, 3 did not converge, 1 any other failure. Every failure is one line on
stderr and in the runs table (the traceback only with ``--verbose``). Result tables are staged
while the pipeline runs and published together, each by one atomic switch, only when the whole
pipeline succeeded.
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

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StructType

from mining.errors import (
    EXIT_FAILED,
    EXIT_OK,
    ConfigError,
    ConvergenceError,
    InputError,
    MiningError,
    exit_code,
    one_line,
)
from mining.io.readers import ReadResult, explain_read_failure
from mining.io.runs import RunLog, RunRecord, check_run_id
from mining.io.warehouse import StagedTable, Warehouse, default_root
from mining.masking import mask_config, mask_secrets
from mining.runtime.config import (
    OneLineParser,
    add_param_flags,
    load_params,
    params_from_args,
    read_toml,
)
from mining.runtime.config import defaults_path as _defaults_path
from mining.runtime.logs import Stage, StageLog, setup_logging, spark_log_path
from mining.runtime.session import build_session

log = logging.getLogger("mining.job")
# What the runs table and stderr say in front of each kind of failure.
_PREFIX = {InputError: "bad input: ", ConfigError: "bad configuration: ",
           ConvergenceError: "did not converge: "}


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
    # Run once the tables are committed (a report over them, in this session); a failure
    # fails the run, and the committed tables stay published.
    after_commit: list[Callable[[], None]] = field(default_factory=list)

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

    def ingest(self, name: str, result: ReadResult, *, quarantine_table: str) -> DataFrame:
        """Keep a reader's valid rows cached, stage its quarantine, record its counts.

        The quarantine is staged first (its write pass is the reader's scan), the data is then
        cached by one count, and the exact counts go to the runs table under ``name``.
        """
        data = result.data.persist(StorageLevel.MEMORY_AND_DISK)
        self.publish({quarantine_table: result.quarantine})
        data.count()
        self.record_counts(name, result.counts())
        return data

    def publish(self, tables: Mapping[str, DataFrame], *,
                schema: Mapping[str, StructType] | None = None) -> None:
        """Write tables to staging now; they become visible together when the job succeeds.

        Each table is checked against ``schema[name]`` or, by default, its declared schema in
        :data:`mining.schemas.RESULT_TABLES`.
        """
        for name, df in tables.items():
            with self.stage(f"write {name}") as st:
                staged = self.warehouse.stage(name, df, run_id=self.run_id,
                                              schema=(schema or {}).get(name))
                st.rows = staged.rows
            self.staged.append(staged)


Pipeline = Callable[[JobContext], None]


def build_parser(job: str, defaults: Mapping[str, Any]) -> argparse.ArgumentParser:
    """Common flags (config, warehouse, Spark target, verbosity) plus one flag per parameter."""
    parser = OneLineParser(prog=f"mining run {job}", description=f"Run the {job} job.")
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

    Returns
    -------
    int
        The exit code (:mod:`mining.errors`).
    """
    import sys

    try:
        args, params = _parse(job, sys.argv[1:] if argv is None else argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code or 0)
    except MiningError as exc:
        setup_logging()
        log.error("%s: %s", job, one_line(exc))
        return exit_code(exc)
    setup_logging(quiet=args.quiet, verbose=args.verbose)
    try:  # before Spark starts: bad paths, run ids and Spark targets are one line, not a crash
        warehouse = Warehouse(args.warehouse or default_root(), retention=args.retention)
        run_id = check_run_id(args.run_id or uuid.uuid4().hex[:12])
        warehouse.check_writable()
        spark_log = None if args.verbose else spark_log_path(warehouse.root, f"{job}-{run_id}")
        session = spark or build_session(f"mining-{job}", master=args.master, remote=args.remote,
                                         properties_file=args.spark_conf, spark_log=spark_log)
    except Exception as exc:
        log.debug("%s could not start", job, exc_info=True)
        log.error("%s: %s", job, one_line(exc))
        return exit_code(exc)
    ctx = JobContext(spark=session, job=job, run_id=run_id, params=params, warehouse=warehouse)
    if spark is None and spark_log is not None:
        ctx.notes["spark_log"] = str(spark_log)
    return _execute(ctx, pipeline)


def _failure(exc: BaseException) -> tuple[int, str]:
    """Exit code and one-line message for an exception that ended a pipeline."""
    if not isinstance(exc, MiningError):
        exc = explain_read_failure(exc) or exc  # a truncated gzip, an unreadable file: input
    prefix = next((p for kind, p in _PREFIX.items() if isinstance(exc, kind)), "")
    return exit_code(exc), prefix + one_line(exc)


def _execute(ctx: JobContext, pipeline: Pipeline) -> int:
    runs = RunLog(ctx.warehouse)
    record = RunRecord(
        run_id=ctx.run_id, job=ctx.job, config=mask_config(dict(ctx.params)),
        spark_version=ctx.spark.version, started_at=datetime.now(UTC),
    )
    try:
        runs.write(record)
    except Exception as exc:  # a full disk or a warehouse turned read-only since the check
        log.error("%s: %s", ctx.job, one_line(exc))
        return exit_code(exc)
    start = time.perf_counter()
    code, error, committed = EXIT_OK, None, False
    try:
        pipeline(ctx)
        with ctx.stage("publish"):
            ctx.warehouse.commit(ctx.staged)
        committed = True
        for action in ctx.after_commit:
            action()
    except Exception as exc:  # report every failure in the runs table, one line on stderr
        log.debug("job failed", exc_info=True)
        code, error = _failure(exc)
    except KeyboardInterrupt:
        code, error = 130, "interrupted"
    if code != EXIT_OK:
        if not committed:
            ctx.warehouse.abort(ctx.staged)
        log.error("%s failed: %s", ctx.job, error)
    _finish(record, ctx, code, error, seconds=time.perf_counter() - start, committed=committed)
    try:
        runs.write(record)
    except Exception as exc:  # the result is published; a lost run record is still a failure
        log.error("%s: could not record run %s: %s", ctx.job, ctx.run_id, one_line(exc))
        return code or EXIT_FAILED
    log.info("%s %s in %.1f s (run %s)", ctx.job, record.status, record.seconds, ctx.run_id)
    return code


def _finish(record: RunRecord, ctx: JobContext, code: int, error: str | None, *,
            seconds: float, committed: bool) -> None:
    record.status = "succeeded" if code == EXIT_OK else "failed"
    record.error = mask_secrets(error) if error else None
    record.inputs = ctx.inputs
    record.counts = ctx.counts
    record.stages = ctx.stages.as_records()
    record.tables = [s.name for s in ctx.staged] if committed else []
    record.notes = {k: str(v) for k, v in ctx.notes.items()}
    record.seconds = round(seconds, 3)
    record.finished_at = datetime.now(UTC)

"""The ``mining`` command: run a job, list jobs, query the warehouse with SQL, list its tables.

Exit codes are those of :mod:`mining.errors` (0 success, 2 bad input or usage, 1 any other
failure); every failure is one line on stderr, the traceback only with ``--verbose``.
``mining run`` imports ``jobs.<name>`` only when asked (``mining`` never imports ``jobs``
statically: the dependency arrow is ``jobs -> mining``).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

from mining import __version__, errors
from mining.errors import EXIT_BAD_INPUT, EXIT_OK, InputError
from mining.io.frames import FORMATS, write_rows
from mining.io.runs import RunLog
from mining.io.warehouse import Warehouse, check_table_name, default_root
from mining.runtime.config import OneLineParser, job_names
from mining.runtime.logs import setup_logging, spark_log_path
from mining.runtime.session import PROJECT_ROOT, build_session, launched_by_spark_submit
from mining.sql_guard import check_read_only

log = logging.getLogger("mining.cli")

_PARAM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?")
_IDENTIFIER_PARAM = re.compile(r"\bIDENTIFIER\s*\(\s*:([A-Za-z_]\w*)\s*\)", re.IGNORECASE)
# Sessions `mining sql` starts itself also refuse, in Spark, what the plan check refuses: defence
# in depth. reflect.allowList "(?!)" matches nothing (an EMPTY list would allow every call).
SQL_SESSION_CONF = {"spark.sql.runSQLOnFiles": "false", "spark.sql.scripting.enabled": "false"}
# Static settings: only a JVM started here takes them (a running session refuses to set them).
SQL_STATIC_CONF = {"spark.sql.reflect.allowList": "(?!)",
                   "spark.sql.restrictedMode.enabled": "true"}


def build_parser() -> argparse.ArgumentParser:
    """The ``mining`` argument parser (one sub-command per action)."""
    common = OneLineParser(add_help=False)
    verbosity = common.add_mutually_exclusive_group()
    verbosity.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    verbosity.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    common.add_argument("--warehouse", help="warehouse directory (default: $MINING_WAREHOUSE "
                        "or ./warehouse)")

    parser = OneLineParser(prog="mining", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"mining {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run a job (its own flags follow the job name)")
    run.add_argument("job", help="job name (see `mining jobs`)")
    run.add_argument("job_args", nargs=argparse.REMAINDER, help="the job's flags (--help)")
    sub.add_parser("jobs", help="list the jobs", parents=[common])
    tables = sub.add_parser("tables", help="list warehouse tables", parents=[common])
    tables.add_argument("--format", choices=FORMATS, default="table")

    sql = sub.add_parser("sql", parents=[common], help="run a read-only SQL query over the "
                         "warehouse", description="Query every warehouse table and `runs` by "
                         "name: one SELECT, WITH, VALUES, TABLE, DESCRIBE, SHOW or EXPLAIN. "
                         "Named parameters (:name) are bound by Spark, never formatted into "
                         "the text.")
    sql.add_argument("query", nargs="?", help="a query, or NAME for the project's sql/NAME.sql "
                     "(then $MINING_SQL_DIR/NAME.sql)")
    sql.add_argument("--file", type=Path, help="read the query from this file")
    sql.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                     help="bind :KEY (integers and decimals are typed, the rest are strings); "
                     "a table chosen by parameter is written IDENTIFIER(:KEY)")
    sql.add_argument("--param-string", action="append", default=[], metavar="KEY=VALUE",
                     help="bind :KEY to VALUE as a string, never a number (ids like 007)")
    sql.add_argument("--format", choices=FORMATS, default="table")
    sql.add_argument("--limit", type=int, default=1000, help="rows to print (0: all; default "
                     "1000)")
    sql.add_argument("--master", help="Spark master for a session started here")
    sql.add_argument("--remote", help="Spark Connect URL (default: $SPARK_REMOTE)")
    return parser


def main(argv: Sequence[str] | None = None, *, spark: SparkSession | None = None) -> int:
    """Entry point of the ``mining`` console script; returns the exit code.

    Parameters
    ----------
    argv
        Arguments after ``mining`` (default ``sys.argv[1:]``).
    spark
        A live session for ``mining sql`` (tests, notebooks); one is built (and stopped) otherwise.
    """
    try:
        args = build_parser().parse_args(sys.argv[1:] if argv is None else list(argv))
    except SystemExit as exc:  # --help, --version (0) or a usage error (2, one line)
        return int(exc.code or 0)
    if args.command == "run":
        return run_command(args.job, args.job_args)
    setup_logging(quiet=args.quiet, verbose=args.verbose)
    try:
        if args.command == "jobs":
            print("\n".join(job_names()) or "no jobs (conf/jobs/*.toml)")
            return EXIT_OK
        if args.command == "tables":
            return tables_command(args)
        return sql_command(args, spark)
    except Exception as exc:  # any failure: one line; the traceback with --verbose
        log.debug("mining %s failed", args.command, exc_info=True)
        _error(errors.one_line(exc))
        return EXIT_BAD_INPUT if errors.is_user_error(exc) else errors.exit_code(exc)


def _error(message: str) -> None:
    print(errors.error_line("mining", message), file=sys.stderr)


def run_command(job: str, job_args: Sequence[str]) -> int:
    """``mining run JOB ...``: import ``jobs.JOB`` and return its ``main(argv)``."""
    available = list(job_names())
    if job not in available or not job.isidentifier():
        _error(f"unknown job {job!r}; available jobs: {', '.join(available) or 'none'}")
        return EXIT_BAD_INPUT
    try:
        module = importlib.import_module(f"jobs.{job}")
    except ModuleNotFoundError as exc:
        if exc.name not in ("jobs", f"jobs.{job}"):
            raise  # a job's own import is broken: show the traceback
        _error(f"job {job!r} has a config file but no module jobs/{job}.py")
        return EXIT_BAD_INPUT
    entry = getattr(module, "main", None)
    if callable(entry):
        return int(entry(list(job_args)) or 0)
    pipeline = getattr(module, "pipeline", None)
    if callable(pipeline):  # a module with only a pipeline still runs through the shared runner
        from mining.runtime.job import run_job

        return run_job(job, pipeline, list(job_args))
    _error(f"jobs/{job}.py defines neither main(argv) nor pipeline(ctx)")
    return EXIT_BAD_INPUT


def open_warehouse(root: str | None) -> Warehouse:
    """The warehouse at ``root`` (default: $MINING_WAREHOUSE or ./warehouse).

    Raises
    ------
    InputError
        When the path exists but is not a directory.
    """
    warehouse = Warehouse(root or default_root())
    if warehouse.root.exists() and not warehouse.root.is_dir():
        raise InputError(f"warehouse {warehouse.root} is not a directory")
    return warehouse


def tables_command(args: argparse.Namespace) -> int:
    """``mining tables``: name, current version, rows, versions kept, when and by which run."""
    warehouse = open_warehouse(args.warehouse)
    names = warehouse.tables()
    if not names:
        print(f"no tables in {warehouse.root}", file=sys.stderr)
        return EXIT_OK
    columns = ["table", "version", "rows", "versions", "created_at", "run_id"]
    rows = []
    for name in names:
        cur = warehouse.current(name)
        rows.append((name, cur.version, cur.rows, len(warehouse.versions(name)), cur.created_at,
                     cur.run_id))
    write_rows(columns, rows, args.format, sys.stdout)
    return EXIT_OK


def parse_params(pairs: Sequence[str], strings: Sequence[str] = ()) -> dict[str, Any]:
    """``["k=v", ...]`` -> ``{"k": v}``; integers and decimals typed, anything else a string.

    ``strings`` are pairs kept as strings whatever they look like: under ANSI SQL a string column
    compared with an integer is cast to a number, so ``name = 7`` fails on ``'abc'`` and matches
    ``'007'``.

    Raises
    ------
    InputError
        For a pair without ``=`` or a key that is not a SQL parameter name.
    """
    params: dict[str, Any] = {}
    for pair, typed in [*((p, True) for p in pairs), *((p, False) for p in strings)]:
        key, sep, text = pair.partition("=")
        if not sep or not _PARAM_NAME.fullmatch(key):
            raise InputError(f"--param needs KEY=VALUE with KEY a name, got {pair!r}")
        value: Any = text
        if typed and _INT.fullmatch(text):
            value = int(text)
        elif typed and _FLOAT.fullmatch(text):
            value = float(text)
        params[key] = value
    return params


def sql_dirs() -> list[Path]:
    """Where ``mining sql NAME`` looks for ``NAME.sql``: the project's sql/, then $MINING_SQL_DIR.

    The project's queries come first so that a ``sql/NAME.sql`` in whatever directory the
    command runs from (or in $MINING_SQL_DIR) never replaces one of them; there is no implicit
    ``./sql`` (``--file`` reads any file on purpose).
    """
    env = os.environ.get("MINING_SQL_DIR")
    return [PROJECT_ROOT / "sql", *([Path(env)] if env else [])]


def resolve_query(query: str | None, file: Path | None) -> str:
    """The SQL text from ``--file``, from ``NAME.sql`` (:func:`sql_dirs`) or the argument itself.

    Raises
    ------
    InputError
        Both or neither given, no such query, or a file that cannot be read as UTF-8 text.
    """
    if (query is None) == (file is None):
        raise InputError("give either a query (or a query NAME) or --file, not both or neither")
    if file is None and query is not None and _PARAM_NAME.fullmatch(query):  # one word: a NAME
        found = [d / f"{query}.sql" for d in sql_dirs() if (d / f"{query}.sql").is_file()]
        if not found:
            known = sorted({p.stem for d in sql_dirs() if d.is_dir() for p in d.glob("*.sql")})
            raise InputError(f"no query file {query}.sql in {', '.join(map(str, sql_dirs()))} "
                             f"(queries: {', '.join(known) or 'none'})")
        file = found[0]
    return str(query) if file is None else read_query_file(file)


def read_query_file(file: Path) -> str:
    """The text of a query file (InputError, one line, when it cannot be read as UTF-8)."""
    if not file.is_file():
        raise InputError(f"query file {file} is a directory" if file.is_dir()
                         else f"query file not found: {file}")
    try:
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"query file {file} is not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise InputError(f"cannot read query file {file}: {exc.strerror}") from None


def check_identifier_params(query: str, params: dict[str, Any]) -> None:
    """Every value bound to ``IDENTIFIER(:p)`` must be a valid table name (else InputError)."""
    for key in _IDENTIFIER_PARAM.findall(query):
        if key in params:
            try:
                check_table_name(params[key])
            except InputError as exc:
                raise InputError(f"--param {key}: {exc}") from None


def sql_command(args: argparse.Namespace, spark: SparkSession | None) -> int:
    """``mining sql``: register the warehouse, check and run one read-only query, print it."""
    query = resolve_query(args.query, args.file)
    params = parse_params(args.param, args.param_string)
    check_identifier_params(query, params)
    if args.limit < 0:
        raise InputError(f"--limit must be >= 0, got {args.limit}")
    warehouse = open_warehouse(args.warehouse)
    if not args.verbose:
        _quiet_spark_error_logs()
    session = spark or start_sql_session(args, warehouse)
    try:
        warehouse.register(session)
        RunLog(warehouse).register(session)
        check_read_only(session, query, params)
        df = session.sql(query, args=params or None)
        rows = df.limit(args.limit + 1).collect() if args.limit else df.collect()
        columns = list(df.columns)
    finally:
        if spark is None:
            session.stop()
    shown = rows[: args.limit] if args.limit else rows
    write_rows(columns, [tuple(r) for r in shown], args.format, sys.stdout)
    if args.limit and len(rows) > args.limit:
        print(f"(first {args.limit} rows shown; --limit 0 prints all)", file=sys.stderr)
    return EXIT_OK


def start_sql_session(args: argparse.Namespace, warehouse: Warehouse) -> SparkSession:
    """A session with :data:`SQL_SESSION_CONF` (and :data:`SQL_STATIC_CONF` if started here).

    Spark's own output goes to a log file (:func:`mining.runtime.logs.spark_log_path`) unless
    ``--verbose``.
    """
    conf = dict(SQL_SESSION_CONF)
    if not (args.remote or os.environ.get("SPARK_REMOTE")) and not launched_by_spark_submit():
        conf.update(SQL_STATIC_CONF)
    name = f"sql-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
    spark_log = None if args.verbose else spark_log_path(warehouse.root, name)
    return build_session("mining-sql", master=args.master, remote=args.remote, conf=conf,
                         spark_log=spark_log)


def _quiet_spark_error_logs() -> None:
    # PySpark logs every failed query with its JVM stack trace as JSON on stderr, before the
    # exception reaches us; the CLI reports it in one line instead (--verbose keeps the log).
    from pyspark.logger import PySparkLogger

    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).setLevel(logging.CRITICAL)


if __name__ == "__main__":
    raise SystemExit(main())

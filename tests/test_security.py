"""Names cannot escape the warehouse, SQL is read-only, no secret reaches a record or a log."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mining.cli import main
from mining.errors import ConfigError, InputError
from mining.io.runs import RunLog
from mining.io.warehouse import Warehouse, check_table_name
from mining.masking import MaskingFormatter, is_secret_key, mask_config, mask_secrets
from mining.runtime.job import JobContext, run_job

BAD_NAMES = ["../x", "/abs", "a'b", "a`b", "a.b", "", "x\n", "A", "a b", "a/b", "1x", "x" * 64,
             "..", "a;drop"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_table_names_are_rejected_everywhere(name: str, tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "wh")
    for attempt in (lambda: check_table_name(name), lambda: wh.begin_stage(name, run_id="r"),
                    lambda: wh.path(name), lambda: wh.versions(name)):
        with pytest.raises(InputError, match="invalid table name"):
            attempt()
    assert not (tmp_path / "wh").exists() and not (tmp_path / "x").exists()


@pytest.mark.parametrize("name", ["a", "_x", "pagerank_2", "x" * 63])
def test_good_table_names(name: str) -> None:
    assert check_table_name(name) == name


@pytest.fixture(scope="module")
def wh(spark, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("security") / "wh"
    pages = spark.createDataFrame([(1, "a"), (2, "b")], "node bigint, name string")
    Warehouse(root).publish({"pages": pages}, run_id="r", schema={"pages": pages.schema})
    return root


def _sql(spark, wh: Path, query: str, *params: str) -> int:
    args = ["sql", query, "--warehouse", str(wh), "--format", "json"]
    for p in params:
        args += ["--param", p]
    return main(args, spark=spark)


def test_parameter_values_are_literals_not_sql(
    spark, wh: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    query = "select node from pages where name = :name"
    assert _sql(spark, wh, query, "name=a") == 0
    assert capsys.readouterr().out.splitlines() == ['{"node": 1}']
    for attack in ("x' or '1'='1", "a'; drop view pages; --", "a' union select 99 --"):
        assert _sql(spark, wh, query, f"name={attack}") == 0, attack
        assert capsys.readouterr().out == "", attack  # matched no name: a literal string
    assert _sql(spark, wh, "select :v as v", "v=1; select 2") == 0
    assert json.loads(capsys.readouterr().out) == {"v": "1; select 2"}


@pytest.mark.parametrize("table", ["pages; drop view pages", "pages where 1=1", "`pages`",
                                   "global_temp.pages", "../pages"])
def test_identifier_parameter_must_be_a_table_name(
    spark, wh: Path, capsys: pytest.CaptureFixture[str], table: str
) -> None:
    assert _sql(spark, wh, "select count(*) as n from identifier( :t )", f"t={table}") == 2
    assert "invalid table name" in capsys.readouterr().err


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


REFLECT_ARGS = "('java.lang.System', 'getProperty', 'user.home')"
NOT_READ_ONLY = [
    ("insert into pages select 3, 'c'", "InsertIntoStatement"),
    ("insert overwrite table pages select 3, 'c'", "InsertIntoStatement"),
    # Over a path, INSERT OVERWRITE DIRECTORY would rewrite the published version in place.
    ("insert overwrite directory '{current}' using parquet select 3 as node, 'c' as name",
     "InsertIntoDir"),
    ("with x as (select 3, 'c') insert into pages select * from x", "InsertIntoStatement"),
    ("explain extended insert into pages select 3, 'c'", "InsertIntoStatement"),
    ("create table x (a int)", "CreateTable"),
    ("create or replace temp view pages as select 1", "CreateViewCommand"),
    ("drop view pages", "DropView"),
    ("alter table pages rename to p2", "RenameTable"),
    ("cache table pages", "CacheTable"),
    ("set spark.sql.ansi.enabled=false", "SetCommand"),
    ("reset spark.sql.ansi.enabled", "ResetCommand"),
    ("use default", "SetCatalogAndNamespace"),
    ("add jar /tmp/x.jar", "AddJarsCommand"),
    ("select transform(node) using 'sh -c id' from pages", "ScriptTransformation"),
    ("select * from (select transform(node) using 'cat' as (a) from pages)",
     "ScriptTransformation"),
    (f"select reflect{REFLECT_ARGS}", "reflect(...)"),
    (f"select JAVA_METHOD{REFLECT_ARGS}", "java_method(...)"),
    (f"select try_reflect{REFLECT_ARGS}", "try_reflect(...)"),
    (f"select identifier('reflect'){REFLECT_ARGS}", "reflect(...)"),
    (f"select identifier(concat('ref', 'lect')){REFLECT_ARGS}", "reflect(...)"),
    ("select * from text.`/etc/passwd`", "text./etc/passwd"),
    ("select * from parquet.`{current}`", "parquet./"),
    ("select * from identifier('text.`/etc/passwd`')", "text./etc/passwd"),
    # EXPLAIN would run the inner statement: refused before Spark sees it.
    ("execute immediate 'drop view pages'", "EXECUTE IMMEDIATE"),
    ("begin select 1; end", "one statement only"),
    ("select 1; select 2", "one statement only"),
]


@pytest.mark.connect
@pytest.mark.parametrize(("query", "found"), NOT_READ_ONLY,
                         ids=[q[:40] for q, _ in NOT_READ_ONLY])
def test_sql_refuses_what_is_not_read_only(
    spark, wh: Path, capsys: pytest.CaptureFixture[str], query: str, found: str
) -> None:
    current = Warehouse(wh).path("pages")
    before = _snapshot(wh)
    assert _sql(spark, wh, query.format(current=current)) == 2
    captured = capsys.readouterr()
    (line,) = captured.err.splitlines()
    assert line.startswith("mining: error: only read-only queries are allowed: "), line
    assert found in line and captured.out == ""
    assert _snapshot(wh) == before  # the published files are untouched


READ_ONLY = [
    ("select name from pages where node = 1", ["name", "a"]),
    ("with x as (select node from pages) select count(*) as n from x", ["n", "2"]),
    ("values (1, 'x')", ["col1,col2", "1,x"]),
    ("table pages", ["node,name", "1,a", "2,b"]),
    ("describe pages", ["col_name,data_type,comment", "node,bigint,", "name,string,"]),
    ("show tables", None),
    ("explain select * from pages", None),
    ("-- a comment\nEXPLAIN FORMATTED select * from pages where node > 1", None),
]


@pytest.mark.connect
@pytest.mark.parametrize(("query", "lines"), READ_ONLY, ids=[q[:30] for q, _ in READ_ONLY])
def test_sql_runs_read_only_queries(
    spark, wh: Path, capsys: pytest.CaptureFixture[str], query: str, lines: list[str] | None
) -> None:
    code = main(["sql", query, "--warehouse", str(wh), "--format", "csv", "--limit", "0"],
                spark=spark)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    out = captured.out.splitlines()
    if lines is not None:
        assert sorted(out[1:]) == sorted(lines[1:]) and out[0] == lines[0]
    elif query.startswith("show"):
        assert "pages" in captured.out and "runs" in captured.out
    else:
        assert "Physical Plan" in captured.out


SECRETS = ("hunter2-pw", "AKIAXXX", "s3-secret", "tok-abc123")


def test_runs_table_never_contains_a_secret(
    spark, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "conf" / "jobs").mkdir(parents=True)
    (tmp_path / "conf" / "jobs" / "leaky.toml").write_text(
        'password = "hunter2-pw"\nsource = "s3a://AKIAXXX:s3-secret@bucket/in"\n'
        'endpoint = "sc://host:15002/;token=tok-abc123"\n')
    monkeypatch.setenv("MINING_CONF_DIR", str(tmp_path / "conf"))

    def leaky(ctx: JobContext) -> None:
        ctx.record_input([ctx.params["source"], ctx.params["endpoint"]])
        ctx.record_counts(ctx.params["source"], {"read": 1})
        raise RuntimeError(f"cannot read {ctx.params['source']} via {ctx.params['endpoint']}")

    wh_dir = tmp_path / "wh"
    assert run_job("leaky", leaky, ["--warehouse", str(wh_dir), "--run-id", "leak"],
                   spark=spark) == 1
    on_disk = "".join(p.read_text(errors="replace") for p in wh_dir.rglob("*") if p.is_file())
    table = json.dumps([r.asDict(recursive=True) for r in RunLog(Warehouse(wh_dir)).read(spark)
                        .collect()], default=str)
    for secret in SECRETS:
        assert secret not in on_disk and secret not in table, secret
    record = RunLog(Warehouse(wh_dir)).get("leak")
    assert record.inputs == ["s3a://***@bucket/in", "sc://host:15002/;token=***"]
    assert record.config["password"] == "***"


def test_object_store_root_error_masks_credentials() -> None:
    with pytest.raises(ConfigError) as info:
        Warehouse("s3a://AKIAXXX:s3-secret@bucket/wh")
    assert "s3-secret" not in str(info.value) and "AKIAXXX" not in str(info.value)
    assert "atomic" in str(info.value)


# --- masking -----------------------------------------------------------------------------------

MASKED = [
    ("s3a://AKIAXXXX:ab/cd+ef@bucket/path", "s3a://***@bucket/path"),
    ("s3a://KEY:p@ss@bucket/x", "s3a://***@bucket/x"),
    ("read s3a://KEY:se/cr@et@bucket/x failed", "read s3a://***@bucket/x failed"),
    ("not found: s3a:/KEY:ab/cd@bucket/q.sql", "not found: s3a:/***@bucket/q.sql"),  # pathlib
    ("https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256"
     "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE/20240101/us-east-1/s3/aws4_request"
     "&X-Amz-Security-Token=FQoG/tok+en==&X-Amz-SignedHeaders=host&X-Amz-Signature=deadbeef",
     "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=***"
     "&X-Amz-Security-Token=***&X-Amz-SignedHeaders=host&X-Amz-Signature=***"),
    ("https://storage.googleapis.com/b/o?X-Goog-Signature=abc123&x=1",
     "https://storage.googleapis.com/b/o?X-Goog-Signature=***&x=1"),
    ("Driver={ODBC Driver 18};Server=h;Uid=u;Pwd=s3cr3t;Database=d",
     "Driver={ODBC Driver 18};Server=h;Uid=u;Pwd=***;Database=d"),
    ("jdbc:sqlserver://h:1433;user=u;pwd={a;b}}c};x=1", "jdbc:sqlserver://h:1433;user=u;pwd=***;x=1"),
    ("spark-submit --conf fs.azure.account.key.acct.blob.core.windows.net=AZSECRET --conf a=b",
     "spark-submit --conf fs.azure.account.key.acct.blob.core.windows.net=*** --conf a=b"),
    ("--conf spark.hadoop.fs.s3a.secret.key=S3SECRET --conf spark.hadoop.fs.s3a.access.key=AK1",
     "--conf spark.hadoop.fs.s3a.secret.key=*** --conf spark.hadoop.fs.s3a.access.key=***"),
    ("sc://host:15002/;token=abc", "sc://host:15002/;token=***"),
    ("{'password': 'hunter2', \"token\": \"t1\"}", "{'password': '***', \"token\": \"***\"}"),
    ("Authorization: Bearer abcdefghijkl", "Authorization: Bearer ***"),
    # already masked text and ordinary paths are left alone
    ("s3a://***@bucket/in", "s3a://***@bucket/in"),
    ("/data/x@2x.png", "/data/x@2x.png"),
    ("file:///tmp/a:b", "file:///tmp/a:b"),
    ("file:///tmp/x@2x.png and /a/b:c@d", "file:///tmp/x@2x.png and /a/b:c@d"),
    ("stage pagerank: ok rows=5 in 1.2 s", "stage pagerank: ok rows=5 in 1.2 s"),
]


@pytest.mark.parametrize(("text", "masked"), MASKED, ids=[t[:30] for t, _ in MASKED])
def test_secrets_are_masked(text: str, masked: str) -> None:
    assert mask_secrets(text) == masked
    assert mask_secrets(masked) == masked


def test_mask_config_masks_keys_and_values_at_any_depth() -> None:
    config = {
        "fs.azure.account.key.acct.dfs.core.windows.net": "AZSECRET",
        "spark.hadoop.fs.s3a.secret.key": "S3SECRET",
        "sources": [{"url": "s3a://K:ab/cd@b/x", "password": "pw1"},
                    ("sc://h:1/;token=tok1", {"nested": {"api_key": "k1"}})],
        "rows": 3,
    }
    masked = mask_config(config)
    assert masked == {
        "fs.azure.account.key.acct.dfs.core.windows.net": "***",
        "spark.hadoop.fs.s3a.secret.key": "***",
        "sources": [{"url": "s3a://***@b/x", "password": "***"},
                    ["sc://h:1/;token=***", {"nested": {"api_key": "***"}}]],
        "rows": 3,
    }
    assert is_secret_key("fs.azure.account.key.x.blob.core.windows.net")
    assert not is_secret_key("spark.sql.shuffle.partitions")


def test_masking_formatter_masks_messages_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(MaskingFormatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("mining.test_masking")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        try:
            raise OSError("cannot open s3a://AKIAXXXX:ab/cd+ef@bucket/in?X-Amz-Signature=sig99")
        except OSError:
            logger.exception("reading %s", "s3a://KEY:p@ss@bucket/x")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "Traceback" in text and "s3a://***@bucket/in?X-Amz-Signature=***" in text
    for secret in ("AKIAXXXX", "ab/cd", "p@ss", "sig99"):
        assert secret not in text, secret


def test_cli_error_and_verbose_traceback_are_masked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mining.runtime.logs import setup_logging

    try:
        assert main(["sql", "--file", "s3a://KEY:ab/cd@bucket/q.sql", "--verbose",
                     "--warehouse", str(tmp_path)]) == 2
    finally:
        setup_logging()  # back to INFO for the tests that follow
    err = capsys.readouterr().err
    assert "Traceback" in err
    assert "mining: error: query file not found: s3a:/***@bucket/q.sql" in err
    assert "KEY" not in err and "ab/cd" not in err


# --- sessions `mining sql` starts ---------------------------------------------------------------

_CLI_SESSION = """
import json, sys
from mining.cli import build_parser, main, open_warehouse, start_sql_session
wh = sys.argv[1]
args = build_parser().parse_args(["sql", "select 1", "--warehouse", wh])
spark = start_sql_session(args, open_warehouse(wh))
keys = ["spark.sql.runSQLOnFiles", "spark.sql.scripting.enabled", "spark.sql.reflect.allowList",
        "spark.sql.restrictedMode.enabled"]
conf = {k: spark.conf.get(k) for k in keys}
try:  # straight to Spark, past the plan check: the session itself must refuse it
    spark.sql("select java_method('java.lang.System', 'getProperty', 'user.home')").collect()
    refused = ""
except Exception as exc:
    refused = str(exc).strip().splitlines()[0]
from mining.sql_guard import check_read_only
try:  # a name computed at analysis: the plan check sees it refused by the session
    check_read_only(spark, "select identifier(concat('java_', 'method'))"
                           "('java.lang.Math', 'abs', -1)")
    guard = ""
except Exception as exc:
    guard = str(exc)
# `mining sql` itself (its session start finds the one above, one JVM start; it stops it)
code = main(["sql", "select java_method('java.lang.System', 'getProperty', 'user.home')",
             "--warehouse", wh, "--quiet"])
print(json.dumps({"code": code, "conf": conf, "refused": refused, "guard": guard}))
"""


def test_cli_started_session_refuses_code_execution(tmp_path: Path) -> None:
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "MINING_LOG_DIR": str(tmp_path / "l")}
    env.pop("SPARK_REMOTE", None)
    proc = subprocess.run([sys.executable, "-c", _CLI_SESSION, str(tmp_path / "wh")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout.splitlines()[-1])
    assert got["code"] == 2
    (line,) = proc.stderr.splitlines()
    assert line == "mining: error: only read-only queries are allowed: java_method(...)"
    assert got["conf"] == {"spark.sql.runSQLOnFiles": "false",
                           "spark.sql.scripting.enabled": "false",
                           "spark.sql.reflect.allowList": "(?!)",
                           "spark.sql.restrictedMode.enabled": "true"}
    assert "SQL_RESTRICTED_MODE" in got["refused"]
    assert got["guard"].startswith("only read-only queries are allowed: [UNSUPPORTED_FEATURE.SQL_")

"""Damaged input gives one clear line naming the file, never a traceback or a silent drop.

Paths that do not exist or are unusable directories, truncated or mislabelled gzip files,
UTF-16 text, a stray quote in a multi-line CSV, and documents of the same name in different
directories. Most cases fail when the reader is called, before any Spark job; expected messages
are written out by hand.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mining.errors import InputError
from mining.io.readers import (
    ReadResult,
    explain_read_failure,
    read_baskets,
    read_documents,
    read_edges,
    read_labeled,
)

Reader = Callable[[Any, Any], ReadResult]

CALLS: dict[str, Reader] = {
    "edges": read_edges,
    "baskets": read_baskets,
    "baskets-long": lambda s, p: read_baskets(s, p, layout="long"),
    "documents-files": read_documents,
    "documents-lines": lambda s, p: read_documents(s, p, layout="lines"),
    "documents-csv": lambda s, p: read_documents(s, p, layout="csv", id_column="id"),
    "documents-reuters": lambda s, p: read_documents(s, p, layout="reuters"),
    "labeled-libsvm": read_labeled,
    "labeled-csv": lambda s, p: read_labeled(s, p, format="csv"),
}
every_reader = pytest.mark.parametrize("call", list(CALLS.values()), ids=list(CALLS))


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def one_line(err: BaseException) -> str:
    text = str(err)
    assert "\n" not in text and "Traceback" not in text and "at org." not in text
    return text


# --- paths and directories ------------------------------------------------------------------


@every_reader
@pytest.mark.parametrize("name", ["nope.txt", "*.nope", "nope/*.txt"])
def test_missing_path_or_glob(spark: Any, tmp_path: Path, call: Reader, name: str) -> None:
    write(tmp_path / "a.txt", "1 2\n")
    missing = tmp_path / name
    with pytest.raises(InputError) as err:
        call(spark, str(missing))
    assert one_line(err.value) == f"input path does not exist: {missing}"


@every_reader
def test_empty_directory(spark: Any, tmp_path: Path, call: Reader) -> None:
    (tmp_path / "in").mkdir()
    with pytest.raises(InputError) as err:
        call(spark, tmp_path / "in")
    assert one_line(err.value) == (
        f"input directory {tmp_path / 'in'} holds no file to read "
        "(names starting with '.' or '_' are ignored)"
    )


@every_reader
def test_directory_of_hidden_files(spark: Any, tmp_path: Path, call: Reader) -> None:
    write(tmp_path / "out" / "_SUCCESS", "")
    write(tmp_path / "out" / ".part-0.crc", "x")
    with pytest.raises(InputError, match=r"input directory .*out holds no file to read"):
        call(spark, tmp_path / "out")


@every_reader
def test_directory_with_subdirectories(spark: Any, tmp_path: Path, call: Reader) -> None:
    """Spark would silently skip the subdirectory's files: refused, with a way out."""
    write(tmp_path / "in" / "top.txt", "1 2\n")
    write(tmp_path / "in" / "sub" / "more.txt", "3 4\n")
    with pytest.raises(InputError) as err:
        call(spark, tmp_path / "in")
    assert one_line(err.value).startswith(
        f"input directory {tmp_path / 'in'} holds subdirectories (sub), which would not be "
        f"read: pass their files or a glob such as {tmp_path / 'in' / '*' / '*'}"
    )


def test_files_layout_suggests_recursive(spark: Any, tmp_path: Path) -> None:
    write(tmp_path / "docs" / "a" / "x.txt", "A")
    with pytest.raises(InputError, match=r"\(a\), which would not be read: .*, or pass recursive"):
        read_documents(spark, tmp_path / "docs")


def test_directory_of_files_reads_them_all(spark: Any, tmp_path: Path) -> None:
    """A directory of files (a Spark output directory, say) is a supported input."""
    write(tmp_path / "out" / "part-0.txt", "1 2\n")
    write(tmp_path / "out" / "part-1.txt", "2 3\n3 4\n")
    write(tmp_path / "out" / "_SUCCESS", "")
    r = read_edges(spark, tmp_path / "out")
    assert r.data.count() == 3
    assert r.counts(entities=False)["lines_read"] == 3


def test_files_layout_refuses_compressed_files(spark: Any, tmp_path: Path) -> None:
    path = write(tmp_path / "docs" / "a.txt.gz", gzip.compress(b"text"))
    with pytest.raises(InputError, match=re.escape(f"input file {path} is compressed")):
        read_documents(spark, tmp_path / "docs")


# --- damaged gzip ---------------------------------------------------------------------------


@pytest.mark.connect
def test_truncated_gzip_fails_the_job_with_one_line(
    spark: Any, tmp_path: Path, bundled_data: Path
) -> None:
    """The first half of a real gzip file: the sniff sees a sound start, Spark fails later."""
    whole = (bundled_data / "graphs" / "email-Eu-core.txt.gz").read_bytes()
    path = write(tmp_path / "email-Eu-core.txt.gz", whole[: len(whole) // 2])
    r = read_edges(spark, path)
    expected = f"input file {path} is truncated or corrupt (Unexpected end of input stream)"
    with pytest.raises(Exception) as failure:  # Spark's own error: Py4J or Connect
        r.data.count()
    explained = explain_read_failure(failure.value)
    assert isinstance(explained, InputError)
    assert one_line(explained) == expected
    with pytest.raises(InputError) as err:  # counts() maps the failure itself
        r.counts()
    assert one_line(err.value) == expected


def test_gzip_cut_within_its_first_kib_is_refused_up_front(spark: Any, tmp_path: Path) -> None:
    packed = gzip.compress(b"1 2\n" * 100)
    path = write(tmp_path / "small.txt.gz", packed[: len(packed) - 10])
    with pytest.raises(InputError) as err:
        read_edges(spark, path)
    assert one_line(err.value).startswith(f"input file {path} is truncated or corrupt (")


def test_gz_name_without_gzip_data(spark: Any, tmp_path: Path) -> None:
    path = write(tmp_path / "edges.txt.gz", "1 2\n")
    with pytest.raises(InputError) as err:
        read_edges(spark, path)
    assert one_line(err.value) == (
        f"input file {path} is not gzip data although its name ends in .gz"
    )


def test_gzip_data_without_gz_name(spark: Any, tmp_path: Path) -> None:
    path = write(tmp_path / "edges.txt", gzip.compress(b"1 2\n"))
    with pytest.raises(InputError, match=re.escape(f"input file {path} is gzip-compressed but")):
        read_baskets(spark, path)


def test_explain_read_failure_ignores_other_errors() -> None:
    assert explain_read_failure(ValueError("no file here")) is None
    own = InputError("input path does not exist: x")
    assert explain_read_failure(RuntimeError("wrapped")) is None
    try:
        raise RuntimeError("job failed") from own
    except RuntimeError as exc:
        assert explain_read_failure(exc) is own


def test_explain_read_failure_of_a_classic_trace() -> None:
    """The text of a Py4J error (classic PySpark): the path and the root cause."""
    trace = (
        "An error occurred while calling o600.count.\n"
        ": org.apache.spark.SparkException: [FAILED_READ_FILE.NO_HINT] Encountered error while "
        "reading file file:///data/my%20dir/x.gz.  SQLSTATE: KD001\n"
        "\tat org.apache.spark.sql.errors.QueryExecutionErrors$.cannotReadFilesError(Q.scala:1)\n"
        "Caused by: java.io.FileNotFoundException: File file:/data/my dir/x.gz does not exist\n"
    )
    explained = explain_read_failure(RuntimeError(trace))
    assert explained is not None
    assert one_line(explained) == (
        "cannot read input file /data/my dir/x.gz "
        "(FileNotFoundException: File file:/data/my dir/x.gz does not exist)"
    )


class FakeThrowable:
    """A stand-in for a Py4J ``Throwable``: class name, message, cause."""

    def __init__(self, name: str, message: str, cause: FakeThrowable | None = None) -> None:
        self.name, self.message, self.cause = name, message, cause

    def getCause(self) -> FakeThrowable | None:
        return self.cause

    def getClass(self) -> FakeThrowable:
        return self

    def getName(self) -> str:
        return self.name

    def getMessage(self) -> str:
        return self.message


def test_explain_read_failure_walks_java_causes() -> None:
    """A captured error whose text holds no trace: the cause comes from the Java object."""
    err = RuntimeError(
        "[FAILED_READ_FILE.NO_HINT] Encountered error while reading file hdfs://nn/in/x.gz.  "
        "SQLSTATE: KD001"
    )
    eof = FakeThrowable("java.io.EOFException", "Unexpected end of input stream")
    err.java_exception = FakeThrowable("org.apache.spark.SparkException", "failed", eof)  # type: ignore[attr-defined]
    explained = explain_read_failure(err)
    assert explained is not None
    assert one_line(explained) == (
        "input file hdfs://nn/in/x.gz is truncated or corrupt (Unexpected end of input stream)"
    )
    del err.java_exception  # type: ignore[attr-defined]
    assert one_line(explain_read_failure(err) or err) == (
        "cannot read input file hdfs://nn/in/x.gz (FAILED_READ_FILE.NO_HINT)"
    )


# --- UTF-16 ---------------------------------------------------------------------------------

TEXT = "1 2\n2 3\n3 1\n"


@pytest.mark.parametrize(
    ("content", "named"),
    [
        (TEXT.encode("utf-16"), "UTF-16 (byte order mark)"),  # FF FE, little-endian
        (b"\xfe\xff" + TEXT.encode("utf-16-be"), "UTF-16 (byte order mark)"),
        (TEXT.encode("utf-16-le"), "UTF-16LE (no byte order mark"),
        (TEXT.encode("utf-16-be"), "UTF-16BE (no byte order mark"),
        (TEXT.encode("utf-32"), "UTF-32 (byte order mark)"),
    ],
    ids=["bom-le", "bom-be", "le", "be", "utf32"],
)
def test_utf16_is_named(spark: Any, tmp_path: Path, content: bytes, named: str) -> None:
    path = write(tmp_path / "edges.txt", content)
    with pytest.raises(InputError) as err:
        read_edges(spark, path)
    message = one_line(err.value)
    assert message.startswith(f"input file {path} is {named}")
    assert re.search(r"convert it, e\.g\. iconv -f UTF-(16|32)\w* -t UTF-8$", message)


@every_reader
def test_utf16_is_refused_by_every_reader(spark: Any, tmp_path: Path, call: Reader) -> None:
    path = write(tmp_path / "in" / "data.txt", "id,text\n1,a b\n".encode("utf-16-le"))
    with pytest.raises(InputError, match=r"is UTF-16LE .*iconv -f UTF-16LE -t UTF-8"):
        call(spark, path.parent)


def test_utf16_inside_gzip(spark: Any, tmp_path: Path) -> None:
    path = write(tmp_path / "t.txt.gz", gzip.compress(TEXT.encode("utf-16")))
    with pytest.raises(InputError, match=re.escape(f"input file {path} is UTF-16")):
        read_labeled(spark, path)


def test_nul_bytes_beyond_the_sniff_are_quarantined(spark: Any, tmp_path: Path) -> None:
    """Past the first 4 KiB (or in a remote file) a UTF-16 line is caught line by line."""
    head = "".join(f"{i} {i + 1}\n" for i in range(1, 801))  # 800 lines, > 4 KiB
    path = write(tmp_path / "e.txt", head.encode() + "5 6\n".encode("utf-16-le") + b"\n9000 9001\n")
    r = read_edges(spark, path)
    bad = [(q["line_number"], q["reason"]) for q in r.quarantine.collect()]
    assert bad[0] == (801, "NUL byte in the line (UTF-16 or binary input? convert it to UTF-8)")
    c = r.counts(entities=False)
    assert (c["rows_kept"], c["rows_quarantined"]) == (801, len(bad))


# --- a stray quote in a multi-line CSV --------------------------------------------------------


def sms_records(sms: Path, n: int) -> list[list[str]]:
    """``n`` SMS messages as (id, text, label) records; every 7th text spans two lines."""
    out = []
    for i, line in enumerate(sms.read_text(encoding="utf-8").split("\n")[:n], start=1):
        label, text = line.split("\t", 1)
        out.append([str(i), text.replace(" ", "\n", 1) if i % 7 == 0 else text, label])
    return out


def csv_text(records: list[list[str]]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([["id", "text", "label"], *records])
    return buf.getvalue()


@pytest.mark.connect
def test_stray_quote_is_contained(spark: Any, tmp_path: Path, bundled_data: Path) -> None:
    records = sms_records(bundled_data / "text" / "SMSSpamCollection", 300)
    good = csv_text(records).split("\n")
    at = next(i for i, line in enumerate(good) if line.startswith("150,"))
    stray = '150b,"this quote is never closed,ham'
    lines = [*good[:at], stray, *good[at:]]
    path = write(tmp_path / "sms.csv", "\n".join(lines))
    r = read_documents(spark, path, layout="csv", id_column="id", label_column="label")
    got = {d["doc_id"]: (d["text"], d["label"]) for d in r.data.collect()}
    assert got == {rec[0]: (rec[1], rec[2]) for rec in records}  # every real record, intact
    (q,) = r.quarantine.collect()
    assert (q["raw"], q["locator"], q["line_number"]) == (stray, "record", 150)
    assert q["reason"].startswith(f"unbalanced quote on line {at + 1}: ")
    assert q["reason"].endswith("; only this line is set aside")
    c = r.counts()
    assert (c["lines_read"], c["skipped"], c["rows_read"]) == (302, 1, 301)
    assert (c["rows_kept"], c["rows_quarantined"], c["duplicates_removed"]) == (300, 1, 0)


def test_stray_quote_with_no_quote_after_it(spark: Any, tmp_path: Path) -> None:
    """Nothing ever closes the quote: bounded by max_record_lines, then the end of the file."""
    text = "id,text\n1,one\n2,\"open\n" + "".join(f"{i},line {i}\n" for i in range(3, 13))
    path = write(tmp_path / "t.csv", text)
    r = read_documents(spark, path, layout="csv", id_column="id", max_record_lines=4)
    assert sorted(int(d["doc_id"]) for d in r.data.collect()) == [1, *range(3, 13)]
    (q,) = r.quarantine.collect()
    assert q["reason"] == (
        "unbalanced quote on line 3: its quoted field is still open after 4 lines; "
        "only this line is set aside"
    )
    assert r.counts()["rows_read"] == 12


def test_csv_record_reasons(spark: Any, tmp_path: Path) -> None:
    text = (
        'id,text\n1,"a ""quoted"" word"\n2,"closed" then more\n3,x,extra\n\n'
        '4,"two\nlines"\n5,"last is open\n'
    )
    r = read_documents(spark, write(tmp_path / "t.csv", text), layout="csv", id_column="id")
    assert sorted(tuple(d)[:2] for d in r.data.collect()) == [
        ("1", 'a "quoted" word'), ("4", "two\nlines")
    ]
    assert sorted((q["line_number"], q["reason"]) for q in r.quarantine.collect()) == [
        (2, "malformed CSV record: ',' expected after '\"'"),
        (3, "malformed CSV record: expected 2 fields, got 3"),
        (5, "unbalanced quote on line 8: its quoted field is still open at the end of the "
            "file; only this line is set aside"),
    ]  # fmt: skip
    c = r.counts()
    assert (c["lines_read"], c["skipped"], c["rows_kept"], c["rows_quarantined"]) == (7, 2, 2, 3)


# --- documents: ids are relative paths ------------------------------------------------------


@pytest.mark.connect
def test_same_file_name_in_two_directories(spark: Any, tmp_path: Path) -> None:
    write(tmp_path / "docs" / "a" / "x.txt", "first")
    write(tmp_path / "docs" / "b" / "x.txt", "second")
    write(tmp_path / "docs" / "b" / "deeper" / "x.txt", "third")
    write(tmp_path / "docs" / "top b+c%20.txt", "odd name")
    r = read_documents(spark, tmp_path / "docs", recursive=True)
    assert sorted((d["doc_id"], d["text"]) for d in r.data.collect()) == [
        ("a/x.txt", "first"), ("b/deeper/x.txt", "third"), ("b/x.txt", "second"),
        ("top b+c%20.txt", "odd name"),
    ]  # fmt: skip
    c = r.counts()
    assert (c["rows_read"], c["rows_kept"], c["duplicates_removed"]) == (4, 4, 0)


def test_relative_ids_of_globs_and_lists(spark: Any, tmp_path: Path) -> None:
    a = write(tmp_path / "docs" / "a" / "x.txt", "first")
    write(tmp_path / "docs" / "b" / "x.txt", "second")
    by_glob = read_documents(spark, str(tmp_path / "docs" / "*" / "x.txt"))
    assert sorted(d["doc_id"] for d in by_glob.data.collect()) == ["a/x.txt", "b/x.txt"]
    listed = read_documents(spark, [a, tmp_path / "docs" / "b"])
    assert sorted(d["doc_id"] for d in listed.data.collect()) == ["a/x.txt", "b/x.txt"]
    alone = read_documents(spark, a)
    assert [d["doc_id"] for d in alone.data.collect()] == ["x.txt"]


def test_csv_invalid_utf8_and_empty_text(spark: Any, tmp_path: Path) -> None:
    """Invalid bytes quarantine their record (not silently U+FFFD); an empty text is data."""
    path = write(tmp_path / "t.csv", b'id,text\n1,"caf\xe9\nau lait"\n2,\n3,ok\n')
    r = read_documents(spark, path, layout="csv", id_column="id")
    assert sorted(tuple(d)[:2] for d in r.data.collect()) == [("2", ""), ("3", "ok")]
    assert [(q["line_number"], q["reason"]) for q in r.quarantine.collect()] == [
        (1, "invalid UTF-8")
    ]
    c = r.counts()
    assert (c["rows_read"], c["rows_kept"], c["empty_documents"]) == (3, 2, 1)

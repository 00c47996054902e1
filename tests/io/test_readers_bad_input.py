"""Bad input for the readers: each case gives a clear error or a quarantine row, and counts add up.

Inputs are tiny handmade files written to ``tmp_path``; expected line numbers and reasons are
written out by hand, never computed with the code under test.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mining.errors import InputError
from mining.io.readers import (
    ReadResult,
    read_baskets,
    read_documents,
    read_edges,
    read_labeled,
)
from mining.schemas import (
    BASKETS,
    DOCUMENTS,
    EDGES,
    LABEL_MAP,
    LABELED_POINTS,
    NODE_MAP,
    QUARANTINE,
    UNIT_WEIGHT,
)


def write(path: Path, content: str | bytes) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return str(path)


def rejected(result: ReadResult) -> list[tuple[int | None, str]]:
    return sorted(
        ((r["line_number"], r["reason"]) for r in result.quarantine.collect()),
        key=lambda t: (t[0] or 0, t[1]),
    )


def adds_up(result: ReadResult, *, entities: bool = False, **expected: int) -> dict[str, int]:
    """Counts of ``result``: the invariant holds and the given keys have the given values."""
    c = result.counts(entities=entities)
    assert c["rows_read"] == c["lines_read"] - c["skipped"]
    assert c["rows_read"] == c["rows_kept"] + c["rows_quarantined"] + c["duplicates_removed"]
    assert {k: c[k] for k in expected} == expected
    return c


def edges_of(result: ReadResult) -> list[tuple[int, int, float]]:
    return sorted((r["src"], r["dst"], r["weight"]) for r in result.data.collect())


# --- errors raised at call time ----------------------------------------------------------------

READERS: list[Callable[..., ReadResult]] = [read_edges, read_baskets, read_documents, read_labeled]


@pytest.mark.connect
@pytest.mark.parametrize("reader", READERS, ids=lambda r: r.__name__)
def test_missing_path_names_the_path(
    spark: Any, tmp_path: Path, reader: Callable[..., Any]
) -> None:
    missing = tmp_path / "nope.txt"
    with pytest.raises(InputError, match=re.escape(f"input path does not exist: {missing}")):
        reader(spark, missing)


def test_missing_path_in_a_list(spark: Any, tmp_path: Path) -> None:
    good = write(tmp_path / "a.txt", "1 2\n")
    with pytest.raises(InputError, match=r"does not exist: .*b\.txt"):
        read_edges(spark, [good, str(tmp_path / "b.txt")])


def test_missing_glob(spark: Any, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"does not exist: .*\*.dat"):
        read_baskets(spark, str(tmp_path / "*.dat"))


def test_unreadable_uri_is_an_input_error(spark: Any) -> None:
    message = 'cannot read input nosuchfs://host/edges.txt: org.apache.hadoop.fs.' \
        'UnsupportedFileSystemException: No FileSystem for scheme "nosuchfs"'
    with pytest.raises(InputError, match=re.escape(message)):
        read_edges(spark, "nosuchfs://host/edges.txt")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s, p: read_edges(s, p, format="parquet"), "unknown edge format"),
        (lambda s, p: read_edges(s, p, duplicate_weight="max"), "duplicate_weight"),
        (lambda s, p: read_baskets(s, p, layout="wide"), "unknown basket layout"),
        (lambda s, p: read_documents(s, p, layout="xml"), "unknown document layout"),
        (lambda s, p: read_labeled(s, p, format="arff"), "unknown labeled format"),
        (lambda s, p: read_labeled(s, p, labels=["a"]), "LIBSVM labels are numbers"),
        (lambda s, p: read_labeled(s, p, format="csv", string_labels=True, labels=[1.0]),
         "`labels` must be the class names"),
        (lambda s, p: read_edges(s, p, encoding="utf-16"), "unsupported encoding 'utf-16'"),
        (lambda s, p: read_documents(s, p, layout="lines", id_column="x"), "field positions"),
    ],
)
def test_invalid_options(
    spark: Any, tmp_path: Path, call: Callable[..., Any], message: str
) -> None:
    path = write(tmp_path / "x.txt", "1 2\n")
    with pytest.raises(InputError, match=message):
        call(spark, path)


def test_csv_column_not_in_header(spark: Any, tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", "tweet_id,body\n1,hi\n")
    message = "column 'text' is not in the CSV header ['tweet_id', 'body']"
    with pytest.raises(InputError, match=re.escape(message)):
        read_documents(spark, path, layout="csv", id_column="tweet_id")


# --- empty, blank, comments, header, line endings -----------------------------------------------


def test_empty_file(spark: Any, tmp_path: Path) -> None:
    r = read_edges(spark, write(tmp_path / "empty.txt", ""))
    assert r.data.collect() == [] and rejected(r) == []
    adds_up(r, entities=True, lines_read=0, rows_read=0, rows_kept=0, nodes=0, edges=0)


def test_header_only(spark: Any, tmp_path: Path) -> None:
    r = read_edges(spark, write(tmp_path / "h.csv", "src,dst\n"), format="csv", header=True)
    assert edges_of(r) == []
    adds_up(r, lines_read=1, skipped=1, rows_read=0, rows_kept=0)


def test_blank_lines_and_comments_are_skipped(spark: Any, tmp_path: Path) -> None:
    text = "# SNAP header\n\n1 2\n   \n\t\n  # indented comment\n2 3\n"
    r = read_edges(spark, write(tmp_path / "c.txt", text))
    assert edges_of(r) == [(1, 2, 1.0), (2, 3, 1.0)]
    adds_up(r, lines_read=7, skipped=5, rows_read=2, rows_kept=2, rows_quarantined=0)


def test_crlf_line_endings(spark: Any, tmp_path: Path) -> None:
    r = read_edges(spark, write(tmp_path / "crlf.txt", b"1\t2\r\n\r\n2\t3\r\n"))
    assert edges_of(r) == [(1, 2, 1.0), (2, 3, 1.0)]
    adds_up(r, lines_read=3, skipped=1, rows_kept=2)
    docs = read_documents(spark, write(tmp_path / "sms", b"ham\tsee you\r\n"), layout="lines",
                          label_column=0)  # fmt: skip
    assert [tuple(d) for d in docs.data.collect()] == [("1", "see you", "ham")]


def test_utf8_byte_order_mark_is_not_data(spark: Any, tmp_path: Path) -> None:
    r = read_edges(spark, write(tmp_path / "bom.txt", b"\xef\xbb\xbf1 2\n"))
    assert edges_of(r) == [(1, 2, 1.0)]
    adds_up(r, rows_quarantined=0)


def test_header_line_of_a_snap_file(spark: Any, tmp_path: Path) -> None:
    r = read_edges(spark, write(tmp_path / "hollins.dat", "start end\n1 2\n2 3\n"), header=True)
    assert edges_of(r) == [(1, 2, 1.0), (2, 3, 1.0)]
    adds_up(r, lines_read=3, skipped=1, rows_kept=2)


# --- edges: columns and ids ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def bad_ids(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> ReadResult:
    text = (
        "1 x\n"  # 1 non-numeric
        "-4 5\n"  # 2 negative
        "99999999999999999999 1\n"  # 3 beyond 64 bits
        "+7 8\n"  # 4 fine: 7 -> 8
        "007 1\n"  # 5 fine: 7 -> 1
        "3\n"  # 6 too few columns
        "9223372036854775807 0\n"  # 7 fine: the largest long
        "1 -99999999999999999999\n"  # 8 negative
    )
    return read_edges(spark, write(tmp_path_factory.mktemp("ids") / "ids.txt", text))


@pytest.fixture(scope="module")
def bad_ids_rejected(bad_ids: ReadResult) -> list[tuple[int | None, str]]:
    return rejected(bad_ids)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (1, "non-numeric node id"),
        (2, "negative node id"),
        (3, "node id beyond 64 bits"),
        (6, "too few columns: expected at least 2, got 1"),
        (8, "negative node id"),
    ],
)
def test_bad_node_ids_are_quarantined(bad_ids_rejected: list[Any], line: int, reason: str) -> None:
    assert (line, reason) in bad_ids_rejected


def test_bad_node_ids_keep_the_good_lines(
    bad_ids: ReadResult, bad_ids_rejected: list[Any]
) -> None:
    assert edges_of(bad_ids) == [(7, 1, 1.0), (7, 8, 1.0), (9223372036854775807, 0, 1.0)]
    assert len(bad_ids_rejected) == 5
    adds_up(bad_ids, lines_read=8, rows_kept=3, rows_quarantined=5)
    # EDGES up to field metadata: the reader marks the weights it set to 1 itself
    assert [(f.name, f.dataType, f.nullable) for f in bad_ids.data.schema] == \
        [(f.name, f.dataType, f.nullable) for f in EDGES]
    assert bad_ids.data.schema["weight"].metadata == {UNIT_WEIGHT: True}
    assert bad_ids.quarantine.schema == QUARANTINE


def test_wrong_delimiter(spark: Any, tmp_path: Path) -> None:
    r = read_edges(spark, write(tmp_path / "tabs.csv", "1\t2\n3\t4\n"), format="csv")
    assert rejected(r) == [(1, "too few columns: expected at least 2, got 1"),
                           (2, "too few columns: expected at least 2, got 1")]  # fmt: skip
    adds_up(r, rows_read=2, rows_kept=0, rows_quarantined=2)


def test_extra_columns_ignored_and_signed_weights_kept(spark: Any, tmp_path: Path) -> None:
    text = "6,2,4,1289241911.72836\n6,5,-10,1289241941.53378\n7,1,x,0\n8,1\n9,1,nan,0\n"
    r = read_edges(spark, write(tmp_path / "otc.csv", text), format="csv", weight_column=2)
    assert edges_of(r) == [(6, 2, 4.0), (6, 5, -10.0)]
    assert rejected(r) == [(3, "non-numeric weight"),
                           (4, "too few columns: expected at least 3, got 2"),
                           (5, "weight is NaN or infinite")]  # fmt: skip
    adds_up(r, rows_read=5, rows_kept=2, rows_quarantined=3)


@pytest.mark.connect
def test_self_loops_kept_and_duplicates_removed(spark: Any, tmp_path: Path) -> None:
    text = "1 2 5\n1 1 1\n1 2 7\n2 1 3\n1 2 9\n2 2 4\n"
    path = write(tmp_path / "w.txt", text)
    first = read_edges(spark, path, weight_column=2)
    assert edges_of(first) == [(1, 1, 1.0), (1, 2, 5.0), (2, 1, 3.0), (2, 2, 4.0)]
    adds_up(first, entities=True, rows_read=6, rows_kept=4, duplicates_removed=2,
            self_loops=2, edges=4, nodes=2)  # fmt: skip
    summed = read_edges(spark, path, weight_column=2, duplicate_weight="sum")
    assert (1, 2, 21.0) in edges_of(summed)
    kept_all = read_edges(spark, path, weight_column=2, dedup=False)
    adds_up(kept_all, rows_kept=6, duplicates_removed=0)


def test_undirected_edges(spark: Any, tmp_path: Path) -> None:
    r = read_edges(spark, write(tmp_path / "u.txt", "1 2\n2 1\n2 3\n3 3\n"), directed=False)
    assert [e[:2] for e in edges_of(r)] == [(1, 2), (2, 1), (2, 3), (3, 2), (3, 3)]
    # 3 unordered pairs kept; the reversed line 2 is a duplicate; data holds 2*3 - 1 rows
    adds_up(r, rows_read=4, rows_kept=3, duplicates_removed=1, self_loops=1, edges=5)


def test_string_ids_and_node_map(spark: Any, tmp_path: Path) -> None:
    text = "Zebra\tApple\nCaf%C3%A9\tZebra\nApple\tCaf%C3%A9\nApple\t\n"
    r = read_edges(spark, write(tmp_path / "links.tsv", text), node_ids="string", delimiter="\t")
    names = sorted((m["node"], m["name"]) for m in r.extras["node_map"].collect())
    assert names == [(0, "Apple"), (1, "Caf%C3%A9"), (2, "Zebra")]  # sorted by name
    assert [e[:2] for e in edges_of(r)] == [(0, 1), (1, 2), (2, 0)]
    assert rejected(r) == [(4, "empty node id")]
    assert r.extras["node_map"].schema == NODE_MAP
    adds_up(r, entities=True, rows_kept=3, rows_quarantined=1, nodes=3)


def test_invalid_utf8_is_quarantined(spark: Any, tmp_path: Path) -> None:
    path = write(tmp_path / "names.txt", b"caf\xc3\xa9 b\n\xff\xfe x\nc d\n")
    r = read_edges(spark, path, node_ids="string")
    bad = r.quarantine.collect()
    assert [(q["line_number"], q["reason"]) for q in bad] == [(2, "invalid UTF-8")]
    assert bad[0]["raw"] == "\ufffd\ufffd x"  # shown with replacement characters
    assert {m["name"] for m in r.extras["node_map"].collect()} == {"café", "b", "c", "d"}
    adds_up(r, rows_kept=2, rows_quarantined=1)


def test_latin1_is_decoded(spark: Any, tmp_path: Path) -> None:
    path = write(tmp_path / "latin", b"ham\tcaf\xe9 au lait\n")
    r = read_documents(spark, path, layout="lines", label_column=0, encoding="latin-1")
    assert [tuple(d) for d in r.data.collect()] == [("1", "café au lait", "ham")]


def test_very_long_line_is_quarantined_with_raw_truncated(spark: Any, tmp_path: Path) -> None:
    long_line = "1 " * 15_000  # 30,000 characters
    r = read_edges(spark, write(tmp_path / "long.txt", f"1 2\n{long_line}\n3 4\n"),
                   max_line_length=20_000)  # fmt: skip
    bad = r.quarantine.collect()
    assert [(q["line_number"], q["reason"]) for q in bad] == [
        (2, "line longer than 20000 characters")
    ]
    assert len(bad[0]["raw"]) == 10_000
    adds_up(r, rows_kept=2, rows_quarantined=1)


def test_gzip_input_keeps_exact_line_numbers(spark: Any, tmp_path: Path) -> None:
    lines = [f"{i} {i + 1}" for i in range(1, 3001)]
    lines[1499] = "oops 1"  # line 1500
    lines[2999] = "1"  # line 3000
    path = tmp_path / "g.txt.gz"
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    r = read_edges(spark, str(path), partitions=3)  # numbered before the round-robin shuffle
    assert rejected(r) == [(1500, "non-numeric node id"),
                           (3000, "too few columns: expected at least 2, got 1")]  # fmt: skip
    adds_up(r, entities=True, lines_read=3000, rows_kept=2998, nodes=3000)


@pytest.fixture
def small_splits(spark: Any) -> Iterator[None]:
    """Files split every 2 KiB, so one file is read by many tasks."""
    key = "spark.sql.files.maxPartitionBytes"
    old = spark.conf.get(key)
    spark.conf.set(key, "2048")
    try:
        yield
    finally:
        spark.conf.set(key, old)


def test_split_file_keeps_exact_line_numbers(
    spark: Any, tmp_path: Path, small_splits: None
) -> None:
    lines = [f"{i} {i}" for i in range(1, 2001)]  # item = basket number = line number
    for bad in (1, 777, 1500, 2000):
        lines[bad - 1] = b"\xff".decode("latin-1") + f" {bad}"
    path = write(tmp_path / "many.txt", "\n".join(lines).encode("latin-1"))
    blocks = spark.read.text(path).select("_metadata.file_block_start").distinct().count()
    assert blocks > 4  # really split
    r = read_edges(spark, path)
    assert rejected(r) == [(n, "invalid UTF-8") for n in (1, 777, 1500, 2000)]
    adds_up(r, lines_read=2000, rows_kept=1996, rows_quarantined=4)
    b = read_baskets(spark, path)
    pairs = b.data.selectExpr("basket", "items[size(items) - 1] AS item").collect()
    assert len(pairs) == 1996 and all(str(p["basket"]) == p["item"] for p in pairs)


def test_one_split_numbers_lines_as_the_split_table_does(spark: Any, tmp_path: Path) -> None:
    # one small file is one split: numbered from the scan's row ids, the delimiter decided by
    # looking at the file; the same file split every 2 KiB goes through the split table
    lines = [f"{i} {i}" for i in range(1, 601)]
    lines[99], lines[599] = "\xff bad", "x,y"  # invalid UTF-8; a comma in the last line only
    plain = write(tmp_path / "one.dat", ("\n".join(lines) + "\n").encode("latin-1"))
    packed = tmp_path / "one.dat.gz"
    packed.write_bytes(gzip.compress(Path(plain).read_bytes()))

    def answer() -> tuple[list[Any], list[Any], dict[str, int]]:
        r = read_baskets(spark, plain)
        return (sorted(r.data.collect()), rejected(r), r.counts())

    single = answer()
    assert single[1] == [(100, "invalid UTF-8")]
    # the comma in line 600 makes every line of the file comma-separated, as with a split table
    assert single[0][0]["items"] == ["1 1"] and single[0][-1]["items"] == ["x", "y"]
    key = "spark.sql.files.maxPartitionBytes"
    old = spark.conf.get(key)
    spark.conf.set(key, "2048")
    try:
        assert spark.read.text(plain).select("_metadata.file_block_start").distinct().count() > 1
        assert answer() == single
    finally:
        spark.conf.set(key, old)
    r = read_baskets(spark, str(packed))
    assert (sorted(r.data.collect()), rejected(r)) == single[:2]
    edges = read_edges(spark, write(tmp_path / "h.csv", "src,dst\n1,2\nx,3\n4,5\n"),
                       format="csv", header=True)
    assert rejected(edges) == [(3, "non-numeric node id")]


def test_multiple_files_number_lines_per_file_and_baskets_across(
    spark: Any, tmp_path: Path
) -> None:
    write(tmp_path / "in" / "a.dat", "1 2\nx\n")
    write(tmp_path / "in" / "b.dat", "3\nx\n4 5\n")
    r = read_edges(spark, str(tmp_path / "in"))
    bad = sorted((Path(q["source_file"]).name, q["line_number"]) for q in r.quarantine.collect())
    assert bad == [("a.dat", 2), ("b.dat", 1), ("b.dat", 2)]
    b = read_baskets(spark, str(tmp_path / "in"))
    assert sorted((x["basket"], x["items"]) for x in b.data.collect()) == [
        (1, ["1", "2"]), (2, ["x"]), (3, ["3"]), (4, ["x"]), (5, ["4", "5"]),
    ]  # fmt: skip


# --- baskets -------------------------------------------------------------------------------------


@pytest.mark.connect
def test_empty_baskets_and_duplicate_items(spark: Any, tmp_path: Path) -> None:
    text = "1 2 3 \n\n3 1 3 \n   \nb a b a c\n"
    r = read_baskets(spark, write(tmp_path / "t.dat", text))
    got = sorted((x["basket"], x["items"]) for x in r.data.collect())
    assert got == [(1, ["1", "2", "3"]), (2, []), (3, ["1", "3"]), (4, []), (5, ["a", "b", "c"])]
    assert r.data.schema == BASKETS
    adds_up(r, entities=True, rows_read=5, rows_kept=5, baskets=5, empty_baskets=2,
            duplicate_items=3, occurrences=8, items=6)  # fmt: skip


def test_comma_baskets_keep_names_with_spaces(spark: Any, tmp_path: Path) -> None:
    text = "whole milk,yogurt\nwhole milk\ncitrus fruit,,whole milk,\n"
    r = read_baskets(spark, write(tmp_path / "groceries.csv", text))
    assert sorted((x["basket"], x["items"]) for x in r.data.collect()) == [
        (1, ["whole milk", "yogurt"]), (2, ["whole milk"]), (3, ["citrus fruit", "whole milk"]),
    ]  # fmt: skip


def test_header_line_of_a_basket_file(spark: Any, tmp_path: Path) -> None:
    r = read_baskets(spark, write(tmp_path / "h.csv", "items\na,b\nc\n"), header=True)
    assert sorted((x["basket"], x["items"]) for x in r.data.collect()) == [
        (1, ["a", "b"]), (2, ["c"])
    ]
    adds_up(r, lines_read=3, skipped=1, baskets=2)


def test_long_form_baskets(spark: Any, tmp_path: Path) -> None:
    text = (
        "TransactionNo,Items,DateTime\r\n"
        "1,Bread,x\r\n1,Bread,y\r\n1,Jam,z\r\n2,Coffee,w\r\n"
        "abc,Tea,v\r\n3,,u\r\n4\r\n"
    )
    r = read_baskets(spark, write(tmp_path / "Bakery.csv", text), layout="long")
    assert sorted((x["basket"], x["items"]) for x in r.data.collect()) == [
        (1, ["Bread", "Jam"]), (2, ["Coffee"])
    ]
    assert rejected(r) == [(6, "basket id is not a 64-bit integer"), (7, "empty item"),
                           (8, "too few columns: expected at least 2, got 1")]  # fmt: skip
    adds_up(r, entities=True, lines_read=8, skipped=1, rows_read=7, rows_kept=3,
            duplicates_removed=1, rows_quarantined=3, baskets=2, items=3)  # fmt: skip


# --- labeled points ------------------------------------------------------------------------------

LIBSVM = """\
# a comment line
1 qid:3 1:0.5 4:-2 # trailing comment
-1 1:nan
1 1:inf
-1 1:1e13
1 1:0.5 2:-1e12
-1 1:abc
1 0:1 2:1
-1 3:1 2:1
1 2:1 2:3
1 5:1
2 1:1
1 2
1 qid:x 1:1
abc 1:1
1 1:2:3
-1
"""


@pytest.fixture(scope="module")
def libsvm(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> ReadResult:
    path = write(tmp_path_factory.mktemp("svm") / "bad.svm", LIBSVM)
    return read_labeled(spark, path, n_features=4, labels=[1, -1])


@pytest.fixture(scope="module")
def libsvm_rejected(libsvm: ReadResult) -> list[tuple[int | None, str]]:
    return rejected(libsvm)


@pytest.mark.connect
@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (3, "NaN or infinite feature value"),
        (4, "NaN or infinite feature value"),
        (5, "feature value beyond 1e+12 in absolute value"),
        (7, "non-numeric feature value"),
        (8, "feature index 0 (LIBSVM indices start at 1)"),
        (9, "feature indices not in increasing order"),
        (10, "repeated feature index"),
        (11, "feature index above n_features (4)"),
        (12, "label not in the expected set"),
        (13, "malformed feature (not index:value)"),
        (14, "malformed qid"),
        (15, "non-numeric label"),
        (16, "non-numeric feature value"),
    ],
)
def test_libsvm_rejects(libsvm_rejected: list[Any], line: int, reason: str) -> None:
    assert (line, reason) in libsvm_rejected


def test_libsvm_keeps_the_good_lines(libsvm: ReadResult, libsvm_rejected: list[Any]) -> None:
    assert len(libsvm_rejected) == 13
    rows = sorted(tuple(r) for r in libsvm.data.collect())
    assert rows == [
        (2, 1.0, [0, 3], [0.5, -2.0], 3),
        (6, 1.0, [0, 1], [0.5, -1e12], None),  # 1e12 is the limit, not beyond it
        (17, -1.0, [], [], None),  # no features: the zero vector
    ]
    assert libsvm.data.schema == LABELED_POINTS
    adds_up(libsvm, lines_read=17, skipped=1, rows_kept=3, rows_quarantined=13, features=4)


def test_dense_csv_column_count_and_labels(spark: Any, tmp_path: Path) -> None:
    text = "1,0.5,0.25\n0,0.1,0.2,0.3\n1,0.7\n\n2,1,1\n0,,1\n"
    r = read_labeled(spark, write(tmp_path / "d.csv", text), format="csv", labels=[0, 1])
    assert rejected(r) == [(2, "wrong number of columns: expected 3, got 4"),
                           (3, "wrong number of columns: expected 3, got 2"),
                           (5, "label not in the expected set"),
                           (6, "non-numeric feature value")]  # fmt: skip
    assert [tuple(x) for x in r.data.collect()] == [(1, 1.0, [0, 1], [0.5, 0.25], None)]
    adds_up(r, lines_read=6, skipped=1, rows_kept=1, rows_quarantined=4)


def test_string_labels_map_in_sorted_order(spark: Any, tmp_path: Path) -> None:
    text = "Letter,1,2\nT,2,8\nI,5,12\nD,4,11\nT,7,11\n"
    path = write(tmp_path / "letters.data", text)
    r = read_labeled(spark, path, format="csv", header=True, string_labels=True)
    assert sorted(tuple(m) for m in r.extras["label_map"].collect()) == [
        (0.0, "D"), (1.0, "I"), (2.0, "T")
    ]
    assert sorted((x["row"], x["label"]) for x in r.data.collect()) == [
        (2, 2.0), (3, 1.0), (4, 0.0), (5, 2.0)
    ]
    assert r.extras["label_map"].schema == LABEL_MAP
    given = read_labeled(spark, path, format="csv", header=True, labels=["T", "D"])
    assert sorted((x["row"], x["label"]) for x in given.data.collect()) == [
        (2, 0.0), (4, 1.0), (5, 0.0)
    ]
    assert rejected(given) == [(3, "label not in the expected set")]


def test_last_column_label(spark: Any, tmp_path: Path) -> None:
    r = read_labeled(spark, write(tmp_path / "s.data", "0.1,0.2,1\n0.3,0.4,0\n"), format="csv",
                     label_column=-1)  # fmt: skip
    assert sorted(tuple(x)[:4] for x in r.data.collect()) == [
        (1, 1.0, [0, 1], [0.1, 0.2]), (2, 0.0, [0, 1], [0.3, 0.4])
    ]


# --- documents -----------------------------------------------------------------------------------


def test_documents_one_per_file(spark: Any, tmp_path: Path) -> None:
    write(tmp_path / "docs" / "a.txt", "hello\nworld\n")
    write(tmp_path / "docs" / "b.txt", "")
    write(tmp_path / "docs" / "c.txt", b"bad \xff byte")
    r = read_documents(spark, str(tmp_path / "docs"))
    assert sorted(tuple(d) for d in r.data.collect()) == [("a.txt", "hello\nworld\n", None)]
    bad = r.quarantine.collect()
    assert [(Path(q["source_file"]).name, q["line_number"], q["locator"], q["reason"])
            for q in bad] == [("c.txt", None, "document", "invalid UTF-8")]  # fmt: skip
    # Spark never lists an empty file: the reader counts it as read and skipped
    adds_up(r, lines_read=3, skipped=1, empty_files=1, rows_kept=1, rows_quarantined=1)


def test_documents_one_per_line(spark: Any, tmp_path: Path) -> None:
    text = "ham\tGo until\tjurong\nspam\n\nham\tok\n"
    r = read_documents(spark, write(tmp_path / "SMS", text), layout="lines", label_column=0)
    assert sorted(tuple(d) for d in r.data.collect()) == [
        ("1", "Go until\tjurong", "ham"), ("4", "ok", "ham")  # the text keeps its tabs
    ]
    assert rejected(r) == [(2, "too few fields: expected 2, got 1")]
    adds_up(r, lines_read=4, skipped=1, rows_kept=2, rows_quarantined=1)


def test_documents_with_id_column_are_deduplicated(spark: Any, tmp_path: Path) -> None:
    text = "7\tfirst\n8\tother\n7\tsecond\n\tno id\n"
    r = read_documents(spark, write(tmp_path / "ids.tsv", text), layout="lines", id_column=0)
    assert sorted(tuple(d) for d in r.data.collect()) == [("7", "first", None),
                                                         ("8", "other", None)]  # fmt: skip
    assert rejected(r) == [(4, "empty document id")]
    adds_up(r, rows_read=4, rows_kept=2, duplicates_removed=1, rows_quarantined=1)


@pytest.mark.connect
def test_documents_csv_records_span_lines(spark: Any, tmp_path: Path) -> None:
    text = (
        'id,text,label\n1,"hello\nworld",pos\n2,"say ""hi""",neg\n,no id,neg\n'
        '3,x,neu,extra\n4,"fine",neu\n'
    )
    path = write(tmp_path / "Tweets.csv", text)
    r = read_documents(spark, path, layout="csv", id_column="id", label_column="label")
    assert sorted(tuple(d) for d in r.data.collect()) == [
        ("1", "hello\nworld", "pos"), ("2", 'say "hi"', "neg"), ("4", "fine", "neu")
    ]
    bad = sorted((q["line_number"], q["locator"], q["reason"]) for q in r.quarantine.collect())
    assert bad == [(3, "record", "missing document id"),
                   (4, "record", "malformed CSV record: expected 3 fields, got 4")]  # fmt: skip
    assert r.data.schema == DOCUMENTS
    # the header line is read and skipped
    adds_up(r, lines_read=6, skipped=1, rows_kept=3, rows_quarantined=2)


REUTERS = """<!DOCTYPE lewis SYSTEM "lewis.dtd">
<REUTERS TOPICS="YES" NEWID="1">
<TOPICS><D>cocoa</D><D>grain</D></TOPICS>
<TEXT><TITLE>T</TITLE><BODY>Prices &lt;up&gt; &amp; more
 Reuter
&#3;</BODY></TEXT>
</REUTERS>
<REUTERS TOPICS="NO" NEWID="2">
<TOPICS></TOPICS><TEXT TYPE="BRIEF"><TITLE>only a title</TITLE></TEXT>
</REUTERS>
<REUTERS TOPICS="NO">
<TEXT><BODY>no id</BODY></TEXT>
</REUTERS>
<REUTERS TOPICS="NO" NEWID="4">
<TOPICS></TOPICS><TEXT><BODY>second
&#3;</BODY></TEXT>
</REUTERS>
"""


def test_reuters_sgml(spark: Any, tmp_path: Path) -> None:
    path = write(tmp_path / "reut2-000.sgm", REUTERS.encode("latin-1"))
    r = read_documents(spark, path, layout="reuters")
    assert sorted(tuple(d) for d in r.data.collect()) == [
        ("1", "Prices <up> & more\n Reuter\n", "cocoa,grain"),
        ("4", "second\n", None),
    ]
    bad = [(q["line_number"], q["locator"], q["reason"]) for q in r.quarantine.collect()]
    assert bad == [(3, "document", "REUTERS element without NEWID")]
    # 5 records: 4 elements and the final newline; element 2 has no BODY (skipped, counted)
    adds_up(r, lines_read=5, skipped=2, no_body=1, reuters_elements=4, rows_kept=2,
            rows_quarantined=1)  # fmt: skip


# --- counts --------------------------------------------------------------------------------------


@pytest.mark.connect
def test_counts_before_any_action(spark: Any, tmp_path: Path) -> None:
    """No action ran: counts() computes the numbers itself instead of waiting forever."""
    r = read_edges(spark, write(tmp_path / "e.txt", "# c\n1 2\n1 2\nx 1\n3 3\n"))
    adds_up(r, entities=True, lines_read=5, skipped=1, rows_kept=2, duplicates_removed=1,
            rows_quarantined=1, self_loops=1, nodes=3)  # fmt: skip
    assert edges_of(r) == [(1, 2, 1.0), (3, 3, 1.0)]
    assert r.counts(entities=False)["rows_kept"] == 2  # cached, unchanged


def test_counts_survive_a_partial_first_action(spark: Any, tmp_path: Path) -> None:
    """first() runs the observed plan on part of the rows; counts() notices and recomputes."""
    text = "".join(f"{i} {i % 7}\n" for i in range(1, 301)) + "1 1\nbad\n"
    path = write(tmp_path / "e.txt", text)
    r = read_edges(spark, path)
    assert r.data.first() is not None and len(r.quarantine.take(1)) == 1
    adds_up(r, lines_read=302, rows_kept=300, duplicates_removed=1, rows_quarantined=1)
    b = read_baskets(spark, write(tmp_path / "long.csv", "b,i\n1,x\n1,x\n2,y\n3,z\n"),
                     layout="long")  # fmt: skip
    assert b.data.first() is not None
    adds_up(b, rows_read=4, rows_kept=3, duplicates_removed=1, baskets=3)

"""Every file of ``../shared/data`` loads through the readers with its documented counts.

Expected numbers come from ``../shared/data/README.md`` (its tables and checksum line counts)
or, where the README gives none, from Python's ``gzip``/``csv`` on the raw file, never from the
code under test. Each file is read once; one Spark action per file runs the observed plans, so
``counts()`` then costs nothing more.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from plain_text import physical_lines, read_text

from mining.io.readers import (
    ReadResult,
    read_baskets,
    read_documents,
    read_edges,
    read_labeled,
)

pytestmark = pytest.mark.shared_data

WS = " \t\n\r\f\v"


def csv_rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(read_text(path), newline="")))


def adds_up(c: dict[str, int]) -> None:
    assert c["rows_read"] == c["lines_read"] - c["skipped"]
    assert c["rows_read"] == c["rows_kept"] + c["rows_quarantined"] + c["duplicates_removed"]
    assert c["rows_quarantined"] == 0


@dataclass(frozen=True)
class Case:
    file: str
    options: dict[str, Any] = field(default_factory=dict)
    expected: dict[str, int] = field(default_factory=dict)  # counts() keys -> README numbers


GRAPHS = [
    Case("Wiki-Vote.txt.gz", {},
         {"nodes": 7_115, "edges": 103_689, "lines_read": 103_693, "skipped": 4}),
    Case("p2p-Gnutella08.txt", {},
         {"nodes": 6_301, "edges": 20_777, "lines_read": 20_781, "skipped": 4}),
    Case("p2p-Gnutella31.txt.gz", {},
         {"nodes": 62_586, "edges": 147_892, "lines_read": 147_896, "skipped": 4}),
    Case("email-Eu-core.txt.gz", {},
         {"nodes": 1_005, "edges": 25_571, "self_loops": 642, "lines_read": 25_571}),
    Case("email-Enron.txt.gz", {"directed": False},
         {"nodes": 36_692, "rows_kept": 183_831, "edges": 367_662, "lines_read": 367_666}),
    Case("CA-GrQc.txt", {"directed": False},
         {"nodes": 5_242, "rows_kept": 14_496, "self_loops": 12, "edges": 28_980,
          "lines_read": 28_984}),
    Case("soc-sign-bitcoinotc.csv.gz", {"format": "csv", "weight_column": 2},
         {"nodes": 5_881, "edges": 35_592, "lines_read": 35_592}),
    Case("wikispeedia-links.tsv.gz", {"node_ids": "string"},
         {"nodes": 4_592, "edges": 119_882, "self_loops": 110, "lines_read": 119_894}),
    Case("hollins.dat", {"header": True},
         {"nodes": 6_012, "edges": 23_875, "lines_read": 23_876, "skipped": 1}),
]  # fmt: skip


def python_edges(path: Path, options: dict[str, Any]) -> dict[str, int]:
    """The edge counts of ``path`` by plain Python: lines, comments, (unordered) pairs."""
    lines = physical_lines(read_text(path))
    sep = "," if options.get("format") == "csv" else None
    skip = {n for n, ln in enumerate(lines, 1) if not ln.strip(WS) or ln.lstrip(WS)[:1] == "#"}
    if options.get("header"):
        skip.add(1)
    ends = [(ln.split(sep) if sep else ln.split())[:2]
            for n, ln in enumerate(lines, 1) if n not in skip]  # fmt: skip
    key = str.strip if options.get("node_ids") == "string" else int
    pairs = [(key(a), key(b)) for a, b in ends]
    if options.get("directed") is False:
        pairs = [(min(p), max(p)) for p in pairs]
    kept = set(pairs)
    loops = sum(a == b for a, b in kept)
    return {
        "lines_read": len(lines), "skipped": len(skip), "rows_read": len(ends),
        "rows_kept": len(kept), "duplicates_removed": len(pairs) - len(kept),
        "self_loops": loops,
        "edges": len(kept) if options.get("directed", True) else 2 * len(kept) - loops,
        "nodes": len({x for pair in kept for x in pair}),
    }  # fmt: skip


@pytest.mark.parametrize("case", GRAPHS, ids=lambda c: c.file)
def test_graph(spark: Any, shared_data: Path, case: Case) -> None:
    path = shared_data / "graphs" / case.file
    r = read_edges(spark, path, **case.options)
    c = r.counts()  # the `nodes` job also runs the observed plan
    adds_up(c)
    assert {k: c[k] for k in case.expected} == case.expected
    want = python_edges(path, case.options)
    assert {k: c[k] for k in want} == want
    if "node_map" in r.extras:
        assert c["nodes"] == case.expected["nodes"]


def test_hollins_urls_as_documents(spark: Any, shared_data: Path) -> None:
    path = shared_data / "graphs" / "hollins-urls.dat"
    r = read_documents(spark, path, layout="lines", delimiter=" ", id_column=0, header=True)
    c = r.counts()
    adds_up(c)
    assert (c["lines_read"], c["skipped"], c["documents"]) == (6_013, 1, 6_012)


BASKET_FILES = [
    Case("retail.dat.gz", {}, {"baskets": 88_162, "items": 16_470, "tokens": 908_576}),
    Case("T10I4D100K.dat.gz", {}, {"baskets": 100_000, "items": 870}),
    Case("mushroom.dat", {}, {"baskets": 8_124, "items": 119, "tokens": 8_124 * 23}),
    Case("chess.dat", {}, {"baskets": 3_196, "items": 75, "tokens": 3_196 * 37}),
    Case("BMS-WebView-1.dat", {}, {"baskets": 59_602, "items": 497}),
    Case("BMS-WebView-2.dat.gz", {}, {"baskets": 77_512, "items": 3_340}),
    Case("browsing.txt.gz", {}, {"baskets": 31_101, "items": 12_592, "tokens": 380_824}),
    Case("groceries.csv", {}, {"baskets": 9_835, "items": 169, "tokens": 43_367}),
]


def python_baskets(path: Path) -> tuple[int, int, int]:
    """(lines, distinct items summed over lines, repeated items) by plain Python."""
    sep = "," if path.name.endswith(".csv") else None
    text = read_text(path)
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()  # a final newline ends the last line; it does not start another
    distinct = repeated = 0
    for line in lines:
        tokens = [t.strip() for t in line.split(sep) if t.strip()]
        distinct += len(set(tokens))
        repeated += len(tokens) - len(set(tokens))
    return len(lines), distinct, repeated


@pytest.mark.parametrize("case", BASKET_FILES, ids=lambda c: c.file)
def test_baskets(spark: Any, shared_data: Path, case: Case) -> None:
    path = shared_data / "baskets" / case.file
    r = read_baskets(spark, path)
    c = r.counts()
    adds_up(c)
    lines, distinct, repeated = python_baskets(path)
    assert lines == case.expected["baskets"]
    assert case.expected.get("tokens", distinct + repeated) == distinct + repeated
    assert (c["baskets"], c["items"]) == (case.expected["baskets"], case.expected["items"])
    assert (c["occurrences"], c["duplicate_items"]) == (distinct, repeated)
    assert c["lines_read"] == lines and c["empty_baskets"] == 0


def test_bakery_long_layout(spark: Any, shared_data: Path) -> None:
    path = shared_data / "baskets" / "Bakery.csv"
    rows = csv_rows(path)[1:]
    pairs = {(int(r[0]), r[1]) for r in rows}
    r = read_baskets(spark, path, layout="long")
    c = r.counts()
    adds_up(c)
    assert (c["rows_read"], c["baskets"], c["items"]) == (20_507, 9_465, 94)
    assert (len(rows), c["rows_kept"]) == (20_507, len(pairs))
    assert c["duplicates_removed"] == len(rows) - len(pairs)


def label_counts(r: ReadResult) -> dict[Any, int]:
    """Rows per label: one action, which also runs the observed plan."""
    return {row["label"]: row["count"] for row in r.data.groupBy("label").count().collect()}


def test_sms_spam_collection(spark: Any, shared_data: Path) -> None:
    r = read_documents(spark, shared_data / "text" / "SMSSpamCollection", layout="lines",
                       label_column=0)  # fmt: skip
    assert label_counts(r) == {"ham": 4_827, "spam": 747}
    c = r.counts()
    adds_up(c)
    assert (c["lines_read"], c["documents"]) == (5_574, 5_574)
    lines = physical_lines(read_text(shared_data / "text" / "SMSSpamCollection"))
    assert label_counts(r) == Counter(ln.split("\t", 1)[0] for ln in lines)
    assert (c["lines_read"], c["skipped"], c["duplicates_removed"]) == (len(lines), 0, 0)


def test_tweets_csv(spark: Any, shared_data: Path) -> None:
    path = shared_data / "text" / "Tweets.csv.gz"
    header, *records = csv_rows(path)
    tweets = [dict(zip(header, r, strict=True)) for r in records]
    first: dict[str, str] = {}
    for t in tweets:  # the reader keeps the first record of a repeated tweet_id
        first.setdefault(t["tweet_id"], t["airline_sentiment"])
    all_labels = Counter(t["airline_sentiment"] for t in tweets)
    assert all_labels == {"negative": 9_178, "neutral": 3_099, "positive": 2_363}
    r = read_documents(spark, path, layout="csv", id_column="tweet_id",
                       label_column="airline_sentiment")  # fmt: skip
    assert label_counts(r) == Counter(first.values())
    c = r.counts()
    adds_up(c)
    assert (c["rows_read"], c["documents"]) == (14_640, len(first))
    assert (c["lines_read"], c["skipped"]) == (1 + len(records), 1)  # the header is skipped
    assert c["duplicates_removed"] == len(records) - len(first)


def test_reuters(spark: Any, shared_data: Path) -> None:
    r = read_documents(spark, shared_data / "text" / "reuters21578", layout="reuters")
    # collect, not first(): a partial action would see only part of the observed plan
    (first,) = r.data.where("doc_id = '1'").collect()
    assert first["label"] == "cocoa"
    assert first["text"].startswith("Showers continued throughout the week in\nthe Bahia")
    c = r.counts()
    adds_up(c)
    assert (c["reuters_elements"], c["documents"]) == (21_578, 19_043)
    assert c["no_body"] == 21_578 - 19_043
    assert {k: c[k] for k in python_reuters(shared_data / "text" / "reuters21578")} == \
        python_reuters(shared_data / "text" / "reuters21578")


def python_reuters(directory: Path) -> dict[str, int]:
    """Counts of the Reuters files by regex: elements, NEWIDs, BODYs, records."""
    elements = records = 0
    no_body = 0
    ids: list[str] = []
    for path in sorted(directory.glob("*.sgm*")):
        text = read_text(path, "latin-1")
        records += len(text.split("</REUTERS>")) - text.endswith("</REUTERS>")
        for element in re.findall(r"<REUTERS\b[^>]*>.*?</REUTERS>", text, flags=re.S):
            elements += 1
            new_id = re.search(r'NEWID="(\d+)"', element)
            assert new_id is not None
            if "<BODY>" in element:
                ids.append(new_id.group(1))
            else:
                no_body += 1
    return {
        "reuters_elements": elements, "no_body": no_body, "lines_read": records,
        "skipped": records - elements + no_body, "rows_read": len(ids),
        "rows_kept": len(set(ids)), "duplicates_removed": len(ids) - len(set(ids)),
    }  # fmt: skip


LABELED = [
    Case("a9a.gz", {}, {"rows": 32_561, 1: 7_841, -1: 24_720, "features": 123}),
    Case("a9a.t.gz", {"n_features": 123}, {"rows": 16_281, 1: 3_846, -1: 12_435,
                                           "features": 122}),
    Case("w8a.gz", {}, {"rows": 49_749, 1: 1_479, -1: 48_270, "features": 300, "skipped": 1}),
    Case("spambase.data", {"format": "csv", "label_column": -1},
         {"rows": 4_601, 1: 1_813, 0: 2_788, "features": 57}),
    Case("mnist_test.csv.gz", {"format": "csv"},
         {"rows": 10_000, "features": 784,
          **dict(enumerate([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]))}),
]  # fmt: skip


@pytest.mark.parametrize("case", LABELED, ids=lambda c: c.file)
def test_labeled(spark: Any, shared_data: Path, case: Case) -> None:
    r = read_labeled(spark, shared_data / "classification" / case.file, **case.options)
    per_label = label_counts(r)
    c = r.counts()
    adds_up(c)
    expected = {k: v for k, v in case.expected.items() if not isinstance(k, str)}
    assert per_label == {float(k): v for k, v in expected.items()}
    assert (c["rows_kept"], c["features"]) == (case.expected["rows"], case.expected["features"])
    assert c["skipped"] == case.expected.get("skipped", 0)
    labels, skipped, features = python_labeled(shared_data / "classification" / case.file,
                                               case.options)  # fmt: skip
    assert per_label == labels
    assert (c["lines_read"], c["skipped"], c["rows_kept"], c["features"]) == (
        sum(labels.values()) + skipped, skipped, sum(labels.values()), features
    )


def python_labeled(path: Path, options: dict[str, Any]) -> tuple[Counter[float], int, int]:
    """Rows per label, skipped (blank/comment) lines and the feature count, by plain Python."""
    labels: Counter[float] = Counter()
    skipped = features = 0
    for line in physical_lines(read_text(path)):
        if options.get("format") == "csv":
            fields = line.split(",")
            labels[float(fields[options.get("label_column", 0)])] += 1
            features = max(features, len(fields) - 1)
            continue
        tokens = line.split("#", 1)[0].split()
        if not tokens:
            skipped += 1
            continue
        labels[float(tokens[0])] += 1
        features = max([features, *(int(t.split(":")[0]) for t in tokens[1:])])
    return labels, skipped, features


def test_letter_recognition(spark: Any, shared_data: Path) -> None:
    path = shared_data / "classification" / "letter-recognition.data"
    r = read_labeled(spark, path, format="csv", header=True, string_labels=True)
    per_label = label_counts(r)
    c = r.counts()
    adds_up(c)
    assert (c["lines_read"], c["skipped"], c["rows_kept"], c["features"]) == (20_001, 1, 20_000, 16)
    letters = {row["name"]: row["label"] for row in r.extras["label_map"].collect()}
    assert letters == {chr(ord("A") + k): float(k) for k in range(26)}
    assert sorted(per_label) == [float(k) for k in range(26)]

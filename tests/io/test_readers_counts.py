"""The readers' counts against counts taken independently, in plain Python, on bundled data.

``rows_read = rows_kept + rows_quarantined + duplicates_removed`` holds by construction (the
duplicates are the difference), so the invariant alone proves nothing. Here every number is
recomputed from the raw file with ``open``/``gzip``/``csv``/``re`` and set arithmetic, never
with the code under test, and compared with ``counts()``, with the rows of ``data`` and with
the quarantine. Files come from ``data/`` (always present); damaged variants are derived into
``tmp_path`` with the damage placed at known lines.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections import Counter
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

WS = " \t\n\r\f\v"
INT64 = 2**63


def write_lines(path: Path, lines: list[str | bytes]) -> Path:
    path.write_bytes(b"".join((x if isinstance(x, bytes) else x.encode()) + b"\n" for x in lines))
    return path


def check(
    r: ReadResult, expected: dict[str, int], *, entities: bool = False, rows_key: str = "rows_kept"
) -> dict[str, int]:
    """Counts equal ``expected``; ``data`` holds ``counts()[rows_key]`` rows and the quarantine
    ``rows_quarantined`` rows."""
    rows, bad = r.data.count(), r.quarantine.count()  # these actions fill the observations
    c = r.counts(entities=entities)
    assert {k: c[k] for k in expected} == expected
    assert (rows, bad) == (c[rows_key], c["rows_quarantined"])
    assert c["rows_read"] == c["rows_kept"] + c["rows_quarantined"] + c["duplicates_removed"]
    return c


def quarantined_lines(r: ReadResult) -> list[int]:
    return sorted(q["line_number"] for q in r.quarantine.collect())


# --- edges -----------------------------------------------------------------------------------


def edge_of(line: str) -> tuple[int, int] | None:
    """``(src, dst)`` when the line is a SNAP edge: two non-negative 64-bit ids first."""
    fields = line.split()
    if len(fields) < 2 or not all(re.fullmatch(r"\+?\d+", f) for f in fields[:2]):
        return None
    src, dst = int(fields[0]), int(fields[1])
    return (src, dst) if max(src, dst) < INT64 else None


def edge_counts(lines: list[str], *, header: bool = False) -> dict[str, Any]:
    skipped = {n for n, ln in enumerate(lines, 1)
               if ln.strip(WS) == "" or ln.lstrip(WS).startswith("#") or (header and n == 1)}
    data = [(n, edge_of(ln)) for n, ln in enumerate(lines, 1) if n not in skipped]
    edges = [e for _, e in data if e is not None]
    pairs = set(edges)
    return {
        "counts": {
            "lines_read": len(lines), "skipped": len(skipped), "rows_read": len(data),
            "rows_quarantined": len(data) - len(edges), "rows_kept": len(pairs),
            "duplicates_removed": len(edges) - len(pairs),
            "self_loops": sum(a == b for a, b in pairs),
        },
        "pairs": pairs,
        "bad_lines": [n for n, e in data if e is None],
    }  # fmt: skip


def test_edges_snap_with_comments_and_crlf(spark: Any, bundled_data: Path) -> None:
    path = bundled_data / "graphs" / "p2p-Gnutella08.txt"
    want = edge_counts(physical_lines(read_text(path)))
    r = read_edges(spark, path)
    nodes = {x for pair in want["pairs"] for x in pair}
    check(r, {**want["counts"], "nodes": len(nodes)}, entities=True)
    assert {(e["src"], e["dst"]) for e in r.data.collect()} == want["pairs"]


def test_edges_with_bad_and_repeated_lines(
    spark: Any, tmp_path: Path, bundled_data: Path
) -> None:
    lines = physical_lines(read_text(bundled_data / "graphs" / "hollins.dat"))
    repeats = lines[1:101]  # 100 edges, repeated at the end
    for at, bad in ((10, "x 1"), (500, "5"), (5000, "-3 4"), (9000, "1 99999999999999999999"),
                    (20000, "# a comment"), (20001, "")):  # fmt: skip
        lines.insert(at, bad)
    lines += repeats
    want = edge_counts(lines, header=True)
    assert want["counts"]["rows_quarantined"] == 4 and want["counts"]["duplicates_removed"] > 0
    r = read_edges(spark, write_lines(tmp_path / "hollins.dat", list(lines)), header=True)
    check(r, want["counts"])
    assert quarantined_lines(r) == want["bad_lines"]


@pytest.mark.connect
def test_edges_undirected_gzip(spark: Any, bundled_data: Path) -> None:
    path = bundled_data / "graphs" / "email-Eu-core.txt.gz"
    lines = physical_lines(read_text(path))
    edges = [edge_of(ln) for ln in lines]
    assert None not in edges
    pairs = {(min(e), max(e)) for e in edges if e is not None}
    loops = sum(a == b for a, b in pairs)
    r = read_edges(spark, path, directed=False)
    check(r, {"lines_read": len(lines), "rows_read": len(lines), "rows_kept": len(pairs),
              "duplicates_removed": len(lines) - len(pairs), "self_loops": loops,
              "edges": 2 * len(pairs) - loops}, rows_key="edges")  # fmt: skip


# --- baskets ---------------------------------------------------------------------------------


def test_baskets_lines_with_damage(spark: Any, tmp_path: Path, bundled_data: Path) -> None:
    groceries = bundled_data / "baskets" / "groceries.csv"
    lines: list[str | bytes] = list(physical_lines(read_text(groceries)))
    for at, bad in ((3, b"whole milk,\xff\xfe,yogurt"), (700, ""), (4000, "soda,soda, soda,"),
                    (9000, b"\xc3(bad")):  # fmt: skip
        lines.insert(at, bad)
    baskets: list[list[str]] = []
    invalid = []
    for n, line in enumerate(lines, 1):
        try:
            text = line.decode() if isinstance(line, bytes) else line
        except UnicodeDecodeError:
            invalid.append(n)
            continue
        baskets.append([t.strip(WS) for t in text.split(",") if t.strip(WS)])
    distinct = [set(b) for b in baskets]
    r = read_baskets(spark, write_lines(tmp_path / "groceries.csv", lines))
    check(r, {
        "lines_read": len(lines), "skipped": 0, "rows_read": len(lines),
        "rows_quarantined": len(invalid), "rows_kept": len(baskets), "baskets": len(baskets),
        "empty_baskets": sum(not b for b in baskets),
        "occurrences": sum(len(d) for d in distinct),
        "duplicate_items": sum(len(b) - len(d) for b, d in zip(baskets, distinct)),
        "items": len(set().union(*distinct)),
    }, entities=True)  # fmt: skip
    assert quarantined_lines(r) == invalid
    assert Counter(len(x["items"]) for x in r.data.collect()) == Counter(map(len, distinct))


def test_baskets_long_layout(spark: Any, tmp_path: Path, bundled_data: Path) -> None:
    rows = ["basket,item"]
    for b, line in enumerate(physical_lines(read_text(bundled_data / "baskets" / "groceries.csv"))):
        rows += [f"{b},{item}" for item in line.split(",")]
    rows += rows[1:301]  # 300 repeated pairs
    for at, bad in ((5, "abc,milk"), (50, "7,"), (500, "8"), (5000, "")):
        rows.insert(at, bad)
    valid = []
    for line in rows[1:]:
        fields = [f.strip(WS) for f in line.split(",")]
        if line.strip(WS) and len(fields) >= 2 and re.fullmatch(r"[+-]?\d+", fields[0]) \
                and fields[1]:  # fmt: skip
            valid.append((int(fields[0]), fields[1]))
    pairs = set(valid)
    r = read_baskets(spark, write_lines(tmp_path / "long.csv", list(rows)), layout="long")
    check(r, {
        "lines_read": len(rows), "skipped": 2, "rows_read": len(rows) - 2,
        "rows_quarantined": 3, "rows_kept": len(pairs),
        "duplicates_removed": len(valid) - len(pairs), "baskets": len({b for b, _ in pairs}),
    }, rows_key="baskets")  # fmt: skip


# --- documents -------------------------------------------------------------------------------


@pytest.mark.connect
def test_documents_lines_labels(spark: Any, bundled_data: Path) -> None:
    path = bundled_data / "text" / "SMSSpamCollection"
    lines = physical_lines(read_text(path))
    labels = Counter(ln.split("\t", 1)[0] for ln in lines if "\t" in ln)
    r = read_documents(spark, path, layout="lines", label_column=0)
    assert {x["label"]: x["count"] for x in r.data.groupBy("label").count().collect()} == labels
    check(r, {"lines_read": len(lines), "skipped": sum(not ln.strip(WS) for ln in lines),
              "rows_kept": sum(labels.values()), "duplicates_removed": 0})  # fmt: skip


def test_documents_lines_deduplicated_by_id(spark: Any, bundled_data: Path) -> None:
    """The message text as id: the SMS collection repeats some messages."""
    path = bundled_data / "text" / "SMSSpamCollection"
    lines = physical_lines(read_text(path))
    first: dict[str, str] = {}
    valid = bad = 0
    for line in lines:
        fields = line.split("\t")
        if len(fields) < 2 or not fields[1].strip(WS):
            bad += 1
            continue
        valid += 1
        first.setdefault(fields[1].strip(WS), fields[0])
    assert valid > len(first)  # there are duplicates to find
    r = read_documents(spark, path, layout="lines", id_column=1, text_column=0)
    check(r, {"rows_read": len(lines), "rows_quarantined": bad, "rows_kept": len(first),
              "duplicates_removed": valid - len(first)})  # fmt: skip
    assert {d["doc_id"]: d["text"] for d in r.data.collect()} == first


def sms_messages(bundled_data: Path, n: int) -> list[tuple[str, str]]:
    lines = physical_lines(read_text(bundled_data / "text" / "SMSSpamCollection"))[:n]
    return [(label, text) for label, text in (ln.split("\t", 1) for ln in lines)]


def test_documents_files_tree(spark: Any, tmp_path: Path, bundled_data: Path) -> None:
    root = tmp_path / "docs"
    for i, (label, text) in enumerate(sms_messages(bundled_data, 240)):
        f = root / f"part{i // 80}" / label / f"{i % 80}.txt"  # names repeat across dirs
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(text, encoding="utf-8")
    for name, content in (("empty1.txt", b""), ("part0/empty2.txt", b""),
                          ("bad.txt", b"caf\xe9"), ("_hidden.txt", b"x"),
                          ("_tmp/inside.txt", b"x"), (".cache", b"x")):  # fmt: skip
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(content)
    files = {}
    for f in root.rglob("*"):
        rel = f.relative_to(root)
        if f.is_file() and not any(p.startswith((".", "_")) for p in rel.parts):
            files[rel.as_posix()] = f.read_bytes()
    empty = [k for k, v in files.items() if not v]
    invalid = [k for k, v in files.items() if v and not is_utf8(v)]
    docs = {k: v.decode() for k, v in files.items() if v and k not in invalid}
    r = read_documents(spark, root, recursive=True)
    check(r, {"lines_read": len(files), "skipped": len(empty), "empty_files": len(empty),
              "rows_quarantined": len(invalid), "rows_kept": len(docs),
              "duplicates_removed": 0})  # fmt: skip
    assert {d["doc_id"]: d["text"] for d in r.data.collect()} == docs


def is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def test_documents_csv_multiline(spark: Any, tmp_path: Path, bundled_data: Path) -> None:
    messages = sms_messages(bundled_data, 400)
    records = [[str(i), text.replace(". ", ".\n") if i % 5 == 0 else text, label]
               for i, (label, text) in enumerate(messages, 1)]  # fmt: skip
    records += [[str(i), f"repeat {i}", "ham"] for i in range(1, 16)]  # 15 repeated ids
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([["id", "text", "label"], *records[:200]])
    buf.write("\n")  # a blank line between records
    csv.writer(buf, lineterminator="\n").writerows(records[200:])
    path = tmp_path / "sms.csv"
    path.write_text(buf.getvalue(), encoding="utf-8")
    parsed = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    data = [row for row in parsed[1:] if row]
    first: dict[str, tuple[str, str]] = {}
    for doc_id, text, label in data:
        first.setdefault(doc_id, (text, label))
    r = read_documents(spark, path, layout="csv", id_column="id", label_column="label")
    check(r, {"lines_read": len(parsed), "skipped": len(parsed) - len(data),
              "rows_read": len(data), "rows_quarantined": 0, "rows_kept": len(first),
              "duplicates_removed": len(data) - len(first)})  # fmt: skip
    assert {d["doc_id"]: (d["text"], d["label"]) for d in r.data.collect()} == first


def reuters_sgml(messages: list[tuple[str, str]]) -> str:
    """A Reuters-21578-like file: some elements lack a BODY, some a NEWID, ids repeat."""
    out = ['<!DOCTYPE lewis SYSTEM "lewis.dtd">']
    for i, (label, text) in enumerate(messages, 1):
        new_id = "" if i % 17 == 0 else f' NEWID="{i if i % 23 else i - 1}"'
        body = "" if i % 11 == 0 else f"<BODY>{text.replace('&', '&amp;')}\n&#3;</BODY>"
        out.append(f'<REUTERS TOPICS="YES"{new_id}>\n<TOPICS><D>{label}</D></TOPICS>\n'
                   f"<TEXT><TITLE>t{i}</TITLE>{body}</TEXT>\n</REUTERS>")  # fmt: skip
    return "\n".join(out) + "\n"


def test_documents_reuters(spark: Any, tmp_path: Path, bundled_data: Path) -> None:
    path = tmp_path / "reut2-000.sgm"
    path.write_bytes(reuters_sgml(sms_messages(bundled_data, 300)).encode("latin-1", "replace"))
    text = path.read_bytes().decode("latin-1")
    elements = re.findall(r"<REUTERS\b[^>]*>.*?</REUTERS>", text, flags=re.S)
    ids = [re.search(r'NEWID="(\d+)"', e) for e in elements]
    no_id = sum(m is None for m in ids)
    no_body = sum(m is not None and "<BODY>" not in e for m, e in zip(ids, elements))
    bodies = [m.group(1) for m, e in zip(ids, elements) if m is not None and "<BODY>" in e]
    records = text.split("</REUTERS>")  # the final newline is one more (blank) record
    r = read_documents(spark, path, layout="reuters")
    check(r, {"reuters_elements": len(elements), "lines_read": len(records),
              "no_body": no_body, "skipped": no_body + 1, "rows_read": len(bodies) + no_id,
              "rows_quarantined": no_id, "rows_kept": len(set(bodies)),
              "duplicates_removed": len(bodies) - len(set(bodies))})  # fmt: skip


# --- labeled points --------------------------------------------------------------------------


def libsvm_ok(line: str, n_features: int) -> bool | None:
    """``None`` for a blank or comment line, else whether it is a valid LIBSVM example."""
    tokens = line.split("#", 1)[0].split()
    if not tokens:
        return None
    try:
        label = float(tokens[0])
        pairs = [t.split(":") for t in tokens[1:] if not t.startswith("qid:")]
        idx = [int(i) for i, _ in pairs]
        val = [float(v) for _, v in pairs]
    except ValueError:
        return False
    finite = all(math.isfinite(x) and abs(x) <= 1e12 for x in [*val, label])
    return finite and idx == sorted(set(idx)) and all(1 <= i <= n_features for i in idx)


def test_labeled_libsvm_with_damage(spark: Any, tmp_path: Path, bundled_data: Path) -> None:
    lines = physical_lines(read_text(bundled_data / "classification" / "a9a.t.gz"))
    for at, bad in ((0, "# a comment"), (10, "+1 0:1 3:1"), (99, "-1 5:1 4:1"), (1000, "1 2:nan"),
                    (5000, ""), (9000, "-1 124:1"), (16000, "1 3:1 3:1")):  # fmt: skip
        lines.insert(at, bad)
    verdict = [libsvm_ok(ln, 123) for ln in lines]
    labels = Counter(float(ln.split()[0]) for ln, ok in zip(lines, verdict) if ok)
    r = read_labeled(spark, write_lines(tmp_path / "a9a.t", list(lines)), n_features=123)
    assert {x["label"]: x["count"] for x in r.data.groupBy("label").count().collect()} == labels
    check(r, {"lines_read": len(lines), "skipped": verdict.count(None),
              "rows_quarantined": verdict.count(False), "rows_kept": verdict.count(True),
              "duplicates_removed": 0})  # fmt: skip
    assert quarantined_lines(r) == [n for n, ok in enumerate(verdict, 1) if ok is False]


def test_labeled_dense_csv(spark: Any, tmp_path: Path, bundled_data: Path) -> None:
    rows = []
    for line in physical_lines(read_text(bundled_data / "classification" / "a9a.t.gz"))[:300]:
        label, *feats = line.split()
        dense = ["0"] * 123
        for f in feats:
            dense[int(f.split(":")[0]) - 1] = f.split(":")[1]
        rows.append(",".join([label, *dense]))
    for at, bad in ((7, "1,2"), (70, rows[0].replace(",0", ",x", 1)), (150, ""),
                    (200, rows[0] + ",1")):  # fmt: skip
        rows.insert(at, bad)
    good = [r for r in rows if r and len(r.split(",")) == 124 and
            all(re.fullmatch(r"[+-]?\d+(\.\d+)?", x) for x in r.split(","))]  # fmt: skip
    r = read_labeled(spark, write_lines(tmp_path / "dense.csv", list(rows)), format="csv",
                     n_features=123)  # fmt: skip
    check(r, {"lines_read": len(rows), "skipped": 1, "rows_kept": len(good),
              "rows_quarantined": len(rows) - 1 - len(good)})  # fmt: skip
    assert len(good) == 300 and r.counts()["features"] == 123

"""The reader's unit-weight claim lets weights stay behind, and a false claim is caught."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest

from mining.io.readers import read_edges
from mining.link_analysis import hits, pagerank
from mining.schemas import UNIT_WEIGHT

# A small weighted graph with a dead end (5) and unequal out-weights.
WEIGHTED = [(1, 2, 3.0), (1, 3, 1.0), (2, 3, 2.0), (3, 1, 1.0), (3, 4, 5.0), (4, 1, 0.5),
            (4, 5, 1.0), (2, 5, 4.0)]


def test_reader_marks_unit_weights_only_when_it_made_them(spark, tmp_path: Path):
    snap = tmp_path / "g.txt"
    snap.write_text("# a comment\n1 2\n2 3\n")
    csv = tmp_path / "w.csv"
    csv.write_text("1,2,0.5\n2,3,2\n")
    plain = read_edges(spark, str(snap), format="snap").data
    weighted = read_edges(spark, str(csv), format="csv", weight_column=2).data
    summed = read_edges(spark, str(snap), format="snap", duplicate_weight="sum").data
    assert plain.schema["weight"].metadata.get(UNIT_WEIGHT) is True
    assert UNIT_WEIGHT not in weighted.schema["weight"].metadata
    assert UNIT_WEIGHT not in summed.schema["weight"].metadata


@pytest.mark.connect
def test_a_false_unit_weight_claim_falls_back_to_the_weights(spark):
    # As after a union of reader output with weighted edges: the metadata says 1, data does not.
    edges = spark.createDataFrame(WEIGHTED, "src long, dst long, weight double") \
        .withMetadata("weight", {UNIT_WEIGHT: True})
    g = nx.DiGraph()
    g.add_weighted_edges_from(WEIGHTED)
    want = nx.pagerank(g, alpha=0.85, tol=1e-14, max_iter=1000)
    got = {r["node"]: r["rank"] for r in pagerank(edges, tol=1e-14, max_iter=1000).collect()}
    assert sum(abs(got[n] - want[n]) for n in want) < 1e-10

    hubs_want, _ = nx.hits(g, tol=1e-14, max_iter=1000)  # weighted: uses the 'weight' key
    hubs_w = {r["node"]: r["hub"] for r in hits(edges, tol=1e-14, max_iter=1000).collect()}
    hubs_1 = {r["node"]: r["hub"] for r in hits(edges, weight=None, tol=1e-14,
                                                 max_iter=1000).collect()}
    assert sum(abs(hubs_w[n] - hubs_want[n]) for n in hubs_want) < 1e-8
    assert sum(abs(hubs_w[n] - hubs_1[n]) for n in hubs_1) > 1e-3  # the weights mattered

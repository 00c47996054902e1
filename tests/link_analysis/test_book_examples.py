"""MMDS worked examples with hand-checked values (fractions from the book)."""

from __future__ import annotations

import networkx as nx
import pytest

from mining.link_analysis import hits, pagerank, spam_mass, topic_sensitive_pagerank, trustrank

A, B, C, D, E = 1, 2, 3, 4, 5
FIG_5_1 = [(A, B), (A, C), (A, D), (B, A), (B, D), (C, A), (D, B), (D, C)]
FIG_5_6 = [(A, B), (A, C), (A, D), (B, A), (B, D), (C, C), (D, B), (D, C)]  # C is a spider trap
FIG_5_4 = [(A, B), (A, C), (A, D), (B, A), (B, D), (C, E), (D, B), (D, C)]  # E is a dead end


def _edges(spark, pairs):
    return spark.createDataFrame([(s, d, 1.0) for s, d in pairs],
                                 "src long, dst long, weight double")


def _ranks(df, column="rank"):
    return {r["node"]: r[column] for r in df.collect()}


@pytest.mark.connect
def test_example_5_2_limit_without_taxation(spark):
    got = _ranks(pagerank(_edges(spark, FIG_5_1), beta=1.0, tol=1e-14, max_iter=1000))
    assert got == pytest.approx({A: 3 / 9, B: 2 / 9, C: 2 / 9, D: 2 / 9}, abs=1e-10)


def test_example_5_7_spider_trap_with_taxation(spark):
    got = _ranks(pagerank(_edges(spark, FIG_5_6), beta=0.8, tol=1e-14, max_iter=1000))
    assert got == pytest.approx({A: 15 / 148, B: 19 / 148, C: 95 / 148, D: 19 / 148}, abs=1e-10)


@pytest.mark.connect
def test_example_5_5_dead_end_removal_and_restoration(spark):
    got = _ranks(pagerank(_edges(spark, FIG_5_4), beta=1.0, dead_ends="remove", tol=1e-14,
                          max_iter=1000))
    assert got == pytest.approx({A: 2 / 9, B: 4 / 9, C: 13 / 54, D: 3 / 9, E: 13 / 54}, abs=1e-10)
    assert sum(got.values()) > 1  # restored ranks need not sum to 1 (the book says so)


def test_example_5_10_topic_sensitive(spark):
    topics = spark.createDataFrame([("bd", B), ("bd", D)], "topic string, node long")
    got = _ranks(topic_sensitive_pagerank(_edges(spark, FIG_5_1), topics, beta=0.8, tol=1e-14,
                                          max_iter=1000), "rank_bd")
    assert got == pytest.approx({A: 54 / 210, B: 59 / 210, C: 38 / 210, D: 59 / 210}, abs=1e-10)


def test_trustrank_is_topic_sensitive_pagerank_on_the_trusted_set(spark):
    trusted = spark.createDataFrame([(B,), (D,)], "node long")
    got = _ranks(trustrank(_edges(spark, FIG_5_1), trusted, beta=0.8, tol=1e-14, max_iter=1000),
                 "trust_rank")
    assert got == pytest.approx({A: 54 / 210, B: 59 / 210, C: 38 / 210, D: 59 / 210}, abs=1e-10)
    mass = {r["node"]: r for r in spam_mass(_edges(spark, FIG_5_1), trusted, beta=0.8,
                                            tol=1e-14, max_iter=1000, threshold=0.3).collect()}
    plain = nx.pagerank(nx.DiGraph(FIG_5_1), alpha=0.8, tol=1e-14)
    assert mass[C]["rank"] == pytest.approx(plain[C], abs=1e-10)
    assert mass[C]["spam_mass"] == pytest.approx((plain[C] - 38 / 210) / plain[C], abs=1e-9)
    assert mass[C]["suspect"] is False and mass[B]["spam_mass"] < 0


def test_example_5_20_hits(spark):
    got = {r["node"]: (r["hub"], r["authority"])
           for r in hits(_edges(spark, FIG_5_4), tol=1e-15, max_iter=1000).collect()}
    hub_max = max(h for h, _ in got.values())
    auth_max = max(a for _, a in got.values())
    hubs = {n: h / hub_max for n, (h, _) in got.items()}
    auths = {n: a / auth_max for n, (_, a) in got.items()}
    # The book's limits (scaled to max 1): h = (1, .3583, 0, .7165, 0), a = (.2087, 1, 1, .7913, 0)
    assert hubs == pytest.approx({A: 1, B: 0.3583, C: 0, D: 0.7165, E: 0}, abs=5e-5)
    assert auths == pytest.approx({A: 0.2087, B: 1, C: 1, D: 0.7913, E: 0}, abs=5e-5)
    assert sum(h for h, _ in got.values()) == pytest.approx(1.0)

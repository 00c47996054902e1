"""The vector LSH kernels (MMDS §3.7: random hyperplanes, random projections) against oracles.

No Spark. Parameters against Python integers and ``math`` over the raw PCG64 stream; distances
against scipy.spatial.distance, exact fractions and plane geometry; the estimates against
binomial error bounds; collision probabilities against closed forms, the book's bounds and
quadrature; band keys against a plain-Python FNV-1a and candidate pairs against a dict of
buckets.
"""

from __future__ import annotations

import itertools
import math
import struct
from collections import defaultdict
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats
from scipy.integrate import quad
from scipy.spatial.distance import cdist, pdist

import mining.similar._vectors as vectors_module
from mining.similar._banding import BandTable, candidate_pairs
from mining.similar._vectors import (
    SparseRows,
    cosine_candidate_probability,
    cosine_distance_pairs,
    cosine_sketches,
    euclidean_distance_pairs,
    hyperplanes,
    projection_buckets,
    projection_collision_probability,
    projection_parameters,
    vector_band_keys,
)

M64 = 2**64


# --- helpers ------------------------------------------------------------------------------

def to_csr(x: np.ndarray, explicit_zero_rows: tuple[int, ...] = ()) -> SparseRows:
    """CSR of a dense matrix by plain loops (rows listed also store one explicit 0.0)."""
    indices, values, offsets = [], [], [0]
    for i, row in enumerate(x):
        cols = [j for j, value in enumerate(row) if value != 0]
        if i in explicit_zero_rows and not cols:
            cols = [0]
        indices += cols
        values += [float(row[j]) for j in cols]
        offsets.append(len(indices))
    return SparseRows(np.array(indices, np.int32), np.array(values, np.float64),
                      np.array(offsets, np.int64), x.shape[1])


def sparse_matrix(rng: np.random.Generator, n: int, d: int, zero_rows: tuple[int, ...]):
    x = rng.normal(size=(n, d)) * (rng.random((n, d)) < 0.25)
    x[list(zero_rows)] = 0.0
    return x


def at_angle(rng: np.random.Generator, d: int, degrees: float) -> tuple[np.ndarray, ...]:
    """Two vectors of random lengths at the given angle, in a random plane of R^d."""
    q = np.linalg.qr(rng.normal(size=(d, 2)))[0]
    t = math.radians(degrees)
    return 2.0 * q[:, 0], 3.0 * (math.cos(t) * q[:, 0] + math.sin(t) * q[:, 1])


def all_pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    first, second = np.triu_indices(n, 1)
    return first.astype(np.int64), second.astype(np.int64)


def fnv1a_py(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) % M64
    return h


# --- parameters ---------------------------------------------------------------------------

def test_sign_hyperplanes_are_bits_of_the_raw_stream():
    d, n = 7, 20  # 140 bits: three raw draws, the last one partly used
    words = [int(w) for w in np.random.default_rng(5).bit_generator.random_raw(3)]
    expected = [[1.0 if (words[(i * d + j) // 64] >> ((i * d + j) % 64)) & 1 else -1.0
                 for j in range(d)] for i in range(n)]
    planes = hyperplanes(d, n, seed=5)
    assert planes.dtype == np.float64 and planes.shape == (n, d)
    np.testing.assert_array_equal(planes, expected)
    np.testing.assert_array_equal(hyperplanes(d, 6, seed=5), planes[:6])  # a prefix
    assert not np.array_equal(hyperplanes(d, n, seed=6), planes)


def test_gaussian_hyperplanes_are_box_muller_of_the_raw_stream():
    d, n = 5, 4  # three pairs of draws per plane, the last normal of each unused
    raw = [int(w) for w in np.random.default_rng(9).bit_generator.random_raw(6 * n)]
    expected = []
    for i in range(n):
        u = [(w >> 11) * 2.0**-53 for w in raw[6 * i:6 * i + 6]]
        z = []
        for j in range(3):
            r, t = math.sqrt(-2.0 * math.log(1.0 - u[2 * j])), 2 * math.pi * u[2 * j + 1]
            z += [r * math.cos(t), r * math.sin(t)]
        expected.append(z[:d])
    planes = hyperplanes(d, n, seed=9, gaussian=True)
    np.testing.assert_allclose(planes, expected, rtol=1e-13, atol=1e-15)
    np.testing.assert_array_equal(hyperplanes(d, 2, seed=9, gaussian=True), planes[:2])
    many = hyperplanes(51, 300, seed=2, gaussian=True).ravel()  # odd d: every row's tail cut
    assert stats.kstest(many, "norm").pvalue > 1e-3
    assert abs(np.corrcoef(many[:-1], many[1:])[0, 1]) < 0.03


def test_projection_parameters():
    d, n, w = 6, 50, 2.5
    directions, offsets = projection_parameters(d, n, bucket_width=w, seed=4)
    np.testing.assert_allclose(np.linalg.norm(directions, axis=1), 1.0, rtol=1e-14)
    raw = np.random.default_rng(4).bit_generator.random_raw(n * 7)  # 6 normals + 1 offset each
    np.testing.assert_array_equal(offsets, [(int(r) >> 11) * 2.0**-53 * w for r in raw[6::7]])
    assert ((offsets >= 0) & (offsets < w)).all()
    d2, o2 = projection_parameters(d, 10, bucket_width=w, seed=4)
    np.testing.assert_array_equal(d2, directions[:10])
    np.testing.assert_array_equal(o2, offsets[:10])


# --- sketches and buckets -----------------------------------------------------------------

def test_dense_and_sparse_inputs_agree():
    rng = np.random.default_rng(11)
    x = sparse_matrix(rng, 30, 40, zero_rows=(3, 7, 12))
    csr = to_csr(x, explicit_zero_rows=(12,))  # an empty row, a stored 0.0 row
    shifted = SparseRows(np.concatenate([[5, 1], csr.indices]).astype(np.int32),
                         np.concatenate([[9.0, 9.0], csr.values]), csr.offsets + 2, 40)
    for gaussian in (False, True):
        dense = cosine_sketches(x, n_planes=96, seed=3, gaussian=gaussian)
        for sparse in (cosine_sketches(v, n_planes=96, seed=3, gaussian=gaussian)
                       for v in (csr, shifted)):
            np.testing.assert_array_equal(sparse.bits, dense.bits)
            np.testing.assert_array_equal(sparse.empty, dense.empty)
    assert dense.bits.dtype == bool and dense.bits.shape == (30, 96)
    np.testing.assert_array_equal(np.flatnonzero(dense.empty), [3, 7, 12])
    assert not dense.bits[[3, 7, 12]].any()
    buckets = projection_buckets(x, n_projections=64, bucket_width=0.7, seed=2)
    assert buckets.dtype == np.int64 and buckets.shape == (30, 64)
    np.testing.assert_array_equal(projection_buckets(csr, n_projections=64, bucket_width=0.7,
                                                     seed=2), buckets)
    first, second = all_pairs(30)
    for distance in (cosine_distance_pairs, euclidean_distance_pairs):
        want = distance(x, first, second)
        for v in (csr, shifted):
            np.testing.assert_allclose(distance(v, first, second), want, rtol=1e-12, atol=1e-12)


def test_pair_distances_in_many_blocks(monkeypatch):
    rng = np.random.default_rng(12)
    x = sparse_matrix(rng, 20, 15, zero_rows=(2, 5))
    first, second = all_pairs(20)
    whole = [f(v, first, second) for v in (x, to_csr(x))
             for f in (cosine_distance_pairs, euclidean_distance_pairs)]
    for budget in (1, 7, 40):  # blocks of one pair (costlier than the budget) and more
        monkeypatch.setattr(vectors_module, "_BLOCK_ELEMENTS", budget)
        blocked = [f(v, first, second) for v in (x, to_csr(x))
                   for f in (cosine_distance_pairs, euclidean_distance_pairs)]
        for a, b in zip(whole, blocked):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("gaussian", [True, False])
def test_differing_bits_estimate_the_angle(gaussian):
    rng, planes = np.random.default_rng(1), 4000
    angles = np.array([3.0, 30, 60, 90, 120, 150, 177])
    pairs = [at_angle(rng, 200, t) for t in angles]
    x = np.array([a for a, _ in pairs] + [b for _, b in pairs])
    bits = cosine_sketches(x, n_planes=planes, seed=8, gaussian=gaussian).bits
    estimate = (bits[:len(angles)] != bits[len(angles):]).mean(axis=1)
    p = angles / 180
    slack = 0.0 if gaussian else 0.005  # ±1 normals: v · h only nearly normal (d = 200)
    assert (np.abs(estimate - p) <= 4 * np.sqrt(p * (1 - p) / planes) + slack).all()


def test_sign_planes_are_biased_for_few_components():
    x = np.array([[1.0, 0.0], [1.0, 0.1]])  # 5.7 degrees apart
    sign = cosine_sketches(x, n_planes=256, seed=1).bits
    gauss = cosine_sketches(x, n_planes=256, seed=1, gaussian=True).bits
    assert (sign[0] == sign[1]).all()  # sign(h1) = sign(h1 + 0.1 h2) for h in {-1, 1}^2
    assert 0 < (gauss[0] != gauss[1]).sum() < 30  # about 256 x 5.7 / 180 = 8


def test_zero_vectors():
    x = np.array([[0.0, 0.0, 0.0], [3.0, 4.0, 0.0], [0.0, 0.0, 0.0]])
    sk = cosine_sketches(x, n_planes=16, seed=1)
    np.testing.assert_array_equal(sk.empty, [True, False, True])
    assert not sk.bits[[0, 2]].any()
    angles = cosine_distance_pairs(x, np.array([0, 1, 0]), np.array([1, 1, 2]))
    assert np.isnan(angles[0]) and angles[1] == 0.0 and np.isnan(angles[2])
    np.testing.assert_array_equal(euclidean_distance_pairs(x, np.array([0, 0]),
                                                           np.array([1, 2])), [5.0, 0.0])
    b = projection_buckets(x, n_projections=8, bucket_width=1.0, seed=1)
    np.testing.assert_array_equal(b[0], np.zeros(8, np.int64))  # offsets are in [0, w)


@pytest.mark.parametrize("dim", [3, 10])
def test_bucket_agreement_follows_the_collision_probability(dim):
    rng, w, k = np.random.default_rng(dim), 1.0, 3000
    deltas = np.array([0.01, 0.3, 1.0, 3.0, 20.0])
    base = rng.normal(size=(len(deltas), dim))
    step = rng.normal(size=(len(deltas), dim))
    step *= (deltas / np.linalg.norm(step, axis=1))[:, None]
    b = projection_buckets(np.vstack([base, base + step]), n_projections=k, bucket_width=w,
                           seed=5)
    agree = (b[:len(deltas)] == b[len(deltas):]).mean(axis=1)
    p = projection_collision_probability(deltas, bucket_width=w, dim=dim)
    assert (np.abs(agree - p) <= 4 * np.sqrt(p * (1 - p) / k) + 1e-9).all()
    if dim == 3:
        assert agree[0] > 0.98 and agree[-1] < 0.05  # distance << w, >> w


# --- exact distances ----------------------------------------------------------------------

def test_distances_match_scipy():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(25, 12)) * rng.choice([1e-3, 1.0, 1e3], size=(25, 1))
    first, second = all_pairs(25)
    angles = cosine_distance_pairs(x, first, second)
    np.testing.assert_allclose(1 - np.cos(np.radians(angles)), pdist(x, "cosine"), atol=1e-12)
    np.testing.assert_allclose(euclidean_distance_pairs(x, first, second),
                               pdist(x, "euclidean"), rtol=1e-12)
    cos = (x[first] * x[second]).sum(1) / np.linalg.norm(x[first], axis=1) \
        / np.linalg.norm(x[second], axis=1)
    np.testing.assert_allclose(angles, np.degrees(np.arccos(np.clip(cos, -1, 1))), atol=1e-6)
    # repeated and reversed pairs, a pair with itself
    f, s = np.array([4, 9, 4, 0]), np.array([9, 4, 4, 0])
    np.testing.assert_allclose(euclidean_distance_pairs(x, f, s),
                               [*cdist(x[[4, 9]], x[[9, 4]]).diagonal(), 0, 0], rtol=1e-12)
    assert cosine_distance_pairs(x, f, s)[2:].tolist() == [0.0, 0.0]
    assert len(cosine_distance_pairs(x, f[:0], s[:0])) == 0


def test_tiny_angles_and_near_duplicates_are_accurate():
    ts = [1e-9, 1e-6, 1e-3, 0.5, 3.1415]
    rows = []
    for t in ts:
        rows += [[3.0, 0.0, 0.0, 0.0], [2 * math.cos(t), 0.0, 2 * math.sin(t), 0.0]]
    x = np.array(rows)
    want = [math.degrees(math.atan2(x[2 * i + 1, 2], x[2 * i + 1, 0])) for i in range(len(ts))]
    first, second = np.arange(0, 2 * len(ts), 2), np.arange(1, 2 * len(ts), 2)
    for v in (x, to_csr(x)):
        np.testing.assert_allclose(cosine_distance_pairs(v, first, second), want, rtol=1e-12)
    rng = np.random.default_rng(0)
    a = rng.normal(size=(6, 9)) * 1e3
    b = a + rng.normal(size=(6, 9)) * 1e-9  # the expansion |a|^2 + |b|^2 - 2ab would be 0
    y = np.vstack([a, b])
    exact = [math.sqrt(float(sum((Fraction(p) - Fraction(q)) ** 2 for p, q in zip(a[i], b[i]))))
             for i in range(6)]
    for v in (y, to_csr(y)):
        np.testing.assert_allclose(euclidean_distance_pairs(v, np.arange(6), np.arange(6, 12)),
                                   exact, rtol=1e-12)


# --- probabilities ------------------------------------------------------------------------

def test_collision_probability_closed_forms_and_quadrature():
    w = 2.0
    delta = np.array([0.0, 0.5, 1.0, 2.0, 4.0, 40.0])
    p = projection_collision_probability
    np.testing.assert_allclose(p(delta, bucket_width=w, dim=1), np.maximum(0, 1 - delta / w))
    closed = np.where(delta <= w, 1 - delta / (2 * w), w / (2 * np.maximum(delta, 1e-300)))
    np.testing.assert_allclose(p(delta, bucket_width=w, dim=3), closed, rtol=1e-12)
    # MMDS §3.7.4, in the plane: (a/2, 2a, 1/2, 1/3)-sensitive
    assert p(w / 2, bucket_width=w, dim=2) >= 0.5 and p(2 * w, bucket_width=w, dim=2) <= 1 / 3
    for dim in (2, 7, 40):
        density = lambda x, dim=dim: (1 - x * x) ** ((dim - 3) / 2)  # noqa: E731
        norm = quad(density, -1, 1)[0]
        for dl in (0.3, 1.7, 9.0):
            c = min(1.0, w / dl)
            want = quad(lambda x, dl=dl, f=density: (1 - dl * abs(x) / w) * f(x), -c, c,
                        points=[0.0])[0] / norm
            assert p(dl, bucket_width=w, dim=dim) == pytest.approx(want, rel=1e-7)


def test_cosine_candidate_probability():
    theta = [0, 10, 45, 90, 179, 180]
    for bands, rows in [(1, 1), (20, 5), (8, 16)]:  # exact rationals: no cancellation
        want = [float(1 - (1 - (1 - Fraction(t, 180)) ** rows) ** bands) for t in theta]
        got = cosine_candidate_probability(np.array(theta, float), bands=bands, rows=rows)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300)


# --- banding ------------------------------------------------------------------------------

def test_band_keys_are_fnv1a_of_little_endian_bytes():
    rng = np.random.default_rng(2)
    bits = rng.random((5, 13)) < 0.5
    keys = vector_band_keys(bits, bands=3, rows=4)  # the 13th column unused
    assert keys.dtype == np.uint64 and keys.shape == (5, 3)
    for i, b in itertools.product(range(5), range(3)):
        assert int(keys[i, b]) == fnv1a_py(bytes(bits[i, 4 * b:4 * b + 4].astype(int).tolist()))
    codes = rng.integers(-50, 50, size=(5, 6))
    keys = vector_band_keys(codes, bands=2, rows=3)
    for i, b in itertools.product(range(5), range(2)):
        data = struct.pack("<3q", *codes[i, 3 * b:3 * b + 3].tolist())
        assert int(keys[i, b]) == fnv1a_py(data)
    np.testing.assert_array_equal(vector_band_keys(codes.astype(np.int32), bands=2, rows=3), keys)
    positive = codes + 50
    np.testing.assert_array_equal(vector_band_keys(positive.astype(np.uint16), bands=2, rows=3),
                                  vector_band_keys(positive, bands=2, rows=3))


def brute_candidates(codes: np.ndarray, keep: np.ndarray, bands: int, rows: int):
    hits: dict[tuple[int, int], int] = defaultdict(int)
    for b in range(bands):
        buckets = defaultdict(list)
        for i in np.flatnonzero(keep):
            buckets[tuple(codes[i, b * rows:(b + 1) * rows].tolist())].append(int(i))
        for docs in buckets.values():
            for pair in itertools.combinations(docs, 2):
                hits[pair] += 1
    return dict(sorted(hits.items()))


def test_candidate_pairs_on_vector_bands():
    rng = np.random.default_rng(6)
    base = rng.normal(size=(12, 30))
    x = np.vstack([base, base[:6] + 0.05 * rng.normal(size=(6, 30)), np.zeros((2, 30))])
    sk = cosine_sketches(x, n_planes=40, seed=2)
    buckets = projection_buckets(x, n_projections=24, bucket_width=4.0, seed=2)
    everyone = np.ones(len(x), bool)
    for codes, keep, bands, rows in [(sk.bits, ~sk.empty, 10, 4), (buckets, everyone, 8, 3)]:
        ids = np.flatnonzero(keep)
        keys = vector_band_keys(codes[keep], bands=bands, rows=rows)
        table = BandTable(np.repeat(ids, bands), np.tile(np.arange(bands, dtype=np.int32),
                                                         len(ids)), keys.ravel())
        got = candidate_pairs(table)
        want = brute_candidates(np.asarray(codes), keep, bands, rows)
        assert dict(zip(zip(got.first.tolist(), got.second.tolist()),
                        got.band_hits.tolist())) == want
        assert all((i, i + 12) in want for i in range(6))  # the near-duplicates are found


# --- seeds and arguments ------------------------------------------------------------------

def test_seeds():
    x = np.random.default_rng(0).normal(size=(10, 8))
    for f, kw in [(cosine_sketches, {}), (cosine_sketches, {"gaussian": True}),
                  (projection_buckets, {"bucket_width": 0.5})]:
        run = lambda seed, f=f, kw=kw: f(x, seed=seed, **kw)  # noqa: E731
        a, b, c = run(1), run(1), run(2)
        a, b, c = (getattr(r, "bits", r) for r in (a, b, c))
        assert np.array_equal(a, b) and not np.array_equal(a, c)


X = np.ones((3, 4))
I32 = np.array([0, 1], np.int32)


@pytest.mark.parametrize("call", [
    lambda: hyperplanes(0, 4, seed=1),
    lambda: hyperplanes(4, True, seed=1),
    lambda: hyperplanes(4, 2.0, seed=1),
    lambda: projection_parameters(4, 4, bucket_width=0.0, seed=1),
    lambda: projection_parameters(4, 4, bucket_width=float("inf"), seed=1),
    lambda: cosine_sketches(np.ones(4)),
    lambda: cosine_sketches(np.array([[1.0, np.nan]])),
    lambda: cosine_sketches(X, n_planes=0),
    lambda: projection_buckets(X, bucket_width=-1.0),
    lambda: projection_buckets(X * 1e300, bucket_width=1e-300),
    lambda: SparseRows(I32, np.ones(2), np.array([0, 2]), dim=1),  # index out of range
    lambda: SparseRows(I32[::-1].copy(), np.ones(2), np.array([0, 2]), dim=4),  # unsorted
    lambda: SparseRows(np.array([1, 1]), np.ones(2), np.array([0, 2]), dim=4),  # repeated
    lambda: SparseRows(I32, np.ones(2), np.array([0, 3]), dim=4),
    lambda: SparseRows(I32, np.ones(2), np.array([2, 0]), dim=4),
    lambda: SparseRows(I32, np.ones(3), np.array([0, 2]), dim=4),
    lambda: SparseRows(I32, np.array([1.0, np.inf]), np.array([0, 2]), dim=4),
    lambda: SparseRows(I32.astype(float), np.ones(2), np.array([0, 2]), dim=4),
    lambda: SparseRows(I32, np.ones(2), np.array([0, 2]), dim=0),
    lambda: vector_band_keys(np.ones((3, 4)), bands=2, rows=2),  # float codes
    lambda: vector_band_keys(np.ones((3, 4), int), bands=3, rows=2),
    lambda: vector_band_keys(np.ones((3, 4), int), bands=0, rows=2),
    lambda: euclidean_distance_pairs(X, np.array([0, 3]), np.array([1, 1])),
    lambda: cosine_distance_pairs(X, np.array([0, -1]), np.array([1, 1])),
    lambda: cosine_distance_pairs(X, np.array([0, 1]), np.array([1])),
    lambda: cosine_candidate_probability(181.0, bands=2, rows=2),
    lambda: projection_collision_probability(-1.0, bucket_width=1.0, dim=2),
    lambda: projection_collision_probability(1.0, bucket_width=1.0, dim=0),
])
def test_bad_arguments_raise_one_line_value_errors(call):
    with pytest.raises(ValueError) as info:
        call()
    assert "\n" not in str(info.value) and str(info.value)

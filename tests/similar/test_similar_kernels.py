"""The numpy kernels of similar items (MMDS chapter 3) against independent implementations.

No Spark: shingles against a plain-Python shingler and MurmurHash3 (ours below, and
scikit-learn's C one), MinHash arithmetic against Python integers, banding against a dict of
buckets, the S-curve against scipy's quad and datasketch's ``_optimal_param``.

(Named ``test_similar_kernels``: test directories have no ``__init__.py``, so two modules
called ``test_kernels.py`` would clash in pytest's default import mode.)
"""

from __future__ import annotations

import itertools
import struct

import numpy as np
import pytest
from datasketch.lsh import _optimal_param
from scipy.integrate import quad
from similar_oracles import shingles_py
from sklearn.utils import murmurhash3_32

import mining.similar._hashing as hashing
import mining.similar._minhash as minhash_module
from mining.similar import (
    EMPTY,
    BandTable,
    Shingling,
    approximate_threshold,
    band_keys,
    band_table,
    candidate_pairs,
    candidate_probability,
    choose_bands,
    error_areas,
    estimate_jaccard,
    minhash,
    murmur3_32,
    s_curve_table,
)
from mining.similar._banding import fnv1a_64
from mining.similar._minhash import hash_parameters, universal_hash

M32 = 0xFFFFFFFF
M64 = 2**64


# --- independent implementations ------------------------------------------------------------

def murmur_py(data: bytes, seed: int = 0) -> int:
    """MurmurHash3_x86_32, transcribed from Appleby's MurmurHash3.cpp in plain Python."""
    def rotl(x: int, r: int) -> int:
        return ((x << r) | (x >> (32 - r))) & M32

    h, n = seed, len(data)
    for i in range(0, n - n % 4, 4):
        k = int.from_bytes(data[i:i + 4], "little")
        k = (rotl((k * 0xCC9E2D51) & M32, 15) * 0x1B873593) & M32
        h = (rotl(h ^ k, 13) * 5 + 0xE6546B64) & M32
    k = int.from_bytes(data[n - n % 4:], "little")
    if n % 4:
        h ^= (rotl((k * 0xCC9E2D51) & M32, 15) * 0x1B873593) & M32
    h ^= n & M32
    h = ((h ^ (h >> 16)) * 0x85EBCA6B) & M32
    h = ((h ^ (h >> 13)) * 0xC2B2AE35) & M32
    return h ^ (h >> 16)


def hashes_py(shingles: set[str]) -> list[int]:
    return sorted({murmur_py(s.encode("utf-8", "surrogatepass")) for s in shingles})


def fnv1a_py(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


# --- MurmurHash3 ----------------------------------------------------------------------------

# published vectors of MurmurHash3_x86_32 (SMHasher's verification inputs and common ports)
VECTORS = [(b"", 0, 0), (b"", 1, 0x514E28B7), (b"", 0xFFFFFFFF, 0x81F16F39),
           (b"\0\0\0\0", 0, 0x2362F9DE), (b"hello", 0, 0x248BFA47),
           (b"aaaa", 0x9747B28C, 0x5A97808A), (b"abc", 0x9747B28C, 0xC84A62DD),
           (b"Hello, world!", 0x9747B28C, 0x24884CBA),
           (b"The quick brown fox jumps over the lazy dog", 0x9747B28C, 0x2FA826CD)]


@pytest.mark.parametrize(("data", "seed", "expected"), VECTORS)
def test_murmur3_known_vectors(data, seed, expected):
    assert murmur_py(data, seed) == expected  # the oracle itself is right...
    assert murmur3_32(data, seed=seed) == expected  # ...and so is the kernel


def test_murmur3_matches_plain_python_and_sklearn_on_random_input():
    rng = np.random.default_rng(7)
    alphabet = [*"abcXYZ 09,.-", "é", "ß", "İ", "数", "😀", "\u3000"]
    strings = ["".join(rng.choice(alphabet, int(n))) for n in rng.integers(0, 40, 300)]
    ours = hashing.hash_strings(strings, seed=12345)
    for s, h in zip(strings, ours.tolist()):
        assert h == murmur_py(s.encode(), 12345) == murmur3_32(s, seed=12345)
        assert h == murmurhash3_32(s, 12345, positive=True)
    blobs = [rng.integers(0, 256, int(n), dtype=np.uint8).tobytes() for n in range(70)]
    assert hashing.hash_strings(blobs).tolist() == [murmur_py(b) for b in blobs]


def test_murmur3_rejects_a_seed_out_of_range():
    with pytest.raises(ValueError, match="seed"):
        murmur3_32("x", seed=2**32)


# --- shingling ------------------------------------------------------------------------------

def test_book_character_shingles():
    # §3.2.1: D = abcdabd, k = 2 -> {ab, bc, cd, da, bd} ("ab" twice, once in the set)
    shingling = Shingling(k=2)
    assert sorted(shingling.texts("abcdabd")) == sorted(["ab", "bc", "cd", "da", "bd"])
    assert shingling.hash("abcdabd").tolist() == hashes_py({"ab", "bc", "cd", "da", "bd"})


def test_book_stop_word_shingles():
    # §3.2.4: "the first three shingles made from a stop word and the next two following"
    text = ("A spokesperson for the Sudzo Corporation revealed today that studies have shown "
            "it is good for people to buy Sudzo products.")
    got = Shingling(k=3, kind="stopword").texts(text)
    assert got[:3] == ["a spokesperson for", "for the sudzo", "the sudzo corporation"]
    assert "revealed today that" not in got  # "revealed" is no stop word


def test_whitespace_and_punctuation_normalization():
    text = "  Hello,\t\tWorld!  --  it's\u00a0done\n"
    assert Shingling(k=1).normalize(text) == "hello, world! -- it's done"
    assert Shingling(k=1, strip_punctuation=True).normalize(text) == "hello world its done"
    assert Shingling(k=1, lowercase=False, collapse_whitespace=False).normalize(text) == text
    assert Shingling(k=2, kind="word", strip_punctuation=True).texts(text) == [
        "hello world", "world its", "its done"]


def test_short_texts_and_keep_short():
    assert Shingling(k=5).texts("ok") == ["ok"]
    assert Shingling(k=5, keep_short=False).texts("ok") == []
    assert Shingling(k=3, kind="word").texts("ok thanks") == ["ok thanks"]
    assert Shingling(k=3, kind="stopword").texts("it is") == []  # needs k words
    offsets, hashes = Shingling(k=3).hash_batch(["", "   ", "abc", ""])
    assert offsets.tolist() == [0, 0, 0, 1, 1] and len(hashes) == 1


WORDS = ["the", "The", "a", "of", "it", "is", "data", "mining", "naïve", "Straße", "İstanbul",
         "数据", "😀", "it's", "--", ",", "x", "ab", "stop.", "FOR"]
SPACES = [" ", " ", " ", "  ", "\t", "\n", "\u00a0", "\u3000", ""]


def _corpus(seed: int, n: int) -> list[str]:
    rng = np.random.default_rng(seed)
    texts = ["", " ", "a", ",,,", "the", "it is the", "a\udc80b c"]  # edge cases first
    for _ in range(n):
        parts = [w + rng.choice(SPACES) for w in rng.choice(WORDS, int(rng.integers(0, 40)))]
        texts.append(rng.choice(SPACES) + "".join(parts))
    return texts


OPTIONS = [dict(kind=kind, k=k, lowercase=lc, strip=st, collapse=co, keep_short=ks)
           for kind, k in [("char", 1), ("char", 4), ("char", 9), ("word", 1), ("word", 3),
                           ("stopword", 2), ("stopword", 3)]
           for lc, st, co, ks in [(True, False, True, True), (False, True, False, False),
                                  (True, True, True, True)]]


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: "-".join(map(str, o.values())))
def test_shingles_match_plain_python(options, monkeypatch):
    texts = _corpus(3, 120)
    shingling = Shingling(k=options["k"], kind=options["kind"], lowercase=options["lowercase"],
                          strip_punctuation=options["strip"],
                          collapse_whitespace=options["collapse"],
                          keep_short=options["keep_short"])
    expected = [shingles_py(t, **options) for t in texts]
    offsets, hashes = shingling.hash_batch(texts)
    assert offsets.dtype == np.int64 and hashes.dtype == np.uint32
    for i, text in enumerate(texts):
        assert set(shingling.texts(text)) == expected[i], text
        assert hashes[offsets[i]:offsets[i + 1]].tolist() == hashes_py(expected[i]), text
    monkeypatch.setattr(hashing, "_CHUNK_CHARS", 64)  # many chunks: the same answer
    again = shingling.hash_batch(texts)
    assert again[0].tolist() == offsets.tolist() and again[1].tolist() == hashes.tolist()


def test_stop_words_are_matched_exactly_even_when_hashes_collide(monkeypatch):
    # every hash collides: only the code-point comparison can tell the words apart
    monkeypatch.setattr(hashing, "_hash_spans", lambda cp, start, end: np.zeros(len(start),
                                                                                np.uint32))
    shingling = Shingling(k=2, kind="stopword", stop_words=frozenset({"to", "ot", "top"}))
    assert shingling.texts("to be or ot top tops t") == ["to be", "ot top", "top tops"]


def test_shingling_rejects_bad_options():
    with pytest.raises(ValueError, match="kind"):
        Shingling(k=3, kind="letters")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="k must"):
        Shingling(k=0)


# --- MinHash --------------------------------------------------------------------------------

def multiply_add_shift_py(a: int, b: int, x: int) -> int:
    """Dietzfelbinger's ``h(x) = ((a x + b) mod 2^64) >> 32`` with unbounded integers."""
    return ((a * x + b) % M64) >> 32


def test_universal_hash_is_exact_against_python_integers():
    rng = np.random.default_rng(11)
    top = M64 - 1
    a = np.concatenate([np.array([0, 1, top, 2**63, 2**32, 2**32 + 1, top, 3], np.uint64),
                        rng.integers(0, M64, 56, dtype=np.uint64)])
    b = np.concatenate([np.array([top, top, top, 2**63, 0, top, 0, 2**32 - 1], np.uint64),
                        rng.integers(0, M64, 56, dtype=np.uint64)])
    x = np.concatenate([np.array([0, 1, 2**31, 2**32 - 1, 2**32 - 2], np.uint32),
                        rng.integers(0, 2**32, 995, dtype=np.uint64).astype(np.uint32)])
    assert a.dtype == b.dtype == np.uint64 and int(a[2]) == top  # no float round trip
    # a = b = 2^64 - 1, x = 2^32 - 1: a x + b wraps ~2^32 times; a = 1, b = 2^64 - 1, x = 1:
    # exactly 2^64, which wraps to 0
    got = universal_hash(x, a, b)
    assert got.shape == (64, 1000) and got.dtype == np.uint32
    for i, (ai, bi) in enumerate(zip(a.tolist(), b.tolist())):
        assert got[i].tolist() == [multiply_add_shift_py(ai, bi, xj) for xj in x.tolist()]


def test_hash_parameters_are_stable_and_prefix_consistent():
    a, b = hash_parameters(4, seed=1)
    # pinned: the PCG64 raw stream of seed 1 is fixed across numpy versions
    assert a.tolist() == [0x8306BDF37922E4FF, 0x24E7A4F608EC18CD, 0x4FD42FA03FCD72A9,
                          0xD3E4513345EE6D24]
    assert b.tolist() == [0xF35196BBC152A866, 0xF2DAB0AED2AC6FD2, 0x6C5F1F45DE787048,
                          0x68C1464C41CA3ACA]
    assert a.dtype == b.dtype == np.uint64
    for seed in (1, 2, 12345):  # (a_i, b_i) is the i-th pair of the raw stream, unaltered
        raw = np.random.PCG64(seed).random_raw(2 * 256).tolist()
        a2, b2 = hash_parameters(256, seed=seed)
        assert a2.tolist() == raw[0::2] and b2.tolist() == raw[1::2]
    a2, b2 = hash_parameters(256, seed=1)
    assert a2[:4].tolist() == a.tolist() and b2[:4].tolist() == b.tolist()
    assert hash_parameters(4, seed=2)[0].tolist() != a.tolist()


def _random_sets(seed: int, n: int) -> list[list[int]]:
    rng = np.random.default_rng(seed)
    return [sorted(set(rng.integers(0, 2**32, int(m), dtype=np.uint64).tolist()))
            for m in rng.integers(0, 60, n)]


def _csr(sets: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.concatenate([[0], np.cumsum([len(s) for s in sets])]).astype(np.int64)
    return offsets, np.array([x for s in sets for x in s], np.uint32)


def test_minhash_equals_brute_force_minimum():
    sets = [[], *_random_sets(5, 15), [], [], *_random_sets(6, 15), []]
    offsets, hashes = _csr(sets)
    sig = minhash(offsets, hashes, num_perm=16, seed=9)
    a, b = hash_parameters(16, seed=9)
    assert sig.values.shape == (len(sets), 16) and sig.values.dtype == np.uint32
    for d, s in enumerate(sets):
        if s:
            # the minimum of the 32-bit h, where the kernel shifts the 64-bit minimum
            expected = [min(multiply_add_shift_py(ai, bi, x) for x in s)
                        for ai, bi in zip(a.tolist(), b.tolist())]
            assert sig.values[d].tolist() == expected
    assert sig.empty.tolist() == [len(s) == 0 for s in sets]


# 7 shingles a block: documents span blocks
@pytest.mark.parametrize("block_bytes", [8 * 16 * 7, 4 * 2**20])
def test_signatures_do_not_depend_on_the_batch(block_bytes, monkeypatch):
    monkeypatch.setattr(minhash_module, "_BLOCK_BYTES", block_bytes)
    sets = _random_sets(6, 50)
    sets[5] = sets[6] = sets[23] = sets[49] = []  # empties inside, at the cut, at the end
    offsets, hashes = _csr(sets)
    whole = minhash(offsets, hashes, num_perm=16, seed=3)
    cut = 23
    first = minhash(offsets[:cut + 1], hashes, num_perm=16, seed=3)  # a view of the CSR
    second = minhash(offsets[cut:] - offsets[cut], hashes[offsets[cut]:], num_perm=16, seed=3)
    assert np.array_equal(whole.values, np.vstack([first.values, second.values]))
    assert np.array_equal(whole.empty, np.concatenate([first.empty, second.empty]))
    shorter = minhash(offsets, hashes, num_perm=8, seed=3)
    assert np.array_equal(whole.values[:, :8], shorter.values)


def test_estimate_jaccard_is_close_to_exact_jaccard():
    rng = np.random.default_rng(21)
    pairs, exact = [], []
    for target in np.linspace(0.05, 0.95, 20):
        pool = rng.choice(2**32, 300, replace=False).tolist()
        common = round(float(target) * 300)
        split = common + (300 - common) // 2
        a, b = pool[:split], pool[:common] + pool[split:]
        pairs += [sorted(a), sorted(b)]
        exact.append(len(set(a) & set(b)) / len(set(a) | set(b)))
    sig = minhash(*_csr(pairs), num_perm=256, seed=4)
    estimate = estimate_jaccard(sig.values[0::2], sig.values[1::2])
    errors = np.asarray(estimate) - np.array(exact)
    assert np.abs(errors).max() < 0.1  # 256 functions: standard error <= 0.031
    assert abs(errors.mean()) < 0.03  # unbiased


def test_empty_documents_are_flagged_never_identical():
    offsets, hashes = _csr([[], [5, 6], [], [5, 6]])
    sig = minhash(offsets, hashes, num_perm=32)
    assert sig.empty.tolist() == [True, False, True, False]
    assert (sig.values[[0, 2]] == EMPTY).all()
    assert np.isnan(estimate_jaccard(sig.values[0], sig.values[2]))
    assert np.isnan(estimate_jaccard(sig.values[0], sig.values[1]))
    assert estimate_jaccard(sig.values[1], sig.values[3]) == 1.0
    table = band_table(sig.values, sig.empty, bands=8, rows=4)
    assert set(table.doc.tolist()) == {1, 3}
    found = candidate_pairs(table)
    assert list(zip(found.first.tolist(), found.second.tolist())) == [(1, 3)]
    assert found.band_hits.tolist() == [8]


def test_minhash_rejects_bad_offsets():
    with pytest.raises(ValueError, match="offsets"):
        minhash(np.array([0, 3, 2]), np.zeros(3, np.uint32))
    with pytest.raises(ValueError, match="offsets"):
        minhash(np.array([0, 4]), np.zeros(3, np.uint32))
    with pytest.raises(ValueError, match="num_perm"):
        minhash(np.array([0]), np.zeros(0, np.uint32), num_perm=0)


# --- banding --------------------------------------------------------------------------------

@pytest.mark.parametrize(("data", "expected"), [(b"", 0xCBF29CE484222325),
                                                (b"a", 0xAF63DC4C8601EC8C),
                                                (b"foobar", 0x85944171F73967E8)])
def test_fnv1a_64_known_vectors(data, expected):
    assert fnv1a_py(data) == expected
    assert int(fnv1a_64(np.frombuffer(data, np.uint8).reshape(1, -1))[0]) == expected


def test_band_keys_are_fnv1a_of_the_band_bytes():
    values = np.random.default_rng(2).integers(0, 2**32, (7, 12), dtype=np.uint64)
    values = values.astype(np.uint32)
    keys = band_keys(values, bands=3, rows=4)
    for d, j in itertools.product(range(7), range(3)):
        band = values[d, 4 * j:4 * j + 4].tolist()
        assert int(keys[d, j]) == fnv1a_py(struct.pack("<4I", *band))
    with pytest.raises(ValueError, match="need 15"):
        band_keys(values, bands=3, rows=5)


def buckets_py(values: np.ndarray, ids: list[int], bands: int, rows: int,
               max_bucket: int) -> tuple[dict[tuple[int, int], int], list[tuple[int, int]]]:
    """Plain-Python banding: ``{(i, j): bands shared}`` and ``(band, size)`` of big buckets."""
    hits: dict[tuple[int, int], int] = {}
    big = []
    for j in range(bands):
        buckets: dict[tuple[int, ...], list[int]] = {}
        for d, doc in enumerate(ids):
            buckets.setdefault(tuple(values[d, j * rows:(j + 1) * rows].tolist()), []).append(doc)
        for docs in buckets.values():
            if len(docs) > max_bucket:
                big.append((j, len(docs)))
                continue
            for pair in itertools.combinations(sorted(docs), 2):
                hits[pair] = hits.get(pair, 0) + 1
    return hits, sorted(big)


@pytest.mark.parametrize("offset", [0, 2**40])  # ids from 2^32 take the two-key sort
def test_candidate_pairs_equal_brute_force(offset):
    rng = np.random.default_rng(8)
    values = rng.integers(0, 3, (60, 24)).astype(np.uint32)  # a band matches w.p. 3^-4
    values[40:45] = values[10]  # near-duplicates: a few rows changed
    values[40:45, rng.integers(0, 24, 5)] = 7
    ids = [offset + 3 * d for d in range(60)]  # not positions
    table = band_table(values, np.zeros(60, bool), bands=6, rows=4, docs=np.array(ids))
    found = candidate_pairs(table, max_bucket=1000)
    hits, big = buckets_py(values, ids, 6, 4, 1000)
    got = dict(zip(zip(found.first.tolist(), found.second.tolist()), found.band_hits.tolist()))
    assert got == hits and big == [] and len(hits) > 30
    assert list(got) == sorted(got)  # lexicographic


def test_oversized_buckets_are_reported_not_expanded():
    rng = np.random.default_rng(9)
    values = rng.integers(0, 2, (40, 8)).astype(np.uint32)
    values[:10] = 5  # ten identical documents: one bucket of 10 in each of the 4 bands
    table = band_table(values, np.zeros(40, bool), bands=4, rows=2)
    found = candidate_pairs(table, max_bucket=5)
    hits, big = buckets_py(values, list(range(40)), 4, 2, 5)
    got = dict(zip(zip(found.first.tolist(), found.second.tolist()), found.band_hits.tolist()))
    assert got == hits
    assert not any(i < 10 for i, _ in got)
    assert sorted(zip(found.oversized_band.tolist(), found.oversized_size.tolist())) == big
    assert (0, 10) in big and len(big) >= 4
    keys = band_keys(values[:1], bands=4, rows=2)[0]
    assert set(found.oversized_key.tolist()) >= set(keys.tolist())


def test_candidate_pairs_reject_malformed_tables():
    twice = BandTable(np.array([1, 1]), np.array([0, 0], np.int32), np.array([7, 7], np.uint64))
    with pytest.raises(ValueError, match="twice"):
        candidate_pairs(twice)
    negative = BandTable(np.array([-1, 2]), np.zeros(2, np.int32), np.zeros(2, np.uint64))
    with pytest.raises(ValueError, match="non-negative"):
        candidate_pairs(negative)
    none = candidate_pairs(BandTable(np.zeros(0, np.int64), np.zeros(0, np.int32),
                                     np.zeros(0, np.uint64)))
    assert len(none.first) == 0 and len(none.oversized_size) == 0


# --- S-curve --------------------------------------------------------------------------------

def test_s_curve_matches_the_book():
    # §3.4.2, b = 20, r = 5: Figure 3.8's values and "0.99965" at s = 0.8; threshold ~ 0.55
    book = {0.2: 0.006, 0.3: 0.047, 0.4: 0.186, 0.5: 0.470, 0.6: 0.802, 0.7: 0.975}
    got = candidate_probability(np.array(list(book)), bands=20, rows=5)
    assert np.allclose(got, list(book.values()), atol=5e-4)
    assert abs(float(candidate_probability(0.8, bands=20, rows=5)) - 0.99965) < 1e-5  # rounded
    assert abs(approximate_threshold(bands=20, rows=5) - 0.549) < 1e-3
    s, p = s_curve_table(bands=20, rows=5, points=11)
    assert s[0] == 0.0 and s[-1] == 1.0 and p[0] == 0.0 and p[-1] == 1.0
    assert np.all(np.diff(p) > 0)
    assert np.allclose(p, 1 - (1 - s**5) ** 20, atol=1e-15)


@pytest.mark.parametrize(("t", "b", "r"), [(0.5, 20, 5), (0.8, 9, 13), (0.3, 1, 1),
                                           (0.9, 64, 2)])
def test_error_areas_match_quad(t, b, r):
    fp, fn = error_areas(t, bands=b, rows=r)
    qfp = quad(lambda s: 1 - (1 - s**r) ** b, 0, t)[0]
    qfn = quad(lambda s: (1 - s**r) ** b, t, 1)[0]
    assert abs(fp - qfp) < 1e-10 and abs(fn - qfn) < 1e-10


@pytest.mark.parametrize("num_perm", [64, 128])
@pytest.mark.parametrize("weights", [(0.5, 0.5), (0.2, 0.8), (0.05, 0.95)])
def test_choice_equals_datasketch(num_perm, weights):
    """Same search space (b r <= num_perm), order and objective as ``_optimal_param``; its
    areas come from ``quad`` (error ~1e-14 here), ours are exact, so only a near-tie could
    split the two, and none does at these thresholds."""
    for t in (0.3, 0.5, 0.7, 0.8, 0.9):
        chosen = choose_bands(t, num_perm=num_perm, fp_weight=weights[0], fn_weight=weights[1])
        assert (chosen.bands, chosen.rows) == _optimal_param(t, num_perm, *weights), t


def test_weighing_misses_more_lowers_the_threshold():
    chosen = [choose_bands(0.8, fp_weight=1 - w, fn_weight=w) for w in (0.5, 0.8, 0.95, 0.99)]
    at_t = [float(candidate_probability(0.8, bands=c.bands, rows=c.rows)) for c in chosen]
    assert at_t == sorted(at_t) and at_t[0] < 0.5 and at_t[2] > 0.9
    assert [c.threshold for c in chosen] == sorted((c.threshold for c in chosen), reverse=True)
    default = choose_bands(0.8)
    assert (default.bands, default.rows) == (16, 8)
    with pytest.raises(ValueError, match="threshold"):
        choose_bands(1.0)
    with pytest.raises(ValueError, match="weight"):
        choose_bands(0.5, fp_weight=0, fn_weight=0)

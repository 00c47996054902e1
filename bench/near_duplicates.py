"""Synthetic near-duplicate documents, deterministic by seed, and their exact similar pairs.

A corpus of ``n`` documents, one a line, ``doc_id<TAB>text`` (read it with
``read_documents(spark, path, layout="lines", id_column=0)``; ``doc_id`` is the 0-based line
number as a string). Made in blocks of ``BLOCK`` documents, each with its own draws:

* ``(1 - DUP_FRACTION)`` of a block are random texts of 50-200 words (uniform length), drawn
  independently from a Zipf vocabulary of ``VOCAB`` words (the word of rank ``k`` with
  probability proportional to ``1 / k``; frequent words are short, as in a language);
* the other ``DUP_FRACTION`` are near-duplicates: a copy of a random original of the same
  block with ``e`` word edits at random positions (a third each: substitution by a Zipf word,
  insertion of one, deletion). Each edit changes about 5 of the ``S = L - 4`` word
  5-shingles of both copies, so a target similarity ``t ~ U(0.5, 1.0)`` gives
  ``e = round(S (1 - t) / (5 (1 + t)))`` and a Jaccard similarity near ``t`` (lower where
  edits overlap, exactly 1 when ``e = 0``: about 8% of them). Copies are made of originals
  only, but two copies of one original may be a similar pair too;
* the block is shuffled, so duplicates are not next to their originals.

Texts are lowercase ASCII words joined by one blank, so every tool's shingling (split on
whitespace, lowercase) sees the same word 5-shingles. The word ids are kept beside the text
(``.npz``), so :func:`near_pairs` computes the exact answer in numpy (5-grams of word ids are
the shingles, injectively encoded in int64), where a plain-Python oracle would need tens of
GB at 1M documents. Files are cached under ``$MINING_BENCH_CACHE`` (default
``/tmp/mining-bench-cache``), as :mod:`bench.quest` does; 1M documents are about 0.8 GB of text.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

CACHE = Path(os.environ.get("MINING_BENCH_CACHE", "/tmp/mining-bench-cache"))
SIZES = {"near-100k": 100_000, "near-1m": 1_000_000}
VOCAB = 50_000  # < 2^16: word ids are uint16
BLOCK = 100_000
DUP_FRACTION = 0.05
MIN_WORDS, MAX_WORDS = 50, 200
K = 5  # word shingle length


def _vocabulary(rng: np.random.Generator) -> list[str]:
    """``VOCAB`` distinct lowercase words, rank 0 the most frequent and the shortest."""
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    ranks = np.arange(VOCAB)
    lengths = np.clip(2 + np.log(ranks + 1).astype(int) // 2 + rng.integers(0, 3, VOCAB), 2, 12)
    words: list[str] = []
    seen: set[str] = set()
    for n in lengths.tolist():
        while True:
            w = "".join(rng.choice(letters, n))
            if w not in seen:
                seen.add(w)
                words.append(w)
                break
    return words


def _zipf(rng: np.random.Generator, cdf: np.ndarray, size: int) -> np.ndarray:
    return np.searchsorted(cdf, rng.random(size), side="right").astype(np.uint16)


def _edit(rng: np.random.Generator, cdf: np.ndarray, words: np.ndarray) -> np.ndarray:
    """A near-duplicate of ``words``: edits for a target 5-shingle Jaccard ~ U(0.5, 1)."""
    target = rng.uniform(0.5, 1.0)
    s = len(words) - K + 1
    edits = round(s * (1 - target) / (K * (1 + target)))
    out = list(words.tolist())
    for _ in range(edits):
        kind = int(rng.integers(0, 3))
        at = int(rng.integers(0, len(out)))
        if kind == 0:
            out[at] = int(_zipf(rng, cdf, 1)[0])
        elif kind == 1:
            out.insert(at, int(_zipf(rng, cdf, 1)[0]))
        elif len(out) > K:
            del out[at]
    return np.array(out, np.uint16)


def _blocks(n_docs: int, seed: int) -> Iterator[tuple[list[str], np.ndarray, np.ndarray]]:
    """``(vocabulary, word ids, per-document lengths)`` of every block, in file order."""
    rng = np.random.default_rng(seed)
    vocab = _vocabulary(rng)
    weights = 1.0 / np.arange(1, VOCAB + 1)
    cdf = np.cumsum(weights / weights.sum())
    cdf[-1] = 1.0
    for lo in range(0, n_docs, BLOCK):
        n = min(BLOCK, n_docs - lo)
        n_dup = round(n * DUP_FRACTION)
        n_orig = n - n_dup
        lengths = rng.integers(MIN_WORDS, MAX_WORDS + 1, n_orig)
        flat = _zipf(rng, cdf, int(lengths.sum()))
        starts = np.concatenate([[0], np.cumsum(lengths)])
        docs = [flat[starts[i]:starts[i + 1]] for i in range(n_orig)]
        sources = rng.integers(0, n_orig, n_dup)
        docs += [_edit(rng, cdf, docs[src]) for src in sources.tolist()]
        order = rng.permutation(n)
        docs = [docs[i] for i in order.tolist()]
        yield vocab, np.concatenate(docs), np.array([len(d) for d in docs], np.int64)


def _paths(n_docs: int, seed: int) -> tuple[Path, Path]:
    stem = f"near-dup-n{n_docs}-seed{seed}"
    return CACHE / f"{stem}.tsv", CACHE / f"{stem}.npz"


def near_duplicates_file(n_docs: int, *, seed: int = 11) -> Path:
    """The corpus file of ``n_docs`` documents (and its ``.npz`` of word ids), made once."""
    text, ids = _paths(n_docs, seed)
    if text.is_file() and ids.is_file():
        return text
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp_text, tmp_ids = text.with_suffix(".tmp"), ids.with_suffix(".tmp.npz")
    all_words, all_lengths = [], []
    doc = 0
    with open(tmp_text, "w", encoding="ascii") as fh:
        for vocab, words, lengths in _blocks(n_docs, seed):
            all_words.append(words)
            all_lengths.append(lengths)
            bounds = np.concatenate([[0], np.cumsum(lengths)]).tolist()
            flat = words.tolist()
            fh.write("".join(
                f"{doc + i}\t{' '.join(map(vocab.__getitem__, flat[bounds[i]:bounds[i + 1]]))}\n"
                for i in range(len(lengths))))
            doc += len(lengths)
    np.savez(tmp_ids, words=np.concatenate(all_words), lengths=np.concatenate(all_lengths))
    tmp_ids.replace(ids)
    tmp_text.replace(text)
    return text


def _dense(keys: np.ndarray) -> np.ndarray:
    """Dense ids ``0..u-1`` of int64 ``keys`` (equal keys, equal ids)."""
    return np.unique(keys, return_inverse=True)[1].astype(np.int64)


def near_pairs(n_docs: int, *, threshold: float, seed: int = 11) -> dict[tuple[str, str], float]:
    """Exact ``{(doc_a, doc_b): jaccard}`` of the word 5-shingle sets, ``doc_a < doc_b``.

    The shingles are the 5-grams of word ids (every document has at least ``K`` words), as
    ``tri * V^2 + w3 * V + w4`` with ``tri`` the dense id of ``(w0, w1, w2)``: an injective
    int64 key. Then ``A Aᵀ`` of the document x shingle incidence matrix by scipy, as the
    plain-Python oracle does over the shingle strings. Cached beside the corpus.
    """
    import scipy.sparse as sp

    near_duplicates_file(n_docs, seed=seed)
    _, ids = _paths(n_docs, seed)
    cache = ids.with_name(f"{ids.stem}-pairs-{threshold}.npz")
    if cache.is_file():
        got = np.load(cache)
        return {(str(a), str(b)): float(j) for a, b, j in zip(
            got["a"].tolist(), got["b"].tolist(), got["jaccard"].tolist())}
    with np.load(ids) as data:
        words, lengths = data["words"], data["lengths"]
    if lengths.min() < K:
        raise AssertionError("a document of fewer than K words: near_pairs assumes none")
    n_sh = lengths - K + 1
    doc = np.repeat(np.arange(len(lengths), dtype=np.int32), n_sh)
    # first word of every shingle: document start + position within the document
    pos = np.arange(int(n_sh.sum()), dtype=np.int64)
    pos += np.repeat(np.cumsum(lengths) - lengths - (np.cumsum(n_sh) - n_sh), n_sh)

    # (w0, w1, w2) to a dense id, then (id, w3, w4) to the shingle's column; words[j:][pos] is
    # words[pos + j] without a temporary index array
    col = words[pos].astype(np.int64)
    for j in range(1, K):
        col *= VOCAB
        col += words[j:][pos]
        if j in (2, K - 1):
            col = _dense(col)
    del pos
    a = sp.csr_matrix((np.ones(len(col), np.int32), (doc, col)),
                      shape=(len(lengths), int(col.max()) + 1))
    a.sum_duplicates()
    a.data[:] = 1  # sets: a shingle twice in a document counts once
    sizes = np.asarray(a.sum(axis=1)).ravel()
    common = sp.triu(a @ a.T, k=1).tocoo()
    jac = common.data / (sizes[common.row] + sizes[common.col] - common.data)
    keep = jac >= threshold
    rows, cols, jac = common.row[keep], common.col[keep], jac[keep]
    # doc ids are strings: order each pair as strings ("10" < "9")
    sa, sb = rows.astype(str), cols.astype(str)
    swap = sa > sb
    sa, sb = np.where(swap, sb, sa), np.where(swap, sa, sb)
    tmp = cache.with_suffix(".tmp.npz")
    np.savez(tmp, a=sa, b=sb, jaccard=jac)
    tmp.replace(cache)
    return {(str(x), str(y)): float(j) for x, y, j in zip(sa.tolist(), sb.tolist(), jac.tolist())}

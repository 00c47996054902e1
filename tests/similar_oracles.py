"""Independent answers for the similar-items tests: plain-Python shingles, exact Jaccard by scipy.

The oracle never calls the library's kernels: shingles are strings built with ``str.split``
and slicing, and every pair's Jaccard similarity is ``|A ∩ B| / |A ∪ B|`` from a sparse
``A Aᵀ`` over those strings (cached per corpus and options for the session).
"""

from __future__ import annotations

import unicodedata

import numpy as np
import scipy.sparse as sp

from mining.similar import STOP_WORDS


def normalize_py(text: str, *, lowercase: bool, strip: bool, collapse: bool) -> str:
    if lowercase:
        text = text.lower()
    if strip:
        text = "".join(c for c in text if unicodedata.category(c)[0] not in "PS")
    return " ".join(text.split()) if collapse else text


def shingles_py(text: str, *, kind: str, k: int, lowercase: bool = True, strip: bool = False,
                collapse: bool = True, keep_short: bool = True,
                stop_words: frozenset[str] = STOP_WORDS) -> set[str]:
    norm = dict(lowercase=lowercase, strip=strip, collapse=collapse or kind != "char")
    t = normalize_py(text, **norm)
    units: str | list[str] = t if kind == "char" else t.split()
    join = "".join if kind == "char" else " ".join
    if kind == "stopword":
        stops = {normalize_py(w, **norm) for w in stop_words}
        return {join(units[i:i + k]) for i in range(len(units) - k + 1) if units[i] in stops}
    if 0 < len(units) < k:
        return {join(units)} if keep_short else set()
    return {join(units[i:i + k]) for i in range(len(units) - k + 1)}


def exact_pairs(doc_ids: list[str], texts: list[str], *, threshold: float, kind: str = "word",
                k: int = 5) -> dict[tuple[str, str], float]:
    """``{(a, b): jaccard}`` for every pair ``a < b`` with Jaccard >= threshold (non-empty)."""
    vocab: dict[str, int] = {}
    rows, cols = [], []
    for i, text in enumerate(texts):
        for s in shingles_py(text, kind=kind, k=k):
            rows.append(i)
            cols.append(vocab.setdefault(s, len(vocab)))
    a = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(texts), len(vocab)))
    sizes = np.asarray(a.sum(axis=1)).ravel()
    common = sp.triu(a @ a.T, k=1).tocoo()
    union = sizes[common.row] + sizes[common.col] - common.data
    jac = common.data / union
    out = {}
    for i, j, v in zip(common.row.tolist(), common.col.tolist(), jac.tolist()):
        if v >= threshold:
            x, y = sorted((doc_ids[i], doc_ids[j]))
            out[(x, y)] = v
    return out

"""Normalized text as numpy code points, and the spans of its words and windows (MMDS §3.2).

The helpers of :class:`~mining.similar._hashing.Shingling`: a batch of texts becomes one uint32
code-point array (UTF-32 of the joined texts) with each text's length, and shingles become
``(start, end)`` spans of it, so that no Python code runs per character, word or shingle.

Normalization, in this order: lower case (``str.lower``, per text: it may change a length);
punctuation deleted (Unicode categories P* and S*, exactly ``string.punctuation`` on ASCII);
every run of whitespace (``str.isspace``) to one blank, none at either end (§3.2.2).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import numpy as np

__all__ = ["BLANK", "STOP_WORDS", "is_stop_word", "normalized", "windows", "words"]

# common English function words; the book's examples "the", "and", "to", "you" among them
_STOP_TEXT = """
a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further
had has have having he her here hers herself him himself his how i if in into is it its itself
just me more most my myself no nor not of off on once only or other our ours ourselves out
over own same she should so some such than that the their theirs them themselves then there
these they this those through to too under until up very was we were what when where which
while who whom why will with would you your yours yourself yourselves
"""
STOP_WORDS: frozenset[str] = frozenset(_STOP_TEXT.split())

BLANK = 32
_SPACE, _PUNCT = 1, 2
_CLASSES = [np.zeros(0, np.uint8)]  # flags per code point, grown on demand (see _classes)


def _classes(top: int) -> np.ndarray:
    """Flags of at least the code points below ``top``: 1 whitespace, 2 punctuation/symbol.

    Built on first need for 128, 2^16 or all 0x110000 code points (the last ~0.5 s, once per
    process), so ASCII text never pays for the Unicode table.
    """
    if len(_CLASSES[0]) < top:
        size = next(s for s in (128, 2**16, 0x110000) if s >= top)
        flags = (_SPACE if chr(c).isspace() else
                 _PUNCT if unicodedata.category(chr(c))[0] in "PS" else 0 for c in range(size))
        _CLASSES[0] = np.fromiter(flags, np.uint8, size)
    return _CLASSES[0]


def _per_text(positions: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """How many of the sorted ``positions`` fall in each text (a searchsorted per text, not a
    cumulative sum over every character)."""
    ends = np.cumsum(lens)
    return np.searchsorted(positions, ends) - np.searchsorted(positions, ends - lens)


def _edges(lens: np.ndarray, size: int, *, last: bool) -> np.ndarray:
    """Mask of each non-empty text's first (or last) character in an array of ``size``."""
    mask = np.zeros(size, bool)
    ends = np.cumsum(lens)[lens > 0]
    mask[ends - 1 if last else ends - lens[lens > 0]] = True
    return mask


def normalized(texts: Sequence[str], *, lowercase: bool, strip: bool,
               collapse: bool) -> tuple[np.ndarray, np.ndarray]:
    """The normalized texts as one uint32 code-point array, and each text's length in it.

    Lone surrogates (text decoded with ``surrogateescape``) pass through as code points.
    """
    if lowercase:
        texts = [t.lower() for t in texts]
    lens = np.fromiter(map(len, texts), np.int64, len(texts))
    cp = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), "<u4")
    if not (strip or collapse) or cp.size == 0:
        return cp, lens
    flags = _classes(int(cp.max()) + 1)[cp]
    if strip and (punct := flags == _PUNCT).any():
        lens = lens - _per_text(np.flatnonzero(punct), lens)
        cp, flags = cp[~punct], flags[~punct]
    if collapse:
        blank = flags == _SPACE
        if (blank & (cp != BLANK)).any():
            cp = np.where(blank, np.uint32(BLANK), cp)
        # a run keeps its first blank unless the run opens its text...
        after_blank = np.concatenate([[False], blank[:-1]])
        drop = blank & (after_blank | _edges(lens, len(cp), last=False))
        if drop.any():
            lens = lens - _per_text(np.flatnonzero(drop), lens)
            cp, blank = cp[~drop], blank[~drop]
        # ...or closes it (runs are single blanks by now)
        drop = blank & _edges(lens, len(cp), last=True)
        if drop.any():
            lens = lens - _per_text(np.flatnonzero(drop), lens)
            cp = cp[~drop]
    return cp, lens


def windows(units: np.ndarray, begins: np.ndarray, k: int,
            keep_short: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray | int]:
    """The windows of ``k`` consecutive units (characters or words) of every text.

    ``units[i]`` units of text ``i`` start at global index ``begins[i]``. Returns the number of
    windows per text, each window's first unit (global) and the windows' width: ``k``, or an
    array when ``keep_short`` makes a shorter text (``0 < units < k``) one window of itself.
    """
    count = np.maximum(units - k + 1, 0)
    short = (units > 0) & (units < k) if keep_short else np.zeros(len(units), bool)
    count[short] = 1
    first = np.arange(int(count.sum()), dtype=np.int64)
    first += np.repeat(begins - (np.cumsum(count) - count), count)
    width: np.ndarray | int = np.repeat(np.minimum(units, k), count) if short.any() else k
    return count, first, width


def words(cp: np.ndarray, lens: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Word starts and ends in collapsed texts (single inner blanks), and words per text."""
    ends = np.cumsum(lens)
    blanks = np.flatnonzero(cp == BLANK)
    opens = _edges(lens, len(cp) + 1, last=False)
    opens[blanks + 1] = True
    closes = np.zeros(len(cp) + 1, bool)
    closes[ends[lens > 0]] = True
    closes[blanks] = True
    starts = np.flatnonzero(opens)
    return starts, np.flatnonzero(closes), _per_text(starts, lens)


def is_stop_word(cp: np.ndarray, start: np.ndarray, end: np.ndarray, word_hash: np.ndarray,
                 stop_cp: np.ndarray, stop_lens: np.ndarray,
                 stop_hash: np.ndarray) -> np.ndarray:
    """Which words ``cp[start:end]`` are stop words: a hash match, then code points compared.

    ``stop_cp``/``stop_lens``: the stop words as normalized code points; ``word_hash`` and
    ``stop_hash`` any hash of both. The comparison makes the answer exact whatever the
    hashes; stop words sharing a hash are tried in turn.
    """
    stop_start = np.cumsum(stop_lens) - stop_lens
    order = np.argsort(stop_hash, kind="stable")
    stop_hash, stop_start, stop_lens = stop_hash[order], stop_start[order], stop_lens[order]
    found = np.zeros(len(start), bool)
    if len(stop_hash) == 0:
        return found
    # searchsorted, not np.isin: isin argsorts all the words (measured 4x slower)
    first = np.searchsorted(stop_hash, word_hash)
    maybe = np.flatnonzero(stop_hash[np.minimum(first, len(stop_hash) - 1)] == word_hash)
    first = first[maybe]
    width, at = end[maybe] - start[maybe], start[maybe]
    shares = np.unique(stop_hash, return_counts=True)[1].max(initial=0)
    for shift in range(int(shares)):
        j = np.minimum(first + shift, len(stop_hash) - 1)
        same = (stop_hash[j] == word_hash[maybe]) & (stop_lens[j] == width)
        for t in range(int(stop_lens.max())):
            rows = np.flatnonzero(same & (t < width))  # few after the shortest stop words
            same[rows] = cp[at[rows] + t] == stop_cp[stop_start[j[rows]] + t]
        found[maybe[same]] = True
    return found

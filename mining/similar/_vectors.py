"""Random hyperplanes and projections (MMDS §3.7.2-3.7.4) of vectors, as numpy kernels.

Cosine distance (§3.5.4: the angle, 0-180 degrees): a random hyperplane through the origin
separates vectors at angle ``θ`` with probability ``θ / 180`` (§3.7.2); a sketch is the bits
``v · h_i > 0`` for the normals ``h_i`` (§3.7.3). Normals of components ±1 (the book's, the
default) give ``θ / 180`` only as far as ``v · h`` is nearly normal, for vectors of many
comparable components (2-D has two ±1 planes); ``gaussian`` ones are isotropic, exact
(Charikar, STOC 2002). Euclidean distance (§3.7.4): random lines (unit ``u_i``, normalized
Gaussians) in buckets of width ``w`` offset by a random ``b_i`` in ``[0, w)`` (Datar et al.,
SCG 2004; MLlib's BucketedRandomProjectionLSH has no offset): ``floor((v · u_i + b_i) / w)``;
in ``d`` dimensions ``u · (p - q)`` is about ``|p - q| / sqrt(d)``, the scale for ``w``
(:func:`projection_collision_probability`). Both band by FNV-1a 64 keys into a BandTable.

Parameters come from the raw 64-bit stream of ``numpy.random.default_rng(seed)``'s bit
generator, fixed for a seed in every numpy version (as for ``_minhash.hash_parameters``), not
from ``Generator.normal``, whose stream numpy promises for a given seed within a version only
(NEP 19). ±1 normals are bits of the stream, identical on every machine; Gaussians are
Box-Muller over the top 53 bits of raw draws, identical up to the ulp by which numpy's
``log``/``cos``/``sin`` may differ between CPUs (SIMD paths), which moves a bit or bucket only
for a dot product within rounding of its boundary. The first ``k`` of ``n`` planes
(projections) are those of ``k``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.special import beta, betainc

from mining._arrays import ranges
from mining.similar._banding import fnv1a_64
from mining.similar._scurve import candidate_probability

__all__ = ["Sketches", "SparseRows", "cosine_candidate_probability", "cosine_distance_pairs",
           "cosine_sketches", "euclidean_distance_pairs", "hyperplanes", "projection_buckets",
           "projection_collision_probability", "projection_parameters", "vector_band_keys"]

_BLOCK_ELEMENTS = 2**19  # float64 terms (4 MiB) per block of the pair distances
_UNIT = 2.0**-53  # the top 53 bits of a raw draw, times this: a uniform double in [0, 1)


@dataclass(frozen=True)
class SparseRows:
    """CSR vectors: row ``i`` has ``values[k]`` at ``indices[k]``, ``offsets[i] <= k <
    offsets[i + 1]`` (offsets may index larger buffers, as Arrow's do). Checked, rebased."""

    indices: np.ndarray  # integers in [0, dim), strictly increasing within a row (int32)
    values: np.ndarray  # float64, finite
    offsets: np.ndarray  # int64, non-decreasing, n + 1
    dim: int

    def __post_init__(self) -> None:
        idx, off = np.asarray(self.indices), np.asarray(self.offsets, np.int64)
        val = np.asarray(self.values, np.float64)
        _positive(dim=self.dim)
        if self.dim > 2**31 or idx.dtype.kind not in "iu":
            raise ValueError(f"indices must be integers and dim <= 2^31, got {idx.dtype}")
        if off.ndim != 1 or len(off) < 1 or (np.diff(off) < 0).any() or off[0] < 0 \
                or off[-1] > len(idx) or len(val) != len(idx):
            raise ValueError("offsets must be non-decreasing indices into indices and values "
                             "(as many), one more than the rows")
        lo, hi = int(off[0]), int(off[-1])
        seg, val = idx[lo:hi], val[lo:hi]
        flat = np.repeat(np.arange(len(off) - 1), np.diff(off)) * self.dim + seg.astype(np.int64)
        if len(seg) and (seg.min() < 0 or seg.max() >= self.dim or (np.diff(flat) <= 0).any()
                         or not np.isfinite(val).all()):
            raise ValueError(f"indices must be in [0, {self.dim}) and increase within a row, "
                             "values must be finite")
        for name, array in ("indices", seg), ("values", val), ("offsets", off - lo):
            object.__setattr__(self, name, array)


Vectors = np.ndarray | SparseRows  # dense (n, d) float64, or CSR


@dataclass(frozen=True)
class Sketches:
    """Random-hyperplane sketches (MMDS §3.7.3): the fraction of two sketches' bits that
    differ estimates ``p = θ / 180``, with standard error ``sqrt(p (1 - p) / n_planes)``."""

    bits: np.ndarray  # (n, n_planes) bool: v · h_i > 0 (a dot product of 0 gives False)
    empty: np.ndarray  # (n,) bool: zero vectors (all bits False), at no angle to anything


def _positive(**values: object) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _width(bucket_width: float) -> float:
    if not np.isfinite(bucket_width) or bucket_width <= 0:
        raise ValueError(f"bucket_width must be positive and finite, got {bucket_width!r}")
    return float(bucket_width)


def _vectors(vectors: Vectors) -> tuple[Vectors, int, int]:
    """The vectors (dense ones as finite float64), their number and dimension."""
    if isinstance(vectors, SparseRows):
        return vectors, len(vectors.offsets) - 1, vectors.dim
    x = np.asarray(vectors, np.float64)
    if x.ndim != 2 or x.shape[1] < 1 or not np.isfinite(x).all():
        raise ValueError(f"vectors must be a finite (n, d) matrix with d >= 1, got {x.shape}")
    return x, x.shape[0], x.shape[1]


def _norms(x: Vectors) -> np.ndarray:
    if isinstance(x, SparseRows):
        row = np.repeat(np.arange(len(x.offsets) - 1), np.diff(x.offsets))
        return np.sqrt(np.bincount(row, weights=x.values ** 2, minlength=len(x.offsets) - 1))
    return np.linalg.norm(x, axis=1)


def _dots(x: Vectors, directions: np.ndarray) -> np.ndarray:
    """``(n, k)`` dot products with the rows of ``directions``; CSR is never densified."""
    if isinstance(x, SparseRows):
        x = sp.csr_array((x.values, x.indices, x.offsets), shape=(len(x.offsets) - 1, x.dim))
    return np.asarray(x @ directions.T)


def _gaussian_rows(seed: int, k: int, d: int, extra: int) -> tuple[np.ndarray, np.ndarray]:
    """``(k, d)`` standard normals and ``(k, extra)`` uniforms from ``2 ceil(d/2) + extra``
    raw draws per row; Box-Muller turns draws ``2j, 2j + 1`` into normals ``2j, 2j + 1``."""
    m = 2 * ((d + 1) // 2)
    raw = np.random.default_rng(seed).bit_generator.random_raw(k * (m + extra))
    u = ((raw >> np.uint64(11)).astype(np.float64) * _UNIT).reshape(k, m + extra)
    radius = np.sqrt(-2.0 * np.log(1.0 - u[:, 0:m:2]))  # 1 - u is exact, in (0, 1]
    turn = 2.0 * np.pi * u[:, 1:m:2]
    z = np.stack([radius * np.cos(turn), radius * np.sin(turn)], axis=-1).reshape(k, m)
    return np.ascontiguousarray(z[:, :d]), u[:, m:]


def hyperplanes(d: int, n_planes: int, *, seed: int, gaussian: bool = False) -> np.ndarray:
    """``(n_planes, d)`` float64 normals of random hyperplanes through the origin (§3.7.2).

    Default: components ±1 (MMDS §3.7.3), component ``j`` of plane ``i`` +1 where bit
    ``t = i d + j`` of the raw stream (bit ``t mod 64`` of draw ``t // 64``) is set; else,
    ``gaussian``, independent standard normals (see the module docstring)."""
    _positive(d=d, n_planes=n_planes)
    if gaussian:
        return _gaussian_rows(seed, n_planes, d, 0)[0]
    raw = np.random.default_rng(seed).bit_generator.random_raw(-(-d * n_planes // 64))
    bits = np.unpackbits(raw.astype("<u8").view(np.uint8), bitorder="little")
    return np.where(bits[:d * n_planes].reshape(n_planes, d) == 1, 1.0, -1.0)


def projection_parameters(d: int, n_projections: int, *, bucket_width: float,
                          seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(n_projections, d)`` random unit directions and their offsets in ``[0, w)``."""
    _positive(d=d, n_projections=n_projections)
    z, extra = _gaussian_rows(seed, n_projections, d, 1)
    return z / np.linalg.norm(z, axis=1, keepdims=True), extra[:, 0] * _width(bucket_width)


def cosine_sketches(vectors: Vectors, *, n_planes: int = 128, seed: int = 1,
                    gaussian: bool = False) -> Sketches:
    """Sketches of dense ``(n, d)`` or :class:`SparseRows` vectors (MMDS §3.7.3).

    ``bits``: ``(n, n_planes)`` bool (``np.packbits(bits, axis=1)``: 8 to a byte). ``empty``:
    zero vectors (norm 0: also if all squares underflow), whose bits would share every bucket:
    leave them out of the band table as empty documents are (:func:`cosine_distance_pairs`:
    NaN). The planes: :func:`hyperplanes`."""
    vectors, _, d = _vectors(vectors)
    bits = _dots(vectors, hyperplanes(d, n_planes, seed=seed, gaussian=gaussian)) > 0
    return Sketches(bits, _norms(vectors) == 0)


def projection_buckets(vectors: Vectors, *, n_projections: int = 128, bucket_width: float,
                       seed: int = 1) -> np.ndarray:
    """``(n, n_projections)`` int64 buckets ``floor((v · u_i + b_i) / w)`` (MMDS §3.7.4), ``u_i``
    and ``b_i`` from :func:`projection_parameters`; a zero vector is a point like any other."""
    vectors, _, d = _vectors(vectors)
    directions, offsets = projection_parameters(d, n_projections, bucket_width=bucket_width,
                                                seed=seed)
    with np.errstate(over="ignore", invalid="ignore"):  # inf or NaN: the ValueError below
        q = np.floor((_dots(vectors, directions) + offsets) / _width(bucket_width))
    if not (np.abs(q) < 2.0**62).all():  # at 2^63, inf or NaN the int64 cast is undefined
        raise ValueError("bucket numbers reach 2^62: bucket_width is too small for the data")
    return q.astype(np.int64)


def vector_band_keys(codes: np.ndarray, *, bands: int, rows: int) -> np.ndarray:
    """``(n, bands)`` uint64 FNV-1a 64 keys of bands of sketch bits or buckets (§3.4.1): of
    the little-endian bytes of a band's ``rows`` values, one (0 or 1) per bool, eight per
    integer of any dtype (equal values, equal keys). Then, as in ``band_table``:
    ``BandTable(np.repeat(ids, bands), np.tile(np.arange(bands), n), keys.ravel())``."""
    codes = np.asarray(codes)
    if codes.ndim != 2 or not (codes.dtype == bool or np.issubdtype(codes.dtype, np.integer)):
        raise ValueError("codes must be an (n, values) bool or integer matrix")
    _positive(bands=bands, rows=rows)
    if bands * rows > codes.shape[1]:
        raise ValueError(f"{bands} bands of {rows} rows need {bands * rows} values, "
                         f"the codes have {codes.shape[1]}")
    kind = np.uint8 if codes.dtype == bool else "<i8" if codes.dtype.kind == "i" else "<u8"
    data = np.ascontiguousarray(codes[:, :bands * rows], kind).view(np.uint8)
    return fnv1a_64(data.reshape(len(codes), bands, -1))


def _pairs(vectors: Vectors, first: np.ndarray,
           second: np.ndarray) -> tuple[Vectors, np.ndarray, np.ndarray]:
    vectors, n, _ = _vectors(vectors)
    f, s = np.asarray(first, np.int64), np.asarray(second, np.int64)
    if f.ndim != 1 or f.shape != s.shape or not ((f >= 0) & (f < n) & (s >= 0) & (s < n)).all():
        raise ValueError(f"first and second must be 1-D, of one length, in [0, {n})")
    return vectors, f, s


def _blocks(cost: np.ndarray) -> Iterator[tuple[int, int]]:
    """Consecutive ``[lo, hi)`` costing under ``_BLOCK_ELEMENTS`` plus one item (costs >= 1)."""
    cum = np.cumsum(cost)
    cuts = np.searchsorted(cum, np.arange(0, cum[-1] if len(cum) else 0, _BLOCK_ELEMENTS), "right")
    edges = np.unique(cuts).tolist()
    return zip(edges, [*edges[1:], len(cost)])


def _combined_norms(x: Vectors, f: np.ndarray, s: np.ndarray, wf: np.ndarray,
                    ws: np.ndarray) -> np.ndarray:
    """``|wf_p x[f_p] + ws_p x[s_p]|`` per pair, from the combination itself (not from
    ``|a|^2 + |b|^2 - 2 a · b``, whose error near duplicates is ``sqrt(eps) |a|``)."""
    out = np.empty(len(f))
    if not isinstance(x, SparseRows):
        for lo, hi in _blocks(np.full(len(f), x.shape[1])):
            t = wf[lo:hi, None] * x[f[lo:hi]] + ws[lo:hi, None] * x[s[lo:hi]]
            out[lo:hi] = np.sqrt(np.einsum("ij,ij->i", t, t))
        return out
    lengths = np.diff(x.offsets)
    for lo, hi in _blocks(lengths[f] + lengths[s] + 1):  # + 1: pairs of empty rows cost too
        lf, ls = lengths[f[lo:hi]], lengths[s[lo:hi]]
        at_f, at_s = ranges(x.offsets[f[lo:hi]], lf), ranges(x.offsets[s[lo:hi]], ls)
        pair = np.arange(hi - lo, dtype=np.int64)
        key = np.concatenate([np.repeat(pair, lf) * x.dim + x.indices[at_f],
                              np.repeat(pair, ls) * x.dim + x.indices[at_s]])
        term = np.concatenate([np.repeat(wf[lo:hi], lf) * x.values[at_f],
                               np.repeat(ws[lo:hi], ls) * x.values[at_s]])
        order = np.argsort(key, kind="stable")  # a shared component: its two terms adjacent
        key, term = key[order], term[order]
        start = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]]))
        part = np.add.reduceat(term, start) if len(key) else term  # the combined components
        out[lo:hi] = np.sqrt(np.bincount(key[start[:len(key)]] // x.dim,
                                         weights=part * part, minlength=hi - lo))
    return out


def euclidean_distance_pairs(vectors: Vectors, first: np.ndarray,
                             second: np.ndarray) -> np.ndarray:
    """Exact Euclidean distances (§3.5.2) of vectors ``first[p]`` and ``second[p]``."""
    vectors, f, s = _pairs(vectors, first, second)
    return _combined_norms(vectors, f, s, np.ones(len(f)), -np.ones(len(f)))


def cosine_distance_pairs(vectors: Vectors, first: np.ndarray,
                          second: np.ndarray) -> np.ndarray:
    """Exact cosine distances of ``first[p]`` and ``second[p]``: angles in degrees, 0-180.

    The angle is MMDS §3.5.4's cosine distance (scipy's ``cosine`` is ``1 - cos θ``), here
    ``2 atan2(|â - b̂|, |â + b̂|)`` of the unit vectors (Kahan): accurate at every angle, where
    ``arccos`` loses half the digits near 0 and 180. NaN if either is zero (``Sketches.empty``).
    """
    vectors, f, s = _pairs(vectors, first, second)
    norms = _norms(vectors)
    wf, ws = (1.0 / np.where(norms[i] == 0, 1.0, norms[i]) for i in (f, s))
    apart, together = (_combined_norms(vectors, f, s, wf, sign * ws) for sign in (-1.0, 1.0))
    zero = (norms[f] == 0) | (norms[s] == 0)
    return np.where(zero, np.nan, np.degrees(2.0 * np.arctan2(apart, together)))


def cosine_candidate_probability(angle_degrees: np.ndarray | float, *, bands: int,
                                 rows: int) -> np.ndarray:
    """``1 - (1 - (1 - θ/180)^r)^b``: the chance that vectors at angle ``θ`` are candidates."""
    theta = np.asarray(angle_degrees, np.float64)
    if ((theta < 0) | (theta > 180)).any():
        raise ValueError("angles must be in [0, 180] degrees")
    return candidate_probability(1.0 - theta / 180.0, bands=bands, rows=rows)


def projection_collision_probability(distance: np.ndarray | float, *, bucket_width: float,
                                     dim: int) -> np.ndarray:
    """The chance that points at ``distance`` share the bucket of one random projection.

    ``E max(0, 1 - δ |X| / w)``, ``X`` a coordinate of a uniform unit vector in ``d = dim``
    dimensions, ``X^2 ~ Beta(1/2, h)``, ``h = (d - 1)/2``: with ``c = min(1, w/δ)``,
    ``I_{c^2}(1/2, h) - δ (1 - (1 - c^2)^h) / (w h B(1/2, h))``. In 1-D ``max(0, 1 - δ/w)``,
    in 3-D ``1 - δ/(2w)`` to ``δ = w``, then ``w/(2δ)``. Banded: ``_scurve.candidate_probability``.
    """
    delta, w = np.asarray(distance, np.float64), _width(bucket_width)
    _positive(dim=dim)
    if (delta < 0).any():
        raise ValueError("distances must be non-negative")
    if dim == 1:
        return np.clip(1.0 - delta / w, 0.0, 1.0)
    h = (dim - 1) / 2.0
    with np.errstate(divide="ignore"):  # δ = 0: c = 1, P = 1
        c = np.minimum(1.0, w / delta)
    tail = delta * (1.0 - (1.0 - c * c) ** h) / (w * h * beta(0.5, h))
    return np.asarray(betainc(0.5, h, c * c) - tail)


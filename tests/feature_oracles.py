"""Independent oracles for the feature transforms and folds of ``mining.sgd``: XXH64 in Python.

A plain-Python XXH64 (the published algorithm, https://github.com/Cyan4973/xxHash, spec
``doc/xxhash_spec.md``), written from the specification, not from Spark's code, so the tests can
recompute the fold of a row and the hashed index of a feature without the code under test.
Spark's ``xxhash64(c1, c2, ...)`` is XXH64 chained through the seed: the seed starts at 42 and
each non-null argument's hash is the seed of the next; an int is hashed as its 4 little-endian
bytes, a long as 8, a string as its UTF-8 bytes; the result is a signed 64-bit integer.
"""

from __future__ import annotations

import struct

_M = (1 << 64) - 1
P1, P2, P3 = 0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9
P4, P5 = 0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (64 - r))) & _M


def _round(acc: int, lane: int) -> int:
    return (_rotl((acc + lane * P2) & _M, 31) * P1) & _M


def _merge(acc: int, val: int) -> int:
    return ((acc ^ _round(0, val)) * P1 + P4) & _M


def xxh64(data: bytes, seed: int) -> int:
    """XXH64 of ``data`` with ``seed`` (unsigned 64-bit)."""
    seed &= _M
    n, i = len(data), 0
    if n >= 32:
        v = [(seed + P1 + P2) & _M, (seed + P2) & _M, seed, (seed - P1) & _M]
        while i + 32 <= n:
            lanes = struct.unpack_from("<4Q", data, i)
            v = [_round(a, lane) for a, lane in zip(v, lanes, strict=True)]
            i += 32
        h = (_rotl(v[0], 1) + _rotl(v[1], 7) + _rotl(v[2], 12) + _rotl(v[3], 18)) & _M
        for a in v:
            h = _merge(h, a)
    else:
        h = (seed + P5) & _M
    h = (h + n) & _M
    while i + 8 <= n:
        (lane,) = struct.unpack_from("<Q", data, i)
        h = ((_rotl(h ^ _round(0, lane), 27) * P1) + P4) & _M
        i += 8
    if i + 4 <= n:
        (word,) = struct.unpack_from("<I", data, i)
        h = ((_rotl(h ^ (word * P1 & _M), 23) * P2) + P3) & _M
        i += 4
    while i < n:
        h = (_rotl(h ^ (data[i] * P5 & _M), 11) * P1) & _M
        i += 1
    h = ((h ^ (h >> 33)) * P2) & _M
    h = ((h ^ (h >> 29)) * P3) & _M
    return h ^ (h >> 32)


def _bytes(value: object, kind: str) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    return struct.pack("<q" if kind == "long" else "<i", int(value))  # type: ignore[call-overload]


def spark_xxhash64(*args: tuple[object, str] | object) -> int:
    """Spark's ``xxhash64`` of the arguments, as a signed long.

    Each argument is a string or ``(number, "int" | "long")``; ``None`` is skipped, as Spark
    skips nulls.
    """
    h = 42
    for arg in args:
        if arg is None:
            continue
        value, kind = arg if isinstance(arg, tuple) else (arg, "string")
        h = xxh64(_bytes(value, kind), h)
    return h - (1 << 64) if h >= 1 << 63 else h

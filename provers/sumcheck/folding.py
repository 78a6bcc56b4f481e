"""Fixing the first variable of a table to a challenge r: f ↦ lo + r·(hi − lo), chunk by chunk.

The same result as ``multilinear.fix_first``, computed with fewer reductions. The difference
Δ = hi − lo is kept signed in (−p, p) and r's coefficients are taken in the centred range
(−p/2, p/2], so every product is below 2^61 in absolute value and a whole output coefficient,
Σ of four products plus lo, stays below 2^63: one floor-modulo per coefficient and no carry
fix-ups. Chunks keep the temporaries in cache; the output may be the table's own low half.
"""

from __future__ import annotations

import numpy as np

from provers.field import base, ext, kernels
from provers.field.backend import Array, is_torch, to_numpy, zeros
from provers.field.buffers import scratch

CHUNK = 1 << 13
SMALL = 256
"""Tables up to twice this length fold by one short challenge-field product (fewer numpy calls
than the chunked kernel, whose fixed cost dominates short tables)."""
P = base.P
_BASE_SHIFT = P * P
"""Exceeds |Δ·r| < p²/2 and leaves lo + Δ·r + shift below 2^64."""
_EXT_SHIFT = 2 * P * P
"""Exceeds the four centred products' |Σ| < 2p²; the shifted sum stays below 4p² + p < 2^64."""


def _centred(r: Array) -> list[int]:
    values = [int(v) for v in to_numpy(r).reshape(ext.DEGREE)]
    return [v - P if v > P // 2 else v for v in values]


def fold_base(table: Array, r: Array) -> Array:
    """A base-field table (2^k,) with x_1 = r, as a new challenge-field table (4, 2^(k−1))."""
    half = table.shape[0] // 2
    out = zeros((ext.DEGREE, half), like=table)
    rc = _centred(r)
    if not is_torch(table):
        _fold_base_numpy(table, out, rc)
        return out
    for start in range(0, half, CHUNK):
        stop = min(half, start + CHUNK)
        lo = table[start:stop]
        diff = table[half + start : half + stop] - lo
        out[0, start:stop] = (diff * rc[0] + lo) % P
        for k in range(1, ext.DEGREE):
            out[k, start:stop] = (diff * rc[k]) % P
    return out


def _fold_base_numpy(table: np.ndarray, out: np.ndarray, rc: list[int]) -> None:
    half = out.shape[1]
    diff, acc, quotient = scratch("fold_base", 3, min(half, CHUNK)).view(np.int64)
    for start in range(0, half, CHUNK):
        stop = min(half, start + CHUNK)
        width = stop - start
        d, a, q = diff[:width], acc[:width], quotient[:width]
        lo = table[start:stop]
        np.subtract(table[half + start : half + stop], lo, out=d)
        np.multiply(d, rc[0], out=a)
        np.add(a, lo, out=a)
        kernels.reduce_shifted_into(a, _BASE_SHIFT, out[0, start:stop], q)
        for k in range(1, ext.DEGREE):
            np.multiply(d, rc[k], out=a)
            kernels.reduce_shifted_into(a, _BASE_SHIFT, out[k, start:stop], q)


def fold_ext(table: Array, r: Array, in_place: bool) -> Array:
    """A challenge-field table (4, 2^k) with x_1 = r, as a table (4, 2^(k−1)); with
    ``in_place`` the result overwrites (and is a view of) the table's low half."""
    half = table.shape[1] // 2
    out = table[:, :half] if in_place else zeros((ext.DEGREE, half), like=table)
    r0, r1, r2, r3 = _centred(r)
    # Wrapped terms carry x^4 = 11; 11·r_j re-centred keeps each product below 2^61.
    w1, w2, w3 = (_centre(ext.W * v) for v in (r1, r2, r3))
    if not is_torch(table) and half <= SMALL:
        low = table[:, :half]
        step = ext.mul(base.sub(table[:, half:], low), np.asarray(r, dtype=np.int64))
        out[...] = base.add(low, step)
        return out
    if not is_torch(table):
        weights = [[r0, w3, w2, w1], [r1, r0, w3, w2], [r2, r1, r0, w3], [r3, r2, r1, r0]]
        _fold_ext_numpy(table, out, weights)
        return out
    for start in range(0, half, CHUNK):
        stop = min(half, start + CHUNK)
        lo = table[:, start:stop]
        d0, d1, d2, d3 = table[:, half + start : half + stop] - lo
        c0 = d0 * r0 + d1 * w3 + d2 * w2 + d3 * w1 + lo[0]
        c1 = d0 * r1 + d1 * r0 + d2 * w3 + d3 * w2 + lo[1]
        c2 = d0 * r2 + d1 * r1 + d2 * r0 + d3 * w3 + lo[2]
        c3 = d0 * r3 + d1 * r2 + d2 * r1 + d3 * r0 + lo[3]
        out[0, start:stop] = c0 % P
        out[1, start:stop] = c1 % P
        out[2, start:stop] = c2 % P
        out[3, start:stop] = c3 % P
    return out


def _fold_ext_numpy(table: np.ndarray, out: np.ndarray, weights: list[list[int]]) -> None:
    """out[k] = lo[k] + Σ_j weights[k][j]·Δ_j, chunk by chunk in preallocated buffers; out may
    be the low half itself, since coefficient k of lo is read only to produce out[k]."""
    half = out.shape[1]
    block = min(half, CHUNK)
    buffers = scratch("fold_ext", ext.DEGREE + 2, block).view(np.int64)
    diff, acc, term = buffers[: ext.DEGREE], buffers[ext.DEGREE], buffers[ext.DEGREE + 1]
    for start in range(0, half, CHUNK):
        stop = min(half, start + CHUNK)
        width = stop - start
        d, a, t = diff[:, :width], acc[:width], term[:width]
        lo = table[:, start:stop]
        np.subtract(table[:, half + start : half + stop], lo, out=d)
        for k, row in enumerate(weights):
            np.multiply(d[0], row[0], out=a)
            for j in range(1, ext.DEGREE):
                np.multiply(d[j], row[j], out=t)
                np.add(a, t, out=a)
            np.add(a, lo[k], out=a)
            kernels.reduce_shifted_into(a, _EXT_SHIFT, out[k, start:stop], t)


def _centre(value: int) -> int:
    value %= P
    return value - P if value > P // 2 else value


def fold_base_twice(table: Array, r_first: Array, r_second: Array) -> Array:
    """A base-field table (2^k,) with x_1 = r_first and x_2 = r_second, as a challenge-field
    table (4, 2^(k−2)): Σ_{a,b ∈ {0,1}} e_a(r_first)·e_b(r_second)·f(a, b, ·) with e_0(r) = 1 − r,
    e_1(r) = r. The four weights are centred, so each coefficient's four products plus their
    sum stay below 2^63 and one reduction suffices."""
    quarter = table.shape[0] // 4
    one = ext.one()
    first = [ext.sub(one, r_first), r_first]
    second = [ext.sub(one, r_second), r_second]
    weights = [_centred(ext.mul(first[a], second[b])) for a in (0, 1) for b in (0, 1)]
    out = zeros((ext.DEGREE, quarter), like=table)
    for start in range(0, quarter, CHUNK):
        stop = min(quarter, start + CHUNK)
        parts = [table[q * quarter + start : q * quarter + stop] for q in range(4)]
        for k in range(ext.DEGREE):
            acc = parts[0] * weights[0][k]
            for q in range(1, 4):
                acc = acc + parts[q] * weights[q][k]
            out[k, start:stop] = acc % P
    return out

"""Univariate polynomials in evaluation form over the points 0, 1, …, d.

A sumcheck round message of degree d is sent as its d + 1 values g(0), …, g(d); the verifier
needs g(0) + g(1) and g(r) for a challenge r, which barycentric Lagrange interpolation over
the integer nodes gives without ever forming coefficients:
    g(r) = Σ_i g(i) · Π_{j≠i} (r − j) / (i − j).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from provers.field import base, ext
from provers.field.backend import Array, as_int64


@lru_cache(maxsize=64)
def _lagrange_denominators(degree: int) -> tuple[int, ...]:
    """1 / Π_{j≠i} (i − j) mod p for each node i."""
    out = []
    for i in range(degree + 1):
        d = 1
        for j in range(degree + 1):
            if j != i:
                d = d * (i - j) % base.P
        out.append(pow(d, base.P - 2, base.P))
    return tuple(out)


def evaluate(evals: Array, r: Array) -> Array:
    """g(r) from g(0..d) given as a (4, d+1) array and a challenge-field element r (4,)."""
    if isinstance(evals, np.ndarray) and isinstance(r, np.ndarray):
        return _evaluate_single(evals, r)
    degree = evals.shape[1] - 1
    nodes = as_int64(np.arange(degree + 1, dtype=np.int64), like=evals)
    diffs = ext.sub(r[:, None], ext.from_base(nodes))  # (4, d+1): r − j
    if bool((diffs == 0).all(0).any()):
        j = int(np.flatnonzero(np.asarray((diffs == 0).all(0)))[0])
        return evals[:, j].copy()
    denominators = as_int64(np.array(_lagrange_denominators(degree), dtype=np.int64), like=evals)
    total = ext.zero(like=evals)
    for i in range(degree + 1):
        term = ext.mul_base(evals[:, i], denominators[i])
        for j in range(degree + 1):
            if j != i:
                term = ext.mul(term, diffs[:, j])
        total = ext.add(total, term)
    return total


def extend(evals: np.ndarray, degree: int) -> np.ndarray:
    """A polynomial given at 0..d as (4, d+1), evaluated at 0..degree (degree ≥ d)."""
    have = evals.shape[1]
    if have == degree + 1:
        return evals
    extra = [evaluate(evals, ext.from_base(np.array([t]))[:, 0]) for t in range(have, degree + 1)]
    return np.concatenate([evals, np.stack(extra, axis=1)], axis=1)


def _mul_ints(a: list[int], b: list[int]) -> list[int]:
    a0, a1, a2, a3 = a
    b0, b1, b2, b3 = b
    w, p = ext.W, base.P
    return [
        (a0 * b0 + w * (a1 * b3 + a2 * b2 + a3 * b1)) % p,
        (a0 * b1 + a1 * b0 + w * (a2 * b3 + a3 * b2)) % p,
        (a0 * b2 + a1 * b1 + a2 * b0 + w * a3 * b3) % p,
        (a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0) % p,
    ]


def _evaluate_single(evals: np.ndarray, r: np.ndarray) -> np.ndarray:
    """The same barycentric formula on Python integers, with the products Π_{j≠i} (r − j)
    from prefix and suffix products: O(d) multiplications instead of O(d²)."""
    degree = evals.shape[1] - 1
    p = base.P
    point = [int(c) for c in r.tolist()]
    diffs = [[(point[0] - j) % p, *point[1:]] for j in range(degree + 1)]
    for j, diff in enumerate(diffs):
        if not any(diff):
            return np.asarray(evals[:, j], dtype=np.int64).copy()
    prefix = [[1, 0, 0, 0]]
    for diff in diffs[:-1]:
        prefix.append(_mul_ints(prefix[-1], diff))
    suffix = [[1, 0, 0, 0]] * (degree + 1)
    for j in range(degree - 1, -1, -1):
        suffix[j] = _mul_ints(suffix[j + 1], diffs[j + 1])
    denominators = _lagrange_denominators(degree)
    columns = evals.T.tolist()
    total = [0, 0, 0, 0]
    for i in range(degree + 1):
        weight = _mul_ints(prefix[i], suffix[i])
        value = [c * denominators[i] % p for c in columns[i]]
        term = _mul_ints(weight, value)
        total = [(t + x) % p for t, x in zip(total, term, strict=True)]
    return np.array(total, dtype=np.int64)


def interpolate_coefficients(evals: Array) -> np.ndarray:
    """Monomial coefficients (4, d+1) of the polynomial through (i, evals[:, i]); for tests and
    for masking polynomials."""
    degree = evals.shape[1] - 1
    coeffs = np.zeros((4, degree + 1), dtype=np.int64)
    denominators = _lagrange_denominators(degree)
    for i in range(degree + 1):
        basis = np.array([1], dtype=object)
        for j in range(degree + 1):
            if j != i:
                basis = np.convolve(basis, np.array([-j, 1], dtype=object))
        basis = np.array([int(c) * denominators[i] % base.P for c in basis], dtype=np.int64)
        for k in range(4):
            coeffs[k] = (coeffs[k] + (int(evals[k, i]) * basis.astype(object)) % base.P) % base.P
    return coeffs

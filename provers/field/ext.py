"""The challenge field: BabyBear[x] / (x^4 − 11), with about 2^124 elements.

x^4 − 11 is irreducible over BabyBear: 11 is not a square mod p and p ≡ 1 (mod 4)
(Lidl–Niederreiter, Theorem 3.75). An element c0 + c1·x + c2·x^2 + c3·x^3 is stored
coefficient-axis-first: a single element has shape (4,), a vector of n elements shape (4, n),
any tensor shape (4, *dims). Keeping each coefficient contiguous makes the arithmetic below a
handful of long vector operations; every function works per coefficient, so a single element
broadcasts against a vector.

Multiplication of numpy vectors works in unsigned 64-bit arithmetic on blocks that stay in the
CPU cache, with preallocated temporaries: four products of values below p sum below 2^64, so an
output coefficient is c_k = Σ a_i·b_j (unwrapped terms) + 11·(Σ wrapped terms mod p), with one
reduction of the wrapped sum and one of the total: seven reductions and no carry fix-ups.
Torch tensors (which have no unsigned 64-bit multiply) take the signed form: with the wrapped
terms pre-multiplied by W = 11 (reduced), the sum may wrap past 2^63 to S − 2^64, and adding
2^64 mod p back after the reduction restores S mod p.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from provers.field import base, kernels
from provers.field.backend import Array, as_int64, concat, is_torch, stack, to_numpy
from provers.field.buffers import scratch

P = base.P
W = 11
DEGREE = 4
BYTES = DEGREE * base.BYTES
_TWO64_MOD_P = (1 << 64) % P
_CHUNK = 1 << 14
_W_U64 = np.uint64(W)
_SMALL = 256
"""Vectors up to this length multiply by :func:`_mul_small`: a handful of numpy calls instead
of the blocked kernel's forty, whose fixed cost dominates short vectors."""


def _wrap_matrix() -> np.ndarray:
    """(4, 16): coefficient k of a·b is Σ_{i+j=k} a_i·b_j + 11·Σ_{i+j=k+4} a_i·b_j."""
    matrix = np.zeros((DEGREE, DEGREE * DEGREE), dtype=np.uint64)
    for i in range(DEGREE):
        for j in range(DEGREE):
            k = i + j
            matrix[k % DEGREE, i * DEGREE + j] += 1 if k < DEGREE else W
    return matrix


_WRAP = _wrap_matrix()
_P_U64 = np.uint64(P)


def _reduce_wrapped(s: Array) -> Array:
    r = s % P
    r = r + (s < 0) * _TWO64_MOD_P
    return r - P * (r >= P)


def zero(like: Array | None = None) -> Array:
    return as_int64(np.zeros(DEGREE, dtype=np.int64), like=like)


def one(like: Array | None = None) -> Array:
    return as_int64(np.array([1, 0, 0, 0], dtype=np.int64), like=like)


def zeros(n: int, like: Array | None = None) -> Array:
    return as_int64(np.zeros((DEGREE, n), dtype=np.int64), like=like)


def from_base(a: Array) -> Array:
    """Embed base-field values of any shape as challenge-field elements, shape (4, *a.shape)."""
    z = a * 0
    return stack([a, z, z, z], axis=0)


def add(a: Array, b: Array) -> Array:
    return base.add(a, b)


def sub(a: Array, b: Array) -> Array:
    return base.sub(a, b)


def neg(a: Array) -> Array:
    return base.neg(a)


def _mul_direct(a: Array, b: Array) -> Array:
    a0, a1, a2, a3 = a[0], a[1], a[2], a[3]
    b0, b1, b2, b3 = b[0], b[1], b[2], b[3]
    wb1, wb2, wb3 = (W * b1) % P, (W * b2) % P, (W * b3) % P
    c0 = a0 * b0 + a1 * wb3 + a2 * wb2 + a3 * wb1
    c1 = a0 * b1 + a1 * b0 + a2 * wb3 + a3 * wb2
    c2 = a0 * b2 + a1 * b1 + a2 * b0 + a3 * wb3
    c3 = a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0
    return stack([_reduce_wrapped(c) for c in (c0, c1, c2, c3)], axis=0)


def _mul_single(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The product of two single elements with Python integers: a tenth of the cost of the
    vector code on arrays of four, which matters in verifiers' scalar arithmetic."""
    a0, a1, a2, a3 = a.tolist()
    b0, b1, b2, b3 = b.tolist()
    return np.array(
        [
            (a0 * b0 + W * (a1 * b3 + a2 * b2 + a3 * b1)) % P,
            (a0 * b1 + a1 * b0 + W * (a2 * b3 + a3 * b2)) % P,
            (a0 * b2 + a1 * b1 + a2 * b0 + W * a3 * b3) % P,
            (a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0) % P,
        ],
        dtype=np.int64,
    )


def _wrapped_sum(
    pairs: list[tuple[np.ndarray, np.ndarray]], out: np.ndarray, tmp: np.ndarray
) -> None:
    """out = 11·(Σ x·y mod p) for at most three pairs: the part of a coefficient that x^4 = 11
    wraps around."""
    np.multiply(pairs[0][0], pairs[0][1], out=out)
    for x, y in pairs[1:]:
        np.multiply(x, y, out=tmp)
        np.add(out, tmp, out=out)
    kernels.reduce_into(out, out, tmp)
    np.multiply(out, _W_U64, out=out)


def _coefficient(
    pairs: list[tuple[np.ndarray, np.ndarray]],
    wrapped: np.ndarray | None,
    out: np.ndarray,
    acc: np.ndarray,
    tmp: np.ndarray,
) -> None:
    np.multiply(pairs[0][0], pairs[0][1], out=acc)
    for x, y in pairs[1:]:
        np.multiply(x, y, out=tmp)
        np.add(acc, tmp, out=acc)
    if wrapped is not None:
        np.add(acc, wrapped, out=acc)
    kernels.reduce_into(acc, out, tmp)


def _mul_block(a: np.ndarray, b: np.ndarray, out: np.ndarray, scratch: np.ndarray) -> None:
    a0, a1, a2, a3 = a
    b0, b1, b2, b3 = b
    acc, tmp, wrapped = scratch[0], scratch[1], scratch[2]
    _wrapped_sum([(a1, b3), (a2, b2), (a3, b1)], wrapped, tmp)
    _coefficient([(a0, b0)], wrapped, out[0], acc, tmp)
    _wrapped_sum([(a2, b3), (a3, b2)], wrapped, tmp)
    _coefficient([(a0, b1), (a1, b0)], wrapped, out[1], acc, tmp)
    _wrapped_sum([(a3, b3)], wrapped, tmp)
    _coefficient([(a0, b2), (a1, b1), (a2, b0)], wrapped, out[2], acc, tmp)
    _coefficient([(a0, b3), (a1, b2), (a2, b1), (a3, b0)], None, out[3], acc, tmp)


def _mul_numpy(a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """The product of two (4, n) vectors, or of one element and a vector; None for other
    shapes."""
    a = a[:, None] if a.ndim == 1 else a
    b = b[:, None] if b.ndim == 1 else b
    if a.ndim != 2 or b.ndim != 2 or a.dtype != np.int64 or b.dtype != np.int64:
        return None
    n = max(a.shape[1], b.shape[1])
    if {a.shape[1], b.shape[1]} - {1, n}:
        return None
    a64, b64 = a.view(np.uint64), b.view(np.uint64)
    if n <= _SMALL:
        return _mul_small(a64, b64)
    out = np.empty((DEGREE, n), dtype=np.uint64)
    if b.shape[1] == 1 or a.shape[1] == 1:
        vector, element = (a64, b) if b.shape[1] == 1 else (b64, a)
        _mul_by_element(vector, _element_matrix(element), out)
        return out.view(np.int64)
    block = min(n, _CHUNK)
    temporaries = scratch("ext.mul", 3, block)
    for start in range(0, n, _CHUNK):
        stop = min(n, start + _CHUNK)
        part_a = a64[:, start:stop] if a64.shape[1] == n else a64
        part_b = b64[:, start:stop] if b64.shape[1] == n else b64
        _mul_block(part_a, part_b, out[:, start:stop], temporaries[:, : stop - start])
    return out.view(np.int64)


def _mul_small(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The product of uint64 (4, n) and (4, n) or (4, 1) operands: the 16 limb products
    (each below p²) reduced, then combined by the wrap matrix (sums below 44·p < 2^37)."""
    products = (a[:, None, :] * b[None, :, :]).reshape(DEGREE * DEGREE, -1)
    np.remainder(products, _P_U64, out=products)
    combined: np.ndarray = _WRAP @ products
    np.remainder(combined, _P_U64, out=combined)
    return np.asarray(combined.view(np.int64))


def _element_matrix(element: np.ndarray) -> list[list[np.uint64]]:
    """M with (v·e)_k = Σ_j M[k][j]·v_j: the wrapped entries 11·e_j are reduced in advance, so
    each output coefficient is four products below p², one reduction in all."""
    e0, e1, e2, e3 = (int(v) for v in element.reshape(DEGREE))
    w1, w2, w3 = ((W * v) % P for v in (e1, e2, e3))
    rows = [[e0, w3, w2, w1], [e1, e0, w3, w2], [e2, e1, e0, w3], [e3, e2, e1, e0]]
    return [[np.uint64(v) for v in row] for row in rows]


def _mul_by_element(vector: np.ndarray, matrix: list[list[np.uint64]], out: np.ndarray) -> None:
    """out = vector·e for a uint64 (4, n) vector and e given by :func:`_element_matrix`."""
    n = out.shape[1]
    temporaries = scratch("ext.mul_by_element", 2, min(n, _CHUNK))
    for start in range(0, n, _CHUNK):
        stop = min(n, start + _CHUNK)
        acc, term = temporaries[0, : stop - start], temporaries[1, : stop - start]
        part = vector[:, start:stop]
        for k, row in enumerate(matrix):
            np.multiply(part[0], row[0], out=acc)
            for j in range(1, DEGREE):
                np.multiply(part[j], row[j], out=term)
                np.add(acc, term, out=acc)
            kernels.reduce_into(acc, out[k, start:stop], term)


def mul(a: Array, b: Array) -> Array:
    """Elementwise product; a single element (4,) broadcasts against a vector (4, n)."""
    if is_torch(a) or is_torch(b):
        return _mul_direct(a, b)
    if a.shape == (DEGREE,) and b.shape == (DEGREE,):
        return _mul_single(a, b)
    product = _mul_numpy(a, b)
    if product is not None:
        return product
    with np.errstate(over="ignore"):
        return _mul_direct(a, b)


def square(a: Array) -> Array:
    return mul(a, a)


def mul_base(a: Array, b: Array) -> Array:
    """Challenge-field elements ``a`` (4, …) times base-field values ``b`` (…), broadcasting."""
    if _is_long_numpy_pair(a, b):
        return _mul_base_numpy(a, b)
    return stack([(a[k] * b) % P for k in range(DEGREE)], axis=0)


def _is_long_numpy_pair(a: Array, b: Array) -> bool:
    """A (4, n) or (4, 1) int64 array against a long (n,) one: the shapes the chunked path
    takes."""
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
        return False
    if a.dtype != np.int64 or b.dtype != np.int64 or a.ndim != 2 or b.ndim != 1:
        return False
    return b.shape[0] >= _CHUNK // 4 and a.shape[1] in (1, b.shape[0])


def _mul_base_numpy(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    n = b.shape[0]
    a64, b64 = a.view(np.uint64), b.view(np.uint64)
    if n <= _SMALL:
        return _mul_small(a64, b64)
    out = np.empty((DEGREE, n), dtype=np.uint64)
    quotient = scratch("ext.mul_base", 1, min(n, _CHUNK))[0]
    for start in range(0, n, _CHUNK):
        stop = min(n, start + _CHUNK)
        part_a = a64[:, start:stop] if a64.shape[1] == n else a64
        q = quotient[: stop - start]
        for k in range(DEGREE):
            target = out[k, start:stop]
            np.multiply(part_a[k], b64[start:stop], out=target)
            kernels.reduce_into(target, target, q)
    return out.view(np.int64)


def scale(a: Array, k: int) -> Array:
    """Multiply by a Python integer constant."""
    return (a * (k % P)) % P


def _conjugate_minus_x(a: Array) -> Array:
    """a(−x): the automorphism x ↦ −x (−x is also a root of x^4 − 11)."""
    return stack([a[0], base.neg(a[1]), a[2], base.neg(a[3])], axis=0)


def _inv_single(a: np.ndarray) -> np.ndarray:
    """The inverse of one element with Python integers (the same norm formula as :func:`inv`):
    a tenth of the vector code's cost on arrays of four."""
    a0, a1, a2, a3 = a.tolist()
    c0, c1, c2, c3 = a0, P - a1 if a1 else 0, a2, P - a3 if a3 else 0
    b0 = (a0 * c0 + W * (a1 * c3 + a2 * c2 + a3 * c1)) % P
    b2 = (a0 * c2 + a1 * c1 + a2 * c0 + W * a3 * c3) % P
    norm = (b0 * b0 - W * b2 * b2) % P
    k = pow(norm, P - 2, P)
    d0, d2 = b0 * k % P, (P - b2) * k % P
    return np.array(
        [
            (c0 * d0 + W * c2 * d2) % P,
            (c1 * d0 + W * c3 * d2) % P,
            (c2 * d0 + c0 * d2) % P,
            (c3 * d0 + c1 * d2) % P,
        ],
        dtype=np.int64,
    )


def inv(a: Array) -> Array:
    """Elementwise inverse through the norm: a·a(−x) = b0 + b1·x^2, and
    (b0 + b1·x^2)(b0 − b1·x^2) = b0^2 − 11·b1^2 lies in the base field. Zero maps to zero."""
    if isinstance(a, np.ndarray) and a.shape == (DEGREE,):
        return _inv_single(a)
    conj = _conjugate_minus_x(a)
    b = mul(a, conj)
    b0, b1 = b[0], b[2]
    norm = base.sub(base.square(b0), base.mul(W, base.square(b1)))
    norm_inv = base.inv(norm)
    z = b0 * 0
    b_conj = stack([b0, z, base.neg(b1), z], axis=0)
    return mul_base(mul(conj, b_conj), norm_inv)


def pow_(a: Array, exponent: int) -> Array:
    if exponent < 0:
        raise ValueError("negative exponent; use inv")
    result = a * 0 + _broadcast_one(a)
    acc = a
    while exponent:
        if exponent & 1:
            result = mul(result, acc)
        exponent >>= 1
        if exponent:
            acc = square(acc)
    return result


def _broadcast_one(a: Array) -> Array:
    o = one(like=a)
    return o.reshape((DEGREE,) + (1,) * (a.ndim - 1))


def powers(a: Array, n: int) -> Array:
    """[1, a, a^2, …, a^(n−1)] for a single element ``a`` (shape (4,)), as a (4, n) vector."""
    out = zeros(n, like=a)
    if n == 0:
        return out
    out[:, 0] = one(like=a)
    filled = 1
    step = a
    while filled < n:
        take = min(filled, n - filled)
        out[:, filled : filled + take] = mul(out[:, :take], step)
        filled += take
        step = square(step)
    return out


def batch_inv(a: Array) -> Array:
    """Inverse of every element of a (4, n) vector with one field inversion (product tree)."""
    n = a.shape[1]
    if n == 0:
        return a
    if bool((a == 0).all(0).any()):
        raise ZeroDivisionError("batch_inv of a vector containing zero")
    levels = [a]
    while levels[-1].shape[1] > 1:
        cur = levels[-1]
        if cur.shape[1] % 2:
            cur = concat([cur, one(like=a)[:, None]], axis=1)
            levels[-1] = cur
        levels.append(mul(cur[:, 0::2], cur[:, 1::2]))
    down = inv(levels[-1])
    for level in reversed(levels[:-1]):
        left, right = level[:, 0::2], level[:, 1::2]
        down = down[:, : left.shape[1]]
        nxt = level.clone() if is_torch(level) else level.copy()
        nxt[:, 0::2] = mul(down, right)
        nxt[:, 1::2] = mul(down, left)
        down = nxt
    return down[:, :n]


def sum_(a: Array) -> Array:
    """Σ of a (4, n) vector, as one element. n must stay below 2^32 so int64 sums are exact."""
    if a.shape[-1] >= (1 << 32):
        raise ValueError("sum over 2^32 or more elements")
    return a.sum(-1) % P


def inner_product(a: Array, b: Array) -> Array:
    """Σ a_i·b_i of two (4, n) vectors, as one element."""
    return sum_(mul(a, b))


def inner_product_base(a: Array, b: Array) -> Array:
    """Σ a_i·b_i with a (4, n) challenge-field and b (n,) base-field."""
    return sum_(mul_base(a, b))


def equal(a: Array, b: Array) -> bool:
    return bool((to_numpy(a) == to_numpy(b)).all())


def random(shape: int | tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    shp = (shape,) if isinstance(shape, int) else tuple(shape)
    return rng.integers(0, P, size=(DEGREE,) + shp, dtype=np.int64)


def to_bytes(a: Any) -> bytes:
    """Canonical encoding: each element's four coefficients as little-endian u32, element by
    element (so the bytes do not depend on the in-memory layout)."""
    arr = to_numpy(a)
    return np.moveaxis(arr, 0, -1).astype("<u4").tobytes()


def from_bytes(data: bytes, n: int) -> np.ndarray:
    """Inverse of :func:`to_bytes` for a vector of ``n`` elements; no range check."""
    raw = np.frombuffer(data, dtype="<u4", count=n * DEGREE).astype(np.int64)
    return np.ascontiguousarray(raw.reshape(n, DEGREE).T)


def is_canonical(a: np.ndarray) -> bool:
    return base.is_canonical(a)

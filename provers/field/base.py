"""BabyBear, the base field: p = 15·2^27 + 1 = 2013265921.

Elements are int64 values in [0, p) held in numpy arrays or torch tensors. A product of two
elements is below 2^62, so ``(a * b) % p`` is exact in int64 on every backend. The
multiplicative group has order p − 1 = 2^27·3·5, so there are 2^k-th roots of unity for
k ≤ 27 (Reed–Solomon encoding by NTT); 31 generates the whole group.
"""

from __future__ import annotations

import os

import numpy as np

from provers.field.backend import Array, as_int64
from provers.field.buffers import scratch

P = 15 * (1 << 27) + 1
TWO_ADICITY = 27
GENERATOR = 31
BYTES = 4
_P_U64 = np.uint64(P)
_CHUNK = 1 << 13
"""Columns per pass of the numpy paths: operands and temporaries stay in the L2 cache."""
_SHORT = 1 << 15
"""Below this many entries the whole-array form is cheaper than setting up chunks."""


def add(a: Array, b: Array) -> Array:
    out = _numpy_output(a, b)
    if out is not None:
        _add_into(a.view(np.uint64), b.view(np.uint64), out)
        return out.view(np.int64)
    s = a + b
    s = s - P
    return s + ((s >> 63) & P)


def sub(a: Array, b: Array) -> Array:
    out = _numpy_output(a, b)
    if out is not None:
        _sub_into(a.view(np.uint64), b.view(np.uint64), out)
        return out.view(np.int64)
    d = a - b
    return d + ((d >> 63) & P)


def _numpy_output(a: Array, b: Array) -> np.ndarray | None:
    """A uint64 buffer for a + b when both are long int64 numpy arrays that broadcast only
    through length-one last axes; None sends the caller to the generic form."""
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
        return None
    if a.ndim == 0 or b.ndim == 0 or max(a.size, b.size) < _SHORT:
        # Short vectors (a verifier's scalars and rows) skip the shape work below.
        return None
    if a.dtype != np.int64 or b.dtype != np.int64:
        return None
    shape = np.broadcast_shapes(a.shape, b.shape)
    width = shape[-1]
    if {a.shape[-1], b.shape[-1]} - {1, width}:
        return None
    return np.empty(shape, dtype=np.uint64)


def _part(values: np.ndarray, start: int, stop: int, width: int) -> np.ndarray:
    return values[..., start:stop] if values.shape[-1] == width else values


def _spares(owner: str, out: np.ndarray) -> np.ndarray:
    rows = int(np.prod(out.shape[:-1]))
    return scratch(owner, rows, min(out.shape[-1], _CHUNK)).reshape(*out.shape[:-1], -1)


def _add_into(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """a + b < 2p, and when a + b < p the subtraction of p wraps above it, so the minimum of
    the two is the reduced sum: three passes instead of the signed form's five."""
    width = out.shape[-1]
    spares = _spares("base.add", out)
    for start in range(0, width, _CHUNK):
        stop = min(width, start + _CHUNK)
        target, spare = out[..., start:stop], spares[..., : stop - start]
        np.add(_part(a, start, stop, width), _part(b, start, stop, width), out=target)
        np.subtract(target, _P_U64, out=spare)
        np.minimum(target, spare, out=target)


def _sub_into(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """a − b wraps when negative, and adding p brings exactly that case back below p."""
    width = out.shape[-1]
    spares = _spares("base.sub", out)
    for start in range(0, width, _CHUNK):
        stop = min(width, start + _CHUNK)
        target, spare = out[..., start:stop], spares[..., : stop - start]
        np.subtract(_part(a, start, stop, width), _part(b, start, stop, width), out=target)
        np.add(target, _P_U64, out=spare)
        np.minimum(target, spare, out=target)


def neg(a: Array) -> Array:
    return (P - a) % P


def mul(a: Array, b: Array) -> Array:
    return (a * b) % P


def square(a: Array) -> Array:
    return (a * a) % P


def pow_(a: Array, exponent: int) -> Array:
    """a**exponent elementwise, by square-and-multiply over the whole vector."""
    if exponent < 0:
        raise ValueError("negative exponent; use inv")
    result = a * 0 + 1
    base = a % P
    while exponent:
        if exponent & 1:
            result = mul(result, base)
        exponent >>= 1
        if exponent:
            base = square(base)
    return result


def inv(a: Array) -> Array:
    """Elementwise inverse by Fermat; zero maps to zero (callers check for zero first)."""
    return pow_(a, P - 2)


def batch_inv(a: Array) -> Array:
    """Inverse of every element of a 1-d vector with one exponentiation (Montgomery's trick).

    Prefix products are taken level by level as a product tree, so the work stays vectorised.
    Raises ZeroDivisionError when an element is zero.
    """
    from provers.field.backend import concat

    n = a.shape[0]
    if n == 0:
        return a
    if bool((a == 0).any()):
        raise ZeroDivisionError("batch_inv of a vector containing zero")
    size = 1 << (n - 1).bit_length()
    if size != n:
        a = concat([a, as_int64(np.ones(size - n, dtype=np.int64), like=a)])
    levels = [a]
    while levels[-1].shape[0] > 1:
        cur = levels[-1]
        levels.append(mul(cur[0::2], cur[1::2]))
    down = inv(levels[-1])
    for level in reversed(levels[:-1]):
        left, right = level[0::2], level[1::2]
        inv_left = mul(down, right)
        inv_right = mul(down, left)
        nxt = level.copy() if not hasattr(level, "clone") else level.clone()
        nxt[0::2] = inv_left
        nxt[1::2] = inv_right
        down = nxt
    return down[:n]


def root_of_unity(log_n: int) -> int:
    """A primitive 2^log_n-th root of unity."""
    if not 0 <= log_n <= TWO_ADICITY:
        raise ValueError(f"BabyBear has roots of unity of order 2^k only for k <= {TWO_ADICITY}")
    return pow(GENERATOR, (P - 1) >> log_n, P)


def canonical(values: object) -> np.ndarray:
    """Reduce Python or numpy integers (possibly negative) into [0, p) as int64."""
    arr = np.asarray(values, dtype=object) % P
    return np.asarray(arr, dtype=np.int64)


def from_signed(values: Array) -> Array:
    """Map small signed integers (|v| < p/2) to field elements."""
    return values % P


def to_signed(values: Array) -> Array:
    """Inverse of :func:`from_signed`: elements above p/2 become negative."""
    return values - P * (values > P // 2)


def random(shape: int | tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, P, size=shape, dtype=np.int64)


def is_canonical(a: np.ndarray) -> bool:
    return bool(((a >= 0) & (a < P)).all())


def secure_random(count: int) -> np.ndarray:
    """``count`` uniform base-field elements from the operating system's CSPRNG.

    Hiding commitments and zero-knowledge masks must use this (or a generator the caller seeds
    from it for a reproducible test): numpy's default generators are not cryptographic. Words of
    31 bits are drawn and those ≥ p rejected (probability 1/16), so there is no modulo bias.
    """
    out = np.empty(count, dtype=np.int64)
    filled = 0
    while filled < count:
        want = count - filled
        words = np.frombuffer(os.urandom(4 * (want + want // 8 + 8)), dtype="<u4")
        values = (words & 0x7FFFFFFF).astype(np.int64)
        values = values[values < P][:want]
        out[filled : filled + values.shape[0]] = values
        filled += values.shape[0]
    return out

"""Dense multilinear extensions.

A vector f of length 2^n is the table of a multilinear polynomial f(x_1, …, x_n) on the
Boolean cube, with x_1 the MOST significant bit of the index:
    f(x) = Σ_{b ∈ {0,1}^n} f[b] · eq(b, x),   eq(b, x) = Π_k (b_k·x_k + (1 − b_k)(1 − x_k)).
Fixing x_1 = r maps f to f[:half] + r·(f[half:] − f[:half]), two contiguous halves — the
fold every sumcheck round and every PCS opening performs.

Tables hold base-field values (shape (2^n,)) or challenge-field values (shape (4, 2^n));
points are challenge-field vectors of shape (4, n).
"""

from __future__ import annotations

from provers.field import base, ext
from provers.field.backend import Array, concat


def num_vars_of(length: int) -> int:
    if length <= 0 or length & (length - 1):
        raise ValueError(f"multilinear tables have a power-of-two length, not {length}")
    return length.bit_length() - 1


def is_ext(table: Array) -> bool:
    return bool(table.ndim == 2)


def table_len(table: Array) -> int:
    return int(table.shape[-1])


def fix_first(table: Array, r: Array) -> Array:
    """f(r, x_2, …, x_n) as a challenge-field table of half the length."""
    half = table_len(table) // 2
    if is_ext(table):
        lo, hi = table[:, :half], table[:, half:]
        return ext.add(lo, ext.mul(ext.sub(hi, lo), r))
    lo_b, hi_b = table[:half], table[half:]
    diff = base.sub(hi_b, lo_b)
    return ext.add(ext.from_base(lo_b), _scalar_times_base(r, diff))


def _scalar_times_base(r: Array, values: Array) -> Array:
    """One challenge-field element r (4,) times a base-field vector (m,) → (4, m)."""
    return ext.mul_base(r.reshape(4, *([1] * values.ndim)), values)


def fix_first_base(table: Array, r: int) -> Array:
    """Fix x_1 to a base-field value (used where a round stays in the base field)."""
    half = table_len(table) // 2
    lo, hi = table[:half], table[half:]
    return base.add(lo, base.mul(base.sub(hi, lo), r))


def evaluate(table: Array, point: Array) -> Array:
    """f(point) for a base- or challenge-field table and a (4, n) point; one element (4,)."""
    n = num_vars_of(table_len(table))
    if point.shape[-1] != n:
        raise ValueError(f"point has {point.shape[-1]} coordinates, table has {n} variables")
    if n == 0:
        return table[:, 0].copy() if is_ext(table) else ext.from_base(table[0:1])[:, 0]
    cur = fix_first(table, point[:, 0])
    for k in range(1, n):
        cur = fix_first(cur, point[:, k])
    return cur[:, 0]


def eq_table(point: Array) -> Array:
    """eq(b, point) for every b in {0,1}^n, as a (4, 2^n) table (b_1 most significant)."""
    n = point.shape[-1]
    table = ext.one(like=point)[:, None]
    for k in reversed(range(n)):
        r = point[:, k]
        hi = ext.mul(table, r)
        lo = ext.sub(table, hi)
        table = concat([lo, hi], axis=1)
    return table


def eq_eval(x: Array, y: Array) -> Array:
    """eq(x, y) = Π_k (x_k·y_k + (1 − x_k)(1 − y_k)) for two (4, n) points; one element."""
    if x.shape != y.shape:
        raise ValueError("points of different lengths")
    xy = ext.mul(x, y)
    # x·y + (1 − x)(1 − y) = 1 − x − y + 2xy
    one = ext.one(like=x)[:, None]
    terms = ext.add(ext.sub(ext.sub(one, x), y), ext.add(xy, xy))
    acc = ext.one(like=x)
    for k in range(terms.shape[1]):
        acc = ext.mul(acc, terms[:, k])
    return acc

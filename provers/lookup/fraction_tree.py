"""The fractional-sum tree of logUp-GKR (Papini–Haböck, "Improving logarithmic derivative
lookups using GKR", §3).

Leaves are fractions p/q. A parent combines the fractions at index x of the lower half and at
index x of the upper half of its child layer (the child bit is the most significant index bit,
so both halves are contiguous):
    p_i(x) = p_{i+1}(0, x)·q_{i+1}(1, x) + p_{i+1}(1, x)·q_{i+1}(0, x),
    q_i(x) = q_{i+1}(0, x)·q_{i+1}(1, x).
Layer i has 2^i entries; the root (layer 0) is Σ_leaves p/q written as one fraction, and its
denominator is the product of every leaf denominator, so q_0 ≠ 0 iff no leaf denominator is 0.
No inversion is ever needed.

Leaves of the two trees of a lookup:
    witness:  p = 1,    q = α − Σ_c β^(c) · a_{j,c}[i]   (leaf index (j, i))
    table:    p = m[j], q = α − Σ_c β^(c) · T_c[j]
Witness numerators are the constant 1 and are not stored (``numerators[leaf] is None``); table
numerators stay base-field values until the first combination.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from provers.field import base, ext, kernels
from provers.field.backend import Array, as_int64, is_torch, to_numpy, zeros
from provers.field.buffers import scratch


@dataclass
class FractionTree:
    """Every layer of a fraction tree, root first."""

    numerators: list[Array | None]
    """numerators[i]: layer i's p, (4, 2^i) challenge-field, except the leaf layer which is a
    base-field (2^d,) vector or None for "all ones"."""
    denominators: list[Array]
    """denominators[i]: layer i's q, (4, 2^i) challenge-field."""

    @property
    def depth(self) -> int:
        return len(self.denominators) - 1

    def root(self) -> tuple[Array, Array]:
        """(p_0, q_0), each a (4,) element."""
        numerator = self.numerators[0]
        if numerator is None:
            numerator = ext.one(like=self.denominators[0])[:, None]
        elif numerator.ndim == 1:
            numerator = ext.from_base(numerator)
        return numerator[:, 0], self.denominators[0][:, 0]


def compress_rows(columns: Sequence[Array], beta: Array) -> Array:
    """Σ_c β^c·columns[c] for base-field columns of one length, as a (4, len) vector."""
    total = ext.from_base(columns[0])
    power = ext.one(like=total)
    for column in columns[1:]:
        power = ext.mul(power, beta)
        total = ext.add(total, ext.mul_base(power.reshape(ext.DEGREE, 1), column))
    return total


def denominators_of(compressed: Array, alpha: Array) -> Array:
    """α − v for a (4, len) vector of compressed rows v."""
    return ext.sub(alpha.reshape(ext.DEGREE, 1), compressed)


def combine_layer(numerators: Array | None, denominators: Array) -> tuple[Array, Array]:
    """One layer up: halves (p_lo, q_lo), (p_hi, q_hi) → (p_lo·q_hi + p_hi·q_lo, q_lo·q_hi)."""
    half = denominators.shape[1] // 2
    q_lo, q_hi = denominators[:, :half], denominators[:, half:]
    parent_denominators = ext.mul(q_lo, q_hi)
    if numerators is None:
        parent_numerators = ext.add(q_lo, q_hi)
    elif numerators.ndim == 1:
        parent_numerators = ext.add(
            ext.mul_base(q_hi, numerators[:half]), ext.mul_base(q_lo, numerators[half:])
        )
    else:
        p_lo, p_hi = numerators[:, :half], numerators[:, half:]
        parent_numerators = ext.add(ext.mul(p_lo, q_hi), ext.mul(p_hi, q_lo))
    return parent_numerators, parent_denominators


def build_tree(leaf_numerators: Array | None, leaf_denominators: Array) -> FractionTree:
    """All layers from the leaves up. ``leaf_numerators``: None (all ones) or base (2^d,)."""
    depth = leaf_denominators.shape[1].bit_length() - 1
    numerators: list[Array | None] = [leaf_numerators]
    denominators = [leaf_denominators]
    for _ in range(depth):
        p, q = combine_layer(numerators[-1], denominators[-1])
        numerators.append(p)
        denominators.append(q)
    numerators.reverse()
    denominators.reverse()
    return FractionTree(numerators, denominators)


def witness_leaf_denominators(
    lookups: Sequence[Sequence[Array]], padded_lookups: int, alpha: Array, beta: Array
) -> Array:
    """(4, L'·2^n): α − compressed row, lookup j in the high bits; slots ≥ L repeat lookup 0.

    Written coefficient by coefficient: a base-field column only touches coefficient 0, and
    β^c·b touches all four, so a one-column lookup costs one vector subtraction."""
    length = int(lookups[0][0].shape[0])
    out = zeros((ext.DEGREE, padded_lookups * length), like=lookups[0][0])
    powers = [ext.one(like=alpha)]
    for _ in range(1, len(lookups[0])):
        powers.append(ext.mul(powers[-1], beta))
    if not is_torch(out) and len(powers) <= _UNREDUCED_TERMS:
        _fill_leaves_numpy(lookups, out, to_numpy(alpha), [to_numpy(p) for p in powers])
        return out
    for slot in range(padded_lookups):
        columns = lookups[slot if slot < len(lookups) else 0]
        block = slice(slot * length, (slot + 1) * length)
        for k in range(ext.DEGREE):
            coefficient = columns[0] if k == 0 else None
            for power, column in zip(powers[1:], columns[1:], strict=True):
                term = (column * power[k]) % base.P
                coefficient = term if coefficient is None else base.add(coefficient, term)
            alpha_k = int(alpha[k])
            out[k, block] = alpha_k if coefficient is None else base.sub(alpha_k, coefficient)
    return out


_UNREDUCED_TERMS = 4
"""Columns whose products β^c_k·a_c (each below p²) may be summed before one reduction: with
four, α_k + 4p² − Σ stays below 2^64."""


def _fill_leaves_numpy(
    lookups: Sequence[Sequence[Array]],
    out: np.ndarray,
    alpha: np.ndarray,
    powers: list[np.ndarray],
) -> None:
    """out[k] = (α_k + 4p² − Σ_c β^c_k·a_c) mod p per lookup, in unsigned 64-bit arithmetic
    with one reduction per coefficient; the padding slots copy lookup 0's block."""
    length = int(lookups[0][0].shape[0])
    offsets = [np.uint64(int(a) + _UNREDUCED_TERMS * base.P * base.P) for a in alpha]
    sums, quotient = scratch("fraction_tree.leaves", 2, length)
    target = out.view(np.uint64)
    for slot, columns in enumerate(lookups):
        values = [np.asarray(column, dtype=np.int64).view(np.uint64) for column in columns]
        for k in range(ext.DEGREE):
            terms = [(v, int(p[k])) for v, p in zip(values, powers, strict=True) if int(p[k])]
            row = target[k, slot * length : (slot + 1) * length]
            sums.fill(0)
            for column, factor in terms:
                np.multiply(column, np.uint64(factor), out=quotient)
                np.add(sums, quotient, out=sums)
            np.subtract(offsets[k], sums, out=sums)
            kernels.reduce_into(sums, row, quotient)
    filled = len(lookups) * length
    for start in range(filled, out.shape[1], length):
        out[:, start : start + length] = out[:, :length]


def table_leaves(
    table_columns: Sequence[Array], multiplicities: Array, alpha: Array, beta: Array
) -> tuple[Array, Array]:
    """(m as base-field numerators, α − compressed table rows), on m's backend and device."""
    columns = [as_int64(column, like=multiplicities) for column in table_columns]
    compressed = compress_rows(columns, as_int64(beta, like=multiplicities))
    return multiplicities, denominators_of(compressed, as_int64(alpha, like=multiplicities))


def cross_difference(first: tuple[Array, Array], second: tuple[Array, Array]) -> Array:
    """p_1·q_2 − p_2·q_1: zero iff the two fractions are equal (given non-zero q)."""
    return ext.sub(ext.mul(first[0], second[1]), ext.mul(second[0], first[1]))


def is_zero(value: Array) -> bool:
    return bool((value == 0).all())

"""The masking polynomial of the zero-knowledge sumcheck (Libra: Xie, Zhang, Zhang, Papamanthou,
Song, "Libra: Succinct Zero-Knowledge Proofs with Optimal Prover Computation", CRYPTO 2019, §4.1).

    g(x_1, …, x_n) = Σ_i g_i(x_i),   g_i(t) = Σ_{k=0..d} a_{i,k} t^k,  a_{i,k} uniform in F_ext.

(Libra's separate constant a_0 is spread over the n constant terms a_{i,0}.) Its sum over the
cube is G = 2^{n−1} Σ_i (g_i(0) + g_i(1)), and in round i (0-based; the first i variables
fixed to r_0 … r_{i−1}) its part of the round polynomial is, with m = n − i − 1 variables
still free,
    M_i(t) = 2^m (Σ_{j<i} g_j(r_j) + g_i(t)) + 2^{m−1} Σ_{j>i} (g_j(0) + g_j(1)).

For the commitment each g_i becomes a multilinear polynomial in s = ⌈log2(d+1)⌉ variables,
    M̂_i(y_1, …, y_s) = Σ_k a_{i,k} Π_{j : bit j of k is 1} y_j    (bit 1 = most significant),
so that g_i(r) = M̂_i(φ(r)) with φ(r) = (r^{2^{s−1}}, …, r^2, r): its table on {0,1}^s is the
subset sum C_i[b] = Σ_{k ⊆ b} a_{i,k}. The committed base-field vector holds the four
coordinates of every C_i[b] at index (c, i, b) (c the coordinate, most significant), so
    g_i(r) = λ · Ĉ(w_1, w_2, bits(i), φ(r)),  w_1 = X²/(1+X²), w_2 = X/(1+X), λ = (1+X)(1+X²):
eq((c_1, c_2), (w_1, w_2)) = X^c / λ puts the coordinates back together as X-powers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from provers.field import base, ext

P = base.P
_HALF = pow(2, P - 2, P)
_X = np.array([0, 1, 0, 0], dtype=np.int64)


def secure_field_elements(count: int) -> np.ndarray:
    """``count`` uniform base-field elements from os.urandom, by rejection of 31-bit words ≥ p
    (each kept with probability ≈ 15/16, so no modulo bias)."""
    out = np.zeros(0, dtype=np.int64)
    while out.shape[0] < count:
        need = count - out.shape[0]
        words = np.frombuffer(os.urandom(4 * (need + need // 8 + 16)), dtype="<u4")
        candidates = (words & 0x7FFFFFFF).astype(np.int64)
        out = np.concatenate([out, candidates[candidates < P][:need]])
    return out


def _log2_ceil(value: int) -> int:
    return max(0, (value - 1).bit_length())


def _power_of_two(exponent: int) -> int:
    """2^exponent mod p, for any integer exponent (negative means a power of 1/2)."""
    return pow(2, exponent, P) if exponent >= 0 else pow(_HALF, -exponent, P)


def _ext_const(value: int) -> np.ndarray:
    return np.array([value % P, 0, 0, 0], dtype=np.int64)


def coordinate_point() -> tuple[np.ndarray, np.ndarray]:
    """((4, 2) point (w_1, w_2) on the coordinate bits, λ) as in the module docstring."""
    x_squared = ext.mul(_X, _X)
    one = ext.one()
    one_plus_x, one_plus_x2 = ext.add(one, _X), ext.add(one, x_squared)
    w_1 = ext.mul(x_squared, ext.inv(one_plus_x2))
    w_2 = ext.mul(_X, ext.inv(one_plus_x))
    return np.stack([w_1, w_2], axis=1), ext.mul(one_plus_x, one_plus_x2)


def column_point(r: np.ndarray, column_vars: int) -> np.ndarray:
    """φ(r) = (r^{2^{s−1}}, …, r^2, r) as a (4, s) point."""
    out = np.zeros((ext.DEGREE, column_vars), dtype=np.int64)
    power = np.asarray(r, dtype=np.int64).reshape(ext.DEGREE)
    for j in reversed(range(column_vars)):
        out[:, j] = power
        power = ext.mul(power, power)
    return out


def row_bits(row: int, row_vars: int) -> np.ndarray:
    """The Boolean point of row ``row`` (most significant bit first), shape (4, row_vars)."""
    out = np.zeros((ext.DEGREE, row_vars), dtype=np.int64)
    for j in range(row_vars):
        out[0, j] = (row >> (row_vars - 1 - j)) & 1
    return out


@dataclass(frozen=True)
class MaskLayout:
    """Shape of the committed vector: 4 coordinates × 2^row_vars rows × 2^column_vars columns."""

    num_vars: int
    degree: int

    @property
    def row_vars(self) -> int:
        return _log2_ceil(max(1, self.num_vars))

    @property
    def column_vars(self) -> int:
        return _log2_ceil(self.degree + 1)

    @property
    def table_vars(self) -> int:
        return 2 + self.row_vars + self.column_vars

    def opening_point(self, row: int, r: np.ndarray) -> np.ndarray:
        """The (4, table_vars) point at which λ·Ĉ equals g_row(r)."""
        coordinates, _ = coordinate_point()
        return np.concatenate(
            [coordinates, row_bits(row, self.row_vars), column_point(r, self.column_vars)],
            axis=1,
        )

    def opening_points(self, point: np.ndarray) -> list[np.ndarray]:
        return [self.opening_point(i, point[:, i]) for i in range(self.num_vars)]


@dataclass(frozen=True, eq=False)
class MaskPolynomial:
    """g = Σ_i g_i(x_i), the prover's secret; never serialised except through its commitment."""

    coefficients: np.ndarray
    """(n, 4, d+1): ``coefficients[i][:, k]`` is a_{i,k}, the coefficient of t^k in g_i."""

    @classmethod
    def sample(
        cls, num_vars: int, degree: int, rng: np.random.Generator | None = None
    ) -> MaskPolynomial:
        """A fresh mask; with ``rng`` None the coefficients come from the operating system's
        CSPRNG (a seeded generator is for reproducible tests only: zero knowledge needs
        unpredictable masks)."""
        shape = (num_vars, ext.DEGREE, degree + 1)
        if rng is None:
            return cls(secure_field_elements(int(np.prod(shape))).reshape(shape))
        return cls(rng.integers(0, P, size=shape, dtype=np.int64))

    @property
    def num_vars(self) -> int:
        return int(self.coefficients.shape[0])

    @property
    def degree(self) -> int:
        return int(self.coefficients.shape[2]) - 1

    def univariate_at(self, i: int, t: np.ndarray) -> np.ndarray:
        """g_i(t) for one challenge-field element t (4,), by Horner's rule."""
        acc = ext.zero()
        for k in reversed(range(self.degree + 1)):
            acc = ext.add(ext.mul(acc, t), self.coefficients[i][:, k])
        return np.asarray(acc, dtype=np.int64)

    def _endpoint_sum(self, i: int) -> np.ndarray:
        """g_i(0) + g_i(1) = 2·a_{i,0} + a_{i,1} + … + a_{i,d}."""
        row = self.coefficients[i]
        return np.asarray((row.sum(axis=1) + row[:, 0]) % P, dtype=np.int64)

    def cube_sum(self) -> np.ndarray:
        """G = Σ_{x∈{0,1}^n} g(x)."""
        total = ext.zero()
        for i in range(self.num_vars):
            total = ext.add(total, self._endpoint_sum(i))
        return np.asarray(ext.scale(total, _power_of_two(self.num_vars - 1)), dtype=np.int64)

    def round_values(self, i: int, fixed_prefix_sum: np.ndarray) -> np.ndarray:
        """M_i(0..d), (4, d+1), given Σ_{j<i} g_j(r_j) (see the module docstring)."""
        free = self.num_vars - i - 1
        suffix = ext.zero()
        for j in range(i + 1, self.num_vars):
            suffix = ext.add(suffix, self._endpoint_sum(j))
        constant = ext.add(
            ext.scale(fixed_prefix_sum, _power_of_two(free)),
            ext.scale(suffix, _power_of_two(free - 1)),
        )
        out = np.zeros((ext.DEGREE, self.degree + 1), dtype=np.int64)
        for t in range(self.degree + 1):
            value = self.univariate_at(i, _ext_const(t))
            out[:, t] = ext.add(ext.scale(value, _power_of_two(free)), constant)
        return out

    def evaluate(self, point: np.ndarray) -> np.ndarray:
        """g(point) = Σ_i g_i(point_i) for a (4, n) point."""
        total = ext.zero()
        for i in range(self.num_vars):
            total = ext.add(total, self.univariate_at(i, point[:, i]))
        return np.asarray(total, dtype=np.int64)

    def commitment_vector(self) -> np.ndarray:
        """The base-field vector Ĉ that is committed, index (coordinate, row, column)."""
        layout = MaskLayout(self.num_vars, self.degree)
        rows, columns = 1 << layout.row_vars, 1 << layout.column_vars
        tables = np.zeros((ext.DEGREE, rows, columns), dtype=np.int64)
        tables[:, : self.num_vars, : self.degree + 1] = np.moveaxis(self.coefficients, 0, 1)
        step = 1
        while step < columns:
            # Subset sums over the column bits: C[b] = Σ_{k ⊆ b} a_k, one bit per pass.
            blocks = tables.reshape(ext.DEGREE, rows, columns // (2 * step), 2, step)
            blocks[:, :, :, 1, :] = (blocks[:, :, :, 1, :] + blocks[:, :, :, 0, :]) % P
            step *= 2
        return tables.reshape(-1)

"""Sumcheck combiners of the inference relations (see provers/sumcheck/combiners.py)."""

from __future__ import annotations

from provers.field import base, ext
from provers.field.backend import Array


class ProductTimesSum:
    """C(e_1, …, e_f, a_1, …, a_k) = e_1⋯e_f·Σ_i w_i·a_i with integer constants w_i.

    Degree f + 1. Used for Σ_x eq(ρ, x)·m(x)·t(x) with t a combination of committed limbs."""

    def __init__(self, num_factors: int, weights: list[int]) -> None:
        self.num_factors = num_factors
        self.weights = [w % base.P for w in weights]

    def _sum_base(self, values: list[Array]) -> Array:
        total = (values[0] * self.weights[0]) % base.P
        for weight, value in zip(self.weights[1:], values[1:], strict=True):
            total = (total + value * weight) % base.P
        return total

    def __call__(self, values: list[Array]) -> Array:
        summands = values[self.num_factors :]
        total = ext.scale(summands[0], self.weights[0])
        for weight, value in zip(self.weights[1:], summands[1:], strict=True):
            total = ext.add(total, ext.scale(value, weight))
        for factor in values[: self.num_factors]:
            total = ext.mul(total, factor)
        return total

    def combine_mixed(self, values: list[Array]) -> Array:
        factors, summands = values[: self.num_factors], values[self.num_factors :]
        if not all(v.ndim == 1 for v in summands):
            return self([v if v.ndim == 2 else ext.from_base(v) for v in values])
        scalar = self._sum_base(summands)
        ext_factors = [f for f in factors if f.ndim == 2]
        for factor in factors:
            if factor.ndim == 1:
                scalar = base.mul(scalar, factor)
        if not ext_factors:
            return ext.from_base(scalar)
        total = ext.mul_base(ext_factors[0], scalar)
        for factor in ext_factors[1:]:
            total = ext.mul(total, factor)
        return total

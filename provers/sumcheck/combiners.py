"""Combiners: the polynomial C applied pointwise to the factor tables of a sumcheck.

A combiner is any callable taking the k factor values at m points, each a (4, m) challenge-field
array, and returning the (4, m) values of C. A combiner may also offer ``combine_base``, the same
polynomial on base-field values ((m,) arrays in, (m,) out): when every table is a base-field
table the prover then computes the first round with 31-bit arithmetic, about four times cheaper
than in the challenge field. A combiner may offer ``combine_mixed`` too, taking base-field and
challenge-field values side by side (tables of both kinds in round 1). All methods must compute
the same polynomial.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from provers.field import base, ext
from provers.field.backend import Array

Combiner = Callable[[list[Array]], Array]


@runtime_checkable
class BaseFieldCombiner(Protocol):
    """A combiner that can also run on base-field values (see the module docstring)."""

    def __call__(self, values: list[Array]) -> Array: ...

    def combine_base(self, values: list[Array]) -> Array: ...


@runtime_checkable
class MixedFieldCombiner(Protocol):
    """A combiner that takes base-field (m,) and challenge-field (4, m) values side by side."""

    def __call__(self, values: list[Array]) -> Array: ...

    def combine_mixed(self, values: list[Array]) -> Array: ...


class Product:
    """C(v_1, …, v_k) = v_1 · v_2 ⋯ v_k, of total degree k (f·g, eq·a·b, …)."""

    def __init__(self, num_factors: int) -> None:
        if num_factors < 1:
            raise ValueError("a product needs at least one factor")
        self.num_factors = num_factors

    @property
    def degree(self) -> int:
        return self.num_factors

    def _check(self, values: list[Array]) -> None:
        if len(values) != self.num_factors:
            raise ValueError(f"expected {self.num_factors} factors, got {len(values)}")

    def __call__(self, values: list[Array]) -> Array:
        self._check(values)
        acc = values[0]
        for value in values[1:]:
            acc = ext.mul(acc, value)
        return acc

    def combine_base(self, values: list[Array]) -> Array:
        self._check(values)
        acc = values[0]
        for value in values[1:]:
            acc = base.mul(acc, value)
        return acc

    def combine_mixed(self, values: list[Array]) -> Array:
        """The product of base-field (m,) and challenge-field (4, m) values, as (4, m): the
        base factors are multiplied in the base field first, then enter with one ``mul_base``."""
        self._check(values)
        base_factors = [v for v in values if v.ndim == 1]
        ext_factors = [v for v in values if v.ndim == 2]
        if not ext_factors:
            return ext.from_base(self.combine_base(values))
        acc = ext_factors[0]
        for value in ext_factors[1:]:
            acc = ext.mul(acc, value)
        if base_factors:
            base_product = base_factors[0]
            for value in base_factors[1:]:
                base_product = base.mul(base_product, value)
            acc = ext.mul_base(acc, base_product)
        return acc


def product(num_factors: int = 2) -> Product:
    """The product combiner of ``num_factors`` tables."""
    return Product(num_factors)

"""Multilinear extensions and round polynomials against their brute-force definitions."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from provers.field import base, ext
from provers.poly import multilinear as ml
from provers.poly import univariate as uv

P = base.P


def brute_force_mle(table: list[int], point: list[list[int]]) -> list[int]:
    """Σ_b f[b]·Π_k eq(b_k, x_k) in exact integer arithmetic, x_1 the top bit of b."""
    n = len(point)
    total = np.zeros(4, dtype=object)
    for idx, bits in enumerate(itertools.product((0, 1), repeat=n)):
        weight = np.array([1, 0, 0, 0], dtype=np.int64)
        for bit, coord in zip(bits, point, strict=True):
            c = np.array(coord, dtype=np.int64)
            factor = c if bit else ext.sub(ext.one(), c)
            weight = ext.mul(weight, factor)
        total = (total + np.array([int(w) * table[idx] for w in weight], dtype=object)) % P
    return [int(t) for t in total]


@pytest.mark.parametrize("num_vars", [0, 1, 2, 3, 5])
def test_evaluate_matches_the_definition(num_vars: int) -> None:
    rng = np.random.default_rng(num_vars)
    table = base.random(1 << num_vars, rng)
    point = ext.random(num_vars, rng)
    expected = brute_force_mle(table.tolist(), [point[:, k].tolist() for k in range(num_vars)])
    assert ml.evaluate(table, point).tolist() == expected
    assert ml.evaluate(ext.from_base(table), point).tolist() == expected


def test_evaluation_on_the_cube_returns_the_table_entry() -> None:
    rng = np.random.default_rng(1)
    table = base.random(16, rng)
    for idx in range(16):
        bits = np.array([(idx >> (3 - k)) & 1 for k in range(4)], dtype=np.int64)
        assert ml.evaluate(table, ext.from_base(bits)).tolist() == [int(table[idx]), 0, 0, 0]


def test_eq_table_is_eq_at_each_cube_point_and_sums_to_one() -> None:
    rng = np.random.default_rng(2)
    point = ext.random(4, rng)
    table = ml.eq_table(point)
    for idx in (0, 5, 15):
        bits = np.array([(idx >> (3 - k)) & 1 for k in range(4)], dtype=np.int64)
        assert ext.equal(table[:, idx], ml.eq_eval(ext.from_base(bits), point))
    assert ext.equal(ext.sum_(table), ext.one())


def test_fixing_the_first_variable_agrees_with_evaluation() -> None:
    rng = np.random.default_rng(3)
    table = ext.random(32, rng)
    point = ext.random(5, rng)
    folded = ml.fix_first(table, point[:, 0])
    assert ext.equal(ml.evaluate(folded, point[:, 1:]), ml.evaluate(table, point))


def test_non_power_of_two_tables_are_refused() -> None:
    with pytest.raises(ValueError):
        ml.num_vars_of(12)


@pytest.mark.parametrize("degree", [1, 2, 3, 5])
def test_round_polynomial_interpolation_matches_monomial_evaluation(degree: int) -> None:
    rng = np.random.default_rng(degree)
    evals = ext.random(degree + 1, rng)
    coeffs = uv.interpolate_coefficients(evals)
    r = ext.random((), rng)
    horner = ext.zero()
    for k in range(degree, -1, -1):
        horner = ext.add(ext.mul(horner, r), coeffs[:, k])
    assert ext.equal(uv.evaluate(evals, r), horner)
    for node in range(degree + 1):
        assert ext.equal(uv.evaluate(evals, ext.from_base(np.array(node))), evals[:, node])

"""Requantisation constants and scales against their definitions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from provers.circuit import executor
from provers.circuit.model import QuantisedModel
from provers.circuit.ops import MAX_SHIFT1, MAX_SHIFT2, MULTIPLIER_BITS, T_BITS, Node, OpKind
from provers.compiler.quantise import (
    activation_scale,
    add_multipliers,
    first_shift,
    quantise_weight,
    requant_constants,
)
from provers.errors import CompileError


def t_bound(bound: int, shift: int) -> int:
    return (bound + ((1 << shift) >> 1)) >> shift


LARGEST_BOUND = ((1 << T_BITS) << MAX_SHIFT1) - (1 << (MAX_SHIFT1 - 1)) - 1


@given(st.integers(min_value=0, max_value=LARGEST_BOUND))
def test_the_first_shift_is_the_smallest_that_keeps_t_in_range(bound: int) -> None:
    shift = first_shift(bound)
    assert t_bound(bound, shift) < 1 << T_BITS
    assert shift == 0 or t_bound(bound, shift - 1) >= 1 << T_BITS


def test_an_accumulator_bound_beyond_the_largest_shift_is_refused() -> None:
    assert t_bound(LARGEST_BOUND, first_shift(LARGEST_BOUND)) < 1 << T_BITS
    with pytest.raises(CompileError, match="shift"):
        first_shift(LARGEST_BOUND + 1)


@settings(max_examples=200)
@given(
    st.floats(min_value=1e-7, max_value=50.0),
    st.integers(min_value=1, max_value=LARGEST_BOUND),
    st.booleans(),
)
def test_requantisation_approximates_its_ratio_on_every_accumulator(
    ratio: float, bound: int, relu: bool
) -> None:
    assume(round(ratio * 2.0 ** first_shift(bound)) < 1 << MULTIPLIER_BITS)
    requant = requant_constants(np.array([ratio]), bound, relu)
    assert 1 <= requant.multipliers[0] < 1 << MULTIPLIER_BITS
    accumulators = np.unique(
        np.clip(np.linspace(-bound, bound, 101).astype(np.int64), -bound, bound)
    ).reshape(1, -1)
    got = executor.requantise(accumulators, requant, channel_axis=1)
    ideal = np.clip(accumulators * ratio, requant.lower, 127)
    # two roundings (the shifted accumulator's, the output's) and the multiplier's precision
    slack = 0.5 + 0.5 * (1 << requant.shift1) * ratio + 1e-9
    multiplier_error = abs(
        requant.multipliers[0] / 2.0 ** (requant.shift1 + requant.shift2) - ratio
    )
    assert np.all(np.abs(got - ideal) <= slack + np.abs(accumulators) * multiplier_error + 0.5)
    if ratio * 2.0**requant.shift1 >= 2.0 ** -(MAX_SHIFT2 - MULTIPLIER_BITS):
        assert multiplier_error <= ratio * 2.0 ** -(MULTIPLIER_BITS - 2)


def test_a_ratio_no_multiplier_can_carry_is_refused() -> None:
    with pytest.raises(CompileError, match="too narrow"):
        requant_constants(np.array([17.0]), 1 << 25, False)


def test_per_channel_multipliers_share_one_second_shift() -> None:
    requant = requant_constants(np.array([0.01, 0.02, 0.0001]), 1 << 20, False)
    assert len(requant.multipliers) == 3
    assert max(requant.multipliers) >= 1 << (MULTIPLIER_BITS - 1)  # full precision on the largest
    scale = 2.0 ** (requant.shift1 + requant.shift2)
    assert requant.multipliers[1] / scale == pytest.approx(0.02, rel=1e-4)


def test_weights_use_the_full_int8_range_per_channel() -> None:
    weight = np.array([[0.5, -1.0, 0.25], [0.0, 0.0, 0.0], [3.0, 1.5, -0.75]])
    quantised, scales = quantise_weight(weight)
    assert quantised.tolist() == [[64, -127, 32], [0, 0, 0], [127, 64, -32]]
    assert scales[0] == pytest.approx(1.0 / 127) and scales[2] == pytest.approx(3.0 / 127)
    assert scales[1] > 0


def test_activation_scales_cover_the_calibration_range() -> None:
    values = np.array([-2.54, 0.1, 1.0])
    assert activation_scale(values) == pytest.approx(2.54 / 127)
    assert activation_scale(np.zeros(4)) > 0
    assert activation_scale(np.arange(1001.0), percentile=50) == pytest.approx(500 / 127)


def test_add_multipliers_align_two_scales() -> None:
    (first, second), accumulator_scale = add_multipliers(0.02, 0.005)
    assert first == 1 << 14 and second == 1 << 12
    assert first * accumulator_scale == pytest.approx(0.02)
    assert second * accumulator_scale == pytest.approx(0.005)


def test_the_constants_pass_the_model_validation_for_a_worst_case_layer() -> None:
    weight = np.full((2, 4096), 127)
    bias = np.array([1 << 28, -(1 << 28)])
    bound = int((np.abs(weight).sum(axis=1) * 128 + np.abs(bias)).max())
    requant = requant_constants(np.array([1e-4, 3e-4]), bound, True)
    node = Node(
        "wide", OpKind.LINEAR, ("input",), (2,), 1.0, weight=weight, bias=bias, requant=requant
    )
    QuantisedModel((4096,), 1.0, (node,), "wide").validate()

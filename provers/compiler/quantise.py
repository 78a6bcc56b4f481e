"""Post-training quantisation: scales from calibration data, int8 weights, requant constants.

Symmetric everywhere (zero point 0): a real value v is the integer round(v / s) of scale s.

- Activations: one scale per tensor, s = r / 127 where r is the calibration data's largest
  |value|. A high percentile of |value| (clipping outliers for finer steps) is available but
  is not the default: on the digits MLP it did not raise top-1 agreement (99.5–100% with
  percentiles 99.5–99.99 against 99.7–100% with the maximum, over three training seeds).
- Weights: one scale per output channel, s_c = max|W_c| / 127, so every channel uses the full
  int8 range; biases become int32 in the accumulator's scale s_x·s_c.
- Requantisation (see :mod:`provers.circuit.ops`): the accumulator of channel c holds a value
  in units s_acc,c and must come out in units s_y, i.e. y ≈ acc·M_c with M_c = s_acc,c / s_y.
  shift1 is the smallest shift that keeps |t| < 2^15 for the worst accumulator any int8 input
  can produce (not just the calibration data); then y ≈ t·M_c·2^shift1, and shift2 is the
  largest shift that keeps every multiplier m_c = round(M_c·2^(shift1+shift2)) below 2^15, so
  the multipliers carry as many significant bits as the IR allows.
"""

from __future__ import annotations

import numpy as np

from provers.circuit.ops import INT8_MAX, MAX_SHIFT1, MAX_SHIFT2, MULTIPLIER_BITS, T_BITS, Requant
from provers.errors import CompileError

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
ADD_ALIGNMENT_BITS = 14
"""The larger add operand's multiplier is 2^14, leaving the smaller one 14 bits of ratio."""
_MULTIPLIER_LIMIT = (1 << MULTIPLIER_BITS) - 1
_EMPTY_RANGE_SCALE = 1.0 / INT8_MAX
"""Scale for a tensor that is zero on all calibration data: any positive scale is exact."""


def activation_scale(values: np.ndarray, percentile: float | None = None) -> float:
    """s = r/127, r the largest |value| (or the given percentile of |value|)."""
    magnitudes = np.abs(np.asarray(values, dtype=np.float64)).reshape(-1)
    if magnitudes.size == 0:
        return _EMPTY_RANGE_SCALE
    top = (
        float(magnitudes.max())
        if percentile is None
        else float(np.percentile(magnitudes, percentile))
    )
    if not np.isfinite(top):
        raise CompileError("calibration produced a non-finite activation")
    return top / INT8_MAX if top > 0 else _EMPTY_RANGE_SCALE


def quantise_tensor(values: np.ndarray, scale: float) -> np.ndarray:
    """round(v / s) clamped to int8, as int64 (round half to even)."""
    return np.clip(np.round(np.asarray(values, dtype=np.float64) / scale), -128, INT8_MAX).astype(
        np.int64
    )


def weight_scales(weight: np.ndarray) -> np.ndarray:
    """Per output channel, max|W_c| / 127; an all-zero channel borrows the layer's scale."""
    flat = np.abs(np.asarray(weight, dtype=np.float64)).reshape(weight.shape[0], -1)
    peaks = flat.max(axis=1)
    fallback = float(peaks.max()) if peaks.max() > 0 else 1.0
    return np.where(peaks > 0, peaks, fallback) / INT8_MAX


def quantise_weight(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 weights (as int64) and their per-channel scales."""
    scales = weight_scales(weight)
    shape = (-1,) + (1,) * (weight.ndim - 1)
    quantised = np.clip(np.round(weight / scales.reshape(shape)), -INT8_MAX, INT8_MAX)
    return quantised.astype(np.int64), scales


def quantise_bias(bias: np.ndarray, accumulator_scales: np.ndarray) -> np.ndarray:
    quantised: np.ndarray = np.round(np.asarray(bias, dtype=np.float64) / accumulator_scales)
    if quantised.min(initial=0) < INT32_MIN or quantised.max(initial=0) > INT32_MAX:
        raise CompileError("a bias too large for int32 at the accumulator's scale")
    return quantised.astype(np.int64)


def first_shift(bound: int) -> int:
    """The smallest shift1 with ⌊(bound + 2^(shift1−1)) / 2^shift1⌋ < 2^15."""
    for shift in range(MAX_SHIFT1 + 1):
        if (bound + ((1 << shift) >> 1)) >> shift < 1 << T_BITS:
            return shift
    raise CompileError(f"an accumulator bound of {bound} needs a shift beyond {MAX_SHIFT1}")


def second_shift(scaled: np.ndarray) -> int:
    """The largest shift2 ≤ MAX_SHIFT2 keeping every round(scaled·2^shift2) below 2^15."""
    peak = float(np.max(scaled))
    shift = 0
    while shift < MAX_SHIFT2 and round(peak * 2.0 ** (shift + 1)) <= _MULTIPLIER_LIMIT:
        shift += 1
    return shift


def requant_constants(ratios: np.ndarray, bound: int, relu: bool) -> Requant:
    """Constants for y ≈ acc·ratio_c (per channel, or one ratio) given the worst |acc|."""
    ratios = np.asarray(ratios, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(ratios)) or ratios.min() <= 0:
        raise CompileError("a requantisation ratio is not a positive finite number")
    shift1 = first_shift(int(bound))
    scaled = ratios * 2.0**shift1
    if round(float(scaled.max())) > _MULTIPLIER_LIMIT:
        # One step of t would move the output by 2^15 steps: every output would be wrong.
        raise CompileError(
            "an output range too narrow for its worst-case accumulator "
            f"(ratio {float(ratios.max()):.3g} after a shift of {shift1})"
        )
    shift2 = second_shift(scaled)
    multipliers = np.clip(np.round(scaled * 2.0**shift2), 1, _MULTIPLIER_LIMIT).astype(np.int64)
    return Requant(shift1, tuple(int(m) for m in multipliers), shift2, relu)


def add_multipliers(scale_a: float, scale_b: float) -> tuple[tuple[int, int], float]:
    """Integer multipliers aligning two operand scales, and the accumulator's scale.

    a·s_a + b·s_b ≈ (a·m_a + b·m_b)·s_acc with s_acc = max(s_a, s_b) / 2^14."""
    accumulator_scale = max(scale_a, scale_b) / (1 << ADD_ALIGNMENT_BITS)

    def multiplier(scale: float) -> int:
        return int(np.clip(round(scale / accumulator_scale), 1, _MULTIPLIER_LIMIT))

    return (multiplier(scale_a), multiplier(scale_b)), accumulator_scale

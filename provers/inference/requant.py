"""How one requantisation is proven: the advice the prover commits and why it is sound.

Semantics (provers/circuit/ops.py): t = ⌊(acc + 2^(s1−1)) / 2^s1⌋, u = ⌊(t·m_c + 2^(s2−1)) /
2^s2⌋, y = clamp(u, lo, 127). The prover commits, per output entry,

    σ = [t < 0],   τ = t + 2^15·σ ∈ [0, 2^15),   r1 ∈ [0, 2^s1),   r2 ∈ [0, 2^s2),

the limbs of τ, r1, r2 being range-checked (:mod:`.tables`), and u through a clamp index (below).
The verifier checks at a random point ρ of the output (Schwartz–Zippel on the multilinear
extension of each identity's error vector, error ≤ n/|F| for n variables):

    (1)  acc + 2^(s1−1)·valid = 2^s1·t + r1            (t = τ − 2^15·σ)
    (2)  m·t + 2^(s2−1)·valid = 2^s2·u + r2            (m·t by a sumcheck when m varies by channel)

with ``valid`` the indicator of real (unpadded) positions, so every padded entry of every
committed vector is 0. Field identities are integer identities here:

* (1): two solutions (t, r1), (t', r1') with t, t' ∈ [−2^15, 2^15), r1, r1' ∈ [0, 2^s1) differ
  by an integer of absolute value < 2^(16+s1) ≤ 2^30 < p that is ≡ 0 (mod p), hence by 0. So t
  is the unique rounding shift of the accumulator's field value (s1 ≤ 14 is required).
* (2): V = t·m + 2^(s2−1) may span (−2^30, 2^30], wider than p, so a range check of u alone
  would not make u unique. The sign bit σ fixes it: given σ the integer V lies in a window of
  width < p, and the clamp table only admits u with the sign of t (u ∈ [0, U] for σ = 0,
  u ∈ [−U, 0] for σ = 1; U bounds |u| for every t, m). :func:`check_windows` verifies, with
  exact integers, that for each σ every V − W (W = 2^s2·u + r2 over the admitted u, r2) lies
  strictly between −p and p; then V ≡ W forces V = W and u is the true quotient.

Clamp index. ``direct`` (|u| ≤ U small): one lookup of (index, σ, y) into a block of 2U + 2
rows, index = u for σ = 0 and u + 2U + 1 for σ = 1. ``split`` (U large): u = v + 2^L·h with
v ∈ [0, 2^L); a block of 2H + 2 rows binds (h, σ, hc = clip(h, −2, 1)), and a block of
4·2^L rows, shared by every node with the same (L, lo), binds (v, hc) to y = clamp(v + 2^L·hc)
(for L ≥ 7, h ≥ 1 means u ≥ 128 and h ≤ −2 means u < −128, where y saturates). The admitted u
then lie in [0, (H+1)·2^L) for σ = 0 and [−H·2^L, 2^L) for σ = 1, the windows checked above.
"""

from __future__ import annotations

from dataclasses import dataclass

from provers.circuit.ops import INT8_MAX, MAX_SHIFT1, MAX_SHIFT2, T_BITS, Requant
from provers.field import base
from provers.inference.layout import UnsupportedCircuit

P = base.P
T_OFFSET = 1 << T_BITS
DIRECT_MAX_ROWS = 1 << 11
MIN_SPLIT_BITS = 7
MAX_SPLIT_BITS = 14
MAX_BLOCK_ROWS = 1 << 17


@dataclass(frozen=True)
class ClampPlan:
    """How y = clamp(u, lo, 127) and the range of u are bound."""

    split: bool
    """False: one (index, σ, y) lookup; True: the (h, σ, hc) and (v, hc, y) lookups."""
    bound: int
    """U (direct) or H (split): the σ-block admits 2·bound + 2 rows."""
    low_bits: int
    """L of the split u = v + 2^L·h; 0 when direct."""
    lower: int
    """lo: 0 with a fused ReLU, −128 otherwise."""


@dataclass(frozen=True)
class RequantPlan:
    shift1: int
    shift2: int
    multipliers: tuple[int, ...]
    tau_limbs: tuple[int, ...]
    r1_limbs: tuple[int, ...]
    r2_limbs: tuple[int, ...]
    clamp: ClampPlan
    channel_axis: int = 1
    """The axis of the batched tensor that the per-channel multipliers run along."""

    @property
    def single_multiplier(self) -> bool:
        return len(set(self.multipliers)) == 1

    @property
    def max_multiplier(self) -> int:
        return max(self.multipliers)


def limb_widths(bits: int, limb_bits: int) -> tuple[int, ...]:
    """Widths of the limbs of a value in [0, 2^bits): full limbs, then the remainder."""
    widths = [limb_bits] * (bits // limb_bits)
    if bits % limb_bits:
        widths.append(bits % limb_bits)
    return tuple(widths)


def clamp_value(u: int, lower: int) -> int:
    return max(lower, min(INT8_MAX, u))


def _v_range(plan_shift2: int, m_max: int) -> tuple[int, int, int, int]:
    """Integer ranges of V = t·m + 2^(s2−1)·[s2 > 0]: (σ=0 low, σ=0 high, σ=1 low, σ=1 high)."""
    half = (1 << plan_shift2) >> 1
    return half, (T_OFFSET - 1) * m_max + half, -T_OFFSET * m_max + half, half - 1


def check_windows(
    shift2: int, m_max: int, windows: tuple[tuple[int, int], tuple[int, int]]
) -> bool:
    """For σ = 0, 1 with admitted u ∈ windows[σ] (inclusive), every V − W lies in (−p, p)."""
    v0_low, v0_high, v1_low, v1_high = _v_range(shift2, m_max)
    remainder = (1 << shift2) - 1
    for (v_low, v_high), (u_low, u_high) in zip(
        ((v0_low, v0_high), (v1_low, v1_high)), windows, strict=True
    ):
        w_low, w_high = u_low << shift2, (u_high << shift2) + remainder
        if not (v_high - w_low < P and v_low - w_high > -P):
            return False
    return True


def u_bound(shift2: int, m_max: int) -> int:
    """max |u| over t ∈ [−2^15, 2^15) for multipliers ≤ m_max."""
    half = (1 << shift2) >> 1
    return (T_OFFSET * m_max + half) >> shift2


def _clamp_plan(name: str, shift2: int, m_max: int, lower: int) -> ClampPlan:
    bound = u_bound(shift2, m_max)
    if 2 * bound + 2 <= DIRECT_MAX_ROWS and check_windows(shift2, m_max, ((0, bound), (-bound, 0))):
        return ClampPlan(False, bound, 0, lower)
    for low_bits in range(MIN_SPLIT_BITS, MAX_SPLIT_BITS + 1):
        top = -(-bound // (1 << low_bits))
        windows = ((0, ((top + 1) << low_bits) - 1), (-(top << low_bits), (1 << low_bits) - 1))
        if 2 * top + 2 <= MAX_BLOCK_ROWS and check_windows(shift2, m_max, windows):
            return ClampPlan(True, top, low_bits, lower)
    raise UnsupportedCircuit(
        f"{name}: requantisation with shift2 = {shift2} and multipliers up to {m_max} has "
        f"|u| up to {bound}; no clamp table of at most {MAX_BLOCK_ROWS} rows binds it soundly"
    )


def requant_plan(
    name: str, requant: Requant, channels: int, limb_bits: int, channel_axis: int = 1
) -> RequantPlan:
    """The plan of one node's requantisation; UnsupportedCircuit outside the sound range."""
    if not 0 <= requant.shift1 <= MAX_SHIFT1:
        raise UnsupportedCircuit(f"{name}: shift1 = {requant.shift1}, at most {MAX_SHIFT1}")
    if not 0 <= requant.shift2 <= MAX_SHIFT2:
        raise UnsupportedCircuit(f"{name}: shift2 = {requant.shift2}, at most {MAX_SHIFT2}")
    multipliers = tuple(int(m) for m in requant.multipliers)
    if len(multipliers) == 1:
        multipliers = multipliers * channels
    return RequantPlan(
        shift1=requant.shift1,
        shift2=requant.shift2,
        multipliers=multipliers,
        tau_limbs=limb_widths(T_BITS, limb_bits),
        r1_limbs=limb_widths(requant.shift1, limb_bits),
        r2_limbs=limb_widths(requant.shift2, limb_bits),
        clamp=_clamp_plan(name, requant.shift2, max(multipliers), requant.lower),
        channel_axis=channel_axis,
    )

"""The requantisation argument by brute force: the honest advice satisfies every identity and
lookup, and no other advice within the admitted windows does (field identities are integer
identities); plus the layouts and the tagged lookup table the argument relies on."""

from __future__ import annotations

import numpy as np
import pytest

from provers.circuit import executor
from provers.circuit.ops import Requant
from provers.field import base, ext
from provers.inference.claims import evaluate_signed, segments_value
from provers.inference.layout import Dim, TensorLayout, aligned_chunks
from provers.inference.requant import T_OFFSET, requant_plan, u_bound
from provers.inference.tables import InferenceTable, clamp_block_key, range_key, sign_block_key
from provers.inference.witness import requant_advice
from provers.inference.witness_layout import Segment
from provers.lookup import compute_multiplicities
from provers.lookup.statement import LookupStatement
from provers.poly import multilinear

P = base.P
LENGTH, USED = 128, 42 * 3
EXTREME_T = np.array([-T_OFFSET, -T_OFFSET + 1, -12345, -1, 0, 1, 777, T_OFFSET - 1])
CONFIGS = [
    (14, 32767, False),
    (16, 32767, True),
    (20, 30000, False),
    (22, 1 << 14, True),
    (29, 5, True),
    (0, 3, False),
    (8, 200, True),
]


def _u_candidates(plan_bound: int, split_bits: int, split: bool, sigma: int) -> np.ndarray:
    """Every u the clamp lookup admits for this σ."""
    if not split:
        return np.arange(0, plan_bound + 1) if sigma == 0 else np.arange(-plan_bound, 1)
    low = 1 << split_bits
    if sigma == 0:
        return np.arange(0, (plan_bound + 1) * low)
    return np.arange(-plan_bound * low, low)


@pytest.mark.parametrize(("shift2", "multiplier", "relu"), CONFIGS)
def test_no_other_quotient_satisfies_the_second_identity(
    shift2: int, multiplier: int, relu: bool
) -> None:
    plan = requant_plan("node", Requant(0, (multiplier,), shift2, relu), 1, 8)
    clamp = plan.clamp
    half = (1 << shift2) >> 1
    for t in EXTREME_T:
        sigma = int(t < 0)
        value = int(t) * multiplier + half
        true_u = value >> shift2
        candidates = _u_candidates(clamp.bound, clamp.low_bits, clamp.split, sigma)
        assert true_u in candidates
        remainders = (value - candidates.astype(object) * (1 << shift2)) % P
        ok = np.array([r < (1 << shift2) for r in remainders])
        assert candidates[ok].tolist() == [true_u]


@pytest.mark.parametrize("shift1", [0, 5, 14])
def test_no_other_rounding_satisfies_the_first_identity(shift1: int) -> None:
    rng = np.random.default_rng(shift1)
    bound = ((T_OFFSET - 1) << shift1) if shift1 else T_OFFSET - 1
    half = (1 << shift1) >> 1
    candidates = np.arange(-T_OFFSET, T_OFFSET, dtype=np.int64)
    for acc in [int(a) for a in rng.integers(-bound, bound, 6)] + [bound, -bound]:
        true_t = (acc + half) >> shift1
        remainders = (acc + half - candidates * (1 << shift1)) % P
        assert candidates[remainders < (1 << shift1)].tolist() == [true_t]


def test_the_plan_bounds_every_honest_quotient() -> None:
    for shift2, multiplier, _ in CONFIGS:
        bound = u_bound(shift2, multiplier)
        half = (1 << shift2) >> 1
        extremes = [(int(t) * multiplier + half) >> shift2 for t in EXTREME_T]
        assert max(abs(u) for u in extremes) <= bound


@pytest.mark.parametrize(
    ("shift1", "shift2", "relu"), [(0, 0, False), (6, 17, True), (12, 22, False), (3, 9, True)]
)
def test_honest_advice_recomposes_and_its_rows_lie_in_the_table(
    shift1: int, shift2: int, relu: bool
) -> None:
    rng = np.random.default_rng(shift1 + shift2)
    multipliers = tuple(int(m) for m in rng.integers(1 << 14, 1 << 15, 3))
    requant = Requant(shift1, multipliers, shift2, relu)
    plan = requant_plan("node", requant, 3, 8)
    top = (T_OFFSET - 1) << shift1
    acc = np.concatenate(
        [rng.integers(-top, top, (40, 3)), np.full((1, 3), top), np.full((1, 3), -top)]
    )
    advice = requant_advice("node", plan, acc)
    assert np.array_equal(advice["y"], executor.requantise(acc, requant, channel_axis=1))
    table = InferenceTable(_keys(plan))
    rows = _rows(plan, table, advice)
    statement = LookupStatement(table.lookup_table(), len(rows), 7)
    compute_multiplicities(statement, rows)


def _keys(plan: object) -> list[tuple[object, ...]]:
    clamp = plan.clamp  # type: ignore[attr-defined]
    keys = [sign_block_key(clamp)] + ([clamp_block_key(clamp)] if clamp.split else [])
    widths = plan.tau_limbs + plan.r1_limbs + plan.r2_limbs  # type: ignore[attr-defined]
    return keys + [range_key(1 << w) for w in widths]


def _pad(values: np.ndarray) -> np.ndarray:
    flat = np.asarray(values, dtype=np.int64).reshape(-1)
    return np.pad(flat, (0, LENGTH - flat.shape[0])) % P


def _rows(
    plan: object, table: InferenceTable, advice: dict[str, np.ndarray]
) -> list[list[np.ndarray]]:
    clamp = plan.clamp  # type: ignore[attr-defined]
    sign = table.block(sign_block_key(clamp))
    pads = [np.zeros(LENGTH, np.int64)] * 2
    rows = []
    if clamp.split:
        f_block = table.block(clamp_block_key(clamp))
        rows.append(
            [
                _pad(advice["h_index"] + sign.base),
                np.full(LENGTH, sign.id),
                _pad(advice["sigma"]),
                _pad(advice["clip"]),
            ]
        )
        shift = 2 << clamp.low_bits
        rows.append(
            [
                _pad(advice["f_index"] + f_block.base + shift),
                np.full(LENGTH, f_block.id),
                _pad(advice["y"]),
                _pad(advice["clip"]),
            ]
        )
    else:
        rows.append(
            [
                _pad(advice["index"] + sign.base),
                np.full(LENGTH, sign.id),
                _pad(advice["sigma"]),
                _pad(advice["y"]),
            ]
        )
    for prefix, widths in (("tau", plan.tau_limbs), ("r1_", plan.r1_limbs), ("r2_", plan.r2_limbs)):  # type: ignore[attr-defined]
        for j, width in enumerate(widths):
            block = table.block(range_key(1 << width))
            rows.append(
                [_pad(advice[f"{prefix}{j}"] + block.base), np.full(LENGTH, block.id), *pads]
            )
    for row in rows:
        row[1][USED:] = 0
        row[0][USED:] = 0
    return rows


def test_a_row_from_another_block_is_not_in_the_table() -> None:
    plan = requant_plan("node", Requant(4, (30000,), 22, True), 1, 8)
    table = InferenceTable(_keys(plan))
    sign = table.block(sign_block_key(plan.clamp))
    eight = table.block(range_key(256))
    looked_up = [np.array([sign.base + 1]), np.array([eight.id]), np.array([0]), np.array([1])]
    statement = LookupStatement(table.lookup_table(), 1, 0)
    with pytest.raises(Exception, match="not in"):
        compute_multiplicities(statement, [looked_up])


def test_a_layout_embeds_real_values_and_its_validity_is_the_indicator_mle() -> None:
    layout = TensorLayout((Dim.of(3), Dim.of(5), Dim.of(2)))
    rng = np.random.default_rng(1)
    values = rng.integers(-128, 128, (3, 5, 2))
    table = layout.embed(values)
    assert table.shape == (4 * 8 * 2,)
    assert np.array_equal(layout.extract(table), values)
    point = ext.random(layout.log_size, rng)
    indicator = layout.embed(np.ones((3, 5, 2), dtype=np.int64))
    assert ext.equal(layout.validity(point), evaluate_signed(indicator, point))


def test_piecewise_public_columns_evaluate_like_their_tables() -> None:
    segments = (Segment(0, 3, 17), Segment(8, 2, 5), Segment(12, 1, 9))
    vector = np.zeros(16, dtype=np.int64)
    for segment in segments:
        vector[segment.start : segment.start + (1 << segment.log)] = segment.value
    point = ext.random(4, np.random.default_rng(2))
    assert ext.equal(segments_value(segments, point), multilinear.evaluate(vector, point))


def test_aligned_chunks_cover_a_range_with_aligned_pieces() -> None:
    pieces = aligned_chunks(3, 40)
    assert sum(1 << log for _, log in pieces) == 37
    assert all(start % (1 << log) == 0 for start, log in pieces)


def test_multiplicities_of_a_three_column_table_without_an_index_column() -> None:
    from provers.lookup.table import explicit_table

    table = explicit_table([np.array([5, 1, 9, 5]), np.array([0, 2, 2, 1]), np.array([7, 7, 3, 3])])
    looked_up = [np.array([9, 5, 5, 1]), np.array([2, 1, 1, 2]), np.array([3, 3, 3, 7])]
    statement = LookupStatement(table, 1, 2)
    assert compute_multiplicities(statement, [looked_up]).tolist() == [0, 1, 1, 2]
    looked_up[2][0] = 7
    with pytest.raises(Exception, match="not in"):
        compute_multiplicities(statement, [looked_up])


def test_the_weight_layout_places_aligned_disjoint_blocks_of_at_least_one_row() -> None:
    from provers.inference import examples
    from provers.inference.weights import feature_split, weight_layout

    assert feature_split(4608) == [(0, 12), (4096, 9)]
    assert feature_split(784) == [(0, 9), (512, 8), (768, 4)]
    assert feature_split(27) == [(0, 4), (16, 3), (24, 2)]
    layout = weight_layout(examples.mlp())
    spans = [(b.offset, b.log_size) for layer in layout.layers for b in layer.blocks]
    spans.append((layout.bias_offset, layout.bias_log))
    covered = np.zeros(1 << layout.log_size, dtype=np.int64)
    for offset, log in spans:
        assert offset % (1 << log) == 0 and log >= layout.column_log
        covered[offset : offset + (1 << log)] += 1
    assert covered.max() == 1
    assert len(layout.layer(layout.layers[0].node).blocks) == 3

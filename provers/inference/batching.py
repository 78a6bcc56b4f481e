"""Stage C: every claim on W and every weight claim, reduced to one point of each table.

Witness. Claims W(off_j ‖ r_j) = v_j (blocks of 2^(k_j) at aligned offsets). With c_j drawn
after all of them, Σ_j c_j·v_j = Σ_x E(x)·W(x) where E = Σ_j c_j·eq(off_j ‖ r_j, ·) vanishes
outside block j (its high coordinates are Boolean); the sumcheck ends at s with E(s)·W(s), the
verifier computes E(s) = Σ_j c_j·eq(off_j, s_hi)·eq(r_j, s_lo) and W(s) is opened.

Weights. Every layer's claim W_q(h_q ‖ κ) = w_q shares the last c coordinates κ (the batched
matrix-product sumcheck ends every layer on a suffix of one point, :mod:`.weights`). With g the
row fold g(row) = Σ_col eq(κ, col)·Wt[row, col] (one exact GEMV), Σ_q d_q·w_q =
Σ_row E_rows(row)·g(row), E_rows = Σ_q d_q·eq(off_q ‖ h_q, ·) over the row bits: a sumcheck
over the rows only, ending at s' with a claim g(s') = Wt(s' ‖ κ) that one opening settles.
Both sums run as one batched sumcheck (:mod:`.batched`). A false claim survives the random
combination with probability ≤ 1/|F| per table.

Data. When the input is committed in a data table (an audit's test-set chunk), its claims are
combined like W's, as a third term Σ_x E_data(x)·D(x), and D is opened with W and the weights.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from provers.errors import ProverError, Reject, VerificationError
from provers.field import base, ext
from provers.inference.batched import (
    ProverTerm,
    TermShape,
    check_final,
    prove_batched,
    verify_batched,
)
from provers.inference.claims import ClaimSink, eq_at
from provers.inference.context import Context
from provers.inference.proof import StageProof
from provers.poly import multilinear
from provers.sumcheck.combiners import product as product_combiner
from provers.transcript import Transcript

LABEL = "stage_c"
DataClaim = tuple[np.ndarray, np.ndarray]
"""(point, value) of the data table."""


def _coefficients(
    transcript: Transcript, sink: ClaimSink
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    counts = [len(sink.witness), len(sink.weights)] + ([len(sink.data)] if sink.data else [])
    transcript.absorb_ints(f"{LABEL}/claims", counts)
    witness = transcript.challenge_exts(f"{LABEL}/witness", len(sink.witness))
    weights = transcript.challenge_exts(f"{LABEL}/weights", len(sink.weights))
    data = transcript.challenge_exts(f"{LABEL}/data", len(sink.data)) if sink.data else witness
    return witness, weights, data


def _combined(values: list[np.ndarray], coefficients: np.ndarray) -> np.ndarray:
    total = ext.zero()
    for j, value in enumerate(values):
        total = ext.add(total, ext.mul(coefficients[:, j], value))
    return np.asarray(total)


def shared_columns(ctx: Context) -> np.ndarray:
    """κ: the last c coordinates, the same in every weight claim."""
    column_log = ctx.plan.weights.column_log
    points = [point[:, point.shape[1] - column_log :] for _, _, point, _ in ctx.sink.weights]
    if not points or any(not np.array_equal(p, points[0]) for p in points):
        raise ProverError("weight claims do not share their column coordinates")
    return points[0]


def _row_points(ctx: Context) -> list[tuple[int, int, np.ndarray]]:
    """(row offset, row-block log, high coordinates) of every weight claim."""
    layout = ctx.plan.weights
    out = []
    for offset, log, point, _ in ctx.sink.weights:
        rows_log = log - layout.column_log
        out.append((offset >> layout.column_log, rows_log, point[:, :rows_log]))
    return out


def _shapes(
    ctx: Context, witness: np.ndarray, weights: np.ndarray, data: np.ndarray, data_log: int
) -> list[TermShape]:
    claimed_w = _combined([v for _, _, v in ctx.sink.witness], witness)
    claimed_v = _combined([v for _, _, _, v in ctx.sink.weights], weights)
    shapes = [
        TermShape(ctx.plan.witness.log_size, 2, claimed_w),
        TermShape(ctx.plan.weights.row_log, 2, claimed_v),
    ]
    if ctx.sink.data:
        shapes.append(TermShape(data_log, 2, _combined([v for _, _, v in ctx.sink.data], data)))
    return shapes


def _spread(
    blocks: list[tuple[int, np.ndarray]], coefficients: np.ndarray, size: int
) -> np.ndarray:
    """Σ_j c_j·eq(r_j, ·) placed at offset_j: (4, size)."""
    table = np.zeros((ext.DEGREE, size), dtype=np.int64)
    cache: dict[bytes, np.ndarray] = {}
    for j, (offset, point) in enumerate(blocks):
        key = point.tobytes() + bytes([point.shape[1]])
        if key not in cache:
            cache[key] = multilinear.eq_table(point)
        eq = cache[key]
        part = table[:, offset : offset + eq.shape[1]]
        table[:, offset : offset + eq.shape[1]] = ext.add(
            part, ext.mul(eq, coefficients[:, j : j + 1])
        )
    return table


def prove_stage_c(
    ctx: Context, res: Any, transcript: Transcript, data_log: int = 0
) -> tuple[StageProof, np.ndarray, np.ndarray, np.ndarray | None]:
    """(the stage, the point of W, the point of the weight table, the point of the data table
    when there are data claims: ``res.data`` then holds that table, canonical, of 2^data_log
    entries)."""
    witness_c, weight_c, data_c = _coefficients(transcript, ctx.sink)
    shapes = _shapes(ctx, witness_c, weight_c, data_c, data_log)
    e_witness = _spread(
        [(offset, point) for offset, point, _ in ctx.sink.witness],
        witness_c,
        ctx.plan.witness.size,
    )
    columns = shared_columns(ctx)
    e_rows = _spread(
        [(offset, point) for offset, _, point in _row_points(ctx)],
        weight_c,
        1 << ctx.plan.weights.row_log,
    )
    rows = res.weights.row_fold(multilinear.eq_table(columns))
    terms = [
        ProverTerm(shapes[0], [e_witness, res.witness.table], product_combiner(2)),
        ProverTerm(shapes[1], [e_rows, rows], product_combiner(2)),
    ]
    if ctx.sink.data:
        e_data = _spread([(o, p) for o, p, _ in ctx.sink.data], data_c, 1 << data_log)
        terms.append(ProverTerm(shapes[2], [e_data, res.data], product_combiner(2)))
    proof, point, table_finals = prove_batched(terms, transcript, LABEL)
    finals = np.stack([finals[1] for finals in table_finals], axis=1)
    transcript.absorb_ext(f"{LABEL}/finals", finals)
    witness_point = point[:, point.shape[1] - shapes[0].num_vars :]
    row_point = point[:, point.shape[1] - shapes[1].num_vars :]
    data_point = point[:, point.shape[1] - data_log :] if ctx.sink.data else None
    stage = StageProof(point.shape[1], 2, proof, finals)
    return stage, witness_point, np.concatenate([row_point, columns], axis=1), data_point


def _e_at(
    blocks: list[tuple[int, int, np.ndarray]], coefficients: np.ndarray, point: np.ndarray
) -> np.ndarray:
    """Σ_j c_j·eq(off_j, s_hi)·eq(r_j, s_lo) for blocks (offset, log, r_j)."""
    total_log = point.shape[1]
    total = ext.zero()
    for j, (offset, log, local) in enumerate(blocks):
        high = eq_at(point[:, : total_log - log], offset >> log)
        low = multilinear.eq_eval(local, point[:, total_log - log :])
        total = ext.add(total, ext.mul(coefficients[:, j], ext.mul(high, low)))
    return np.asarray(total)


def verify_stage_c(
    ctx: Context, stage: StageProof, transcript: Transcript, data_log: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, DataClaim | None]:
    """(point of W, W's value there, point of the weight table, its value there, and the point
    and value of the data table when there are data claims)."""
    witness_c, weight_c, data_c = _coefficients(transcript, ctx.sink)
    shapes = _shapes(ctx, witness_c, weight_c, data_c, data_log)
    num_vars = max(shape.num_vars for shape in shapes)
    if stage.num_vars != num_vars or stage.degree != 2:
        raise VerificationError(
            Reject.ROUND_COUNT_MISMATCH, f"{LABEL}: wrong round count or degree"
        )
    if stage.finals.shape[1] != len(shapes):
        raise VerificationError(
            Reject.LENGTH_OUT_OF_BOUNDS, f"{LABEL}: {len(shapes)} final values expected"
        )
    point, lambdas, expected = verify_batched(stage.sumcheck, shapes, transcript, LABEL)
    transcript.absorb_ext(f"{LABEL}/finals", stage.finals)
    witness_point = point[:, num_vars - shapes[0].num_vars :]
    row_point = point[:, num_vars - shapes[1].num_vars :]
    witness_blocks = [(o, p.shape[1], p) for o, p, _ in ctx.sink.witness]
    e_witness = _e_at(witness_blocks, witness_c, witness_point)
    e_rows = _e_at(_row_points(ctx), weight_c, row_point)
    w_value, g_value = stage.finals[:, 0], stage.finals[:, 1]
    values = [ext.mul(e_witness, w_value), ext.mul(e_rows, g_value)]
    data: DataClaim | None = None
    if ctx.sink.data:
        data_point = point[:, num_vars - data_log :]
        blocks = [(o, p.shape[1], p) for o, p, _ in ctx.sink.data]
        data = (data_point, stage.finals[:, 2])
        values.append(ext.mul(_e_at(blocks, data_c, data_point), data[1]))
    check_final(expected, values, lambdas, LABEL)
    try:
        columns = shared_columns(ctx)
    except ProverError as error:
        raise VerificationError(Reject.MALFORMED, str(error)) from None
    weight_point = np.concatenate([row_point, columns], axis=1)
    return witness_point, w_value, weight_point, g_value, data


__all__ = ["prove_stage_c", "verify_stage_c", "base"]

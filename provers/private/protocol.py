"""The steps a private-mode prover and verifier share: transcript, points, claims, lookup views.

Transcript order (domain ``veriml/private-inference/v2``):
  1. the statement digest and the parameters; 2. the witness commitment (W2);
  3. one point per layer (``point/<node>``) and, for a public output, ``point/output``;
  4. the bias claims; 5. the relations' batched masked sumcheck (group totals first);
  6. its final values; 7. the lookup (α, β, the helper commitment, τ, λ, its masked sumcheck);
  8. the lookup's final values; 9. stage C (claim weights, masked sumcheck); 10. the witness
  value; 11. the batch opening.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from provers.field import ext
from provers.inference.weights import ColumnBlock
from provers.lookup.zk import ZkLookupStatement
from provers.poly import multilinear
from provers.private.argmax import DATA, INPUTS, audit_points, split_column
from provers.private.plan import INPUT, LayerPlan, PrivatePlan
from provers.private.relations import MatmulTerm, bits
from provers.transcript import Transcript

DOMAIN = "veriml/private-inference/v2"
HELPERS = 2 * ext.DEGREE


def start_transcript(statement_digest: bytes, parameters: bytes) -> Transcript:
    transcript = Transcript(DOMAIN)
    transcript.absorb_bytes("statement", statement_digest)
    transcript.absorb_bytes("parameters", parameters)
    return transcript


def draw_points(plan: PrivatePlan, transcript: Transcript) -> dict[str, np.ndarray]:
    points = {
        layer.node: transcript.challenge_exts(f"point/{layer.node}", layer.log_size)
        for layer in plan.layers
    }
    if not plan.private_output:
        log = plan.output_layer().log_size
        points["output"] = transcript.challenge_exts("point/output", log)
    if plan.classes:
        points.update(audit_points(plan, transcript))
    return points


@dataclass(frozen=True)
class WitnessClaim:
    """W2 at (ζ, the Boolean bits of ``offset``, ``local``): a vector's doubled MLE."""

    zeta: np.ndarray
    offset: int
    local: np.ndarray
    value: np.ndarray


def full_point(
    plan: PrivatePlan,
    zeta: np.ndarray,
    offset: int,
    local: np.ndarray,
    table_log: int | None = None,
) -> np.ndarray:
    """The doubled table's point (W2 by default, or a table of 2^table_log entries)."""
    log = local.shape[1]
    total = plan.witness_log if table_log is None else table_log
    high = bits(offset >> log, total - log)
    return np.concatenate([zeta[:, None], high, local], axis=1)


def vector_local(plan: PrivatePlan, key: tuple[str, str], point: np.ndarray) -> np.ndarray:
    """A vector's point within its slot: zeros for the slot's unused high part (a vector
    smaller than the least slot)."""
    pad = np.zeros((ext.DEGREE, plan.slot_logs[key] - point.shape[1]), dtype=np.int64)
    return np.concatenate([pad, point], axis=1)


def weight_point(
    plan: PrivatePlan, block: ColumnBlock, rho_o: np.ndarray, columns: np.ndarray
) -> np.ndarray:
    """The weight table's point for W_j(ρ_o, κ): block bits, zero-padded rows, columns."""
    size_log = block.rows_log + block.cols_log
    high = bits(block.offset >> size_log, plan.weight_layout.log_size - size_log)
    pad = np.zeros((ext.DEGREE, block.rows_log - rho_o.shape[1]), dtype=np.int64)
    return np.concatenate([high, pad, rho_o, columns], axis=1)


def bias_point(plan: PrivatePlan, layer: LayerPlan, rho_o: np.ndarray) -> np.ndarray:
    log = rho_o.shape[1]
    high = bits(layer.matrix.bias_offset >> log, plan.weight_layout.log_size - log)
    return np.concatenate([high, rho_o], axis=1)


def channel_point(layer: LayerPlan, rho: np.ndarray) -> np.ndarray:
    """ρ_o: the output-channel coordinates of a layer's point."""
    return layer.layout.split_point(rho)[1]


def lookup_statement(plan: PrivatePlan) -> ZkLookupStatement:
    return ZkLookupStatement(plan.lookup_table, 1 << plan.lookup_log)


def lookup_slots(plan: PrivatePlan) -> list[tuple[str, str]]:
    """The distinct slots the lookup reads, in first-use order: one final value each."""
    seen: dict[tuple[str, str], None] = {}
    for segment in plan.segments:
        for slot, _ in segment.columns:
            if slot is not None:
                seen.setdefault(slot, None)
    return list(seen)


def lookup_column_values(
    plan: PrivatePlan, point: np.ndarray, slot_values: dict[tuple[str, str], np.ndarray]
) -> list[np.ndarray]:
    """Each table column's lookup vector at r' = (ζ, r): Σ_j eq(r_high, j's start)·(its slot's
    value at (ζ, r's last log_j coordinates), or 0, plus its constant), r_high the first
    L − log_j coordinates of r; the zero rows after the last segment add nothing. The
    constants do not depend on ζ."""
    starts: dict[int, np.ndarray] = {}
    out = [ext.zero() for _ in range(4)]
    for segment in plan.segments:
        if segment.log not in starts:
            starts[segment.log] = multilinear.eq_table(
                point[:, 1 : 1 + plan.lookup_log - segment.log]
            )
        weight = starts[segment.log][:, segment.offset >> segment.log]
        for c, (slot, constant) in enumerate(segment.columns):
            value = ext.from_base(np.asarray([constant], np.int64))[:, 0]
            if slot is not None:
                value = ext.add(value, slot_values[slot])
            out[c] = ext.add(out[c], ext.mul(weight, value))
    return [np.asarray(total) for total in out]


def slot_local(plan: PrivatePlan, point: np.ndarray, key: tuple[str, str]) -> np.ndarray:
    """The lookup point's coordinates inside ``key``'s slot: its last log coordinates."""
    return point[:, 1 + plan.lookup_log - plan.slot_logs[key] :]


def claim_eq(
    plan: PrivatePlan,
    claims: list[WitnessClaim],
    weights: np.ndarray,
    point: np.ndarray,
    table_log: int | None = None,
) -> np.ndarray:
    """E_C(s) = Σ_j c_j·eq(z_j, s) at stage C's point s (of W2, or of a table of
    2^table_log entries)."""
    total = ext.zero()
    for j, claim in enumerate(claims):
        z = full_point(plan, claim.zeta, claim.offset, claim.local, table_log)
        total = ext.add(total, ext.mul(weights[:, j], multilinear.eq_eval(z, point)))
    return np.asarray(total)


def claim_table(
    plan: PrivatePlan,
    claims: list[WitnessClaim],
    weights: np.ndarray,
    table_log: int | None = None,
) -> np.ndarray:
    """E_C over W2 (4, 2^(M+1)), or over a doubled table of 2^table_log entries: each claim's
    eq(r_j) placed at its region in both halves, scaled by (1 − ζ_j) and ζ_j."""
    size = plan.witness_size if table_log is None else 1 << table_log
    table = np.zeros((ext.DEGREE, 2 * size), dtype=np.int64)
    for j, claim in enumerate(claims):
        eq = multilinear.eq_table(claim.local)
        width = eq.shape[1]
        low = ext.mul(weights[:, j], ext.sub(ext.one(), claim.zeta))
        high = ext.mul(weights[:, j], claim.zeta)
        for half, factor in ((0, low), (size, high)):
            region = slice(half + claim.offset, half + claim.offset + width)
            table[:, region] = ext.add(table[:, region], ext.mul(eq, factor))
    return table


def draw_claim_weights(
    transcript: Transcript, claims: list[WitnessClaim], label: str = "claims"
) -> np.ndarray:
    transcript.absorb_int(f"{label}/count", len(claims))
    return transcript.challenge_exts(f"{label}/weights", len(claims))


def vector_claim(
    plan: PrivatePlan, key: tuple[str, str], zeta: np.ndarray, r: np.ndarray, value: np.ndarray
) -> tuple[bool, WitnessClaim]:
    """(whether the claim is on the data table, the claim) of a term's vector at (ζ, r): a
    slot of W2, a column of a (batch, channels) vector read along the batch axis, or a region
    of the data table (inputs at 0, labels after them)."""
    if key[0] == DATA:
        offset = 0 if key == INPUTS else plan.label_offset
        return True, WitnessClaim(zeta, offset, r, value)
    column = split_column(key)
    if column is not None:
        vector, index = column
        channels_log = plan.vector_layout(vector).dims[1].log
        local = np.concatenate([r, bits(index, channels_log)], axis=1)
        return False, WitnessClaim(
            zeta, plan.offsets[vector], vector_local(plan, vector, local), value
        )
    return False, WitnessClaim(zeta, plan.offsets[key], vector_local(plan, key, r), value)


def claims_total(claims: list[WitnessClaim], weights: np.ndarray) -> np.ndarray:
    total = ext.zero()
    for j, claim in enumerate(claims):
        total = ext.add(total, ext.mul(weights[:, j], claim.value))
    return np.asarray(total)


def input_claim(
    plan: PrivatePlan,
    term: MatmulTerm,
    rho: np.ndarray,
    local: np.ndarray,
    value: np.ndarray,
) -> WitnessClaim:
    """Xf(ζ, κ) = X2(ζ, ρ_n, block bits, κ): a claim on the layer input's slot."""
    layer = term.layer
    block = layer.matrix.blocks[term.block]
    source = (INPUT, "x") if layer.input == INPUT else (layer.input, "y")
    features_log = layer.matrix.feature_log
    rho_n = rho[:, : layer.layout.dims[0].log]
    start_bits = bits(block.start >> block.cols_log, features_log - block.cols_log)
    point = np.concatenate([rho_n, start_bits, local[:, 1:]], axis=1)
    return WitnessClaim(local[:, 0], plan.offsets[source], vector_local(plan, source, point), value)


def matmul_weight_point(
    plan: PrivatePlan, term: MatmulTerm, rho: np.ndarray, local: np.ndarray
) -> np.ndarray:
    """The weight table's point of a matrix-product term's final W_j(ρ_o, κ)."""
    block = term.layer.matrix.blocks[term.block]
    columns = local[:, local.shape[1] - block.cols_log :]
    return weight_point(plan, block, channel_point(term.layer, rho), columns)


def matmul_model_claim(
    plan: PrivatePlan, term: MatmulTerm, rho: np.ndarray, local: np.ndarray, value: np.ndarray
) -> WitnessClaim:
    """Wf(ζ, κ) = M2(ζ, block bits, ρ_o, κ): a claim on the doubled weight table."""
    block = term.layer.matrix.blocks[term.block]
    rho_o = channel_point(term.layer, rho)
    pad = np.zeros((ext.DEGREE, block.rows_log - rho_o.shape[1]), dtype=np.int64)
    columns = local[:, local.shape[1] - block.cols_log :]
    inside = np.concatenate([pad, rho_o, columns], axis=1)
    return WitnessClaim(local[:, 0], block.offset, inside, value)


def bias_model_claim(plan: PrivatePlan, local: np.ndarray, value: np.ndarray) -> WitnessClaim:
    """B(ζ, κ) = M2(ζ, bias block bits, κ): a claim on the doubled weight table's bias block."""
    return WitnessClaim(local[:, 0], plan.weight_layout.bias_offset, local[:, 1:], value)

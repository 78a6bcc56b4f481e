"""The steps prover and verifier share: random points, stage-0 values, lookup claims, stages.

Transcript order (domain ``veriml/inference/v1``):
  1. the statement digest (model digest, circuit, weight commitment, batch, limb width, input,
     output, nonce) and the parameters; 2. the witness commitment;
  3. one random point per node relation (``point/<node>``) and for the output (``point/output``);
  4. the stage-0 values; 5. the lookup (provers/lookup); 6. stage A, 7. stage B (each a batched
  sumcheck, then its final values), 8. stage C (claim batching), 9. the PCS opening.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from provers.circuit.ops import ACTIVATION_PRODUCTS, LAYERNORMS, Node, OpKind
from provers.errors import Reject, VerificationError
from provers.field import ext
from provers.inference.batched import check_final, prove_batched, verify_batched
from provers.inference.claims import Request, evaluate_signed, segments_value
from provers.inference.context import Context, TermSpec, reject_identity
from provers.inference.proof import StageProof
from provers.inference.rel_act_matmul import ActivationMatmulAccumulator
from provers.inference.rel_bias import bias_terms
from provers.inference.rel_embedding import EmbeddingRelation
from provers.inference.rel_layernorm import LayerNormAccumulator
from provers.inference.rel_matmul import MatmulAccumulator
from provers.inference.rel_pool import (
    AvgPoolAccumulator,
    MaxPoolRelation,
    OutputCheck,
    ReluRelation,
    TableRelation,
)
from provers.inference.rel_requant import AddAccumulator, RequantRelation
from provers.inference.rel_softmax import CausalSoftmaxRelation, SoftmaxRelation
from provers.lookup.statement import LookupClaims
from provers.sumcheck.proof import SumcheckProof
from provers.transcript import Transcript

DOMAIN = "veriml/inference/v1"


def start_transcript(statement_digest: bytes, parameters: bytes) -> Transcript:
    transcript = Transcript(DOMAIN)
    transcript.absorb_bytes("statement", statement_digest)
    transcript.absorb_bytes("parameters", parameters)
    return transcript


def _relation(ctx: Context, node: Node, point: np.ndarray) -> Any:
    if node.kind in (OpKind.LINEAR, OpKind.CONV2D):
        return RequantRelation(ctx, node, point, MatmulAccumulator(ctx, node, point))
    if node.kind is OpKind.AVGPOOL2D:
        return RequantRelation(ctx, node, point, AvgPoolAccumulator(ctx, node, point))
    if node.kind is OpKind.ADD:
        return RequantRelation(ctx, node, point, AddAccumulator(ctx, node, point))
    if node.kind in ACTIVATION_PRODUCTS:
        return RequantRelation(ctx, node, point, ActivationMatmulAccumulator(ctx, node, point))
    if node.kind in LAYERNORMS:
        return RequantRelation(ctx, node, point, LayerNormAccumulator(ctx, node, point))
    if node.kind is OpKind.EMBEDDING:
        return EmbeddingRelation(ctx, node, point)
    if node.kind is OpKind.MAXPOOL2D:
        return MaxPoolRelation(ctx, node, point)
    if node.kind is OpKind.TABLE:
        return TableRelation(ctx, node, point)
    if node.kind is OpKind.SOFTMAX:
        return SoftmaxRelation(ctx, node, point)
    if node.kind is OpKind.SOFTMAX_CAUSAL:
        return CausalSoftmaxRelation(ctx, node, point)
    return ReluRelation(ctx, node, point)


def node_relations(ctx: Context, transcript: Transcript) -> list[Any]:
    """One relation per node, each with its fresh random point."""
    relations: list[Any] = []
    for node in ctx.plan.relation_nodes():
        log = ctx.plan.layouts[node.name].log_size
        relations.append(_relation(ctx, node, transcript.challenge_exts(f"point/{node.name}", log)))
    return relations


def draw_relations(ctx: Context, transcript: Transcript, output_table: np.ndarray) -> list[Any]:
    """The output check, then one relation per node, each with its fresh random point."""
    relations = node_relations(ctx, transcript)
    output_log = ctx.plan.layouts[ctx.plan.source(ctx.plan.model.output)].log_size
    output_point = transcript.challenge_exts("point/output", output_log)
    return [OutputCheck(ctx, output_point, output_table), *relations]


def requests(relations: Sequence[Any]) -> list[list[Request]]:
    return [relation.requests() for relation in relations]


def sent_requests(groups: list[list[Request]]) -> list[Request]:
    return [request for group in groups for request in group if request.kind != "input"]


def take_stage0(
    ctx: Context, relations: Sequence[Any], groups: list[list[Request]], sent: np.ndarray
) -> None:
    """Give each relation its values (sent ones become claims on W) and run its checks."""
    expected = len(sent_requests(groups))
    if sent.shape != (ext.DEGREE, expected):
        raise VerificationError(
            Reject.LENGTH_OUT_OF_BOUNDS, f"{sent.shape[1]} stage-0 values, expected {expected}"
        )
    column = 0
    for relation, group in zip(relations, groups, strict=True):
        values: dict[str, np.ndarray] = {}
        for request in group:
            if request.kind != "input":
                value = sent[:, column]
                column += 1
                if request.kind == "w":
                    ctx.sink.add_witness(request.offset, request.point, value)
                elif request.kind == "data":
                    ctx.sink.add_data(request.offset, request.point, value)
            elif ctx.input_table is not None:
                value = evaluate_signed(ctx.input_table, request.point)
            else:
                raise VerificationError(Reject.MALFORMED, "a public-input request without one")
            values[request.key] = value
        relation.take_values(values)


def take_lookup_claims(ctx: Context, claims: LookupClaims) -> None:
    """Public lookup columns must match; committed ones become claims on W."""
    point = claims.witness_point
    for j, chunk in enumerate(ctx.plan.lookup_chunks):
        for c, column in enumerate(chunk.columns):
            value = claims.witness_value(j, c)
            public = segments_value(column.segments, point)
            if column.w_offset is None:
                reject_identity(ext.equal(value, public), f"lookup {j}: public column {c}")
            else:
                ctx.sink.add_witness(column.w_offset, point, ext.sub(value, public))
    block = ctx.plan.witness.multiplicities
    ctx.sink.add_witness(block.offset, claims.multiplicity_point, claims.multiplicity_value)


def empty_stage() -> StageProof:
    rounds = SumcheckProof(np.zeros((0, ext.DEGREE, 2), dtype=np.int64))
    return StageProof(0, 1, rounds, np.zeros((ext.DEGREE, 0), dtype=np.int64))


def _sub_point(point: np.ndarray, num_vars: int) -> np.ndarray:
    return point[:, point.shape[1] - num_vars :]


def prove_stage(specs: list[TermSpec], res: Any, transcript: Transcript, label: str) -> StageProof:
    if not specs:
        return empty_stage()
    terms = [spec.build(res) for spec in specs]
    proof, point, table_finals = prove_batched(terms, transcript, label)
    sent = []
    for spec, finals in zip(specs, table_finals, strict=True):
        sent.append(spec.send(finals, _sub_point(point, spec.shape.num_vars), res))
    flat = [value for values in sent for value in values]
    finals_array = np.stack(flat, axis=1) if flat else np.zeros((ext.DEGREE, 0), np.int64)
    transcript.absorb_ext(f"{label}/finals", finals_array)
    for spec, values in zip(specs, sent, strict=True):
        spec.evaluate(values, _sub_point(point, spec.shape.num_vars))
    degree = max(spec.shape.degree for spec in specs)
    return StageProof(point.shape[1], degree, proof, finals_array)


def verify_stage(
    specs: list[TermSpec], stage: StageProof, transcript: Transcript, label: str
) -> None:
    if not specs:
        if stage.num_vars or stage.finals.shape[1]:
            raise VerificationError(Reject.ROUND_COUNT_MISMATCH, f"{label}: expected no rounds")
        return
    num_vars = max(spec.shape.num_vars for spec in specs)
    degree = max(spec.shape.degree for spec in specs)
    if stage.num_vars != num_vars:
        raise VerificationError(
            Reject.ROUND_COUNT_MISMATCH, f"{label}: {stage.num_vars} rounds, expected {num_vars}"
        )
    if stage.degree != degree:
        raise VerificationError(
            Reject.ROUND_DEGREE_MISMATCH, f"{label}: degree {stage.degree}, expected {degree}"
        )
    counts = [spec.num_finals for spec in specs]
    if stage.finals.shape[1] != sum(counts):
        raise VerificationError(
            Reject.LENGTH_OUT_OF_BOUNDS, f"{label}: {stage.finals.shape[1]} final values"
        )
    shapes = [spec.shape for spec in specs]
    point, lambdas, expected = verify_batched(stage.sumcheck, shapes, transcript, label)
    transcript.absorb_ext(f"{label}/finals", stage.finals)
    values, start = [], 0
    for spec, count in zip(specs, counts, strict=True):
        finals = [stage.finals[:, i] for i in range(start, start + count)]
        start += count
        values.append(spec.evaluate(finals, _sub_point(point, spec.shape.num_vars)))
    check_final(expected, values, lambdas, label)


def stage_a_specs(ctx: Context, relations: Sequence[Any], transcript: Transcript) -> list[TermSpec]:
    """Every node's stage-A terms, then the one term of every layer's bias claim."""
    specs = [spec for relation in relations[1:] for spec in relation.terms_a()]
    layers = [
        relation.accumulator
        for relation in relations[1:]
        if isinstance(relation, RequantRelation)
        and isinstance(relation.accumulator, MatmulAccumulator)
    ]
    return specs + bias_terms(ctx, layers, transcript)


def stage_b_specs(relations: Sequence[Any], transcript: Transcript) -> list[TermSpec]:
    return [spec for relation in relations[1:] for spec in relation.terms_b(transcript)]

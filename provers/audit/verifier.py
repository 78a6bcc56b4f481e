"""The audit verifier: replay the one transcript chunk after chunk and check every step.

``verify_file`` absorbs exactly what :func:`provers.audit.prover.prove` absorbs, in the same
order, and raises VerificationError (and nothing else) on any failure. Before any transcript
step: the statement (circuit, model digest, counts that add up), the chunk count, the dataset
digest recomputed from the chunks' data commitments (STATEMENT_MISMATCH), every chunk's counts
against the statement, and every commitment's shape. Then per chunk: the nodes' identities, the
argmax relation (IDENTITY_MISMATCH), the lookup, stages A, B, C and the opening of the chunk's
witness, the weights and the chunk's data table. The soundness stated in the header must not
exceed what the proof's shape gives (all chunks' errors added).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from provers.audit.argmax import ArgmaxRelation
from provers.audit.dataset import chunk_bounds, data_log, dataset_digest, label_offset
from provers.audit.proof import AuditProof, ChunkProof
from provers.audit.protocol import chunk_header, start_transcript
from provers.audit.statement import AuditStatement, read_statement
from provers.commit import pcs
from provers.commit.pcs import Commitment, PCSParams
from provers.container import ProofFile
from provers.errors import Reject, VerificationError, rejecting_malformed
from provers.inference import protocol
from provers.inference.batching import verify_stage_c
from provers.inference.context import Context
from provers.inference.layout import UnsupportedCircuit
from provers.inference.plan import ProofPlan
from provers.inference.soundness import proof_errors, read_parameters
from provers.lookup import verify_as_subprotocol
from provers.params import ProofParameters, bits_from_errors
from provers.transcript import Transcript

WILSON_Z = 1.959963984540054
"""The 97.5% quantile of the standard normal: a two-sided 95% interval."""


def wilson_interval(correct: int, n: int, z: float = WILSON_Z) -> tuple[float, float]:
    """The Wilson score interval of a proportion correct / n."""
    if n <= 0:
        return (0.0, 1.0)
    p = correct / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def verify_file(proof_file: ProofFile) -> dict[str, Any]:
    """Check an audit proof file; return its public statement with the accuracy."""
    return rejecting_malformed(_verify, proof_file)


def _plan(model: Any, samples: int, limb_bits: int, pcs_params: PCSParams, classes: int) -> Any:
    try:
        plan = ProofPlan(model, samples, limb_bits, pcs_params, classes)
        plan.weights  # noqa: B018 — derive (and bound) the weight layout now
        plan.lookup_statement  # noqa: B018
        return plan
    except (UnsupportedCircuit, ValueError, KeyError) as error:
        raise VerificationError(Reject.UNSUPPORTED_CIRCUIT, str(error)) from None


def _check_shape(commitment: Commitment, num_vars: int, pcs_params: PCSParams, what: str) -> None:
    if (
        commitment.num_vars != num_vars
        or commitment.row_vars != pcs_params.row_vars(num_vars)
        or commitment.hiding
        or commitment.params != pcs_params
    ):
        raise VerificationError(Reject.PARAMETER_MISMATCH, f"{what} commitment of another shape")


def _check_counts(statement: AuditStatement, proof: AuditProof) -> None:
    bounds = chunk_bounds(statement.n, statement.chunk_samples)
    for j, (chunk, (start, stop)) in enumerate(zip(proof.chunks, bounds, strict=True)):
        if int(chunk.totals.sum()) != stop - start or np.any(chunk.hits > chunk.totals):
            raise VerificationError(
                Reject.STATEMENT_MISMATCH, f"chunk {j}: its counts do not fit its samples"
            )
    for what, stated, parts in (
        ("samples per label", statement.totals, [c.totals for c in proof.chunks]),
        ("correct per label", statement.hits, [c.hits for c in proof.chunks]),
    ):
        if not np.array_equal(np.sum(parts, axis=0), stated):
            raise VerificationError(
                Reject.STATEMENT_MISMATCH, f"the chunks' {what} do not add up to the statement's"
            )


def _verify(proof_file: ProofFile) -> dict[str, Any]:
    params = read_parameters(proof_file.parameters)
    statement, model = read_statement(proof_file.statement)
    if statement.weight_commitment.params != params.pcs:
        raise VerificationError(Reject.PARAMETER_MISMATCH, "the weights use other parameters")
    samples = statement.chunk_samples
    if samples & (samples - 1):
        raise VerificationError(Reject.STATEMENT_MISMATCH, "the chunk size is not a power of two")
    bounds = chunk_bounds(statement.n, samples)
    proof = AuditProof.from_bytes(
        proof_file.body, statement.classes, len(bounds), statement.weight_commitment
    )
    commitments = [chunk.data_commitment for chunk in proof.chunks]
    digest = dataset_digest(
        statement.model_digest, statement.n, statement.classes, samples, commitments
    )
    if digest != statement.dataset_digest:
        raise VerificationError(
            Reject.STATEMENT_MISMATCH, "the chunks' data commitments do not make the dataset digest"
        )
    _check_counts(statement, proof)
    transcript = start_transcript(proof_file.digest, proof_file.parameters)
    errors: list[float] = []
    for index, (chunk, (start, stop)) in enumerate(zip(proof.chunks, bounds, strict=True)):
        plan = _plan(model, stop - start, chunk.limb_bits, params.pcs, statement.classes)
        errors.extend(_verify_chunk(statement, plan, index, chunk, transcript, params))
    proof_file.check_soundness(bits_from_errors(errors), params.min_soundness_bits)
    return _public(statement, proof_file.soundness_bits)


def _verify_chunk(
    statement: AuditStatement,
    plan: ProofPlan,
    index: int,
    chunk: ChunkProof,
    transcript: Transcript,
    params: ProofParameters,
) -> list[float]:
    weights = statement.weight_commitment
    if weights.num_vars != plan.weights.log_size or weights.row_vars != plan.weights.row_log:
        raise VerificationError(Reject.STATEMENT_MISMATCH, "weight commitment of another shape")
    log = data_log(plan.model, plan.batch)
    _check_shape(chunk.data_commitment, log, params.pcs, f"chunk {index}: data")
    body = chunk.body
    witness = body.witness_commitment
    _check_shape(witness, plan.witness.log_size, params.pcs, f"chunk {index}: witness")
    chunk_header(transcript, index, plan, chunk.data_commitment, chunk.totals, chunk.hits)
    transcript.absorb_bytes("witness_commitment", witness.to_bytes())
    ctx = Context(plan, None)
    nodes = protocol.node_relations(ctx, transcript)
    point = transcript.challenge_exts("point/argmax", plan.layouts["input"].dims[0].log)
    offset = label_offset(plan.model, plan.batch)
    argmax = ArgmaxRelation(ctx, point, offset, chunk.totals, chunk.hits)
    relations = [argmax, *nodes]
    groups = protocol.requests(relations)
    transcript.absorb_ext("stage0", body.stage0)
    protocol.take_stage0(ctx, relations, groups, body.stage0)
    key = witness.to_bytes()
    runs = (body.lookup, *chunk.extra_lookups)
    if len(runs) != plan.lookup_runs:
        raise VerificationError(
            Reject.LENGTH_OUT_OF_BOUNDS, f"chunk {index}: {len(runs)} lookup runs"
        )
    for lookup in runs:
        claims = verify_as_subprotocol(plan.lookup_statement, lookup, transcript, key, key)
        protocol.take_lookup_claims(ctx, claims)
    specs_a = protocol.stage_a_specs(ctx, relations, transcript) + argmax.terms_a()
    protocol.verify_stage(specs_a, body.stage_a, transcript, "stage_a")
    specs_b = protocol.stage_b_specs(relations, transcript)
    protocol.verify_stage(specs_b, body.stage_b, transcript, "stage_b")
    witness_point, w_value, weight_point, g_value, data = verify_stage_c(
        ctx, body.stage_c, transcript, log
    )
    if data is None:
        raise VerificationError(Reject.MALFORMED, f"chunk {index}: no claim on its data table")
    requests = [
        (witness, witness_point, w_value.reshape(4, 1)),
        (weights, weight_point, g_value.reshape(4, 1)),
        (chunk.data_commitment, data[0], data[1].reshape(4, 1)),
    ]
    pcs.batch_verify(requests, body.opening, transcript, params.pcs)
    stages = [
        (body.stage_a.num_vars, body.stage_a.degree, len(specs_a)),
        (body.stage_b.num_vars, body.stage_b.degree, len(specs_b)),
        (body.stage_c.num_vars, body.stage_c.degree, 3),
    ]
    return proof_errors(plan, params, stages, log)


def _public(statement: AuditStatement, soundness_bits: int) -> dict[str, Any]:
    correct, n = statement.correct, statement.n
    low, high = wilson_interval(correct, n)
    return {
        "kind": "audit",
        "model_digest": statement.model_digest.hex(),
        "dataset_digest": statement.dataset_digest.hex(),
        "n": n,
        "correct": correct,
        "accuracy": correct / n,
        "wilson_95": [low, high],
        "classes": [
            {"label": c, "total": int(statement.totals[c]), "correct": int(statement.hits[c])}
            for c in range(statement.classes)
        ],
        "chunks": len(chunk_bounds(n, statement.chunk_samples)),
        "chunk_samples": statement.chunk_samples,
        "nonce": statement.nonce.hex(),
        "soundness_bits": soundness_bits,
        "private_input": statement.private_input,
        "private_weights": statement.weight_commitment.hiding,
    }

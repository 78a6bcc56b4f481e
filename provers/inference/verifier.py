"""The inference verifier: replay the transcript and check every step.

``verify_file`` absorbs exactly what :func:`provers.inference.prover.prove` absorbs, in the same
order, and raises VerificationError (and nothing else) on any failure. Checks, in order: the
statement (circuit decodes, model digest matches circuit and commitment, tensors of the right
size and int8), the parameters and the soundness stated in the header, the committed output at
a random point (OUTPUT_MISMATCH), every node's identities at its point (IDENTITY_MISMATCH), the
lookup, stages A, B, C (sumcheck reasons, FINAL_EVALUATION_MISMATCH), and the opening of the
witness and weight commitments (PCS reasons).
"""

from __future__ import annotations

from typing import Any

from provers.commit import pcs
from provers.container import ProofFile
from provers.errors import Reject, VerificationError, rejecting_malformed
from provers.inference import protocol
from provers.inference.batching import verify_stage_c
from provers.inference.context import Context
from provers.inference.layout import UnsupportedCircuit
from provers.inference.plan import ProofPlan
from provers.inference.proof import InferenceProof
from provers.inference.soundness import proof_bits, read_parameters
from provers.inference.statement import Statement, read_statement
from provers.lookup import verify_as_subprotocol

MAX_OUTPUT_VALUES = 1 << 16


def _plan(statement: Statement, model: Any, pcs_params: Any) -> ProofPlan:
    """The plan, with every derived size bounded before anything of that size is built."""
    try:
        plan = ProofPlan(model, statement.batch, statement.limb_bits, pcs_params)
        plan.weights  # noqa: B018 — derive (and bound) the weight layout now
        plan.lookup_statement  # noqa: B018
        return plan
    except (UnsupportedCircuit, ValueError, KeyError) as error:
        raise VerificationError(Reject.UNSUPPORTED_CIRCUIT, str(error)) from None


def verify_file(proof_file: ProofFile) -> dict[str, Any]:
    """Check an inference proof file; return its public statement."""
    return rejecting_malformed(_verify, proof_file)


def _verify(proof_file: ProofFile) -> dict[str, Any]:
    params = read_parameters(proof_file.parameters)
    statement, model = read_statement(proof_file.statement)
    if statement.weight_commitment.params != params.pcs:
        raise VerificationError(Reject.PARAMETER_MISMATCH, "the weights use other parameters")
    plan = _plan(statement, model, params.pcs)
    if statement.weight_commitment.num_vars != plan.weights.log_size or (
        statement.weight_commitment.row_vars != plan.weights.row_log
    ):
        raise VerificationError(Reject.STATEMENT_MISMATCH, "weight commitment of another shape")
    proof = InferenceProof.from_bytes(
        proof_file.body, statement.weight_commitment, extra_runs=plan.lookup_runs - 1
    )
    witness = proof.witness_commitment
    expected_rows = params.pcs.row_vars(plan.witness.log_size)
    if (
        witness.num_vars != plan.witness.log_size
        or witness.row_vars != expected_rows
        or witness.hiding
        or witness.params != params.pcs
    ):
        raise VerificationError(Reject.PARAMETER_MISMATCH, "witness commitment of another shape")
    transcript = protocol.start_transcript(proof_file.digest, proof_file.parameters)
    transcript.absorb_bytes("witness_commitment", witness.to_bytes())
    ctx = Context(plan, plan.layouts["input"].embed(statement.inputs))
    output_table = plan.layouts[plan.source(model.output)].embed(statement.outputs)
    relations = protocol.draw_relations(ctx, transcript, output_table)
    groups = protocol.requests(relations)
    transcript.absorb_ext("stage0", proof.stage0)
    protocol.take_stage0(ctx, relations, groups, proof.stage0)
    key = witness.to_bytes()
    for lookup in (proof.lookup, *proof.extra_lookups):
        claims = verify_as_subprotocol(plan.lookup_statement, lookup, transcript, key, key)
        protocol.take_lookup_claims(ctx, claims)
    specs_a = protocol.stage_a_specs(ctx, relations, transcript)
    protocol.verify_stage(specs_a, proof.stage_a, transcript, "stage_a")
    specs_b = protocol.stage_b_specs(relations, transcript)
    protocol.verify_stage(specs_b, proof.stage_b, transcript, "stage_b")
    witness_point, w_value, weight_point, g_value, _ = verify_stage_c(
        ctx, proof.stage_c, transcript
    )
    requests = [
        (witness, witness_point, w_value.reshape(4, 1)),
        (statement.weight_commitment, weight_point, g_value.reshape(4, 1)),
    ]
    pcs.batch_verify(requests, proof.opening, transcript, params.pcs)
    stages = [
        (proof.stage_a.num_vars, proof.stage_a.degree, len(specs_a)),
        (proof.stage_b.num_vars, proof.stage_b.degree, len(specs_b)),
        (proof.stage_c.num_vars, proof.stage_c.degree, 2),
    ]
    proof_file.check_soundness(proof_bits(plan, params, stages), params.min_soundness_bits)
    return {
        "kind": "inference",
        "model_digest": statement.digest.hex(),
        "batch": statement.batch,
        "input_shape": list(model.input_shape),
        "output_shape": list(model.output_shape()),
        "output": statement.outputs.tolist(),
        "nonce": statement.nonce.hex(),
        "soundness_bits": proof_file.soundness_bits,
    }

"""The inference prover: commit the witness, then run the shared protocol steps.

``prove`` absorbs, in order: the statement digest and the parameters, the witness commitment,
then everything :mod:`provers.inference.protocol` lists (points, stage-0 values, the lookup,
stages A, B, C, the opening).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from provers.circuit import executor
from provers.commit import pcs
from provers.commit.pcs import PCSParams
from provers.container import ProofFile, Protocol, statement_digest
from provers.errors import ProverError
from provers.field import ext
from provers.inference import protocol
from provers.inference.batching import prove_stage_c
from provers.inference.claims import Request, dot_signed
from provers.inference.context import Context
from provers.inference.layout import UnsupportedCircuit
from provers.inference.model_commitment import CommittedModel
from provers.inference.plan import ProofPlan
from provers.inference.proof import InferenceProof
from provers.inference.soundness import expected_stages, proof_bits, write_parameters
from provers.inference.statement import Statement
from provers.inference.witness import Witness, build_witness
from provers.lookup import prove_as_subprotocol
from provers.params import ProofParameters
from provers.poly import multilinear

Progress = Callable[[str, float], None]


@dataclass
class Resources:
    """What only the prover holds: the witness, the committed weights and, for a committed
    input, the data table (signed values, and canonical for the sumchecks)."""

    witness: Witness
    weights: CommittedModel
    data_signed: np.ndarray | None = None
    data: np.ndarray | None = None


def choose_limb_bits(
    committed: CommittedModel, batch: int, params: ProofParameters, classes: int = 0
) -> int:
    """The range-limb width minimising the lookup's work (padded witness rows plus table rows;
    then fewer real rows) among those whose proof reaches the minimum soundness; a prover
    choice, stated in the statement."""
    best: tuple[tuple[int, int], int] | None = None
    reason = f"fewer than {params.min_soundness_bits} bits of soundness: prove smaller batches"
    for limb_bits in range(8, 17):
        try:
            plan = ProofPlan(committed.model, batch, limb_bits, params.pcs, classes)
        except UnsupportedCircuit as error:
            reason = str(error)
            continue
        if proof_bits(plan, params, expected_stages(plan)) < params.min_soundness_bits:
            continue
        lookups, chunk = len(plan.lookup_chunks), 1 << plan.witness.chunk_log
        padded = (1 << max(0, (lookups - 1).bit_length())) * chunk
        cost = (padded + plan.table.size, lookups * chunk)
        if best is None or cost < best[0]:
            best = (cost, limb_bits)
    if best is None:
        raise ProverError(f"the circuit is outside what the inference prover supports: {reason}")
    return best[1]


def cached_plan(
    committed: CommittedModel, batch: int, params: ProofParameters, classes: int = 0
) -> ProofPlan:
    """The plan of a batch (an audit chunk when ``classes`` > 0), derived once per model."""
    key = (batch, params) if not classes else (batch, (params, "audit", classes))
    plan = committed.plans.get(key)
    if not isinstance(plan, ProofPlan):
        limb_bits = choose_limb_bits(committed, batch, params, classes)
        plan = _plan(committed, batch, limb_bits, params.pcs, classes)
        committed.plans[key] = plan
    return plan


def _plan(
    committed: CommittedModel, batch: int, limb_bits: int, pcs_params: PCSParams, classes: int
) -> ProofPlan:
    try:
        return ProofPlan(committed.model, batch, limb_bits, pcs_params, classes)
    except UnsupportedCircuit as error:
        raise ProverError(str(error)) from None


def prove(
    committed: CommittedModel,
    inputs: np.ndarray,
    nonce: bytes | None = None,
    progress: Progress | None = None,
    params: ProofParameters | None = None,
    claimed_outputs: np.ndarray | None = None,
    private: frozenset[str] = frozenset(),
) -> bytes:
    """A proof file that ``committed`` maps ``inputs`` (N, *input_shape: int8 values, or token
    ids 0 ≤ id < V for a model whose input feeds an embedding) to its outputs.

    ``claimed_outputs``, if given, must be what the model computes (else ProverError).
    ``private`` (a subset of {"weights", "input", "output"}) hides those parts by zero
    knowledge with :func:`provers.private.prove_private` (MLPs; private weights need a model
    committed hidden, provers/private/model.py)."""
    if private:
        from provers.private.prover import prove_private

        if claimed_outputs is not None:
            raise ProverError("a claimed output is checked by the public mode only")
        return prove_private(committed, inputs, frozenset(private), nonce=nonce, params=params)
    report = progress or (lambda stage, fraction: None)
    params = params or ProofParameters.default()
    inputs = np.asarray(inputs)
    if inputs.ndim == len(committed.model.input_shape):
        inputs = inputs[None]
    try:
        inputs = executor.check_inputs(committed.model, inputs)
    except ValueError as error:
        raise ProverError(f"the input: {error}") from None
    nonce = os.urandom(16) if nonce is None else nonce
    if committed.commitment.params != params.pcs:
        raise ProverError("the model was committed under other PCS parameters")
    plan = cached_plan(committed, inputs.shape[0], params)
    limb_bits = plan.limb_bits
    report("witness", 0.0)
    witness = build_witness(plan, inputs)
    outputs = witness.values[committed.model.output]
    if claimed_outputs is not None and not np.array_equal(claimed_outputs, outputs):
        raise ProverError("the claimed output is not what the model computes on this input")
    statement = Statement(
        bytes.fromhex(committed.digest),
        committed.model.circuit_bytes(),
        committed.commitment,
        inputs.shape[0],
        limb_bits,
        inputs,
        outputs,
        nonce,
        committed.model.input_vocabulary,
    )
    statement_bytes = statement.to_bytes()
    parameter_bytes = write_parameters(params)
    transcript = protocol.start_transcript(
        statement_digest(Protocol.INFERENCE, statement_bytes), parameter_bytes
    )
    report("commit", 0.1)
    commitment, data = pcs.commit(witness.table, params.pcs)
    transcript.absorb_bytes("witness_commitment", commitment.to_bytes())
    ctx = Context(plan, plan.layouts["input"].embed(inputs))
    output_table = plan.layouts[plan.source(committed.model.output)].embed(outputs)
    relations = protocol.draw_relations(ctx, transcript, output_table)
    groups = protocol.requests(relations)
    res = Resources(witness, committed)
    report("stage 0", 0.2)
    sent = stage0_values(ctx, res, protocol.sent_requests(groups))
    transcript.absorb_ext("stage0", sent)
    protocol.take_stage0(ctx, relations, groups, sent)
    report("lookup", 0.3)
    key = commitment.to_bytes()
    lookup_proofs = []
    for _ in range(plan.lookup_runs):
        lookup_proof, claims = prove_as_subprotocol(
            plan.lookup_statement, witness.lookups, witness.multiplicities, transcript, key, key
        )
        protocol.take_lookup_claims(ctx, claims)
        lookup_proofs.append(lookup_proof)
    report("stage A", 0.5)
    specs_a = protocol.stage_a_specs(ctx, relations, transcript)
    stage_a = protocol.prove_stage(specs_a, res, transcript, "stage_a")
    report("stage B", 0.65)
    specs_b = protocol.stage_b_specs(relations, transcript)
    stage_b = protocol.prove_stage(specs_b, res, transcript, "stage_b")
    report("stage C", 0.8)
    stage_c, witness_point, weight_point, _ = prove_stage_c(ctx, res, transcript)
    report("opening", 0.9)
    _, opening = pcs.batch_open(
        [(data, witness_point), (committed.prover_data, weight_point)], transcript
    )
    proof = InferenceProof(
        commitment,
        sent,
        lookup_proofs[0],
        stage_a,
        stage_b,
        stage_c,
        opening,
        tuple(lookup_proofs[1:]),
    )
    bits = proof_bits(
        plan,
        params,
        [
            (stage_a.num_vars, stage_a.degree, len(specs_a)),
            (stage_b.num_vars, stage_b.degree, len(specs_b)),
            (stage_c.num_vars, stage_c.degree, 2),
        ],
    )
    report("done", 1.0)
    return ProofFile(
        Protocol.INFERENCE,
        parameter_bytes,
        int(bits),
        statement_bytes,
        proof.to_bytes(),
    ).to_bytes()


def stage0_values(ctx: Context, res: Resources, requests: list[Request]) -> np.ndarray:
    values = []
    eq_tables: dict[bytes, np.ndarray] = {}
    for request in requests:
        if request.compute is not None:
            values.append(request.compute(res))
            continue
        offset, point = request.offset, request.point
        key = point.tobytes() + bytes([point.shape[1]])
        if key not in eq_tables:
            eq_tables[key] = multilinear.eq_table(point)
        size = 1 << point.shape[1]
        source = res.data_signed if request.kind == "data" else res.witness.table_signed
        if source is None:
            raise ProverError("a data-table value was asked for without a data table")
        values.append(dot_signed(eq_tables[key], source[offset : offset + size]))
    return np.stack(values, axis=1) if values else np.zeros((ext.DEGREE, 0), dtype=np.int64)


__all__ = ["Resources", "cached_plan", "choose_limb_bits", "executor", "prove", "stage0_values"]

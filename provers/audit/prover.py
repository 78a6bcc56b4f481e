"""The audit prover: count, state, then prove the test set chunk after chunk on one transcript.

``prove`` first runs the integer executor over every chunk to get the public counts, then
absorbs the statement digest and the parameters, and for each chunk j in order: the chunk
header (``chunk``: j, samples, limb width; ``chunk/data``: its data commitment; its counts),
then everything the inference protocol absorbs for one batch (provers/inference/protocol.py)
with the argmax relation's point (``point/argmax``) after the nodes' points, the lookup run
twice (``lookup_runs``, each run's claims taken before the next), its K_c terms at the end of
stage A, and the data table in stage C and in the opening. Only one chunk's
witness is held at a time: memory is bounded by the chunk size.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from provers.audit.argmax import ArgmaxRelation, argmax_vectors, counts
from provers.audit.dataset import DatasetCommitment, data_log, label_offset
from provers.audit.proof import AuditProof, ChunkProof
from provers.audit.protocol import chunk_header, start_transcript
from provers.audit.statement import AuditStatement
from provers.circuit import executor
from provers.commit import pcs
from provers.container import ProofFile, Protocol, statement_digest
from provers.errors import ProverError
from provers.field import base
from provers.inference import protocol
from provers.inference.batching import prove_stage_c
from provers.inference.context import Context
from provers.inference.model_commitment import CommittedModel
from provers.inference.plan import ProofPlan
from provers.inference.proof import InferenceProof
from provers.inference.prover import Resources, cached_plan, stage0_values
from provers.inference.soundness import proof_errors, write_parameters
from provers.inference.witness import build_witness
from provers.lookup import prove_as_subprotocol
from provers.params import ProofParameters, bits_from_errors
from provers.transcript import Transcript

Progress = Callable[[str, float], None]


def chunk_counts(
    committed: CommittedModel, dataset: DatasetCommitment
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(samples per label, correct per label) of every chunk, from the integer executor."""
    out = []
    for index in range(len(dataset.chunks())):
        inputs, labels = dataset.chunk(index)
        logits = executor.run(committed.model, inputs)
        out.append(counts(logits, labels, dataset.classes))
    return out


def prove(
    committed: CommittedModel,
    dataset: DatasetCommitment,
    nonce: bytes | None = None,
    progress: Progress | None = None,
    params: ProofParameters | None = None,
    private: frozenset[str] = frozenset(),
) -> bytes:
    """A proof file of the model's per-label counts on the committed test set.

    ``private`` must be empty for now: hiding the test inputs needs the zero-knowledge mode
    (docs/zero-knowledge.md), and a proof that claimed privacy without it would leak."""
    if private:
        raise ProverError(
            f"private {sorted(private)}: zero-knowledge audits are not available in this "
            "version; only public-mode audit proofs can be made"
        )
    report = progress or (lambda stage, fraction: None)
    params = params or ProofParameters.default()
    nonce = os.urandom(16) if nonce is None else nonce
    if committed.commitment.params != params.pcs or dataset.params != params.pcs:
        raise ProverError("the model or the test set was committed under other PCS parameters")
    if dataset.model_digest != bytes.fromhex(committed.digest):
        raise ProverError("the test set was committed for another model")
    report("counting", 0.0)
    per_chunk = chunk_counts(committed, dataset)
    statement = AuditStatement(
        bytes.fromhex(committed.digest),
        committed.model.circuit_bytes(),
        committed.commitment,
        dataset.digest,
        dataset.n,
        dataset.classes,
        dataset.chunk_samples,
        False,
        np.sum([t for t, _ in per_chunk], axis=0),
        np.sum([k for _, k in per_chunk], axis=0),
        nonce,
    )
    statement_bytes = statement.to_bytes()
    parameter_bytes = write_parameters(params)
    transcript = start_transcript(
        statement_digest(Protocol.AUDIT, statement_bytes), parameter_bytes
    )
    chunks, errors, done = [], [], 0
    for index, (start, stop) in enumerate(dataset.chunks()):
        report(f"proving samples {done} to {stop} of {dataset.n}", done / dataset.n)
        plan = cached_plan(committed, stop - start, params, dataset.classes)
        chunk, chunk_errors = _prove_chunk(
            committed, dataset, index, plan, per_chunk[index], transcript, params
        )
        chunks.append(chunk)
        errors.extend(chunk_errors)
        done = stop
    report(f"proved {dataset.n} of {dataset.n} samples", 1.0)
    bits = bits_from_errors(errors)
    if bits < params.min_soundness_bits:
        raise ProverError(f"{bits:.1f} bits of soundness: prove with smaller chunks")
    return ProofFile(
        Protocol.AUDIT,
        parameter_bytes,
        int(bits),
        statement_bytes,
        AuditProof(chunks).to_bytes(),
    ).to_bytes()


def _prove_chunk(
    committed: CommittedModel,
    dataset: DatasetCommitment,
    index: int,
    plan: ProofPlan,
    chunk_totals: tuple[np.ndarray, np.ndarray],
    transcript: Transcript,
    params: ProofParameters,
) -> tuple[ChunkProof, list[float]]:
    inputs, labels = dataset.chunk(index)
    totals, hits = chunk_totals
    model = committed.model
    table = dataset.table(index)
    data = dataset.prover_data(index, table)
    chunk_header(transcript, index, plan, dataset.commitments[index], totals, hits)
    witness = build_witness(
        plan, inputs, lambda values: argmax_vectors(plan, values[model.output], labels)
    )
    commitment, witness_data = pcs.commit(witness.table, params.pcs)
    transcript.absorb_bytes("witness_commitment", commitment.to_bytes())
    ctx = Context(plan, None)
    nodes = protocol.node_relations(ctx, transcript)
    point = transcript.challenge_exts("point/argmax", plan.layouts["input"].dims[0].log)
    argmax = ArgmaxRelation(ctx, point, label_offset(model, inputs.shape[0]), totals, hits)
    relations = [argmax, *nodes]
    groups = protocol.requests(relations)
    res = Resources(witness, committed, table, table % base.P)
    sent = stage0_values(ctx, res, protocol.sent_requests(groups))
    transcript.absorb_ext("stage0", sent)
    protocol.take_stage0(ctx, relations, groups, sent)
    key = commitment.to_bytes()
    lookups = []
    for _ in range(plan.lookup_runs):
        lookup_proof, claims = prove_as_subprotocol(
            plan.lookup_statement, witness.lookups, witness.multiplicities, transcript, key, key
        )
        protocol.take_lookup_claims(ctx, claims)
        lookups.append(lookup_proof)
    specs_a = protocol.stage_a_specs(ctx, relations, transcript) + argmax.terms_a()
    stage_a = protocol.prove_stage(specs_a, res, transcript, "stage_a")
    specs_b = protocol.stage_b_specs(relations, transcript)
    stage_b = protocol.prove_stage(specs_b, res, transcript, "stage_b")
    log = data_log(model, inputs.shape[0])
    stage_c, witness_point, weight_point, data_point = prove_stage_c(ctx, res, transcript, log)
    if data_point is None:
        raise ProverError("an audit chunk made no claim on its data table")
    _, opening = pcs.batch_open(
        [
            (witness_data, witness_point),
            (committed.prover_data, weight_point),
            (data, data_point),
        ],
        transcript,
    )
    body = InferenceProof(commitment, sent, lookups[0], stage_a, stage_b, stage_c, opening)
    stages = [
        (stage_a.num_vars, stage_a.degree, len(specs_a)),
        (stage_b.num_vars, stage_b.degree, len(specs_b)),
        (stage_c.num_vars, stage_c.degree, 3),
    ]
    chunk = ChunkProof(
        dataset.commitments[index], plan.limb_bits, totals, hits, body, tuple(lookups[1:])
    )
    return chunk, proof_errors(plan, params, stages, log)

"""The private-mode MLP verifier: replays :mod:`provers.private.protocol`'s transcript and
checks, in order: the statement and the commitments' shapes; the relations' masked sumcheck
against the group totals and its final values (FINAL_EVALUATION_MISMATCH); the lookup's masked
sumcheck and its final check; stage C's masked sumcheck and its final value; the batch opening
of W2, the helpers and the weight table. Hostile bytes end in a VerificationError."""

from __future__ import annotations

from typing import Any

import numpy as np

from provers.circuit.ops import OpKind
from provers.commit import pcs
from provers.commit.pcs import Commitment
from provers.container import ProofFile
from provers.errors import Reject, VerificationError, rejecting_malformed
from provers.field import base, ext
from provers.inference.layout import UnsupportedCircuit
from provers.inference.soundness import read_parameters
from provers.lookup.zk import check_core, verify_core
from provers.poly import multilinear
from provers.private import protocol
from provers.private.argmax import ProductTerm, dataset_digest
from provers.private.plan import PrivatePlan
from provers.private.proof import PrivateProof, ProofShape
from provers.private.prover import LIMB_BITS
from provers.private.relations import (
    BiasTerm,
    MatmulTerm,
    Term,
    bias_factor_at,
    bits,
    check_masking,
    group_totals,
    linear_value,
    terms_of,
    weighted_layers,
    zero_first,
)
from provers.private.soundness import private_bits
from provers.private.statement import read_private_statement
from provers.private.windows import (
    PatchClaim,
    WindowTerm,
    ZeroProductTerm,
    claims_of,
    public_patch_value,
    source_key,
    stage_mu,
    stage_shapes,
    stage_total,
    stage_value,
    window_value,
)
from provers.sumcheck import batched_zk
from provers.sumcheck.mask_commitment import TensorPcsMaskScheme


def verify_private_file(proof_file: ProofFile) -> dict[str, Any]:
    """Check a private-mode proof file; return its public statement."""
    return rejecting_malformed(_verify, proof_file)


def _finals_of(term: Term) -> int:
    if isinstance(term, MatmulTerm):
        return 2 if term.private_input else 1
    if isinstance(term, BiasTerm | WindowTerm):
        return 1
    if isinstance(term, ProductTerm):
        return 2
    return len(term.vectors)


def _shape(plan: PrivatePlan, terms: list[Term]) -> ProofShape:
    finals = sum(_finals_of(term) for term in terms)
    matmuls = sum(1 for term in terms if isinstance(term, MatmulTerm))
    windows = stage_shapes(plan)
    claim_logs = [
        plan.witness_log,
        plan.data_log if plan.classes else 0,
        plan.model_log if plan.private_weights else 0,
    ]
    return ProofShape(
        layers=0 if plan.private_weights else len(weighted_layers(plan)),
        relation_vars=max(term.num_vars for term in terms),
        relation_degree=max(term.degree for term in terms),
        relation_finals=finals,
        lookup_vars=plan.lookup_log + 1,
        lookup_finals=len(protocol.lookup_slots(plan)) + 1 + protocol.HELPERS,
        claim_vars=max(claim_logs) + 1,
        weight_points=len(weighted_layers(plan)) + matmuls,
        audit=bool(plan.classes),
        private_weights=plan.private_weights,
        window_vars=max([0, *(num_vars for _, num_vars in windows)]),
        window_groups=len(windows),
    )


def _check_witness_commitment(
    commitment: Commitment, plan: PrivatePlan, params: Any, log: int | None = None
) -> None:
    """A hiding commitment to one doubled table of 2^log entries (W2 by default)."""
    log = plan.witness_log + 1 if log is None else log
    if not isinstance(commitment, Commitment):
        raise VerificationError(Reject.MALFORMED, "a commitment is missing")
    if (
        commitment.num_vars != log
        or commitment.num_polynomials != 1
        or commitment.row_vars != params.row_vars(log)
        or not commitment.hiding
        or commitment.mask_groups != 1
        or commitment.params != params
    ):
        raise VerificationError(Reject.PARAMETER_MISMATCH, "witness commitment of another shape")


def check_hidden_commitment(commitment: Commitment, plan: PrivatePlan) -> None:
    """A hidden model's commitment: hiding, one doubled weight table, one point per opening."""
    if (
        commitment.num_vars != plan.model_log + 1
        or commitment.num_polynomials != 1
        or not commitment.hiding
        or commitment.mask_groups != 1
    ):
        raise VerificationError(Reject.STATEMENT_MISMATCH, "weight commitment of another shape")


def _verify(proof_file: ProofFile) -> dict[str, Any]:
    params = read_parameters(proof_file.parameters)
    statement, model = read_private_statement(proof_file.statement)
    if statement.weight_commitment.params != params.pcs:
        raise VerificationError(Reject.PARAMETER_MISMATCH, "the weights use other parameters")
    if statement.limb_bits != LIMB_BITS:
        raise VerificationError(Reject.PARAMETER_MISMATCH, f"limb width {statement.limb_bits}")
    try:
        plan = PrivatePlan(
            model,
            statement.batch,
            statement.private_input,
            not statement.private_output,
            LIMB_BITS,
            params.pcs,
            private_weights=statement.private_weights,
        )
        check_masking(plan, terms_of(plan))
    except UnsupportedCircuit as error:
        raise VerificationError(Reject.UNSUPPORTED_CIRCUIT, str(error)) from None
    weights = statement.weight_commitment
    proof, terms = _read_proof(plan, proof_file, params, weights)
    output_table = None
    if statement.outputs is not None:
        output_table = plan.output_layer().layout.embed(statement.outputs) % base.P
    input_table = None
    if statement.inputs is not None:
        input_table = plan.input_layout.embed(statement.inputs) % base.P
    if proof.data_commitment is not None:
        raise VerificationError(Reject.MALFORMED, "an inference proof with a data table")
    _check_proof(
        plan,
        proof,
        terms,
        proof_file,
        params,
        statement.weight_commitment,
        output_table,
        input_table,
    )
    return statement.public(model) | {"soundness_bits": proof_file.soundness_bits}


def _read_proof(
    plan: PrivatePlan, proof_file: ProofFile, params: Any, weights: Commitment
) -> tuple[PrivateProof, list[Term]]:
    """The weight commitment's shape, the header's soundness, the body parsed for ``plan``
    and its witness commitment's shape."""
    if plan.private_weights:
        check_hidden_commitment(weights, plan)
    elif weights.num_vars != plan.weight_layout.log_size or (
        weights.num_vars - weights.row_vars != plan.weight_layout.column_log
    ):
        raise VerificationError(Reject.STATEMENT_MISMATCH, "weight commitment of another shape")
    proof_file.check_soundness(private_bits(plan, params, weights), params.min_soundness_bits)
    terms = terms_of(plan)
    proof = PrivateProof.from_bytes(proof_file.body, _shape(plan, terms), params.pcs, weights)
    _check_witness_commitment(proof.witness_commitment, plan, params.pcs)
    return proof, terms


def _check_proof(
    plan: PrivatePlan,
    proof: PrivateProof,
    terms: list[Term],
    proof_file: ProofFile,
    params: Any,
    weight_commitment: Commitment,
    output_table: np.ndarray | None = None,
    input_table: np.ndarray | None = None,
    counts: tuple[np.ndarray, np.ndarray] | None = None,
) -> None:
    scheme = TensorPcsMaskScheme(params.pcs)
    transcript = protocol.start_transcript(proof_file.digest, proof_file.parameters)
    transcript.absorb_bytes("witness_commitment", proof.witness_commitment.to_bytes())
    if proof.data_commitment is not None:
        transcript.absorb_bytes("data_commitment", proof.data_commitment.to_bytes())
    points = protocol.draw_points(plan, transcript)
    transcript.absorb_ext("biases", proof.biases)
    totals = group_totals(plan, points, proof.biases, output_table, counts)
    shapes = [batched_zk.ZkTermShape(t.num_vars, t.degree, t.group) for t in terms]
    point, weights_expected = batched_zk.verify(
        proof.relations, shapes, totals, transcript, scheme, label="relations"
    )
    witness_claims: list[protocol.WitnessClaim] = []
    data_claims: list[protocol.WitnessClaim] = []
    model_claims: list[protocol.WitnessClaim] = []
    weight_claims: list[tuple[np.ndarray, np.ndarray]] = [
        (
            protocol.bias_point(plan, layer, protocol.channel_point(layer, points[layer.node])),
            proof.biases[:, i],
        )
        for i, layer in enumerate(weighted_layers(plan))
        if not plan.private_weights
    ]
    patch_claims: list[PatchClaim] = []
    stream = iter(proof.relation_finals[:, i] for i in range(proof.relation_finals.shape[1]))
    values = [
        _term_value(
            plan,
            term,
            point,
            points,
            stream,
            input_table,
            witness_claims,
            weight_claims,
            data_claims,
            model_claims,
            patch_claims,
        )
        for term in terms
    ]
    batched_zk.check_final(weights_expected, values, "relations")
    transcript.absorb_ext("relation_finals", proof.relation_finals)
    witness_claims += _check_windows(plan, proof, points, patch_claims, transcript, scheme)

    statement_l = protocol.lookup_statement(plan)
    replay = verify_core(statement_l, proof.lookup_helpers, proof.lookup, transcript, params.pcs)
    slots = protocol.lookup_slots(plan)
    finals = [proof.lookup_finals[:, i] for i in range(proof.lookup_finals.shape[1])]
    slot_values = dict(zip(slots, finals[: len(slots)], strict=True))
    m_value, helper_values = finals[len(slots)], finals[len(slots) + 1 :]
    columns = protocol.lookup_column_values(plan, replay.point, slot_values)
    check_core(statement_l, replay, columns, m_value, helper_values)
    zeta = replay.point[:, 0]
    for key in slots:
        r_low = protocol.slot_local(plan, replay.point, key)
        witness_claims.append(
            protocol.WitnessClaim(zeta, plan.offsets[key], r_low, slot_values[key])
        )
    witness_claims.append(protocol.WitnessClaim(zeta, 0, replay.point[:, 1:], m_value))
    transcript.absorb_ext("lookup_finals", proof.lookup_finals)

    claim_weights = protocol.draw_claim_weights(transcript, witness_claims)
    claim_shapes = [batched_zk.ZkTermShape(plan.witness_log + 1, 2, 0)]
    totals_c = [protocol.claims_total(witness_claims, claim_weights)]
    data_weights = None
    if proof.data_commitment is not None:
        data_weights = protocol.draw_claim_weights(transcript, data_claims, "data_claims")
        claim_shapes.append(batched_zk.ZkTermShape(plan.data_log + 1, 2, 1))
        totals_c.append(protocol.claims_total(data_claims, data_weights))
    model_weights = None
    if plan.private_weights:
        model_weights = protocol.draw_claim_weights(transcript, model_claims, "model_claims")
        claim_shapes.append(batched_zk.ZkTermShape(plan.model_log + 1, 2, len(claim_shapes)))
        totals_c.append(protocol.claims_total(model_claims, model_weights))
    claim_point, claim_expected = batched_zk.verify(
        proof.claims, claim_shapes, np.stack(totals_c, axis=1), transcript, scheme, label="claims"
    )
    witness_point = batched_zk.suffix(claim_point, plan.witness_log + 1)
    e_value = protocol.claim_eq(plan, witness_claims, claim_weights, witness_point)
    claim_values = [ext.mul(e_value, proof.witness_value)]
    data_point = None
    if proof.data_commitment is not None:
        if data_weights is None or proof.data_value is None:
            raise VerificationError(Reject.MALFORMED, "a test set without its value")
        data_point = batched_zk.suffix(claim_point, plan.data_log + 1)
        e_data = protocol.claim_eq(plan, data_claims, data_weights, data_point, plan.data_log)
        claim_values.append(ext.mul(e_data, proof.data_value))
    model_point = None
    if plan.private_weights:
        if model_weights is None or proof.model_value is None:
            raise VerificationError(Reject.MALFORMED, "private weights without their value")
        model_point = batched_zk.suffix(claim_point, plan.model_log + 1)
        e_model = protocol.claim_eq(plan, model_claims, model_weights, model_point, plan.model_log)
        claim_values.append(ext.mul(e_model, proof.model_value))
    batched_zk.check_final(claim_expected, claim_values, "claims")
    transcript.absorb_ext("witness_value", proof.witness_value)
    requests = [
        (proof.witness_commitment, witness_point, proof.witness_value[:, None]),
        (proof.lookup_helpers, replay.point, np.stack(helper_values, axis=1)),
    ]
    if proof.data_commitment is not None:
        if proof.data_value is None or data_point is None:
            raise VerificationError(Reject.MALFORMED, "a test set without its value")
        transcript.absorb_ext("data_value", proof.data_value)
        requests.append((proof.data_commitment, data_point, proof.data_value[:, None]))
    if model_point is not None and proof.model_value is not None:
        transcript.absorb_ext("model_value", proof.model_value)
        requests.append((weight_commitment, model_point, proof.model_value[:, None]))
    requests += [(weight_commitment, p, v[:, None]) for p, v in weight_claims]
    pcs.batch_verify(requests, proof.opening, transcript, params.pcs)


def _check_windows(
    plan: PrivatePlan,
    proof: PrivateProof,
    points: dict[str, np.ndarray],
    patch_claims: list[PatchClaim],
    transcript: Any,
    scheme: TensorPcsMaskScheme,
) -> list[protocol.WitnessClaim]:
    """The window stage: the convolutions' patch claims against their inputs' slots."""
    shapes = stage_shapes(plan)
    if not shapes:
        return []
    if proof.windows is None or proof.window_finals is None:
        raise VerificationError(Reject.MALFORMED, "a convolution's window stage is missing")
    mus, totals = [], []
    for layer, _ in shapes:
        claims = claims_of(layer, patch_claims)
        mu = stage_mu(transcript, layer, claims)
        mus.append((claims, mu))
        totals.append(stage_total(claims, mu))
    term_shapes = [batched_zk.ZkTermShape(n, 2, g) for g, (_, n) in enumerate(shapes)]
    point, expected = batched_zk.verify(
        proof.windows, term_shapes, np.stack(totals, axis=1), transcript, scheme, label="windows"
    )
    values, out = [], []
    for j, ((layer, num_vars), (claims, mu)) in enumerate(zip(shapes, mus, strict=True)):
        local = batched_zk.suffix(point, num_vars)
        value = proof.window_finals[:, j]
        table = stage_value(layer, points[layer.node], claims, mu, local)
        values.append(np.asarray(ext.mul(table, value)))
        key = source_key(layer)
        out.append(
            protocol.WitnessClaim(
                local[:, 0],
                plan.offsets[key],
                protocol.vector_local(plan, key, local[:, 1:]),
                value,
            )
        )
    batched_zk.check_final(expected, values, "windows")
    transcript.absorb_ext("window_finals", proof.window_finals)
    return out


def _term_value(
    plan: PrivatePlan,
    term: Term,
    point: np.ndarray,
    points: dict[str, np.ndarray],
    stream: Any,
    input_table: np.ndarray | None,
    witness_claims: list[protocol.WitnessClaim],
    weight_claims: list[tuple[np.ndarray, np.ndarray]],
    data_claims: list[protocol.WitnessClaim],
    model_claims: list[protocol.WitnessClaim],
    patch_claims: list[PatchClaim],
) -> np.ndarray:
    local = batched_zk.suffix(point, term.num_vars)
    if isinstance(term, WindowTerm):
        layer = term.layer
        value = next(stream)
        key = source_key(layer)
        zeta, z = local[:, 0], local[:, 1:]
        witness_claims.append(
            protocol.WitnessClaim(
                zeta, plan.offsets[key], protocol.vector_local(plan, key, z), value
            )
        )
        window = window_value(layer, points[layer.node], z, term.offset)
        if term.sign < 0:
            window = np.asarray(ext.neg(window))
        selector = ext.sub(ext.one(), zeta)
        return np.asarray(ext.mul(selector, ext.mul(window, value)))
    if isinstance(term, ZeroProductTerm):
        zeta, r = local[:, 0], local[:, 1:]
        total = multilinear.eq_eval(zero_first(points[term.layer.node]), local)
        for key in term.vectors:
            value = next(stream)
            on_data, claim = protocol.vector_claim(plan, key, zeta, r, value)
            witness_claims.append(claim)
            total = ext.mul(total, value)
        return np.asarray(total)
    if isinstance(term, BiasTerm):
        value = next(stream)
        model_claims.append(protocol.bias_model_claim(plan, local, value))
        factor = bias_factor_at(plan, term.layer, points[term.layer.node], local)
        return np.asarray(ext.mul(factor, value))
    if isinstance(term, MatmulTerm):
        layer = term.layer
        rho = points[layer.node]
        block = layer.matrix.blocks[term.block]
        columns = local[:, local.shape[1] - block.cols_log :]
        wf = next(stream)
        if term.private_weights:
            model_claims.append(protocol.matmul_model_claim(plan, term, rho, local, wf))
        else:
            weight_claims.append((protocol.matmul_weight_point(plan, term, rho, local), wf))
        if not term.private_input and layer.kind is OpKind.CONV2D:
            if input_table is None:
                raise VerificationError(Reject.STATEMENT_MISMATCH, "a public input is missing")
            patch = public_patch_value(layer, rho, term.block, columns, input_table)
            product = ext.mul(wf, patch)
            if term.doubled:
                product = ext.mul(ext.sub(ext.one(), local[:, 0]), product)
            return np.asarray(product)
        if not term.private_input:
            if input_table is None:
                raise VerificationError(Reject.STATEMENT_MISMATCH, "a public input is missing")
            rho_n = rho[:, : layer.layout.dims[0].log]
            start_bits = bits(
                block.start >> block.cols_log, layer.matrix.feature_log - block.cols_log
            )
            x_point = np.concatenate([rho_n, start_bits, columns], axis=1)
            product = ext.mul(wf, multilinear.evaluate(input_table, x_point))
            if term.doubled:
                product = ext.mul(ext.sub(ext.one(), local[:, 0]), product)
            return np.asarray(product)
        xf = next(stream)
        if layer.kind is OpKind.CONV2D:
            patch_claims.append(PatchClaim(layer, term.block, local[:, 0], columns, xf))
        else:
            witness_claims.append(protocol.input_claim(plan, term, rho, local, xf))
        selector = ext.sub(ext.one(), local[:, 0])
        return np.asarray(ext.mul(selector, ext.mul(wf, xf)))
    zeta, r = local[:, 0], local[:, 1:]
    keys = (term.a, term.b) if isinstance(term, ProductTerm) else term.vectors
    values = [next(stream) for _ in keys]
    for key, value in zip(keys, values, strict=True):
        on_data, claim = protocol.vector_claim(plan, key, zeta, r, value)
        (data_claims if on_data else witness_claims).append(claim)
    if isinstance(term, ProductTerm):
        selector = ext.sub(ext.one(), zeta)
        return np.asarray(ext.mul(selector, ext.mul(values[0], values[1])))
    return linear_value(term, local, points[term.point_name], values)


def verify_private_audit_file(proof_file: ProofFile) -> dict[str, Any]:
    """Check a private-input accuracy-audit proof file; return its public statement."""
    return rejecting_malformed(_verify_audit, proof_file)


def _verify_audit(proof_file: ProofFile) -> dict[str, Any]:
    from provers.audit.statement import read_statement
    from provers.audit.verifier import _public

    params = read_parameters(proof_file.parameters)
    statement, model = read_statement(proof_file.statement)
    if not statement.private_input or statement.chunk_samples != statement.n:
        raise VerificationError(
            Reject.STATEMENT_MISMATCH, "a private audit proves every sample in one proof"
        )
    weights = statement.weight_commitment
    if weights.params != params.pcs:
        raise VerificationError(Reject.PARAMETER_MISMATCH, "the weights use other parameters")
    try:
        plan = PrivatePlan(
            model,
            statement.n,
            True,
            False,
            LIMB_BITS,
            params.pcs,
            statement.classes,
            statement.weight_commitment.hiding,
        )
        check_masking(plan, terms_of(plan))
    except UnsupportedCircuit as error:
        raise VerificationError(Reject.UNSUPPORTED_CIRCUIT, str(error)) from None
    proof, terms = _read_proof(plan, proof_file, params, weights)
    if proof.data_commitment is None:
        raise VerificationError(Reject.MALFORMED, "an audit proof without its test set")
    _check_witness_commitment(proof.data_commitment, plan, params.pcs, plan.data_log + 1)
    named = dataset_digest(statement.model_digest, proof.data_commitment, statement.n, plan.classes)
    if named != statement.dataset_digest:
        raise VerificationError(
            Reject.WRONG_DATASET, "the proof's committed test set is not the statement's"
        )
    counts = (statement.totals, statement.hits)
    _check_proof(plan, proof, terms, proof_file, params, weights, counts=counts)
    return _public(statement, proof_file.soundness_bits)

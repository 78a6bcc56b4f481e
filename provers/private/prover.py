"""The private-mode MLP prover: the public mode's advice on the doubled domain, every check a
masked sumcheck with a public total, the lookup zero knowledge, one hiding opening.

``prove_private`` absorbs what :mod:`provers.private.protocol` lists, in that order.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from provers.audit.argmax import argmax_vectors, counts
from provers.audit.statement import AuditStatement
from provers.circuit import executor
from provers.circuit.ops import OpKind
from provers.commit import pcs
from provers.commit.pcs.prover import random_elements
from provers.container import ProofFile, Protocol, statement_digest
from provers.errors import ProverError
from provers.field import base, ext
from provers.inference.layout import UnsupportedCircuit
from provers.inference.model_commitment import CommittedModel
from provers.inference.soundness import write_parameters
from provers.inference.weights import weight_table
from provers.inference.witness import pool_windows, requant_advice
from provers.lookup.multiplicities import compute_multiplicities
from provers.lookup.statement import LookupStatement
from provers.lookup.zk import prove_core
from provers.params import ProofParameters
from provers.poly import multilinear
from provers.private import protocol
from provers.private.argmax import DATA, INPUTS, ProductTerm, split_column
from provers.private.dataset import PrivateDataset
from provers.private.model import HiddenModel
from provers.private.plan import INPUT, PrivatePlan
from provers.private.proof import PrivateProof
from provers.private.relations import (
    BiasTerm,
    LinearCombiner,
    LinearTerm,
    MatmulTerm,
    Term,
    bias_factor_table,
    check_budget,
    check_masking,
    group_totals,
    multiplier_table,
    terms_of,
    weighted_layers,
    zero_first,
)
from provers.private.soundness import private_bits
from provers.private.statement import PrivateStatement
from provers.private.windows import (
    PatchClaim,
    WindowTerm,
    ZeroProductTerm,
    claims_of,
    patch_fold,
    source_key,
    stage_mu,
    stage_shapes,
    stage_table,
    stage_total,
    window_table,
)
from provers.sumcheck import batched_zk
from provers.sumcheck.combiners import product
from provers.sumcheck.mask_commitment import TensorPcsMaskScheme
from provers.sumcheck.zk import ZkSumcheckProof

LIMB_BITS = 8


def fold_rows(eq: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Σ_row eq[row]·matrix[row, :] for a (4, R) challenge-field eq and a canonical base-field
    (R, C) matrix, exactly: 16-bit halves keep every int64 partial sum below 2^63 (R ≤ 2^16)."""
    low, high = matrix & 0xFFFF, matrix >> 16
    out = np.empty((ext.DEGREE, matrix.shape[1]), dtype=np.int64)
    for limb in range(ext.DEGREE):
        row = eq[limb]
        part_low = (row @ low) % base.P
        part_high = (row @ high) % base.P
        out[limb] = (part_low + part_high * 65536) % base.P
    return out


@dataclass
class Witness:
    plan: PrivatePlan
    real: np.ndarray
    """W, canonical (2^M)."""
    noise: np.ndarray
    """W′, uniform (2^M)."""

    @cached_property
    def doubled(self) -> np.ndarray:
        return np.concatenate([self.real, self.noise])

    def slot(self, key: tuple[str, str], size: int) -> tuple[np.ndarray, np.ndarray]:
        offset = self.plan.offsets[key]
        return self.real[offset : offset + size], self.noise[offset : offset + size]

    def doubled_slot(self, key: tuple[str, str], size: int) -> np.ndarray:
        return np.concatenate(self.slot(key, size))


def build_witness(
    plan: PrivatePlan,
    inputs: np.ndarray,
    rng: np.random.Generator | None,
    labels: np.ndarray | None = None,
) -> tuple[Witness, np.ndarray]:
    """W (advice per layer, the private input, an audit's argmax vectors, m) and its random
    half; also the output."""
    model = plan.model
    values = executor.execute(model, inputs)
    table = np.zeros(plan.witness_size, dtype=np.int64)

    def place(key: tuple[str, str], real: np.ndarray) -> None:
        padded = plan.vector_layout(key).embed(real)
        offset = plan.offsets[key]
        table[offset : offset + padded.shape[0]] = padded

    if plan.private_input:
        place((INPUT, "x"), inputs)
    for layer in plan.layers:
        node = model.node(layer.node)
        if layer.requant is None:
            windows = pool_windows(node, values[layer.reads])
            y = windows.max(axis=-1)
            advice = {"y": y, **{f"d{k}": y - windows[..., k] for k in range(layer.offsets)}}
        else:
            acc = executor.accumulator(node, [values[layer.reads]])
            if acc is None:
                raise ProverError(f"{layer.node}: no accumulator")
            advice = requant_advice(layer.node, layer.requant, acc)
        if not np.array_equal(advice["y"], values[layer.node]):
            raise ProverError(f"{layer.node}: advice disagrees with the executor")
        for name, real in advice.items():
            place((layer.node, name), real)
    if plan.classes:
        if labels is None:
            raise ProverError("an audit needs its labels")
        padded = 1 << plan.batch_layout.log_size
        vectors = argmax_vectors(padded, values[model.output], labels)
        for key, vector in vectors.items():
            offset = plan.offsets[key]
            table[offset : offset + padded] = vector
    columns = lookup_columns(plan, table % base.P)
    statement = LookupStatement(plan.table.lookup_table(), 1, plan.lookup_log)
    counts = compute_multiplicities(statement, [columns])
    table[: counts.shape[0]] = counts
    noise = random_elements((1, plan.witness_size), rng)[0]
    return Witness(plan, table % base.P, noise), values[model.output]


def lookup_columns(plan: PrivatePlan, table: np.ndarray) -> list[np.ndarray]:
    """The four lookup vectors (2^L each) read from one half of W2 (the constants added; the
    rows after the last segment are the table's zero row)."""
    out = []
    for c in range(4):
        column = np.zeros(1 << plan.lookup_log, dtype=np.int64)
        for segment in plan.segments:
            slot, constant = segment.columns[c]
            rows = slice(segment.offset, segment.offset + (1 << segment.log))
            if slot is None:
                column[rows] = constant % base.P
            else:
                offset = plan.offsets[slot]
                column[rows] = (table[offset : offset + (1 << segment.log)] + constant) % base.P
        out.append(column)
    return out


@dataclass
class DataTable:
    """An audit's committed test set: D (inputs, then labels), its random half, and the hiding
    commitment to (D ‖ D′) with its prover data."""

    real: np.ndarray
    noise: np.ndarray
    commitment: pcs.Commitment
    prover_data: pcs.ProverData

    @cached_property
    def doubled(self) -> np.ndarray:
        return np.concatenate([self.real, self.noise])


@dataclass
class _Tables:
    """What the prover needs besides the witness: the weight table and the public input."""

    weights: np.ndarray
    inputs: np.ndarray | None
    noise: np.ndarray | None = None
    """T′, the weight table's random half (private weights)."""


def _weight_block(
    plan: PrivatePlan, tables: _Tables, term: MatmulTerm, rho_o: np.ndarray
) -> list[np.ndarray]:
    """The weight block folded by ρ_o: one table per half of the doubled weight table (one if
    the weights are public)."""
    block = term.layer.matrix.blocks[term.block]
    size = 1 << (block.rows_log + block.cols_log)
    pad = np.zeros((ext.DEGREE, block.rows_log - rho_o.shape[1]), dtype=np.int64)
    eq = multilinear.eq_table(np.concatenate([pad, rho_o], axis=1))
    halves = [tables.weights] if tables.noise is None else [tables.weights, tables.noise]
    return [
        fold_rows(
            eq,
            half[block.offset : block.offset + size].reshape(
                1 << block.rows_log, 1 << block.cols_log
            ),
        )
        for half in halves
    ]


def _input_block(
    plan: PrivatePlan,
    witness: Witness,
    tables: _Tables,
    term: MatmulTerm,
    rho_n: np.ndarray,
    rho: np.ndarray,
) -> list[np.ndarray]:
    """The layer input's block columns (a convolution's patches) folded by its rows' point:
    one table per half (one if public)."""
    layer = term.layer
    if layer.kind is OpKind.CONV2D:
        block = layer.matrix.blocks[term.block]
        columns = slice(block.start, block.start + (1 << block.cols_log))
        if layer.input == INPUT and not plan.private_input:
            assert tables.inputs is not None
            halves = [tables.inputs]
        else:
            real, noise = witness.slot(source_key(layer), 1 << layer.source_layout.log_size)
            halves = [real, noise]
        return [patch_fold(layer, half, rho, fold_rows)[:, columns] for half in halves]
    block = layer.matrix.blocks[term.block]
    source = (INPUT, "x") if layer.input == INPUT else (layer.input, "y")
    layout = plan.input_layout if layer.input == INPUT else plan.layer(layer.input).layout
    rows = 1 << layout.dims[0].log
    features = 1 << (layout.log_size - layout.dims[0].log)
    eq = multilinear.eq_table(rho_n)
    columns = slice(block.start, block.start + (1 << block.cols_log))
    if layer.input == INPUT and not plan.private_input:
        assert tables.inputs is not None
        return [fold_rows(eq, tables.inputs.reshape(rows, features)[:, columns])]
    return [
        fold_rows(eq, half.reshape(rows, features)[:, columns])
        for half in witness.slot(source, rows * features)
    ]


def _term_tables(
    plan: PrivatePlan,
    witness: Witness,
    tables: _Tables,
    term: Term,
    points: dict[str, np.ndarray],
    data: DataTable | None = None,
) -> batched_zk.ZkProverTerm:
    shape = batched_zk.ZkTermShape(term.num_vars, term.degree, term.group)
    if isinstance(term, MatmulTerm):
        rho = points[term.layer.node]
        rho_n, rho_o = (
            rho[:, : term.layer.layout.dims[0].log],
            protocol.channel_point(term.layer, rho),
        )
        wf = _weight_block(plan, tables, term, rho_o)
        xf = _input_block(plan, witness, tables, term, rho_n, rho)
        if not term.doubled:
            return batched_zk.ZkProverTerm(shape, [wf[0], xf[0]], product(2))
        half = wf[0].shape[1]
        selector = np.concatenate([np.ones(half, np.int64), np.zeros(half, np.int64)])
        doubled_wf = np.concatenate(wf if len(wf) == 2 else [wf[0], wf[0]], axis=1)
        doubled_xf = np.concatenate(xf if len(xf) == 2 else [xf[0], xf[0]], axis=1)
        return batched_zk.ZkProverTerm(shape, [selector, doubled_wf, doubled_xf], product(3))
    if isinstance(term, BiasTerm):
        layer = term.layer
        rho = points[layer.node]
        size = 1 << plan.weight_layout.bias_log
        start = plan.weight_layout.bias_offset
        if tables.noise is None:
            raise ProverError("a private bias without the weight table's random half")
        region = np.concatenate(
            [tables.weights[start : start + size], tables.noise[start : start + size]]
        )
        factor = bias_factor_table(plan, layer, rho)
        return batched_zk.ZkProverTerm(shape, [factor, region], product(2))
    if isinstance(term, ProductTerm):
        size = 1 << term.log_size
        selector = np.concatenate([np.ones(size, np.int64), np.zeros(size, np.int64)])
        a, b = (_vector_table(plan, witness, data, key, size) for key in (term.a, term.b))
        return batched_zk.ZkProverTerm(shape, [selector, a, b], product(3))
    if isinstance(term, WindowTerm):
        layer = term.layer
        window = window_table(layer, points[layer.node], term.offset)
        if term.sign < 0:
            window = np.asarray(ext.neg(window))
        factor = np.concatenate([window, np.zeros_like(window)], axis=1)
        source = witness.doubled_slot(source_key(layer), 1 << layer.source_layout.log_size)
        return batched_zk.ZkProverTerm(shape, [factor, source], product(2))
    if isinstance(term, ZeroProductTerm):
        size = 1 << term.layer.log_size
        eq = multilinear.eq_table(zero_first(points[term.layer.node]))
        vectors = [_vector_table(plan, witness, data, key, size) for key in term.vectors]
        return batched_zk.ZkProverTerm(shape, [eq, *vectors], product(1 + len(vectors)))
    assert isinstance(term, LinearTerm)
    size = 1 << term.log_size
    anchor = points[term.point_name]
    factors: list[np.ndarray] = [multilinear.eq_table(zero_first(anchor))]
    if term.with_multipliers:
        m = multiplier_table(term.layer)
        factors.append(np.concatenate([m, m]))
    factors += [_vector_table(plan, witness, data, key, size) for key in term.vectors]
    return batched_zk.ZkProverTerm(shape, factors, LinearCombiner(term))


def _vector_table(
    plan: PrivatePlan,
    witness: Witness,
    data: DataTable | None,
    key: tuple[str, str],
    size: int,
) -> np.ndarray:
    """A term's doubled vector: a slot of W2, a column of one, or a region of the data table."""
    if key[0] == DATA:
        if data is None:
            raise ProverError("an audit term without its data table")
        offset = 0 if key == INPUTS else plan.label_offset
        return np.concatenate(
            [data.real[offset : offset + size], data.noise[offset : offset + size]]
        )
    column = split_column(key)
    if column is None:
        return witness.doubled_slot(key, size)
    vector, index = column
    layout = plan.vector_layout(vector)
    channels = 1 << layout.dims[1].log
    halves = witness.slot(vector, 1 << layout.log_size)
    return np.concatenate([half.reshape(-1, channels)[:, index] for half in halves])


def _sent(
    plan: PrivatePlan,
    term: Term,
    finals: list[np.ndarray],
    point: np.ndarray,
    points: dict[str, np.ndarray],
    witness_claims: list[protocol.WitnessClaim],
    weight_claims: list[tuple[np.ndarray, np.ndarray]],
    data_claims: list[protocol.WitnessClaim],
    model_claims: list[protocol.WitnessClaim],
    patch_claims: list[PatchClaim],
) -> list[np.ndarray]:
    """The values a term's final check needs, recording the claims they make."""
    local = batched_zk.suffix(point, term.num_vars)
    if isinstance(term, MatmulTerm):
        rho = points[term.layer.node]
        wf = finals[1] if term.doubled else finals[0]
        if term.private_weights:
            model_claims.append(protocol.matmul_model_claim(plan, term, rho, local, wf))
        else:
            weight_claims.append((protocol.matmul_weight_point(plan, term, rho, local), wf))
        if not term.private_input:
            return [wf]
        xf = finals[2]
        if term.layer.kind is OpKind.CONV2D:
            cols = term.layer.matrix.blocks[term.block].cols_log
            kappa = local[:, local.shape[1] - cols :]
            patch_claims.append(PatchClaim(term.layer, term.block, local[:, 0], kappa, xf))
        else:
            witness_claims.append(protocol.input_claim(plan, term, rho, local, xf))
        return [wf, xf]
    if isinstance(term, WindowTerm):
        zeta, z = local[:, 0], local[:, 1:]
        key = source_key(term.layer)
        value = finals[1]
        witness_claims.append(
            protocol.WitnessClaim(
                zeta, plan.offsets[key], protocol.vector_local(plan, key, z), value
            )
        )
        return [value]
    if isinstance(term, BiasTerm):
        model_claims.append(protocol.bias_model_claim(plan, local, finals[1]))
        return [finals[1]]
    zeta, r = local[:, 0], local[:, 1:]
    keys: tuple[tuple[str, str], ...]
    if isinstance(term, ProductTerm | ZeroProductTerm):
        keys = (term.a, term.b) if isinstance(term, ProductTerm) else term.vectors
        values = finals[1:]
    else:
        assert isinstance(term, LinearTerm)
        keys, values = term.vectors, finals[2:] if term.with_multipliers else finals[1:]
    for key, value in zip(keys, values, strict=True):
        on_data, claim = protocol.vector_claim(plan, key, zeta, r, value)
        (data_claims if on_data else witness_claims).append(claim)
    return list(values)


Model = CommittedModel | HiddenModel
OPEN_WEIGHTS = (
    "private weights need a model committed with hidden weights "
    "(veriml compile --private-weights); this model's weights are committed openly"
)


def _prove_windows(
    plan: PrivatePlan,
    witness: Witness,
    points: dict[str, np.ndarray],
    patch_claims: list[PatchClaim],
    transcript: Any,
    scheme: TensorPcsMaskScheme,
    rng: np.random.Generator | None,
) -> tuple[ZkSumcheckProof, np.ndarray, list[protocol.WitnessClaim]] | None:
    """The window stage (provers/private/windows.py): every convolution's patch claims on its
    private input reduced to one claim on the input's slot."""
    shapes = stage_shapes(plan)
    if not shapes:
        return None
    terms, totals = [], []
    for group, (layer, num_vars) in enumerate(shapes):
        claims = claims_of(layer, patch_claims)
        mu = stage_mu(transcript, layer, claims)
        key = source_key(layer)
        table = stage_table(layer, points[layer.node], claims, mu)
        source = witness.doubled_slot(key, 1 << (num_vars - 1))
        shape = batched_zk.ZkTermShape(num_vars, 2, group)
        terms.append(batched_zk.ZkProverTerm(shape, [table, source], product(2)))
        totals.append(stage_total(claims, mu))
    proof, point, finals = batched_zk.prove(
        terms, np.stack(totals, axis=1), transcript, scheme, rng, label="windows"
    )
    values = np.stack([table_finals[1] for table_finals in finals], axis=1)
    transcript.absorb_ext("window_finals", values)
    claims_out = []
    for j, (layer, num_vars) in enumerate(shapes):
        local = batched_zk.suffix(point, num_vars)
        key = source_key(layer)
        claims_out.append(
            protocol.WitnessClaim(
                local[:, 0],
                plan.offsets[key],
                protocol.vector_local(plan, key, local[:, 1:]),
                values[:, j],
            )
        )
    return proof, values, claims_out


def _check_privacy(committed: Model, private: frozenset[str]) -> None:
    if not private or not private <= {"weights", "input", "output"}:
        raise ProverError(
            f"private {sorted(private)}: the private mode hides any of the weights, the input "
            "and the output"
        )
    hidden = isinstance(committed, HiddenModel)
    if "weights" in private and not hidden:
        raise ProverError(OPEN_WEIGHTS)
    if hidden and "weights" not in private:
        raise ProverError(
            "this model's weights are committed hidden: its proofs keep them private "
            "(name weights among the private parts)"
        )


def _setup(
    committed: Model,
    inputs: np.ndarray,
    private: frozenset[str],
    params: ProofParameters,
    classes: int = 0,
) -> tuple[PrivatePlan, np.ndarray]:
    model = committed.model
    inputs = np.asarray(inputs)
    if inputs.ndim == len(model.input_shape):
        inputs = inputs[None]
    try:
        inputs = executor.check_inputs(model, inputs)
        plan = PrivatePlan(
            model,
            inputs.shape[0],
            "input" in private,
            "output" not in private,
            LIMB_BITS,
            params.pcs,
            classes,
            isinstance(committed, HiddenModel),
        )
        _check_plan(plan, committed)
    except (ValueError, UnsupportedCircuit) as error:
        raise ProverError(str(error)) from None
    if committed.commitment.params != params.pcs:
        raise ProverError("the model was committed under other PCS parameters")
    _check_bits(plan, params, committed)
    return plan, inputs


def _check_plan(plan: PrivatePlan, committed: Model) -> None:
    terms = terms_of(plan)
    check_masking(plan, terms)
    if isinstance(committed, HiddenModel):
        check_budget(plan, committed.tickets)
        if committed.proofs_left < 1:
            raise UnsupportedCircuit(
                f"this hidden-weights commitment has served all {committed.tickets} proofs it "
                "can keep the weights hidden for; commit the model again"
            )


def _check_bits(plan: PrivatePlan, params: ProofParameters, committed: Model) -> None:
    """Refuse, before any work, a proof the verifier would refuse for its soundness."""
    bits = private_bits(plan, params, committed.commitment)
    if bits < params.min_soundness_bits:
        raise ProverError(
            f"a private proof of this size gives {bits:.1f} bits of soundness, under "
            f"{params.min_soundness_bits}: prove fewer samples at a time"
        )


def prove_private(
    committed: Model,
    inputs: np.ndarray,
    private: frozenset[str],
    nonce: bytes | None = None,
    params: ProofParameters | None = None,
    rng: np.random.Generator | None = None,
) -> bytes:
    """A proof file that ``committed`` maps ``inputs`` to its outputs, hiding the parts named
    in ``private`` (a non-empty subset of {"weights", "input", "output"}; "weights" exactly
    for a :class:`HiddenModel`, whose next ticket the proof uses) by zero knowledge.
    Randomness comes from the OS CSPRNG unless ``rng`` (a numpy generator, for reproducible
    tests) is given."""
    _check_privacy(committed, private)
    params = params or ProofParameters.default()
    plan, inputs = _setup(committed, inputs, private, params)
    nonce = os.urandom(16) if nonce is None else nonce
    witness, outputs = build_witness(plan, inputs, rng)
    statement = PrivateStatement(
        bytes.fromhex(committed.digest),
        committed.model.circuit_bytes(),
        committed.commitment,
        inputs.shape[0],
        LIMB_BITS,
        plan.private_input,
        plan.private_output,
        None if plan.private_input else inputs,
        None if plan.private_output else outputs,
        nonce,
    )
    output_table = None
    if not plan.private_output:
        output_table = plan.output_layer().layout.embed(outputs) % base.P
    public_inputs = None if plan.private_input else plan.input_layout.embed(inputs) % base.P
    return _prove_file(
        plan,
        committed,
        witness,
        None,
        Protocol.PRIVATE_INFERENCE,
        statement.to_bytes(),
        params,
        rng,
        output_table=output_table,
        public_inputs=public_inputs,
    )


def _prove_file(
    plan: PrivatePlan,
    committed: Model,
    witness: Witness,
    data: DataTable | None,
    kind: Protocol,
    statement_bytes: bytes,
    params: ProofParameters,
    rng: np.random.Generator | None,
    output_table: np.ndarray | None = None,
    public_inputs: np.ndarray | None = None,
    counts: tuple[np.ndarray, np.ndarray] | None = None,
) -> bytes:
    model = committed.model
    parameter_bytes = write_parameters(params)
    transcript = protocol.start_transcript(statement_digest(kind, statement_bytes), parameter_bytes)
    witness_commitment, witness_data = pcs.commit(witness.doubled, params.pcs, hiding=True, rng=rng)
    transcript.absorb_bytes("witness_commitment", witness_commitment.to_bytes())
    if data is not None:
        transcript.absorb_bytes("data_commitment", data.commitment.to_bytes())
    points = protocol.draw_points(plan, transcript)

    hidden = committed if isinstance(committed, HiddenModel) else None
    weights = weight_table(model, committed.layout) % base.P
    tables = _Tables(weights, public_inputs, None if hidden is None else hidden.noise)
    biases = np.zeros((ext.DEGREE, 0), dtype=np.int64)
    if hidden is None:
        biases = np.stack(
            [
                multilinear.evaluate(
                    weights[layer.matrix.bias_offset : layer.matrix.bias_offset + (1 << d.log)],
                    protocol.channel_point(layer, points[layer.node]),
                )
                for layer in weighted_layers(plan)
                if layer.weights is not None
                for d in [layer.layout.dims[1]]
            ],
            axis=1,
        )
    transcript.absorb_ext("biases", biases)
    totals = group_totals(plan, points, biases, output_table, counts)
    terms = terms_of(plan)
    scheme = TensorPcsMaskScheme(params.pcs)
    prover_terms = [_term_tables(plan, witness, tables, term, points, data) for term in terms]
    relations, point, term_finals = batched_zk.prove(
        prover_terms, totals, transcript, scheme, rng, label="relations"
    )
    witness_claims: list[protocol.WitnessClaim] = []
    data_claims: list[protocol.WitnessClaim] = []
    model_claims: list[protocol.WitnessClaim] = []
    weight_claims: list[tuple[np.ndarray, np.ndarray]] = [
        (
            protocol.bias_point(plan, layer, protocol.channel_point(layer, points[layer.node])),
            biases[:, i],
        )
        for i, layer in enumerate(weighted_layers(plan))
        if hidden is None
    ]
    patch_claims: list[PatchClaim] = []
    sent: list[np.ndarray] = []
    for term, finals in zip(terms, term_finals, strict=True):
        sent += _sent(
            plan,
            term,
            finals,
            point,
            points,
            witness_claims,
            weight_claims,
            data_claims,
            model_claims,
            patch_claims,
        )
    relation_finals = np.stack(sent, axis=1)
    transcript.absorb_ext("relation_finals", relation_finals)
    window_stage = _prove_windows(plan, witness, points, patch_claims, transcript, scheme, rng)
    if window_stage is not None:
        witness_claims += window_stage[2]

    statement_l = protocol.lookup_statement(plan)
    columns = [
        np.concatenate([real, noise])
        for real, noise in zip(
            lookup_columns(plan, witness.real), lookup_columns(plan, witness.noise), strict=True
        )
    ]
    size_l = 1 << plan.lookup_log
    multiplicities = np.concatenate([witness.real[:size_l], witness.noise[:size_l]])
    core = prove_core(statement_l, columns, multiplicities, transcript, params.pcs, rng)
    zeta = core.point[:, 0]
    lookup_values = []
    for key in protocol.lookup_slots(plan):
        r_low = protocol.slot_local(plan, core.point, key)
        doubled = witness.doubled_slot(key, plan.slot_size(key))
        value = multilinear.evaluate(doubled, np.concatenate([zeta[:, None], r_low], axis=1))
        lookup_values.append(value)
        witness_claims.append(protocol.WitnessClaim(zeta, plan.offsets[key], r_low, value))
    m_value = multilinear.evaluate(multiplicities, core.point)
    witness_claims.append(protocol.WitnessClaim(zeta, 0, core.point[:, 1:], m_value))
    helper_values = [multilinear.evaluate(h, core.point) for h in core.helpers]
    lookup_finals = np.stack([*lookup_values, m_value, *helper_values], axis=1)
    transcript.absorb_ext("lookup_finals", lookup_finals)

    claim_weights = protocol.draw_claim_weights(transcript, witness_claims)
    e_table = protocol.claim_table(plan, witness_claims, claim_weights)
    claim_terms = [
        batched_zk.ZkProverTerm(
            batched_zk.ZkTermShape(plan.witness_log + 1, 2, 0),
            [e_table, witness.doubled],
            product(2),
        )
    ]
    totals_c = [protocol.claims_total(witness_claims, claim_weights)]
    if data is not None:
        data_weights = protocol.draw_claim_weights(transcript, data_claims, "data_claims")
        claim_terms.append(
            batched_zk.ZkProverTerm(
                batched_zk.ZkTermShape(plan.data_log + 1, 2, 1),
                [
                    protocol.claim_table(plan, data_claims, data_weights, plan.data_log),
                    data.doubled,
                ],
                product(2),
            )
        )
        totals_c.append(protocol.claims_total(data_claims, data_weights))
    if hidden is not None:
        model_weights = protocol.draw_claim_weights(transcript, model_claims, "model_claims")
        claim_terms.append(
            batched_zk.ZkProverTerm(
                batched_zk.ZkTermShape(plan.model_log + 1, 2, len(claim_terms)),
                [
                    protocol.claim_table(plan, model_claims, model_weights, plan.model_log),
                    np.concatenate([weights, hidden.noise]),
                ],
                product(2),
            )
        )
        totals_c.append(protocol.claims_total(model_claims, model_weights))
    claims, claim_point, claim_finals = batched_zk.prove(
        claim_terms, np.stack(totals_c, axis=1), transcript, scheme, rng, label="claims"
    )
    witness_value = claim_finals[0][1]
    transcript.absorb_ext("witness_value", witness_value)
    witness_point = batched_zk.suffix(claim_point, plan.witness_log + 1)
    requests = [(witness_data, witness_point), (core.helper_data, core.point)]
    data_value = None
    if data is not None:
        data_value = claim_finals[1][1]
        transcript.absorb_ext("data_value", data_value)
        requests.append((data.prover_data, batched_zk.suffix(claim_point, plan.data_log + 1)))
    model_value = None
    if hidden is not None:
        model_value = claim_finals[-1][1]
        transcript.absorb_ext("model_value", model_value)
        requests.append((hidden.prover_data, batched_zk.suffix(claim_point, plan.model_log + 1)))
    requests += [(committed.prover_data, p) for p, _ in weight_claims]
    opened, opening = pcs.batch_open(requests, transcript)
    if not ext.equal(opened[0][:, 0], witness_value):
        raise ProverError("the opened witness differs from stage C's value")
    proof = PrivateProof(
        witness_commitment,
        biases,
        relations,
        relation_finals,
        core.helper_commitment,
        core.sumcheck,
        lookup_finals,
        claims,
        witness_value,
        opening,
        None if data is None else data.commitment,
        data_value,
        model_value,
        None if window_stage is None else window_stage[0],
        None if window_stage is None else window_stage[1],
    )
    bits = private_bits(plan, params, committed.commitment)
    return ProofFile(
        kind,
        parameter_bytes,
        int(bits),
        statement_bytes,
        proof.to_bytes(params.pcs),
    ).to_bytes()


def audit_plan(
    committed: Model, samples: int, params: ProofParameters | None = None
) -> PrivatePlan:
    """The plan of a private audit of ``samples`` samples (one proof over all of them; the
    weights private too for a :class:`HiddenModel`)."""
    params = params or ProofParameters.default()
    classes = int(committed.model.output_shape()[-1])
    hidden = isinstance(committed, HiddenModel)
    try:
        plan = PrivatePlan(
            committed.model, samples, True, False, LIMB_BITS, params.pcs, classes, hidden
        )
        _check_plan(plan, committed)
    except UnsupportedCircuit as error:
        raise ProverError(str(error)) from None
    _check_bits(plan, params, committed)
    return plan


def prove_private_audit(
    committed: Model,
    dataset: PrivateDataset,
    nonce: bytes | None = None,
    params: ProofParameters | None = None,
    rng: np.random.Generator | None = None,
) -> bytes:
    """An accuracy-audit proof whose test inputs (and every logit) stay hidden, over a test
    set committed beforehand (provers/private/dataset.py): the statement names its digest, n
    and the counts per label. One proof over every sample; the commitment is opened once. For
    a :class:`HiddenModel` the weights stay hidden too (one of its tickets)."""
    params = params or ProofParameters.default()
    model = committed.model
    if committed.commitment.params != params.pcs:
        raise ProverError("the model was committed under other PCS parameters")
    if dataset.model_digest != bytes.fromhex(committed.digest):
        raise ProverError("the test set was committed for another model")
    plan = audit_plan(committed, dataset.n, params)
    inputs, labels = dataset.inputs(plan), dataset.labels(plan)
    nonce = os.urandom(16) if nonce is None else nonce
    witness, logits = build_witness(plan, inputs, rng, labels)
    data = DataTable(dataset.real, dataset.noise, dataset.commitment, dataset.prover_data)
    totals, hits = counts(logits, labels, plan.classes)
    statement = AuditStatement(
        dataset.model_digest,
        model.circuit_bytes(),
        committed.commitment,
        dataset.digest,
        dataset.n,
        plan.classes,
        dataset.n,
        True,
        totals,
        hits,
        nonce,
    )
    return _prove_file(
        plan,
        committed,
        witness,
        data,
        Protocol.PRIVATE_AUDIT,
        statement.to_bytes(),
        params,
        rng,
        counts=(totals, hits),
    )

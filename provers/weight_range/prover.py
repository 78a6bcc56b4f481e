"""The weight range prover: made once, when a model is committed (the protocol is in
:mod:`provers.weight_range`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from provers.commit import pcs
from provers.commit.pcs import ProverData
from provers.commit.pcs.prover import combine_rows
from provers.container import ProofFile, Protocol, statement_digest
from provers.errors import ProverError, VerificationError
from provers.field import base, ext
from provers.lookup.multiplicities import compute_multiplicities
from provers.lookup.prover import prove_as_subprotocol
from provers.params import ProofParameters
from provers.poly import multilinear
from provers.standalone.common import write_parameters
from provers.sumcheck import prover as sumcheck
from provers.sumcheck.combiners import product
from provers.sumcheck.proof import SumcheckProof
from provers.transcript import Transcript
from provers.weight_range import protocol
from provers.weight_range.proof import RunProof, WeightRangeProof
from provers.weight_range.soundness import ROW_DEGREE, lookup_runs, proof_bits
from provers.weight_range.statement import Statement, WeightRegions, regions_of

if TYPE_CHECKING:
    from provers.inference.model_commitment import CommittedModel


def prove(committed: CommittedModel, params: ProofParameters | None = None) -> bytes:
    """The weight range proof file of a committed model.

    Refuses (ProverError) a table with an entry of a weight block outside [−128, 127], a hiding
    commitment, parameters other than the commitment's, or a shape that no number of lookup
    runs takes to the minimum soundness. Absorbs, in order: the statement digest and the
    parameters; per run the lookup (bound to the model and multiplicity commitments), the row
    sumcheck and T(s, r_lo); then what the PCS batch opening absorbs.
    """
    params = params or ProofParameters(pcs=committed.commitment.params)
    commitment, data = committed.commitment, committed.prover_data
    if commitment.params != params.pcs:
        raise ProverError("the model was committed under other PCS parameters")
    if commitment.hiding or commitment.num_polynomials != 1:
        raise ProverError("a weight range proof opens a plain (not hiding) one-table commitment")
    regions = _regions(committed)
    runs = _runs(params, regions)
    table = np.asarray(data.coefficients, dtype=np.int64).reshape(-1)
    _check_int8(table, regions)
    looked_up = looked_up_vector(table, regions)
    statement = Statement(
        bytes.fromhex(committed.digest), committed.model.circuit_bytes(), commitment
    )
    statement_bytes = statement.to_bytes()
    parameter_bytes = write_parameters(params)
    lookup = protocol.lookup_statement(regions.num_vars)
    multiplicities = compute_multiplicities(lookup, [[looked_up]])
    multiplicity, multiplicity_data = pcs.commit(multiplicities, params.pcs)
    transcript = protocol.start_transcript(
        statement_digest(Protocol.WEIGHT_RANGE, statement_bytes), parameter_bytes
    )
    run_proofs, requests = [], []
    for run in range(runs):
        lookup_proof, claims = prove_as_subprotocol(
            lookup,
            [[looked_up]],
            multiplicities,
            transcript,
            commitment.to_bytes(),
            multiplicity.to_bytes(),
        )
        rows, point, value = _prove_rows(
            data, regions, claims.witness_point, claims.witness_value(0, 0), transcript, run
        )
        run_proofs.append(RunProof(lookup_proof, rows, value))
        requests.append(((data, point), value))
        requests.append(((multiplicity_data, claims.multiplicity_point), claims.multiplicity_value))
    opening = _open(requests, transcript)
    proof = WeightRangeProof(multiplicity, tuple(run_proofs), opening)
    bits = proof_bits(
        params,
        regions.num_vars,
        regions.column_vars,
        protocol.multiplicity_column_vars(params),
        runs,
    )
    return ProofFile(
        Protocol.WEIGHT_RANGE, parameter_bytes, int(bits), statement_bytes, proof.to_bytes()
    ).to_bytes()


def _regions(committed: CommittedModel) -> WeightRegions:
    layout, commitment = committed.layout, committed.commitment
    if commitment.num_vars != layout.log_size or commitment.row_vars != layout.row_log:
        raise ProverError("the commitment's shape does not fit the model's weight layout")
    try:
        return regions_of(layout)
    except ValueError as error:
        raise ProverError(f"the weight layout: {error}") from None


def _runs(params: ProofParameters, regions: WeightRegions) -> int:
    runs = lookup_runs(
        params, regions.num_vars, regions.column_vars, protocol.multiplicity_column_vars(params)
    )
    if runs is None:
        raise ProverError(
            f"no number of lookup runs gives {params.min_soundness_bits} bits for a table of "
            f"2^{regions.num_vars} entries under these parameters"
        )
    try:
        protocol.lookup_statement(regions.num_vars).validate()
    except VerificationError as error:
        raise ProverError(f"the weight table is too large for one lookup: {error}") from None
    return runs


def looked_up_vector(table: np.ndarray, regions: WeightRegions) -> np.ndarray:
    """a = sel·T + 128 on the cube: T + 128 inside the weight blocks, 128 elsewhere."""
    return np.where(regions.entry_mask(), (table + protocol.OFFSET) % base.P, protocol.OFFSET)


def _check_int8(table: np.ndarray, regions: WeightRegions) -> None:
    """Refuse before any work when a weight block holds an entry outside [−128, 127]."""
    signed = base.to_signed(table)
    outside = np.flatnonzero(regions.entry_mask() & ((signed < -128) | (signed > 127)))
    if outside.size:
        index = int(outside[0])
        layer, position = regions.locate(index)
        raise ProverError(
            f"{layer}: weight table entry {index} (entry {position} of its block) is "
            f"{int(signed[index])}, not an int8; {outside.size} entries lie outside [-128, 127]"
        )


def _prove_rows(
    data: ProverData,
    regions: WeightRegions,
    witness_point: np.ndarray,
    looked_up_value: np.ndarray,
    transcript: Transcript,
    run: int,
) -> tuple[SumcheckProof, np.ndarray, np.ndarray]:
    """Σ_y eq(r_hi, y)·sel(y)·g(y) = a(r) − 128: (proof, the table point (s, r_lo), g(s))."""
    row_vars = regions.row_vars
    high, low = witness_point[:, :row_vars], witness_point[:, row_vars:]
    matrix = np.asarray(data.coefficients, dtype=np.int64)
    folded = combine_rows(multilinear.eq_table(low), np.ascontiguousarray(matrix.T))
    tables = [multilinear.eq_table(high), regions.row_mask(), folded]
    result = sumcheck.prove(
        tables,
        product(3),
        ROW_DEGREE,
        protocol.rows_claim(looked_up_value),
        transcript,
        protocol.rows_label(run),
    )
    value = result.final_values[2]
    protocol.absorb_table_value(transcript, run, value)
    return result.proof, protocol.table_point(result.point, witness_point, row_vars), value


def _open(
    requests: list[tuple[tuple[ProverData, np.ndarray], np.ndarray]], transcript: Transcript
) -> pcs.OpeningProof:
    values, opening = pcs.batch_open([request for request, _ in requests], transcript)
    for opened, (_, claimed) in zip(values, requests, strict=True):
        if not ext.equal(opened[:, 0], claimed):
            raise ProverError("an opened value differs from the claim it settles")
    return opening

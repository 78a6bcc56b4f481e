"""The weight range verifier: replay the transcript and check every step.

``verify_file`` absorbs exactly what :func:`provers.weight_range.prover.prove` absorbs, in the
same order, and raises VerificationError (and nothing else) on any input. Checks, in order: the
parameters (at least 100 bits asked for); the statement (the circuit decodes, the digest names
it with the commitment; STATEMENT_MISMATCH); the weight commitment against the derived layout
(one plain table of 2^N entries in rows of 2^c, under the stated parameters); the soundness the
header states; the multiplicity commitment's shape; then per run the lookup (lookup reasons),
the row sumcheck (sumcheck reasons) and its last round against eq(r_hi, s)·sel(s)·T(s, r_lo)
(FINAL_EVALUATION_MISMATCH); finally the opening of both commitments (PCS reasons).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from provers.circuit.ops import OpKind
from provers.commit import pcs
from provers.commit.pcs import Commitment
from provers.container import ProofFile
from provers.errors import MALFORMED_INPUT_ERRORS, Reject, VerificationError, rejecting_malformed
from provers.field import base, ext
from provers.inference.weights import WeightLayout
from provers.lookup.statement import LookupStatement
from provers.lookup.verifier import verify_as_subprotocol
from provers.params import ProofParameters
from provers.poly import multilinear
from provers.standalone.common import read_parameters
from provers.sumcheck import verifier as sumcheck
from provers.transcript import Transcript
from provers.weight_range import protocol
from provers.weight_range.proof import RunProof, WeightRangeProof
from provers.weight_range.soundness import ROW_DEGREE, TABLE_VARS, lookup_runs, proof_bits
from provers.weight_range.statement import (
    Statement,
    WeightRegions,
    derived_layout,
    read_statement,
)

Request = tuple[Commitment, np.ndarray, np.ndarray]


def verify_file(proof_file: ProofFile) -> dict[str, Any]:
    """Check a weight range proof file; return its public statement."""
    return rejecting_malformed(_verify, proof_file)


def _verify(proof_file: ProofFile) -> dict[str, Any]:
    params = read_parameters(proof_file.parameters)
    statement, model = read_statement(proof_file.statement)
    layout, regions = derived_layout(model, statement.weight_commitment.params)
    _check_weight_commitment(statement.weight_commitment, layout, params)
    multiplicity_columns = protocol.multiplicity_column_vars(params)
    runs = lookup_runs(params, regions.num_vars, regions.column_vars, multiplicity_columns)
    if runs is None:
        raise VerificationError(
            Reject.INSUFFICIENT_SOUNDNESS,
            f"no run count reaches {params.min_soundness_bits} bits for 2^{regions.num_vars}",
        )
    lookup = protocol.lookup_statement(regions.num_vars)
    lookup.validate()
    bits = proof_bits(params, regions.num_vars, regions.column_vars, multiplicity_columns, runs)
    proof_file.check_soundness(bits, params.min_soundness_bits)
    proof = WeightRangeProof.from_bytes(
        proof_file.body,
        statement.weight_commitment,
        runs,
        regions.row_vars,
        lambda commitment: _check_multiplicity_commitment(commitment, params),
    )
    transcript = protocol.start_transcript(proof_file.digest, proof_file.parameters)
    requests: list[Request] = []
    for run, run_proof in enumerate(proof.runs):
        requests.extend(_verify_run(run, run_proof, statement, proof, lookup, regions, transcript))
    pcs.batch_verify(requests, proof.opening, transcript, params.pcs)
    return summary(statement, model, layout, regions, runs, proof_file.soundness_bits)


def _check_weight_commitment(
    commitment: Commitment, layout: WeightLayout, params: ProofParameters
) -> None:
    if commitment.params != params.pcs:
        raise VerificationError(Reject.PARAMETER_MISMATCH, "the weights use other parameters")
    if commitment.hiding or commitment.num_polynomials != 1:
        raise VerificationError(
            Reject.STATEMENT_MISMATCH, "the weight commitment is not one plain table"
        )
    if commitment.num_vars != layout.log_size or commitment.row_vars != layout.row_log:
        raise VerificationError(
            Reject.STATEMENT_MISMATCH,
            f"a weight commitment of 2^{commitment.num_vars} in 2^{commitment.row_vars} rows, "
            f"the circuit's layout has 2^{layout.log_size} in 2^{layout.row_log}",
        )


def _check_multiplicity_commitment(commitment: Commitment, params: ProofParameters) -> None:
    if commitment.params != params.pcs:
        raise VerificationError(
            Reject.PARAMETER_MISMATCH, "the multiplicities use other parameters"
        )
    shape_ok = (
        commitment.num_vars == TABLE_VARS
        and commitment.row_vars == protocol.multiplicity_row_vars(params)
        and commitment.num_polynomials == 1
        and not commitment.hiding
    )
    if not shape_ok:
        raise VerificationError(
            Reject.PARAMETER_MISMATCH,
            f"the multiplicity commitment is not one plain table of 2^{TABLE_VARS} entries",
        )


def _verify_run(
    run: int,
    run_proof: RunProof,
    statement: Statement,
    proof: WeightRangeProof,
    lookup: LookupStatement,
    regions: WeightRegions,
    transcript: Transcript,
) -> list[Request]:
    """One lookup run and its row sumcheck; the two opening requests it leaves."""
    claims = verify_as_subprotocol(
        lookup,
        run_proof.lookup,
        transcript,
        statement.weight_commitment.to_bytes(),
        proof.multiplicity_commitment.to_bytes(),
    )
    row_vars = regions.row_vars
    witness_point = claims.witness_point
    point, expected = sumcheck.verify(
        run_proof.rows,
        row_vars,
        ROW_DEGREE,
        protocol.rows_claim(claims.witness_value(0, 0)),
        transcript,
        protocol.rows_label(run),
    )
    value = _element(run_proof.table_value, "table value")
    protocol.absorb_table_value(transcript, run, value)
    eq_rows = multilinear.eq_eval(witness_point[:, :row_vars], point)
    weight = ext.mul(eq_rows, regions.evaluate(point))
    sumcheck.check_final_evaluation(expected, ext.mul(weight, value), f"row sumcheck {run}")
    table_point = protocol.table_point(point, witness_point, row_vars)
    return [
        (statement.weight_commitment, table_point, value.reshape(ext.DEGREE, 1)),
        (
            proof.multiplicity_commitment,
            claims.multiplicity_point,
            claims.multiplicity_value.reshape(ext.DEGREE, 1),
        ),
    ]


def _element(value: object, what: str) -> np.ndarray:
    array = np.asarray(value, dtype=np.int64)
    if array.shape != (ext.DEGREE,) or not base.is_canonical(array):
        raise VerificationError(Reject.NON_CANONICAL_FIELD_ELEMENT, f"{what}: not one element")
    return array


def biases_bounded(model: Any, layout: WeightLayout) -> bool:
    """Whether every accepted inference proof pins each layer's bias to one integer: with int8
    weights and activations, |bias| ≤ 2^(15+s1) + 2^(s1−1) + 2^14·2^f < p/2 for each layer of
    first shift s1 and 2^f padded features (the argument is in :mod:`provers.weight_range`)."""
    for layer in layout.layers:
        node = model.node(layer.node)
        if node.kind not in (OpKind.LINEAR, OpKind.CONV2D):
            continue
        if node.requant is None:
            return False
        shift = node.requant.shift1
        bound = (1 << (15 + shift)) + ((1 << shift) >> 1) + (1 << (14 + layer.feature_log))
        if bound >= base.P // 2:
            return False
    return True


def describe(proof_file: ProofFile) -> dict[str, Any]:
    """What a weight range proof claims, read from its statement without checking the proof
    (for ``veriml inspect``); VerificationError when the statement is malformed."""
    try:
        statement, model = read_statement(proof_file.statement)
        _, regions = derived_layout(model, statement.weight_commitment.params)
    except MALFORMED_INPUT_ERRORS as error:
        raise VerificationError(Reject.MALFORMED, f"{type(error).__name__}: {error}") from None
    return claim(statement, regions)


def claim(statement: Statement, regions: WeightRegions) -> dict[str, Any]:
    return {
        "kind": "weight range",
        "model_digest": statement.digest.hex(),
        "claim": "every entry of every weight block lies in [-128, 127]",
        "weight_blocks": len(regions.blocks),
        "weight_entries": regions.entries,
        "table_entries": 1 << regions.num_vars,
    }


def summary(
    statement: Statement,
    model: Any,
    layout: WeightLayout,
    regions: WeightRegions,
    runs: int,
    soundness_bits: int,
) -> dict[str, Any]:
    """What a checked weight range proof states (the hidden one: ``runs`` 0)."""
    return {
        **claim(statement, regions),
        "biases_bounded": biases_bounded(model, layout),
        **({"lookup_runs": runs} if runs else {}),
        "soundness_bits": soundness_bits,
    }

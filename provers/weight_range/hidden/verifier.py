"""The hidden-weights range verifier: replay the transcript and check every step.

``verify_file`` absorbs exactly what :func:`provers.weight_range.hidden.prover.prove` absorbs,
in the same order, and raises VerificationError (and nothing else) on any input. Checks, in
order: the parameters; the statement (the circuit decodes, the digest names it with the
commitment; STATEMENT_MISMATCH); the model's commitment against the derived layout (one hiding
doubled table of 2^(N+1) entries, one point per opening, under the stated parameters;
STATEMENT_MISMATCH or PARAMETER_MISMATCH); the soundness the header states; the multiplicity
and helper commitments' shapes (PARAMETER_MISMATCH) and the masks' (PARAMETER_MISMATCH); the
lookup's masked sumcheck (sumcheck reasons) and its final check (FINAL_EVALUATION_MISMATCH);
the tie's masked sumcheck and its last round against w·eq·sel·μ (FINAL_EVALUATION_MISMATCH);
finally the batch opening (PCS reasons).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from provers.commit import pcs
from provers.commit.pcs import Commitment, PCSParams
from provers.container import ProofFile
from provers.errors import MALFORMED_INPUT_ERRORS, Reject, VerificationError, rejecting_malformed
from provers.field import base, ext
from provers.inference.weights import WeightLayout
from provers.lookup.zk import ZkLookupStatement, check_core, verify_core
from provers.params import ProofParameters
from provers.standalone.common import read_parameters
from provers.sumcheck.mask_commitment import TensorPcsMaskScheme
from provers.sumcheck.zk import ZkSumcheckProof, verify_zk
from provers.weight_range.hidden import protocol
from provers.weight_range.hidden.proof import HiddenRangeProof
from provers.weight_range.hidden.protocol import FINALS, LookupPoint
from provers.weight_range.hidden.soundness import proof_bits
from provers.weight_range.statement import (
    Statement,
    WeightRegions,
    derived_layout,
    read_statement,
)
from provers.weight_range.verifier import claim, summary


@dataclass(frozen=True)
class RevealedPoints:
    """Where the proof's values of M2 are claimed: the lookup's point r' (A2 there) and the
    opening's point (s_0, s_y, r_lo) (μ there); for the zero-knowledge tests."""

    lookup: LookupPoint
    model: np.ndarray


def verify_file(proof_file: ProofFile) -> dict[str, Any]:
    """Check a hidden-weights range proof file; return its public statement."""
    return rejecting_malformed(lambda checked: _verify(checked)[0], proof_file)


def revealed_points(proof_file: ProofFile) -> RevealedPoints:
    """Verify, and return the points at which the proof's values of M2 are claimed."""
    return rejecting_malformed(lambda checked: _verify(checked)[1], proof_file)


def _verify(proof_file: ProofFile) -> tuple[dict[str, Any], RevealedPoints]:
    params = read_parameters(proof_file.parameters)
    statement, model = read_statement(proof_file.statement)
    commitment = statement.weight_commitment
    layout, regions = derived_layout(model, commitment.params)
    _check_model_commitment(commitment, layout, params)
    lookup = _lookup(regions)
    proof_file.check_soundness(proof_bits(params, regions, commitment), params.min_soundness_bits)
    proof = HiddenRangeProof.from_bytes(
        proof_file.body, lookup, protocol.tie_vars(regions), params.pcs, commitment
    )
    for sumcheck in (proof.lookup, proof.tie):
        _check_mask_shape(sumcheck, params.pcs)
    transcript = protocol.start_transcript(proof_file.digest, proof_file.parameters)
    protocol.absorb_multiplicities(transcript, proof.multiplicity_commitment.to_bytes())
    replay = verify_core(lookup, proof.helper_commitment, proof.lookup, transcript, params.pcs)
    finals = _elements(proof.finals, FINALS, "final values")
    check_core(
        lookup, replay, [finals[:, 0]], finals[:, 1], [finals[:, i] for i in range(2, FINALS)]
    )
    protocol.absorb_finals(transcript, finals)
    point = LookupPoint.split(replay.point, regions)
    tie_point, expected = verify_zk(
        proof.tie,
        protocol.tie_vars(regions),
        protocol.TIE_DEGREE,
        protocol.tie_claim(finals[:, 0], point.padding_weight),
        transcript,
        TensorPcsMaskScheme(params.pcs),
        label=protocol.TIE_LABEL,
    )
    model_value = _elements(proof.model_value.reshape(ext.DEGREE, 1), 1, "model value")
    protocol.absorb_model_value(transcript, model_value[:, 0])
    weight = protocol.tie_weight(point, tie_point, regions)
    if not ext.equal(ext.mul(weight, model_value[:, 0]), expected):
        raise VerificationError(
            Reject.FINAL_EVALUATION_MISMATCH,
            "the tie's last round disagrees with the model's value at its point",
        )
    model_point = protocol.model_point(tie_point, point)
    pcs.batch_verify(
        [
            (proof.multiplicity_commitment, replay.point, finals[:, 1:2]),
            (proof.helper_commitment, replay.point, finals[:, 2:]),
            (commitment, model_point, model_value),
        ],
        proof.opening,
        transcript,
        params.pcs,
    )
    checked = summary(statement, model, layout, regions, 0, proof_file.soundness_bits)
    checked.update(weights_hidden=True, zero_knowledge=True)
    return checked, RevealedPoints(point, model_point)


def _check_model_commitment(
    commitment: Commitment, layout: WeightLayout, params: ProofParameters
) -> None:
    if commitment.params != params.pcs:
        raise VerificationError(Reject.PARAMETER_MISMATCH, "the weights use other parameters")
    shape_ok = (
        commitment.hiding
        and commitment.num_polynomials == 1
        and commitment.mask_groups == 1
        and commitment.num_vars == layout.log_size + 1
    )
    if not shape_ok:
        raise VerificationError(
            Reject.STATEMENT_MISMATCH,
            f"the weight commitment is not one hiding doubled table of 2^{layout.log_size + 1} "
            "entries opened at one point",
        )


def _lookup(regions: WeightRegions) -> ZkLookupStatement:
    try:
        return protocol.lookup_statement(regions.num_vars)
    except ValueError as error:
        raise VerificationError(Reject.UNSUPPORTED_CIRCUIT, str(error)) from None


def _check_mask_shape(sumcheck: ZkSumcheckProof, params: PCSParams) -> None:
    """A mask committed in the default shape, which the soundness is computed for."""
    commitment = sumcheck.mask_commitment
    if commitment.row_vars != params.row_vars(commitment.num_vars) or commitment.tickets != 1:
        raise VerificationError(
            Reject.PARAMETER_MISMATCH, "a mask commitment of another shape than the default"
        )


def _elements(values: np.ndarray, count: int, what: str) -> np.ndarray:
    array = np.asarray(values)
    if array.shape != (ext.DEGREE, count) or array.dtype.kind not in "iu":
        raise VerificationError(
            Reject.LENGTH_OUT_OF_BOUNDS, f"{what} of shape {array.shape}, not (4, {count})"
        )
    array = array.astype(np.int64)
    if not base.is_canonical(array):
        raise VerificationError(Reject.NON_CANONICAL_FIELD_ELEMENT, f"{what}: not below p")
    return array


def describe(proof_file: ProofFile) -> dict[str, Any]:
    """What a hidden-weights range proof claims, read from its statement without checking the
    proof (for ``veriml inspect``); VerificationError when the statement is malformed."""
    try:
        statement, model = read_statement(proof_file.statement)
        _, regions = derived_layout(model, statement.weight_commitment.params)
    except MALFORMED_INPUT_ERRORS as error:
        raise VerificationError(Reject.MALFORMED, f"{type(error).__name__}: {error}") from None
    return _claim(statement, regions)


def _claim(statement: Statement, regions: WeightRegions) -> dict[str, Any]:
    return {**claim(statement, regions), "weights_hidden": True, "zero_knowledge": True}

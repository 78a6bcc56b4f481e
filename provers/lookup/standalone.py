"""The lookup on its own: commit the witness and m with the tensor-code PCS, prove, open.

    commit W = (a_{0,0}, …, a_{L−1,w−1}) in one tree and m in another; run the logUp-GKR
    lookup bound to both commitments; open W at the witness point and m at the table point in
    one batch opening, continuing the same transcript.

For tests, benchmarks and callers that have no commitment of their own; a circuit prover uses
:func:`provers.lookup.prover.prove_as_subprotocol` and settles the claims in its own opening.
Not zero knowledge: the layer sumchecks are unmasked and their claims depend on the witness, so
the commitments are non-hiding too.
"""

from __future__ import annotations

from collections.abc import Sequence

from provers.commit import pcs
from provers.commit.pcs.params import PCSParams
from provers.commit.pcs.proof import MAX_POLYNOMIALS, Commitment
from provers.errors import ProverError, Reject, VerificationError
from provers.field import ext
from provers.field.backend import to_numpy
from provers.lookup.multiplicities import Lookup, compute_multiplicities, normalise_lookups
from provers.lookup.proof import StandaloneLookupProof
from provers.lookup.prover import prove_as_subprotocol
from provers.lookup.statement import LookupStatement
from provers.lookup.verifier import verify_as_subprotocol
from provers.transcript import Transcript

DOMAIN = "veriml/lookup/v1"


def prove(
    statement: LookupStatement,
    lookups: Sequence[Lookup],
    params: PCSParams | None = None,
) -> StandaloneLookupProof:
    """Commit, prove and open on a fresh transcript (domain ``veriml/lookup/v1``).

    Absorbs: what :func:`prove_as_subprotocol` absorbs, with the two commitments' encodings as
    the witness and multiplicity commitments; then what the PCS batch opening absorbs.
    """
    if statement.num_witness_evaluations > MAX_POLYNOMIALS:
        raise ProverError(
            f"{statement.num_witness_evaluations} witness vectors; one commitment holds at most "
            f"{MAX_POLYNOMIALS}"
        )
    columns = normalise_lookups(statement, lookups)
    multiplicities = compute_multiplicities(statement, columns)
    flat = [to_numpy(column) for lookup in columns for column in lookup]
    witness_commitment, witness_data = pcs.commit_many(flat, params)
    multiplicity_commitment, multiplicity_data = pcs.commit(multiplicities, params)
    transcript = Transcript(DOMAIN)
    proof, claims = prove_as_subprotocol(
        statement,
        columns,
        multiplicities,
        transcript,
        witness_commitment.to_bytes(),
        multiplicity_commitment.to_bytes(),
    )
    values, opening = pcs.batch_open(
        [
            (witness_data, claims.witness_point),
            (multiplicity_data, claims.multiplicity_point),
        ],
        transcript,
    )
    if not ext.equal(values[0], claims.witness_values):
        raise ProverError("the opened witness differs from the lookup's claims")
    return StandaloneLookupProof(witness_commitment, multiplicity_commitment, proof, opening)


def _check_commitment_shape(
    commitment: object, num_vars: int, num_polynomials: int, what: str
) -> Commitment:
    if not isinstance(commitment, Commitment):
        raise VerificationError(Reject.MALFORMED, f"{what} is not a commitment")
    if commitment.num_vars != num_vars or commitment.num_polynomials != num_polynomials:
        raise VerificationError(
            Reject.STATEMENT_MISMATCH,
            f"{what} holds {commitment.num_polynomials} tables of 2^{commitment.num_vars}, "
            f"the statement needs {num_polynomials} of 2^{num_vars}",
        )
    return commitment


def verify(
    statement: LookupStatement,
    proof: StandaloneLookupProof,
    params: PCSParams | None = None,
) -> None:
    """Check a proof made by :func:`prove`; raises VerificationError, returns None if valid.

    Absorbs exactly what :func:`prove` absorbs. ``params`` (default: the PCS defaults) are the
    commitment parameters the verifier insists on.
    """
    if not isinstance(proof, StandaloneLookupProof):
        raise VerificationError(Reject.MALFORMED, "not a standalone lookup proof")
    statement.validate()
    witness = _check_commitment_shape(
        proof.witness_commitment,
        statement.log_length,
        statement.num_witness_evaluations,
        "witness commitment",
    )
    multiplicity = _check_commitment_shape(
        proof.multiplicity_commitment, statement.table.log_size, 1, "multiplicity commitment"
    )
    transcript = Transcript(DOMAIN)
    claims = verify_as_subprotocol(
        statement, proof.lookup, transcript, witness.to_bytes(), multiplicity.to_bytes()
    )
    requests = [
        (witness, claims.witness_point, claims.witness_values),
        (multiplicity, claims.multiplicity_point, claims.multiplicity_value.reshape(4, 1)),
    ]
    pcs.batch_verify(requests, proof.opening, transcript, params or PCSParams.default())

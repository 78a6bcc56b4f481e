"""The self-contained lookup (provers/lookup/standalone.py): witness and multiplicities
committed with the tensor-code PCS and opened at the lookup's claims."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import lru_cache

import numpy as np
import pytest

from provers.commit import pcs
from provers.errors import ProverError, Reject, VerificationError
from provers.field import base
from provers.lookup import standalone
from provers.lookup.multiplicities import compute_multiplicities
from provers.lookup.proof import StandaloneLookupProof
from provers.lookup.prover import prove_as_subprotocol
from provers.lookup.statement import LookupStatement
from provers.lookup.table import range_table
from provers.transcript import Transcript
from tests.provers.test_lookup import (
    random_range_witness,
    requantise_table,
    requantise_witness,
)

STATEMENT = LookupStatement(requantise_table(4), 2, 5)


@lru_cache(maxsize=1)
def honest_proof() -> StandaloneLookupProof:
    witness = requantise_witness(2, 5, 4, np.random.default_rng(21))
    return standalone.prove(STATEMENT, witness)


@pytest.mark.parametrize(
    ("num_lookups", "log_length", "log_size"), [(1, 0, 1), (1, 3, 2), (3, 6, 5), (2, 8, 8)]
)
def test_a_self_contained_lookup_round_trips(
    num_lookups: int, log_length: int, log_size: int
) -> None:
    rng = np.random.default_rng(num_lookups * 100 + log_length * 10 + log_size)
    statement = LookupStatement(range_table(log_size), num_lookups, log_length)
    proof = standalone.prove(
        statement, random_range_witness(num_lookups, log_length, log_size, rng)
    )
    decoded = StandaloneLookupProof.from_bytes(proof.to_bytes())
    assert decoded.to_bytes() == proof.to_bytes()
    standalone.verify(statement, decoded)


def test_pairs_round_trip_in_the_self_contained_mode() -> None:
    standalone.verify(STATEMENT, StandaloneLookupProof.from_bytes(honest_proof().to_bytes()))


def test_a_witness_equal_to_its_multiplicities_shares_one_opening() -> None:
    statement = LookupStatement(range_table(2), 1, 2)
    proof = standalone.prove(statement, [[np.array([1, 2, 1, 0], dtype=np.int64)]])
    assert proof.opened_commitments()[1] == [2]
    standalone.verify(statement, StandaloneLookupProof.from_bytes(proof.to_bytes()))


def test_the_self_contained_prover_refuses_a_value_outside_the_table() -> None:
    statement = LookupStatement(range_table(2), 1, 1)
    with pytest.raises(ProverError, match="not in"):
        standalone.prove(statement, [[np.array([1, 4], dtype=np.int64)]])


def test_claims_about_another_witness_than_the_committed_one_are_rejected() -> None:
    """The cheater commits a witness with a value outside the table, then runs the lookup on an
    edited witness that is inside it; the opening of the real commitment gives it away."""
    statement = LookupStatement(range_table(3), 1, 3)
    outside = np.array([1, 2, 9, 3, 0, 7, 7, 5], dtype=np.int64)
    inside = np.where(outside == 9, 4, outside)
    multiplicities = compute_multiplicities(statement, [[inside]])
    witness_commitment, witness_data = pcs.commit(outside)
    multiplicity_commitment, multiplicity_data = pcs.commit(multiplicities)
    transcript = Transcript(standalone.DOMAIN)
    lookup, claims = prove_as_subprotocol(
        statement,
        [[inside]],
        multiplicities,
        transcript,
        witness_commitment.to_bytes(),
        multiplicity_commitment.to_bytes(),
    )
    _, opening = pcs.batch_open(
        [(witness_data, claims.witness_point), (multiplicity_data, claims.multiplicity_point)],
        transcript,
    )
    forged = StandaloneLookupProof(witness_commitment, multiplicity_commitment, lookup, opening)
    with pytest.raises(VerificationError) as caught:
        standalone.verify(statement, forged)
    assert caught.value.reason is Reject.EVALUATION_MISMATCH


def _recommitted_multiplicities(proof: StandaloneLookupProof) -> StandaloneLookupProof:
    other, _ = pcs.commit(np.arange(16, dtype=np.int64))
    return dataclasses.replace(proof, multiplicity_commitment=other)


def _recommitted_witness(proof: StandaloneLookupProof) -> StandaloneLookupProof:
    other, _ = pcs.commit_many([np.arange(32, dtype=np.int64)] * 4)
    return dataclasses.replace(proof, witness_commitment=other)


def _other_opening(proof: StandaloneLookupProof) -> StandaloneLookupProof:
    tree = proof.opening.trees[0]
    rows = tree.evaluation_rows.copy()
    rows[0, 0, 0] = (rows[0, 0, 0] + 1) % base.P
    edited = dataclasses.replace(tree, evaluation_rows=rows)
    opening = dataclasses.replace(proof.opening, trees=(edited, *proof.opening.trees[1:]))
    return dataclasses.replace(proof, opening=opening)


def _edited_multiplicity_claim(proof: StandaloneLookupProof) -> StandaloneLookupProof:
    claim = proof.lookup.multiplicity_evaluation.copy()
    claim[0] = (claim[0] + 1) % base.P
    lookup = dataclasses.replace(proof.lookup, multiplicity_evaluation=claim)
    return dataclasses.replace(proof, lookup=lookup)


Tamper = Callable[[StandaloneLookupProof], StandaloneLookupProof]

TAMPERS: dict[str, tuple[Tamper, Reject]] = {
    "witness_commitment_of_another_shape": (
        lambda p: dataclasses.replace(p, witness_commitment=p.multiplicity_commitment),
        Reject.STATEMENT_MISMATCH,
    ),
    "multiplicity_commitment_of_another_shape": (
        lambda p: dataclasses.replace(p, multiplicity_commitment=p.witness_commitment),
        Reject.STATEMENT_MISMATCH,
    ),
    "multiplicities_recommitted": (_recommitted_multiplicities, Reject.ROUND_SUM_MISMATCH),
    "witness_recommitted": (_recommitted_witness, Reject.ROUND_SUM_MISMATCH),
    "opening_evaluation_row_plus_one": (_other_opening, Reject.EVALUATION_MISMATCH),
    "multiplicity_claim_edited": (_edited_multiplicity_claim, Reject.FINAL_EVALUATION_MISMATCH),
}


@pytest.mark.parametrize("case", sorted(TAMPERS))
def test_verify_rejects_a_tampered_self_contained_proof(case: str) -> None:
    tamper, reason = TAMPERS[case]
    with pytest.raises(VerificationError) as caught:
        standalone.verify(STATEMENT, tamper(honest_proof()))
    assert caught.value.reason is reason, caught.value


def test_self_contained_bytes_reject_truncation_and_extension() -> None:
    data = honest_proof().to_bytes()
    with pytest.raises(VerificationError) as caught:
        StandaloneLookupProof.from_bytes(data + b"\x01")
    assert caught.value.reason is Reject.TRAILING_BYTES
    with pytest.raises(VerificationError) as caught:
        StandaloneLookupProof.from_bytes(data[:-5])
    assert caught.value.reason is Reject.TRUNCATED


def test_hostile_self_contained_bytes_raise_only_verification_errors() -> None:
    rng = np.random.default_rng(31)
    data = honest_proof().to_bytes()
    for _ in range(60):
        mutated = bytearray(data)
        for _ in range(int(rng.integers(1, 4))):
            mutated[int(rng.integers(0, len(mutated)))] = int(rng.integers(0, 256))
        if bytes(mutated) == data:
            continue
        with pytest.raises(VerificationError):
            standalone.verify(STATEMENT, StandaloneLookupProof.from_bytes(bytes(mutated)))

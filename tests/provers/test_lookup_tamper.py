"""Rejection tests of the lookup verifier: a seeded tamper table with one named case per proof
field, each expecting its own reason, and hostile bytes that may only raise VerificationError."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import lru_cache

import numpy as np
import pytest

from provers.errors import Reject, VerificationError
from provers.field import base
from provers.lookup.proof import LayerProof, LookupProof, TreeProof
from provers.lookup.statement import LookupStatement
from provers.lookup.table import function_table
from provers.lookup.verifier import verify_as_subprotocol
from provers.sumcheck.proof import SumcheckProof
from provers.transcript import Transcript
from tests.provers.test_lookup import (
    DOMAIN,
    MULTIPLICITY_COMMITMENT,
    WITNESS_COMMITMENT,
    prove_honestly,
    requantise_table,
    requantise_witness,
)

STATEMENT = LookupStatement(requantise_table(4), 3, 4)
"""Three pair lookups of 16 rows: witness tree depth 6 (padded to 4 lookups), table depth 4."""

OTHER_TABLE = function_table(4, np.arange(16), offset=-8)
"""The same shape as STATEMENT's table, other outputs."""


@lru_cache(maxsize=1)
def honest_proof() -> LookupProof:
    witness = requantise_witness(3, 4, 4, np.random.default_rng(7))
    return prove_honestly(STATEMENT, witness)[0]


def _plus_one(values: np.ndarray, index: tuple[int, ...]) -> np.ndarray:
    out = values.copy()
    out[index] = (out[index] + 1) % base.P
    return out


def _with_layer(tree: TreeProof, index: int, layer: LayerProof) -> TreeProof:
    layers = list(tree.layers)
    layers[index] = layer
    return TreeProof(tree.root, tuple(layers))


def _edit_claims(tree: TreeProof, index: int, claim: int) -> TreeProof:
    layer = tree.layers[index]
    return _with_layer(
        tree, index, LayerProof(layer.sumcheck, _plus_one(layer.child_claims, (0, claim)))
    )


def _edit_rounds(
    tree: TreeProof, index: int, edit: Callable[[np.ndarray], np.ndarray]
) -> TreeProof:
    layer = tree.layers[index]
    rounds = edit(layer.sumcheck.round_polys.copy())
    return _with_layer(tree, index, LayerProof(SumcheckProof(rounds), layer.child_claims))


def _swap_first_rounds(rounds: np.ndarray) -> np.ndarray:
    rounds[[0, 1]] = rounds[[1, 0]]
    return rounds


def _witness(proof: LookupProof, tree: TreeProof) -> LookupProof:
    return dataclasses.replace(proof, witness_tree=tree)


def _table(proof: LookupProof, tree: TreeProof) -> LookupProof:
    return dataclasses.replace(proof, table_tree=tree)


def _root(tree: TreeProof, edit: Callable[[np.ndarray], np.ndarray]) -> TreeProof:
    return TreeProof(edit(tree.root.copy()), tree.layers)


def _zero_denominator(root: np.ndarray) -> np.ndarray:
    root[:, 1] = 0
    return root


def _double_both(root: np.ndarray) -> np.ndarray:
    """The same fraction 2p/2q: passes the root comparison, not the root layer."""
    return (root * 2) % base.P


Tamper = Callable[[LookupProof], LookupProof]

TAMPERS: dict[str, tuple[Tamper, Reject]] = {
    "multiplicity_claim_plus_one": (
        lambda p: dataclasses.replace(
            p, multiplicity_evaluation=_plus_one(p.multiplicity_evaluation, (0,))
        ),
        Reject.FINAL_EVALUATION_MISMATCH,
    ),
    "witness_claim_plus_one": (
        lambda p: dataclasses.replace(
            p, witness_evaluations=_plus_one(p.witness_evaluations, (2, 3))
        ),
        Reject.FINAL_EVALUATION_MISMATCH,
    ),
    "witness_claim_missing": (
        lambda p: dataclasses.replace(p, witness_evaluations=p.witness_evaluations[:, :-1]),
        Reject.LENGTH_OUT_OF_BOUNDS,
    ),
    "witness_root_numerator_plus_one": (
        lambda p: _witness(p, _root(p.witness_tree, lambda r: _plus_one(r, (0, 0)))),
        Reject.LOOKUP_SUM_MISMATCH,
    ),
    "table_root_numerator_plus_one": (
        lambda p: _table(p, _root(p.table_tree, lambda r: _plus_one(r, (1, 0)))),
        Reject.LOOKUP_SUM_MISMATCH,
    ),
    "witness_root_denominator_zero": (
        lambda p: _witness(p, _root(p.witness_tree, _zero_denominator)),
        Reject.LOOKUP_DENOMINATOR_ZERO,
    ),
    "table_root_denominator_zero": (
        lambda p: _table(p, _root(p.table_tree, _zero_denominator)),
        Reject.LOOKUP_DENOMINATOR_ZERO,
    ),
    "root_scaled_to_an_equal_fraction": (
        lambda p: _witness(p, _root(p.witness_tree, _double_both)),
        Reject.LOOKUP_LAYER_MISMATCH,
    ),
    "root_layer_claim_plus_one": (
        lambda p: _witness(p, _edit_claims(p.witness_tree, 0, 2)),
        Reject.LOOKUP_LAYER_MISMATCH,
    ),
    "layer_claimed_numerator_plus_one": (
        lambda p: _witness(p, _edit_claims(p.witness_tree, 3, 1)),
        Reject.LOOKUP_LAYER_MISMATCH,
    ),
    "layer_claimed_denominator_plus_one": (
        lambda p: _table(p, _edit_claims(p.table_tree, 2, 3)),
        Reject.LOOKUP_LAYER_MISMATCH,
    ),
    "leaf_layer_claim_plus_one": (
        lambda p: _witness(p, _edit_claims(p.witness_tree, 5, 0)),
        Reject.LOOKUP_LAYER_MISMATCH,
    ),
    "layer_round_message_plus_one": (
        lambda p: _witness(p, _edit_rounds(p.witness_tree, 3, lambda r: _plus_one(r, (1, 0, 0)))),
        Reject.ROUND_SUM_MISMATCH,
    ),
    "layer_last_round_off_the_sum_nodes": (
        lambda p: _table(p, _edit_rounds(p.table_tree, 3, lambda r: _plus_one(r, (2, 1, 3)))),
        Reject.LOOKUP_LAYER_MISMATCH,
    ),
    "layer_round_messages_swapped": (
        lambda p: _witness(p, _edit_rounds(p.witness_tree, 4, _swap_first_rounds)),
        Reject.ROUND_SUM_MISMATCH,
    ),
    "layer_round_dropped": (
        lambda p: _witness(p, _edit_rounds(p.witness_tree, 4, lambda r: r[:-1])),
        Reject.ROUND_COUNT_MISMATCH,
    ),
    "witness_layers_truncated": (
        lambda p: _witness(p, TreeProof(p.witness_tree.root, p.witness_tree.layers[:-1])),
        Reject.LOOKUP_LAYER_MISMATCH,
    ),
    "table_layer_appended": (
        lambda p: _table(
            p, TreeProof(p.table_tree.root, (*p.table_tree.layers, p.table_tree.layers[-1]))
        ),
        Reject.LOOKUP_LAYER_MISMATCH,
    ),
    "layer_claim_not_canonical": (
        lambda p: _witness(
            p,
            _with_layer(
                p.witness_tree,
                2,
                LayerProof(
                    p.witness_tree.layers[2].sumcheck,
                    np.full((4, 4), base.P, dtype=np.int64),
                ),
            ),
        ),
        Reject.NON_CANONICAL_FIELD_ELEMENT,
    ),
    "trees_swapped": (
        lambda p: dataclasses.replace(p, witness_tree=p.table_tree, table_tree=p.witness_tree),
        Reject.LOOKUP_LAYER_MISMATCH,
    ),
}


@pytest.mark.parametrize("case", sorted(TAMPERS))
def test_verify_rejects_a_tampered_proof_field(case: str) -> None:
    tamper, reason = TAMPERS[case]
    with pytest.raises(VerificationError) as caught:
        verify_as_subprotocol(
            STATEMENT,
            tamper(honest_proof()),
            Transcript(DOMAIN),
            WITNESS_COMMITMENT,
            MULTIPLICITY_COMMITMENT,
        )
    assert caught.value.reason is reason, caught.value


@pytest.mark.parametrize(
    ("case", "statement", "witness_commitment", "multiplicity_commitment", "reason"),
    [
        (
            "other_multiplicity_commitment",
            STATEMENT,
            WITNESS_COMMITMENT,
            b"other",
            Reject.ROUND_SUM_MISMATCH,
        ),
        (
            "other_witness_commitment",
            STATEMENT,
            b"other",
            MULTIPLICITY_COMMITMENT,
            Reject.ROUND_SUM_MISMATCH,
        ),
        (
            "other_table_same_shape",
            LookupStatement(OTHER_TABLE, 3, 4),
            WITNESS_COMMITMENT,
            MULTIPLICITY_COMMITMENT,
            Reject.ROUND_SUM_MISMATCH,
        ),
        (
            "longer_witness",
            LookupStatement(requantise_table(4), 3, 5),
            WITNESS_COMMITMENT,
            MULTIPLICITY_COMMITMENT,
            Reject.LOOKUP_LAYER_MISMATCH,
        ),
        (
            "fewer_lookups",
            LookupStatement(requantise_table(4), 2, 4),
            WITNESS_COMMITMENT,
            MULTIPLICITY_COMMITMENT,
            Reject.LOOKUP_LAYER_MISMATCH,
        ),
        (
            "too_many_entries",
            LookupStatement(requantise_table(4), 3, 29),
            WITNESS_COMMITMENT,
            MULTIPLICITY_COMMITMENT,
            Reject.PARAMETER_MISMATCH,
        ),
    ],
)
def test_verify_rejects_a_proof_against_another_statement(
    case: str,
    statement: LookupStatement,
    witness_commitment: bytes,
    multiplicity_commitment: bytes,
    reason: Reject,
) -> None:
    with pytest.raises(VerificationError) as caught:
        verify_as_subprotocol(
            statement,
            honest_proof(),
            Transcript(DOMAIN),
            witness_commitment,
            multiplicity_commitment,
        )
    assert caught.value.reason is reason, case


# --- encoding -----------------------------------------------------------------------------


def test_the_encoding_round_trips_and_is_canonical() -> None:
    data = honest_proof().to_bytes()
    decoded = LookupProof.from_bytes(data)
    assert decoded.equals(honest_proof())
    assert decoded.to_bytes() == data


def test_from_bytes_rejects_extended_bytes() -> None:
    with pytest.raises(VerificationError) as caught:
        LookupProof.from_bytes(honest_proof().to_bytes() + b"\x00")
    assert caught.value.reason is Reject.TRAILING_BYTES


@pytest.mark.parametrize("cut", [1, 4, 17, 100, 1000])
def test_from_bytes_rejects_truncated_bytes(cut: int) -> None:
    data = honest_proof().to_bytes()
    with pytest.raises(VerificationError) as caught:
        LookupProof.from_bytes(data[: len(data) - cut])
    assert caught.value.reason is Reject.TRUNCATED


def test_from_bytes_rejects_a_layer_count_above_the_bound() -> None:
    data = bytearray(honest_proof().to_bytes())
    layer_count_offset = 4 + 2 * 16
    data[layer_count_offset : layer_count_offset + 4] = (31).to_bytes(4, "little")
    with pytest.raises(VerificationError) as caught:
        LookupProof.from_bytes(bytes(data))
    assert caught.value.reason is Reject.LENGTH_OUT_OF_BOUNDS


def test_hostile_bytes_raise_only_verification_errors() -> None:
    rng = np.random.default_rng(11)
    data = honest_proof().to_bytes()
    for trial in range(150):
        mutated = bytearray(data)
        if trial % 3 == 0:
            mutated = mutated[: int(rng.integers(0, len(data)))]
        for _ in range(int(rng.integers(1, 4))):
            if mutated:
                mutated[int(rng.integers(0, len(mutated)))] = int(rng.integers(0, 256))
        if trial % 5 == 0:
            mutated += bytes(rng.integers(0, 256, size=int(rng.integers(1, 9))).tolist())
        if bytes(mutated) == data:
            continue
        with pytest.raises(VerificationError):
            proof = LookupProof.from_bytes(bytes(mutated))
            verify_as_subprotocol(
                STATEMENT, proof, Transcript(DOMAIN), WITNESS_COMMITMENT, MULTIPLICITY_COMMITMENT
            )


def test_random_bytes_raise_only_verification_errors() -> None:
    rng = np.random.default_rng(12)
    for size in [0, 1, 3, 8, 40, 41, 400]:
        with pytest.raises(VerificationError):
            LookupProof.from_bytes(bytes(rng.integers(0, 256, size=size).tolist()))

"""Acceptance tests of the logUp-GKR lookup argument (provers/lookup): honest round trips,
brute-force checks of the fraction tree, and provers that try to cheat."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import numpy as np
import pytest

from provers.errors import ProverError, Reject, VerificationError
from provers.field import base, ext
from provers.lookup import transcript_steps as steps
from provers.lookup.bench import benchmark_lookup
from provers.lookup.fraction_tree import build_tree, table_leaves, witness_leaf_denominators
from provers.lookup.multiplicities import compute_multiplicities
from provers.lookup.proof import LookupProof
from provers.lookup.prover import prove_as_subprotocol, prove_tree
from provers.lookup.statement import LookupClaims, LookupStatement
from provers.lookup.table import LookupTable, explicit_table, function_table, range_table
from provers.lookup.verifier import verify_as_subprotocol
from provers.poly import multilinear
from provers.transcript import Transcript

DOMAIN = "test/lookup"
WITNESS_COMMITMENT = b"witness-commitment"
MULTIPLICITY_COMMITMENT = b"multiplicity-commitment"

Witness = list[list[np.ndarray]]


class RecordingTranscript(Transcript):
    """A transcript that keeps every challenge it hands out, to compare prover and verifier."""

    def __init__(self, domain: str) -> None:
        super().__init__(domain)
        self.challenges: list[tuple[str, np.ndarray]] = []

    def challenge_exts(self, label: str, n: int) -> np.ndarray:
        values = super().challenge_exts(label, n)
        self.challenges.append((label, values.copy()))
        return values


def random_range_witness(
    num_lookups: int, log_length: int, log_size: int, rng: np.random.Generator
) -> Witness:
    return [
        [rng.integers(0, 1 << log_size, size=1 << log_length, dtype=np.int64)]
        for _ in range(num_lookups)
    ]


def requantise(values: np.ndarray) -> np.ndarray:
    """A requantise+ReLU map of int8-like inputs: max(0, round(x / 3))."""
    return np.maximum(0, np.round(values / 3)).astype(np.int64)


def requantise_table(log_size: int) -> LookupTable:
    offset = -(1 << (log_size - 1))
    inputs = np.arange(1 << log_size, dtype=np.int64) + offset
    return function_table(log_size, requantise(inputs), offset=offset, name="requantise")


def requantise_witness(
    num_lookups: int, log_length: int, log_size: int, rng: np.random.Generator
) -> Witness:
    half = 1 << (log_size - 1)
    witness = []
    for _ in range(num_lookups):
        inputs = rng.integers(-half, half, size=1 << log_length, dtype=np.int64)
        witness.append([base.from_signed(inputs), base.from_signed(requantise(inputs))])
    return witness


def prove_honestly(
    statement: LookupStatement, witness: Witness, transcript: Transcript | None = None
) -> tuple[LookupProof, LookupClaims, np.ndarray]:
    multiplicities = compute_multiplicities(statement, witness)
    proof, claims = prove_as_subprotocol(
        statement,
        witness,
        multiplicities,
        transcript or Transcript(DOMAIN),
        WITNESS_COMMITMENT,
        MULTIPLICITY_COMMITMENT,
    )
    return proof, claims, multiplicities


def verify(statement: LookupStatement, proof: LookupProof) -> LookupClaims:
    return verify_as_subprotocol(
        statement, proof, Transcript(DOMAIN), WITNESS_COMMITMENT, MULTIPLICITY_COMMITMENT
    )


def settle_claims(claims: LookupClaims, witness: Witness, multiplicities: np.ndarray) -> None:
    """What the caller's commitment openings check: each claim is the true MLE value."""
    for j, lookup in enumerate(witness):
        for c, column in enumerate(lookup):
            true_value = multilinear.evaluate(column, claims.witness_point)
            assert ext.equal(true_value, claims.witness_value(j, c))
    true_m = multilinear.evaluate(multiplicities, claims.multiplicity_point)
    assert ext.equal(true_m, claims.multiplicity_value)


def round_trip(statement: LookupStatement, witness: Witness) -> LookupProof:
    proof, prover_claims, multiplicities = prove_honestly(statement, witness)
    decoded = LookupProof.from_bytes(proof.to_bytes())
    verifier_claims = verify(statement, decoded)
    assert verifier_claims.equals(prover_claims)
    settle_claims(verifier_claims, witness, multiplicities)
    return proof


# --- honest round trips -------------------------------------------------------------------


@pytest.mark.parametrize("log_length", range(1, 11))
def test_a_single_vector_round_trips_at_every_length(log_length: int) -> None:
    log_size = (log_length - 1) % 8 + 1
    rng = np.random.default_rng(log_length)
    statement = LookupStatement(range_table(log_size), 1, log_length)
    round_trip(statement, random_range_witness(1, log_length, log_size, rng))


@pytest.mark.parametrize("log_size", range(1, 9))
def test_a_single_vector_round_trips_against_every_table_size(log_size: int) -> None:
    rng = np.random.default_rng(100 + log_size)
    statement = LookupStatement(range_table(log_size), 1, 5)
    round_trip(statement, random_range_witness(1, 5, log_size, rng))


@pytest.mark.parametrize("num_lookups", [2, 3, 4, 5])
def test_several_vectors_share_one_multiplicity_vector(num_lookups: int) -> None:
    rng = np.random.default_rng(200 + num_lookups)
    statement = LookupStatement(range_table(4), num_lookups, 3)
    witness = random_range_witness(num_lookups, 3, 4, rng)
    multiplicities = compute_multiplicities(statement, witness)
    assert int(multiplicities.sum()) == statement.padded_lookups << 3
    round_trip(statement, witness)


@pytest.mark.parametrize(("num_lookups", "log_length"), [(1, 1), (1, 6), (3, 4)])
def test_pairs_round_trip_against_a_requantisation_table(num_lookups: int, log_length: int) -> None:
    rng = np.random.default_rng(300 + num_lookups + log_length)
    statement = LookupStatement(requantise_table(6), num_lookups, log_length)
    round_trip(statement, requantise_witness(num_lookups, log_length, 6, rng))


def test_a_signed_range_and_an_explicit_unsorted_table_round_trip() -> None:
    rng = np.random.default_rng(400)
    signed = LookupStatement(range_table(5, offset=-16), 2, 4)
    values = rng.integers(-16, 16, size=(2, 16))
    round_trip(signed, [[base.from_signed(v)] for v in values])
    table_values = rng.permutation(1 << 20)[:8].astype(np.int64)
    explicit = LookupStatement(explicit_table([table_values]), 1, 4)
    round_trip(explicit, [[rng.choice(table_values, size=16)]])


def test_depth_zero_trees_round_trip() -> None:
    round_trip(LookupStatement(range_table(0, offset=7), 1, 0), [[np.array([7])]])
    round_trip(LookupStatement(range_table(1), 1, 0), [[np.array([1])]])


def test_prover_and_verifier_draw_the_same_challenges() -> None:
    rng = np.random.default_rng(500)
    statement = LookupStatement(requantise_table(4), 3, 3)
    witness = requantise_witness(3, 3, 4, rng)
    prover_transcript = RecordingTranscript(DOMAIN)
    proof, _, _ = prove_honestly(statement, witness, prover_transcript)
    verifier_transcript = RecordingTranscript(DOMAIN)
    verify_as_subprotocol(
        statement, proof, verifier_transcript, WITNESS_COMMITMENT, MULTIPLICITY_COMMITMENT
    )
    assert len(prover_transcript.challenges) == len(verifier_transcript.challenges) > 20
    for (p_label, p_value), (v_label, v_value) in zip(
        prover_transcript.challenges, verifier_transcript.challenges, strict=True
    ):
        assert p_label == v_label and ext.equal(p_value, v_value)
    assert prover_transcript.state == verifier_transcript.state


# --- the fraction tree against exact rational sums ----------------------------------------


def _field_of(fraction: Fraction) -> int:
    inverse = pow(fraction.denominator % base.P, base.P - 2, base.P)
    return fraction.numerator % base.P * inverse % base.P


def _assert_layer_sums(
    numerators: Sequence[Fraction],
    denominators: Sequence[int],
    tree_p: list[np.ndarray | None],
    tree_q: list[np.ndarray],
) -> None:
    """Entry x of layer i is Σ of the leaves whose low i index bits equal x."""
    depth = len(tree_q) - 1
    leaves = [n / d for n, d in zip(numerators, denominators, strict=True)]
    for layer in range(depth + 1):
        p_layer, q_layer = tree_p[layer], tree_q[layer]
        assert p_layer is not None and p_layer.ndim == 2
        for x in range(1 << layer):
            exact = sum((leaves[i] for i in range(x, 1 << depth, 1 << layer)), Fraction(0))
            p_value, q_value = int(p_layer[0, x]), int(q_layer[0, x])
            assert not p_layer[1:, x].any() and not q_layer[1:, x].any()
            assert p_value * pow(q_value, base.P - 2, base.P) % base.P == _field_of(exact)


@pytest.mark.parametrize("log_length", [1, 2, 3])
def test_the_fraction_tree_matches_exact_fraction_sums(log_length: int) -> None:
    rng = np.random.default_rng(600 + log_length)
    alpha_int = 1000 + log_length
    alpha = ext.from_base(np.array([alpha_int], dtype=np.int64))[:, 0]
    values = rng.integers(0, 8, size=(2, 1 << log_length), dtype=np.int64)
    denominators = witness_leaf_denominators([[values[0]], [values[1]]], 2, alpha, ext.zero())
    tree = build_tree(None, denominators)
    leaf_denominators = [alpha_int - int(v) for v in values.reshape(-1)]
    ones = [Fraction(1)] * len(leaf_denominators)
    _assert_layer_sums(
        ones,
        leaf_denominators,
        tree.numerators[:-1] + [ext.from_base(np.ones(len(ones), dtype=np.int64))],
        tree.denominators,
    )

    table = np.arange(1 << log_length, dtype=np.int64)
    multiplicities = rng.integers(0, 5, size=1 << log_length, dtype=np.int64)
    table_tree = build_tree(*table_leaves([table], multiplicities, alpha, ext.zero()))
    counts = [Fraction(int(m)) for m in multiplicities]
    _assert_layer_sums(
        counts,
        [alpha_int - int(t) for t in table],
        table_tree.numerators[:-1] + [ext.from_base(multiplicities)],
        table_tree.denominators,
    )


def test_pair_rows_are_compressed_as_input_plus_beta_times_output() -> None:
    alpha, beta = ext.random((), np.random.default_rng(1)), ext.random((), np.random.default_rng(2))
    inputs, outputs = np.array([3, 5], dtype=np.int64), np.array([7, 11], dtype=np.int64)
    denominators = witness_leaf_denominators([[inputs, outputs]], 1, alpha, beta)
    for i in range(2):
        row = ext.add(ext.from_base(inputs[i : i + 1])[:, 0], ext.mul_base(beta, outputs[i]))
        assert ext.equal(denominators[:, i], ext.sub(alpha, row))


# --- the honest prover refuses, a cheating prover is caught -------------------------------


def test_the_honest_prover_refuses_a_value_outside_the_table() -> None:
    statement = LookupStatement(range_table(3), 1, 2)
    with pytest.raises(ProverError, match="value 8 is not in"):
        compute_multiplicities(statement, [[np.array([1, 2, 8, 3], dtype=np.int64)]])


def test_the_honest_prover_refuses_a_pair_outside_the_table() -> None:
    statement = LookupStatement(requantise_table(4), 1, 1)
    wrong_output = [base.from_signed(np.array([6, -3])), base.from_signed(np.array([2, 1]))]
    with pytest.raises(ProverError, match=r"\(-3, 1\) is not in"):
        compute_multiplicities(statement, [wrong_output])


def test_the_honest_prover_refuses_multiplicities_that_do_not_balance() -> None:
    statement = LookupStatement(range_table(3), 1, 2)
    witness = [[np.array([1, 2, 2, 3], dtype=np.int64)]]
    forged = np.array([0, 1, 1, 1, 0, 0, 0, 1], dtype=np.int64)
    with pytest.raises(ProverError, match="do not balance"):
        prove_as_subprotocol(
            statement, witness, forged, Transcript(DOMAIN), b"w", MULTIPLICITY_COMMITMENT
        )


def _cheating_proof(
    statement: LookupStatement,
    true_witness: Witness,
    tree_witness: Witness,
    multiplicities: np.ndarray,
    replace_table_root: bool,
) -> LookupProof:
    """The honest prover's steps without its checks: trees built from ``tree_witness`` and
    forged multiplicities, evaluation claims from the true (committed) witness."""
    transcript = Transcript(DOMAIN)
    steps.absorb_statement(transcript, statement, WITNESS_COMMITMENT, MULTIPLICITY_COMMITMENT)
    alpha, beta = steps.draw_compression(transcript, statement.width)
    witness_tree = build_tree(
        None, witness_leaf_denominators(tree_witness, statement.padded_lookups, alpha, beta)
    )
    table_tree = build_tree(
        *table_leaves(statement.table.column_values(), multiplicities, alpha, beta)
    )
    witness_root = np.stack(witness_tree.root(), axis=1)
    table_root = witness_root if replace_table_root else np.stack(table_tree.root(), axis=1)
    steps.absorb_roots(transcript, witness_root, table_root)
    witness_proof, witness_point = prove_tree(witness_tree, transcript, "lookup/witness")
    table_proof, table_point = prove_tree(table_tree, transcript, "lookup/table")
    entry_point = witness_point[:, statement.selector_vars :]
    evaluations = np.stack(
        [multilinear.evaluate(c, entry_point) for lookup in true_witness for c in lookup], axis=1
    )
    table_proof = type(table_proof)(table_root, table_proof.layers)
    return LookupProof(
        witness_proof,
        table_proof,
        evaluations,
        multilinear.evaluate(multiplicities, table_point),
    )


@pytest.mark.parametrize(
    ("strategy", "reason"),
    [
        ("forged_multiplicities", Reject.LOOKUP_SUM_MISMATCH),
        ("copied_root", Reject.LOOKUP_LAYER_MISMATCH),
        ("edited_leaves", Reject.FINAL_EVALUATION_MISMATCH),
    ],
)
def test_a_forged_proof_for_a_value_outside_the_table_is_rejected(
    strategy: str, reason: Reject
) -> None:
    statement = LookupStatement(range_table(3), 1, 3)
    outside = np.array([1, 2, 9, 3, 0, 7, 7, 5], dtype=np.int64)
    inside = outside.copy()
    inside[2] = 4
    forged_m = np.bincount(inside, minlength=8).astype(np.int64)
    tree_witness = [[inside]] if strategy == "edited_leaves" else [[outside]]
    proof = _cheating_proof(
        statement, [[outside]], tree_witness, forged_m, strategy == "copied_root"
    )
    with pytest.raises(VerificationError) as caught:
        verify(statement, proof)
    assert caught.value.reason is reason


def test_torch_tensors_give_the_same_proof_as_numpy_arrays() -> None:
    torch = pytest.importorskip("torch")
    statement = LookupStatement(requantise_table(3), 3, 3)
    witness = requantise_witness(3, 3, 3, np.random.default_rng(800))
    expected, _, multiplicities = prove_honestly(statement, witness)
    tensors = [[torch.as_tensor(column) for column in lookup] for lookup in witness]
    proof, _ = prove_as_subprotocol(
        statement,
        tensors,
        torch.as_tensor(multiplicities),
        Transcript(DOMAIN),
        WITNESS_COMMITMENT,
        MULTIPLICITY_COMMITMENT,
    )
    assert proof.equals(expected)


def test_the_benchmark_runs_at_a_tiny_size() -> None:
    result = benchmark_lookup(4, 3)
    assert result["proof_bytes"] > 0 and result["prove_s"] >= 0 and result["verify_s"] >= 0


@pytest.mark.slow
def test_a_million_values_into_a_65536_row_table_round_trip() -> None:
    rng = np.random.default_rng(900)
    statement = LookupStatement(range_table(16), 1, 20)
    round_trip(statement, random_range_witness(1, 20, 16, rng))


def test_an_explicit_pair_table_gives_the_same_multiplicities_as_the_function_table() -> None:
    rng = np.random.default_rng(1000)
    function = requantise_table(4)
    inputs, outputs = function.column_values()
    order = rng.permutation(16)
    explicit = explicit_table([inputs[order], outputs[order]])
    witness = requantise_witness(2, 4, 4, rng)
    by_index = compute_multiplicities(LookupStatement(function, 2, 4), witness)
    by_search = compute_multiplicities(LookupStatement(explicit, 2, 4), witness)
    assert np.array_equal(by_search, by_index[order])
    round_trip(LookupStatement(explicit, 2, 4), witness)
    wrong = [witness[0][0], base.add(witness[0][1], np.ones(16, dtype=np.int64))]
    with pytest.raises(ProverError, match="is not in"):
        compute_multiplicities(LookupStatement(explicit, 1, 4), [wrong])


def test_a_table_with_repeated_rows_counts_them_on_the_first_copy() -> None:
    table = explicit_table([np.array([5, 3, 5, 9], dtype=np.int64)])
    statement = LookupStatement(table, 1, 2)
    witness = [[np.array([5, 5, 9, 5], dtype=np.int64)]]
    assert compute_multiplicities(statement, witness).tolist() == [3, 0, 0, 1]
    round_trip(statement, witness)

"""The tensor-code PCS: honest openings at many sizes and shapes, batches, parameters, bytes."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from provers.commit import pcs
from provers.commit.pcs import params as pcs_params
from provers.errors import Reject, VerificationError
from provers.field import base, ext
from provers.poly import multilinear
from provers.transcript import Transcript

P = base.P
DOMAIN = "veriml/test/pcs"


def brute_force_evaluation(table: np.ndarray, point: np.ndarray) -> np.ndarray:
    """Σ_b f[b]·Π_k eq(b_k, r_k) with x_1 the top index bit, term by term."""
    num_vars = point.shape[1]
    total = ext.zero()
    for index, bits in enumerate(itertools.product((0, 1), repeat=num_vars)):
        weight = ext.one()
        for k, bit in enumerate(bits):
            coordinate = point[:, k]
            weight = ext.mul(weight, coordinate if bit else ext.sub(ext.one(), coordinate))
        total = ext.add(total, ext.mul_base(weight, np.int64(table[index])))
    return total


def round_trip(
    commitment: pcs.Commitment,
    prover_data: pcs.ProverData,
    points: list[np.ndarray],
) -> tuple[list[np.ndarray], bytes]:
    values, proof = pcs.open(prover_data, points, Transcript(DOMAIN))
    data = proof.to_bytes()
    requests = [
        (commitment, point, v.reshape(4, 1)) for point, v in zip(points, values, strict=True)
    ]
    pcs.verify(commitment, points, values, pcs.proof_from_bytes(data, requests), Transcript(DOMAIN))
    return values, data


@pytest.mark.parametrize("num_vars", range(2, 15))
@pytest.mark.parametrize("hiding", [False, True], ids=["plain", "hiding"])
def test_an_honest_opening_verifies_and_gives_the_multilinear_value(
    num_vars: int, hiding: bool
) -> None:
    rng = np.random.default_rng(num_vars)
    table = base.random(1 << num_vars, rng)
    points = [ext.random(num_vars, rng) for _ in range(2)]
    commitment, prover_data = pcs.commit(table, hiding=hiding, rng=rng, max_points=2)
    values, _ = round_trip(commitment, prover_data, points)
    for point, value in zip(points, values, strict=True):
        assert ext.equal(value, multilinear.evaluate(table, point))


@pytest.mark.parametrize("num_vars", [0, 1, 2, 4])
def test_opened_values_match_the_brute_force_definition(num_vars: int) -> None:
    rng = np.random.default_rng(50 + num_vars)
    table = base.random(1 << num_vars, rng)
    point = ext.random(num_vars, rng)
    commitment, prover_data = pcs.commit(table)
    values, _ = round_trip(commitment, prover_data, [point])
    assert ext.equal(values[0], brute_force_evaluation(table, point))


@pytest.mark.parametrize(("num_vars", "row_vars"), [(6, 0), (6, 3), (6, 6), (9, 2), (9, 8)])
def test_every_matrix_shape_opens_correctly(num_vars: int, row_vars: int) -> None:
    rng = np.random.default_rng(num_vars * 10 + row_vars)
    table = base.random(1 << num_vars, rng)
    point = ext.random(num_vars, rng)
    commitment, prover_data = pcs.commit(table, row_vars=row_vars)
    assert commitment.row_vars == row_vars
    values, _ = round_trip(commitment, prover_data, [point])
    assert ext.equal(values[0], multilinear.evaluate(table, point))


def test_tables_with_edge_values_open_correctly() -> None:
    table = np.array([0, 1, P - 1, P - 2] * 16, dtype=np.int64)
    point = np.array([[0, 1, P - 1, 2, 0, 1]] * 4, dtype=np.int64)
    commitment, prover_data = pcs.commit(table, row_vars=2)
    values, _ = round_trip(commitment, prover_data, [point])
    assert ext.equal(values[0], multilinear.evaluate(table, point))


def test_one_proof_opens_several_trees_tables_and_points() -> None:
    rng = np.random.default_rng(11)
    stacked = [base.random(1 << 8, rng) for _ in range(3)]
    single = base.random(1 << 5, rng)
    hidden = base.random(1 << 7, rng)
    c_stacked, d_stacked = pcs.commit_many(stacked)
    c_single, d_single = pcs.commit(single)
    c_hidden, d_hidden = pcs.commit(hidden, hiding=True, rng=rng, max_points=2)
    points = {8: [ext.random(8, rng) for _ in range(2)], 5: [ext.random(5, rng)]}
    hidden_points = [ext.random(7, rng) for _ in range(2)]
    requests = [
        (d_stacked, points[8][0]),
        (d_hidden, hidden_points[0]),
        (d_single, points[5][0]),
        (d_stacked, points[8][1]),
        (d_hidden, hidden_points[1]),
    ]
    values, proof = pcs.batch_open(requests, Transcript(DOMAIN))
    expected = [
        [multilinear.evaluate(t, points[8][0]) for t in stacked],
        [multilinear.evaluate(hidden, hidden_points[0])],
        [multilinear.evaluate(single, points[5][0])],
        [multilinear.evaluate(t, points[8][1]) for t in stacked],
        [multilinear.evaluate(hidden, hidden_points[1])],
    ]
    for got, want in zip(values, expected, strict=True):
        assert ext.equal(got, np.stack(want, axis=1))
    commitments = [c_stacked, c_hidden, c_single, c_stacked, c_hidden]
    statement = [
        (c, point, v) for c, (_, point), v in zip(commitments, requests, values, strict=True)
    ]
    parsed = pcs.proof_from_bytes(proof.to_bytes(), statement)
    pcs.batch_verify(statement, parsed, Transcript(DOMAIN))


def test_prover_and_verifier_draw_the_same_challenges() -> None:
    rng = np.random.default_rng(12)
    table = base.random(1 << 10, rng)
    point = ext.random(10, rng)
    commitment, prover_data = pcs.commit(table)
    prover_transcript, verifier_transcript = Transcript(DOMAIN), Transcript(DOMAIN)
    opener = pcs.BatchOpener([(prover_data, point)], prover_transcript)
    opener.send_statement(opener.values)
    opener.send_mask_evaluations(opener.mask_evaluations())
    opener.send_evaluation_rows(opener.evaluation_rows())
    gamma = opener.draw_proximity_weights(0)
    opener.send_proximity_row(0, opener.proximity_row(0))
    proof = opener.open_columns()
    pcs.verify(commitment, [point], [opener.values[0][:, 0]], proof, verifier_transcript)
    assert prover_transcript.state == verifier_transcript.state
    assert gamma.shape == (4, commitment.num_rows)
    assert ext.equal(
        prover_transcript.challenge_ext("after"), verifier_transcript.challenge_ext("after")
    )


def test_the_default_parameters_give_at_least_100_bits_at_every_size() -> None:
    params = pcs.PCSParams.default()
    for num_vars in range(0, 31):
        for hiding in (False, True):
            assert pcs.pcs_soundness_bits(params, num_vars, hiding) >= 100


def test_the_soundness_formula_matches_its_closed_form_at_rate_one_half() -> None:
    # N = 2k: radius e = N/4, so each query passes a far word with probability 3/4 − 1/N.
    bits = pcs_params.soundness_bits_of_code(1 << 14, 1 << 15, 256)
    query_term = (1 - ((1 << 13) + 1) / (1 << 15)) ** 256
    field_term = ((1 << 15) + 1) / float(P) ** 4
    assert bits == pytest.approx(-np.log2(query_term + field_term))
    assert 105 < bits < 107


def test_the_shape_at_two_to_the_24_is_balanced_for_proof_size() -> None:
    params = pcs.PCSParams.default()
    assert params.row_vars(24) == 10
    assert pcs_params.codeword_len(14, params, hiding=False) == 1 << 15
    assert pcs_params.codeword_len(14, params, hiding=True) == 1 << 15


def test_commitment_bytes_round_trip() -> None:
    _, prover_data = pcs.commit(np.arange(64, dtype=np.int64), hiding=True, max_points=3)
    commitment = prover_data.commitment
    assert pcs.Commitment.from_bytes(commitment.to_bytes()) == commitment


@pytest.mark.parametrize(
    ("offset", "value", "reason"),
    [
        (32, 33, Reject.LENGTH_OUT_OF_BOUNDS),  # num_vars above the maximum
        (33, 7, Reject.LENGTH_OUT_OF_BOUNDS),  # row_vars above num_vars
        (34, 0, Reject.LENGTH_OUT_OF_BOUNDS),  # no tables
        (35, 2, Reject.LENGTH_OUT_OF_BOUNDS),  # hiding flag neither 0 nor 1
        (36, 0, Reject.MALFORMED),  # hiding without masks
        (37, 0, Reject.LENGTH_OUT_OF_BOUNDS),  # rate 1
    ],
    ids=["num_vars", "row_vars", "tables", "hiding flag", "mask groups", "rate"],
)
def test_commitment_from_bytes_rejects_non_canonical_fields(
    offset: int, value: int, reason: Reject
) -> None:
    _, prover_data = pcs.commit(np.arange(64, dtype=np.int64), hiding=True)
    data = bytearray(prover_data.commitment.to_bytes())
    data[offset] = value
    with pytest.raises(VerificationError) as caught:
        pcs.Commitment.from_bytes(bytes(data))
    assert caught.value.reason is reason


@pytest.mark.parametrize(
    ("change", "reason"),
    [(lambda d: d[:-1], Reject.TRUNCATED), (lambda d: d + b"\x00", Reject.TRAILING_BYTES)],
    ids=["truncated", "extended"],
)
def test_commitment_from_bytes_rejects_truncated_and_extended_bytes(change, reason) -> None:  # type: ignore[no-untyped-def]
    _, prover_data = pcs.commit(np.arange(16, dtype=np.int64))
    with pytest.raises(VerificationError) as caught:
        pcs.Commitment.from_bytes(change(prover_data.commitment.to_bytes()))
    assert caught.value.reason is reason


def test_a_commitment_with_too_few_queries_is_rejected_as_unsound() -> None:
    weak = pcs.PCSParams(num_queries=20, security_bits=10)
    table = np.arange(256, dtype=np.int64)
    point = ext.random(8, np.random.default_rng(0))
    commitment, prover_data = pcs.commit(table, weak)
    values, proof = pcs.open(prover_data, [point], Transcript(DOMAIN))
    with pytest.raises(VerificationError) as caught:
        pcs.verify(commitment, [point], values, proof, Transcript(DOMAIN))
    assert caught.value.reason is Reject.INSUFFICIENT_SOUNDNESS


def test_a_commitment_under_unexpected_parameters_is_rejected() -> None:
    other = pcs.PCSParams(num_queries=300)
    table = np.arange(256, dtype=np.int64)
    point = ext.random(8, np.random.default_rng(0))
    commitment, prover_data = pcs.commit(table, other)
    values, proof = pcs.open(prover_data, [point], Transcript(DOMAIN))
    pcs.verify(commitment, [point], values, proof, Transcript(DOMAIN))
    with pytest.raises(VerificationError) as caught:
        pcs.verify(commitment, [point], values, proof, Transcript(DOMAIN), pcs.PCSParams.default())
    assert caught.value.reason is Reject.PARAMETER_MISMATCH


def test_the_prover_refuses_bad_tables_and_points() -> None:
    with pytest.raises(ValueError):
        pcs.commit(np.arange(12, dtype=np.int64))
    with pytest.raises(ValueError):
        pcs.commit(np.array([P, 0], dtype=np.int64))
    _, prover_data = pcs.commit(np.arange(16, dtype=np.int64))
    with pytest.raises(ValueError):
        pcs.open(prover_data, [np.zeros((4, 3), dtype=np.int64)], Transcript(DOMAIN))


def test_the_benchmark_runs_at_a_tiny_size() -> None:
    from provers.commit.bench import benchmark_pcs

    result = benchmark_pcs(8)
    assert result["proof_bytes"] > 0
    assert float(result["soundness_bits"]) >= 100


@pytest.mark.slow
def test_a_table_of_two_to_the_20_values_meets_the_size_and_time_targets() -> None:
    from provers.commit.bench import benchmark_pcs

    result = benchmark_pcs(20)
    assert int(result["proof_bytes"]) < 2_000_000
    assert float(result["verify_s"]) < 0.2

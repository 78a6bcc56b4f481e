"""The PCS verifier rejects every altered proof part and every cheating prover, each for its
own reason; no malformed bytes make it raise anything but VerificationError."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pytest

from provers.commit import merkle, pcs
from provers.commit.pcs import prover as pcs_prover
from provers.errors import Reject, VerificationError
from provers.field import base, ext
from provers.poly import multilinear
from provers.transcript import Transcript

DOMAIN = "veriml/test/pcs-tamper"
NUM_VARS = 12
ROW_VARS = 2  # 4 × 1024: codewords of 2048 (4096 hiding) columns, of which 256 are opened


class Case(NamedTuple):
    """A statement and its proof bytes as the verifier receives them."""

    commitment: pcs.Commitment
    points: list[np.ndarray]
    values: list[np.ndarray]
    proof: pcs.OpeningProof
    domain: str = DOMAIN


def setup(hiding: bool, seed: int = 1) -> tuple[pcs.ProverData, list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    table = base.random(1 << NUM_VARS, rng)
    points = [ext.random(NUM_VARS, rng) for _ in range(2)]
    _, prover_data = pcs.commit(table, hiding=hiding, rng=rng, row_vars=ROW_VARS, max_points=2)
    return prover_data, points


def honest(hiding: bool = False) -> Case:
    prover_data, points = setup(hiding)
    values, proof = pcs.open(prover_data, points, Transcript(DOMAIN))
    return Case(prover_data.commitment, points, values, proof)


def check(case: Case, proof_bytes: bytes | None = None) -> None:
    """Parse the proof bytes against the statement, then verify: what a remote verifier does."""
    requests = [
        (case.commitment, p, v.reshape(4, 1)) for p, v in zip(case.points, case.values, strict=True)
    ]
    data = case.proof.to_bytes() if proof_bytes is None else proof_bytes
    parsed = pcs.proof_from_bytes(data, requests)
    pcs.verify(case.commitment, case.points, case.values, parsed, Transcript(case.domain))


def with_tree(case: Case, **changes: object) -> Case:
    tree = dataclasses.replace(case.proof.trees[0], **changes)
    return case._replace(proof=dataclasses.replace(case.proof, trees=(tree,)))


def plus_one(values: np.ndarray, index: tuple[int, ...]) -> np.ndarray:
    changed = values.copy()
    changed[index] = (changed[index] + 1) % base.P
    return changed


def orthogonal_to_eq_low(case: Case, group: int) -> np.ndarray:
    """A row d with <d, eq(r_lo)> = 0: (e_1, −e_0, 0, …) against eq(r_lo) = (e_0, e_1, …)."""
    low = case.points[group][:, case.commitment.row_vars :]
    eq_low = multilinear.eq_table(low)
    d = np.zeros((4, case.commitment.message_len), dtype=np.int64)
    d[:, 0], d[:, 1] = eq_low[:, 1], ext.neg(eq_low[:, 0])
    return d


# --- field-level tampering: the proof object changed, then encoded and sent --------------


def _wrong_root(case: Case) -> Case:
    root = bytes([case.commitment.root[0] ^ 1]) + case.commitment.root[1:]
    return case._replace(commitment=dataclasses.replace(case.commitment, root=root))


def _wrong_digest(case: Case) -> Case:
    return case._replace(proof=dataclasses.replace(case.proof, commitments_digest=bytes(32)))


def _wrong_sibling(case: Case) -> Case:
    siblings = list(case.proof.trees[0].merkle_proof.siblings)
    siblings[3] = bytes([siblings[3][0] ^ 0x80]) + siblings[3][1:]
    return with_tree(case, merkle_proof=merkle.MerkleProof(tuple(siblings)))


def _altered_column(case: Case) -> Case:
    return with_tree(case, columns=plus_one(case.proof.trees[0].columns, (5, 2)))


def _evaluation_row_off_its_value(case: Case) -> Case:
    return with_tree(case, evaluation_rows=plus_one(case.proof.trees[0].evaluation_rows, (0, 0, 3)))


def _evaluation_row_keeping_its_value(case: Case) -> Case:
    rows = case.proof.trees[0].evaluation_rows.copy()
    rows[1] = ext.add(rows[1], orthogonal_to_eq_low(case, 1))
    return with_tree(case, evaluation_rows=rows)


def _proximity_row(case: Case) -> Case:
    return with_tree(case, proximity_row=plus_one(case.proof.trees[0].proximity_row, (2, 7)))


def _swapped_evaluation_rows(case: Case) -> Case:
    return with_tree(case, evaluation_rows=case.proof.trees[0].evaluation_rows[::-1].copy())


def _wrong_value(case: Case) -> Case:
    return case._replace(values=[plus_one(case.values[0], (0,)), case.values[1]])


def _wrong_point(case: Case) -> Case:
    return case._replace(points=[plus_one(case.points[0], (1, 4)), case.points[1]])


def _swapped_points(case: Case) -> Case:
    return case._replace(points=case.points[::-1])


def _other_transcript(case: Case) -> Case:
    return case._replace(domain="veriml/test/another-domain")


def _truncated_columns(case: Case) -> Case:
    tree = case.proof.trees[0]
    return with_tree(case, columns=tree.columns[:-1].copy())


def _repeated_column(case: Case) -> Case:
    tree = case.proof.trees[0]
    return with_tree(case, columns=np.concatenate([tree.columns, tree.columns[-1:]]))


def _mask_evaluation(case: Case) -> Case:
    return with_tree(case, mask_evaluations=plus_one(case.proof.trees[0].mask_evaluations, (0, 1)))


def _salt(case: Case) -> Case:
    salts = list(case.proof.trees[0].salts)
    salts[0] = bytes(32)
    return with_tree(case, salts=tuple(salts))


FIELD_TAMPERS: dict[str, tuple[bool, Callable[[Case], Case], Reject]] = {
    "wrong commitment root": (False, _wrong_root, Reject.COMMITMENT_MISMATCH),
    "proof names other commitments": (False, _wrong_digest, Reject.COMMITMENT_MISMATCH),
    "wrong merkle sibling": (False, _wrong_sibling, Reject.MERKLE_PATH_INVALID),
    "altered opened column": (False, _altered_column, Reject.MERKLE_PATH_INVALID),
    "evaluation row off its value": (
        False,
        _evaluation_row_off_its_value,
        Reject.EVALUATION_MISMATCH,
    ),
    "evaluation row keeping its value": (
        False,
        _evaluation_row_keeping_its_value,
        Reject.MERKLE_PATH_INVALID,  # the row is absorbed, so the queries move
    ),
    "altered proximity row": (False, _proximity_row, Reject.MERKLE_PATH_INVALID),
    "swapped evaluation rows": (False, _swapped_evaluation_rows, Reject.EVALUATION_MISMATCH),
    "wrong claimed value": (False, _wrong_value, Reject.EVALUATION_MISMATCH),
    "wrong evaluation point": (False, _wrong_point, Reject.EVALUATION_MISMATCH),
    "swapped points": (False, _swapped_points, Reject.EVALUATION_MISMATCH),
    "other transcript domain": (False, _other_transcript, Reject.EVALUATION_MISMATCH),
    "truncated column list": (False, _truncated_columns, Reject.COLUMN_COUNT_MISMATCH),
    "one column too many": (False, _repeated_column, Reject.LENGTH_OUT_OF_BOUNDS),
    "altered mask evaluation": (True, _mask_evaluation, Reject.EVALUATION_MISMATCH),
    "altered salt": (True, _salt, Reject.MERKLE_PATH_INVALID),
}


@pytest.mark.parametrize("hiding", [False, True], ids=["plain", "hiding"])
def test_the_honest_proof_of_the_tamper_table_verifies(hiding: bool) -> None:
    check(honest(hiding))


@pytest.mark.parametrize("name", sorted(FIELD_TAMPERS))
def test_verify_rejects_a_tampered_proof_field(name: str) -> None:
    hiding, tamper, reason = FIELD_TAMPERS[name]
    with pytest.raises(VerificationError) as caught:
        check(tamper(honest(hiding)))
    assert caught.value.reason is reason, caught.value.detail


# --- byte-level tampering --------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda data: data + b"\x00", Reject.TRAILING_BYTES),
        (lambda data: data[:-1], Reject.TRUNCATED),
        (lambda data: data[:40], Reject.TRUNCATED),
    ],
    ids=["extended", "truncated by one byte", "cut after the header"],
)
def test_verify_rejects_malformed_proof_bytes(
    change: Callable[[bytes], bytes], reason: Reject
) -> None:
    case = honest()
    with pytest.raises(VerificationError) as caught:
        check(case, change(case.proof.to_bytes()))
    assert caught.value.reason is reason


def test_a_non_canonical_column_value_is_rejected_as_such() -> None:
    case = honest()
    tree, k = case.proof.trees[0], case.commitment.message_len
    # digest, tree count, (empty) mask evaluations, row count, two rows, proximity row,
    # column count, column word count: then the first column word.
    offset = 32 + 4 + 4 + 4 + 2 * (4 + 16 * k) + (4 + 16 * k) + 4 + 4
    data = bytearray(case.proof.to_bytes())
    assert data[offset : offset + 4] == int(tree.columns[0, 0]).to_bytes(4, "little")
    data[offset : offset + 4] = base.P.to_bytes(4, "little")
    with pytest.raises(VerificationError) as caught:
        check(case, bytes(data))
    assert caught.value.reason is Reject.NON_CANONICAL_FIELD_ELEMENT


def test_seeded_byte_flips_never_pass_and_never_crash_the_verifier() -> None:
    case = honest()
    data = case.proof.to_bytes()
    rng = np.random.default_rng(2024)
    for position in rng.choice(len(data), size=120, replace=False).tolist():
        flipped = bytearray(data)
        flipped[position] ^= 1 << int(rng.integers(8))
        with pytest.raises(VerificationError):
            check(case, bytes(flipped))


# --- cheating provers: one deviation, then the rest of the protocol played honestly -----


def cheat(
    hiding: bool,
    values: Callable[[list[np.ndarray]], list[np.ndarray]] = lambda v: v,
    rows: Callable[[pcs.BatchOpener, list[np.ndarray]], list[np.ndarray]] = lambda o, r: r,
    proximity: Callable[[np.ndarray], np.ndarray] = lambda w: w,
) -> Case:
    prover_data, points = setup(hiding)
    opener = pcs.BatchOpener([(prover_data, p) for p in points], Transcript(DOMAIN))
    claimed = values(opener.values)
    opener.send_statement(claimed)
    opener.send_mask_evaluations(opener.mask_evaluations())
    opener.send_evaluation_rows(rows(opener, opener.evaluation_rows()))
    opener.draw_proximity_weights(0)
    opener.send_proximity_row(0, proximity(opener.proximity_row(0)))
    proof = opener.open_columns()
    return Case(prover_data.commitment, points, [v[:, 0] for v in claimed], proof)


def _row_keeping_value(opener: pcs.BatchOpener, rows: list[np.ndarray]) -> list[np.ndarray]:
    case = Case(opener.commitments[0], [p for _, p in opener.requests], [], None)  # type: ignore[arg-type]
    rows[0][1] = ext.add(rows[0][1], orthogonal_to_eq_low(case, 1))
    return rows


def _false_value(values: list[np.ndarray]) -> list[np.ndarray]:
    return [plus_one(values[0], (0, 0)), values[1]]


def _row_matching_false_value(opener: pcs.BatchOpener, rows: list[np.ndarray]) -> list[np.ndarray]:
    """Shift row 0 so <u, eq(r_lo)> = α·(v + 1): d = α·e_0^{−1} at position 0."""
    commitment = opener.commitments[0]
    low = opener.requests[0][1][:, commitment.row_vars :]
    e_0 = multilinear.eq_table(low)[:, 0]
    shift = ext.mul(opener.alphas[:, 0], ext.inv(e_0))
    rows[0][0][:, 0] = ext.add(rows[0][0][:, 0], shift)
    return rows


@pytest.mark.parametrize("hiding", [False, True], ids=["plain", "hiding"])
def test_a_cheating_evaluation_row_that_keeps_the_value_fails_the_column_check(
    hiding: bool,
) -> None:
    with pytest.raises(VerificationError) as caught:
        check(cheat(hiding, rows=_row_keeping_value))
    assert caught.value.reason is Reject.COLUMN_CHECK_FAILED


@pytest.mark.parametrize("hiding", [False, True], ids=["plain", "hiding"])
def test_a_false_value_with_a_matching_evaluation_row_fails_the_column_check(
    hiding: bool,
) -> None:
    with pytest.raises(VerificationError) as caught:
        check(cheat(hiding, values=_false_value, rows=_row_matching_false_value))
    assert caught.value.reason is Reject.COLUMN_CHECK_FAILED


@pytest.mark.parametrize("hiding", [False, True], ids=["plain", "hiding"])
def test_a_cheating_proximity_row_fails_the_proximity_check(hiding: bool) -> None:
    with pytest.raises(VerificationError) as caught:
        check(cheat(hiding, proximity=lambda w: plus_one(w, (0, 0))))
    assert caught.value.reason is Reject.PROXIMITY_CHECK_FAILED


@pytest.mark.parametrize("hiding", [False, True], ids=["plain", "hiding"])
def test_a_commitment_to_rows_that_are_not_codewords_is_caught(hiding: bool) -> None:
    honest_data, points = setup(hiding)
    commitment = honest_data.commitment
    codewords = honest_data.codewords.copy()
    rng = np.random.default_rng(99)
    # Row 3 is replaced by noise on a quarter of its positions: far from every codeword.
    corrupted = rng.choice(commitment.codeword_len, commitment.codeword_len // 4, replace=False)
    codewords[corrupted, 3] = base.random(corrupted.shape[0], rng).astype("<u4")
    bad_commitment, bad_data = pcs_prover.assemble(
        commitment, honest_data.coefficients, codewords, rng
    )
    values, proof = pcs.open(bad_data, points, Transcript(DOMAIN))
    with pytest.raises(VerificationError) as caught:
        check(Case(bad_commitment, points, values, proof))
    assert caught.value.reason is Reject.PROXIMITY_CHECK_FAILED


def test_a_hiding_commitment_opens_only_once_and_at_most_at_its_mask_count() -> None:
    prover_data, points = setup(hiding=True)
    with pytest.raises(pcs_prover.ProverError):
        pcs.open(prover_data, [*points, points[0]], Transcript(DOMAIN))
    pcs.open(prover_data, points, Transcript(DOMAIN))
    with pytest.raises(pcs_prover.ProverError):
        pcs.open(prover_data, points[:1], Transcript(DOMAIN))


def test_the_verifier_rejects_more_points_than_a_hiding_commitment_masks() -> None:
    case = honest(hiding=True)
    points = [*case.points, case.points[0]]
    values = [*case.values, case.values[0]]
    with pytest.raises(VerificationError) as caught:
        pcs.verify(case.commitment, points, values, case.proof, Transcript(DOMAIN))
    assert caught.value.reason is Reject.PARAMETER_MISMATCH

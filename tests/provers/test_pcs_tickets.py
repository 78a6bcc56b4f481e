"""Hiding commitments opened by ticket: every ticket opens and verifies once, the verifier checks
every ticketed field for its own reason, B openings together reveal nothing beyond their claims,
and a commitment's prover data survives being saved and restored."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pytest

from provers.commit import merkle, pcs
from provers.commit.pcs import params as pcs_params
from provers.commit.pcs import prover as pcs_prover
from provers.commit.pcs import prover_data
from provers.errors import ProverError, Reject, VerificationError
from provers.field import base, ext
from provers.transcript import Transcript

P = base.P
DOMAIN = "veriml/test/pcs-tickets"
NUM_VARS, ROW_VARS, TICKETS = 6, 2, 4


def commit_four_tickets(seed: int = 7) -> tuple[np.ndarray, pcs.ProverData]:
    rng = np.random.default_rng(seed)
    table = base.random(1 << NUM_VARS, rng)
    _, data = pcs.commit(table, hiding=True, rng=rng, row_vars=ROW_VARS, tickets=TICKETS)
    return table, data


def point(seed: int) -> np.ndarray:
    return ext.random(NUM_VARS, np.random.default_rng(1000 + seed))


def open_and_verify(data: pcs.ProverData, at: np.ndarray) -> int:
    """Open at one point, check the proof as a remote verifier would, return its ticket."""
    values, proof = pcs.open(data, [at], Transcript(DOMAIN))
    requests = [(data.commitment, at, values[0].reshape(4, 1))]
    parsed = pcs.proof_from_bytes(proof.to_bytes(), requests)
    pcs.verify(data.commitment, [at], values, parsed, Transcript(DOMAIN))
    ticket = parsed.trees[0].ticket
    assert ticket is not None
    return ticket


# --- opening by ticket ------------------------------------------------------------------


def test_every_ticket_opens_and_verifies_in_order() -> None:
    _, data = commit_four_tickets()
    assert data.commitment.message_len == (1 << (NUM_VARS - ROW_VARS)) + 256 * TICKETS
    assert data.commitment.num_mask_rows == 4 * 2 * TICKETS
    tickets = [open_and_verify(data, point(i)) for i in range(TICKETS)]
    assert tickets == [0, 1, 2, 3]
    assert data.used_tickets == {0, 1, 2, 3} and data.remaining_tickets == 0


def test_tickets_open_out_of_order_after_restoring_the_used_set() -> None:
    _, data = commit_four_tickets()
    saved = {0, 2}
    data.used_tickets = set(saved)
    assert open_and_verify(data, point(0)) == 1
    assert open_and_verify(data, point(1)) == 3
    data.used_tickets = {1, 2, 3}
    assert open_and_verify(data, point(2)) == 0


def test_an_exhausted_commitment_is_refused_naming_its_budget() -> None:
    _, data = commit_four_tickets()
    for i in range(TICKETS):
        open_and_verify(data, point(i))
    with pytest.raises(ProverError, match="all 4 tickets"):
        pcs.open(data, [point(9)], Transcript(DOMAIN))


def test_a_used_ticket_is_never_taken_again() -> None:
    _, data = commit_four_tickets()
    assert open_and_verify(data, point(0)) == 0
    data.used_tickets = {0, 3}
    assert open_and_verify(data, point(1)) == 1
    assert open_and_verify(data, point(2)) == 2
    with pytest.raises(ProverError):
        pcs.open(data, [point(3)], Transcript(DOMAIN))


def test_an_opening_refused_for_too_many_points_consumes_no_ticket() -> None:
    _, data = commit_four_tickets()
    with pytest.raises(ProverError):
        pcs.open(data, [point(0), point(1)], Transcript(DOMAIN))
    assert data.used_tickets == set()
    assert open_and_verify(data, point(0)) == 0


def test_tickets_need_hiding_and_stay_within_their_maximum() -> None:
    table = np.arange(1 << NUM_VARS, dtype=np.int64)
    with pytest.raises(ValueError):
        pcs.commit(table, tickets=2)
    with pytest.raises(ValueError):
        pcs.commit(table, hiding=True, tickets=0)
    with pytest.raises(ValueError):
        pcs.commit(table, hiding=True, tickets=pcs.MAX_TICKETS + 1)


def test_a_single_ticket_commitment_keeps_the_one_opening_layout() -> None:
    rng = np.random.default_rng(3)
    table = base.random(1 << NUM_VARS, rng)
    commitment, data = pcs.commit(table, hiding=True, rng=rng, row_vars=ROW_VARS)
    assert commitment.tickets == 1
    assert commitment.message_len == (1 << (NUM_VARS - ROW_VARS)) + 256
    assert open_and_verify(data, point(0)) == 0
    with pytest.raises(ProverError, match="all 1 tickets"):
        pcs.open(data, [point(1)], Transcript(DOMAIN))


def test_a_plain_commitment_encodes_no_tickets_and_opens_without_one() -> None:
    rng = np.random.default_rng(4)
    commitment, data = pcs.commit(base.random(1 << NUM_VARS, rng), rng=rng)
    hiding, _ = pcs.commit(base.random(1 << NUM_VARS, rng), hiding=True, rng=rng, tickets=3)
    assert len(hiding.to_bytes()) == len(commitment.to_bytes()) + 4
    assert pcs.Commitment.from_bytes(hiding.to_bytes()) == hiding
    values, proof = pcs.open(data, [point(0)], Transcript(DOMAIN))
    assert proof.trees[0].ticket is None
    pcs.verify(commitment, [point(0)], values, proof, Transcript(DOMAIN))
    # Nothing is hidden, so nothing is rationed: a plain commitment opens again.
    values, proof = pcs.open(data, [point(1)], Transcript(DOMAIN))
    pcs.verify(commitment, [point(1)], values, proof, Transcript(DOMAIN))
    assert data.used_tickets == set()


# --- soundness and shape -------------------------------------------------------------------


def test_more_tickets_lengthen_the_message_and_may_lengthen_the_code() -> None:
    params = pcs.PCSParams.default()
    lengths = [pcs_params.codeword_len(12, params, True, b) or 0 for b in (1, 4, 16, 64)]
    assert lengths == sorted(lengths) and lengths[-1] > lengths[0] > 0
    for tickets in (1, 4, 16, 64):
        assert pcs.pcs_soundness_bits(params, 24, hiding=True, tickets=tickets) >= 100
        assert pcs_params.shape_soundness_bits(12, params, True, tickets) >= 100
    assert pcs_params.message_len(12, params, True, 16) == 4096 + 256 * 16


def brute_force_smallest(num_vars: int, tickets: int, max_points: int) -> int:
    params = pcs.PCSParams.default()
    best: tuple[int, int] | None = None
    for a in range(num_vars + 1):
        n = pcs_params.codeword_len(num_vars - a, params, True, tickets)
        if n is None:
            continue
        size = ((1 << a) + 4 * (1 + max_points) * tickets) * n
        if best is None or (size, -a) < (best[0], -best[1]):
            best = (size, a)
    assert best is not None
    return best[1]


@pytest.mark.parametrize(
    ("num_vars", "tickets", "max_points"), [(19, 16, 1), (24, 16, 1), (12, 64, 2), (20, 1, 1)]
)
def test_the_shape_helper_finds_the_smallest_commitment(
    num_vars: int, tickets: int, max_points: int
) -> None:
    params = pcs.PCSParams.default()
    chosen = pcs.smallest_commitment_row_vars(num_vars, params, True, tickets, max_points)
    assert chosen == brute_force_smallest(num_vars, tickets, max_points)
    default = params.row_vars(num_vars)
    sizes = [
        pcs_params.committed_elements(num_vars, a, params, True, tickets, max_points)
        for a in (chosen, default)
    ]
    assert sizes[0] is not None and sizes[1] is not None and sizes[0] <= sizes[1]


def test_a_commitment_made_with_the_helper_opens_and_verifies() -> None:
    params = pcs.PCSParams.default()
    rows = pcs.smallest_commitment_row_vars(10, params, tickets=8)
    rng = np.random.default_rng(5)
    _, data = pcs.commit(base.random(1 << 10, rng), hiding=True, rng=rng, row_vars=rows, tickets=8)
    at = ext.random(10, rng)
    values, proof = pcs.open(data, [at], Transcript(DOMAIN))
    pcs.verify(data.commitment, [at], values, proof, Transcript(DOMAIN))


# --- the verifier checks every ticketed field -------------------------------------------


class Case(NamedTuple):
    commitment: pcs.Commitment
    point: np.ndarray
    value: np.ndarray
    proof: pcs.OpeningProof


def second_opening() -> Case:
    """Ticket 1 of a four-ticket commitment (ticket 0 was opened first, elsewhere)."""
    _, data = commit_four_tickets()
    pcs.open(data, [point(0)], Transcript(DOMAIN))
    values, proof = pcs.open(data, [point(1)], Transcript(DOMAIN))
    assert proof.trees[0].ticket == 1
    return Case(data.commitment, point(1), values[0], proof)


def check(case: Case, proof_bytes: bytes | None = None) -> None:
    requests = [(case.commitment, case.point, case.value.reshape(4, 1))]
    data = case.proof.to_bytes() if proof_bytes is None else proof_bytes
    parsed = pcs.proof_from_bytes(data, requests)
    pcs.verify(case.commitment, [case.point], [case.value], parsed, Transcript(DOMAIN))


def with_tree(case: Case, **changes: object) -> Case:
    tree = dataclasses.replace(case.proof.trees[0], **changes)  # type: ignore[arg-type]
    return case._replace(proof=dataclasses.replace(case.proof, trees=(tree,)))


def plus_one(values: np.ndarray, index: tuple[int, ...]) -> np.ndarray:
    changed = values.copy()
    changed[index] = (changed[index] + 1) % P
    return changed


def _column_row(case: Case, row: int) -> Case:
    return with_tree(case, columns=plus_one(case.proof.trees[0].columns, (1, row)))


def _other_tickets_mask_row(case: Case) -> int:
    """A row of ticket 3's block, which the opening of ticket 1 reveals but never weighs."""
    tables = case.commitment.num_polynomials * case.commitment.rows_per_polynomial
    return tables + 3 * case.commitment.mask_block_rows + 2


def _sibling(case: Case) -> Case:
    siblings = list(case.proof.trees[0].merkle_proof.siblings)
    siblings[2] = bytes([siblings[2][0] ^ 0x40]) + siblings[2][1:]
    return with_tree(case, merkle_proof=merkle.MerkleProof(tuple(siblings)))


def _salt(case: Case) -> Case:
    salts = list(case.proof.trees[0].salts)
    salts[4] = bytes(32)
    return with_tree(case, salts=tuple(salts))


def _commitment(case: Case, **changes: object) -> Case:
    return case._replace(commitment=dataclasses.replace(case.commitment, **changes))  # type: ignore[arg-type]


TAMPERS: dict[str, tuple[Callable[[Case], Case], Reject]] = {
    "ticket equal to the ticket count": (
        lambda c: with_tree(c, ticket=TICKETS),
        Reject.LENGTH_OUT_OF_BOUNDS,
    ),
    "ticket far out of range": (
        lambda c: with_tree(c, ticket=1 << 31),
        Reject.LENGTH_OUT_OF_BOUNDS,
    ),
    "ticket changed to an unused one": (
        lambda c: with_tree(c, ticket=2),
        Reject.EVALUATION_MISMATCH,
    ),
    "ticket changed to the used one": (
        lambda c: with_tree(c, ticket=0),
        Reject.EVALUATION_MISMATCH,
    ),
    "altered evaluation row": (
        lambda c: with_tree(
            c, evaluation_rows=plus_one(c.proof.trees[0].evaluation_rows, (0, 1, 2))
        ),
        Reject.EVALUATION_MISMATCH,
    ),
    "altered random part of the evaluation row": (
        lambda c: with_tree(
            c, evaluation_rows=plus_one(c.proof.trees[0].evaluation_rows, (0, 0, 500))
        ),
        Reject.MERKLE_PATH_INVALID,  # absorbed, so the queries move
    ),
    "altered proximity row": (
        lambda c: with_tree(c, proximity_row=plus_one(c.proof.trees[0].proximity_row, (3, 9))),
        Reject.MERKLE_PATH_INVALID,
    ),
    "altered mask evaluation": (
        lambda c: with_tree(
            c, mask_evaluations=plus_one(c.proof.trees[0].mask_evaluations, (2, 0))
        ),
        Reject.EVALUATION_MISMATCH,
    ),
    "altered table row of a column": (lambda c: _column_row(c, 1), Reject.MERKLE_PATH_INVALID),
    "altered own mask row of a column": (
        lambda c: _column_row(c, c.commitment.num_rows - 1 - 2 * c.commitment.mask_block_rows),
        Reject.MERKLE_PATH_INVALID,
    ),
    "altered other ticket's mask row of a column": (
        lambda c: _column_row(c, _other_tickets_mask_row(c)),
        Reject.MERKLE_PATH_INVALID,
    ),
    "truncated columns": (
        lambda c: with_tree(c, columns=c.proof.trees[0].columns[:-1].copy()),
        Reject.LENGTH_OUT_OF_BOUNDS,  # the salts no longer match the columns
    ),
    "altered salt": (_salt, Reject.MERKLE_PATH_INVALID),
    "altered merkle sibling": (_sibling, Reject.MERKLE_PATH_INVALID),
    "commitment claims one ticket more": (
        lambda c: _commitment(c, tickets=TICKETS + 1),
        Reject.LENGTH_OUT_OF_BOUNDS,  # rows of another length are expected
    ),
    "commitment claims no tickets": (
        lambda c: _commitment(c, tickets=0),
        Reject.LENGTH_OUT_OF_BOUNDS,
    ),
    "commitment claims too many tickets": (
        lambda c: _commitment(c, tickets=pcs.MAX_TICKETS + 1),
        Reject.LENGTH_OUT_OF_BOUNDS,
    ),
    "commitment with tickets but no hiding": (
        lambda c: _commitment(c, hiding=False),
        Reject.MALFORMED,
    ),
}


def test_the_honest_ticketed_opening_of_the_tamper_table_verifies() -> None:
    check(second_opening())


@pytest.mark.parametrize("name", sorted(TAMPERS))
def test_verify_rejects_a_tampered_ticketed_opening(name: str) -> None:
    tamper, reason = TAMPERS[name]
    with pytest.raises(VerificationError) as caught:
        check(tamper(second_opening()))
    assert caught.value.reason is reason, caught.value.detail


@pytest.mark.parametrize(
    ("ticket", "reason"),
    [
        (None, Reject.LENGTH_OUT_OF_BOUNDS),
        (-1, Reject.LENGTH_OUT_OF_BOUNDS),
        ("1", Reject.LENGTH_OUT_OF_BOUNDS),
    ],
    ids=["missing", "negative", "not an integer"],
)
def test_verify_rejects_a_ticket_no_bytes_could_carry(ticket: object, reason: Reject) -> None:
    case = with_tree(second_opening(), ticket=ticket)
    with pytest.raises(VerificationError) as caught:
        pcs.verify(case.commitment, [case.point], [case.value], case.proof, Transcript(DOMAIN))
    assert caught.value.reason is reason


def test_verify_rejects_a_ticket_on_a_plain_opening() -> None:
    rng = np.random.default_rng(8)
    commitment, data = pcs.commit(base.random(1 << NUM_VARS, rng), rng=rng)
    values, proof = pcs.open(data, [point(0)], Transcript(DOMAIN))
    tree = dataclasses.replace(proof.trees[0], ticket=0)
    tampered = dataclasses.replace(proof, trees=(tree,))
    with pytest.raises(VerificationError) as caught:
        pcs.verify(commitment, [point(0)], values, tampered, Transcript(DOMAIN))
    assert caught.value.reason is Reject.MALFORMED


def test_a_prover_masking_with_another_tickets_rows_fails_the_proximity_check() -> None:
    _, data = commit_four_tickets()
    opener = pcs.BatchOpener([(data, point(0))], Transcript(DOMAIN))
    opener.tickets = [2]
    opener.send_statement(opener.values)
    opener.tickets = [0]  # the masks of ticket 0 under the name of ticket 2
    opener.send_mask_evaluations(opener.mask_evaluations())
    opener.send_evaluation_rows(opener.evaluation_rows())
    opener.draw_proximity_weights(0)
    opener.send_proximity_row(0, opener.proximity_row(0))
    opener.tickets = [2]
    proof = opener.open_columns()
    case = Case(data.commitment, point(0), opener.values[0][:, 0], proof)
    with pytest.raises(VerificationError) as caught:
        check(case)
    assert caught.value.reason is Reject.PROXIMITY_CHECK_FAILED


def test_the_ticket_is_read_from_the_bytes_and_bounded_there() -> None:
    case = second_opening()
    data = bytearray(case.proof.to_bytes())
    offset = 32 + 4  # digest, tree count: then the ticket
    assert bytes(data[offset : offset + 4]) == (1).to_bytes(4, "little")
    data[offset : offset + 4] = TICKETS.to_bytes(4, "little")
    with pytest.raises(VerificationError) as caught:
        check(case, bytes(data))
    assert caught.value.reason is Reject.LENGTH_OUT_OF_BOUNDS
    data[offset : offset + 4] = (3).to_bytes(4, "little")
    with pytest.raises(VerificationError) as caught:
        check(case, bytes(data))
    assert caught.value.reason is Reject.EVALUATION_MISMATCH


@pytest.mark.parametrize(
    ("tickets", "reason"),
    [(0, Reject.LENGTH_OUT_OF_BOUNDS), (pcs.MAX_TICKETS + 1, Reject.LENGTH_OUT_OF_BOUNDS)],
    ids=["zero", "above the maximum"],
)
def test_commitment_bytes_with_a_bad_ticket_count_are_rejected(
    tickets: int, reason: Reject
) -> None:
    _, data = commit_four_tickets()
    encoded = bytearray(data.commitment.to_bytes())
    assert bytes(encoded[-4:]) == TICKETS.to_bytes(4, "little")
    encoded[-4:] = tickets.to_bytes(4, "little")
    with pytest.raises(VerificationError) as caught:
        pcs.Commitment.from_bytes(bytes(encoded))
    assert caught.value.reason is reason


def test_hostile_bytes_raise_only_verification_errors() -> None:
    case = second_opening()
    proof_bytes = case.proof.to_bytes()
    commitment_bytes = case.commitment.to_bytes()
    rng = np.random.default_rng(2025)
    for position in rng.choice(len(proof_bytes), size=80, replace=False).tolist():
        flipped = bytearray(proof_bytes)
        flipped[position] ^= 1 << int(rng.integers(8))
        with pytest.raises(VerificationError):
            check(case, bytes(flipped))
    for cut in (0, 36, 40, len(proof_bytes) - 1):
        with pytest.raises(VerificationError):
            check(case, proof_bytes[:cut])
    for position in range(len(commitment_bytes)):
        flipped = bytearray(commitment_bytes)
        flipped[position] ^= 1 << int(rng.integers(8))
        try:
            commitment = pcs.Commitment.from_bytes(bytes(flipped))
            check(case._replace(commitment=commitment))
        except VerificationError:
            continue
        raise AssertionError(f"a flipped commitment byte {position} was accepted")


# --- zero knowledge over all B openings ----------------------------------------------------
#
# With the challenges held fixed, everything B openings reveal is a linear function of the
# table m and the randomness r (random coefficients and masks): y = A·m + L·r. The challenges
# are fixed by recording one run's draws and replaying them. The openings reveal nothing about
# m beyond the claims Φ·m exactly when A·ker(Φ) ⊆ image(L); and the values a simulator samples
# (table rows at the opened positions, the sent rows, the masks no sent row fixes) are jointly
# uniform exactly when L restricted to them has full row rank.

ZK_PARAMS = pcs.PCSParams(num_queries=2, security_bits=0)
ZK_VARS, ZK_ROW_VARS = 5, 3  # 8 rows × 4 columns, k = 4 + 2·4 = 12, N = 16


Draw = tuple[str, list[int]]
"""One recorded draw: its label and the integers drawn (challenge-field draws flattened)."""


class ScriptedTranscript(Transcript):
    """Draws what a recorded run drew, whatever was absorbed, or records what it draws."""

    def __init__(self, script: list[Draw] | None = None) -> None:
        super().__init__(DOMAIN)
        self.recording = script is None
        self.script: list[Draw] = [] if script is None else list(script)

    def challenge_exts(self, label: str, n: int) -> np.ndarray:
        if self.recording:
            out = super().challenge_exts(label, n)
            self.script.append((label, out.reshape(-1).tolist()))
            return out
        recorded_label, drawn = self.script.pop(0)
        assert recorded_label == label
        return np.asarray(drawn, dtype=np.int64).reshape(ext.DEGREE, n)

    def challenge_indices(self, label: str, n: int, bound: int) -> list[int]:
        if self.recording:
            out = super().challenge_indices(label, n, bound)
            self.script.append((label, list(out)))
            return out
        recorded_label, drawn = self.script.pop(0)
        assert recorded_label == label
        return list(drawn)


class Openings(NamedTuple):
    parts: list[dict[str, np.ndarray]]
    """Per opening: its columns (count, rows), evaluation rows, proximity row, σ's."""
    claims: np.ndarray
    """Every opening's claimed value, base-field coordinates."""


def zk_shape(tickets: int) -> pcs.Commitment:
    return pcs.Commitment(bytes(32), ZK_VARS, ZK_ROW_VARS, 1, True, 1, ZK_PARAMS, tickets)


def randomness_dims(shape: pcs.Commitment) -> int:
    rows = shape.rows_per_polynomial
    return rows * ZK_PARAMS.num_queries * shape.tickets + shape.num_mask_rows * shape.message_len


def messages(shape: pcs.Commitment, table: np.ndarray, randomness: np.ndarray) -> np.ndarray:
    """The committed message matrix: [M ‖ ρ] over the table rows, then the masking rows."""
    rows, width = shape.rows_per_polynomial, ZK_PARAMS.num_queries * shape.tickets
    rho = randomness[: rows * width].reshape(rows, width)
    masks = randomness[rows * width :].reshape(shape.num_mask_rows, shape.message_len)
    top = np.concatenate([table.reshape(rows, -1), rho], axis=1)
    return np.concatenate([top, masks], axis=0) % P


def run_openings(
    shape: pcs.Commitment,
    table: np.ndarray,
    randomness: np.ndarray,
    points: list[np.ndarray],
    reuse_first_ticket: bool,
    scripts: list[list[Draw]] | None,
) -> tuple[Openings, list[list[Draw]]]:
    coefficients = messages(shape, table, randomness)
    codewords = pcs_prover.encode_rows(coefficients, shape.codeword_len)
    _, data = pcs_prover.assemble(shape, coefficients, codewords, np.random.default_rng(0))
    parts, claims, recorded = [], [], []
    for index, at in enumerate(points):
        if reuse_first_ticket and index == 1:
            data.used_tickets = set()  # the control: ticket 0's masks serve a second opening
        transcript = ScriptedTranscript(None if scripts is None else scripts[index])
        values, proof = pcs.open(data, [at], transcript)
        recorded.append(transcript.script)
        tree = proof.trees[0]
        parts.append(
            {
                "columns": tree.columns.astype(np.int64),
                "u": np.asarray(tree.evaluation_rows).reshape(-1),
                "w": np.asarray(tree.proximity_row).reshape(-1),
                "sigma": np.asarray(tree.mask_evaluations).reshape(-1),
            }
        )
        claims.append(values[0])
    return Openings(parts, np.concatenate(claims)), recorded


def opened_positions(script: list[Draw], wanted: int) -> list[int]:
    """The distinct positions the queries chose, as the opening's query rule picks them."""
    chosen: list[int] = []
    for label, drawn in script:
        if label != "pcs/column-queries":
            continue
        for index in drawn:
            if len(chosen) < wanted and index not in chosen:
                chosen.append(index)
    return sorted(chosen)


def rank_mod_p(matrix: np.ndarray) -> int:
    work = np.array(matrix, dtype=np.int64) % P
    rank = 0
    for column in range(work.shape[1]):
        if rank == work.shape[0]:
            break
        nonzero = np.flatnonzero(work[rank:, column])
        if nonzero.size == 0:
            continue
        pivot = rank + int(nonzero[0])
        work[[rank, pivot]] = work[[pivot, rank]]
        work[rank] = work[rank] * pow(int(work[rank, column]), P - 2, P) % P
        below = work[rank + 1 :]
        factors = below[:, column].copy()
        below -= factors[:, None] * work[rank][None, :]
        below %= P
        rank += 1
    return rank


def matmul_mod_p(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """left·right mod p without int64 overflow: the right factor in 16-bit halves."""
    low = left @ (right & 0xFFFF) % P
    high = left @ (right >> 16) % P
    return (low + high * 65536) % P


def kernel_mod_p(matrix: np.ndarray) -> np.ndarray:
    """A basis of {x : matrix·x = 0} over F_p, as the columns of the result."""
    work = np.array(matrix, dtype=np.int64) % P
    pivots: list[int] = []
    row = 0
    for column in range(work.shape[1]):
        if row == work.shape[0]:
            break
        nonzero = np.flatnonzero(work[row:, column])
        if nonzero.size == 0:
            continue
        pivot = row + int(nonzero[0])
        work[[row, pivot]] = work[[pivot, row]]
        work[row] = work[row] * pow(int(work[row, column]), P - 2, P) % P
        factors = work[:, column].copy()
        factors[row] = 0
        work -= factors[:, None] * work[row][None, :]
        work %= P
        pivots.append(column)
        row += 1
    free = [c for c in range(work.shape[1]) if c not in pivots]
    basis = np.zeros((work.shape[1], len(free)), dtype=np.int64)
    for index, column in enumerate(free):
        basis[column, index] = 1
        for pivot_row, pivot_column in enumerate(pivots):
            basis[pivot_column, index] = (-work[pivot_row, column]) % P
    return basis


class LinearView(NamedTuple):
    """The openings as linear maps: each revealed part as a matrix over (table, randomness)."""

    table_maps: list[dict[str, np.ndarray]]
    randomness_maps: list[dict[str, np.ndarray]]
    claims_map: np.ndarray
    positions: list[list[int]]
    shape: pcs.Commitment


def linear_view(tickets: int, num_openings: int, reuse_first_ticket: bool) -> LinearView:
    shape = zk_shape(tickets)
    rng = np.random.default_rng(11)
    points = [ext.random(ZK_VARS, rng) for _ in range(num_openings)]
    table_size, dims = 1 << ZK_VARS, randomness_dims(shape)
    table, randomness = base.random(table_size, rng), base.random(dims, rng)
    honest, scripts = run_openings(shape, table, randomness, points, reuse_first_ticket, None)

    def evaluate(table: np.ndarray, randomness: np.ndarray) -> Openings:
        opened, _ = run_openings(shape, table, randomness, points, reuse_first_ticket, scripts)
        return opened

    def unit(size: int, index: int) -> np.ndarray:
        vector = np.zeros(size, dtype=np.int64)
        vector[index] = 1
        return vector

    by_table = [evaluate(unit(table_size, i), np.zeros(dims, np.int64)) for i in range(table_size)]
    by_randomness = [evaluate(np.zeros(table_size, np.int64), unit(dims, i)) for i in range(dims)]

    def stack(runs: list[Openings]) -> list[dict[str, np.ndarray]]:
        return [
            {
                name: np.stack([run.parts[o][name] for run in runs], axis=-1)
                for name in honest.parts[o]
            }
            for o in range(num_openings)
        ]

    claims = np.stack([run.claims for run in by_table], axis=1)
    positions = [opened_positions(script, ZK_PARAMS.num_queries) for script in scripts]
    view = LinearView(stack(by_table), stack(by_randomness), claims, positions, shape)
    # The recorded run is the image of its own table and randomness: the maps are the opening.
    recorded = all_revealed([{k: v[..., None] for k, v in o.items()} for o in honest.parts])
    image = (
        matmul_mod_p(all_revealed(view.table_maps), table)
        + matmul_mod_p(all_revealed(view.randomness_maps), randomness)
    ) % P
    assert np.array_equal(recorded[:, 0], image)
    return view


def all_revealed(maps: list[dict[str, np.ndarray]]) -> np.ndarray:
    return np.concatenate(
        [part.reshape(-1, part.shape[-1]) for opening in maps for part in opening.values()]
    )


def simulated_values(view: LinearView, unused_tickets: list[int]) -> np.ndarray:
    """The randomness-map rows of what a simulator samples: the table rows at every distinct
    opened position, each opening's u and w, and the unused tickets' mask rows there."""
    rows = view.shape.rows_per_polynomial
    block = view.shape.mask_block_rows
    picked: list[np.ndarray] = []
    seen: set[int] = set()
    for opening, positions in zip(view.randomness_maps, view.positions, strict=True):
        for slot, position in enumerate(positions):
            if position in seen:
                continue
            seen.add(position)
            column = opening["columns"][slot]
            picked.append(column[:rows])
            for ticket in unused_tickets:
                start = rows + ticket * block
                picked.append(column[start : start + block])
        picked.extend([opening["u"], opening["w"]])
    return np.concatenate(picked)


def leaks_beyond_the_claims(view: LinearView) -> bool:
    randomness = all_revealed(view.randomness_maps)
    table = all_revealed(view.table_maps)
    hidden_directions = matmul_mod_p(table, kernel_mod_p(view.claims_map))
    return rank_mod_p(np.concatenate([randomness, hidden_directions], axis=1)) > rank_mod_p(
        randomness
    )


@pytest.fixture(scope="module")
def four_openings() -> LinearView:
    return linear_view(tickets=4, num_openings=4, reuse_first_ticket=False)


def test_four_openings_sample_a_full_rank_image_of_the_randomness(
    four_openings: LinearView,
) -> None:
    sampled = simulated_values(four_openings, unused_tickets=[])
    assert rank_mod_p(sampled) == sampled.shape[0]
    # Everything else revealed (σ's, every ticket's mask columns) is fixed by those values.
    assert rank_mod_p(all_revealed(four_openings.randomness_maps)) == sampled.shape[0]
    # More columns were opened than one ticket's t coefficients could hide.
    assert len({p for positions in four_openings.positions for p in positions}) > 2


def test_four_openings_reveal_nothing_beyond_their_claims(four_openings: LinearView) -> None:
    assert kernel_mod_p(four_openings.claims_map).shape[1] >= 16
    assert not leaks_beyond_the_claims(four_openings)


def test_an_unused_tickets_revealed_mask_columns_are_uniform_too() -> None:
    view = linear_view(tickets=4, num_openings=3, reuse_first_ticket=False)
    sampled = simulated_values(view, unused_tickets=[3])
    assert rank_mod_p(sampled) == sampled.shape[0]
    assert rank_mod_p(all_revealed(view.randomness_maps)) == sampled.shape[0]
    assert not leaks_beyond_the_claims(view)


def test_reusing_one_tickets_masks_for_two_openings_is_rank_deficient() -> None:
    # Tickets 0, 0, 1 of four: no more values sampled than there is randomness, yet they are
    # not independent, and the table shows through.
    view = linear_view(tickets=4, num_openings=3, reuse_first_ticket=True)
    sampled = simulated_values(view, unused_tickets=[2, 3])
    assert sampled.shape[0] <= randomness_dims(view.shape)
    assert rank_mod_p(sampled) < sampled.shape[0]
    assert leaks_beyond_the_claims(view)


DISTRIBUTION_PARAMS = pcs.PCSParams(num_queries=4, security_bits=0)
CHI_SQUARE_15_DF_AT_0_001 = 37.70


def revealed_by_four_openings(table: np.ndarray, seed: int) -> np.ndarray:
    """Every field element four openings (fixed points) show: columns, rows, σ's."""
    rng = np.random.default_rng(seed)
    _, data = pcs.commit(
        table, DISTRIBUTION_PARAMS, hiding=True, rng=rng, row_vars=ZK_ROW_VARS, tickets=4
    )
    shown: list[np.ndarray] = []
    for index in range(4):
        at = np.full((4, ZK_VARS), 777 + index, dtype=np.int64)
        _, proof = pcs.open(data, [at], Transcript(DOMAIN))
        tree = proof.trees[0]
        parts = (tree.columns, tree.evaluation_rows, tree.proximity_row, tree.mask_evaluations)
        shown.extend(np.asarray(part).reshape(-1) for part in parts)
    return np.concatenate(shown)


def low_bit_histogram(table: np.ndarray, runs: int, first_seed: int) -> np.ndarray:
    values = np.concatenate(
        [revealed_by_four_openings(table, first_seed + run) for run in range(runs)]
    )
    return np.bincount(values & 15, minlength=16)


def test_four_openings_of_two_secrets_show_the_same_low_bit_distribution() -> None:
    zeros = low_bit_histogram(np.zeros(1 << ZK_VARS, dtype=np.int64), 100, 0)
    secret = np.arange(1 << ZK_VARS, dtype=np.int64) * 0x01010101 % P
    distinctive = low_bit_histogram(secret, 100, 5000)
    totals = zeros + distinctive
    statistic = 0.0
    for counts in (zeros, distinctive):
        expected = totals * counts.sum() / totals.sum()
        statistic += float(((counts - expected) ** 2 / expected).sum())
    assert statistic < CHI_SQUARE_15_DF_AT_0_001
    # p ≡ 1 (mod 16): the low four bits of a uniform element are uniform up to 1/p.
    uniform = zeros.sum() / 16
    assert float(((zeros - uniform) ** 2 / uniform).sum()) < CHI_SQUARE_15_DF_AT_0_001


# --- saving and restoring the prover data ----------------------------------------------


def test_saved_prover_data_restores_and_opens_its_next_ticket() -> None:
    _, data = commit_four_tickets()
    open_and_verify(data, point(0))
    saved = data.to_bytes()
    restored = pcs.ProverData.from_bytes(data.commitment, saved)
    assert restored.used_tickets == {0}
    assert restored.tree.root == data.commitment.root
    assert np.array_equal(restored.coefficients, data.coefficients)
    assert restored.salts == data.salts
    assert open_and_verify(restored, point(1)) == 1
    assert pcs.ProverData.from_bytes(data.commitment, restored.to_bytes()).used_tickets == {0, 1}


def test_a_plain_commitments_prover_data_round_trips() -> None:
    rng = np.random.default_rng(12)
    commitment, data = pcs.commit(base.random(1 << NUM_VARS, rng), rng=rng)
    restored = pcs.ProverData.from_bytes(commitment, data.to_bytes())
    values, proof = pcs.open(restored, [point(0)], Transcript(DOMAIN))
    pcs.verify(commitment, [point(0)], values, proof, Transcript(DOMAIN))


def _with_checksum(body: bytes) -> bytes:
    return body + hashlib.sha256(body).digest()


def _message_word_changed(saved: bytes, commitment: pcs.Commitment) -> bytes:
    """One message word changed and the checksum recomputed: only the rebuilt root tells."""
    header = len(prover_data.MAGIC) + 4 + 4 + len(commitment.to_bytes()) + 4 + 4
    body = bytearray(saved[:-32])
    body[header + 40] ^= 0x01
    return _with_checksum(bytes(body))


def _used_ticket_out_of_range(saved: bytes, commitment: pcs.Commitment) -> bytes:
    body = bytearray(saved[:-32])
    body[-4:] = (TICKETS + 3).to_bytes(4, "little")
    return _with_checksum(bytes(body))


def _flipped_byte(saved: bytes, commitment: pcs.Commitment) -> bytes:
    return saved[:100] + bytes([saved[100] ^ 4]) + saved[101:]


SAVED_CORRUPTIONS: dict[str, tuple[Callable[[bytes, pcs.Commitment], bytes], str]] = {
    "flipped byte": (_flipped_byte, "checksum"),
    "truncated": (lambda saved, _: saved[:-1], "checksum"),
    "empty": (lambda saved, _: b"", "checksum"),
    "message word changed, checksum recomputed": (_message_word_changed, "root"),
    "used ticket out of range": (_used_ticket_out_of_range, "unreadable"),
    "cut after the header, checksum recomputed": (
        lambda saved, _: _with_checksum(saved[:60]),
        "unreadable",
    ),
}


@pytest.mark.parametrize("name", sorted(SAVED_CORRUPTIONS))
def test_corrupted_saved_prover_data_is_refused(name: str) -> None:
    _, data = commit_four_tickets()
    open_and_verify(data, point(0))
    corrupt, message = SAVED_CORRUPTIONS[name]
    with pytest.raises(ProverError, match=message):
        pcs.ProverData.from_bytes(data.commitment, corrupt(data.to_bytes(), data.commitment))


def test_prover_data_saved_for_another_commitment_is_refused() -> None:
    _, data = commit_four_tickets()
    _, other = commit_four_tickets(seed=8)
    with pytest.raises(ProverError, match="another commitment"):
        pcs.ProverData.from_bytes(other.commitment, data.to_bytes())

"""The zero-knowledge lookup (provers/lookup/zk.py): completeness, wrong statements, a seeded
tamper table with one named case per proof field, hostile bytes, and the zero-knowledge checks
(the revealed values of two different witnesses are alike; the same statistic separates them
when the doubled half is left out)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import lru_cache

import numpy as np
import pytest

from provers.commit.pcs import OpeningProof
from provers.commit.pcs.proof import TreeOpening
from provers.errors import ProverError, Reject, VerificationError
from provers.field import base, ext
from provers.lookup import zk
from provers.lookup.table import function_table, range_table
from provers.poly import multilinear
from provers.sumcheck.proof import SumcheckProof
from provers.sumcheck.zk import ZkSumcheckProof
from tests.provers.cheating import skip_claimed_sum_checks
from tests.provers.distributions import chi_square

P = base.P
OUTPUTS = (np.arange(16) * 5 + 3) % 11
"""A function table's outputs: (x, OUTPUTS[x + 8]) for x in [−8, 8)."""


def range_statement(rows: int = 50, log: int = 6) -> zk.ZkLookupStatement:
    return zk.ZkLookupStatement(range_table(log), rows)


def pair_statement(rows: int = 40) -> zk.ZkLookupStatement:
    return zk.ZkLookupStatement(function_table(4, OUTPUTS, offset=-8), rows)


def pair_rows(rows: int, seed: int) -> list[np.ndarray]:
    x = np.random.default_rng(seed).integers(-8, 8, rows)
    return [base.canonical(x), base.canonical(OUTPUTS[x + 8])]


@lru_cache(maxsize=1)
def honest() -> tuple[zk.ZkLookupStatement, zk.ZkLookupProof]:
    statement = pair_statement()
    return statement, zk.prove(statement, pair_rows(40, 3), rng=np.random.default_rng(11))


@pytest.mark.parametrize(
    ("statement", "rows"),
    [
        (range_statement(), [np.random.default_rng(1).integers(0, 64, 50)]),
        (range_statement(10, 8), [np.arange(10) * 25]),
        (range_statement(200, 4), [np.random.default_rng(2).integers(0, 16, 200)]),
        (pair_statement(), pair_rows(40, 4)),
        (pair_statement(1), pair_rows(1, 5)),
    ],
    ids=["range", "short-witness", "long-witness", "pairs", "one-row"],
)
def test_honest_proofs_verify_from_bytes(
    statement: zk.ZkLookupStatement, rows: list[np.ndarray]
) -> None:
    proof = zk.prove(statement, rows)
    zk.verify(statement, proof)
    zk.verify_bytes(statement, proof.to_bytes())
    assert zk.soundness_bits(statement) >= 100


def test_the_honest_prover_refuses_a_row_outside_the_table() -> None:
    statement = range_statement()
    rows = np.arange(50)
    rows[7] = 64
    with pytest.raises(ProverError, match="64"):
        zk.prove(statement, [rows])


def test_a_row_outside_the_table_is_rejected_when_the_prover_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The cheating prover counts the stray value as row 0: every helper column is computed
    honestly from what it committed, so only the logUp sum is false."""
    statement = range_statement()
    rows = np.random.default_rng(6).integers(0, 64, 50)
    rows[7] = 70
    skip_claimed_sum_checks(monkeypatch)
    honest_rows = rows.copy()
    honest_rows[7] = 0
    multiplicities = zk.witness_multiplicities(statement, [honest_rows])
    proof = zk.prove_with_multiplicities(statement, [rows], multiplicities)
    with pytest.raises(VerificationError) as caught:
        zk.verify(statement, proof)
    assert caught.value.reason is Reject.ROUND_SUM_MISMATCH


def test_a_pair_off_the_function_is_rejected_when_the_prover_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    skip_claimed_sum_checks(monkeypatch)
    statement = pair_statement()
    rows = pair_rows(40, 7)
    rows[1][3] = (rows[1][3] + 1) % P
    fixed = [rows[0], base.canonical(OUTPUTS[base.to_signed(rows[0]) + 8])]
    proof = zk.prove_with_multiplicities(
        statement, rows, zk.witness_multiplicities(statement, fixed)
    )
    with pytest.raises(VerificationError) as caught:
        zk.verify(statement, proof)
    assert caught.value.reason is Reject.ROUND_SUM_MISMATCH


def test_a_proof_for_one_table_is_rejected_for_another() -> None:
    statement, proof = honest()
    other = zk.ZkLookupStatement(function_table(4, (OUTPUTS + 1) % 11, offset=-8), 40)
    with pytest.raises(VerificationError) as caught:
        zk.verify(other, proof)
    assert caught.value.reason is Reject.ROUND_SUM_MISMATCH


def test_a_proof_is_bound_to_its_number_of_rows() -> None:
    statement, proof = honest()
    with pytest.raises(VerificationError) as caught:
        zk.verify(pair_statement(39), proof)
    assert caught.value.reason is Reject.ROUND_SUM_MISMATCH


# ---- the tamper table: one named, seeded case per proof field ----


def _plus_one(values: np.ndarray, index: tuple[int, ...]) -> np.ndarray:
    out = np.array(values, dtype=np.int64, copy=True)
    out[index] = (out[index] + 1) % P
    return out


def _flip(data: bytes) -> bytes:
    return bytes([data[0] ^ 1]) + data[1:]


def _tree(proof: OpeningProof, index: int, **changes: object) -> OpeningProof:
    trees = list(proof.trees)
    trees[index] = dataclasses.replace(trees[index], **changes)
    return dataclasses.replace(proof, trees=tuple(trees))


def _opening(index: int, **changes: Callable[[TreeOpening], object]) -> Callable:
    def edit(proof: zk.ZkLookupProof) -> zk.ZkLookupProof:
        tree = proof.opening.trees[index]
        values = {name: change(tree) for name, change in changes.items()}
        return dataclasses.replace(proof, opening=_tree(proof.opening, index, **values))

    return edit


def _sumcheck(**changes: Callable[[ZkSumcheckProof], object]) -> Callable:
    def edit(proof: zk.ZkLookupProof) -> zk.ZkLookupProof:
        values = {name: change(proof.sumcheck) for name, change in changes.items()}
        return dataclasses.replace(proof, sumcheck=dataclasses.replace(proof.sumcheck, **values))

    return edit


def _final(column: int) -> Callable:
    def edit(proof: zk.ZkLookupProof) -> zk.ZkLookupProof:
        return dataclasses.replace(proof, finals=_plus_one(proof.finals, (0, column)))

    return edit


def _root(field: str) -> Callable:
    def edit(proof: zk.ZkLookupProof) -> zk.ZkLookupProof:
        commitment = getattr(proof, field)
        return dataclasses.replace(
            proof, **{field: dataclasses.replace(commitment, root=_flip(commitment.root))}
        )

    return edit


def _commitment_field(field: str, **changes: object) -> Callable:
    def edit(proof: zk.ZkLookupProof) -> zk.ZkLookupProof:
        commitment = dataclasses.replace(getattr(proof, field), **changes)
        return dataclasses.replace(proof, **{field: commitment})

    return edit


def _mask_commitment_root(sumcheck: ZkSumcheckProof) -> object:
    commitment = sumcheck.mask_commitment
    return dataclasses.replace(commitment, root=_flip(commitment.root))


def _mask_opening_column(sumcheck: ZkSumcheckProof) -> object:
    opening = sumcheck.mask_opening
    columns = _plus_one(opening.trees[0].columns, (0, 0))
    return _tree(opening, 0, columns=columns)


WIDTH = 2
TAMPER_TABLE: dict[str, tuple[Callable[[zk.ZkLookupProof], zk.ZkLookupProof], Reject]] = {
    "witness_commitment.root": (_root("witness_commitment"), Reject.ROUND_SUM_MISMATCH),
    "witness_commitment.not_hiding": (
        _commitment_field("witness_commitment", hiding=False, mask_groups=0),
        Reject.PARAMETER_MISMATCH,
    ),
    "witness_commitment.tables": (
        _commitment_field("witness_commitment", num_polynomials=WIDTH),
        Reject.PARAMETER_MISMATCH,
    ),
    "helper_commitment.root": (_root("helper_commitment"), Reject.ROUND_SUM_MISMATCH),
    "helper_commitment.num_vars": (
        _commitment_field("helper_commitment", num_vars=6),
        Reject.PARAMETER_MISMATCH,
    ),
    "sumcheck.mask_commitment": (
        _sumcheck(mask_commitment=_mask_commitment_root),
        Reject.ROUND_SUM_MISMATCH,
    ),
    "sumcheck.mask_sum": (
        _sumcheck(mask_sum=lambda s: _plus_one(s.mask_sum, (0,))),
        Reject.ROUND_SUM_MISMATCH,
    ),
    "sumcheck.round_polys": (
        _sumcheck(sumcheck=lambda s: SumcheckProof(_plus_one(s.sumcheck.round_polys, (2, 0, 1)))),
        Reject.ROUND_SUM_MISMATCH,
    ),
    "sumcheck.mask_values": (
        _sumcheck(mask_values=lambda s: _plus_one(s.mask_values, (0, 1))),
        Reject.EVALUATION_MISMATCH,
    ),
    "sumcheck.mask_opening": (
        _sumcheck(mask_opening=_mask_opening_column),
        Reject.MERKLE_PATH_INVALID,
    ),
    "finals.witness": (_final(0), Reject.FINAL_EVALUATION_MISMATCH),
    "finals.multiplicity": (_final(WIDTH), Reject.FINAL_EVALUATION_MISMATCH),
    "finals.h_limb": (_final(WIDTH + 2), Reject.FINAL_EVALUATION_MISMATCH),
    "finals.g_limb": (_final(WIDTH + 1 + 2 * ext.DEGREE - 1), Reject.FINAL_EVALUATION_MISMATCH),
    "opening.commitments_digest": (
        lambda p: dataclasses.replace(
            p,
            opening=dataclasses.replace(
                p.opening, commitments_digest=_flip(p.opening.commitments_digest)
            ),
        ),
        Reject.COMMITMENT_MISMATCH,
    ),
    "opening.mask_evaluations": (
        _opening(0, mask_evaluations=lambda t: _plus_one(t.mask_evaluations, (0, 0))),
        Reject.EVALUATION_MISMATCH,
    ),
    "opening.evaluation_rows": (
        _opening(1, evaluation_rows=lambda t: _plus_one(t.evaluation_rows, (0, 0, 3))),
        Reject.EVALUATION_MISMATCH,
    ),
    "opening.proximity_row": (
        # absorbed before the column queries are drawn, so other columns are asked for
        _opening(0, proximity_row=lambda t: _plus_one(t.proximity_row, (1, 2))),
        Reject.MERKLE_PATH_INVALID,
    ),
    "opening.columns": (
        _opening(1, columns=lambda t: _plus_one(t.columns, (1, 0))),
        Reject.MERKLE_PATH_INVALID,
    ),
    "opening.salts": (
        _opening(0, salts=lambda t: (_flip(t.salts[0]), *t.salts[1:])),
        Reject.MERKLE_PATH_INVALID,
    ),
    "opening.merkle_proof": (
        _opening(
            1,
            merkle_proof=lambda t: dataclasses.replace(
                t.merkle_proof,
                siblings=(_flip(t.merkle_proof.siblings[0]), *t.merkle_proof.siblings[1:]),
            ),
        ),
        Reject.MERKLE_PATH_INVALID,
    ),
}


@pytest.mark.parametrize("name", sorted(TAMPER_TABLE))
def test_tamper_table(name: str) -> None:
    statement, proof = honest()
    edit, reason = TAMPER_TABLE[name]
    tampered = edit(proof)
    with pytest.raises(VerificationError) as caught:
        zk.verify(statement, tampered)
    assert caught.value.reason is reason, caught.value


def test_the_tamper_table_names_every_proof_field() -> None:
    fields = {f.name for f in dataclasses.fields(zk.ZkLookupProof)}
    assert fields == {name.split(".")[0] for name in TAMPER_TABLE}


def test_hostile_bytes_only_raise_verification_errors() -> None:
    statement, proof = honest()
    data = proof.to_bytes()
    rng = np.random.default_rng(5)
    cases = [data[:cut] for cut in (0, 1, 40, len(data) // 2, len(data) - 1)]
    cases.append(data + b"\0")
    for _ in range(40):
        position = int(rng.integers(len(data)))
        cases.append(data[:position] + bytes([data[position] ^ 0x5A]) + data[position + 1 :])
    cases.append(rng.bytes(len(data)))
    for case in cases:
        with pytest.raises(VerificationError):
            zk.verify_bytes(statement, case)


# ---- zero knowledge ----


def _revealed(statement: zk.ZkLookupStatement, rows: np.ndarray, seed: int) -> np.ndarray:
    """The low two bits of every revealed final limb and of every masked round coefficient."""
    proof = zk.prove(statement, [rows], rng=np.random.default_rng(seed))
    values = np.concatenate(
        [proof.finals.reshape(-1), proof.sumcheck.sumcheck.round_polys.reshape(-1)]
    )
    return values & 3


def _unmasked(statement: zk.ZkLookupStatement, rows: np.ndarray, seed: int) -> np.ndarray:
    """The control: the witness's own MLE at a proof's point, which the doubling hides."""
    proof = zk.prove(statement, [rows], rng=np.random.default_rng(seed))
    point = zk.replay_point(statement, proof)
    padded = np.full(1 << statement.log_size, 0, np.int64)
    padded[: rows.shape[0]] = rows
    return multilinear.evaluate(padded, point[:, 1:]) & 3


ZERO_ROWS = np.zeros(50, np.int64)
HIGH_ROWS = np.full(50, 63, np.int64)
RUNS = 24


def test_two_witnesses_reveal_alike_values() -> None:
    statement = range_statement()
    first = np.concatenate([_revealed(statement, ZERO_ROWS, s) for s in range(RUNS)])
    second = np.concatenate([_revealed(statement, HIGH_ROWS, 100 + s) for s in range(RUNS)])
    # 3 degrees of freedom: 16.3 is the 0.1% point.
    assert chi_square(first, second) < 16.3


def test_the_same_statistic_separates_the_witnesses_without_the_doubled_half() -> None:
    statement = range_statement()
    first = np.concatenate([_unmasked(statement, ZERO_ROWS, s) for s in range(RUNS)])
    second = np.concatenate([_unmasked(statement, HIGH_ROWS, 100 + s) for s in range(RUNS)])
    assert chi_square(first.reshape(-1), second.reshape(-1)) > 16.3


def test_the_eq_weights_of_a_random_point_span_the_challenge_field() -> None:
    """f'(r) = Σ_x eq(r, x)·f'(x) is uniform over the challenge field when the 2^L weights
    span it over the base field: their limbs form a 4 × 2^L matrix of rank 4."""
    rng = np.random.default_rng(9)
    for log in (2, 3, 6):
        point = ext.random((log,), rng).reshape(ext.DEGREE, log)
        weights = multilinear.eq_table(point)
        assert _rank_mod_p(weights.tolist()) == ext.DEGREE


def _rank_mod_p(matrix: list[list[int]]) -> int:
    rows = [[value % P for value in row] for row in matrix]
    rank, columns = 0, len(rows[0])
    for column in range(columns):
        pivot = next((r for r in range(rank, len(rows)) if rows[r][column]), None)
        if pivot is None:
            continue
        rows[rank], rows[pivot] = rows[pivot], rows[rank]
        inverse = pow(rows[rank][column], P - 2, P)
        rows[rank] = [value * inverse % P for value in rows[rank]]
        for r in range(len(rows)):
            if r != rank and rows[r][column]:
                factor = rows[r][column]
                rows[r] = [(a - factor * b) % P for a, b in zip(rows[r], rows[rank], strict=True)]
        rank += 1
    return rank


def test_without_a_generator_the_doubled_halves_differ_between_proofs() -> None:
    statement = range_statement()
    rows = np.arange(50)
    first, second = zk.prove(statement, [rows]), zk.prove(statement, [rows])
    assert not np.array_equal(first.finals, second.finals)
    assert first.witness_commitment.root != second.witness_commitment.root

"""The batched masked sumcheck with public group totals (provers/sumcheck/batched_zk.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import pytest

from provers.errors import ProverError, Reject, VerificationError
from provers.field import base, ext
from provers.poly import multilinear
from provers.sumcheck import batched_zk as bz
from provers.sumcheck.combiners import product
from provers.sumcheck.proof import SumcheckProof
from provers.sumcheck.zk import ZkSumcheckProof, prove_zk_state
from provers.transcript import Transcript
from tests.provers.distributions import chi_square

P = base.P
SIZES = ((3, 2, 0), (5, 2, 0), (5, 3, 1), (4, 1, 1))
"""(variables, degree, group) of each term: two groups of two terms of different sizes."""


def make_terms(seed: int) -> list[bz.ZkProverTerm]:
    rng = np.random.default_rng(seed)
    return [
        bz.ZkProverTerm(
            bz.ZkTermShape(n, d, g), [base.random(1 << n, rng) for _ in range(d)], product(d)
        )
        for n, d, g in SIZES
    ]


def group_totals(terms: list[bz.ZkProverTerm]) -> np.ndarray:
    groups = 1 + max(term.shape.group for term in terms)
    totals = np.zeros((ext.DEGREE, groups), dtype=np.int64)
    for term in terms:
        g = term.shape.group
        totals[:, g] = ext.add(totals[:, g], bz._term_sum(term))
    return totals


def term_values(terms: list[bz.ZkProverTerm], point: np.ndarray) -> list[np.ndarray]:
    out = []
    for term in terms:
        local = bz.suffix(point, term.shape.num_vars)
        value = ext.one()
        for table in term.tables:
            value = ext.mul(value, multilinear.evaluate(table, local))
        out.append(np.asarray(value))
    return out


def check(
    proof: ZkSumcheckProof, terms: list[bz.ZkProverTerm], totals: np.ndarray, domain: str = "t"
) -> None:
    shapes = [term.shape for term in terms]
    point, weights = bz.verify(proof, shapes, totals, Transcript(domain))
    bz.check_final(weights, term_values(terms, point), "test")


def test_terms_of_different_sizes_and_degrees_prove_against_group_totals() -> None:
    terms = make_terms(1)
    totals = group_totals(terms)
    proof, point, finals = bz.prove(terms, totals, Transcript("t"))
    assert point.shape == (ext.DEGREE, 5)
    for term, values in zip(terms, finals, strict=True):
        local = bz.suffix(point, term.shape.num_vars)
        expected = [multilinear.evaluate(t, local) for t in term.tables]
        assert all(ext.equal(a, b) for a, b in zip(values, expected, strict=True))
    check(proof, terms, totals)


def test_a_group_summing_to_zero_needs_no_term_sum() -> None:
    """Two terms whose sums cancel: the proof states 0 and nothing about either sum."""
    terms = make_terms(2)[:2]
    rng = np.random.default_rng(3)
    first = bz._term_sum(terms[0])
    # Shift the second term's first table so that its sum is −H_1.
    table = base.random(1 << 5, rng)
    other = bz.ZkProverTerm(terms[1].shape, [table, np.ones(1 << 5, np.int64)], product(2))
    correction = ext.sub(ext.neg(first), bz._term_sum(other))
    assert not correction[1:].any()
    table[0] = (table[0] + int(correction[0])) % P
    other = bz.ZkProverTerm(terms[1].shape, [table, np.ones(1 << 5, np.int64)], product(2))
    zero = np.zeros((ext.DEGREE, 1), np.int64)
    proof, _, _ = bz.prove([terms[0], other], zero, Transcript("t"))
    check(proof, [terms[0], other], zero)
    assert not ext.equal(first, ext.zero())


def test_the_prover_refuses_a_false_total() -> None:
    terms = make_terms(4)
    totals = group_totals(terms)
    totals[0, 1] = (totals[0, 1] + 1) % P
    with pytest.raises(ProverError, match="group 1"):
        bz.prove(terms, totals, Transcript("t"))


def test_a_false_total_is_rejected_when_the_prover_goes_on() -> None:
    terms = make_terms(5)
    totals = group_totals(terms)
    false = totals.copy()
    false[0, 0] = (false[0, 0] + 1) % P
    transcript = Transcript("t")
    shapes = [term.shape for term in terms]
    lambdas = bz._absorb(transcript, "zk_batched", shapes, false)
    state = bz.BatchedState(terms, bz._weights(shapes, lambdas, 5))
    proof, _ = prove_zk_state(
        state, state.degree, bz._claim(false, lambdas), transcript, label="zk_batched"
    )
    with pytest.raises(VerificationError) as caught:
        check(proof, terms, false)
    assert caught.value.reason is Reject.ROUND_SUM_MISMATCH


def _plus_one(values: np.ndarray, index: tuple[int, ...]) -> np.ndarray:
    out = np.array(values, dtype=np.int64, copy=True)
    out[index] = (out[index] + 1) % P
    return out


def _field(**changes: Callable[[ZkSumcheckProof], object]) -> Callable:
    def edit(proof: ZkSumcheckProof) -> ZkSumcheckProof:
        return dataclasses.replace(proof, **{k: f(proof) for k, f in changes.items()})

    return edit


TAMPER: dict[str, tuple[Callable[[ZkSumcheckProof], ZkSumcheckProof], Reject]] = {
    "mask_sum": (_field(mask_sum=lambda p: _plus_one(p.mask_sum, (0,))), Reject.ROUND_SUM_MISMATCH),
    "sumcheck": (
        _field(sumcheck=lambda p: SumcheckProof(_plus_one(p.sumcheck.round_polys, (1, 0, 0)))),
        Reject.ROUND_SUM_MISMATCH,
    ),
    "mask_values": (
        _field(mask_values=lambda p: _plus_one(p.mask_values, (0, 2))),
        Reject.EVALUATION_MISMATCH,
    ),
    "mask_opening": (
        _field(
            mask_opening=lambda p: dataclasses.replace(
                p.mask_opening,
                trees=(
                    dataclasses.replace(
                        p.mask_opening.trees[0],
                        columns=_plus_one(p.mask_opening.trees[0].columns, (0, 1)),
                    ),
                ),
            )
        ),
        Reject.MERKLE_PATH_INVALID,
    ),
    "mask_commitment": (
        _field(
            mask_commitment=lambda p: dataclasses.replace(
                p.mask_commitment,
                root=bytes([p.mask_commitment.root[0] ^ 1]) + p.mask_commitment.root[1:],
            )
        ),
        Reject.ROUND_SUM_MISMATCH,
    ),
}


@pytest.mark.parametrize("name", sorted(TAMPER))
def test_tamper_table(name: str) -> None:
    terms = make_terms(6)
    totals = group_totals(terms)
    proof, _, _ = bz.prove(terms, totals, Transcript("t"))
    edit, reason = TAMPER[name]
    with pytest.raises(VerificationError) as caught:
        check(edit(proof), terms, totals)
    assert caught.value.reason is reason, caught.value


def test_the_tamper_table_names_every_proof_field() -> None:
    assert {f.name for f in dataclasses.fields(ZkSumcheckProof)} == set(TAMPER)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("value", Reject.FINAL_EVALUATION_MISMATCH),
        ("group", Reject.ROUND_SUM_MISMATCH),
        ("size", Reject.MASK_MISMATCH),
        ("unknown-group", Reject.MALFORMED),
    ],
)
def test_wrong_statements_are_rejected(change: str, reason: Reject) -> None:
    terms = make_terms(7)
    totals = group_totals(terms)
    proof, _, _ = bz.prove(terms, totals, Transcript("t"))
    shapes = [term.shape for term in terms]
    with pytest.raises(VerificationError) as caught:
        if change == "value":
            point, weights = bz.verify(proof, shapes, totals, Transcript("t"))
            values = term_values(terms, point)
            values[2] = _plus_one(values[2], (0,))
            bz.check_final(weights, values, "test")
        else:
            moved = {
                "group": dataclasses.replace(shapes[1], group=1),
                "size": dataclasses.replace(shapes[1], num_vars=6),
                "unknown-group": dataclasses.replace(shapes[1], group=5),
            }[change]
            bz.verify(proof, [shapes[0], moved, *shapes[2:]], totals, Transcript("t"))
    assert caught.value.reason is reason


def test_two_splits_of_one_total_send_alike_rounds() -> None:
    """Group 0 holds H_1 = a and H_2 = c − a: the masked rounds for a = 0 and for a random a
    have the same low-bit distribution."""

    def rounds(seed: int, cancel: bool) -> np.ndarray:
        terms = make_terms(seed)
        if cancel:
            # Make term 0 sum to 0 by zeroing a factor.
            terms[0] = bz.ZkProverTerm(
                terms[0].shape, [np.zeros(8, np.int64), terms[0].tables[1]], product(2)
            )
        proof, _, _ = bz.prove(
            terms, group_totals(terms), Transcript("t"), rng=np.random.default_rng(seed + 99)
        )
        return proof.sumcheck.round_polys.reshape(-1) & 3

    first = np.concatenate([rounds(s, False) for s in range(12)])
    second = np.concatenate([rounds(s, True) for s in range(12)])
    assert chi_square(first, second) < 16.3

"""Acceptance tests of the zero-knowledge (masked) sumcheck (provers/sumcheck/zk.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from provers.encoding import DIGEST_BYTES
from provers.errors import ProverError, Reject, VerificationError
from provers.field import base, ext
from provers.poly import multilinear, univariate
from provers.sumcheck import check_final_evaluation, product, prove
from provers.sumcheck.mask import MaskLayout, MaskPolynomial, coordinate_point
from provers.sumcheck.mask_commitment import TensorPcsMaskScheme
from provers.sumcheck.proof import SumcheckProof
from provers.sumcheck.prover import SumcheckProverState
from provers.sumcheck.zk import (
    MaskCommitmentScheme,
    ZkSumcheckProof,
    masked_rounds,
    prove_zk,
    verify_zk,
)
from provers.transcript import Transcript

P = base.P


SCHEME: MaskCommitmentScheme = TensorPcsMaskScheme()


def _statement(num_vars: int, degree: int, seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    rng = np.random.default_rng(seed)
    tables = [base.random(1 << num_vars, rng) for _ in range(degree)]
    values = product(degree)([ext.from_base(t) for t in tables])
    return tables, ext.sum_(values)


def _check(
    proof: ZkSumcheckProof,
    tables: list[np.ndarray],
    claim: np.ndarray,
    degree: int,
    label: str = "zk_sumcheck",
) -> np.ndarray:
    num_vars = multilinear.num_vars_of(tables[0].shape[0])
    point, expected = verify_zk(proof, num_vars, degree, claim, Transcript("test"), SCHEME, label)
    actual = product(degree)([multilinear.evaluate(t, point)[:, None] for t in tables])[:, 0]
    check_final_evaluation(expected, actual)
    return point


# --- honest round trips ---------------------------------------------------------------------


@pytest.mark.parametrize(("num_vars", "degree"), [(1, 1), (2, 2), (5, 2), (6, 3), (4, 4)])
def test_an_honest_masked_proof_verifies(num_vars: int, degree: int) -> None:
    tables, claim = _statement(num_vars, degree, seed=num_vars * 10 + degree)
    result = prove_zk(
        tables, product(degree), degree, claim, Transcript("test"), SCHEME, np.random.default_rng(1)
    )
    point = _check(result.proof, tables, claim, degree)
    assert np.array_equal(point, result.point)
    for table, value in zip(tables, result.final_values, strict=True):
        assert ext.equal(multilinear.evaluate(table, point), value)


def test_the_mask_comes_from_the_system_csprng_by_default() -> None:
    tables, claim = _statement(3, 2, seed=5)
    first = prove_zk(tables, product(2), 2, claim, Transcript("test"), SCHEME)
    second = prove_zk(tables, product(2), 2, claim, Transcript("test"), SCHEME)
    _check(first.proof, tables, claim, 2)
    assert not ext.equal(first.proof.mask_sum, second.proof.mask_sum)


def test_a_masked_proof_survives_an_encoding_round_trip() -> None:
    tables, claim = _statement(4, 2, seed=6)
    result = prove_zk(
        tables, product(2), 2, claim, Transcript("test"), SCHEME, np.random.default_rng(2)
    )
    data = result.proof.to_bytes(SCHEME)
    decoded = ZkSumcheckProof.from_bytes(data, 4, 2, SCHEME)
    assert decoded.to_bytes(SCHEME) == data
    _check(decoded, tables, claim, 2)
    with pytest.raises(VerificationError) as info:
        ZkSumcheckProof.from_bytes(data[:-1], 4, 2, SCHEME)
    assert info.value.reason is Reject.TRUNCATED
    with pytest.raises(VerificationError) as info:
        ZkSumcheckProof.from_bytes(data + b"\x00", 4, 2, SCHEME)
    assert info.value.reason is Reject.TRAILING_BYTES


# --- the mask polynomial --------------------------------------------------------------------


@pytest.mark.parametrize(("num_vars", "degree"), [(1, 1), (3, 2), (4, 3), (3, 4)])
def test_the_committed_vector_opens_to_each_univariate_part(num_vars: int, degree: int) -> None:
    rng = np.random.default_rng(num_vars + degree)
    mask = MaskPolynomial.sample(num_vars, degree, rng)
    layout = MaskLayout(num_vars, degree)
    vector = mask.commitment_vector()
    _, lam = coordinate_point()
    point = ext.random(num_vars, rng)
    for i in range(num_vars):
        opened = multilinear.evaluate(vector, layout.opening_point(i, point[:, i]))
        assert ext.equal(ext.mul(lam, opened), mask.univariate_at(i, point[:, i]))


def test_the_mask_sum_and_round_values_match_brute_force() -> None:
    rng = np.random.default_rng(8)
    num_vars, degree = 3, 2
    mask = MaskPolynomial.sample(num_vars, degree, rng)
    cube = [[(b >> (num_vars - 1 - j)) & 1 for j in range(num_vars)] for b in range(8)]

    def at(coords: list[np.ndarray]) -> np.ndarray:
        return mask.evaluate(np.stack(coords, axis=1))

    def const(v: int) -> np.ndarray:
        return np.array([v, 0, 0, 0], dtype=np.int64)

    total = ext.zero()
    for bits in cube:
        total = ext.add(total, at([const(b) for b in bits]))
    assert ext.equal(total, mask.cube_sum())
    r0 = ext.random((), rng)
    values = mask.round_values(1, mask.univariate_at(0, r0))
    for t in range(degree + 1):
        expected = ext.add(at([r0, const(t), const(0)]), at([r0, const(t), const(1)]))
        assert ext.equal(values[:, t], expected)


# --- tamper table ---------------------------------------------------------------------------


def _bump(value: np.ndarray) -> np.ndarray:
    out = np.array(value, dtype=np.int64, copy=True)
    out.flat[0] = (out.flat[0] + 1) % P
    return out


def _replace(proof: ZkSumcheckProof, **fields: Any) -> ZkSumcheckProof:
    parts = {
        "mask_commitment": proof.mask_commitment,
        "mask_sum": proof.mask_sum,
        "sumcheck": proof.sumcheck,
        "mask_values": proof.mask_values,
        "mask_opening": proof.mask_opening,
    }
    parts.update(fields)
    return ZkSumcheckProof(**parts)


def _with_opening(proof: ZkSumcheckProof, **changes: Any) -> ZkSumcheckProof:
    tree = dataclasses.replace(proof.mask_opening.trees[0], **changes)
    opening = dataclasses.replace(proof.mask_opening, trees=(tree,))
    return _replace(proof, mask_opening=opening)


def _bump_column(proof: ZkSumcheckProof) -> ZkSumcheckProof:
    columns = proof.mask_opening.trees[0].columns.copy()
    columns[3, 1] = (columns[3, 1] + 1) % P
    return _with_opening(proof, columns=columns)


def _swap_salt(proof: ZkSumcheckProof) -> ZkSumcheckProof:
    salts = proof.mask_opening.trees[0].salts
    return _with_opening(proof, salts=(salts[1], salts[0], *salts[2:]))


def _bump_evaluation_row(proof: ZkSumcheckProof) -> ZkSumcheckProof:
    return _with_opening(proof, evaluation_rows=_bump(proof.mask_opening.trees[0].evaluation_rows))


def _bump_mask_evaluation(proof: ZkSumcheckProof) -> ZkSumcheckProof:
    return _with_opening(
        proof, mask_evaluations=_bump(proof.mask_opening.trees[0].mask_evaluations)
    )


ZK_TAMPER_CASES: dict[str, tuple[Callable[[ZkSumcheckProof], ZkSumcheckProof], Reject]] = {
    "mask_sum_plus_one": (
        lambda p: _replace(p, mask_sum=_bump(p.mask_sum)),
        Reject.ROUND_SUM_MISMATCH,
    ),
    "mask_commitment_other_root": (
        lambda p: _replace(
            p, mask_commitment=dataclasses.replace(p.mask_commitment, root=bytes(DIGEST_BYTES))
        ),
        Reject.ROUND_SUM_MISMATCH,
    ),
    "mask_commitment_not_hiding": (
        lambda p: _replace(
            p,
            mask_commitment=dataclasses.replace(p.mask_commitment, hiding=False, mask_groups=0),
        ),
        Reject.PARAMETER_MISMATCH,
    ),
    "mask_value_plus_one": (
        lambda p: _replace(p, mask_values=_bump(p.mask_values)),
        Reject.EVALUATION_MISMATCH,
    ),
    "mask_values_truncated": (
        lambda p: _replace(p, mask_values=p.mask_values[:, :-1]),
        Reject.MASK_MISMATCH,
    ),
    "mask_opening_other_commitments_digest": (
        lambda p: _replace(
            p,
            mask_opening=dataclasses.replace(p.mask_opening, commitments_digest=bytes(32)),
        ),
        Reject.COMMITMENT_MISMATCH,
    ),
    "mask_opening_column_value_plus_one": (_bump_column, Reject.MERKLE_PATH_INVALID),
    "mask_opening_salts_swapped": (_swap_salt, Reject.MERKLE_PATH_INVALID),
    "mask_opening_evaluation_row_plus_one": (_bump_evaluation_row, Reject.EVALUATION_MISMATCH),
    "mask_opening_mask_evaluation_plus_one": (_bump_mask_evaluation, Reject.EVALUATION_MISMATCH),
    "round_message_plus_one": (
        lambda p: _replace(p, sumcheck=SumcheckProof(_bump(p.sumcheck.round_polys))),
        Reject.ROUND_SUM_MISMATCH,
    ),
    "last_round_last_value_plus_one": (
        lambda p: _replace(p, sumcheck=_bump_last_value(p.sumcheck)),
        # The changed message moves every later challenge, so the mask opening's evaluation
        # rows no longer match the claims they are checked against.
        Reject.EVALUATION_MISMATCH,
    ),
}


def _bump_last_value(proof: SumcheckProof) -> SumcheckProof:
    polys = proof.round_polys.copy()
    polys[-1, 0, -1] = (polys[-1, 0, -1] + 1) % P
    return SumcheckProof(polys)


@pytest.mark.parametrize("case", sorted(ZK_TAMPER_CASES))
def test_verify_zk_rejects_a_tampered_proof(case: str) -> None:
    tamper, reason = ZK_TAMPER_CASES[case]
    seed = sorted(ZK_TAMPER_CASES).index(case)
    tables, claim = _statement(4, 2, seed=seed)
    rng = np.random.default_rng(100 + seed)
    result = prove_zk(tables, product(2), 2, claim, Transcript("test"), SCHEME, rng)
    _check(result.proof, tables, claim, 2)
    with pytest.raises(VerificationError) as info:
        _check(tamper(result.proof), tables, claim, 2)
    assert info.value.reason is reason, info.value


def test_from_bytes_rejects_a_non_hiding_mask_commitment() -> None:
    tables, claim = _statement(3, 2, seed=22)
    result = prove_zk(
        tables, product(2), 2, claim, Transcript("test"), SCHEME, np.random.default_rng(5)
    )
    data = bytearray(result.proof.to_bytes(SCHEME))
    hiding_flag_offset = DIGEST_BYTES + 3
    assert data[hiding_flag_offset] == 1
    data[hiding_flag_offset] = 0
    data[hiding_flag_offset + 1] = 0
    with pytest.raises(VerificationError) as info:
        ZkSumcheckProof.from_bytes(bytes(data), 3, 2, SCHEME)
    assert info.value.reason is Reject.PARAMETER_MISMATCH


def test_the_prover_refuses_a_false_claimed_sum_in_zero_knowledge_mode() -> None:
    tables, claim = _statement(3, 2, seed=23)
    with pytest.raises(ProverError):
        prove_zk(tables, product(2), 2, ext.add(claim, ext.one()), Transcript("t"), SCHEME)


def test_verify_zk_rejects_a_wrong_claimed_sum() -> None:
    tables, claim = _statement(4, 2, seed=21)
    result = prove_zk(
        tables, product(2), 2, claim, Transcript("test"), SCHEME, np.random.default_rng(3)
    )
    with pytest.raises(VerificationError) as info:
        _check(result.proof, tables, ext.add(claim, ext.one()), 2)
    assert info.value.reason is Reject.ROUND_SUM_MISMATCH


# --- zero knowledge -------------------------------------------------------------------------


def _equal_sum_secrets(num_vars: int, rng: np.random.Generator) -> list[list[np.ndarray]]:
    """Two unrelated pairs (f, g) with the same Σ f·g (the second pair's first entry adjusted)."""
    f_a, g_a = base.random(1 << num_vars, rng), base.random(1 << num_vars, rng)
    f_b, g_b = base.random(1 << num_vars, rng), base.random(1 << num_vars, rng)
    g_b[0] = 1
    f_b[0] = (int((f_a * g_a % P).sum()) - int((f_b[1:] * g_b[1:] % P).sum())) % P
    return [[f_a, g_a], [f_b, g_b]]


def _round_message_sample(tables: list[np.ndarray], seed: int, masked: bool) -> np.ndarray:
    num_vars = multilinear.num_vars_of(tables[0].shape[0])
    claim = ext.sum_(product(2)([ext.from_base(t) for t in tables]))
    rng = np.random.default_rng(seed)
    mask = MaskPolynomial.sample(num_vars, 2, rng)
    if not masked:
        mask = MaskPolynomial(np.zeros_like(mask.coefficients))
    rho = ext.random((), rng)
    state = SumcheckProverState(tables, product(2), 2, claim)
    proof, _ = masked_rounds(state, mask, rho, Transcript(f"run {seed}"), "masked")
    return proof.round_polys


def _chi_square_two_samples(a: np.ndarray, b: np.ndarray, bins: int) -> float:
    count_a = np.bincount(a, minlength=bins).astype(float)
    count_b = np.bincount(b, minlength=bins).astype(float)
    total = count_a + count_b
    used = total > 0
    return float((((count_a - count_b) ** 2)[used] / total[used]).sum())


@pytest.mark.parametrize("masked", [True, False], ids=["masked", "unmasked_control"])
def test_round_messages_of_two_secrets_with_one_sum_are_indistinguishable(masked: bool) -> None:
    secrets = _equal_sum_secrets(4, np.random.default_rng(77))
    runs, bins = 200, 16
    samples = []
    for tables in secrets:
        low_bits = []
        for seed in range(runs):
            polys = _round_message_sample(tables, seed, masked)
            low_bits.append([int(polys[i, k, 2]) % bins for i in range(3) for k in (0, 3)])
        samples.append(np.array(low_bits))
    statistics = [
        _chi_square_two_samples(samples[0][:, j], samples[1][:, j], bins)
        for j in range(samples[0].shape[1])
    ]
    # χ² with 15 degrees of freedom exceeds 45 with probability below 1e-4.
    if masked:
        assert max(statistics) < 45.0, statistics
    else:
        assert max(statistics) > 45.0, statistics


def test_each_round_message_is_the_unmasked_one_shifted_by_the_fresh_mask_coefficients() -> None:
    # The exact uniformity condition: h_i − F_i has coefficients ρ·2^{n−i−1}·a_{i,k} for k ≥ 1,
    # so for ρ ≠ 0 the map from g_i's coefficients to h_i's is a bijection.
    tables, claim = _statement(4, 2, seed=31)
    rng = np.random.default_rng(4)
    mask = MaskPolynomial.sample(4, 2, rng)
    rho = ext.random((), rng)
    transcript = Transcript("exact")
    state = SumcheckProverState(tables, product(2), 2, claim)
    masked, point = masked_rounds(state, mask, rho, transcript, "masked")
    unmasked_state = SumcheckProverState(tables, product(2), 2, claim)
    message = unmasked_state.first_message()
    for i in range(4):
        difference = univariate.interpolate_coefficients(ext.sub(masked.round_polys[i], message))
        scale = ext.scale(rho, pow(2, 4 - i - 1, P))
        for k in (1, 2):
            assert ext.equal(difference[:, k], ext.mul(scale, mask.coefficients[i][:, k]))
        message = unmasked_state.receive_challenge(point[:, i])


def test_the_proof_bytes_do_not_contain_the_secret_values() -> None:
    num_vars = 6
    rng = np.random.default_rng(12)
    distinctive = [0x1234567, 0x7654321, 0x5A5A5A5, 0x3C3C3C3]
    f = base.random(1 << num_vars, rng)
    g = base.random(1 << num_vars, rng)
    f[: len(distinctive)] = distinctive
    g[-len(distinctive) :] = distinctive
    claim = ext.sum_(ext.mul(ext.from_base(f), ext.from_base(g)))
    result = prove_zk(
        [f, g], product(2), 2, claim, Transcript("test"), SCHEME, np.random.default_rng(13)
    )
    data = result.proof.to_bytes(SCHEME)
    for value in distinctive:
        assert value.to_bytes(4, "little") not in data
    plain = prove([f, g], product(2), 2, claim, Transcript("test")).proof.to_bytes()
    assert any(v.to_bytes(4, "little") in ext.to_bytes(ext.from_base(f)) for v in distinctive), (
        "the search would find the values where they are present"
    )
    assert len(plain) < len(data)


@pytest.mark.slow
def test_full_proofs_of_two_secrets_with_one_sum_are_indistinguishable() -> None:
    # End to end with Fiat–Shamir and the hiding PCS: round values, G and the opened mask
    # values of 200 seeded proofs per secret, low bits compared by a two-sample χ² test.
    secrets = _equal_sum_secrets(3, np.random.default_rng(78))
    claim = ext.sum_(product(2)([ext.from_base(t) for t in secrets[0]]))
    runs, bins = 200, 16
    samples = []
    for tables in secrets:
        rows = []
        for seed in range(runs):
            proof = prove_zk(
                tables, product(2), 2, claim, Transcript("t"), SCHEME, np.random.default_rng(seed)
            ).proof
            polys = proof.sumcheck.round_polys
            rows.append(
                [int(polys[i, 0, t]) % bins for i in range(3) for t in (0, 2)]
                + [int(proof.mask_sum[0]) % bins, int(proof.mask_values[0, 0]) % bins]
            )
        samples.append(np.array(rows))
    statistics = [
        _chi_square_two_samples(samples[0][:, j], samples[1][:, j], bins)
        for j in range(samples[0].shape[1])
    ]
    assert max(statistics) < 45.0, statistics

"""Acceptance tests of the sumcheck prover and verifier (provers/sumcheck)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from provers.errors import ProverError, Reject, VerificationError
from provers.field import base, ext
from provers.field.backend import Array
from provers.poly import multilinear, univariate
from provers.sumcheck import (
    SumcheckProof,
    SumcheckProverState,
    SumcheckVerifierState,
    check_final_evaluation,
    product,
    prove,
    prove_standalone,
    verify,
    verify_standalone,
)
from provers.transcript import Transcript

P = base.P


def _tables(num_vars: int, count: int, in_ext: bool, rng: np.random.Generator) -> list[np.ndarray]:
    size = 1 << num_vars
    return [ext.random(size, rng) if in_ext else base.random(size, rng) for _ in range(count)]


def _as_ext(table: np.ndarray) -> np.ndarray:
    return table if table.ndim == 2 else ext.from_base(table)


def _brute_sum(tables: list[np.ndarray], combine: Callable[[list[Array]], Array]) -> np.ndarray:
    return ext.sum_(combine([_as_ext(t) for t in tables]))


def _square_plus_product(values: list[Array]) -> Array:
    """A non-product combiner of degree 3: f·f·g + 5·g (exercises the generic path)."""
    f, g = values
    return ext.add(ext.mul(ext.mul(f, f), g), ext.scale(g, 5))


class _SquarePlusProductWithBase:
    """The same polynomial with a base-field form, so round 1 and 2 stay in the base field."""

    def __call__(self, values: list[Array]) -> Array:
        return _square_plus_product(values)

    def combine_base(self, values: list[Array]) -> Array:
        f, g = values
        return base.add(base.mul(base.mul(f, f), g), base.mul(g, 5))


def _final_check(
    tables: list[np.ndarray], combine: Callable[[list[Array]], Array], point: np.ndarray
) -> np.ndarray:
    values = [multilinear.evaluate(t, point)[:, None] for t in tables]
    return combine(values)[:, 0]


def _proved(
    num_vars: int = 4, seed: int = 0, count: int = 2
) -> tuple[list[np.ndarray], np.ndarray, SumcheckProof]:
    rng = np.random.default_rng(seed)
    tables = _tables(num_vars, count, False, rng)
    claim = _brute_sum(tables, product(count))
    result = prove(tables, product(count), count, claim, Transcript("test"))
    return tables, claim, result.proof


# --- honest round trips -------------------------------------------------------------------


@pytest.mark.parametrize("num_vars", [1, 2, 5, 10])
@pytest.mark.parametrize("degree", [2, 3])
@pytest.mark.parametrize("in_ext", [False, True], ids=["base", "ext"])
def test_an_honest_product_proof_verifies(num_vars: int, degree: int, in_ext: bool) -> None:
    rng = np.random.default_rng(1000 * num_vars + 10 * degree + in_ext)
    tables = _tables(num_vars, degree, in_ext, rng)
    combine = product(degree)
    claim = _brute_sum(tables, combine)
    result = prove(tables, combine, degree, claim, Transcript("test"))
    point, expected = verify(result.proof, num_vars, degree, claim, Transcript("test"))
    assert np.array_equal(point, result.point)
    for table, value in zip(tables, result.final_values, strict=True):
        assert ext.equal(multilinear.evaluate(table, point), value)
    check_final_evaluation(expected, _final_check(tables, combine, point))


def test_a_four_factor_degree_four_product_verifies() -> None:
    rng = np.random.default_rng(44)
    tables = _tables(6, 2, False, rng) + _tables(6, 2, True, rng)
    claim = _brute_sum(tables, product(4))
    result = prove(tables, product(4), 4, claim, Transcript("test"))
    point, expected = verify(result.proof, 6, 4, claim, Transcript("test"))
    check_final_evaluation(expected, _final_check(tables, product(4), point))


@pytest.mark.parametrize("in_ext", [False, True], ids=["base", "ext"])
@pytest.mark.parametrize("with_base_form", [False, True], ids=["ext_only", "with_base_form"])
def test_a_generic_non_product_combiner_verifies(in_ext: bool, with_base_form: bool) -> None:
    rng = np.random.default_rng(7)
    tables = _tables(5, 2, in_ext, rng)
    combine = _SquarePlusProductWithBase() if with_base_form else _square_plus_product
    claim = _brute_sum(tables, _square_plus_product)
    result = prove(tables, combine, 3, claim, Transcript("test"))
    point, expected = verify(result.proof, 5, 3, claim, Transcript("test"))
    check_final_evaluation(expected, _final_check(tables, _square_plus_product, point))
    plain = prove(tables, _square_plus_product, 3, claim, Transcript("test"))
    assert plain.proof == result.proof


def test_a_product_over_many_chunks_verifies() -> None:
    from provers.sumcheck import prover as prover_module

    rng = np.random.default_rng(3)
    tables = _tables(17, 2, False, rng)
    claim = _brute_sum(tables, product(2))
    assert prover_module.CHUNK < (1 << 16)
    result = prove_standalone(tables, product(2), 2, claim)
    point, expected = verify_standalone(result.proof, 17, 2, claim)
    check_final_evaluation(expected, _final_check(tables, product(2), point))


def test_zero_variables_reduce_to_the_single_value() -> None:
    tables = [np.array([6], dtype=np.int64), np.array([7], dtype=np.int64)]
    claim = ext.from_base(np.array([42]))[:, 0]
    result = prove(tables, product(2), 2, claim, Transcript("test"))
    point, expected = verify(result.proof, 0, 2, claim, Transcript("test"))
    assert point.shape == (4, 0)
    check_final_evaluation(expected, ext.mul(*result.final_values))


# --- brute force and transcript agreement -----------------------------------------------------


@pytest.mark.parametrize("in_ext", [False, True], ids=["base", "ext"])
def test_round_polynomials_equal_brute_force_sums_over_the_cube(in_ext: bool) -> None:
    rng = np.random.default_rng(11)
    num_vars = 4
    tables = _tables(num_vars, 3, in_ext, rng)
    combine = product(3)
    result = prove(tables, combine, 3, _brute_sum(tables, combine), Transcript("test"))
    for i in range(num_vars):
        prefix = [_as_ext(t) for t in tables]
        for k in range(i):
            prefix = [multilinear.fix_first(t, result.point[:, k]) for t in prefix]
        for t_value in range(4):
            node = ext.from_base(np.array([t_value]))[:, 0]
            fixed = [multilinear.fix_first(t, node) for t in prefix]
            assert ext.equal(result.proof.round_polys[i][:, t_value], _brute_sum(fixed, combine))


def test_prover_and_verifier_draw_the_same_challenges() -> None:
    tables, claim, _ = _proved(num_vars=6)
    prover_transcript, verifier_transcript = Transcript("outer"), Transcript("outer")
    result = prove(tables, product(2), 2, claim, prover_transcript)
    point, _ = verify(result.proof, 6, 2, claim, verifier_transcript)
    assert np.array_equal(result.point, point)
    assert prover_transcript.state == verifier_transcript.state


def test_the_interactive_steps_agree_with_the_fiat_shamir_form() -> None:
    tables, claim, _ = _proved(num_vars=3)
    prover = SumcheckProverState(tables, product(2), 2, claim)
    verifier = SumcheckVerifierState(3, 2, claim)
    rng = np.random.default_rng(5)
    message = prover.first_message()
    while message is not None:
        verifier.receive(message)
        challenge = ext.random((), rng)
        verifier.set_challenge(challenge)
        message = prover.receive_challenge(challenge)
    point, expected = verifier.final_claim()
    assert ext.equal(expected, ext.mul(*prover.final_values()))
    assert ext.equal(prover.final_values()[0], multilinear.evaluate(tables[0], point))


def test_the_prover_refuses_a_false_claimed_sum() -> None:
    tables, claim, _ = _proved()
    with pytest.raises(ProverError):
        prove(tables, product(2), 2, ext.add(claim, ext.one()), Transcript("test"))


def test_round_messages_evaluate_consistently_at_the_challenges() -> None:
    tables, claim, proof = _proved(num_vars=5)
    point, expected = verify(proof, 5, 2, claim, Transcript("test"))
    last = univariate.evaluate(proof.round_polys[-1], point[:, -1])
    assert ext.equal(last, expected)


# --- tamper table ---------------------------------------------------------------------------

NUM_VARS = 4
DEGREE = 2


def _add_one(polys: np.ndarray, round_index: int, node: int) -> np.ndarray:
    out = polys.copy()
    out[round_index, 0, node] = (out[round_index, 0, node] + 1) % P
    return out


def _swap(polys: np.ndarray) -> np.ndarray:
    out = polys.copy()
    out[[1, 2]] = out[[2, 1]]
    return out


def _add_p(polys: np.ndarray) -> np.ndarray:
    out = polys.copy()
    out[0, 0, 0] += P
    return out


def _extend(polys: np.ndarray) -> np.ndarray:
    return np.concatenate([polys, polys[-1:]], axis=0)


TAMPER_CASES: dict[str, tuple[Callable[[np.ndarray], np.ndarray], dict[str, object], Reject]] = {
    **{
        f"add_one_to_round_{i}_g0": (
            lambda p, i=i: _add_one(p, i, 0),
            {},
            Reject.ROUND_SUM_MISMATCH,
        )
        for i in range(NUM_VARS)
    },
    **{
        f"add_one_to_round_{i}_g1": (
            lambda p, i=i: _add_one(p, i, 1),
            {},
            Reject.ROUND_SUM_MISMATCH,
        )
        for i in range(NUM_VARS)
    },
    **{
        f"add_one_to_round_{i}_last_value": (
            lambda p, i=i: _add_one(p, i, DEGREE),
            {},
            Reject.ROUND_SUM_MISMATCH if i < NUM_VARS - 1 else Reject.FINAL_EVALUATION_MISMATCH,
        )
        for i in range(NUM_VARS)
    },
    "swap_rounds_1_and_2": (_swap, {}, Reject.ROUND_SUM_MISMATCH),
    "truncate_last_round": (lambda p: p[:-1], {}, Reject.ROUND_COUNT_MISMATCH),
    "extend_with_an_extra_round": (_extend, {}, Reject.ROUND_COUNT_MISMATCH),
    "drop_the_last_value_of_each_round": (lambda p: p[:, :, :-1], {}, Reject.ROUND_DEGREE_MISMATCH),
    "verify_with_a_higher_degree": (
        lambda p: p,
        {"degree": DEGREE + 1},
        Reject.ROUND_DEGREE_MISMATCH,
    ),
    "wrong_claimed_sum": (lambda p: p, {"claim_offset": 1}, Reject.ROUND_SUM_MISMATCH),
    "different_outer_transcript": (lambda p: p, {"label": "other"}, Reject.ROUND_SUM_MISMATCH),
    "non_canonical_round_value": (
        lambda p: _add_p(p),
        {},
        Reject.NON_CANONICAL_FIELD_ELEMENT,
    ),
}


def _verify_with_final_check(
    proof: SumcheckProof,
    tables: list[np.ndarray],
    claim: np.ndarray,
    degree: int = DEGREE,
    label: str = "sumcheck",
    num_vars: int = NUM_VARS,
) -> None:
    point, expected = verify(proof, num_vars, degree, claim, Transcript("test"), label)
    check_final_evaluation(expected, _final_check(tables, product(DEGREE), point))


@pytest.mark.parametrize("case", sorted(TAMPER_CASES))
def test_verify_rejects_a_tampered_proof(case: str) -> None:
    tamper, options, reason = TAMPER_CASES[case]
    tables, claim, proof = _proved(num_vars=NUM_VARS, seed=sorted(TAMPER_CASES).index(case))
    _verify_with_final_check(proof, tables, claim)
    claim_offset = int(options.get("claim_offset", 0))  # type: ignore[call-overload]
    claim = ext.add(claim, ext.scale(ext.one(), claim_offset))
    tampered = SumcheckProof(tamper(proof.round_polys))
    with pytest.raises(VerificationError) as info:
        _verify_with_final_check(
            tampered,
            tables,
            claim,
            degree=int(options.get("degree", DEGREE)),  # type: ignore[call-overload]
            label=str(options.get("label", "sumcheck")),
        )
    assert info.value.reason is reason, info.value


def test_a_one_round_honest_proof_holds_under_any_outer_transcript() -> None:
    # With one round the message is the true g_1 itself, so every challenge is consistent: the
    # transcript binding is what the multi-round case above tests.
    tables, claim, proof = _proved(num_vars=1)
    _verify_with_final_check(proof, tables, claim, label="other", num_vars=1)


def test_verify_rejects_parameters_out_of_bounds() -> None:
    _, claim, proof = _proved()
    with pytest.raises(VerificationError) as info:
        verify(proof, NUM_VARS, 0, claim, Transcript("test"))
    assert info.value.reason is Reject.PARAMETER_MISMATCH


# --- encoding -------------------------------------------------------------------------------


def test_a_proof_survives_an_encoding_round_trip() -> None:
    _, claim, proof = _proved()
    data = proof.to_bytes()
    assert len(data) == NUM_VARS * (4 + 16 * (DEGREE + 1))
    decoded = SumcheckProof.from_bytes(data, NUM_VARS, DEGREE)
    assert decoded == proof
    verify(decoded, NUM_VARS, DEGREE, claim, Transcript("test"))


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda d: d[:-1], Reject.TRUNCATED),
        (lambda d: d[:10], Reject.TRUNCATED),
        (lambda d: b"", Reject.TRUNCATED),
        (lambda d: d + b"\x00", Reject.TRAILING_BYTES),
        (lambda d: d[:4] + b"\xff\xff\xff\xff" + d[8:], Reject.NON_CANONICAL_FIELD_ELEMENT),
        (lambda d: d[:4] + (P).to_bytes(4, "little") + d[8:], Reject.NON_CANONICAL_FIELD_ELEMENT),
        (lambda d: b"\x04\x00\x00\x00" + d[4:], Reject.LENGTH_OUT_OF_BOUNDS),
    ],
    ids=["drop_last_byte", "keep_ten_bytes", "empty", "trailing_byte", "all_ones", "p", "count"],
)
def test_from_bytes_rejects_damaged_bytes(mutate: Callable[[bytes], bytes], reason: Reject) -> None:
    _, _, proof = _proved()
    with pytest.raises(VerificationError) as info:
        SumcheckProof.from_bytes(mutate(proof.to_bytes()), NUM_VARS, DEGREE)
    assert info.value.reason is reason


def test_from_bytes_rejects_hostile_parameters() -> None:
    with pytest.raises(VerificationError) as info:
        SumcheckProof.from_bytes(b"", 1 << 20, 2)
    assert info.value.reason is Reject.PARAMETER_MISMATCH


# --- torch ----------------------------------------------------------------------------------


@pytest.mark.parametrize("mixed", [False, True], ids=["all_base", "base_and_ext"])
def test_the_prover_on_torch_tensors_gives_the_identical_proof(mixed: bool) -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    tables = _tables(6, 2, False, rng) + _tables(6, 1, mixed, rng)
    claim = _brute_sum(tables, product(3))
    numpy_result = prove(tables, product(3), 3, claim, Transcript("test"))
    torch_tables = [torch.from_numpy(t.copy()) for t in tables]
    torch_result = prove(torch_tables, product(3), 3, claim, Transcript("test"))
    assert torch_result.proof.to_bytes() == numpy_result.proof.to_bytes()
    assert np.array_equal(torch_result.point, numpy_result.point)
    for a, b in zip(torch_result.final_values, numpy_result.final_values, strict=True):
        assert np.array_equal(a, b)


def test_the_benchmark_runs_at_a_tiny_size() -> None:
    from provers.sumcheck.bench import benchmark_sumcheck

    report = benchmark_sumcheck(6)
    assert report["log_n"] == 6
    assert report["prove_seconds"] >= 0 and report["verify_seconds"] >= 0
    assert report["proof_bytes"] == 6 * (4 + 16 * 3)

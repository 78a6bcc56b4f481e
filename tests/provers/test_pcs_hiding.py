"""Hiding mode: what an opening reveals does not depend on the committed table."""

from __future__ import annotations

import numpy as np
import pytest

from provers.commit import pcs
from provers.commit.pcs import prover as pcs_prover
from provers.field import base, ext
from provers.poly import ntt
from provers.transcript import Transcript

P = base.P
DOMAIN = "veriml/test/pcs-hiding"
# Few queries keep the many runs fast; zero knowledge does not depend on the query count,
# only on opening at most t distinct columns, which holds for every t.
FAST = pcs.PCSParams(num_queries=8, security_bits=0)
NUM_VARS, ROW_VARS = 4, 2
CHI_SQUARE_15_DF_AT_0_001 = 37.70


def revealed_values(table: np.ndarray, seed: int, hiding: bool) -> np.ndarray:
    """Every field element an opening at a fixed point shows about the table: the opened
    columns' table rows, the evaluation row, the proximity row and the mask evaluation."""
    rng = np.random.default_rng(seed)
    commitment, prover_data = pcs.commit(table, FAST, hiding=hiding, rng=rng, row_vars=ROW_VARS)
    point = np.full((4, NUM_VARS), 12345, dtype=np.int64)
    _, proof = pcs.open(prover_data, [point], Transcript(DOMAIN))
    tree = proof.trees[0]
    table_rows = tree.columns[:, : commitment.rows_per_polynomial]
    parts = (table_rows, tree.evaluation_rows, tree.proximity_row, tree.mask_evaluations)
    return np.concatenate([np.asarray(part).reshape(-1) for part in parts])


def low_bit_histogram(table: np.ndarray, hiding: bool, runs: int, first_seed: int) -> np.ndarray:
    values = np.concatenate(
        [revealed_values(table, first_seed + run, hiding) for run in range(runs)]
    )
    return np.bincount(values & 15, minlength=16)


def two_sample_chi_square(first: np.ndarray, second: np.ndarray) -> float:
    """Pearson's statistic that two histograms come from one distribution (15 degrees)."""
    totals = first + second
    statistic = 0.0
    for counts in (first, second):
        expected = totals * counts.sum() / totals.sum()
        statistic += float(((counts - expected) ** 2 / expected).sum())
    return statistic


def uniform_chi_square(counts: np.ndarray) -> float:
    expected = counts.sum() / counts.shape[0]
    return float(((counts - expected) ** 2 / expected).sum())


ZEROS = np.zeros(1 << NUM_VARS, dtype=np.int64)
DISTINCTIVE = np.arange(1 << NUM_VARS, dtype=np.int64) * 0x01010101 % P


def test_revealed_values_of_two_secrets_have_the_same_low_bit_distribution() -> None:
    zeros = low_bit_histogram(ZEROS, hiding=True, runs=150, first_seed=0)
    distinctive = low_bit_histogram(DISTINCTIVE, hiding=True, runs=150, first_seed=10_000)
    assert two_sample_chi_square(zeros, distinctive) < CHI_SQUARE_15_DF_AT_0_001
    # p ≡ 1 (mod 16), so the low four bits of a uniform element are uniform up to 1/p.
    assert uniform_chi_square(zeros) < CHI_SQUARE_15_DF_AT_0_001
    assert uniform_chi_square(distinctive) < CHI_SQUARE_15_DF_AT_0_001


def test_the_same_statistic_tells_the_secrets_apart_without_hiding() -> None:
    zeros = low_bit_histogram(ZEROS, hiding=False, runs=20, first_seed=0)
    distinctive = low_bit_histogram(DISTINCTIVE, hiding=False, runs=20, first_seed=10_000)
    assert two_sample_chi_square(zeros, distinctive) > 10 * CHI_SQUARE_15_DF_AT_0_001


def test_one_opened_table_value_is_uniform_over_many_runs() -> None:
    # Exact marginal: the first opened column's entry of row 0, for a table of zeros, over
    # seeded runs, spread evenly over 8 equal slices of [0, p).
    samples = [revealed_values(ZEROS, seed, hiding=True)[0] for seed in range(400)]
    counts = np.bincount(np.asarray(samples) * 8 // P, minlength=8)
    expected = len(samples) / 8
    statistic = float(((counts - expected) ** 2 / expected).sum())
    assert statistic < 24.32  # chi-square, 7 degrees of freedom, p = 0.001


def rank_mod_p(matrix: list[list[int]]) -> int:
    rows = [row[:] for row in matrix]
    rank = 0
    for column in range(len(rows[0])):
        pivot = next((r for r in range(rank, len(rows)) if rows[r][column] % P), None)
        if pivot is None:
            continue
        rows[rank], rows[pivot] = rows[pivot], rows[rank]
        inverse = pow(rows[rank][column], P - 2, P)
        for r in range(len(rows)):
            if r != rank and rows[r][column] % P:
                factor = rows[r][column] * inverse % P
                rows[r] = [(a - factor * b) % P for a, b in zip(rows[r], rows[rank], strict=True)]
        rank += 1
    return rank


@pytest.mark.parametrize("seed", range(5))
def test_the_random_coefficients_make_any_t_positions_of_a_row_uniform(seed: int) -> None:
    # Row values at positions Q are message part + V·ρ, V[j][i] = x_j^(C+i): full rank means
    # uniform ρ gives uniform values whatever the message.
    columns, queries, codeword_len = 16, 8, 64
    rng = np.random.default_rng(seed)
    positions = rng.choice(codeword_len, size=queries, replace=False).tolist()
    points = [ntt.domain_point(codeword_len, j) for j in positions]
    matrix = [[pow(x, columns + i, P) for i in range(queries)] for x in points]
    assert rank_mod_p(matrix) == queries


def test_hiding_proof_bytes_do_not_contain_the_secret_values() -> None:
    secret = (0x5EC00000 + 0x10001 * np.arange(256, dtype=np.int64)) % P
    point = ext.random(8, np.random.default_rng(1))
    commitment, prover_data = pcs.commit(secret, hiding=True, rng=np.random.default_rng(2))
    _, proof = pcs.open(prover_data, [point], Transcript(DOMAIN))
    revealed = proof.to_bytes() + commitment.to_bytes()
    found = [v for v in secret.tolist() if int(v).to_bytes(4, "little") in revealed]
    assert found == []


def test_the_byte_search_finds_the_secret_when_nothing_hides_it() -> None:
    # One column per row: each codeword repeats its row's value, so opened columns show it.
    secret = (0x5EC00000 + 0x10001 * np.arange(256, dtype=np.int64)) % P
    point = ext.random(8, np.random.default_rng(1))
    _, prover_data = pcs.commit(secret, row_vars=8)
    _, proof = pcs.open(prover_data, [point], Transcript(DOMAIN))
    revealed = proof.to_bytes()
    found = [v for v in secret.tolist() if int(v).to_bytes(4, "little") in revealed]
    assert len(found) == 256


def test_without_a_generator_the_randomness_comes_from_the_operating_system() -> None:
    values = pcs_prover.random_elements((64, 64), None)
    assert base.is_canonical(values)
    assert len(np.unique(values)) > 4000
    table = np.arange(1 << 8, dtype=np.int64)
    point = ext.random(8, np.random.default_rng(3))
    first, data = pcs.commit(table, hiding=True)
    second, _ = pcs.commit(table, hiding=True)
    assert first.root != second.root
    values_at, proof = pcs.open(data, [point], Transcript(DOMAIN))
    pcs.verify(first, [point], values_at, proof, Transcript(DOMAIN))

"""Where each row of a committed matrix sits, and the row weights every check combines by.

Rows of a tree, top to bottom: table 0's 2^a rows, table 1's, …, then in hiding mode four rows
masking the proximity row and four rows masking each of the ``mask_groups`` evaluation rows.
A challenge-field row is masked by four base-field random rows s_0..s_3 taken with weights
1, X, X^2, X^3, i.e. by the challenge-field row whose coefficients they are.

A check "row = z^T·matrix" is described by its weight vector z (4, rows); prover and verifier
build the same z here, the prover to compute a row from the messages, the verifier to compare
the encoded row with z^T·column at every opened column.
"""

from __future__ import annotations

import numpy as np

from provers.commit.pcs.params import MASK_ROWS_PER_GROUP
from provers.commit.pcs.proof import Commitment
from provers.field import ext
from provers.poly import multilinear


def polynomial_rows(commitment: Commitment, polynomial: int) -> slice:
    size = commitment.rows_per_polynomial
    return slice(polynomial * size, (polynomial + 1) * size)


def _mask_start(commitment: Commitment) -> int:
    return commitment.num_polynomials * commitment.rows_per_polynomial


def proximity_mask_rows(commitment: Commitment) -> slice:
    start = _mask_start(commitment)
    return slice(start, start + MASK_ROWS_PER_GROUP)


def evaluation_mask_rows(commitment: Commitment, group: int) -> slice:
    start = _mask_start(commitment) + MASK_ROWS_PER_GROUP * (1 + group)
    return slice(start, start + MASK_ROWS_PER_GROUP)


def num_proximity_weights(commitment: Commitment) -> int:
    """γ weighs every row except the proximity row's own masks, which enter with weight X^c."""
    return commitment.num_rows - (MASK_ROWS_PER_GROUP if commitment.hiding else 0)


def _place_mask(weights: np.ndarray, rows: slice) -> None:
    for c in range(MASK_ROWS_PER_GROUP):
        weights[c, rows.start + c] = 1


def proximity_weights(commitment: Commitment, gamma: np.ndarray) -> np.ndarray:
    """z for the proximity row: γ on every row but the proximity masks, X^c on those."""
    weights = np.zeros((ext.DEGREE, commitment.num_rows), dtype=np.int64)
    if not commitment.hiding:
        weights[:] = gamma
        return weights
    masks = proximity_mask_rows(commitment)
    keep = np.ones(commitment.num_rows, dtype=bool)
    keep[masks] = False
    weights[:, keep] = gamma
    _place_mask(weights, masks)
    return weights


def evaluation_weights(
    commitment: Commitment, group: int, high_point: np.ndarray, alphas: np.ndarray
) -> np.ndarray:
    """z for evaluation row ``group``: α_l·eq(r_hi) on table l's rows (+ X^c on its masks)."""
    weights = np.zeros((ext.DEGREE, commitment.num_rows), dtype=np.int64)
    eq_high = multilinear.eq_table(high_point)
    for polynomial in range(commitment.num_polynomials):
        weights[:, polynomial_rows(commitment, polynomial)] = ext.mul(
            eq_high, alphas[:, polynomial]
        )
    if commitment.hiding:
        _place_mask(weights, evaluation_mask_rows(commitment, group))
    return weights


def split_point(commitment: Commitment, point: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(r_hi, r_lo): the coordinates of the row bits (x_1..x_a) and of the column bits."""
    return point[:, : commitment.row_vars], point[:, commitment.row_vars :]

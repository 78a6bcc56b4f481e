"""Where each row of a committed matrix sits, and the row weights every check combines by.

Rows of a tree, top to bottom: table 0's 2^a rows, table 1's, …, then in hiding mode one block
of masking rows per ticket: block i holds four rows masking the proximity row and four rows
masking each of the ``mask_groups`` evaluation rows of the opening that uses ticket i.
A challenge-field row is masked by four base-field random rows s_0..s_3 taken with weights
1, X, X^2, X^3, i.e. by the challenge-field row whose coefficients they are. The weights of an
opening with ticket i are zero on every other block.

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


def _block_start(commitment: Commitment, ticket: int) -> int:
    tables = commitment.num_polynomials * commitment.rows_per_polynomial
    return tables + ticket * commitment.mask_block_rows


def mask_block(commitment: Commitment, ticket: int) -> slice:
    """Every masking row of ticket ``ticket``."""
    start = _block_start(commitment, ticket)
    return slice(start, start + commitment.mask_block_rows)


def proximity_mask_rows(commitment: Commitment, ticket: int) -> slice:
    start = _block_start(commitment, ticket)
    return slice(start, start + MASK_ROWS_PER_GROUP)


def evaluation_mask_rows(commitment: Commitment, ticket: int, group: int) -> slice:
    start = _block_start(commitment, ticket) + MASK_ROWS_PER_GROUP * (1 + group)
    return slice(start, start + MASK_ROWS_PER_GROUP)


def num_proximity_weights(commitment: Commitment) -> int:
    """γ weighs the tables' rows and, in hiding mode, the evaluation masks of the opening's
    ticket; that ticket's proximity masks enter with weight X^c, other tickets' rows not at
    all."""
    tables = commitment.num_polynomials * commitment.rows_per_polynomial
    if not commitment.hiding:
        return tables
    return tables + commitment.mask_block_rows - MASK_ROWS_PER_GROUP


def _place_mask(weights: np.ndarray, rows: slice) -> None:
    for c in range(MASK_ROWS_PER_GROUP):
        weights[c, rows.start + c] = 1


def proximity_weights(commitment: Commitment, ticket: int, gamma: np.ndarray) -> np.ndarray:
    """z for the proximity row: γ on the tables' rows and ticket ``ticket``'s evaluation masks,
    X^c on its proximity masks, 0 elsewhere (``ticket`` is ignored when not hiding)."""
    weights = np.zeros((ext.DEGREE, commitment.num_rows), dtype=np.int64)
    if not commitment.hiding:
        weights[:] = gamma
        return weights
    tables = commitment.num_polynomials * commitment.rows_per_polynomial
    block = mask_block(commitment, ticket)
    weights[:, :tables] = gamma[:, :tables]
    weights[:, block.start + MASK_ROWS_PER_GROUP : block.stop] = gamma[:, tables:]
    _place_mask(weights, proximity_mask_rows(commitment, ticket))
    return weights


def evaluation_weights(
    commitment: Commitment, ticket: int, group: int, high_point: np.ndarray, alphas: np.ndarray
) -> np.ndarray:
    """z for evaluation row ``group``: α_l·eq(r_hi) on table l's rows (+ X^c on the masks of
    ``group`` in ticket ``ticket``'s block, in hiding mode)."""
    weights = np.zeros((ext.DEGREE, commitment.num_rows), dtype=np.int64)
    eq_high = multilinear.eq_table(high_point)
    for polynomial in range(commitment.num_polynomials):
        weights[:, polynomial_rows(commitment, polynomial)] = ext.mul(
            eq_high, alphas[:, polynomial]
        )
    if commitment.hiding:
        _place_mask(weights, evaluation_mask_rows(commitment, ticket, group))
    return weights


def split_point(commitment: Commitment, point: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(r_hi, r_lo): the coordinates of the row bits (x_1..x_a) and of the column bits."""
    return point[:, : commitment.row_vars], point[:, commitment.row_vars :]

"""Exact products of small-integer matrices with challenge-field vectors, by float64 BLAS.

A challenge-field vector is four base-field coefficient vectors. Centred into (−p/2, p/2) each
coefficient is below 2^30 in absolute value; times an int8 entry (|w| ≤ 128) a product is below
2^37, so a sum of at most 2^15 products is below 2^52 and float64 holds it exactly. Longer sums
are cut into blocks of 2^15 and the blocks added in int64 after reduction. The result is reduced
into [0, p) like every other field value.
"""

from __future__ import annotations

import numpy as np

from provers.field import base, ext

P = base.P
BLOCK = 1 << 15
MAX_ENTRY = 128


def centred(values: np.ndarray) -> np.ndarray:
    return np.asarray(np.where(values > P // 2, values - P, values))


def small_matrix(values: np.ndarray) -> np.ndarray:
    """A float64 copy of an integer matrix whose entries are at most 128 in absolute value."""
    matrix = np.asarray(values, dtype=np.float64)
    if matrix.size and np.abs(matrix).max() > MAX_ENTRY:
        raise ValueError("entries above 128 in absolute value break the exactness bound")
    return matrix


def _reduce(values: np.ndarray) -> np.ndarray:
    return np.asarray(np.rint(values).astype(np.int64) % P)


def vector_times_matrix(vector: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """vᵀ·M for v (4, R) challenge-field and M (R, C) small integers: (4, C)."""
    coefficients = centred(np.asarray(vector, dtype=np.int64)).astype(np.float64)
    out = np.zeros((ext.DEGREE, matrix.shape[1]), dtype=np.int64)
    for start in range(0, matrix.shape[0], BLOCK):
        part = coefficients[:, start : start + BLOCK] @ matrix[start : start + BLOCK]
        out = (out + _reduce(part)) % P
    return out


def matrix_times_vector(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """M·v for M (R, C) small integers and v (4, C) challenge-field: (4, R)."""
    coefficients = centred(np.asarray(vector, dtype=np.int64)).astype(np.float64)
    out = np.zeros((ext.DEGREE, matrix.shape[0]), dtype=np.int64)
    for start in range(0, matrix.shape[1], BLOCK):
        part = matrix[:, start : start + BLOCK] @ coefficients[:, start : start + BLOCK].T
        out = (out + _reduce(part.T)) % P
    return out


def scalar_times_base(scalar: np.ndarray, values: np.ndarray) -> np.ndarray:
    """One challenge-field element times a base-field vector (any signed integers): (4, n)."""
    return np.asarray(ext.mul_base(scalar.reshape(ext.DEGREE, 1), np.asarray(values) % P))

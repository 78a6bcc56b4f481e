"""Number-theoretic transform over BabyBear and Reed–Solomon encoding of many rows at once.

With ω_n a primitive n-th root of unity (n = 2^k, k ≤ 27), the forward transform maps the
coefficients c_0, …, c_{n−1} of p(X) = Σ_i c_i·X^i to its evaluations on the subgroup
⟨ω_n⟩ in natural order,

    forward(c)[j] = p(ω_n^j) = Σ_i c_i·ω_n^{ij},    inverse = (forward with ω_n^{−1})·n^{−1}.

Both act on the last axis of an array of shape (…, n), so one call transforms every row of a
matrix. The algorithm is the iterative radix-2 Cooley–Tukey transform (decimation in time):
permute the input into bit-reversed order, then for h = 1, 2, 4, …, n/2 combine each pair of
length-h blocks (a, b) into (a + w·b, a − w·b) with w = ω_{2h}^j for j < h. Every layer is a
few whole-array operations over all rows; the twiddles of each size are computed once and
cached.

Reed–Solomon encoding (:func:`rs_encode`) reads a row of length k as the COEFFICIENTS of a
polynomial of degree < k and evaluates it on ⟨ω_N⟩ for a codeword length N ≥ k (a power of
two): the code RS[F, ⟨ω_N⟩, k] of rate k/N and minimum distance N − k + 1. Codeword position j
is the point ω_N^j (:func:`domain_point`). Encoding zero-pads the row to N and runs
:func:`forward`; a challenge-field row (4, k) is encoded coefficient by coefficient, since the
code is linear over the base field. :func:`rs_encode_columns` is the prover's numpy fast path:
the same codewords, returned column by column as u32 (the layout Merkle leaves need).
"""

from __future__ import annotations

import functools

import numpy as np

from provers.field import base, kernels
from provers.field.backend import Array, as_int64, concat, zeros

P = base.P
# Rows are transformed in blocks of about this many elements so a layer's temporaries stay in
# the processor's cache instead of streaming the whole matrix through memory once per layer.
_BLOCK_ELEMENTS = 1 << 16
# rs_encode_columns transforms this many rows side by side: long enough runs for whole-array
# operations, short enough that a block's working set stays small.
_COLUMN_BLOCK = 64


def _check_size(n: int) -> int:
    if n < 1 or n & (n - 1):
        raise ValueError(f"NTT sizes are powers of two, not {n}")
    log_n = n.bit_length() - 1
    if log_n > base.TWO_ADICITY:
        raise ValueError(f"BabyBear has no 2^{log_n}-th roots of unity")
    return log_n


@functools.lru_cache(maxsize=64)
def _bit_reversal(log_n: int) -> np.ndarray:
    n = 1 << log_n
    indices = np.arange(n, dtype=np.int64)
    reversed_indices = np.zeros(n, dtype=np.int64)
    for bit in range(log_n):
        reversed_indices |= ((indices >> bit) & 1) << (log_n - 1 - bit)
    return reversed_indices


@functools.lru_cache(maxsize=64)
def _twiddles(log_n: int, inverse: bool) -> tuple[np.ndarray, ...]:
    """For each layer h = 2^s, the vector (ω_{2h}^j)_{j<h} (or the inverse roots)."""
    layers = []
    for s in range(log_n):
        h = 1 << s
        root = base.root_of_unity(s + 1)
        if inverse:
            root = pow(root, P - 2, P)
        layers.append(_powers(root, h))
    return tuple(layers)


def _powers(root: int, count: int) -> np.ndarray:
    out = np.ones(count, dtype=np.int64)
    filled = 1
    step = root
    while filled < count:
        take = min(filled, count - filled)
        out[filled : filled + take] = (out[:take] * step) % P
        filled += take
        step = step * step % P
    return out


def _transform_block(block: Array, log_n: int, inverse: bool) -> Array:
    rows = block.shape[0]
    n = 1 << log_n
    x = block[:, as_int64(_bit_reversal(log_n), like=block)]
    for s, twiddle in enumerate(_twiddles(log_n, inverse)):
        h = 1 << s
        pairs = x.reshape(rows, n // (2 * h), 2, h)
        a = pairs[:, :, 0, :]
        b = (pairs[:, :, 1, :] * as_int64(twiddle, like=block)) % P
        x = concat([base.add(a, b)[:, :, None, :], base.sub(a, b)[:, :, None, :]], axis=2)
    return x.reshape(rows, n)


def _transform(values: Array, inverse: bool) -> Array:
    n = int(values.shape[-1])
    log_n = _check_size(n)
    lead_shape = tuple(values.shape[:-1])
    flat = values.reshape(-1, n)
    rows = int(flat.shape[0])
    block_rows = max(1, _BLOCK_ELEMENTS // n)
    if rows <= block_rows:
        out = _transform_block(flat, log_n, inverse)
    else:
        out = zeros((rows, n), like=flat)
        for start in range(0, rows, block_rows):
            stop = min(rows, start + block_rows)
            out[start:stop] = _transform_block(flat[start:stop], log_n, inverse)
    if inverse:
        out = (out * pow(n, P - 2, P)) % P
    return out.reshape(*lead_shape, n)


def forward(coefficients: Array) -> Array:
    """Evaluations p(ω_n^j), j < n, of the polynomials whose coefficients lie on the last axis."""
    return _transform(coefficients, inverse=False)


def inverse(evaluations: Array) -> Array:
    """Coefficients of the polynomials of degree < n whose evaluations on ⟨ω_n⟩ lie on the
    last axis (the inverse of :func:`forward`)."""
    return _transform(evaluations, inverse=True)


def rs_encode(rows: Array, codeword_len: int) -> Array:
    """Reed–Solomon codewords of the rows (shape (…, k), read as coefficients), evaluated on
    ⟨ω_N⟩ for N = ``codeword_len``; shape (…, N). Works for base rows and for challenge-field
    rows (4, …, k) alike, since encoding acts on the last axis only."""
    k = int(rows.shape[-1])
    _check_size(codeword_len)
    if k > codeword_len:
        raise ValueError(
            f"a message of length {k} does not fit a codeword of length {codeword_len}"
        )
    if k < codeword_len:
        padding = zeros((*rows.shape[:-1], codeword_len - k), like=rows)
        rows = concat([rows, padding], axis=-1)
    return forward(rows)


def rs_encode_columns(rows: np.ndarray, codeword_len: int) -> np.ndarray:
    """The codewords of ``rows`` (R, k) as columns: (N, R) little-endian u32, entry [j, i] =
    codeword i at position j — the layout of Merkle leaves over codeword positions.

    numpy only: the transform runs down axis 0 on u32 values with the rows side by side in
    memory, so every operation streams long contiguous runs, and additions reduce with one
    wrapping subtraction and a minimum instead of 64-bit sign tricks (≈ 1.7× faster).
    """
    num_rows, k = rows.shape
    log_n = _check_size(codeword_len)
    if k > codeword_len:
        raise ValueError(
            f"a message of length {k} does not fit a codeword of length {codeword_len}"
        )
    out = np.empty((codeword_len, num_rows), dtype="<u4")
    block = _COLUMN_BLOCK
    padded = np.zeros((codeword_len, block), dtype=np.uint32)
    for start in range(0, num_rows, block):
        stop = min(num_rows, start + block)
        width = stop - start
        padded[:k, :width] = rows[start:stop].T
        out[:, start:stop] = _transform_down_columns(padded[:, :width], log_n)
    return out


def _transform_down_columns(columns: np.ndarray, log_n: int) -> np.ndarray:
    """Forward NTT of every column of a (n, width) u32 array with entries in [0, p)."""
    n, width = columns.shape
    prime = np.uint32(P)
    x: np.ndarray = columns[_bit_reversal(log_n)]
    out = np.empty_like(x)
    product = np.empty((n // 2, width), dtype=np.uint64)
    quotient = np.empty((n // 2, width), dtype=np.uint64)
    twisted = np.empty((n // 2, width), dtype=np.uint32)
    scratch = np.empty((n // 2, width), dtype=np.uint32)
    for s, twiddle in enumerate(_twiddles(log_n, False)):
        h = 1 << s
        pairs = x.reshape(n // (2 * h), 2, h, width)
        halves = out.reshape(n // (2 * h), 2, h, width)
        t = twisted.reshape(n // (2 * h), h, width)
        k = scratch.reshape(n // (2 * h), h, width)
        a, low, high = pairs[:, 0], halves[:, 0], halves[:, 1]
        if s == 0:
            t[...] = pairs[:, 1]
        else:
            w = product.reshape(n // (2 * h), h, width)
            np.multiply(pairs[:, 1], twiddle.astype(np.uint64)[:, None], out=w)
            kernels.reduce_into(w, t, quotient.reshape(n // (2 * h), h, width))
        # a + t < 2p < 2^32; a − t wraps below zero, and + p wraps it back: min picks the
        # representative in [0, p) in both cases.
        np.add(a, t, out=low)
        np.subtract(low, prime, out=k)
        np.minimum(low, k, out=low)
        np.subtract(a, t, out=high)
        np.add(high, prime, out=k)
        np.minimum(high, k, out=high)
        x, out = out, x
    return x


def domain_point(codeword_len: int, position: int) -> int:
    """The evaluation point ω_N^position of codeword position ``position``."""
    log_n = _check_size(codeword_len)
    return pow(base.root_of_unity(log_n), position % codeword_len, P)

"""Window maps of convolutions and pools, and the vectors their sumchecks run against.

One spatial axis: an output position h ∈ [0, H') and a kernel offset i ∈ [0, k) read the input
position y = h·s + i − pad (nothing when y falls outside [0, H)). For a point ρ over the output
axis, the window matrix A[i, y] = Σ_{h : h·s + i − pad = y} eq(ρ, h) (k × 2^b) turns a claim
about the outputs into a linear functional of the input: for a convolution,

    P(ρ_n, ρ_h, ρ_w; c, i, j) = Σ_{n,y,x} eq(ρ_n, n)·A_h[i, y]·A_w[j, x]·X[n, c, y, x],

so a claim on the patch matrix at (ρ, κ) is the inner product of X with
v = eq(ρ_n) ⊗ Σ_{c,i,j} eq(κ, (c,i,j))·e_c ⊗ A_h[i] ⊗ A_w[j], whose MLE at a point z the
verifier computes from Ã_h[i](z_y) = Σ_h eq(ρ_h, h)·eq(z_y, h·s + i − pad) in O(k·H' + k·W' +
C·k²). Pools use the same matrices with pad = 0 (a window sum is Σ_i A[i], one window position
of a max pool is A[i] alone).
"""

from __future__ import annotations

import numpy as np

from provers.field import ext
from provers.inference.exact import vector_times_matrix
from provers.poly import multilinear


def _positions(
    out_real: int, in_real: int, stride: int, pad: int, offset: int
) -> tuple[np.ndarray, np.ndarray]:
    h = np.arange(out_real, dtype=np.int64)
    y = h * stride + offset - pad
    keep = (y >= 0) & (y < in_real)
    return h[keep], y[keep]


def window_matrix(
    rho: np.ndarray, out_real: int, in_log: int, in_real: int, kernel: int, stride: int, pad: int
) -> np.ndarray:
    """A (4, kernel, 2^in_log) for one axis."""
    eq = multilinear.eq_table(rho)
    out = np.zeros((ext.DEGREE, kernel, 1 << in_log), dtype=np.int64)
    for i in range(kernel):
        h, y = _positions(out_real, in_real, stride, pad, i)
        out[:, i, y] = eq[:, h]
    return out


def window_values(
    rho: np.ndarray, out_real: int, z: np.ndarray, in_real: int, kernel: int, stride: int, pad: int
) -> np.ndarray:
    """Ã[i](z) for every kernel offset: (4, kernel)."""
    eq_rho = multilinear.eq_table(rho)
    eq_z = multilinear.eq_table(z)
    out = np.zeros((ext.DEGREE, kernel), dtype=np.int64)
    for i in range(kernel):
        h, y = _positions(out_real, in_real, stride, pad, i)
        out[:, i] = ext.inner_product(eq_rho[:, h], eq_z[:, y]) if h.size else ext.zero()
    return out


def outer(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(4, m) ⊗ (4, n) → (4, m·n), a's index the more significant."""
    return np.asarray(ext.mul(a[:, :, None], b[:, None, :])).reshape(ext.DEGREE, -1)


def pad_axis(values: np.ndarray, axis: int, size: int) -> np.ndarray:
    widths = [(0, 0)] * values.ndim
    widths[axis] = (0, size - values.shape[axis])
    return np.pad(values, widths)


def patch_fold(patches: np.ndarray, eq_rows: np.ndarray) -> np.ndarray:
    """Σ_rows eq_rows[row]·patches[row, f] for int8 patches (rows, F): (4, F)."""
    return vector_times_matrix(eq_rows, patches)


def conv_vector(
    eq_batch: np.ndarray,
    eq_feature: np.ndarray,
    a_h: np.ndarray,
    a_w: np.ndarray,
    channels: int,
    channel_log: int,
) -> np.ndarray:
    """The table of v over the input layout (n, c, y, x): eq(ρ_n) ⊗ T, with
    T[c, y, x] = Σ_{i,j} eq(κ, (c,i,j))·A_h[i, y]·A_w[j, x]; eq_feature is (4, C·kh·kw)."""
    kh, kw = a_h.shape[1], a_w.shape[1]
    weights = eq_feature.reshape(ext.DEGREE, channels, kh, kw, 1)
    inner = ext.mul(weights, a_w[:, None, None, :, :]).sum(axis=3) % ext.P
    terms = ext.mul(inner[:, :, :, None, :], a_h[:, None, :, :, None])
    table = terms.sum(axis=2) % ext.P
    table = pad_axis(table, 1, 1 << channel_log)
    return outer(eq_batch, table.reshape(ext.DEGREE, -1))


def conv_vector_value(
    eq_batch_value: np.ndarray,
    eq_channels: np.ndarray,
    eq_feature: np.ndarray,
    h_values: np.ndarray,
    w_values: np.ndarray,
) -> np.ndarray:
    """ṽ(z) = eq(ρ_n, z_n)·Σ_{c,i,j} eq(z_c, c)·eq(κ, (c,i,j))·Ã_h[i](z_y)·Ã_w[j](z_x)."""
    channels = eq_channels.shape[1]
    kh, kw = h_values.shape[1], w_values.shape[1]
    spatial = ext.mul(h_values[:, :, None], w_values[:, None, :]).reshape(ext.DEGREE, 1, kh * kw)
    weights = eq_feature.reshape(ext.DEGREE, channels, kh * kw)
    per_channel = ext.mul(weights, spatial).sum(axis=2) % ext.P
    return np.asarray(ext.mul(eq_batch_value, ext.inner_product(eq_channels, per_channel)))


def real_eq(points: list[np.ndarray], reals: tuple[int, ...]) -> np.ndarray:
    """eq over the real positions of several axes, flattened row-major: (4, Π reals)."""
    total = np.asarray(ext.one())[:, None]
    for point, real in zip(points, reals, strict=True):
        eq = multilinear.eq_table(point)[:, :real]
        total = np.asarray(ext.mul(total[:, :, None], eq[:, None, :])).reshape(ext.DEGREE, -1)
    return total


def pool_vector(
    eq_batch: np.ndarray,
    eq_channel: np.ndarray,
    a_h: np.ndarray,
    a_w: np.ndarray,
    weights: np.ndarray,
) -> np.ndarray:
    """eq(ρ_n) ⊗ eq(ρ_c) ⊗ Σ_{i,j} w_ij·A_h[i] ⊗ A_w[j] over the input layout, for a pool's
    window offsets weighted by ``weights`` (4, kh, kw)."""
    weighted_h = ext.mul(weights[:, :, :, None], a_h[:, :, None, :]).sum(axis=1) % ext.P
    spatial = ext.mul(weighted_h[:, :, :, None], a_w[:, :, None, :]).sum(axis=1) % ext.P
    return outer(outer(eq_batch, eq_channel), np.asarray(spatial).reshape(ext.DEGREE, -1))


def pool_vector_value(
    eq_value: np.ndarray, h_values: np.ndarray, w_values: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """That vector's MLE at z from eq(ρ_n, z_n)·eq(ρ_c, z_c) and the axes' Ã[i](z)."""
    spatial = ext.mul(h_values[:, :, None], w_values[:, None, :])
    window = ext.sum_(ext.mul(weights, spatial).reshape(ext.DEGREE, -1))
    return np.asarray(ext.mul(eq_value, window))

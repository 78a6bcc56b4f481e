"""Convolutions and pools in the private mode: their terms, and the window stage.

A layer's point ρ splits over its output layout (n, c, h, w) as (ρ_n, ρ_c, ρ_h, ρ_w); its
matrix-product rows are (n, h, w) and its output channels c, so ρ_o = ρ_c and
ρ_rows = (ρ_n, ρ_h, ρ_w) (for a LINEAR, ρ_o is every coordinate after the batch's).

CONV2D: each weight block is a matrix-product term on the patch matrix P of its input,
Σ_{x_0,k} (1 − x_0)·Wf(x_0, k)·Pf(x_0, k), Pf the patches of the doubled input folded by
eq(ρ_rows) (the public input's, without x_0). A private input's final Pf(ζ, κ) is a revealed
value of the form (1 − ζ)·⟨v, x⟩ + ζ·⟨v, x′⟩ with v the window vector of
:mod:`provers.inference.linear_maps` (P(ρ_rows, κ) = ⟨v_{ρ,κ}, X⟩): the window stage, a second
masked sumcheck, proves Σ_{x_0,x} E(x_0, x)·X2(x_0, x) = Σ_j μ_j·Pf_j with
E(x_0, x) = Σ_j μ_j·eq(ζ_j, x_0)·v_j(x) (μ drawn after the relations' finals), one group per
layer, whose total is public; its final value is a claim on the input's slot at a random
point, and the verifier evaluates E there in O(k·H' + k·W' + C·k²).

AVGPOOL2D: acc(ρ) = ⟨X, eq(ρ_n) ⊗ eq(ρ_c) ⊗ Σ_i A_h[i] ⊗ Σ_j A_w[j]⟩ is a window term of the
requantisation's identity (1), Σ_{x_0,x} (1 − x_0)·Win(x)·X2(x_0, x).

MAXPOOL2D: the prover commits y and d_k = y − X_k for each window offset k (X_k the input at
offset k of every window, 0 at padded output positions), each d_k looked up in [0, 256), so
y ≥ X_k; the group Σ eq((0, ρ), ·)·Π_k D_k = 0 makes some d_k zero at every entry, so
y = max_k X_k (at padded positions Π d_k = y^K forces y = 0); and per offset k the group
Σ eq((0, ρ), ·)·(Y − D_k) − Σ (1 − x_0)·Win_k·X2 = 0 ties d_k to the input, Win_k the window
vector of offset k alone. Every group total is 0, a public number.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from provers.circuit import executor
from provers.circuit.ops import OpKind
from provers.field import base, ext
from provers.inference.layout import validity_of
from provers.inference.linear_maps import (
    conv_vector,
    conv_vector_value,
    pool_vector,
    pool_vector_value,
    real_eq,
    window_matrix,
    window_values,
)
from provers.poly import multilinear
from provers.private.plan import INPUT, LayerPlan, PrivatePlan

Key = tuple[str, str]


def source_key(layer: LayerPlan) -> Key:
    """The slot a layer reads: the private input, or its source layer's output."""
    return (INPUT, "x") if layer.input == INPUT else (layer.input, "y")


def split_rows(layer: LayerPlan, rho: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ρ_rows, ρ_o) of a layer's point."""
    parts = layer.layout.split_point(rho)
    if len(parts) == 2:
        return parts[0], parts[1]
    return np.concatenate([parts[0], *parts[2:]], axis=1), parts[1]


def rows_validity(layer: LayerPlan, rho: np.ndarray) -> np.ndarray:
    """The MLE of the real-row indicator (batch and space) at ρ_rows."""
    dims = layer.layout.dims
    rows = (dims[0], *dims[2:])
    return validity_of(rows, split_rows(layer, rho)[0])


@dataclass(frozen=True)
class WindowTerm:
    """sign·Σ_{x_0,x} (1 − x_0)·Win(x)·X2(x_0, x) over the layer's input: a pool's window sum
    (``offset`` None) or one window offset of a max pool."""

    layer: LayerPlan
    group: int
    offset: int | None
    sign: int

    @property
    def num_vars(self) -> int:
        return 1 + self.layer.source_layout.log_size

    @property
    def degree(self) -> int:
        return 2


@dataclass(frozen=True)
class ZeroProductTerm:
    """Σ_{x_0,x} eq((0, ρ), (x_0, x))·Π_k D_k(x_0, x) = 0 for a max pool."""

    layer: LayerPlan
    group: int

    @property
    def vectors(self) -> tuple[Key, ...]:
        return tuple((self.layer.node, f"d{k}") for k in range(self.layer.offsets))

    @property
    def num_vars(self) -> int:
        return 1 + self.layer.log_size

    @property
    def degree(self) -> int:
        return self.layer.offsets + 1


def _axes(layer: LayerPlan) -> list[tuple[int, int, int, int, int, int]]:
    """Per spatial axis: (output real, input log, input real, kernel, stride, padding)."""
    out, inp = layer.layout.dims, layer.source_layout.dims
    return [
        (out[2 + a].real, inp[2 + a].log, inp[2 + a].real, layer.kernel[a], layer.stride[a], pad)
        for a, pad in enumerate(layer.padding)
    ]


def _offset_weights(layer: LayerPlan, offset: int | None) -> np.ndarray:
    """The coefficient of each window offset (kh, kw) as challenge-field elements."""
    weights = np.zeros((ext.DEGREE, *layer.kernel), dtype=np.int64)
    if offset is None:
        weights[0] = 1
    else:
        weights[0].reshape(-1)[offset] = 1
    return weights


def window_table(layer: LayerPlan, rho: np.ndarray, offset: int | None) -> np.ndarray:
    """Win over the input layout, (4, 2^log)."""
    parts = layer.layout.split_point(rho)
    a_h, a_w = (
        window_matrix(parts[2 + a], out_real, in_log, in_real, kernel, stride, pad)
        for a, (out_real, in_log, in_real, kernel, stride, pad) in enumerate(_axes(layer))
    )
    return pool_vector(
        multilinear.eq_table(parts[0]),
        multilinear.eq_table(parts[1]),
        a_h,
        a_w,
        _offset_weights(layer, offset),
    )


def window_value(
    layer: LayerPlan, rho: np.ndarray, z: np.ndarray, offset: int | None
) -> np.ndarray:
    """Win's MLE at a point z of the input layout."""
    parts = layer.layout.split_point(rho)
    zs = layer.source_layout.split_point(z)
    h_values, w_values = (
        window_values(parts[2 + a], out_real, zs[2 + a], in_real, kernel, stride, pad)
        for a, (out_real, _, in_real, kernel, stride, pad) in enumerate(_axes(layer))
    )
    eq = ext.mul(multilinear.eq_eval(parts[0], zs[0]), multilinear.eq_eval(parts[1], zs[1]))
    return pool_vector_value(np.asarray(eq), h_values, w_values, _offset_weights(layer, offset))


# --- convolutions ---------------------------------------------------------------------------


def patch_fold(
    layer: LayerPlan, table: np.ndarray, rho: np.ndarray, fold_rows: object
) -> np.ndarray:
    """Σ_rows eq(ρ_rows, row)·P[row, f] of a padded input table (canonical values), over the
    layer's padded feature space: (4, 2^feature_log)."""
    layout = layer.source_layout
    padded = np.asarray(table).reshape(layout.padded_shape)
    real = padded[tuple(slice(0, d.real) for d in layout.dims)]
    patches, out_h, out_w = executor.im2col(real, layer.kernel, layer.stride, layer.padding)
    parts = layer.layout.split_point(rho)
    eq_rows = real_eq([parts[0], parts[2], parts[3]], (real.shape[0], out_h, out_w))
    fold = fold_rows(eq_rows, patches.reshape(-1, patches.shape[-1]) % base.P)  # type: ignore[operator]
    width = 1 << layer.matrix.feature_log
    return np.pad(fold, ((0, 0), (0, width - fold.shape[1])))


def feature_eq(layer: LayerPlan, block: int, kappa: np.ndarray) -> np.ndarray:
    """eq(κ, f − start) on block ``block``'s real features, 0 elsewhere: (4, C·kh·kw)."""
    count = layer.matrix.positions.shape[0]
    column = layer.matrix.blocks[block]
    start, stop = column.start, min(count, column.start + (1 << column.cols_log))
    out = np.zeros((ext.DEGREE, count), dtype=np.int64)
    out[:, start:stop] = multilinear.eq_table(kappa)[:, : stop - start]
    return out


def conv_table(layer: LayerPlan, rho: np.ndarray, eq_feature: np.ndarray) -> np.ndarray:
    """v over the input layout for a patch claim at (ρ_rows, κ): (4, 2^log)."""
    parts = layer.layout.split_point(rho)
    a_h, a_w = (
        window_matrix(parts[2 + a], out_real, in_log, in_real, kernel, stride, pad)
        for a, (out_real, in_log, in_real, kernel, stride, pad) in enumerate(_axes(layer))
    )
    dims = layer.source_layout.dims
    return conv_vector(
        multilinear.eq_table(parts[0]), eq_feature, a_h, a_w, dims[1].real, dims[1].log
    )


def conv_value(
    layer: LayerPlan, rho: np.ndarray, eq_feature: np.ndarray, z: np.ndarray
) -> np.ndarray:
    """ṽ(z) for that patch claim."""
    parts = layer.layout.split_point(rho)
    zs = layer.source_layout.split_point(z)
    h_values, w_values = (
        window_values(parts[2 + a], out_real, zs[2 + a], in_real, kernel, stride, pad)
        for a, (out_real, _, in_real, kernel, stride, pad) in enumerate(_axes(layer))
    )
    eq_channels = multilinear.eq_table(zs[1])[:, : layer.source_layout.dims[1].real]
    eq_batch = multilinear.eq_eval(parts[0], zs[0])
    return conv_vector_value(eq_batch, eq_channels, eq_feature, h_values, w_values)


@dataclass(frozen=True)
class PatchClaim:
    """A convolution block's revealed patch value Pf(ζ, κ) at the layer's point."""

    layer: LayerPlan
    block: int
    zeta: np.ndarray
    kappa: np.ndarray
    value: np.ndarray


def window_layers(plan: PrivatePlan) -> list[LayerPlan]:
    """The convolutions whose input is private: one window-stage group each."""
    return [
        layer
        for layer in plan.layers
        if layer.kind is OpKind.CONV2D and (layer.input != INPUT or plan.private_input)
    ]


def stage_table(
    layer: LayerPlan, rho: np.ndarray, claims: list[PatchClaim], mu: np.ndarray
) -> np.ndarray:
    """E over the doubled input: Σ_j μ_j·eq(ζ_j, x_0)·v_j(x), (4, 2^(log+1))."""
    size = 1 << layer.source_layout.log_size
    total = np.zeros((ext.DEGREE, 2 * size), dtype=np.int64)
    for j, claim in enumerate(claims):
        v = conv_table(layer, rho, feature_eq(layer, claim.block, claim.kappa))
        low = ext.mul(v, ext.mul(mu[:, j], ext.sub(ext.one(), claim.zeta)))
        high = ext.mul(v, ext.mul(mu[:, j], claim.zeta))
        total = np.asarray(ext.add(total, np.concatenate([low, high], axis=1)))
    return total


def stage_value(
    layer: LayerPlan, rho: np.ndarray, claims: list[PatchClaim], mu: np.ndarray, point: np.ndarray
) -> np.ndarray:
    """Ẽ at the window stage's point (ζ*, z*)."""
    total = ext.zero()
    for j, claim in enumerate(claims):
        v = conv_value(layer, rho, feature_eq(layer, claim.block, claim.kappa), point[:, 1:])
        eq_zeta = multilinear.eq_eval(claim.zeta[:, None], point[:, :1])
        total = ext.add(total, ext.mul(mu[:, j], ext.mul(eq_zeta, v)))
    return np.asarray(total)


def stage_total(claims: list[PatchClaim], mu: np.ndarray) -> np.ndarray:
    total = ext.zero()
    for j, claim in enumerate(claims):
        total = ext.add(total, ext.mul(mu[:, j], claim.value))
    return np.asarray(total)


def public_patch_value(
    layer: LayerPlan, rho: np.ndarray, block: int, kappa: np.ndarray, inputs: np.ndarray
) -> np.ndarray:
    """P(ρ_rows, κ) of a public input table: ⟨v, X⟩."""
    v = conv_table(layer, rho, feature_eq(layer, block, kappa))
    return np.asarray(ext.inner_product_base(v, inputs % base.P))


def stage_mu(transcript: object, layer: LayerPlan, claims: list[PatchClaim]) -> np.ndarray:
    """μ for a layer's patch claims, drawn after the relations' finals are absorbed."""
    challenges: np.ndarray = transcript.challenge_exts(  # type: ignore[attr-defined]
        f"windows/{layer.node}", len(claims)
    )
    return challenges


def claims_of(layer: LayerPlan, claims: list[PatchClaim]) -> list[PatchClaim]:
    return [claim for claim in claims if claim.layer.node == layer.node]


def stage_shapes(plan: PrivatePlan) -> list[tuple[LayerPlan, int]]:
    """Each window-stage group's layer and variables (its input's doubled table)."""
    out = []
    for layer in window_layers(plan):
        out.append((layer, 1 + layer.source_layout.log_size))
    return out

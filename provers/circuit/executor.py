"""The bit-exact integer reference executor: what every proof attests, computed with numpy."""

from __future__ import annotations

import numpy as np

from provers.circuit.model import QuantisedModel
from provers.circuit.ops import (
    ACTIVATION_PRODUCTS,
    INT8_MAX,
    LAYERNORMS,
    SOFTMAXES,
    Node,
    OpKind,
    Requant,
)


def rounding_shift(values: np.ndarray, shift: int) -> np.ndarray:
    """⌊(v + 2^(shift−1)) / 2^shift⌋, exact on int64 (arithmetic shift floors)."""
    if shift == 0:
        return values
    return (values + (1 << (shift - 1))) >> shift


def requantise(acc: np.ndarray, requant: Requant, channel_axis: int) -> np.ndarray:
    t = rounding_shift(acc, requant.shift1)
    multipliers = np.asarray(requant.multipliers, dtype=np.int64)
    if multipliers.shape[0] > 1:
        shape = [1] * acc.ndim
        shape[channel_axis] = multipliers.shape[0]
        multipliers = multipliers.reshape(shape)
    u = rounding_shift(t * multipliers, requant.shift2)
    return np.asarray(np.clip(u, requant.lower, INT8_MAX))


def im2col(
    x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int], padding: tuple[int, int]
) -> tuple[np.ndarray, int, int]:
    """Patches of x (N, C, H, W) as (N, H'·W', C·kh·kw), in (c, i, j) order, and H', W'."""
    n, c, h, w = x.shape
    kh, kw = kernel
    sh, sw = stride
    ph, pw = padding
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    out_h = (h + 2 * ph - kh) // sh + 1
    out_w = (w + 2 * pw - kw) // sw + 1
    windows = np.lib.stride_tricks.sliding_window_view(padded, (kh, kw), axis=(2, 3))
    windows = windows[:, :, : out_h * sh : sh, : out_w * sw : sw]  # (N, C, H', W', kh, kw)
    patches = windows.transpose(0, 2, 3, 1, 4, 5).reshape(n, out_h * out_w, c * kh * kw)
    return np.ascontiguousarray(patches), out_h, out_w


def _accumulate(node: Node, x: np.ndarray) -> np.ndarray:
    """The integer accumulator of a LINEAR or CONV2D node (before requantisation)."""
    if node.weight is None or node.bias is None:
        raise ValueError(f"{node.name}: {node.kind.value} without weights")
    weight = node.weight.astype(np.int64)
    bias = node.bias.astype(np.int64)
    if node.kind is OpKind.LINEAR:
        return x @ weight.T + bias
    out = weight.shape[0]
    patches, out_h, out_w = im2col(x, node.kernel, node.stride, node.padding)
    acc = patches @ weight.reshape(out, -1).T + bias  # (N, H'·W', out)
    return acc.transpose(0, 2, 1).reshape(x.shape[0], out, out_h, out_w)


def _pool_windows(node: Node, x: np.ndarray) -> np.ndarray:
    kh, kw = node.kernel
    sh, sw = node.stride
    n, c, h, w = x.shape
    out_h, out_w = (h - kh) // sh + 1, (w - kw) // sw + 1
    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))
    return windows[:, :, : out_h * sh : sh, : out_w * sw : sw].reshape(n, c, out_h, out_w, -1)


def accumulator(node: Node, values: list[np.ndarray]) -> np.ndarray | None:
    """The pre-requantisation integer of a node, or None for ops without one."""
    x = values[0]
    if node.kind in (OpKind.LINEAR, OpKind.CONV2D):
        return _accumulate(node, x)
    if node.kind is OpKind.AVGPOOL2D:
        return np.asarray(_pool_windows(node, x).sum(axis=-1))
    if node.kind is OpKind.ADD:
        m_a, m_b = node.add_multipliers
        return np.asarray(x * m_a + values[1] * m_b)
    if node.kind in ACTIVATION_PRODUCTS:
        other = values[1] if node.kind is OpKind.MATMUL else np.swapaxes(values[1], -1, -2)
        return np.asarray(np.matmul(x, other))
    if node.kind in LAYERNORMS:
        return layernorm_parts(node, x)["acc"]
    return None


def causal_mask(shape: tuple[int, ...]) -> np.ndarray:
    """True where entry j of row i is kept (j ≤ i), for the last two axes."""
    rows, columns = shape[-2], shape[-1]
    return np.broadcast_to(np.tril(np.ones((rows, columns), dtype=bool)), shape)


def softmax_parts(node: Node, x: np.ndarray) -> dict[str, np.ndarray]:
    """Every integer of a SOFTMAX over the last axis (ops.py): the row maxima m, the table
    indices d = 1 + m − x, e = E[d], the row sums z, the outputs y and the remainders q of
    254·e + z = 2·z·y + q."""
    table = np.asarray(node.table, dtype=np.int64)
    kept = causal_mask(x.shape) if node.kind is OpKind.SOFTMAX_CAUSAL else np.ones(x.shape, bool)
    m = np.where(kept, x, -(1 << 20)).max(axis=-1)
    d = np.where(kept, 1 + m[..., None] - x, 0)
    e = table[d]
    z = e.sum(axis=-1)
    numerator = 254 * e + z[..., None] * kept
    y = numerator // (2 * z[..., None])
    q = numerator - 2 * z[..., None] * y
    return {"m": m, "d": d, "e": e, "z": z, "y": y, "q": q}


def _floor_sqrt(values: np.ndarray) -> np.ndarray:
    """⌊√v⌋ of nonnegative int64 values below 2^52, exactly (float, then corrected)."""
    root = np.floor(np.sqrt(values.astype(np.float64))).astype(np.int64)
    root = np.where(root * root > values, root - 1, root)
    return np.where((root + 1) * (root + 1) <= values, root + 1, root)


def layernorm_parts(node: Node, x: np.ndarray) -> dict[str, np.ndarray]:
    """Every integer of a LAYERNORM or RMSNORM over the last axis (ops.py), per row: the row
    sums s, the mean μ (0 for an RMSNORM) and its remainder r_mu, the variance sum v, Q − 1 and
    its remainder r_b, R, the slacks C − R²·Q and (R+1)²·Q − C − 1; per entry c and acc."""
    a, b, k, e = node.layernorm_constants
    entries = x.shape[-1]
    full = 1 << (2 * k)
    s = x.sum(axis=-1)
    numerator = (s << (a + 1)) + entries
    mu = numerator // (2 * entries)
    if node.kind is OpKind.RMSNORM:
        numerator, mu = np.zeros_like(s), np.zeros_like(s)
    c = (x << a) - mu[..., None]
    v = (c * c).sum(axis=-1)
    q_minus_1 = (v + e) >> b
    q = q_minus_1 + 1
    r = _floor_sqrt(full // q)
    offsets = np.asarray(node.layernorm_offsets, dtype=np.int64)
    signs = np.asarray(node.layernorm_signs, dtype=np.int64)
    return {
        "s": s,
        "mu": mu,
        "r_mu": numerator - 2 * entries * mu,
        "c": c,
        "v": v,
        "q_minus_1": q_minus_1,
        "r_b": v + e - (q_minus_1 << b),
        "r": r,
        "below": full - r * r * q,
        "above": (r + 1) * (r + 1) * q - full - 1,
        "acc": signs * c * r[..., None] + offsets,
    }


def embedding_ids(node: Node, x: np.ndarray) -> np.ndarray:
    """The ids an EMBEDDING selects rows by, (N, …): its input, or its constant ids for every
    sample of the batch."""
    if not node.constant_ids:
        return x
    ids = np.asarray(node.table, dtype=np.int64).reshape(node.output_shape[:-1])
    return np.broadcast_to(ids, (x.shape[0], *ids.shape))


def run_node(node: Node, values: list[np.ndarray]) -> np.ndarray:
    if node.kind is OpKind.EMBEDDING:
        if node.weight is None:
            raise ValueError(f"{node.name}: an embedding without its table")
        return np.asarray(np.asarray(node.weight, dtype=np.int64)[embedding_ids(node, values[0])])
    acc = accumulator(node, values)
    if acc is not None:
        if node.requant is None:
            raise ValueError(f"{node.name}: {node.kind.value} without requantisation")
        return requantise(acc, node.requant, channel_axis=node.channel_axis)
    x = values[0]
    if node.kind is OpKind.MAXPOOL2D:
        return np.asarray(_pool_windows(node, x).max(axis=-1))
    if node.kind is OpKind.RELU:
        return np.asarray(np.maximum(x, 0))
    if node.kind is OpKind.TABLE:
        table = np.asarray(node.table, dtype=np.int64)
        return np.asarray(table[x + 128])
    if node.kind in SOFTMAXES:
        return np.asarray(softmax_parts(node, x)["y"])
    if node.kind is OpKind.RESHAPE:
        return x.reshape((x.shape[0], *node.output_shape))
    raise ValueError(f"no semantics for {node.kind}")


def check_inputs(model: QuantisedModel, inputs: np.ndarray) -> np.ndarray:
    """The batch (N, *model.input_shape) as int64, after checking its values are int8 (token
    ids 0 ≤ id < V for a model whose input feeds an embedding); ValueError otherwise."""
    x = np.asarray(inputs)
    if x.dtype.kind not in "iubf" or (
        x.dtype.kind == "f" and not np.all(np.isfinite(x) & (x == np.round(x)))
    ):
        raise ValueError("inputs must be integers")
    x = x.astype(np.int64)
    if x.shape[1:] != model.input_shape:
        raise ValueError(f"input of shape {x.shape[1:]}, the model takes {model.input_shape}")
    vocabulary = model.input_vocabulary
    if vocabulary:
        if x.size and (x.min() < 0 or x.max() >= vocabulary):
            raise ValueError(f"token ids must lie in [0, {vocabulary})")
    elif x.min(initial=0) < -128 or x.max(initial=0) > INT8_MAX:
        raise ValueError("inputs must be int8 values")
    return x


def execute(model: QuantisedModel, inputs: np.ndarray) -> dict[str, np.ndarray]:
    """Every node's int8 output for a batch of inputs (N, *model.input_shape): int8 values, or
    token ids when the input feeds an embedding."""
    x = check_inputs(model, inputs)
    values: dict[str, np.ndarray] = {"input": x}
    for node in model.nodes:
        values[node.name] = run_node(node, [values[name] for name in node.inputs])
    return values


def run(model: QuantisedModel, inputs: np.ndarray) -> np.ndarray:
    """The model's int8 output for a batch of inputs (int8 values or token ids)."""
    return execute(model, inputs)[model.output]

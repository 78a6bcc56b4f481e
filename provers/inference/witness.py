"""The prover's witness: every node's output and advice, laid out in the witness table W.

Values at real positions come from the reference executor; padded positions stay 0 (the
identities mask their constants with the validity indicator, so 0 is the honest value there).
Advice per requantisation follows :mod:`provers.inference.requant`; the prover refuses
(ProverError) when a value falls outside the ranges the plan proves, which happens only for a
model that breaks the IR's own bounds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from provers.circuit import executor
from provers.circuit.ops import LAYERNORMS, SOFTMAXES, Node, OpKind
from provers.errors import ProverError
from provers.field import base
from provers.inference.layout import TensorLayout
from provers.inference.plan import ProofPlan, layernorm_limbs, range_vectors, softmax_limbs
from provers.inference.rel_pool import TABLE_SHIFT
from provers.inference.requant import T_OFFSET, RequantPlan
from provers.lookup.multiplicities import compute_multiplicities

Vectors = dict[str, np.ndarray]


def _limbs(values: np.ndarray, widths: tuple[int, ...]) -> list[np.ndarray]:
    out, shift = [], 0
    for width in widths:
        out.append((values >> shift) & ((1 << width) - 1))
        shift += width
    return out


def _channel_multipliers(plan: RequantPlan, shape: tuple[int, ...]) -> np.ndarray:
    m = np.asarray(plan.multipliers, dtype=np.int64)
    axes = [1] * len(shape)
    axes[plan.channel_axis] = -1
    return m.reshape(axes)


def requant_advice(name: str, plan: RequantPlan, acc: np.ndarray) -> Vectors:
    """t, σ, τ, r1, u, r2 and the clamp indices of one node's accumulators (real shape)."""
    s1, s2 = plan.shift1, plan.shift2
    t = executor.rounding_shift(acc, s1)
    if t.size and (t.min() < -T_OFFSET or t.max() >= T_OFFSET):
        raise ProverError(f"{name}: a rounded accumulator leaves [−2^15, 2^15)")
    r1 = acc + ((1 << s1) >> 1) - (t << s1)
    sigma = (t < 0).astype(np.int64)
    product = t * _channel_multipliers(plan, t.shape)
    u = executor.rounding_shift(product, s2)
    r2 = product + ((1 << s2) >> 1) - (u << s2)
    y = np.clip(u, plan.clamp.lower, 127)
    out: Vectors = {"sigma": sigma, "y": y}
    for key, widths, values in (
        ("tau", plan.tau_limbs, t + T_OFFSET * sigma),
        ("r1_", plan.r1_limbs, r1),
        ("r2_", plan.r2_limbs, r2),
    ):
        for j, limb in enumerate(_limbs(values, widths)):
            out[f"{key}{j}"] = limb
    out.update(_clamp_advice(name, plan, u, sigma))
    return out


def _clamp_advice(name: str, plan: RequantPlan, u: np.ndarray, sigma: np.ndarray) -> Vectors:
    clamp = plan.clamp
    if not clamp.split:
        if u.size and np.abs(u).max() > clamp.bound:
            raise ProverError(f"{name}: |u| above the plan's bound {clamp.bound}")
        return {"index": u + sigma * (2 * clamp.bound + 1)}
    h = u >> clamp.low_bits
    if u.size and (h.max() > clamp.bound or h.min() < -clamp.bound):
        raise ProverError(f"{name}: u/2^L outside ±{clamp.bound}")
    v = u - (h << clamp.low_bits)
    clip = np.clip(h, -2, 1)
    return {
        "h_index": h + sigma * (2 * clamp.bound + 1),
        "f_index": v + (clip << clamp.low_bits),
        "clip": clip,
    }


def softmax_advice(node: Node, x: np.ndarray, limb_bits: int) -> Vectors:
    """d, e, g = d − 1, y, the one-hot h of each row's first maximum, the limbs of q and of
    w = 2z − 1 − q (per entry), and z (per row)."""
    parts = executor.softmax_parts(node, x)
    kept = d_kept = parts["d"] > 0
    first = np.argmax(np.where(kept, x, -(1 << 20)), axis=-1)
    h = (np.arange(x.shape[-1]) == first[..., None]).astype(np.int64)
    z = parts["z"][..., None]
    out: Vectors = {key: parts[key] for key in ("d", "e", "y", "z")}
    out["h"] = h
    out["g"] = np.where(d_kept, parts["d"] - 1, 0)
    if node.kind is OpKind.SOFTMAX_CAUSAL:
        out["m"] = parts["m"]
    widths = tuple(w for name, w in softmax_limbs(node, limb_bits) if name.startswith("q"))
    for prefix, values in (("q", parts["q"]), ("w", np.where(kept, 2 * z - 1, 0) - parts["q"])):
        for j, limb in enumerate(_limbs(values, widths)):
            out[f"{prefix}{j}"] = limb
    return out


def check_range(what: str, values: np.ndarray, bits: int) -> None:
    """Refuse values the plan's range checks would reject (a model outside the IR's bounds)."""
    if values.size and (values.min() < 0 or values.max() >> bits):
        raise ProverError(f"{what} outside [0, 2^{bits})")


def layernorm_advice(node: Node, x: np.ndarray, limb_bits: int) -> Vectors:
    """The per-row vectors of a LAYERNORM (provers/inference/rel_layernorm.py): μ + 2^(a+7),
    V, Q − 1, R, U = R·Q, and the limbs of those and of r_μ, 2D − 1 − r_μ, r_b and the two
    square-root slacks (an RMSNORM: the same without μ, r_μ and 2D − 1 − r_μ)."""
    parts = executor.layernorm_parts(node, x)
    a = node.layernorm_constants[0]
    entries = node.output_shape[-1]
    whole = {
        "ln_mu": parts["mu"] + (1 << (a + 7)),
        "ln_v": parts["v"],
        "ln_q": parts["q_minus_1"],
        "ln_r": parts["r"],
        "ln_u": parts["r"] * (parts["q_minus_1"] + 1),
    }
    checked = {
        **whole,
        "ln_rmu": parts["r_mu"],
        "ln_wmu": 2 * entries - 1 - parts["r_mu"],
        "ln_rb": parts["r_b"],
        "ln_below": parts["below"],
        "ln_above": parts["above"],
    }
    if node.kind is OpKind.RMSNORM:
        del whole["ln_mu"]
    out: Vectors = dict(whole)
    for prefix, widths in layernorm_limbs(node, limb_bits):
        values = checked[prefix]
        check_range(f"{node.name}: {prefix}", values, sum(widths))
        for j, limb in enumerate(_limbs(values, widths)):
            out[f"{prefix}{j}"] = limb
    return out


def pool_windows(node: Node, x: np.ndarray) -> np.ndarray:
    """(N, C, H', W', kh·kw): window k = i·kw + j of each output position."""
    kh, kw = node.kernel
    sh, sw = node.stride
    _, _, out_h, out_w = (x.shape[0], *node.output_shape)
    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))
    windows = windows[:, :, : out_h * sh : sh, : out_w * sw : sw]
    return windows.reshape(*windows.shape[:4], kh * kw)


@dataclass
class Witness:
    plan: ProofPlan
    values: dict[str, np.ndarray]
    """Every tensor's real values, (N, …), from the executor."""
    vectors: dict[tuple[str, str], np.ndarray]
    """(node, vector) → the padded table of that committed vector (signed int64)."""
    table: np.ndarray
    """W, canonical in [0, p)."""
    table_signed: np.ndarray
    """W with its small values signed (the multiplicities as counts)."""
    multiplicities: np.ndarray
    lookups: list[list[np.ndarray]]

    def vector(self, node: str, name: str) -> np.ndarray:
        return self.vectors[(node, name)]

    def activation(self, name: str) -> np.ndarray:
        """The padded table of a tensor (the public input included), signed."""
        source = self.plan.source(name)
        layout = self.plan.layouts[source]
        return layout.embed(self.values[source])


def _node_vectors(plan: ProofPlan, node: Node, values: dict[str, np.ndarray]) -> Vectors:
    inputs = [values[name] for name in node.inputs]
    if node.name in plan.requant:
        acc = executor.accumulator(node, inputs)
        if acc is None:
            raise ProverError(f"{node.name}: no accumulator")
        advice = requant_advice(node.name, plan.requant[node.name], acc)
        if node.kind in LAYERNORMS:
            advice.update(layernorm_advice(node, inputs[0], plan.limb_bits))
        return advice
    if node.kind is OpKind.EMBEDDING:
        return {"y": executor.run_node(node, inputs)}
    if node.kind is OpKind.MAXPOOL2D:
        windows = pool_windows(node, inputs[0])
        y = windows.max(axis=-1)
        out = {"y": y}
        for k in range(windows.shape[-1]):
            out[f"d{k}"] = y - windows[..., k]
        return out
    if node.kind is OpKind.RELU:
        return {"x": inputs[0], "y": np.maximum(inputs[0], 0)}
    if node.kind is OpKind.TABLE:
        return {"x": inputs[0] + TABLE_SHIFT, "y": executor.run_node(node, inputs)}
    if node.kind in SOFTMAXES:
        return softmax_advice(node, inputs[0], plan.limb_bits)
    return {}


Extra = Callable[[dict[str, np.ndarray]], dict[tuple[str, str], np.ndarray]]
"""Given every tensor's values, further committed vectors (padded tables) by (name, vector)."""


def build_witness(plan: ProofPlan, inputs: np.ndarray, extra: Extra | None = None) -> Witness:
    """The witness of ``inputs``; ``extra`` adds vectors that are not a node's (an audit's
    argmax vectors), placed like every other before the lookups are cut."""
    values = executor.execute(plan.model, inputs)
    vectors: dict[tuple[str, str], np.ndarray] = {}
    table = np.zeros(plan.witness.size, dtype=np.int64)
    for key, padded in (extra(values) if extra is not None else {}).items():
        vectors[key] = padded
        block = plan.witness.block(*key)
        table[block.offset : block.offset + padded.shape[0]] = padded
    for node in plan.model.nodes:
        produced = _node_vectors(plan, node, values)
        if "y" in produced and not np.array_equal(produced["y"], values[node.name]):
            raise ProverError(f"{node.name}: advice disagrees with the executor")
        for name, real in produced.items():
            layout: TensorLayout = plan.vector_layout(node.name, name)
            padded = layout.embed(real)
            vectors[(node.name, name)] = padded
            block = plan.witness.block(node.name, name)
            table[block.offset : block.offset + padded.shape[0]] = padded
    _check_ranges(plan, vectors)
    lookups = lookup_columns(plan, table)
    multiplicities = compute_multiplicities(plan.lookup_statement, lookups)
    block = plan.witness.multiplicities
    table[block.offset : block.offset + multiplicities.shape[0]] = multiplicities
    return Witness(plan, values, vectors, table % base.P, table, multiplicities, lookups)


def _check_ranges(plan: ProofPlan, vectors: dict[tuple[str, str], np.ndarray]) -> None:
    for name, requant in plan.requant.items():
        for vector, width in range_vectors(requant):
            limb = vectors[(name, vector)]
            if limb.size and (limb.min() < 0 or limb.max() >= 1 << width):
                raise ProverError(f"{name}: limb {vector} outside [0, 2^{width})")


def lookup_columns(plan: ProofPlan, table: np.ndarray) -> list[list[np.ndarray]]:
    """The four vectors of every lookup, canonical, from the (signed) witness table."""
    size = 1 << plan.witness.chunk_log
    out = []
    for chunk in plan.lookup_chunks:
        columns = []
        for column in chunk.columns:
            if column.w_offset is None:
                vector = np.zeros(size, dtype=np.int64)
            else:
                vector = table[column.w_offset : column.w_offset + size].copy()
            for segment in column.segments:
                vector[segment.start : segment.start + (1 << segment.log)] += segment.value
            columns.append(vector % base.P)
        out.append(columns)
    return out

"""Lowering: a folded float graph and its calibration scales become a ``QuantisedModel``.

One function per op turns a :class:`FloatNode` into exactly one IR node; the scales of every
value are fixed first, from the calibration data run through the float graph
(:func:`provers.compiler.graph.evaluate`). Ops that only select or move values (max-pool, ReLU,
reshape) keep their input's scale, so they stay exact on integers; average pooling keeps it too
(an average never leaves its inputs' range). The model is validated
(:meth:`QuantisedModel.validate`) before it is returned, and its fidelity measured: the
exported program's float outputs against the integer executor's, dequantised, on the
calibration data.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from provers.circuit import executor
from provers.circuit.model import ModelError, QuantisedModel
from provers.circuit.ops import (
    INT8_MAX,
    INT8_MIN,
    LAYERNORM_MAX_B,
    LAYERNORM_MAX_K,
    LAYERNORM_MAX_OFFSET,
    LAYERNORM_Q_BITS,
    LAYERNORM_V_LIMIT,
    SOFTMAX_SCALE,
    Node,
    OpKind,
)
from provers.compiler.capture import SUPPORTED_OPS, capture
from provers.compiler.fold import fold
from provers.compiler.graph import FUNCTIONS, FloatGraph, FloatKind, FloatNode, evaluate
from provers.compiler.quantise import (
    activation_scale,
    add_multipliers,
    quantise_bias,
    quantise_tensor,
    quantise_weight,
    requant_constants,
)
from provers.errors import CompileError
from provers.field.base import P

CALIBRATION_BATCH = 256
"""Samples per float evaluation and per integer execution (bounds memory on big sets)."""
MAX_CALIBRATION_SAMPLES = 100_000
_PASS_THROUGH = (FloatKind.MAXPOOL2D, FloatKind.RELU, FloatKind.RESHAPE, FloatKind.AVGPOOL2D)


@dataclass(frozen=True)
class CompileResult:
    model: QuantisedModel
    input_scale: float
    fidelity: dict[str, float]
    """``top1_agreement`` (share of samples whose arg-max output agrees), ``max_abs_error``
    (largest |float − dequantised| output difference) and ``samples``, on the calibration set."""


def compile_program(
    program: torch.export.ExportedProgram,
    calibration: np.ndarray,
    *,
    percentile: float | None = None,
) -> CompileResult:
    """Quantise and lower a program; ``calibration`` is a float batch (N, *input_shape)."""
    graph = float_graph(program)
    inputs = _calibration_array(calibration, graph.input_shape)
    scales = calibrate(graph, inputs, percentile)
    model = lower(graph, scales)
    fidelity = measure_fidelity(program, model, inputs)
    return CompileResult(model, model.input_scale, fidelity)


def float_graph(program: torch.export.ExportedProgram) -> FloatGraph:
    """The program's folded float graph; CompileError listing every unsupported op."""
    captured = capture(program)
    if captured.unsupported or captured.graph is None:
        found = "; ".join(op.describe() for op in captured.unsupported) or "no usable graph"
        raise CompileError(f"cannot compile: {found}. Supported ops: {', '.join(SUPPORTED_OPS)}")
    return fold(captured.graph)


def quantise_input(model: QuantisedModel, x: np.ndarray) -> np.ndarray:
    """The int8 inputs of a float batch (N, *input_shape): round(x / input_scale), half to
    even, clamped to [−128, 127]. A model whose input is token ids takes them as they are
    (int64), each an integer in [0, V)."""
    values = np.asarray(x, dtype=np.float64)
    if values.shape[1:] != model.input_shape:
        raise CompileError(
            f"inputs of shape {values.shape[1:]}, the model takes {model.input_shape}"
        )
    vocabulary = model.input_vocabulary
    if vocabulary:
        if not np.all(np.isfinite(values)) or np.any(values != np.round(values)):
            raise CompileError("token ids must be integers")
        if values.size and (values.min() < 0 or values.max() >= vocabulary):
            raise CompileError(
                f"token ids from {int(values.min())} to {int(values.max())}; the model's "
                f"vocabulary is [0, {vocabulary})"
            )
        return values.astype(np.int64)
    return quantise_tensor(values, model.input_scale).astype(np.int8)


def calibrate(
    graph: FloatGraph, inputs: np.ndarray, percentile: float | None = None
) -> dict[str, float]:
    """The scale of every value: the input's and each requantising node's from the data, the
    others' inherited from their input."""
    peaks = _value_ranges(graph, inputs, percentile)
    # Token ids are not quantised: their "scale" is a placeholder the circuit records.
    token_ids = any(n.kind is FloatKind.EMBEDDING and not n.ids for n in graph.nodes)
    scales = {"input": 1.0 if token_ids else peaks["input"]}
    for node in graph.nodes:
        if node.kind is FloatKind.EMBEDDING:
            scales[node.name] = activation_scale(np.asarray(node.weight))
        elif node.kind in _PASS_THROUGH:
            scales[node.name] = scales[node.inputs[0]]
        elif node.kind in (FloatKind.SOFTMAX, FloatKind.SOFTMAX_CAUSAL):
            scales[node.name] = SOFTMAX_SCALE
        elif node.kind is FloatKind.SCALE:
            scales[node.name] = scales[node.inputs[0]] * node.factor
        else:
            scales[node.name] = peaks[node.name]
    return scales


def lower(graph: FloatGraph, scales: dict[str, float]) -> QuantisedModel:
    nodes = tuple(_lower_node(node, scales) for node in graph.nodes)
    model = QuantisedModel(graph.input_shape, scales["input"], nodes, graph.output)
    try:
        model.validate()
    except ModelError as error:
        raise CompileError(f"the lowered model is invalid (a compiler bug): {error}") from None
    return model


def _lower_node(node: FloatNode, scales: dict[str, float]) -> Node:
    try:
        return LOWERINGS[node.kind](node, [scales[name] for name in node.inputs], scales[node.name])
    except CompileError as error:
        raise CompileError(f"{node.name} ({node.source}): {error}") from None


def measure_fidelity(
    program: torch.export.ExportedProgram, model: QuantisedModel, inputs: np.ndarray
) -> dict[str, float]:
    """Float program outputs against dequantised integer outputs on ``inputs``."""
    expected = run_program(program, inputs).reshape(inputs.shape[0], -1)
    output_scale = model.node(model.output).scale
    got = (
        np.concatenate(
            [
                executor.run(
                    model, quantise_input(model, inputs[start : start + CALIBRATION_BATCH])
                )
                for start in range(0, inputs.shape[0], CALIBRATION_BATCH)
            ]
        ).reshape(inputs.shape[0], -1)
        * output_scale
    )
    agreement = float(np.mean(expected.argmax(axis=1) == got.argmax(axis=1)))
    return {
        "top1_agreement": agreement,
        "max_abs_error": float(np.max(np.abs(expected - got))),
        "samples": int(inputs.shape[0]),
    }


def run_program(program: torch.export.ExportedProgram, inputs: np.ndarray) -> np.ndarray:
    """The exported program's float outputs, in chunks of its exported batch size (padded)."""
    module = program.module()
    placeholder = [n for n in program.graph.nodes if n.op == "placeholder"]
    batch = _exported_batch(program, placeholder)
    dtype = _input_dtype(program, placeholder)
    outputs = []
    with torch.no_grad():
        for start in range(0, inputs.shape[0], batch):
            chunk = torch.from_numpy(np.asarray(inputs[start : start + batch], dtype=dtype))
            rows = chunk.shape[0]
            if rows < batch:
                padding = torch.zeros((batch - rows, *chunk.shape[1:]), dtype=chunk.dtype)
                chunk = torch.cat([chunk, padding])
            outputs.append(module(chunk)[:rows].to(torch.float64).numpy())
    return np.concatenate(outputs)


def _input_dtype(program: torch.export.ExportedProgram, placeholders: list[Any]) -> Any:
    """int64 for a program whose input is integer (token ids), float32 otherwise."""
    user_inputs = set(program.graph_signature.user_inputs)
    for node in placeholders:
        value = node.meta.get("val")
        if node.name in user_inputs and isinstance(value, torch.Tensor):
            return np.int64 if not value.dtype.is_floating_point else np.float32
    return np.float32


def _exported_batch(program: torch.export.ExportedProgram, placeholders: list[Any]) -> int:
    user_inputs = set(program.graph_signature.user_inputs)
    for node in placeholders:
        value = node.meta.get("val")
        if node.name in user_inputs and isinstance(value, torch.Tensor):
            size = value.shape[0]
            return int(size) if isinstance(size, int) else _dynamic_batch(program, size)
    return CALIBRATION_BATCH


def _dynamic_batch(program: torch.export.ExportedProgram, size: torch.SymInt) -> int:
    """A chunk size inside the range the program's dynamic batch dimension was exported for."""
    limits = program.range_constraints.get(size.node.expr)
    if limits is None:
        return CALIBRATION_BATCH
    upper = int(limits.upper) if limits.upper.is_finite else CALIBRATION_BATCH
    return max(int(limits.lower), min(CALIBRATION_BATCH, upper))


def _calibration_array(calibration: np.ndarray, input_shape: tuple[int, ...]) -> np.ndarray:
    values = np.asarray(calibration, dtype=np.float64)
    if values.ndim != len(input_shape) + 1 or values.shape[1:] != input_shape:
        expected = ", ".join(str(dim) for dim in input_shape)
        raise CompileError(f"calibration data of shape {values.shape}, expected (N, {expected})")
    if not 0 < values.shape[0] <= MAX_CALIBRATION_SAMPLES:
        raise CompileError(f"calibration needs 1 to {MAX_CALIBRATION_SAMPLES} samples")
    if not np.all(np.isfinite(values)):
        raise CompileError("calibration data holds non-finite values")
    return values


def _value_ranges(
    graph: FloatGraph, inputs: np.ndarray, percentile: float | None
) -> dict[str, float]:
    """Per value, the activation scale its calibration data asks for."""
    collected: dict[str, list[np.ndarray]] = {}
    for start in range(0, inputs.shape[0], CALIBRATION_BATCH):
        chunk = torch.from_numpy(inputs[start : start + CALIBRATION_BATCH])
        with torch.no_grad():
            values = evaluate(graph, chunk)
        for name, value in values.items():
            collected.setdefault(name, []).append(value.numpy())
    return {
        name: activation_scale(np.concatenate(parts), percentile)
        for name, parts in collected.items()
    }


# Lowerings, one per op --------------------------------------------------------------------------


def _lower_weighted(node: FloatNode, in_scales: list[float], out_scale: float) -> Node:
    weight, weight_scales = quantise_weight(np.asarray(node.weight))
    accumulator_scales = in_scales[0] * weight_scales
    bias = quantise_bias(np.asarray(node.bias), accumulator_scales)
    fan_in = np.abs(weight).reshape(weight.shape[0], -1).sum(axis=1)
    bound = int((fan_in * 128 + np.abs(bias)).max())
    requant = requant_constants(accumulator_scales / out_scale, bound, node.relu)
    return Node(
        node.name,
        OpKind(node.kind.value),
        node.inputs,
        node.output_shape,
        out_scale,
        weight=weight,
        bias=bias,
        requant=requant,
        stride=node.stride,
        padding=node.padding,
        kernel=node.kernel,
        source=node.source,
    )


def _lower_avgpool(node: FloatNode, in_scales: list[float], out_scale: float) -> Node:
    window = node.kernel[0] * node.kernel[1]
    requant = requant_constants(
        np.array([in_scales[0] / out_scale / window]), 128 * window, node.relu
    )
    return _plain(node, out_scale, requant=requant, kernel=node.kernel, stride=node.stride)


def _lower_add(node: FloatNode, in_scales: list[float], out_scale: float) -> Node:
    multipliers, accumulator_scale = add_multipliers(in_scales[0], in_scales[1])
    bound = 128 * (multipliers[0] + multipliers[1])
    requant = requant_constants(np.array([accumulator_scale / out_scale]), bound, node.relu)
    return _plain(node, out_scale, requant=requant, add_multipliers=multipliers)


def _lower_product(node: FloatNode, in_scales: list[float], out_scale: float) -> Node:
    inner = node.kernel[0]
    requant = requant_constants(
        np.array([in_scales[0] * in_scales[1] / out_scale]), inner * 128 * 128, node.relu
    )
    return _plain(node, out_scale, requant=requant, kernel=(inner, 1))


def _lower_function(node: FloatNode, in_scales: list[float], out_scale: float) -> Node:
    """y = round(f(x·s_in)/s_out) clamped to int8, for every int8 x: the table the proof's
    lookup binds the output to (computed here once; the circuit states its values)."""
    inputs = torch.arange(-128, 128, dtype=torch.float64) * in_scales[0]
    with torch.no_grad():
        outputs = FUNCTIONS[node.function](inputs).numpy() / out_scale
    table = np.clip(np.round(outputs), INT8_MIN, INT8_MAX).astype(np.int64)
    return _plain(node, out_scale, OpKind.TABLE, table=tuple(int(v) for v in table))


def _lower_softmax(node: FloatNode, in_scales: list[float], out_scale: float) -> Node:
    """E[1 + d] = round(2^F·exp(−s_in·d)) with the largest F (at most 16) that keeps
    512·T·2^F below p/2, the circuit's bound for exact integer steps."""
    entries = node.output_shape[-1]
    bits = 16
    while bits > 8 and 512 * entries << bits >= P // 2:
        bits -= 1
    if 512 * entries << bits >= P // 2:
        raise CompileError(f"{node.name}: a softmax over {entries} entries is too long")
    steps = np.arange(256, dtype=np.float64) * in_scales[0]
    exponentials = np.round(np.exp(-steps) * (1 << bits)).astype(np.int64)
    table = (0, *(int(v) for v in exponentials))
    return _plain(node, SOFTMAX_SCALE, table=table)


def _layernorm_shifts(entries: int, epsilon: float, centred: bool) -> tuple[int, int, int]:
    """(a, b, E): the largest a whose worst V = D·2^(2a+16) (an RMSNORM's D·2^(2a+14)) plus
    E = ε in units of V (ε·D·2^(2a) with the input's unit 1) fits the circuit's bound, and the
    smallest b keeping Q < 2^14."""
    for a in range(8, -1, -1):
        extra = round(epsilon * entries * 4**a)
        worst = (entries << (2 * a + (16 if centred else 14))) + extra
        if worst >= LAYERNORM_V_LIMIT:
            continue
        for b in range(LAYERNORM_MAX_B + 1):
            if worst >> b < (1 << LAYERNORM_Q_BITS) - 1:
                return a, b, extra
    raise CompileError(f"a layernorm over {entries} entries is too long (or its ε too large)")


def _lower_layernorm(node: FloatNode, in_scales: list[float], out_scale: float) -> Node:
    """acc·κ is the normalised value, κ = √(D / (C·2^b)) (ops.py: c = 2^a·(x − mean) in input
    units, or 2^a·x for an RMSNORM, and Q·2^b ≈ V + E = D·2^(2a)·(variance + ε) / s_x², so
    c/√(Q·2^b/D) ≈ the normalised value and R ≈ √C/√Q). With σ_j = sign(γ_j):
    B_j = round(β_j / (κ·|γ_j|)) and y ≈ acc·κ·|γ_j| / s_y; a channel with γ_j = 0 outputs
    β_j alone, acc_j = B_j = round(β_j / (s_y·M_j)) for a multiplier ratio M_j (the others'
    largest, raised so that |B_j| ≤ 2^(K + b/2), the size of σ·c·R)."""
    entries = node.output_shape[-1]
    centred = node.kind is FloatKind.LAYERNORM
    a, b, extra = _layernorm_shifts(entries, node.eps / in_scales[0] ** 2, centred)
    k = LAYERNORM_MAX_K
    kappa = math.sqrt(entries / float(1 << (2 * k + b)))
    gamma = np.asarray(node.weight, dtype=np.float64)
    beta = np.zeros(entries) if node.bias is None else np.asarray(node.bias, dtype=np.float64)
    signs = np.sign(gamma).astype(np.int64)
    live = signs != 0
    ratios = np.zeros(entries)
    ratios[live] = kappa * np.abs(gamma[live]) / out_scale
    offsets = np.zeros(entries)
    offsets[live] = beta[live] / (kappa * np.abs(gamma[live]))
    if not live.all():
        largest = float(ratios.max()) if live.any() else 0.0
        wanted = np.abs(beta[~live]) / out_scale / 2.0 ** (k + b // 2)
        ratios[~live] = np.maximum(np.maximum(wanted, largest), 1e-12)
        offsets[~live] = beta[~live] / (out_scale * ratios[~live])
    offsets = np.round(offsets)
    if np.abs(offsets).max(initial=0) > LAYERNORM_MAX_OFFSET:
        raise CompileError(f"{node.name}: a {node.kind.value} bias β too large against its γ")
    offsets = offsets.astype(np.int64)
    bound = math.isqrt(1 << (b + 2 * k)) + int(np.abs(offsets).max(initial=0))
    requant = requant_constants(ratios, bound, node.relu)
    stated = () if np.all(signs == 1) else tuple(int(v) for v in signs)
    table = (a, b, k, extra, *(int(v) for v in offsets), *stated)
    kind = OpKind.LAYERNORM if centred else OpKind.RMSNORM
    return _plain(node, out_scale, kind, requant=requant, table=table)


def _lower_embedding(node: FloatNode, in_scales: list[float], out_scale: float) -> Node:
    """The table quantised with one scale (the output's: max|E| / 127), and the constant ids."""
    table = quantise_tensor(np.asarray(node.weight), out_scale)
    return _plain(node, out_scale, weight=table, table=node.ids)


def _lower_scale(node: FloatNode, in_scales: list[float], out_scale: float) -> Node:
    """The same integers read with the scale times the factor: a reshape to the same shape."""
    return _plain(node, out_scale, OpKind.RESHAPE)


def _lower_maxpool(node: FloatNode, in_scales: list[float], out_scale: float) -> Node:
    return _plain(node, out_scale, kernel=node.kernel, stride=node.stride)


def _lower_simple(node: FloatNode, in_scales: list[float], out_scale: float) -> Node:
    return _plain(node, out_scale)


def _lower_unfolded(node: FloatNode, in_scales: list[float], out_scale: float) -> Node:
    raise CompileError(f"{node.name}: a batch norm survived folding (a compiler bug)")


def _plain(node: FloatNode, scale: float, kind: OpKind | None = None, **fields: Any) -> Node:
    """The IR node of ``node`` (of the same kind unless ``kind`` says otherwise)."""
    return Node(
        node.name,
        kind or OpKind(node.kind.value),
        node.inputs,
        node.output_shape,
        scale,
        source=node.source,
        **fields,
    )


LOWERINGS: dict[FloatKind, Callable[[FloatNode, list[float], float], Node]] = {
    FloatKind.LINEAR: _lower_weighted,
    FloatKind.CONV2D: _lower_weighted,
    FloatKind.AVGPOOL2D: _lower_avgpool,
    FloatKind.ADD: _lower_add,
    FloatKind.MAXPOOL2D: _lower_maxpool,
    FloatKind.RELU: _lower_simple,
    FloatKind.RESHAPE: _lower_simple,
    FloatKind.MATMUL: _lower_product,
    FloatKind.FUNCTION: _lower_function,
    FloatKind.SOFTMAX: _lower_softmax,
    FloatKind.SOFTMAX_CAUSAL: _lower_softmax,
    FloatKind.LAYERNORM: _lower_layernorm,
    FloatKind.RMSNORM: _lower_layernorm,
    FloatKind.EMBEDDING: _lower_embedding,
    FloatKind.SCALE: _lower_scale,
    FloatKind.MATMUL_T: _lower_product,
    FloatKind.BATCHNORM: _lower_unfolded,
}

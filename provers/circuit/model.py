"""A quantised model: the input's shape and scale, the nodes in execution order, the output.

``QuantisedModel.circuit_bytes`` is the canonical encoding of everything the proof's semantics
depend on (shapes, op parameters, requantisation constants) — the weights excluded, which are
bound by the weight commitment — and ``circuit_digest`` its SHA-256. ``validate`` checks every
invariant the prover relies on, in particular that no intermediate can leave the range where
field arithmetic equals integer arithmetic, for any int8 input.

A model may also be a bare circuit (read back from ``circuit_bytes`` by
:func:`provers.circuit.serialize.circuit_from_bytes`): its nodes carry ``weight_shape`` and
``bias_shape`` instead of arrays, and ``validate(require_weights=False)`` checks everything that
does not need the weight values.
"""

from __future__ import annotations

import hashlib
import math
import struct
from dataclasses import dataclass, field

import numpy as np

from provers.circuit.ops import (
    ACTIVATION_PRODUCTS,
    INT8_MAX,
    INT8_MIN,
    LAYERNORM_CONSTANTS,
    LAYERNORM_MAX_B,
    LAYERNORM_MAX_K,
    LAYERNORM_MAX_OFFSET,
    LAYERNORM_Q_BITS,
    LAYERNORM_V_LIMIT,
    LAYERNORMS,
    MAX_SHIFT1,
    MAX_SHIFT2,
    MULTIPLIER_BITS,
    SOFTMAX_ROWS,
    SOFTMAXES,
    T_BITS,
    TABLE_ROWS,
    Node,
    OpKind,
    Requant,
)
from provers.field import base

_DOMAIN = b"veriml/circuit/v1"
MAX_NODES = 4096
MAX_DIM = 1 << 20


class ModelError(ValueError):
    """The IR breaks an invariant (a compiler bug or a hostile model file)."""


@dataclass(frozen=True, eq=False)
class QuantisedModel:
    input_shape: tuple[int, ...]
    input_scale: float
    nodes: tuple[Node, ...]
    output: str
    labels: tuple[str, ...] = field(default=())
    """Optional class names of the output units."""

    def node(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    @property
    def parameter_count(self) -> int:
        total = 0
        for node in self.nodes:
            if node.weight_dims:
                total += int(np.prod(node.weight_dims))
            if node.bias_dims:
                total += int(np.prod(node.bias_dims))
        return total

    def output_shape(self) -> tuple[int, ...]:
        return self.node(self.output).output_shape

    @property
    def input_vocabulary(self) -> int:
        """V when the input is a tensor of token ids 0 ≤ id < V (it feeds an EMBEDDING that
        reads its ids from it), 0 when it is int8 values."""
        for node in self.nodes:
            if node.kind is OpKind.EMBEDDING and not node.constant_ids and node.weight_dims:
                return node.vocabulary
        return 0

    def circuit_bytes(self) -> bytes:
        parts = [_DOMAIN, _ints(self.input_shape), struct.pack("<d", self.input_scale)]
        parts.append(_text(self.output))
        parts.append(struct.pack("<I", len(self.nodes)))
        for node in self.nodes:
            parts.append(_node_bytes(node))
        parts.append(struct.pack("<I", len(self.labels)))
        parts.extend(_text(label) for label in self.labels)
        return b"".join(parts)

    @property
    def circuit_digest(self) -> bytes:
        return hashlib.sha256(self.circuit_bytes()).digest()

    def validate(self, require_weights: bool = True) -> None:
        """Check every invariant; ``require_weights=False`` accepts a bare circuit, whose
        worst-case accumulator bounds then cannot be checked (they depend on the weights)."""
        shapes: dict[str, tuple[int, ...]] = {"input": self.input_shape}
        if len(self.nodes) > MAX_NODES:
            raise ModelError(f"{len(self.nodes)} nodes, at most {MAX_NODES}")
        for node in self.nodes:
            if node.name in shapes:
                raise ModelError(f"node name {node.name!r} used twice")
            if node.name.startswith("@"):
                # The prover names its own witness vectors "@…" (provers/inference/plan.py).
                raise ModelError(f"node name {node.name!r}: names may not start with '@'")
            missing = [name for name in node.inputs if name not in shapes]
            if missing:
                raise ModelError(f"{node.name}: inputs {missing} are not computed before it")
            _check_node(node, [shapes[name] for name in node.inputs], require_weights)
            shapes[node.name] = node.output_shape
        if self.output not in shapes or self.output == "input":
            raise ModelError(f"output {self.output!r} is not a node")
        self._check_input_readers()

    def _check_input_readers(self) -> None:
        """An id input is read by EMBEDDINGs of one vocabulary only (any other op would take
        ids for int8 values); an EMBEDDING reads nothing but the input (a constant-id one for
        its batch size)."""
        vocabulary = self.input_vocabulary
        for node in self.nodes:
            token = node.kind is OpKind.EMBEDDING and not node.constant_ids
            if node.kind is OpKind.EMBEDDING and node.inputs != ("input",):
                raise ModelError(f"{node.name}: an embedding reads the model's input")
            if vocabulary and "input" in node.inputs and node.kind is not OpKind.EMBEDDING:
                raise ModelError(
                    f"{node.name}: a {node.kind.value} reads the input, which holds token ids"
                )
            if token and node.vocabulary != vocabulary:
                raise ModelError(
                    f"{node.name}: embeddings of {vocabulary} and {node.vocabulary} ids read "
                    "the same input"
                )


def _ints(values: tuple[int, ...]) -> bytes:
    return struct.pack("<I", len(values)) + b"".join(struct.pack("<q", v) for v in values)


def _text(value: str) -> bytes:
    data = value.encode()
    return struct.pack("<I", len(data)) + data


def _node_bytes(node: Node) -> bytes:
    parts = [
        _text(node.name),
        _text(node.kind.value),
        struct.pack("<I", len(node.inputs)),
        *(_text(name) for name in node.inputs),
        _ints(node.output_shape),
        struct.pack("<d", node.scale),
        _ints(node.stride),
        _ints(node.padding),
        _ints(node.kernel),
        _ints(node.add_multipliers),
        _ints(node.weight_dims),
        _ints(node.bias_dims),
    ]
    if node.kind in (OpKind.TABLE, OpKind.EMBEDDING, *LAYERNORMS, *SOFTMAXES):
        parts.append(_ints(node.table))
    if node.requant is None:
        parts.append(b"\x00")
    else:
        r = node.requant
        parts.append(b"\x01" + _ints((r.shift1, r.shift2, int(r.relu))) + _ints(r.multipliers))
    return b"".join(parts)


def accumulator_bound(node: Node) -> np.ndarray:
    """The largest |accumulator| any int8 input can produce, per output channel."""
    if node.kind in (OpKind.LINEAR, OpKind.CONV2D):
        weight = np.abs(np.asarray(node.weight, dtype=np.int64)).reshape(
            np.asarray(node.weight).shape[0], -1
        )
        bias = np.abs(np.asarray(node.bias, dtype=np.int64))
        return np.asarray(weight.sum(axis=1) * 128 + bias)
    if node.kind is OpKind.AVGPOOL2D:
        return np.array([node.kernel[0] * node.kernel[1] * 128], dtype=np.int64)
    if node.kind is OpKind.ADD:
        return np.array([128 * (abs(node.add_multipliers[0]) + abs(node.add_multipliers[1]))])
    if node.kind in ACTIVATION_PRODUCTS:
        return np.array([node.inner_dim * 128 * 128], dtype=np.int64)
    if node.kind in LAYERNORMS:
        # c_j² ≤ V < 2^b·Q and R²·Q ≤ 2^(2K), so |σ_j·c_j·R| < √(2^(b+2K)).
        _, b, k, _ = node.layernorm_constants
        offsets = np.abs(np.asarray(node.layernorm_offsets, dtype=np.int64))
        return np.asarray(math.isqrt(1 << (b + 2 * k)) + offsets)
    return np.zeros(1, dtype=np.int64)


def _check_requant(node: Node, channels: int, check_bound: bool = True) -> None:
    r = node.requant
    if r is None:
        raise ModelError(f"{node.name}: {node.kind.value} needs requantisation constants")
    if not (0 <= r.shift1 <= MAX_SHIFT1 and 0 <= r.shift2 <= MAX_SHIFT2):
        raise ModelError(
            f"{node.name}: shifts ({r.shift1}, {r.shift2}) outside 0..{MAX_SHIFT1} and "
            f"0..{MAX_SHIFT2}"
        )
    if len(r.multipliers) not in (1, channels):
        raise ModelError(f"{node.name}: {len(r.multipliers)} multipliers for {channels} channels")
    if any(not 1 <= m < (1 << MULTIPLIER_BITS) for m in r.multipliers):
        raise ModelError(f"{node.name}: multipliers must lie in [1, 2^{MULTIPLIER_BITS})")
    if not check_bound:
        return
    bound = int(accumulator_bound(node).max())
    t_bound = (bound + ((1 << r.shift1) >> 1)) >> r.shift1
    if t_bound >= 1 << T_BITS:
        raise ModelError(
            f"{node.name}: accumulators up to {bound} need shift1 ≥ "
            f"{max(0, bound.bit_length() - T_BITS + 1)}, not {r.shift1}"
        )


def _check_int_range(node: Node, values: np.ndarray | None, low: int, high: int, what: str) -> None:
    if values is None or values.size == 0:
        raise ModelError(f"{node.name}: {what} missing")
    if int(values.min()) < low or int(values.max()) > high:
        raise ModelError(f"{node.name}: {what} outside [{low}, {high}]")


def _check_weights(node: Node, require_weights: bool) -> None:
    """Values of present weights; shapes of recorded ones. A bare circuit has no values."""
    channels = node.output_shape[node.channel_axis - 1]
    if node.weight is None and node.bias is None and not require_weights:
        if len(node.bias_dims) != 1 or node.bias_dims[0] != channels:
            raise ModelError(f"{node.name}: bias shape {node.bias_dims}, one per output channel")
        return
    _check_int_range(node, node.weight, INT8_MIN, INT8_MAX, "weights")
    _check_int_range(node, node.bias, -(1 << 31), (1 << 31) - 1, "bias")
    for array, recorded in ((node.weight, node.weight_shape), (node.bias, node.bias_shape)):
        if recorded and array is not None and tuple(array.shape) != recorded:
            raise ModelError(f"{node.name}: recorded shape {recorded}, array {array.shape}")
    if node.bias is not None and tuple(node.bias.shape) != (channels,):
        raise ModelError(f"{node.name}: bias of shape {node.bias.shape}, one per output channel")


def _check_softmax(node: Node) -> None:
    table = node.table
    if len(table) != SOFTMAX_ROWS or table[0] != 0 or table[1] < 1:
        raise ModelError(f"{node.name}: softmax needs {SOFTMAX_ROWS} table values, 0 then ≥ 1")
    if any(b > a or b < 0 for a, b in zip(table[1:], table[2:], strict=False)):
        raise ModelError(f"{node.name}: the exponential table must not increase")
    if 512 * node.output_shape[-1] * table[1] >= base.P // 2:
        raise ModelError(f"{node.name}: rows of {node.output_shape[-1]} with E[1] = {table[1]}")


def layernorm_variance_bound(node: Node) -> int:
    """The largest V = Σ_j c_j² of a LAYERNORM row: |c_j| ≤ 2^(a+8) for int8 inputs (an
    RMSNORM's |c_j| = 2^a·|x_j| ≤ 2^(a+7))."""
    a = node.layernorm_constants[0]
    return node.output_shape[-1] << (2 * a + (16 if node.kind is OpKind.LAYERNORM else 14))


def _check_layernorm(node: Node) -> None:
    """The bounds provers/inference/rel_layernorm.py's soundness argument assumes."""
    entries = node.output_shape[-1]
    if len(node.table) not in (LAYERNORM_CONSTANTS + entries, LAYERNORM_CONSTANTS + 2 * entries):
        raise ModelError(
            f"{node.name}: a {node.kind.value} needs (a, b, K, E), {entries} offsets and "
            "optionally as many signs"
        )
    signs = node.table[LAYERNORM_CONSTANTS + entries :]
    if signs and (any(s not in (-1, 0, 1) for s in signs) or all(s == 1 for s in signs)):
        # All-one signs are the table without signs: one encoding per model.
        raise ModelError(f"{node.name}: signs must lie in {{−1, 0, 1}}, not all 1")
    a, b, k, e = node.layernorm_constants
    if a < 0 or not 0 <= b <= LAYERNORM_MAX_B or not 1 <= k <= LAYERNORM_MAX_K or e < 0:
        raise ModelError(
            f"{node.name}: layernorm constants (a, b, K, E) = {(a, b, k, e)} need a ≥ 0, "
            f"0 ≤ b ≤ {LAYERNORM_MAX_B}, 1 ≤ K ≤ {LAYERNORM_MAX_K}, E ≥ 0"
        )
    if a > 8 or layernorm_variance_bound(node) + e >= LAYERNORM_V_LIMIT:
        raise ModelError(f"{node.name}: rows of {entries} with a = {a}, E = {e} overflow V")
    if (layernorm_variance_bound(node) + e) >> b >= (1 << LAYERNORM_Q_BITS) - 1:
        raise ModelError(f"{node.name}: b = {b} leaves Q ≥ 2^{LAYERNORM_Q_BITS}")
    if any(abs(offset) > LAYERNORM_MAX_OFFSET for offset in node.layernorm_offsets):
        raise ModelError(f"{node.name}: layernorm offsets beyond ±2^24")


def _check_table(node: Node) -> None:
    if node.kind in SOFTMAXES:
        _check_softmax(node)
        return
    if node.kind in LAYERNORMS:
        _check_layernorm(node)
        return
    if node.kind is OpKind.EMBEDDING:
        _check_embedding(node)
        return
    if node.kind is not OpKind.TABLE:
        if node.table:
            raise ModelError(f"{node.name}: only a table op carries a table")
        return
    if len(node.table) != TABLE_ROWS or not all(INT8_MIN <= v <= INT8_MAX for v in node.table):
        raise ModelError(f"{node.name}: a table op needs {TABLE_ROWS} int8 outputs")


def _check_embedding(node: Node) -> None:
    """Constant ids, when stated, are one per output row and each below V."""
    rows = int(np.prod(node.output_shape[:-1]))
    vocabulary = node.vocabulary
    if node.table and len(node.table) != rows:
        raise ModelError(f"{node.name}: {len(node.table)} constant ids for {rows} output rows")
    if node.table and (min(node.table) < 0 or max(node.table) >= vocabulary):
        raise ModelError(f"{node.name}: constant ids outside [0, {vocabulary})")
    if node.requant is not None or node.bias_dims:
        raise ModelError(f"{node.name}: an embedding has no bias and no requantisation")


def _check_embedding_table(node: Node, require_weights: bool) -> None:
    if node.weight is None and not require_weights:
        return
    _check_int_range(node, node.weight, INT8_MIN, INT8_MAX, "embedding table")
    if node.weight_shape and node.weight is not None and node.weight.shape != node.weight_shape:
        raise ModelError(
            f"{node.name}: recorded shape {node.weight_shape}, array {node.weight.shape}"
        )


def _check_node(node: Node, in_shapes: list[tuple[int, ...]], require_weights: bool) -> None:
    if any(d <= 0 or d > MAX_DIM for d in node.output_shape):
        raise ModelError(f"{node.name}: bad output shape {node.output_shape}")
    expected = _expected_shape(node, in_shapes)
    if expected != node.output_shape:
        raise ModelError(f"{node.name}: output shape {node.output_shape}, computed {expected}")
    if node.kind in (OpKind.LINEAR, OpKind.CONV2D):
        _check_weights(node, require_weights)
        has_values = node.weight is not None and node.bias is not None
        channels = node.output_shape[node.channel_axis - 1]
        _check_requant(node, channels, check_bound=has_values)
    if node.kind is OpKind.EMBEDDING:
        _check_embedding_table(node, require_weights)
    _check_table(node)
    if node.kind in LAYERNORMS:
        _check_requant(node, node.output_shape[-1])
    if node.kind in (OpKind.AVGPOOL2D, OpKind.ADD, *ACTIVATION_PRODUCTS):
        _check_requant(node, 1)
        if node.requant is not None and len(node.requant.multipliers) != 1:
            raise ModelError(f"{node.name}: one multiplier for the whole tensor")
        if node.kind is OpKind.ADD and any(
            not 1 <= m < (1 << MULTIPLIER_BITS) for m in node.add_multipliers
        ):
            raise ModelError(f"{node.name}: add multipliers must lie in [1, 2^15)")


def _window_out(size: int, kernel: int, stride: int, pad: int) -> int:
    return (size + 2 * pad - kernel) // stride + 1


def _expected_shape(node: Node, in_shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
    arity = 2 if node.kind in (OpKind.ADD, *ACTIVATION_PRODUCTS) else 1
    if len(in_shapes) != arity:
        raise ModelError(f"{node.name}: {node.kind.value} takes {arity} inputs")
    shape = in_shapes[0]
    if node.kind is OpKind.LINEAR:
        weight_shape = node.weight_dims
        if len(weight_shape) != 2 or weight_shape[1] != shape[-1]:
            raise ModelError(f"{node.name}: linear of {weight_shape} on input {shape}")
        return (*shape[:-1], weight_shape[0])
    if node.kind in (OpKind.CONV2D, OpKind.MAXPOOL2D, OpKind.AVGPOOL2D):
        if len(shape) != 3:
            raise ModelError(f"{node.name}: {node.kind.value} needs a (C, H, W) input")
        if min(node.stride) < 1 or min(node.kernel) < 1 or min(node.padding) < 0:
            raise ModelError(f"{node.name}: bad stride, kernel or padding")
        channels = shape[0]
        if node.kind is OpKind.CONV2D:
            weight_shape = node.weight_dims
            if len(weight_shape) != 4 or weight_shape[1] != shape[0]:
                raise ModelError(f"{node.name}: conv weight {weight_shape} on input {shape}")
            if tuple(weight_shape[2:]) != node.kernel:
                raise ModelError(f"{node.name}: kernel {node.kernel} vs weight {weight_shape}")
            channels = weight_shape[0]
        elif node.padding != (0, 0):
            raise ModelError(f"{node.name}: pooling with padding is not supported")
        out_h = _window_out(shape[1], node.kernel[0], node.stride[0], node.padding[0])
        out_w = _window_out(shape[2], node.kernel[1], node.stride[1], node.padding[1])
        if out_h < 1 or out_w < 1:
            raise ModelError(f"{node.name}: window larger than the input")
        return (channels, out_h, out_w)
    if node.kind is OpKind.ADD:
        if in_shapes[0] != in_shapes[1]:
            raise ModelError(f"{node.name}: adding shapes {in_shapes[0]} and {in_shapes[1]}")
        return shape
    if node.kind is OpKind.EMBEDDING:
        return _embedding_shape(node, shape)
    if node.kind in LAYERNORMS and not shape:
        raise ModelError(f"{node.name}: a {node.kind.value} needs samples with a last axis")
    if node.kind is OpKind.SOFTMAX_CAUSAL and (len(shape) < 2 or shape[-1] != shape[-2]):
        raise ModelError(f"{node.name}: a causal softmax needs (…, T, T) samples, not {shape}")
    if node.kind in (OpKind.RELU, OpKind.TABLE, *LAYERNORMS, *SOFTMAXES):
        return shape
    if node.kind in ACTIVATION_PRODUCTS:
        return _product_shape(node, in_shapes[0], in_shapes[1])
    if node.kind is OpKind.RESHAPE:
        if int(np.prod(shape)) != int(np.prod(node.output_shape)):
            raise ModelError(f"{node.name}: reshape {shape} to {node.output_shape}")
        return node.output_shape
    raise ModelError(f"{node.name}: unknown op {node.kind}")


def _embedding_shape(node: Node, ids_shape: tuple[int, ...]) -> tuple[int, ...]:
    """The ids' shape (the input's, or the constant ids' as the output states it) and D."""
    weight_shape = node.weight_dims
    if len(weight_shape) != 2:
        raise ModelError(f"{node.name}: an embedding table of shape {weight_shape}")
    if node.constant_ids:
        ids_shape = node.output_shape[:-1]
    return (*ids_shape, weight_shape[1])


def _product_shape(node: Node, a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    if len(a) < 2 or len(a) != len(b) or a[:-2] != b[:-2]:
        raise ModelError(f"{node.name}: {node.kind.value} of shapes {a} and {b}")
    inner, cols = (b[-1], b[-2]) if node.kind is OpKind.MATMUL_T else (b[-2], b[-1])
    if inner != a[-1] or node.kernel != (a[-1], 1):
        raise ModelError(f"{node.name}: {node.kind.value} of shapes {a} and {b}")
    return (*a[:-1], cols)


__all__ = [
    "ModelError",
    "QuantisedModel",
    "Requant",
    "accumulator_bound",
    "layernorm_variance_bound",
]

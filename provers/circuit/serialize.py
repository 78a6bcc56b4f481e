"""Canonical bytes of quantised models: the full model with weights, and the bare circuit.

Two readers, both for untrusted bytes. They never unpickle, check every count and size before
they allocate or slice, and raise :class:`ModelError` (never anything else) on malformed input.
Each accepts exactly one encoding per model: after parsing, the result is encoded again and
must give the same bytes.

Circuit (``QuantisedModel.circuit_bytes``, what ``circuit_digest`` hashes), all integers
little-endian::

    "veriml/circuit/v1"
    ints(input_shape) f64(input_scale) text(output) u32(node count) node* u32(label count) text*
    node  = text(name) text(kind) u32(n) text(input)*n ints(output_shape) f64(scale)
            ints(stride) ints(padding) ints(kernel) ints(add_multipliers)
            ints(weight_shape) ints(bias_shape)
            [ints(table), TABLE/SOFTMAX/LAYERNORM/RMSNORM/EMBEDDING only] requant
    requant = 0x00 | 0x01 ints(shift1, shift2, relu) ints(multipliers)
    ints  = u32(count) i64*count          text = u32(length) utf-8 bytes

:func:`circuit_from_bytes` returns a *bare circuit*: a ``QuantisedModel`` whose LINEAR,
CONV2D and EMBEDDING nodes have ``weight`` and ``bias`` set to None and carry ``weight_shape`` and
``bias_shape`` instead. It has passed ``validate(require_weights=False)`` (shapes, op
parameters, requantisation constant ranges; not the worst-case accumulator bounds, which need
the weight values) and its ``circuit_digest`` equals the original model's. This is what the
inference verifier gets: everything a proof's statement depends on except the weights, which
the weight commitment binds. It cannot be executed.

Model file (:func:`model_to_bytes`)::

    "VMQM" u16(version = 1) u64(circuit length) circuit
    (int8 weight[prod(weight_shape)] int32 bias[prod(bias_shape)]) for each LINEAR/CONV2D node
    and int8 table[prod(weight_shape)] for each EMBEDDING (no bias), in node order
    text(source) for each node

:func:`model_from_bytes` returns the full model after ``validate()``.
"""

from __future__ import annotations

import dataclasses
import math
import struct

import numpy as np

from provers.circuit.model import _DOMAIN, MAX_DIM, MAX_NODES, ModelError, QuantisedModel
from provers.circuit.ops import (
    LAYERNORM_CONSTANTS,
    LAYERNORMS,
    SOFTMAX_ROWS,
    SOFTMAXES,
    TABLE_ROWS,
    Node,
    OpKind,
    Requant,
)

MODEL_MAGIC = b"VMQM"
MODEL_VERSION = 1
MAX_RANK = 8
MAX_NAME_BYTES = 1024
MAX_SOURCE_BYTES = 4096
MAX_LABELS = 1 << 16
MAX_WEIGHT_ELEMENTS = 1 << 28
"""Bound on all weights and biases of one model together."""
_WEIGHTED = (OpKind.LINEAR, OpKind.CONV2D, OpKind.EMBEDDING)
_BIASED = (OpKind.LINEAR, OpKind.CONV2D)
_WINDOW_FIELDS = 2


class _Reader:
    def __init__(self, data: bytes) -> None:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise ModelError("a model must be bytes")
        self._data = bytes(data)
        self._position = 0

    @property
    def remaining(self) -> int:
        return len(self._data) - self._position

    def take(self, count: int, what: str) -> bytes:
        if count < 0 or count > self.remaining:
            raise ModelError(f"truncated: {what} needs {count} bytes, {self.remaining} remain")
        chunk = self._data[self._position : self._position + count]
        self._position += count
        return chunk

    def unpack(self, layout: str, what: str) -> int | float:
        size = struct.calcsize(layout)
        value: int | float = struct.unpack(layout, self.take(size, what))[0]
        return value

    def u8(self, what: str) -> int:
        return int(self.unpack("<B", what))

    def u32(self, what: str) -> int:
        return int(self.unpack("<I", what))

    def u64(self, what: str) -> int:
        return int(self.unpack("<Q", what))

    def f64(self, what: str) -> float:
        value = float(self.unpack("<d", what))
        if not math.isfinite(value) or value <= 0:
            raise ModelError(f"{what} must be a positive finite number, not {value}")
        return value

    def text(self, what: str, limit: int = MAX_NAME_BYTES) -> str:
        length = self.u32(what)
        if length > limit:
            raise ModelError(f"{what}: {length} bytes, at most {limit}")
        try:
            return self.take(length, what).decode("utf-8")
        except UnicodeDecodeError:
            raise ModelError(f"{what} is not UTF-8") from None

    def ints(self, what: str, limit: int, exactly: int | None = None) -> tuple[int, ...]:
        count = self.u32(what)
        if count > limit or (exactly is not None and count != exactly):
            expected = exactly if exactly is not None else f"at most {limit}"
            raise ModelError(f"{what}: {count} values, expected {expected}")
        raw = self.take(8 * count, what)
        return tuple(int(value) for value in np.frombuffer(raw, dtype="<i8"))

    def finish(self) -> None:
        if self.remaining:
            raise ModelError(f"{self.remaining} bytes after the end of the model")


def circuit_from_bytes(data: bytes) -> QuantisedModel:
    """The bare circuit encoded by ``QuantisedModel.circuit_bytes`` (see the module docstring)."""
    reader = _Reader(data)
    model = _read_circuit(reader)
    reader.finish()
    model.validate(require_weights=False)
    if model.circuit_bytes() != bytes(data):
        raise ModelError("non-canonical circuit encoding")
    return model


def model_to_bytes(model: QuantisedModel) -> bytes:
    """The full model, weights and sources included; the model must validate."""
    model.validate()
    circuit = model.circuit_bytes()
    parts = [MODEL_MAGIC, struct.pack("<HQ", MODEL_VERSION, len(circuit)), circuit]
    for node in model.nodes:
        if node.kind in _WEIGHTED and node.weight is not None:
            parts.append(np.asarray(node.weight, dtype=np.int64).astype(np.int8).tobytes())
        if node.kind in _BIASED and node.bias is not None:
            parts.append(np.asarray(node.bias, dtype=np.int64).astype("<i4").tobytes())
    for node in model.nodes:
        source = node.source.encode()
        parts.append(struct.pack("<I", len(source)) + source)
    return b"".join(parts)


def model_from_bytes(data: bytes) -> QuantisedModel:
    """The full model written by :func:`model_to_bytes`, validated."""
    reader = _Reader(data)
    if reader.take(len(MODEL_MAGIC), "magic") != MODEL_MAGIC:
        raise ModelError("not a VeriML model file (bad magic)")
    version = int(reader.unpack("<H", "version"))
    if version != MODEL_VERSION:
        raise ModelError(f"model format version {version}, this reader knows {MODEL_VERSION}")
    circuit_length = reader.u64("circuit length")
    circuit = circuit_from_bytes(reader.take(circuit_length, "circuit"))
    nodes = [_read_weights(reader, node) for node in circuit.nodes]
    nodes = [
        dataclasses.replace(node, source=reader.text("source", MAX_SOURCE_BYTES)) for node in nodes
    ]
    reader.finish()
    model = dataclasses.replace(circuit, nodes=tuple(nodes))
    model.validate()
    if model_to_bytes(model) != bytes(data):
        raise ModelError("non-canonical model encoding")
    return model


def _read_weights(reader: _Reader, node: Node) -> Node:
    if node.kind not in _WEIGHTED:
        return node
    weight_count = math.prod(node.weight_shape)
    bias_count = math.prod(node.bias_shape)
    weight = np.frombuffer(reader.take(weight_count, f"{node.name} weights"), dtype=np.int8)
    bias = None
    if node.kind in _BIASED:
        raw = np.frombuffer(reader.take(4 * bias_count, f"{node.name} bias"), dtype="<i4")
        bias = raw.astype(np.int64).reshape(node.bias_shape)
    return dataclasses.replace(
        node,
        weight=weight.astype(np.int64).reshape(node.weight_shape),
        bias=bias,
        weight_shape=(),
        bias_shape=(),
    )


def _read_circuit(reader: _Reader) -> QuantisedModel:
    if reader.take(len(_DOMAIN), "domain") != _DOMAIN:
        raise ModelError("not a VeriML circuit (bad domain separator)")
    input_shape = _shape(reader, "input shape")
    input_scale = reader.f64("input scale")
    output = reader.text("output")
    node_count = reader.u32("node count")
    if node_count > MAX_NODES:
        raise ModelError(f"{node_count} nodes, at most {MAX_NODES}")
    nodes = tuple(_read_node(reader) for _ in range(node_count))
    _check_weight_total(nodes)
    label_count = reader.u32("label count")
    if label_count > MAX_LABELS:
        raise ModelError(f"{label_count} labels, at most {MAX_LABELS}")
    labels = tuple(reader.text("label") for _ in range(label_count))
    return QuantisedModel(input_shape, input_scale, nodes, output, labels)


def _shape(reader: _Reader, what: str) -> tuple[int, ...]:
    shape = reader.ints(what, MAX_RANK)
    if any(not 1 <= dim <= MAX_DIM for dim in shape):
        raise ModelError(f"{what} {shape}: every dimension must lie in [1, {MAX_DIM}]")
    return shape


def _read_node(reader: _Reader) -> Node:
    name = reader.text("node name")
    kind_name = reader.text("op kind")
    try:
        kind = OpKind(kind_name)
    except ValueError:
        raise ModelError(f"{name}: unknown op kind {kind_name!r}") from None
    input_count = reader.u32("input count")
    if input_count > 2:
        raise ModelError(f"{name}: {input_count} inputs, at most 2")
    inputs = tuple(reader.text("input name") for _ in range(input_count))
    output_shape = _shape(reader, f"{name} output shape")
    scale = reader.f64(f"{name} scale")
    windows = [
        reader.ints(f"{name} {what}", _WINDOW_FIELDS, exactly=_WINDOW_FIELDS)
        for what in ("stride", "padding", "kernel", "add multipliers")
    ]
    weight_shape = reader.ints(f"{name} weight shape", MAX_RANK)
    bias_shape = reader.ints(f"{name} bias shape", MAX_RANK)
    if (kind in _WEIGHTED) != bool(weight_shape) or (kind in _BIASED) != bool(bias_shape):
        raise ModelError(f"{name}: weights recorded for a {kind.value} node (or missing)")
    for shape in (weight_shape, bias_shape):
        if any(not 1 <= dim <= MAX_DIM for dim in shape):
            raise ModelError(f"{name}: weight dimensions must lie in [1, {MAX_DIM}]")
    rows = TABLE_ROWS if kind is OpKind.TABLE else SOFTMAX_ROWS if kind in SOFTMAXES else 0
    exactly: int | None = rows
    if kind in LAYERNORMS:
        # The offsets, then optionally one sign per channel: _check_layernorm decides.
        rows, exactly = LAYERNORM_CONSTANTS + 2 * output_shape[-1] if output_shape else 0, None
    if kind is OpKind.EMBEDDING:
        # Constant ids (one per output row) or none: _check_embedding decides.
        rows, exactly = math.prod(output_shape[:-1]) if output_shape else 0, None
    if kind in (*LAYERNORMS, OpKind.EMBEDDING):
        table = reader.ints(f"{name} table", rows, exactly=exactly)
    else:
        table = reader.ints(f"{name} table", rows, exactly=rows) if rows else ()
    return Node(
        name,
        kind,
        inputs,
        output_shape,
        scale,
        requant=_read_requant(reader, name),
        stride=(windows[0][0], windows[0][1]),
        padding=(windows[1][0], windows[1][1]),
        kernel=(windows[2][0], windows[2][1]),
        add_multipliers=(windows[3][0], windows[3][1]),
        weight_shape=weight_shape,
        bias_shape=bias_shape,
        table=table,
    )


def _read_requant(reader: _Reader, name: str) -> Requant | None:
    flag = reader.u8(f"{name} requant flag")
    if flag == 0:
        return None
    if flag != 1:
        raise ModelError(f"{name}: requant flag {flag}, expected 0 or 1")
    shift1, shift2, relu = reader.ints(f"{name} requant shifts", 3, exactly=3)
    if relu not in (0, 1):
        raise ModelError(f"{name}: relu flag {relu}, expected 0 or 1")
    multipliers = reader.ints(f"{name} multipliers", MAX_DIM)
    return Requant(shift1, multipliers, shift2, bool(relu))


def _check_weight_total(nodes: tuple[Node, ...]) -> None:
    total = 0
    for node in nodes:
        if node.kind not in _WEIGHTED:
            continue
        total += math.prod(node.weight_shape) + math.prod(node.bias_shape or (0,))
        if total > MAX_WEIGHT_ELEMENTS:
            raise ModelError(f"more than {MAX_WEIGHT_ELEMENTS} weights")

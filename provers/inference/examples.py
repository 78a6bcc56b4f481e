"""Quantised models built directly in the IR, with random int8 weights and requantisation
constants calibrated on random inputs (the compiler's rules: shift1 from the worst-case
accumulator, multipliers in [2^14, 2^15), shift2 so that the 99th percentile of |u| is about
100). For tests and benchmarks: MLP 784-256-128-10, LeNet-5 (average or max pooling), a small
residual CNN, VGG-16 on 3×32×32, and an attention block's two activation products."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np

from provers.circuit import executor
from provers.circuit.model import QuantisedModel, accumulator_bound
from provers.circuit.ops import SOFTMAX_SCALE, Node, OpKind, Requant

_MULTIPLIER_LOW, _MULTIPLIER_HIGH = 1 << 14, 1 << 15


def _first_shift(bound: int) -> int:
    shift = 0
    while (bound + ((1 << shift) >> 1)) >> shift >= 1 << 15:
        shift += 1
    return shift


class ModelBuilder:
    """Appends nodes one by one, running each on a calibration batch to pick its constants."""

    def __init__(self, input_shape: tuple[int, ...], seed: int = 0, calibration: int = 4) -> None:
        self.rng = np.random.default_rng(seed)
        self.input_shape = input_shape
        self.nodes: list[Node] = []
        self.values = {"input": self.rng.integers(-128, 128, (calibration, *input_shape))}
        self.shapes = {"input": input_shape}
        self.last = "input"

    def _name(self, kind: str) -> str:
        return f"{kind}{len(self.nodes)}"

    def _requant(self, node: Node, channels: int, relu: bool) -> Node:
        bound = int(accumulator_bound(node).max())
        shift1 = _first_shift(bound)
        probe = dataclasses.replace(node, requant=Requant(shift1, (1,), 0, relu))
        acc = executor.accumulator(probe, [self.values[n] for n in node.inputs])
        assert acc is not None
        multipliers = tuple(
            int(m) for m in self.rng.integers(_MULTIPLIER_LOW, _MULTIPLIER_HIGH, channels)
        )
        t = np.abs(executor.rounding_shift(acc, shift1))
        typical = max(1.0, float(np.percentile(t, 99)) * max(multipliers))
        shift2 = max(0, int(np.ceil(np.log2(typical / 100.0))))
        return dataclasses.replace(node, requant=Requant(shift1, multipliers, shift2, relu))

    def _add_node(self, node: Node) -> str:
        self.values[node.name] = executor.run_node(node, [self.values[n] for n in node.inputs])
        self.shapes[node.name] = node.output_shape
        self.nodes.append(node)
        self.last = node.name
        return node.name

    def linear(self, out: int, relu: bool = True, source: str | None = None) -> str:
        """A Linear on the last axis of ``source`` (token-wise when it has several)."""
        source = source or self.last
        *rows, features = self.shapes[source]
        node = Node(
            self._name("fc"),
            OpKind.LINEAR,
            (source,),
            (*rows, out),
            0.05,
            weight=self.rng.integers(-128, 128, (out, features)),
            bias=self.rng.integers(-5000, 5000, out),
        )
        return self._add_node(self._requant(node, out, relu))

    def conv(
        self, out: int, kernel: int, stride: int = 1, padding: int = 0, relu: bool = True
    ) -> str:
        channels, height, width = self.shapes[self.last]
        out_h = (height + 2 * padding - kernel) // stride + 1
        out_w = (width + 2 * padding - kernel) // stride + 1
        node = Node(
            self._name("conv"),
            OpKind.CONV2D,
            (self.last,),
            (out, out_h, out_w),
            0.05,
            weight=self.rng.integers(-128, 128, (out, channels, kernel, kernel)),
            bias=self.rng.integers(-5000, 5000, out),
            stride=(stride, stride),
            padding=(padding, padding),
            kernel=(kernel, kernel),
        )
        return self._add_node(self._requant(node, out, relu))

    def pool(self, kind: OpKind, kernel: int, stride: int) -> str:
        channels, height, width = self.shapes[self.last]
        shape = (channels, (height - kernel) // stride + 1, (width - kernel) // stride + 1)
        node = Node(
            self._name(kind.value),
            kind,
            (self.last,),
            shape,
            0.05,
            kernel=(kernel, kernel),
            stride=(stride, stride),
        )
        if kind is OpKind.AVGPOOL2D:
            node = self._requant(node, 1, False)
        return self._add_node(node)

    def add(self, first: str, second: str, relu: bool = True) -> str:
        node = Node(
            self._name("add"),
            OpKind.ADD,
            (first, second),
            self.shapes[first],
            0.05,
            add_multipliers=(1 << 14, int(self.rng.integers(1 << 13, 1 << 14))),
        )
        return self._add_node(self._requant(node, 1, relu))

    def matmul(self, first: str, second: str, transposed: bool = False, relu: bool = False) -> str:
        """first·second (first·secondᵀ when ``transposed``), both activations."""
        a, b = self.shapes[first], self.shapes[second]
        kind = OpKind.MATMUL_T if transposed else OpKind.MATMUL
        cols = b[-2] if transposed else b[-1]
        node = Node(
            self._name(kind.value),
            kind,
            (first, second),
            (*a[:-1], cols),
            0.05,
            kernel=(a[-1], 1),
        )
        return self._add_node(self._requant(node, 1, relu))

    def table(self, function: Callable[[np.ndarray], np.ndarray], source: str) -> str:
        """An elementwise function as a TABLE op, quantised with the scales every node here
        uses (0.05 in and out)."""
        inputs = (np.arange(256, dtype=np.float64) - 128) * 0.05
        values = np.clip(np.round(function(inputs) / 0.05), -128, 127).astype(np.int64)
        table = tuple(int(v) for v in values)
        node = Node(
            self._name("table"), OpKind.TABLE, (source,), self.shapes[source], 0.05, table=table
        )
        return self._add_node(node)

    def softmax(self, source: str, causal: bool = False) -> str:
        """Softmax over the last axis of ``source`` (scale 0.05), exponentials in 2^12 steps;
        ``causal`` keeps entry j of row i only for j ≤ i."""
        steps = np.arange(256, dtype=np.float64) * 0.05
        table = (0, *(int(v) for v in np.round(np.exp(-steps) * (1 << 12))))
        node = Node(
            self._name("softmax"),
            OpKind.SOFTMAX_CAUSAL if causal else OpKind.SOFTMAX,
            (source,),
            self.shapes[source],
            SOFTMAX_SCALE,
            table=table,
        )
        return self._add_node(node)

    def relu(self) -> str:
        node = Node(self._name("relu"), OpKind.RELU, (self.last,), self.shapes[self.last], 0.05)
        return self._add_node(node)

    def flatten(self) -> str:
        size = int(np.prod(self.shapes[self.last]))
        node = Node(self._name("flatten"), OpKind.RESHAPE, (self.last,), (size,), 0.05)
        return self._add_node(node)

    def build(self) -> QuantisedModel:
        model = QuantisedModel(self.input_shape, 0.05, tuple(self.nodes), self.last)
        model.validate()
        return model


def mlp(sizes: tuple[int, ...] = (784, 256, 128, 10), seed: int = 0) -> QuantisedModel:
    builder = ModelBuilder((sizes[0],), seed)
    for i, size in enumerate(sizes[1:]):
        builder.linear(size, relu=i < len(sizes) - 2)
    return builder.build()


def lenet(pool: str = "avg", seed: int = 0) -> QuantisedModel:
    kind = OpKind.AVGPOOL2D if pool == "avg" else OpKind.MAXPOOL2D
    builder = ModelBuilder((1, 28, 28), seed)
    builder.conv(6, 5, padding=2)
    builder.pool(kind, 2, 2)
    builder.conv(16, 5)
    builder.pool(kind, 2, 2)
    builder.flatten()
    builder.linear(120)
    builder.linear(84)
    builder.linear(10, relu=False)
    return builder.build()


def residual_cnn(seed: int = 0) -> QuantisedModel:
    builder = ModelBuilder((3, 8, 8), seed)
    stem = builder.conv(4, 3, padding=1)
    builder.conv(4, 3, padding=1)
    branch = builder.conv(4, 3, padding=1, relu=False)
    builder.add(branch, stem)
    builder.pool(OpKind.MAXPOOL2D, 2, 2)
    builder.relu()
    builder.flatten()
    builder.linear(5, relu=False)
    return builder.build()


def attention_block(tokens: int = 8, width: int = 16, seed: int = 0) -> QuantisedModel:
    """Scores S = X·Xᵀ, a ReLU in place of the softmax, S·X, then a linear read-out: the two
    activation products of an attention head."""
    builder = ModelBuilder((tokens, width), seed)
    scores = builder.matmul("input", "input", transposed=True, relu=True)
    builder.matmul(scores, "input")
    builder.flatten()
    builder.linear(10, relu=False)
    return builder.build()


def gelu(x: np.ndarray) -> np.ndarray:
    return np.asarray(0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2))))


def transformer(
    layers: int = 4, tokens: int = 64, width: int = 64, classes: int = 10, seed: int = 0
) -> QuantisedModel:
    """A nanoGPT-sized stack of the transformer operations the prover has today: per layer a
    single-head causal attention (token-wise Q, K, V and output projections,
    A = causal softmax(Q·Kᵀ), A·V)
    and a GELU feed-forward of width 4·d, both residual; then a linear read-out of the
    flattened tokens. No LayerNorm or embeddings (not supported yet): the input is the
    (tokens, width) activation."""
    builder = ModelBuilder((tokens, width), seed)
    stream = "input"
    for _ in range(layers):
        q = builder.linear(width, relu=False, source=stream)
        k = builder.linear(width, relu=False, source=stream)
        v = builder.linear(width, relu=False, source=stream)
        scores = builder.matmul(q, k, transposed=True)
        mixed = builder.matmul(builder.softmax(scores, causal=True), v)
        attended = builder.linear(width, relu=False, source=mixed)
        stream = builder.add(stream, attended, relu=False)
        up = builder.linear(4 * width, relu=False, source=stream)
        hidden = builder.table(gelu, up)
        down = builder.linear(width, relu=False, source=hidden)
        stream = builder.add(stream, down, relu=False)
    builder.flatten()
    builder.linear(classes, relu=False)
    return builder.build()


def vgg16(seed: int = 0, width: int = 64) -> QuantisedModel:
    builder = ModelBuilder((3, 32, 32), seed, calibration=1)
    plan = [1, 1, 0, 2, 2, 0, 4, 4, 4, 0, 8, 8, 8, 0, 8, 8, 8, 0]
    for multiple in plan:
        if multiple:
            builder.conv(width * multiple, 3, padding=1)
        else:
            builder.pool(OpKind.MAXPOOL2D, 2, 2)
    builder.flatten()
    builder.linear(width * 8)
    builder.linear(width * 8)
    builder.linear(10, relu=False)
    return builder.build()

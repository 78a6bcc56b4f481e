"""The float graph: an exported program reduced to the IR's ops, before quantisation.

Capture (:mod:`provers.compiler.capture`) turns ATen nodes into :class:`FloatNode` values with
float64 weights; the passes in :mod:`provers.compiler.fold` fold batch norms and fuse ReLUs;
quantisation then lowers each node to exactly one IR node. :func:`evaluate` runs the graph in
float64 torch: it is the real-valued function the integer model approximates, and its
intermediate values are the calibration statistics.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as functional


class FloatKind(enum.Enum):
    """The IR's op kinds (same values as :class:`provers.circuit.ops.OpKind`) and BATCHNORM,
    which folding removes or turns into a diagonal LINEAR or CONV2D."""

    LINEAR = "linear"
    CONV2D = "conv2d"
    MAXPOOL2D = "maxpool2d"
    AVGPOOL2D = "avgpool2d"
    ADD = "add"
    RELU = "relu"
    RESHAPE = "reshape"
    MATMUL = "matmul"
    MATMUL_T = "matmul_t"
    FUNCTION = "function"
    SOFTMAX = "softmax"
    SOFTMAX_CAUSAL = "softmax_causal"
    LAYERNORM = "layernorm"
    RMSNORM = "rmsnorm"
    EMBEDDING = "embedding"
    SCALE = "scale"
    BATCHNORM = "batchnorm"


REQUANTISED_KINDS = frozenset(
    {
        FloatKind.LINEAR,
        FloatKind.CONV2D,
        FloatKind.AVGPOOL2D,
        FloatKind.ADD,
        FloatKind.MATMUL,
        FloatKind.MATMUL_T,
    }
)
"""Kinds whose output passes through a requantisation, where a following ReLU is free."""


@dataclass(frozen=True)
class FloatNode:
    name: str
    kind: FloatKind
    inputs: tuple[str, ...]
    output_shape: tuple[int, ...]
    """One sample's output shape (no batch dimension)."""
    weight: np.ndarray | None = None
    """float64: (out, in) for LINEAR, (out, in, kh, kw) for CONV2D, per-channel factor for
    BATCHNORM, γ for LAYERNORM and RMSNORM, the table (V, D) for EMBEDDING."""
    bias: np.ndarray | None = None
    """float64, one per output channel (BATCHNORM: per-channel offset; LAYERNORM: β)."""
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    kernel: tuple[int, int] = (1, 1)
    relu: bool = False
    """A ReLU fused after the op."""
    source: str = ""
    function: str = ""
    """FUNCTION: which elementwise function (a key of :data:`FUNCTIONS`)."""
    factor: float = 1.0
    """SCALE: the positive constant the value is multiplied by (it only changes the scale)."""
    eps: float = 0.0
    """LAYERNORM, RMSNORM: the ε added to the variance (the mean square)."""
    ids: tuple[int, ...] = ()
    """EMBEDDING: constant ids (row-major over ``output_shape[:-1]``), the same for every
    sample; empty when the ids are the input."""


@dataclass(frozen=True)
class FloatGraph:
    input_shape: tuple[int, ...]
    nodes: tuple[FloatNode, ...]
    output: str

    def node(self, name: str) -> FloatNode:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    def users(self) -> dict[str, list[str]]:
        """Who reads each value; the graph's output counts as one reader."""
        readers: dict[str, list[str]] = {"input": []}
        for node in self.nodes:
            readers[node.name] = []
        for node in self.nodes:
            for name in node.inputs:
                readers[name].append(node.name)
        readers[self.output].append("output")
        return readers


def _gelu(x: torch.Tensor) -> torch.Tensor:
    return functional.gelu(x)


def _gelu_tanh(x: torch.Tensor) -> torch.Tensor:
    return functional.gelu(x, approximate="tanh")


def _silu(x: torch.Tensor) -> torch.Tensor:
    return functional.silu(x)


def _sigmoid(x: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid(x)


def _tanh(x: torch.Tensor) -> torch.Tensor:
    return torch.tanh(x)


FUNCTIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "gelu": _gelu,
    "gelu_tanh": _gelu_tanh,
    "silu": _silu,
    "sigmoid": _sigmoid,
    "tanh": _tanh,
}
"""Elementwise functions the compiler lowers to a TABLE op."""


def evaluate(graph: FloatGraph, inputs: torch.Tensor) -> dict[str, torch.Tensor]:
    """Every node's float64 output for a batch of inputs."""
    values = {"input": inputs.to(torch.float64)}
    for node in graph.nodes:
        values[node.name] = _run(node, [values[name] for name in node.inputs])
    return values


def _tensor(array: np.ndarray | None) -> torch.Tensor:
    if array is None:
        raise ValueError("a weighted node without weights")
    return torch.from_numpy(np.asarray(array, dtype=np.float64))


def _run(node: FloatNode, values: list[torch.Tensor]) -> torch.Tensor:
    x = values[0]
    if node.kind is FloatKind.LINEAR:
        y = functional.linear(x, _tensor(node.weight), _tensor(node.bias))
    elif node.kind is FloatKind.CONV2D:
        y = functional.conv2d(
            x, _tensor(node.weight), _tensor(node.bias), node.stride, node.padding
        )
    elif node.kind is FloatKind.MAXPOOL2D:
        y = functional.max_pool2d(x, node.kernel, node.stride)
    elif node.kind is FloatKind.AVGPOOL2D:
        y = functional.avg_pool2d(x, node.kernel, node.stride)
    elif node.kind is FloatKind.ADD:
        y = x + values[1]
    elif node.kind is FloatKind.RELU:
        y = torch.relu(x)
    elif node.kind is FloatKind.RESHAPE:
        y = x.reshape((x.shape[0], *node.output_shape))
    elif node.kind is FloatKind.FUNCTION:
        y = FUNCTIONS[node.function](x)
    elif node.kind is FloatKind.SOFTMAX:
        y = torch.softmax(x, dim=-1)
    elif node.kind is FloatKind.SOFTMAX_CAUSAL:
        kept = torch.ones(x.shape[-2:], dtype=torch.bool).tril()
        y = torch.softmax(x.masked_fill(~kept, float("-inf")), dim=-1)
    elif node.kind is FloatKind.LAYERNORM:
        shape = (x.shape[-1],)
        y = functional.layer_norm(x, shape, _tensor(node.weight), _tensor(node.bias), node.eps)
    elif node.kind is FloatKind.RMSNORM:
        y = functional.rms_norm(x, (x.shape[-1],), _tensor(node.weight), node.eps)
    elif node.kind is FloatKind.EMBEDDING:
        table = _tensor(node.weight)
        if node.ids:
            rows = table[torch.tensor(node.ids)].reshape(node.output_shape)
            y = rows.expand(x.shape[0], *node.output_shape)
        else:
            y = functional.embedding(x.long(), table)
    elif node.kind is FloatKind.SCALE:
        y = x * node.factor
    elif node.kind is FloatKind.MATMUL:
        y = torch.matmul(x, values[1])
    elif node.kind is FloatKind.MATMUL_T:
        y = torch.matmul(x, values[1].transpose(-1, -2))
    else:
        channel_shape = (1, -1) + (1,) * (x.dim() - 2)
        y = x * _tensor(node.weight).reshape(channel_shape) + _tensor(node.bias).reshape(
            channel_shape
        )
    return torch.relu(y) if node.relu else y

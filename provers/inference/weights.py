"""Where each layer's weights and bias sit in the one committed weight table.

Layer q (LINEAR or CONV2D) computes acc = Σ_f X[·, f]·W[o, f] + b[o] over its input features f
(the input's padded feature layout for a LINEAR; the flattened (c, i, j) patch index of a
CONV2D). The feature range is cut into at most three aligned column blocks of power-of-two width
(greedy: the largest power of two that fits, then the next, the last one padded; 4608 = 4096 +
512, 784 = 512 + 256 + 16) when that saves at least 2^14 entries, so the committed table
carries little padding; a LINEAR whose input is a flattened (C, H, W) tensor keeps one block
over its padded layout. Every layer's bias sits in one shared bias block (each at an aligned
offset), proven by one term for all layers (:mod:`.rel_bias`). Each block is a matrix of
2^rows (output channels, zero-padded) × 2^cols entries, stored as an aligned block (row bits
above column bits) of the weight table of 2^Mw entries, which the PCS reads as rows of 2^c
columns.

An EMBEDDING's table E (V rows of D) is a layer too, stored transposed, Eᵀ (D × V): its output
channels are the D columns and its features the V ids (cut into column blocks like any other),
so its output is the product of the one-hot ids by Eᵀ (:mod:`.rel_embedding`). It has no bias.

Every block has at least 2^c entries (its rows are padded until rows + cols ≥ c), and the
matrix-product sumcheck of a block runs over its last k = max(cols, c) index bits (the column
bits, plus the low output bits when cols < c). Run as one batched sumcheck aligned at the last
round, every block's weight claim then shares its last c coordinates: the same PCS column point
(:mod:`provers.inference.batching`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from provers.circuit.model import QuantisedModel
from provers.circuit.ops import Node, OpKind
from provers.commit.pcs import PCSParams
from provers.inference.layout import TensorLayout, UnsupportedCircuit, log2_ceil, tensor_layouts

MAX_FEATURE_BLOCKS = 3
MIN_SAVING = 1 << 14
"""A layer is cut into several column blocks only when that saves this many table entries:
each block is one more sumcheck term and at least 2^c entries."""


@dataclass(frozen=True)
class ColumnBlock:
    start: int
    """First feature (column of the layer's feature index) of the block."""
    cols_log: int
    rows_log: int
    offset: int = 0
    """Where the block starts in the weight table (a multiple of its size)."""

    @property
    def log_size(self) -> int:
        return self.rows_log + self.cols_log


@dataclass(frozen=True)
class LayerLayout:
    node: str
    out_channels: int
    out_log: int
    """bits of the real output channels."""
    feature_log: int
    """bits of the layer's (padded) feature index space."""
    positions: np.ndarray
    """Column of each real input feature f (row-major over the input's logical shape)."""
    blocks: tuple[ColumnBlock, ...]
    """The feature blocks, in feature order."""
    bias_offset: int = 0
    """Where the layer's bias (2^out_log entries, zero-padded) starts in the weight table."""
    has_bias: bool = True
    """False for an EMBEDDING, which has no bias (and no place in the bias block)."""


def feature_split(count: int) -> list[tuple[int, int]]:
    """(start, width bits) of the aligned column blocks covering ``count`` features."""
    out: list[tuple[int, int]] = []
    start, left = 0, count
    while left > 0:
        if len(out) == MAX_FEATURE_BLOCKS - 1:
            out.append((start, log2_ceil(left)))
            break
        width = left.bit_length() - 1
        out.append((start, width))
        start, left = start + (1 << width), left - (1 << width)
    return out


def _layer(node: Node, in_layout: TensorLayout, token_wise: bool) -> LayerLayout:
    """``token_wise``: a LINEAR on samples of several axes, whose features are the last axis
    (otherwise a LINEAR reading a flattened tensor takes every axis as its features)."""
    if node.kind is OpKind.EMBEDDING:
        return _embedding_layer(node)
    out_channels = int(node.weight_dims[0])
    out_log = log2_ceil(out_channels)
    if node.kind is OpKind.LINEAR and len(in_layout.dims) > 2 and not token_wise:
        positions = in_layout.feature_positions()
        feature_log = in_layout.feature_log
        split = [(0, feature_log)]
    else:
        count = int(np.prod(node.weight_dims[1:]))
        positions = np.arange(count, dtype=np.int64)
        feature_log = log2_ceil(count)
        split = feature_split(count)
        saving = ((1 << feature_log) - sum(1 << width for _, width in split)) * out_channels
        if saving < MIN_SAVING:
            split = [(0, feature_log)]
    blocks = tuple(ColumnBlock(start, cols, out_log) for start, cols in split)
    return LayerLayout(node.name, out_channels, out_log, feature_log, positions, blocks)


def _embedding_layer(node: Node) -> LayerLayout:
    vocabulary, width = (int(d) for d in node.weight_dims)
    out_log, feature_log = log2_ceil(width), log2_ceil(vocabulary)
    split = feature_split(vocabulary)
    if ((1 << feature_log) - sum(1 << bits for _, bits in split)) * width < MIN_SAVING:
        split = [(0, feature_log)]
    blocks = tuple(ColumnBlock(start, cols, out_log) for start, cols in split)
    positions = np.arange(vocabulary, dtype=np.int64)
    return LayerLayout(node.name, width, out_log, feature_log, positions, blocks, has_bias=False)


WEIGHTED_KINDS = (OpKind.LINEAR, OpKind.CONV2D, OpKind.EMBEDDING)


@dataclass(frozen=True)
class WeightLayout:
    layers: tuple[LayerLayout, ...]
    column_log: int
    """c: the PCS row length is 2^c."""
    log_size: int
    """Mw."""
    bias_offset: int
    """The block holding every layer's bias (each at its layer's ``bias_offset``)."""
    bias_log: int

    def layer(self, name: str) -> LayerLayout:
        for layer in self.layers:
            if layer.node == name:
                return layer
        raise KeyError(name)

    @property
    def row_log(self) -> int:
        return self.log_size - self.column_log


def weight_layout(model: QuantisedModel, params: PCSParams | None = None) -> WeightLayout:
    """The layout the commitment uses; a function of the circuit's shapes only. The column
    count follows the PCS's own shape rule for the final table size, so the commitment has the
    default shape (found by iterating: padding small blocks to 2^c entries can grow the table)."""
    params = params or PCSParams.default()
    layouts = tensor_layouts(model, 1)
    shapes = {"input": model.input_shape, **{node.name: node.output_shape for node in model.nodes}}
    raw = [
        _layer(node, layouts[node.inputs[0]], len(shapes[node.inputs[0]]) > 1)
        for node in model.nodes
        if node.kind in WEIGHTED_KINDS
    ]
    if not raw:
        raise UnsupportedCircuit("the model has no weighted layer")
    total = sum(1 << block.log_size for layer in raw for block in layer.blocks)
    column_log = log2_ceil(total) - params.row_vars(log2_ceil(total))
    layout = _place(raw, column_log)
    for _ in range(8):
        wanted = layout.log_size - params.row_vars(layout.log_size)
        if wanted == column_log:
            break
        column_log = wanted
        layout = _place(raw, column_log)
    return layout


def _place(raw: list[LayerLayout], column_log: int) -> WeightLayout:
    """Pack the biases into one block, then place every block, largest first, aligned."""
    bias_position, bias_offsets = 0, {}
    for layer in sorted(raw, key=lambda item: -item.out_log):
        bias_offsets[layer.node] = bias_position
        if layer.has_bias:
            bias_position += 1 << layer.out_log
    bias_log = max(log2_ceil(bias_position), column_log)
    sized = [
        [replace(b, rows_log=max(b.rows_log, column_log - b.cols_log)) for b in layer.blocks]
        for layer in raw
    ]
    items = [(sized[q][j].log_size, q, j) for q in range(len(raw)) for j in range(len(sized[q]))]
    items.append((bias_log, -1, 0))
    position, bias_offset = 0, 0
    for log_size, q, j in sorted(items, key=lambda item: -item[0]):
        if q < 0:
            bias_offset = position
        else:
            sized[q][j] = replace(sized[q][j], offset=position)
        position += 1 << log_size
    layers = tuple(
        replace(layer, blocks=tuple(sized[q]), bias_offset=bias_offset + bias_offsets[layer.node])
        for q, layer in enumerate(raw)
    )
    return WeightLayout(
        layers, column_log, max(log2_ceil(position), column_log), bias_offset, bias_log
    )


def layer_arrays(layer: LayerLayout, node: Node) -> tuple[list[np.ndarray], np.ndarray]:
    """(each feature block as an int64 2^rows × 2^cols matrix, the bias: empty for an
    EMBEDDING, whose matrix is its table transposed)."""
    embedding = node.kind is OpKind.EMBEDDING
    if node.weight is None or (node.bias is None and not embedding):
        raise ValueError(f"{node.name}: weights are needed to build the weight table")
    weight = np.asarray(node.weight, dtype=np.int64)
    weight = weight.T if embedding else weight.reshape(layer.out_channels, -1)
    full = np.zeros((layer.out_channels, 1 << layer.feature_log), dtype=np.int64)
    full[:, layer.positions] = weight
    matrices = []
    for block in layer.blocks:
        matrix = np.zeros((1 << block.rows_log, 1 << block.cols_log), dtype=np.int64)
        columns = full[:, block.start : block.start + (1 << block.cols_log)]
        matrix[: layer.out_channels, : columns.shape[1]] = columns
        matrices.append(matrix)
    bias = np.zeros(0, dtype=np.int64) if embedding else np.asarray(node.bias, dtype=np.int64)
    return matrices, bias


def weight_table(model: QuantisedModel, layout: WeightLayout) -> np.ndarray:
    """The committed table (signed int64; the caller reduces mod p)."""
    table = np.zeros(1 << layout.log_size, dtype=np.int64)
    for layer in layout.layers:
        matrices, bias = layer_arrays(layer, model.node(layer.node))
        for block, matrix in zip(layer.blocks, matrices, strict=True):
            table[block.offset : block.offset + matrix.size] = matrix.reshape(-1)
        table[layer.bias_offset : layer.bias_offset + bias.shape[0]] = bias
    return table

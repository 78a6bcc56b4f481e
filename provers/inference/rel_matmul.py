"""Accumulators of LINEAR and CONV2D: acc = X·Wᵀ + b (Thaler's matrix-product sumcheck).

For the output point ρ = (ρ_n, ρ_o[, ρ_h, ρ_w]) and the claimed acc(ρ) (from the requantisation)
the prover states how acc(ρ) splits over the layer's column blocks (:mod:`.weights`), S_1 … S_B
(the last is acc(ρ) minus the others), and each block is a term of stage A:

    S_j = Σ_i X_j(ρ_rows, i)·W_j(ρ_o, i)                                (cols ≥ c: degree 2)
    S_j = Σ_{o_low, i} eq(ρ_olow, o_low)·X_j(ρ_rows, i)·W_j(ρ_ohigh, o_low, i)   (cols < c)

with X_j the block's columns of the input rows (a LINEAR) or of the patch matrix (a CONV2D),
folded by eq(ρ_rows) once (exact float64 products, :mod:`provers.inference.exact`), and for the
bias block X = the indicator of real rows (its MLE the verifier computes) and W = b. Each
block's sumcheck ends at κ_j with a claim on W_j (settled with every other block's at the
shared last c coordinates) and one on X_j(ρ_rows, κ_j): for a LINEAR a claim on the input
tensor, for a CONV2D a patch claim; stage B reduces a convolution's patch claims, combined with
fresh random weights μ_j, to one claim on its input by the window maps of
:mod:`provers.inference.linear_maps`.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

import numpy as np

from provers.circuit import executor
from provers.circuit.ops import Node, OpKind
from provers.field import base, ext
from provers.inference.batched import ProverTerm, TermShape
from provers.inference.claims import Request, eq_at
from provers.inference.context import Context, Finals, TermSpec, product
from provers.inference.exact import vector_times_matrix
from provers.inference.layout import validity_of
from provers.inference.linear_maps import (
    conv_vector,
    conv_vector_value,
    patch_fold,
    real_eq,
    window_matrix,
    window_values,
)
from provers.inference.weights import ColumnBlock
from provers.poly import multilinear
from provers.sumcheck.combiners import product as product_combiner


class _Block:
    """One column block of a layer as a stage-A term."""

    def __init__(
        self, index: int, block: ColumnBlock, column_log: int, rho_out: np.ndarray
    ) -> None:
        self.index, self.block = index, block
        self.low = max(0, column_log - block.cols_log)
        self.num_vars = max(block.cols_log, column_log)
        padding = np.zeros((ext.DEGREE, block.rows_log - rho_out.shape[1]), dtype=np.int64)
        rho_rows = np.concatenate([padding, rho_out], axis=1)
        split = block.rows_log - self.low
        self.rho_high, self.rho_low = rho_rows[:, :split], rho_rows[:, split:]
        self.sum = np.asarray(ext.zero())
        self.tables: list[np.ndarray] | None = None


class MatmulAccumulator:
    def __init__(self, ctx: Context, node: Node, point: np.ndarray) -> None:
        self.ctx, self.node, self.point = ctx, node, point
        self.layer = ctx.plan.weights.layer(node.name)
        self.conv = node.kind is OpKind.CONV2D
        out_layout = ctx.plan.layouts[node.name]
        parts = out_layout.split_point(point)
        if self.conv:
            self.rho_batch, self.rho_space, self.rho_out = parts[0], parts[2:], parts[1]
            self.row_dims = (out_layout.dims[0], *out_layout.dims[2:])
        else:
            # A LINEAR's rows are every axis but the last: the batch, and tokens if any.
            self.rho_batch, self.rho_space, self.rho_out = (
                np.concatenate(parts[:-1], axis=1),
                [],
                parts[-1],
            )
            self.row_dims = tuple(out_layout.dims[:-1])
        column_log = ctx.plan.weights.column_log
        self.blocks = [
            _Block(j, block, column_log, self.rho_out) for j, block in enumerate(self.layer.blocks)
        ]
        self.bias_value = np.asarray(ext.zero())
        self.patches: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._fold: np.ndarray | None = None

    # --- stage 0: the split of acc(ρ) over the blocks ------------------------------------

    def requests(self) -> list[Request]:
        splits = [
            Request(f"split{b.index}", "value", 0, self.point, partial(self._block_sum, b))
            for b in self.blocks[:-1]
        ]
        return [*splits, Request("bias", "value", 0, self.point, self._bias_value)]

    def take_values(self, values: dict[str, np.ndarray], acc: np.ndarray) -> None:
        """acc(ρ) = Σ_j S_j + valid(ρ_rows)·b(ρ_o): the last S_j is what the others leave."""
        self.bias_value = values["bias"]
        rest = np.asarray(ext.sub(acc, ext.mul(self._rows_validity(), self.bias_value)))
        for b in self.blocks[:-1]:
            b.sum = values[f"split{b.index}"]
            rest = np.asarray(ext.sub(rest, b.sum))
        self.blocks[-1].sum = rest

    def _bias_value(self, res: Any) -> np.ndarray:
        bias = res.weights.bias(self.node.name) % base.P
        eq = multilinear.eq_table(self.rho_out)[:, : bias.shape[0]]
        return np.asarray(ext.inner_product_base(eq, bias))

    def _rows_validity(self) -> np.ndarray:
        return validity_of(self.row_dims, np.concatenate([self.rho_batch, *self.rho_space], axis=1))

    # --- stage A: one term per block -------------------------------------------------------

    def _sends_input(self) -> bool:
        """Whether a block's term ends with a sent claim on its input (not a public input)."""
        return self.conv or not self.ctx.is_public(self.node.inputs[0])

    def terms_a(self) -> list[TermSpec]:
        specs = []
        for b in self.blocks:
            shape = TermShape(b.num_vars, 3 if b.low else 2, b.sum)
            sends_input = self._sends_input()
            specs.append(
                TermSpec(
                    shape,
                    2 if sends_input else 1,
                    partial(self._evaluate, b),
                    partial(self._build, b),
                    partial(self._send, b, sends_input),
                )
            )
        return specs

    def _evaluate(self, b: _Block, finals: Finals, point: np.ndarray) -> np.ndarray:
        stream: Iterator[np.ndarray] = iter(finals)
        cols = b.block.cols_log
        features, low = point[:, b.num_vars - cols :], point[:, : b.low]
        if self.conv:
            x_value = next(stream)
            self.patches[b.index] = (features, x_value)
        else:
            start = _start_bits(b.block.start >> cols, self.layer.feature_log - cols)
            x_value = self._input_value(np.concatenate([start, features], axis=1), stream)
        weight = next(stream)
        block_point = np.concatenate([b.rho_high, point], axis=1)
        self.ctx.sink.add_weight(b.block.offset, b.block.log_size, block_point, weight)
        factors = [x_value, weight]
        if b.low:
            factors.append(multilinear.eq_eval(b.rho_low, low))
        return product(*factors)

    def _input_value(self, feature_point: np.ndarray, stream: Iterator[np.ndarray]) -> np.ndarray:
        """X(ρ_rows, f) of a LINEAR at a point of its feature index: from the public input, or
        the next sent value."""
        x_point = np.concatenate([self.rho_batch, feature_point], axis=1)
        return self.ctx.take(self.node.inputs[0], x_point, stream)

    def _input_fold(self, res: Any) -> np.ndarray:
        """Σ_rows eq(ρ_rows, row)·X[row, f] over the feature space: (4, 2^feature_log)."""
        if self._fold is not None:
            return self._fold
        witness = res.witness
        if not self.conv:
            table = witness.activation(self.node.inputs[0])
            rows = 1 << self.rho_batch.shape[1]
            eq = multilinear.eq_table(self.rho_batch)
            fold = vector_times_matrix(eq, table.reshape(rows, -1))
        else:
            # Read with the input's own axes: it may view its source with added unit axes.
            in_shape = self.ctx.plan.layouts[self.node.inputs[0]].real_shape
            x = witness.values[self.ctx.plan.source(self.node.inputs[0])].reshape(in_shape)
            node = self.node
            patches, out_h, out_w = executor.im2col(x, node.kernel, node.stride, node.padding)
            eq_rows = real_eq([self.rho_batch, *self.rho_space], (x.shape[0], out_h, out_w))
            fold = patch_fold(patches.reshape(-1, patches.shape[-1]), eq_rows)
        width = 1 << self.layer.feature_log
        self._fold = np.pad(fold, ((0, 0), (0, width - fold.shape[1])))
        return self._fold

    def _tables(self, b: _Block, res: Any) -> list[np.ndarray]:
        if b.tables is not None:
            return b.tables
        cols = 1 << b.block.cols_log
        inputs = self._input_fold(res)[:, b.block.start : b.block.start + cols]
        matrix = res.weights.block_matrix(self.node.name, b.index)
        grouped = matrix.reshape(1 << (b.block.rows_log - b.low), -1)
        weight = vector_times_matrix(multilinear.eq_table(b.rho_high), grouped)
        if not b.low:
            b.tables = [np.ascontiguousarray(inputs), weight]
        else:
            eq_low = np.repeat(multilinear.eq_table(b.rho_low), cols, axis=1)
            b.tables = [eq_low, np.tile(inputs, (1, 1 << b.low)), weight]
        return b.tables

    def _block_sum(self, b: _Block, res: Any) -> np.ndarray:
        tables = self._tables(b, res)
        if len(tables) == 2:
            return np.asarray(ext.inner_product(tables[0], tables[1]))
        return np.asarray(ext.inner_product(ext.mul(tables[0], tables[1]), tables[2]))

    def _build(self, b: _Block, res: Any) -> ProverTerm:
        tables = self._tables(b, res)
        shape = TermShape(b.num_vars, len(tables), b.sum)
        return ProverTerm(shape, tables, product_combiner(len(tables)))

    def _send(
        self, b: _Block, sends_input: bool, table_finals: Finals, point: np.ndarray, res: Any
    ) -> Finals:
        out: Finals = [table_finals[-2]] if sends_input else []
        return [*out, table_finals[-1]]

    # --- stage B: a convolution's patch claims -------------------------------------------------

    def terms_b(self, transcript: Any) -> list[TermSpec]:
        if not self.conv:
            return []
        features = self.blocks
        weights = transcript.challenge_exts(f"conv/{self.node.name}/blocks", len(features))
        claimed = np.asarray(ext.zero())
        for j, b in enumerate(features):
            claimed = np.asarray(ext.add(claimed, ext.mul(weights[:, j], self.patches[b.index][1])))
        eq_feature = self._eq_feature(features, weights)
        in_layout = self.ctx.plan.layouts[self.node.inputs[0]]
        public = self.ctx.is_public(self.node.inputs[0])
        shape = TermShape(in_layout.log_size, 2, claimed)
        return [
            TermSpec(
                shape,
                0 if public else 1,
                partial(self._evaluate_b, eq_feature),
                partial(self._build_b, eq_feature, shape),
                self._send_b,
            )
        ]

    def _eq_feature(self, features: list[_Block], weights: np.ndarray) -> np.ndarray:
        """Σ_j μ_j·eq(κ_j, f − start_j) on each real feature f of block j: (4, F)."""
        count = self.layer.positions.shape[0]
        out = np.zeros((ext.DEGREE, count), dtype=np.int64)
        for j, b in enumerate(features):
            start = b.block.start
            stop = min(count, start + (1 << b.block.cols_log))
            eq = multilinear.eq_table(self.patches[b.index][0])[:, : stop - start]
            out[:, start:stop] = ext.mul(eq, weights[:, j : j + 1])
        return out

    def _axes(self) -> list[tuple[int, int, int, int, int]]:
        in_layout = self.ctx.plan.layouts[self.node.inputs[0]]
        out_layout = self.ctx.plan.layouts[self.node.name]
        return [
            (
                out_layout.dims[2 + a].real,
                in_layout.dims[2 + a].log,
                in_layout.dims[2 + a].real,
                self.node.kernel[a],
                self.node.stride[a],
            )
            for a in range(2)
        ]

    def _evaluate_b(self, eq_feature: np.ndarray, finals: Finals, point: np.ndarray) -> np.ndarray:
        in_layout = self.ctx.plan.layouts[self.node.inputs[0]]
        z = in_layout.split_point(point)
        x_value = self.ctx.take(self.node.inputs[0], point, iter(finals))
        values = [
            window_values(
                self.rho_space[a], out_real, z[2 + a], in_real, kernel, stride, self.node.padding[a]
            )
            for a, (out_real, _, in_real, kernel, stride) in enumerate(self._axes())
        ]
        eq_channels = multilinear.eq_table(z[1])[:, : in_layout.dims[1].real]
        eq_batch = multilinear.eq_eval(self.rho_batch, z[0])
        v_value = conv_vector_value(eq_batch, eq_channels, eq_feature, *values)
        return product(v_value, x_value)

    def _build_b(self, eq_feature: np.ndarray, shape: TermShape, res: Any) -> ProverTerm:
        in_layout = self.ctx.plan.layouts[self.node.inputs[0]]
        matrices = [
            window_matrix(
                self.rho_space[a], out_real, in_log, in_real, kernel, stride, self.node.padding[a]
            )
            for a, (out_real, in_log, in_real, kernel, stride) in enumerate(self._axes())
        ]
        vector = conv_vector(
            multilinear.eq_table(self.rho_batch),
            eq_feature,
            matrices[0],
            matrices[1],
            in_layout.dims[1].real,
            in_layout.dims[1].log,
        )
        table = res.witness.activation(self.node.inputs[0]) % base.P
        return ProverTerm(shape, [table, vector], product_combiner(2))

    def _send_b(self, table_finals: Finals, point: np.ndarray, res: Any) -> Finals:
        return [] if self.ctx.is_public(self.node.inputs[0]) else [table_finals[0]]


def _start_bits(value: int, bits: int) -> np.ndarray:
    """The Boolean coordinates (most significant first) of ``value`` on ``bits`` bits."""
    coordinates = [(value >> (bits - 1 - k)) & 1 for k in range(bits)]
    return np.asarray(ext.from_base(np.asarray(coordinates, dtype=np.int64).reshape(bits)))


__all__ = ["MatmulAccumulator", "eq_at"]

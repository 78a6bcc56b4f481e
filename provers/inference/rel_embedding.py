"""EMBEDDING: the rows of a committed int8 table selected by token ids, as a matrix product.

With ids id_row (row = (n, i_1, …) over the batch and the ids' axes: the statement's input, or
constant ids the circuit fixes, the same for every sample) and the table E (V × D) stored
transposed in the weight table (:mod:`.weights`), the output is y[row, d] = Σ_v X[row, v]·Eᵀ[d, v]
for the one-hot matrix X[row, v] = [id_row = v]. At the node's random point ρ = (ρ_rows, ρ_d)
the committed output's claim y(ρ) (a claim on W) is proven as a LINEAR's accumulator is
(:mod:`.rel_matmul`, whose block terms this reuses), without a bias: the prover states how y(ρ)
splits over Eᵀ's column blocks (ranges of ids), and block j is the stage-A term

    S_j = Σ_v u(start_j + v)·Eᵀ_j(ρ_d, v),   u(v) = Σ_row eq(ρ_rows, row)·valid(row)·[id_row = v]

(times eq(ρ_dlow, d_low) over the low channel bits when the block is narrower than a PCS row).
u is public. The verifier never builds it: at the term's final point, feature point
f = (start bits ‖ κ), it evaluates

    ũ(f) = Σ_row eq(ρ_rows, row)·valid(row)·eq(f, bits(id_row))

in O(rows·log V); the claim on Eᵀ_j joins every other weight claim (the same last c
coordinates), settled by stage C and the opening of the model commitment.

Soundness. The MLE of the product X·Eᵀ is Σ_v X̃(ρ_rows, v)·Ẽᵀ(ρ_d, v) at every point, so a
committed y ≠ X·E differs from it at the random ρ except with probability (log size)/|F|
(Schwartz–Zippel on the multilinear y − X·E); each block's sumcheck errs with the batched
sumcheck's error; the split is exact (the last S_j is what the others leave); ũ is the
verifier's own computation from public ids, which the statement reader (or the circuit's
validation, for constant ids) has checked to lie in [0, V), so X is the one-hot matrix of the
model's semantics (an id ≥ V would select an all-zero padded column: not a forgery, but not the
model either, so it is refused); and the claim on Eᵀ is bound by the model commitment. Hence
y = X·E as field vectors. E's entries are the int8 values the model's owner committed (the same
trust as every LINEAR weight: the commitment is made from a validated model), so y's entries
are those int8 integers exactly, zero on padded positions (X's padded rows and Eᵀ's padded
channels are zero): what every reader of y assumes. No range check is needed, since y is not a
choice of the prover.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

import numpy as np

from provers.circuit import executor
from provers.circuit.ops import Node
from provers.field import base, ext
from provers.inference.claims import Request
from provers.inference.context import Context, TermSpec
from provers.inference.layout import TensorLayout, UnsupportedCircuit
from provers.inference.rel_matmul import MatmulAccumulator
from provers.poly import multilinear


class EmbeddingAccumulator(MatmulAccumulator):
    """y(ρ) = Σ_v u(v)·Eᵀ(ρ_d, v): a LINEAR's block terms with the public one-hot input."""

    def __init__(self, ctx: Context, node: Node, point: np.ndarray) -> None:
        super().__init__(ctx, node, point)
        self.rows = TensorLayout(ctx.plan.layouts[node.name].dims[:-1])
        self.ids = self._padded_ids()
        self.valid = self.rows.embed(np.ones(self.rows.real_shape, dtype=np.int64))
        self._weighted_eq: np.ndarray | None = None

    def _padded_ids(self) -> np.ndarray:
        """The ids on the rows' padded layout (0 at padded rows, which ``valid`` masks)."""
        if self.node.constant_ids:
            batch = np.zeros((self.ctx.plan.batch, 1), dtype=np.int64)
            return self.rows.embed(executor.embedding_ids(self.node, batch))
        if self.ctx.input_table is None:
            raise UnsupportedCircuit(f"{self.node.name}: token ids must be public")
        return np.asarray(self.ctx.input_table, dtype=np.int64)

    def _row_weights(self) -> np.ndarray:
        """eq(ρ_rows, row)·valid(row): (4, padded rows)."""
        if self._weighted_eq is None:
            self._weighted_eq = multilinear.eq_table(self.rho_batch) * self.valid[None, :]
        return self._weighted_eq

    # --- stage 0: the split of y(ρ) over the blocks, no bias --------------------------------

    def requests(self) -> list[Request]:
        return [
            Request(f"split{b.index}", "value", 0, self.point, partial(self._block_sum, b))
            for b in self.blocks[:-1]
        ]

    def take_values(self, values: dict[str, np.ndarray], acc: np.ndarray) -> None:
        rest = np.asarray(acc)
        for b in self.blocks[:-1]:
            b.sum = values[f"split{b.index}"]
            rest = np.asarray(ext.sub(rest, b.sum))
        self.blocks[-1].sum = rest

    # --- the public one-hot input ----------------------------------------------------------

    def _sends_input(self) -> bool:
        return False

    def _input_value(self, feature_point: np.ndarray, stream: Iterator[np.ndarray]) -> np.ndarray:
        """ũ(f) = Σ_row eq(ρ_rows, row)·valid(row)·eq(f, bits(id_row))."""
        total = self._row_weights()
        bits = feature_point.shape[1]
        for k in range(bits):
            bit = ((self.ids >> (bits - 1 - k)) & 1).astype(bool)
            coordinate = feature_point[:, k : k + 1]
            complement = np.asarray(ext.sub(ext.one(), feature_point[:, k]))[:, None]
            total = np.asarray(ext.mul(total, np.where(bit[None, :], coordinate, complement)))
        return np.asarray(ext.sum_(total))

    def _input_fold(self, res: Any) -> np.ndarray:
        """u(v) over the (padded) ids: (4, 2^feature_log)."""
        if self._fold is not None:
            return self._fold
        weights = self._row_weights()
        fold = np.zeros((ext.DEGREE, 1 << self.layer.feature_log), dtype=np.int64)
        for k in range(ext.DEGREE):
            np.add.at(fold[k], self.ids, weights[k])
        self._fold = fold % base.P
        return self._fold


class EmbeddingRelation:
    """The committed output y of an EMBEDDING against its ids and table."""

    def __init__(self, ctx: Context, node: Node, point: np.ndarray) -> None:
        self.ctx, self.node, self.point = ctx, node, point
        self.accumulator = EmbeddingAccumulator(ctx, node, point)

    def requests(self) -> list[Request]:
        return [self.ctx.request("y", self.node.name, self.point), *self.accumulator.requests()]

    def take_values(self, values: dict[str, np.ndarray]) -> None:
        self.accumulator.take_values(values, values["y"])

    def terms_a(self) -> list[TermSpec]:
        return self.accumulator.terms_a()

    def terms_b(self, transcript: Any) -> list[TermSpec]:
        return []


__all__ = ["EmbeddingAccumulator", "EmbeddingRelation"]

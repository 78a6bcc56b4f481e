"""Accumulators of MATMUL and MATMUL_T: the product of two activation tensors by sumcheck.

Per sample a has axes (…, m, k) and b has (…, k, p) (MATMUL) or (…, p, k) (MATMUL_T); with the
batch and the leading axes together written g, acc[g, m, p] = Σ_k a[g, m, k]·b[g, k, p]. For
the output point ρ = (ρ_g, ρ_m, ρ_p) and the claimed acc(ρ) (from the requantisation, identity
(1) of :mod:`.requant`), the multilinear extension splits as

    acc(ρ) = Σ_{g, k} eq(ρ_g, g)·ã(g, ρ_m, k)·b̃(g, k, ρ_p),

ã and b̃ the operands' tables folded once on their m and p axes (the prover folds the int8
tables exactly, :mod:`provers.inference.exact`). Every padded entry of a and b is 0, so the
padded k contribute nothing and padded (m, p) give acc = 0 there, as the requantisation's
validity indicator expects. This is one degree-3 term of stage A over the g and k bits
(Thaler's matrix-product sumcheck with the batch axes kept in the sum, since a and b are both
committed and differ per sample). It ends at s = (s_g, s_k) with one claim on each operand —
a(s_g, ρ_m, s_k) and b(s_g, s_k, ρ_p) (b(s_g, ρ_p, s_k) for MATMUL_T) — which become claims on
their committed blocks (or are computed from the public input), and eq(ρ_g, s_g), which the
verifier computes. A false acc(ρ) survives with the batched sumcheck's error (3 per round).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from provers.circuit.ops import Node, OpKind
from provers.field import base, ext
from provers.inference.batched import ProverTerm, TermShape
from provers.inference.claims import Request
from provers.inference.context import Context, Finals, TermSpec, product
from provers.inference.exact import matrix_times_vector, vector_times_matrix
from provers.poly import multilinear
from provers.sumcheck.combiners import product as product_combiner


class ActivationMatmulAccumulator:
    """acc = a·b (or a·bᵀ) of two activations: one stage-A term, no stage-0 values."""

    def __init__(self, ctx: Context, node: Node, point: np.ndarray) -> None:
        self.ctx, self.node = ctx, node
        self.transposed = node.kind is OpKind.MATMUL_T
        out_layout = ctx.plan.layouts[node.name]
        parts = out_layout.split_point(point)
        self.rho_group = np.concatenate(parts[:-2], axis=1)
        self.rho_rows, self.rho_cols = parts[-2], parts[-1]
        a_layout = ctx.plan.layouts[ctx.plan.source(node.inputs[0])]
        self.group_log = self.rho_group.shape[1]
        self.inner_log = a_layout.dims[-1].log
        self.claimed = np.asarray(ext.zero())

    def requests(self) -> list[Request]:
        return []

    def take_values(self, values: dict[str, np.ndarray], acc: np.ndarray) -> None:
        self.claimed = np.asarray(acc)

    def terms_a(self) -> list[TermSpec]:
        sent = sum(not self.ctx.is_public(name) for name in self.node.inputs)
        shape = TermShape(self.group_log + self.inner_log, 3, self.claimed)
        return [TermSpec(shape, sent, self._evaluate, self._build, self._send)]

    def terms_b(self, transcript: Any) -> list[TermSpec]:
        return []

    def _operand_points(self, point: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s_group, s_inner = point[:, : self.group_log], point[:, self.group_log :]
        a_point = np.concatenate([s_group, self.rho_rows, s_inner], axis=1)
        b_parts = [self.rho_cols, s_inner] if self.transposed else [s_inner, self.rho_cols]
        return a_point, np.concatenate([s_group, *b_parts], axis=1)

    def _evaluate(self, finals: Finals, point: np.ndarray) -> np.ndarray:
        stream: Iterator[np.ndarray] = iter(finals)
        a_point, b_point = self._operand_points(point)
        a_value = self.ctx.take(self.node.inputs[0], a_point, stream)
        b_value = self.ctx.take(self.node.inputs[1], b_point, stream)
        eq = multilinear.eq_eval(self.rho_group, point[:, : self.group_log])
        return product(eq, a_value, b_value)

    def _grouped(self, res: Any, name: str) -> np.ndarray:
        """The operand's padded table as (groups, rows, columns)."""
        layout = self.ctx.plan.layouts[self.ctx.plan.source(name)]
        dims = layout.padded_shape
        table: np.ndarray = res.witness.activation(name)
        return table.reshape(1 << self.group_log, dims[-2], dims[-1])

    def _build(self, res: Any) -> ProverTerm:
        inner = 1 << self.inner_log
        a = self._grouped(res, self.node.inputs[0])
        b = self._grouped(res, self.node.inputs[1])
        eq_rows = multilinear.eq_table(self.rho_rows)
        eq_cols = multilinear.eq_table(self.rho_cols)
        a_fold = vector_times_matrix(eq_rows, a.transpose(1, 0, 2).reshape(a.shape[1], -1))
        if self.transposed:
            b_fold = vector_times_matrix(eq_cols, b.transpose(1, 0, 2).reshape(b.shape[1], -1))
        else:
            b_fold = matrix_times_vector(b.reshape(-1, b.shape[2]), eq_cols)
        eq_group = np.repeat(multilinear.eq_table(self.rho_group), inner, axis=1)
        tables = [eq_group, a_fold % base.P, b_fold % base.P]
        shape = TermShape(self.group_log + self.inner_log, 3, self.claimed)
        return ProverTerm(shape, tables, product_combiner(3))

    def _send(self, table_finals: Finals, point: np.ndarray, res: Any) -> Finals:
        out: Finals = []
        for name, value in zip(self.node.inputs, table_finals[1:], strict=True):
            if not self.ctx.is_public(name):
                out.append(value)
        return out


__all__ = ["ActivationMatmulAccumulator"]

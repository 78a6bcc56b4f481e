"""Pools, stand-alone ReLU and the output.

AVGPOOL2D: acc(ρ) = <X, eq(ρ_n) ⊗ eq(ρ_c) ⊗ Σ_i A_h[i] ⊗ Σ_j A_w[j]> (stage B, degree 2).

MAXPOOL2D: the prover commits y and d_k = y − X_k for every window offset k (X_k the input at
offset k of each window, 0 at padded output positions), each d_k range-checked in [0, 256).
Then y ≥ X_k for all k; Σ_x eq(ρ, x)·Π_k d_k(x) = 0 (stage A, degree K + 1) makes some d_k
zero at every entry (Schwartz–Zippel on the MLE of Π_k d_k), so y = max_k X_k; and
Σ_k λ_k·(y − d_k)(ρ) = <X, eq(ρ_n) ⊗ eq(ρ_c) ⊗ Σ_{i,j} λ_{ij}·A_h[i] ⊗ A_w[j]> (stage B, λ
drawn after stage A) ties every d_k to the input. At padded positions Π d_k = y^K forces y = 0.

RELU: the prover copies the input into the ReLU region (checked equal at ρ) so the lookup can
bind (x, max(x, 0)) entry by entry.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from provers.circuit.ops import Node
from provers.errors import Reject, VerificationError
from provers.field import base, ext
from provers.inference.batched import ProverTerm, TermShape
from provers.inference.claims import Request, evaluate_signed
from provers.inference.context import Context, Finals, TermSpec, lin, product, reject_identity
from provers.inference.linear_maps import (
    pool_vector,
    pool_vector_value,
    window_matrix,
    window_values,
)
from provers.poly import multilinear
from provers.sumcheck.combiners import product as product_combiner


class _WindowTerm:
    """<X, eq(ρ_n) ⊗ eq(ρ_c) ⊗ Σ_{i,j} w_ij·A_h[i] ⊗ A_w[j]> = claimed, for pools."""

    def __init__(self, ctx: Context, node: Node, point: np.ndarray) -> None:
        self.ctx, self.node = ctx, node
        parts = ctx.plan.layouts[node.name].split_point(point)
        self.rho_batch, self.rho_channel, self.rho_space = parts[0], parts[1], parts[2:]
        self.in_layout = ctx.plan.layouts[node.inputs[0]]
        self.out_layout = ctx.plan.layouts[node.name]

    def _axis(self, a: int) -> tuple[int, int, int, int, int]:
        return (
            self.out_layout.dims[2 + a].real,
            self.in_layout.dims[2 + a].log,
            self.in_layout.dims[2 + a].real,
            self.node.kernel[a],
            self.node.stride[a],
        )

    def spec(self, claimed: np.ndarray, weights: np.ndarray) -> TermSpec:
        """``weights`` (4, kh, kw): the coefficient of each window offset."""
        public = self.ctx.is_public(self.node.inputs[0])
        shape = TermShape(self.in_layout.log_size, 2, claimed)

        def evaluate(finals: Finals, point: np.ndarray) -> np.ndarray:
            z = self.in_layout.split_point(point)
            x_value = self.ctx.take(self.node.inputs[0], point, iter(finals))
            h_values, w_values = (
                window_values(self.rho_space[a], out_real, z[2 + a], in_real, kernel, stride, 0)
                for a, (out_real, _, in_real, kernel, stride) in enumerate(map(self._axis, (0, 1)))
            )
            eq = ext.mul(
                multilinear.eq_eval(self.rho_batch, z[0]),
                multilinear.eq_eval(self.rho_channel, z[1]),
            )
            window = pool_vector_value(np.asarray(ext.one()), h_values, w_values, weights)
            return product(eq, window, x_value)

        def build(res: Any) -> ProverTerm:
            a_h, a_w = (
                window_matrix(self.rho_space[a], out_real, in_log, in_real, kernel, stride, 0)
                for a, (out_real, in_log, in_real, kernel, stride) in enumerate(
                    map(self._axis, (0, 1))
                )
            )
            vector = pool_vector(
                multilinear.eq_table(self.rho_batch),
                multilinear.eq_table(self.rho_channel),
                a_h,
                a_w,
                weights,
            )
            table = res.witness.activation(self.node.inputs[0]) % base.P
            return ProverTerm(shape, [table, vector], product_combiner(2))

        def send(table_finals: Finals, point: np.ndarray, res: Any) -> Finals:
            return [] if public else [table_finals[0]]

        return TermSpec(shape, 0 if public else 1, evaluate, build, send)


class AvgPoolAccumulator:
    def __init__(self, ctx: Context, node: Node, point: np.ndarray) -> None:
        self.window = _WindowTerm(ctx, node, point)
        self.kernel = node.kernel
        self.acc_value = ext.zero()

    def requests(self) -> list[Request]:
        return []

    def take_values(self, values: dict[str, np.ndarray], acc: np.ndarray) -> None:
        self.acc_value = acc

    def terms_a(self) -> list[TermSpec]:
        return []

    def terms_b(self, transcript: Any) -> list[TermSpec]:
        ones = ext.from_base(np.ones(self.kernel, dtype=np.int64))
        return [self.window.spec(self.acc_value, ones)]


class MaxPoolRelation:
    def __init__(self, ctx: Context, node: Node, point: np.ndarray) -> None:
        self.ctx, self.node, self.point = ctx, node, point
        self.window = _WindowTerm(ctx, node, point)
        self.count = node.kernel[0] * node.kernel[1]
        self.values: dict[str, np.ndarray] = {}

    def requests(self) -> list[Request]:
        names = ["y"] + [f"d{k}" for k in range(self.count)]
        return [self.ctx.vector_request(n, self.node.name, n, self.point) for n in names]

    def take_values(self, values: dict[str, np.ndarray]) -> None:
        self.values = values

    def terms_a(self) -> list[TermSpec]:
        log = self.ctx.plan.layouts[self.node.name].log_size
        shape = TermShape(log, self.count + 1, ext.zero())
        names = [f"d{k}" for k in range(self.count)]

        def evaluate(finals: Finals, point: np.ndarray) -> np.ndarray:
            stream: Iterator[np.ndarray] = iter(finals)
            parts = [self.ctx.take_vector(self.node.name, n, point, stream) for n in names]
            return product(multilinear.eq_eval(self.point, point), *parts)

        def build(res: Any) -> ProverTerm:
            tables = [multilinear.eq_table(self.point)]
            tables += [res.witness.vector(self.node.name, n) % base.P for n in names]
            return ProverTerm(shape, tables, product_combiner(self.count + 1))

        def send(table_finals: Finals, point: np.ndarray, res: Any) -> Finals:
            return list(table_finals[1:])

        return [TermSpec(shape, self.count, evaluate, build, send)]

    def terms_b(self, transcript: Any) -> list[TermSpec]:
        lambdas = transcript.challenge_exts(f"maxpool/{self.node.name}/lambda", self.count)
        y = self.values["y"]
        claimed = ext.zero()
        for k in range(self.count):
            difference = ext.sub(y, self.values[f"d{k}"])
            claimed = ext.add(claimed, ext.mul(lambdas[:, k], difference))
        weights = lambdas.reshape(ext.DEGREE, *self.node.kernel)
        return [self.window.spec(np.asarray(claimed), weights)]


TABLE_SHIFT = 129
"""A TABLE node commits its input as x + 129 at real entries (0 at padded ones), so that real
entries look up rows 1…256 of its block and padded ones row 0, whose output is 0."""


class ReluRelation:
    """A ReLU node: its committed lookup column copies its input."""

    def __init__(self, ctx: Context, node: Node, point: np.ndarray) -> None:
        self.ctx, self.node, self.point = ctx, node, point

    def requests(self) -> list[Request]:
        return [
            self.ctx.vector_request("copy", self.node.name, "x", self.point),
            self.ctx.request("source", self.node.inputs[0], self.point),
        ]

    def take_values(self, values: dict[str, np.ndarray]) -> None:
        reject_identity(
            ext.equal(values["copy"], values["source"]),
            f"{self.node.name}: the copied input differs from the input",
        )

    def terms_a(self) -> list[TermSpec]:
        return []

    def terms_b(self, transcript: Any) -> list[TermSpec]:
        return []


class TableRelation(ReluRelation):
    """A TABLE node: its committed lookup column is the input shifted by 129 at real entries."""

    def take_values(self, values: dict[str, np.ndarray]) -> None:
        valid = self.ctx.plan.layouts[self.node.name].validity(self.point)
        expected = ext.add(values["source"], ext.scale(valid, TABLE_SHIFT))
        reject_identity(
            ext.equal(values["copy"], expected),
            f"{self.node.name}: the looked-up column is not the input shifted by {TABLE_SHIFT}",
        )


class OutputCheck:
    """The committed output equals the stated output (its MLE at a random point)."""

    def __init__(self, ctx: Context, point: np.ndarray, output_table: np.ndarray) -> None:
        self.ctx, self.point, self.output_table = ctx, point, output_table

    def requests(self) -> list[Request]:
        return [self.ctx.request("output", self.ctx.plan.model.output, self.point)]

    def take_values(self, values: dict[str, np.ndarray]) -> None:
        expected = evaluate_signed(self.output_table, self.point)
        if not ext.equal(values["output"], expected):
            raise VerificationError(
                Reject.OUTPUT_MISMATCH, "the committed output differs from the stated output"
            )


__all__ = ["AvgPoolAccumulator", "MaxPoolRelation", "OutputCheck", "ReluRelation", "lin"]

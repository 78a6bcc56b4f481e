"""The requantisation of one node: identities (1) and (2) of :mod:`provers.inference.requant`.

At the node's random point ρ the prover states the MLEs of σ, the clamp indices and every limb.
From them both sides derive t(ρ), u(ρ), r1(ρ), r2(ρ) and

    acc(ρ) = 2^s1·t(ρ) + r1(ρ) − 2^(s1−1)·valid(ρ)            (identity (1), solved for acc)
    Z      = 2^s2·u(ρ) + r2(ρ) − 2^(s2−1)·valid(ρ)            (identity (2): Z = (m·t)(ρ))

acc(ρ) is the claim the node's accumulator relation must prove (a matrix product, a window
sum, or a weighted sum of two inputs). Z = m·t(ρ) is checked directly when one multiplier
serves every channel, else by the sumcheck Σ_x eq(ρ, x)·m(x)·t(x) = Z (degree 3, m the public
per-channel multiplier table, whose MLE the verifier evaluates on the channel axis), whose last
round leaves claims on the limbs of τ and on σ.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

import numpy as np

from provers.circuit.ops import Node
from provers.field import base, ext
from provers.inference.batched import ProverTerm, TermShape
from provers.inference.claims import Request
from provers.inference.combiners import ProductTimesSum
from provers.inference.context import Context, Finals, TermSpec, lin, product, reject_identity
from provers.inference.plan import range_vectors
from provers.inference.requant import T_OFFSET
from provers.poly import multilinear


class Accumulator(Protocol):
    """How a node's accumulator relates to its inputs: proves the claimed acc(ρ)."""

    def requests(self) -> list[Request]: ...

    def take_values(self, values: dict[str, np.ndarray], acc: np.ndarray) -> None: ...

    def terms_a(self) -> list[TermSpec]: ...

    def terms_b(self, transcript: Any) -> list[TermSpec]: ...


def clamp_vectors(split: bool) -> tuple[str, ...]:
    return ("h_index", "f_index", "clip") if split else ("index",)


def limb_weights(widths: tuple[int, ...]) -> list[int]:
    weights, shift = [], 0
    for width in widths:
        weights.append(1 << shift)
        shift += width
    return weights


class RequantRelation:
    """Identities (1), (2) of one node; the accumulator relation is ``self.accumulator``."""

    def __init__(
        self, ctx: Context, node: Node, point: np.ndarray, accumulator: Accumulator
    ) -> None:
        self.ctx, self.node, self.point = ctx, node, point
        self.plan = ctx.plan.requant[node.name]
        self.layout = ctx.plan.layouts[node.name]
        self.accumulator = accumulator
        self.acc_value = ext.zero()
        self.z_value = ext.zero()

    def _vectors(self) -> list[str]:
        return ["sigma", *clamp_vectors(self.plan.clamp.split)] + [
            name for name, _ in range_vectors(self.plan)
        ]

    def requests(self) -> list[Request]:
        own = [
            self.ctx.vector_request(name, self.node.name, name, self.point)
            for name in self._vectors()
        ]
        return own + self.accumulator.requests()

    def _sum_limbs(
        self, values: dict[str, np.ndarray], prefix: str, widths: tuple[int, ...]
    ) -> np.ndarray:
        weights = limb_weights(widths)
        return lin(*((w, values[f"{prefix}{j}"]) for j, w in enumerate(weights)))

    def _u_value(self, values: dict[str, np.ndarray]) -> np.ndarray:
        clamp, sigma = self.plan.clamp, values["sigma"]
        step = 2 * clamp.bound + 1
        if not clamp.split:
            return lin((1, values["index"]), (-step, sigma))
        scale = 1 << clamp.low_bits
        return lin(
            (1, values["f_index"]),
            (scale, values["h_index"]),
            (-scale, values["clip"]),
            (-scale * step, sigma),
        )

    def take_values(self, values: dict[str, np.ndarray]) -> None:
        plan, valid = self.plan, self.layout.validity(self.point)
        tau = self._sum_limbs(values, "tau", plan.tau_limbs)
        t_value = lin((1, tau), (-T_OFFSET, values["sigma"]))
        r1 = self._sum_limbs(values, "r1_", plan.r1_limbs)
        r2 = self._sum_limbs(values, "r2_", plan.r2_limbs)
        self.t_value = t_value
        self.acc_value = lin(
            (1 << plan.shift1, t_value), (1, r1), (-((1 << plan.shift1) >> 1), valid)
        )
        self.z_value = lin(
            (1 << plan.shift2, self._u_value(values)), (1, r2), (-((1 << plan.shift2) >> 1), valid)
        )
        if plan.single_multiplier:
            reject_identity(
                ext.equal(self.z_value, ext.scale(t_value, plan.multipliers[0])),
                f"{self.node.name}: m·t differs from 2^s2·u + r2 at the random point",
            )
        self.accumulator.take_values(values, self.acc_value)

    def terms_a(self) -> list[TermSpec]:
        own = [] if self.plan.single_multiplier else [self._multiplier_term()]
        return own + self.accumulator.terms_a()

    def terms_b(self, transcript: Any) -> list[TermSpec]:
        return self.accumulator.terms_b(transcript)

    # --- Σ eq(ρ, x)·m(x)·t(x) = Z -----------------------------------------------------------

    def _t_parts(self) -> tuple[list[str], list[int]]:
        names = [f"tau{j}" for j in range(len(self.plan.tau_limbs))] + ["sigma"]
        return names, limb_weights(self.plan.tau_limbs) + [-T_OFFSET]

    def _multiplier_table(self) -> np.ndarray:
        """m(x) = m_c on every position of channel c, padded ones too (0 on padded channels), so
        its MLE is a function of the channel coordinates alone."""
        dims, axis = self.layout.dims, self.plan.channel_axis
        channels = np.zeros(dims[axis].padded, dtype=np.int64)
        channels[: len(self.plan.multipliers)] = self.plan.multipliers
        shape = [1] * len(dims)
        shape[axis] = dims[axis].padded
        return np.broadcast_to(channels.reshape(shape), self.layout.padded_shape).reshape(-1)

    def _multiplier_at(self, point: np.ndarray) -> np.ndarray:
        channel_point = self.layout.split_point(point)[self.plan.channel_axis]
        eq = multilinear.eq_table(channel_point)[:, : len(self.plan.multipliers)]
        return np.asarray(ext.inner_product_base(eq, np.asarray(self.plan.multipliers, np.int64)))

    def _multiplier_term(self) -> TermSpec:
        names, weights = self._t_parts()
        log = self.layout.log_size
        node = self.node.name

        def evaluate(finals: Finals, point: np.ndarray) -> np.ndarray:
            stream: Iterator[np.ndarray] = iter(finals)
            parts = [self.ctx.take_vector(node, name, point, stream) for name in names]
            t_at = lin(*zip(weights, parts, strict=True))
            eq = multilinear.eq_eval(self.point, point)
            return product(eq, self._multiplier_at(point), t_at)

        def build(res: Any) -> ProverTerm:
            tables = [multilinear.eq_table(self.point), self._multiplier_table() % base.P]
            tables += [res.witness.vector(node, n) % base.P for n in names]
            return ProverTerm(shape, tables, ProductTimesSum(2, weights))

        def send(table_finals: Finals, point: np.ndarray, res: Any) -> Finals:
            return list(table_finals[2:])

        shape = TermShape(log, 3, self.z_value)
        return TermSpec(shape, len(names), evaluate, build, send)


class AddAccumulator:
    """acc = m_a·a + m_b·b: checked at ρ from the inputs' values there."""

    def __init__(self, ctx: Context, node: Node, point: np.ndarray) -> None:
        self.ctx, self.node, self.point = ctx, node, point

    def requests(self) -> list[Request]:
        return [
            self.ctx.request(f"input{k}", name, self.point)
            for k, name in enumerate(self.node.inputs)
        ]

    def take_values(self, values: dict[str, np.ndarray], acc: np.ndarray) -> None:
        m_a, m_b = self.node.add_multipliers
        expected = lin((m_a, values["input0"]), (m_b, values["input1"]))
        reject_identity(ext.equal(acc, expected), f"{self.node.name}: acc ≠ m_a·a + m_b·b")

    def terms_a(self) -> list[TermSpec]:
        return []

    def terms_b(self, transcript: Any) -> list[TermSpec]:
        return []

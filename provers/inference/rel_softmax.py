"""SOFTMAX over the last axis: the relations that bind its output to its input.

Semantics (provers/circuit/ops.py), per row of T entries x_j: m = max_j x_j, e_j = E[1 + m − x_j],
z = Σ_j e_j, y_j = ⌊(254·e_j + z) / (2z)⌋. With the row coordinates r and the entry coordinate j
(k bits), valid = valid_r·valid_j the indicator of real positions, V_j(ρ_j) = Σ_{j<T} eq(ρ_j, j)
and the committed vectors

    h (one-hot of each row's first maximum, range 2), d (= 1 + m − x at real positions, 0 at
    padded ones) and e, looked up together in the node's exponential table (row 0 = (0, 0)),
    g = d − valid (range 2^8), y (range 2^8), q and w = (2z − 1)·valid − q (limbs), z (per row),

the verifier checks at the node's random point ρ = (ρ_r, ρ_j):

    (h)  2^k·h(ρ_r, ½…½) = valid_r(ρ_r)              one-hot rows, zero padded rows
    (c)  d(ρ) = M·V_j(ρ_j) − x(ρ) + valid(ρ)          M = m̃(ρ_r), m = Σ_j h·x (term T_m)
    (g)  g(ρ) = d(ρ) − valid(ρ)                       so m ≥ every x_j: m is the maximum
    (z)  z(ρ_r) = 2^k·e(ρ_r, ½…½)                      the row sums
    (w)  w(ρ) = 2·z(ρ_r)·V_j(ρ_j) − valid(ρ) − q(ρ)    so q < 2z
    (e)  254·e(ρ) + z(ρ_r)·V_j(ρ_j) − q(ρ) = 2·P      P = (z'·y)(ρ) (term T_y)

with two stage-A terms: T_m: Σ_x eq(ρ_r, x_r)·h(x)·x(x) = M, and T_y: Σ_x eq(ρ, x)·z'(x_r)·y(x) =
P, z' = z + 1 − valid_r (1 on padded rows, where it forces y = 0). Every value is an integer far
below p/2 (the circuit's check 512·T·E[1] < p/2), so each identity of vectors — implied by its
MLE at a random point except with probability n/|F| — is an integer identity: h picks one
entry per real row, m is its value, g ≥ 0 makes it the maximum, the lookup gives e = E[d], z is
the row sum, and 254·e + z = 2z·y + q with 0 ≤ q < 2z and y ∈ [0, 2^8) makes y the quotient
(on padded positions every vector is 0).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from provers.circuit.executor import causal_mask
from provers.circuit.ops import Node
from provers.field import base, ext
from provers.inference.batched import ProverTerm, TermShape
from provers.inference.claims import Request
from provers.inference.context import Context, Finals, TermSpec, lin, product, reject_identity
from provers.inference.layout import Dim, prefix_eq_sum, validity_of
from provers.inference.plan import softmax_limbs
from provers.poly import multilinear
from provers.sumcheck.combiners import product as product_combiner

HALF = (base.P + 1) // 2
"""1/2 in the base field: the MLE of a vector at (½, …, ½) is its mean."""


def _limb_sum(values: dict[str, np.ndarray], prefix: str, widths: list[int]) -> np.ndarray:
    pairs, shift = [], 0
    for j, width in enumerate(widths):
        pairs.append((1 << shift, values[f"{prefix}{j}"]))
        shift += width
    return lin(*pairs)


class SoftmaxRelation:
    def __init__(self, ctx: Context, node: Node, point: np.ndarray) -> None:
        self.ctx, self.node, self.point = ctx, node, point
        layout = ctx.plan.layouts[node.name]
        self.layout = layout
        self.entry_log = layout.dims[-1].log
        self.row_log = layout.log_size - self.entry_log
        self.rho_rows = point[:, : self.row_log]
        self.rho_entry = point[:, self.row_log :]
        self.row_dims = layout.dims[:-1]
        half = np.asarray(ext.from_base(np.full(self.entry_log, HALF, dtype=np.int64)))
        self.half_point = np.concatenate([self.rho_rows, half], axis=1)
        self.widths = [w for name, w in softmax_limbs(node, ctx.plan.limb_bits) if name[0] == "q"]
        self.m_value = np.asarray(ext.zero())
        self.p_value = np.asarray(ext.zero())
        self._tables: dict[str, np.ndarray] = {}

    def _limb_names(self, prefix: str) -> list[str]:
        return [f"{prefix}{j}" for j in range(len(self.widths))]

    def requests(self) -> list[Request]:
        node, ctx, point = self.node.name, self.ctx, self.point
        at_point = ["d", "e", "g", "y", *self._limb_names("q"), *self._limb_names("w")]
        out = [ctx.vector_request(name, node, name, point) for name in at_point]
        out.append(ctx.request("source", self.node.inputs[0], point))
        out.append(ctx.vector_request("z", node, "z", self.rho_rows))
        out.append(ctx.vector_request("e_half", node, "e", self.half_point))
        out.append(ctx.vector_request("h_half", node, "h", self.half_point))
        out.append(Request("max", "value", 0, point, self._max_value))
        out.append(Request("product", "value", 0, point, self._product_value))
        return out

    def take_values(self, values: dict[str, np.ndarray]) -> None:
        name = self.node.name
        scale = pow(2, self.entry_log, base.P)
        valid = self.layout.validity(self.point)
        valid_rows = validity_of(self.row_dims, self.rho_rows)
        entries = prefix_eq_sum(self.rho_entry, self.layout.dims[-1].real)
        self.m_value, self.p_value = values["max"], values["product"]
        z = values["z"]
        q = _limb_sum(values, "q", self.widths)
        w = _limb_sum(values, "w", self.widths)
        checks = [
            (ext.scale(values["h_half"], scale), valid_rows, "the one-hot rows"),
            (
                values["d"],
                lin((1, ext.mul(self.m_value, entries)), (-1, values["source"]), (1, valid)),
                "d = 1 + m − x",
            ),
            (values["g"], ext.sub(values["d"], valid), "g = d − valid"),
            (z, ext.scale(values["e_half"], scale), "z = Σ e"),
            (w, lin((2, ext.mul(z, entries)), (-1, valid), (-1, q)), "w = 2z − 1 − q"),
            (
                lin((254, values["e"]), (1, ext.mul(z, entries)), (-1, q)),
                ext.scale(self.p_value, 2),
                "254·e + z = 2·z·y + q",
            ),
        ]
        for left, right, what in checks:
            reject_identity(ext.equal(left, right), f"{name}: softmax identity {what}")

    # --- the stated values (prover side) --------------------------------------------------

    def _rows_eq(self) -> np.ndarray:
        """eq(ρ_r, x_r) for every x = (x_r, j): (4, 2^n), built once (stage 0 and stage A)."""
        if "rows_eq" not in self._tables:
            eq = multilinear.eq_table(self.rho_rows)
            self._tables["rows_eq"] = np.repeat(eq, 1 << self.entry_log, axis=1)
        return self._tables["rows_eq"]

    def _scaled_rows(self, res: Any) -> np.ndarray:
        """z'(x_r) = z + 1 − valid_r on every x = (x_r, j), built once."""
        if "scaled_rows" not in self._tables:
            z = res.witness.vector(self.node.name, "z")
            rows = self.ctx.plan.row_layout(self.node.name)
            padded_rows = rows.embed(np.ones(rows.real_shape, dtype=np.int64))
            scaled = np.repeat(z + 1 - padded_rows, 1 << self.entry_log) % base.P
            self._tables["scaled_rows"] = scaled
        return self._tables["scaled_rows"]

    def _max_value(self, res: Any) -> np.ndarray:
        h = res.witness.vector(self.node.name, "h")
        x = res.witness.activation(self.node.inputs[0])
        return np.asarray(ext.inner_product_base(self._rows_eq(), (h * x) % base.P))

    def _product_value(self, res: Any) -> np.ndarray:
        y = res.witness.vector(self.node.name, "y")
        weights = (self._scaled_rows(res) * y) % base.P
        return np.asarray(ext.inner_product_base(multilinear.eq_table(self.point), weights))

    # --- stage A ---------------------------------------------------------------------------

    def terms_a(self) -> list[TermSpec]:
        sends_input = not self.ctx.is_public(self.node.inputs[0])
        log = self.layout.log_size
        max_shape = TermShape(log, 3, self.m_value)
        product_shape = TermShape(log, 3, self.p_value)
        return [
            TermSpec(
                max_shape,
                2 if sends_input else 1,
                self._evaluate_max,
                lambda res: self._build_max(res, max_shape),
                lambda finals, point, res: finals[1:] if sends_input else finals[1:2],
            ),
            TermSpec(
                product_shape,
                2,
                self._evaluate_product,
                lambda res: self._build_product(res, product_shape),
                self._send_product,
            ),
        ]

    def terms_b(self, transcript: Any) -> list[TermSpec]:
        return []

    def _evaluate_max(self, finals: Finals, point: np.ndarray) -> np.ndarray:
        stream: Iterator[np.ndarray] = iter(finals)
        h = self.ctx.take_vector(self.node.name, "h", point, stream)
        x = self.ctx.take(self.node.inputs[0], point, stream)
        eq = multilinear.eq_eval(self.rho_rows, point[:, : self.row_log])
        return product(eq, h, x)

    def _build_max(self, res: Any, shape: TermShape) -> ProverTerm:
        h = res.witness.vector(self.node.name, "h") % base.P
        x = res.witness.activation(self.node.inputs[0]) % base.P
        return ProverTerm(shape, [self._rows_eq(), h, x], product_combiner(3))

    def _evaluate_product(self, finals: Finals, point: np.ndarray) -> np.ndarray:
        stream: Iterator[np.ndarray] = iter(finals)
        rows = point[:, : self.row_log]
        z = self.ctx.take_vector(self.node.name, "z", rows, stream)
        y = self.ctx.take_vector(self.node.name, "y", point, stream)
        scaled = ext.sub(ext.add(z, ext.one()), validity_of(self.row_dims, rows))
        return product(multilinear.eq_eval(self.point, point), scaled, y)

    def _send_product(self, finals: Finals, point: np.ndarray, res: Any) -> Finals:
        """z(s_r), from z'(s) = z(s_r) + 1 − valid_r(s_r), and y(s)."""
        rows = point[:, : self.row_log]
        z = ext.sub(ext.add(finals[1], validity_of(self.row_dims, rows)), ext.one())
        return [np.asarray(z), finals[2]]

    def _build_product(self, res: Any, shape: TermShape) -> ProverTerm:
        y = res.witness.vector(self.node.name, "y") % base.P
        tables = [multilinear.eq_table(self.point), self._scaled_rows(res), y]
        return ProverTerm(shape, tables, product_combiner(3))


def causal_mask_value(dims: tuple[Dim, ...], point: np.ndarray) -> np.ndarray:
    """The MLE at ``point`` of the indicator of real positions (…, i, j) with j ≤ i:
    validity of the leading axes times Σ_{i<T} eq(ρ_i, i)·Σ_{j≤i} eq(ρ_j, j)."""
    lead_log = sum(d.log for d in dims[:-2])
    rows, columns = dims[-2], dims[-1]
    rho_i = point[:, lead_log : lead_log + rows.log]
    rho_j = point[:, lead_log + rows.log :]
    eq_i = multilinear.eq_table(rho_i)[:, : rows.real]
    prefix = np.cumsum(multilinear.eq_table(rho_j)[:, : columns.real], axis=1) % base.P
    triangle = ext.inner_product(eq_i, prefix[:, : rows.real])
    lead = validity_of(dims[:-2], point[:, :lead_log])
    return np.asarray(ext.mul(lead, triangle))


class CausalSoftmaxRelation(SoftmaxRelation):
    """SOFTMAX_CAUSAL: the relations above with the causal mask κ (real positions with j ≤ i)
    in place of valid. Then m·κ, x·κ and z·κ are no longer products of one MLE per axis, so
    the maxima m are committed (T_m proves m = Σ_j h·x) and three more degree-3 terms state
    MX = (m·κ)(ρ), XX = (x·κ)(ρ), ZX = (z·κ)(ρ); a fourth, Σ_x eq(ρ_r, x_r)·h·κ = valid_r(ρ_r),
    keeps each row's one-hot entry inside the mask. The checks become d = MX − XX + κ(ρ),
    g = d − κ(ρ), w = 2·ZX − κ(ρ) − q and 254·e + ZX − q = 2·P."""

    def __init__(self, ctx: Context, node: Node, point: np.ndarray) -> None:
        super().__init__(ctx, node, point)
        self.masked: dict[str, np.ndarray] = {}

    def _mask(self, point: np.ndarray) -> np.ndarray:
        return causal_mask_value(self.layout.dims, point)

    def _mask_table(self) -> np.ndarray:
        kept = causal_mask(self.layout.real_shape).astype(np.int64)
        return self.layout.embed(kept)

    def requests(self) -> list[Request]:
        out = [r for r in super().requests() if r.key != "max"]
        out.append(self.ctx.vector_request("max", self.node.name, "m", self.rho_rows))
        for key, source in (("mx", "m"), ("xx", "x"), ("zx", "z")):
            out.append(Request(key, "value", 0, self.point, self._masked_value(source)))
        return out

    def _broadcast(self, res: Any, source: str) -> np.ndarray:
        if source == "x":
            return np.asarray(res.witness.activation(self.node.inputs[0]) % base.P)
        rows = res.witness.vector(self.node.name, source)
        return np.repeat(rows, 1 << self.entry_log) % base.P

    def _masked_value(self, source: str) -> Any:
        def compute(res: Any) -> np.ndarray:
            weights = (self._broadcast(res, source) * self._mask_table()) % base.P
            return np.asarray(ext.inner_product_base(multilinear.eq_table(self.point), weights))

        return compute

    def take_values(self, values: dict[str, np.ndarray]) -> None:
        name = self.node.name
        scale = pow(2, self.entry_log, base.P)
        mask = self._mask(self.point)
        valid_rows = validity_of(self.row_dims, self.rho_rows)
        self.m_value, self.p_value = values["max"], values["product"]
        self.masked = {key: values[key] for key in ("mx", "xx", "zx")}
        q = _limb_sum(values, "q", self.widths)
        w = _limb_sum(values, "w", self.widths)
        zx = values["zx"]
        checks = [
            (ext.scale(values["h_half"], scale), valid_rows, "the one-hot rows"),
            (values["d"], lin((1, values["mx"]), (-1, values["xx"]), (1, mask)), "d = 1 + m − x"),
            (values["g"], ext.sub(values["d"], mask), "g = d − κ"),
            (values["z"], ext.scale(values["e_half"], scale), "z = Σ e"),
            (w, lin((2, zx), (-1, mask), (-1, q)), "w = 2z − 1 − q"),
            (
                lin((254, values["e"]), (1, zx), (-1, q)),
                ext.scale(self.p_value, 2),
                "254·e + z = 2·z·y + q",
            ),
        ]
        for left, right, what in checks:
            reject_identity(ext.equal(left, right), f"{name}: causal softmax identity {what}")

    def terms_a(self) -> list[TermSpec]:
        log = self.layout.log_size
        rows_log = self.row_log
        one_hot = TermShape(log, 3, validity_of(self.row_dims, self.rho_rows))
        specs = super().terms_a()
        specs.append(
            TermSpec(
                one_hot,
                1,
                self._evaluate_one_hot,
                lambda res: self._build_one_hot(res, one_hot),
                lambda finals, point, res: finals[1:2],
            )
        )
        for key, source in (("mx", "m"), ("xx", "x"), ("zx", "z")):
            sends = 0 if source == "x" and self.ctx.is_public(self.node.inputs[0]) else 1
            shape = TermShape(log, 3, self.masked[key])
            specs.append(
                TermSpec(
                    shape,
                    sends,
                    self._masked_evaluator(source, rows_log),
                    self._masked_builder(source, shape),
                    self._masked_sender(sends),
                )
            )
        return specs

    def _build_one_hot(self, res: Any, shape: TermShape) -> ProverTerm:
        h = res.witness.vector(self.node.name, "h") % base.P
        return ProverTerm(shape, [self._rows_eq(), h, self._mask_table()], product_combiner(3))

    def _evaluate_one_hot(self, finals: Finals, point: np.ndarray) -> np.ndarray:
        h = self.ctx.take_vector(self.node.name, "h", point, iter(finals))
        eq = multilinear.eq_eval(self.rho_rows, point[:, : self.row_log])
        return product(eq, h, self._mask(point))

    def _masked_sender(self, sends: int) -> Callable[[Finals, np.ndarray, Any], Finals]:
        def send(finals: Finals, point: np.ndarray, res: Any) -> Finals:
            return list(finals[1 : 1 + sends])

        return send

    def _masked_evaluator(self, source: str, rows_log: int) -> Any:
        def evaluate(finals: Finals, point: np.ndarray) -> np.ndarray:
            stream: Iterator[np.ndarray] = iter(finals)
            if source == "x":
                value = self.ctx.take(self.node.inputs[0], point, stream)
            else:
                value = self.ctx.take_vector(self.node.name, source, point[:, :rows_log], stream)
            eq = multilinear.eq_eval(self.point, point)
            return product(eq, value, self._mask(point))

        return evaluate

    def _masked_builder(self, source: str, shape: TermShape) -> Any:
        def build(res: Any) -> ProverTerm:
            tables = [
                multilinear.eq_table(self.point),
                self._broadcast(res, source),
                self._mask_table(),
            ]
            return ProverTerm(shape, tables, product_combiner(3))

        return build


__all__ = ["CausalSoftmaxRelation", "SoftmaxRelation", "causal_mask_value"]

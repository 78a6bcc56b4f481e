"""LAYERNORM and RMSNORM over the last axis: the accumulator relation that binds acc to the
input.

Semantics (provers/circuit/ops.py), per row of D entries x_j with the node's (a, b, K, E, B):
μ = ⌊(2^(a+1)·S + D) / (2D)⌋ for S = Σ_j x_j, c_j = 2^a·x_j − μ, V = Σ_j c_j²,
Q = ⌊(V + E) / 2^b⌋ + 1, R = ⌊√(C / Q)⌋ with C = 2^(2K), and acc_j = c_j·R + B_j, which the
requantisation (:mod:`.rel_requant`) maps to y. With the row coordinates r (the output's
coordinates without the last axis, k bits for the entries j), valid_r and valid_j the
indicators of real rows and entries, the prover commits the per-row vectors

    μ' = μ + 2^(a+7), V, q = Q − 1, R and U = R·Q (zero on padded rows), and range-checked
    limbs of μ' (a+8 bits), q (14), R (K+1), U (K+7), r_μ and w_μ = 2D − 1 − r_μ,
    r_b (b bits), s₋ = C − R²·Q and s₊ = (R+1)²·Q − C − 1 (K+16 bits each).

c is not committed: c(x) = 2^a·x(x) − μ(x_r)·valid_j(x_j), μ = μ' − 2^(a+7)·valid_r, is zero
on padded positions and the verifier evaluates it from claims on x and μ'. At the node's
random point ρ = (ρ_r, ρ_j) the prover states CR = (c·R)(ρ) and RU = (R·U)(ρ_r), and the
verifier checks, with S(ρ_r) = 2^k·x(ρ_r, ½…½) and Q(ρ_r) = q(ρ_r) + valid_r(ρ_r):

    (limbs)  μ', q, R, U equal the sums of their limbs at ρ_r
    (μ)      2^(a+1)·S + D·valid_r = 2D·μ + r_μ,   w_μ = (2D − 1)·valid_r − r_μ
    (Q)      V + E·valid_r = 2^b·q + r_b
    (s₋)     s₋ = C·valid_r − RU
    (s₊)     s₊ = RU + 2U + q − C·valid_r              ((R+1)²Q − C − 1 = R·U + 2U + Q − C − 1)
    (acc)    acc(ρ) = CR + valid_r(ρ_r)·Σ_{j<D} eq(ρ_j, j)·B_j

and four degree-3 stage-A terms prove the products:

    T_V:  Σ_{r,j} eq(ρ_r, r)·c(r, j)·c(r, j) = V(ρ_r)
    T_CR: Σ_x eq(ρ, x)·c(x)·R(x_r) = CR
    T_U:  Σ_r eq(ρ_r, r)·R(r)·Q(r) = U(ρ_r)
    T_RU: Σ_r eq(ρ_r, r)·R(r)·U(r) = RU

Soundness. Each identity of vectors holds except with probability n/|F| (Schwartz–Zippel at
the random point), each term with the batched sumcheck's error. Then every vector identity is
an integer identity, because both sides' integers lie in (−p/2, p/2) (the circuit's bounds,
provers/circuit/model.py): x is int8 and |μ| ≤ 2^(a+7), so |c| ≤ 2^(a+8) and the true Σ_j c_j²
≤ D·2^(2a+16) < 2^29 — V's committed field value is that integer; |2^(a+1)·S|, 2D·μ ≤ 2^29
make μ the rounded mean with 0 ≤ r_μ < 2D; V + E < 2^29 and 2^b·q + r_b < 2^29 (b ≤ 15) make
q = ⌊(V + E)/2^b⌋. For the square root every product must stay below p: R < 2^(K+1) and
Q ≤ 2^14 give R·Q < 2^25, so U = R·Q as integers; U < 2^(K+7) gives R·U < 2^(2K+8) ≤ 2^28
(K ≤ 10), so s₋ = C − R²Q ≥ 0 and s₊ = (R+1)²Q − C − 1 ≥ 0 as integers: R²Q ≤ C < (R+1)²Q,
R = ⌊√(C/Q)⌋. (Without the range of U, R·(R·Q) could wrap around p and admit a wrong R.) The
honest values fit: R ≤ 2^K since Q ≥ 1, U ≤ √(C·Q) < 2^(K+7), s₋ ≤ C and
s₊ < (2R + 1)·Q < 2^(K+16). Finally acc is an integer of size < √(2^(b+2K)) + |B| (c² ≤ V <
2^b·Q and R²Q ≤ C), the bound the requantisation's shift is chosen for. On a padded row S = 0,
so (μ) reads 2D·μ' + r_μ = 0 with both terms nonnegative: μ' = 0 there, and c and acc vanish
on every padded position, as the requantisation's identities expect.

RMSNORM (the variant ``centred`` = False). μ = 0, so c = 2^a·x, which the verifier evaluates
from the claim on x alone: μ', r_μ, w_μ and their identities are dropped, and the (μ) step of
the argument with them; every other step stands as written, with |c| ≤ 2^(a+7) and the true
V ≤ D·2^(2a+14) < 2^29 (the circuit's bound for an RMSNORM). On a padded row or entry x = 0, so
c = 0 there and acc = 0 on padded positions as before.

Signs (any sign of γ). When the node states signs σ_j ∈ {−1, 0, 1}, acc_j = σ_j·c_j·R + B_j
and T_CR becomes Σ_x eq(ρ, x)·σ(x_j)·c(x)·R(x_r) = CR: the public factor g(x) = eq(ρ, x)·σ(x_j)
is one table for the prover (degree 3 still), and the verifier evaluates its multilinear
extension at the final point s as eq(ρ_r, s_r)·Σ_{j<D} σ_j·eq(ρ_j, j)·eq(s_j, j) in O(D)
(σ = 0 on padded entries). That value is exact, so the term proves
CR = Σ_x eq(ρ, x)·σ(x_j)·c(x)·R(x_r) = (σ·c·R)(ρ) with the same error as before, and acc's
integer bound holds
because |σ_j·c_j·R| ≤ |c_j·R|. A negative γ_j keeps a positive multiplier (its sign is σ_j);
a γ_j = 0 channel has σ_j = 0 and acc_j = B_j, the quantised β_j, requantised like any other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from provers.circuit.ops import LAYERNORM_CONSTANTS, Node, OpKind
from provers.field import base, ext
from provers.inference.batched import ProverTerm, TermShape
from provers.inference.claims import Request, evaluate_signed
from provers.inference.context import Context, Finals, TermSpec, lin, product, reject_identity
from provers.inference.layout import prefix_eq_sum, validity_of
from provers.inference.plan import layernorm_limbs, layernorm_row_vectors
from provers.poly import multilinear
from provers.sumcheck.combiners import product as product_combiner

HALF = (base.P + 1) // 2
"""1/2 in the base field: the MLE of a vector at (½, …, ½) is its mean."""


class LayerNormAccumulator:
    """acc = σ·c·R + B of a LAYERNORM or RMSNORM node: stage-0 identities and four stage-A
    terms."""

    def __init__(self, ctx: Context, node: Node, point: np.ndarray) -> None:
        self.ctx, self.node, self.point = ctx, node, point
        self.layout = ctx.plan.layouts[node.name]
        self.rows = ctx.plan.row_layout(node.name)
        self.entry_log = self.layout.dims[-1].log
        self.row_log = self.layout.log_size - self.entry_log
        self.rho_rows = point[:, : self.row_log]
        self.rho_entry = point[:, self.row_log :]
        self.row_dims = self.layout.dims[:-1]
        half = np.asarray(ext.from_base(np.full(self.entry_log, HALF, dtype=np.int64)))
        self.half_point = np.concatenate([self.rho_rows, half], axis=1)
        self.limbs = layernorm_limbs(node, ctx.plan.limb_bits)
        self.a, self.b, self.k, self.e = node.layernorm_constants
        self.entries = node.output_shape[-1]
        self.centred = node.kind is OpKind.LAYERNORM
        """False for an RMSNORM: μ = 0, and nothing of the mean is committed."""
        self.signed = len(node.table) > LAYERNORM_CONSTANTS + self.entries
        """Signs σ_j are stated: T_CR carries them in its public eq·σ factor."""
        self.claims: dict[str, np.ndarray] = {}

    # --- stage 0 ---------------------------------------------------------------------------

    def _limb_names(self) -> list[str]:
        return [f"{prefix}{j}" for prefix, widths in self.limbs for j in range(len(widths))]

    def requests(self) -> list[Request]:
        ctx, name = self.ctx, self.node.name
        vectors = [*layernorm_row_vectors(self.node), *self._limb_names()]
        out = [ctx.vector_request(v, name, v, self.rho_rows) for v in vectors]
        if self.centred:
            out.append(ctx.request("ln_x_half", self.node.inputs[0], self.half_point))
        out.append(Request("ln_cr", "value", 0, self.point, self._cr_value))
        out.append(Request("ln_ru", "value", 0, self.rho_rows, self._ru_value))
        return out

    def _limb_sum(self, values: dict[str, np.ndarray], prefix: str) -> np.ndarray:
        widths = dict(self.limbs)[prefix]
        pairs, shift = [], 0
        for j, width in enumerate(widths):
            pairs.append((1 << shift, values[f"{prefix}{j}"]))
            shift += width
        return lin(*pairs)

    def _offsets_at(self, rho_entry: np.ndarray, rho_rows: np.ndarray) -> np.ndarray:
        """B(ρ) = valid_r(ρ_r)·Σ_{j<D} eq(ρ_j, j)·B_j."""
        offsets = np.asarray(self.node.layernorm_offsets, dtype=np.int64)
        eq = multilinear.eq_table(rho_entry)[:, : self.entries]
        per_entry = ext.inner_product_base(eq, offsets % base.P)
        return np.asarray(ext.mul(per_entry, validity_of(self.row_dims, rho_rows)))

    def take_values(self, values: dict[str, np.ndarray], acc: np.ndarray) -> None:
        self.claims = {key: values[key] for key in ("ln_v", "ln_u", "ln_cr", "ln_ru")}
        a, b, e, entries = self.a, self.b, self.e, self.entries
        full = 1 << (2 * self.k)
        valid = validity_of(self.row_dims, self.rho_rows)
        limbs = {prefix: self._limb_sum(values, prefix) for prefix, _ in self.limbs}
        q, u, ru = values["ln_q"], values["ln_u"], values["ln_ru"]
        whole = ("mu", "q", "r", "u") if self.centred else ("q", "r", "u")
        checks = [(values[f"ln_{v}"], limbs[f"ln_{v}"], f"{v} = Σ limbs") for v in whole]
        if self.centred:
            row_sum = ext.scale(values["ln_x_half"], pow(2, self.entry_log, base.P))
            mean = lin((1, values["ln_mu"]), (-(1 << (a + 7)), valid))
            checks += [
                (
                    lin((1 << (a + 1), row_sum), (entries, valid)),
                    lin((2 * entries, mean), (1, limbs["ln_rmu"])),
                    "2^(a+1)·S + D = 2D·μ + r_μ",
                ),
                (limbs["ln_wmu"], lin((2 * entries - 1, valid), (-1, limbs["ln_rmu"])), "w_μ"),
            ]
        checks += [
            (
                lin((1, values["ln_v"]), (e, valid)),
                lin((1 << b, q), (1, limbs["ln_rb"])),
                "V + E = 2^b·(Q − 1) + r_b",
            ),
            (limbs["ln_below"], lin((full, valid), (-1, ru)), "C − R²·Q"),
            (limbs["ln_above"], lin((1, ru), (2, u), (1, q), (-full, valid)), "(R+1)²·Q − C − 1"),
            (
                acc,
                ext.add(values["ln_cr"], self._offsets_at(self.rho_entry, self.rho_rows)),
                "acc = σ·c·R + B",
            ),
        ]
        for left, right, what in checks:
            reject_identity(ext.equal(left, right), f"{self.node.name}: layernorm {what}")

    # --- the prover's tables ---------------------------------------------------------------

    def _row_table(self, res: Any, vector: str) -> np.ndarray:
        return np.asarray(res.witness.vector(self.node.name, vector))

    def _broadcast(self, rows: np.ndarray) -> np.ndarray:
        return np.repeat(rows, 1 << self.entry_log)

    def _sign_table(self) -> np.ndarray:
        """σ_j on every entry j of the padded last axis (0 on padded entries)."""
        signs = np.zeros(1 << self.entry_log, dtype=np.int64)
        signs[: self.entries] = self.node.layernorm_signs
        return signs

    def _signed_eq_at(self, point: np.ndarray) -> np.ndarray:
        """The MLE of x ↦ eq(ρ, x)·σ(x_j) at s: eq(ρ_r, s_r)·Σ_{j<D} σ_j·eq(ρ_j, j)·eq(s_j, j)
        (the product's own extension, not the product of the two extensions)."""
        rows = multilinear.eq_eval(self.rho_rows, point[:, : self.row_log])
        both = ext.mul(
            multilinear.eq_table(self.rho_entry), multilinear.eq_table(point[:, self.row_log :])
        )
        per_entry = ext.inner_product_base(both, self._sign_table() % base.P)
        return np.asarray(ext.mul(rows, per_entry))

    def _cr_eq_table(self) -> np.ndarray:
        """eq(ρ, x), times σ(x_j) when signs are stated: T_CR's public factor."""
        eq = np.asarray(multilinear.eq_table(self.point))
        if not self.signed:
            return eq
        signs = np.tile(self._sign_table() % base.P, 1 << self.row_log)
        return np.asarray(eq * signs[None, :] % base.P)

    def _c_table(self, res: Any) -> np.ndarray:
        """c = 2^a·x − μ·valid_j on every position (signed; 2^a·x for an RMSNORM)."""
        x = np.asarray(res.witness.activation(self.node.inputs[0]), dtype=np.int64)
        if not self.centred:
            return np.asarray(x << self.a)
        valid_rows = self.rows.embed(np.ones(self.rows.real_shape, dtype=np.int64))
        mean = self._row_table(res, "ln_mu") - (valid_rows << (self.a + 7))
        valid_entries = (np.arange(1 << self.entry_log) < self.entries).astype(np.int64)
        masked = self._broadcast(mean) * np.tile(valid_entries, mean.shape[0])
        return np.asarray((x << self.a) - masked)

    def _cr_value(self, res: Any) -> np.ndarray:
        weights = (self._c_table(res) % base.P) * self._broadcast(self._row_table(res, "ln_r"))
        return np.asarray(ext.inner_product_base(self._cr_eq_table(), weights % base.P))

    def _ru_value(self, res: Any) -> np.ndarray:
        weights = self._row_table(res, "ln_r") * self._row_table(res, "ln_u") % base.P
        return np.asarray(ext.inner_product_base(multilinear.eq_table(self.rho_rows), weights))

    # --- stage A ---------------------------------------------------------------------------

    def terms_a(self) -> list[TermSpec]:
        log, rows = self.layout.log_size, self.row_log
        sends_c = (0 if self.ctx.is_public(self.node.inputs[0]) else 1) + int(self.centred)
        return [
            self._term(TermShape(log, 3, self.claims["ln_v"]), sends_c, self._v_parts()),
            self._term(TermShape(log, 3, self.claims["ln_cr"]), sends_c + 1, self._cr_parts()),
            self._term(TermShape(rows, 3, self.claims["ln_u"]), 2, self._u_parts()),
            self._term(TermShape(rows, 3, self.claims["ln_ru"]), 2, self._ru_parts()),
        ]

    def terms_b(self, transcript: Any) -> list[TermSpec]:
        return []

    def _term(self, shape: TermShape, count: int, parts: tuple[Any, Any, Any]) -> TermSpec:
        evaluate, tables, send = parts

        def build(res: Any) -> ProverTerm:
            return ProverTerm(shape, [t % base.P for t in tables(res)], product_combiner(3))

        return TermSpec(shape, count, evaluate, build, send)

    def _send_c(self, point: np.ndarray, res: Any) -> Finals:
        """x(s) (unless public) and μ'(s_r): the claims the verifier rebuilds c(s) from."""
        out: Finals = []
        if not self.ctx.is_public(self.node.inputs[0]):
            out.append(evaluate_signed(res.witness.activation(self.node.inputs[0]), point))
        if self.centred:
            out.append(evaluate_signed(self._row_table(res, "ln_mu"), point[:, : self.row_log]))
        return out

    def _take_c(self, point: np.ndarray, stream: Iterator[np.ndarray]) -> np.ndarray:
        x = self.ctx.take(self.node.inputs[0], point, stream)
        if not self.centred:
            return np.asarray(ext.scale(x, 1 << self.a))
        rows = point[:, : self.row_log]
        shifted = self.ctx.take_vector(self.node.name, "ln_mu", rows, stream)
        mean = lin((1, shifted), (-(1 << (self.a + 7)), validity_of(self.row_dims, rows)))
        valid_entries = prefix_eq_sum(point[:, self.row_log :], self.entries)
        return lin((1 << self.a, x), (-1, ext.mul(mean, valid_entries)))

    def _rows_eq(self) -> np.ndarray:
        return np.repeat(multilinear.eq_table(self.rho_rows), 1 << self.entry_log, axis=1)

    def _v_parts(self) -> tuple[Any, Any, Any]:
        def evaluate(finals: Finals, point: np.ndarray) -> np.ndarray:
            c = self._take_c(point, iter(finals))
            eq = multilinear.eq_eval(self.rho_rows, point[:, : self.row_log])
            return product(eq, c, c)

        def tables(res: Any) -> list[np.ndarray]:
            c = self._c_table(res)
            return [self._rows_eq(), c, c]

        def send(finals: Finals, point: np.ndarray, res: Any) -> Finals:
            return self._send_c(point, res)

        return evaluate, tables, send

    def _cr_parts(self) -> tuple[Any, Any, Any]:
        def evaluate(finals: Finals, point: np.ndarray) -> np.ndarray:
            stream = iter(finals)
            c = self._take_c(point, stream)
            rows = point[:, : self.row_log]
            r = self.ctx.take_vector(self.node.name, "ln_r", rows, stream)
            if self.signed:
                eq = self._signed_eq_at(point)
            else:
                eq = multilinear.eq_eval(self.point, point)
            return product(eq, c, r)

        def tables(res: Any) -> list[np.ndarray]:
            r = self._broadcast(self._row_table(res, "ln_r"))
            return [self._cr_eq_table(), self._c_table(res), r]

        def send(finals: Finals, point: np.ndarray, res: Any) -> Finals:
            return [*self._send_c(point, res), finals[2]]

        return evaluate, tables, send

    def _row_product(
        self, second: str, second_table: Callable[[Any], np.ndarray], shift: int
    ) -> tuple[Any, Any, Any]:
        """Σ_r eq(ρ_r, r)·R(r)·(second(r) + shift·valid_r(r)) over the row bits."""

        def evaluate(finals: Finals, point: np.ndarray) -> np.ndarray:
            stream = iter(finals)
            r = self.ctx.take_vector(self.node.name, "ln_r", point, stream)
            other = self.ctx.take_vector(self.node.name, second, point, stream)
            other = lin((1, other), (shift, validity_of(self.row_dims, point)))
            return product(multilinear.eq_eval(self.rho_rows, point), r, other)

        def tables(res: Any) -> list[np.ndarray]:
            eq = multilinear.eq_table(self.rho_rows)
            return [eq, self._row_table(res, "ln_r"), second_table(res)]

        def send(finals: Finals, point: np.ndarray, res: Any) -> Finals:
            other = lin((1, finals[2]), (-shift, validity_of(self.row_dims, point)))
            return [finals[1], other]

        return evaluate, tables, send

    def _u_parts(self) -> tuple[Any, Any, Any]:
        def q_table(res: Any) -> np.ndarray:
            valid_rows = self.rows.embed(np.ones(self.rows.real_shape, dtype=np.int64))
            return np.asarray(self._row_table(res, "ln_q") + valid_rows)

        return self._row_product("ln_q", q_table, 1)

    def _ru_parts(self) -> tuple[Any, Any, Any]:
        return self._row_product("ln_u", lambda res: self._row_table(res, "ln_u"), 0)


__all__ = ["LayerNormAccumulator"]

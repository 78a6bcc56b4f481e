"""The checks of a private-mode MLP proof as terms of one batched masked sumcheck.

Every committed vector v (a slot of W, 2^n entries) is read on the doubled domain as
V(x_0, x) = (1 − x_0)·v(x) + x_0·v'(x), v' the slot's random half in W2 = (W ‖ W'). Per layer,
at its random point ρ = (ρ_n, ρ_o) (provers/inference/requant.py for the identities):

    group 2i   Σ_j Σ_{x_0,k} (1 − x_0)·Wf_j(k)·Xf_j(x_0, k)
               − Σ_{x_0,x} E(x_0, x)·(2^s1·t + r1)(x_0, x)  =  −2^(s1−1)·valid(ρ) − b(ρ_o)·rv(ρ_n)
    group 2i+1 Σ_{x_0,x} E(x_0, x)·(m·t − 2^s2·u − r2)(x_0, x)  =  −2^(s2−1)·valid(ρ)

with E = eq((0, ρ), ·) (so E carries the selector 1 − x_0), t = Σ 2^(8j)·τ_j − 2^15·σ,
u from the clamp vectors, Wf_j(k) = W_j(ρ_o, k) the weight block folded by the output point
(public weights: the claim W_j(ρ_o, κ) is opened in the clear), Xf_j(x_0, k) the layer input's
block columns folded by ρ_n (for a public input the verifier folds it itself and the term has
no x_0), b(ρ_o) the bias claim and rv the row validity. With a public output, one more group
Σ E_out·Y = y(ρ_out). Each group total is a public number, so no private sum is stated; a false
identity at ρ makes its group total false except with probability n/|F| (Schwartz–Zippel on
the MLE of the identity's error vector).

Every term's final values are its vectors at (ζ, r) (ζ the term's x_0 challenge), claims on W2
that the random halves mask, and the weight and bias claims.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from provers.circuit.ops import OpKind
from provers.field import base, ext
from provers.field.backend import Array
from provers.inference.layout import UnsupportedCircuit
from provers.inference.rel_requant import limb_weights
from provers.inference.requant import T_OFFSET
from provers.poly import multilinear
from provers.private.argmax import (
    DATA,
    ProductTerm,
    audit_groups,
    audit_terms,
    audit_totals,
    split_column,
)
from provers.private.plan import INPUT, LayerPlan, PrivatePlan
from provers.private.windows import (
    WindowTerm,
    ZeroProductTerm,
    rows_validity,
    source_key,
    split_rows,
)

Key = tuple[str, str]


def bits(value: int, count: int) -> np.ndarray:
    """The Boolean point of ``value`` over ``count`` coordinates, most significant first."""
    out = np.zeros((ext.DEGREE, count), dtype=np.int64)
    for i in range(count):
        out[0, i] = (value >> (count - 1 - i)) & 1
    return out


@dataclass(frozen=True)
class MatmulTerm:
    """Σ_{x_0,k} (1 − x_0)·Wf(x_0, k)·Xf(x_0, k) for block ``block`` of a layer: Xf has no x_0
    for a public input, Wf none for public weights (no x_0 at all when both are public)."""

    layer: LayerPlan
    block: int
    group: int
    private_input: bool
    private_weights: bool = False

    @property
    def doubled(self) -> bool:
        return self.private_input or self.private_weights

    @property
    def cols_log(self) -> int:
        return self.layer.matrix.blocks[self.block].cols_log

    @property
    def num_vars(self) -> int:
        return self.cols_log + (1 if self.doubled else 0)

    @property
    def degree(self) -> int:
        return 3 if self.doubled else 2


@dataclass(frozen=True)
class BiasTerm:
    """Σ_{x_0,j} (1 − x_0)·c(j)·B(x_0, j) over the weight table's bias block B (every layer's
    bias), c(j) = eq(ρ_o, j − o)·rv(ρ_n) on this layer's bias (at o in the block) and 0
    elsewhere: the private bias b(ρ_o)·rv(ρ_n) (private weights only). Summing over the whole
    block puts the final claim at a random point of it, so the claims of every layer and proof
    share the block's random half instead of each bias's few entries."""

    layer: LayerPlan
    group: int
    block_log: int

    @property
    def num_vars(self) -> int:
        return 1 + self.block_log

    @property
    def degree(self) -> int:
        return 2


@dataclass(frozen=True)
class LinearTerm:
    """sign·Σ_{x_0,x} E(x_0, x)·(M(x)·Σ_v a_v·V_v + Σ_v b_v·V_v), E = eq((0, point), ·)."""

    layer: LayerPlan
    group: int
    point_name: str
    vectors: tuple[Key, ...]
    a: tuple[int, ...]
    b: tuple[int, ...]
    with_multipliers: bool
    log_size: int = field(default=0)

    @property
    def num_vars(self) -> int:
        return 1 + self.log_size

    @property
    def degree(self) -> int:
        return 3 if self.with_multipliers else 2


Term = MatmulTerm | BiasTerm | LinearTerm | ProductTerm | WindowTerm | ZeroProductTerm


def _t_parts(layer: LayerPlan) -> dict[Key, int]:
    plan = layer.requantisation
    parts = {(layer.node, f"tau{j}"): w for j, w in enumerate(limb_weights(plan.tau_limbs))}
    parts[(layer.node, "sigma")] = -T_OFFSET
    return parts


def _u_parts(layer: LayerPlan) -> dict[Key, int]:
    clamp, name = layer.requantisation.clamp, layer.node
    step = 2 * clamp.bound + 1
    if not clamp.split:
        return {(name, "index"): 1, (name, "sigma"): -step}
    scale = 1 << clamp.low_bits
    return {
        (name, "f_index"): 1,
        (name, "h_index"): scale,
        (name, "clip"): -scale,
        (name, "sigma"): -scale * step,
    }


def _limb_parts(layer: LayerPlan, prefix: str, widths: tuple[int, ...]) -> dict[Key, int]:
    return {(layer.node, f"{prefix}{j}"): w for j, w in enumerate(limb_weights(widths))}


def _linear(
    layer: LayerPlan,
    group: int,
    point: str,
    a: dict[Key, int],
    b: dict[Key, int],
    with_multipliers: bool,
) -> LinearTerm:
    keys = tuple(dict.fromkeys([*a, *b]))
    return LinearTerm(
        layer,
        group,
        point,
        keys,
        tuple(a.get(k, 0) for k in keys),
        tuple(b.get(k, 0) for k in keys),
        with_multipliers,
        layer.log_size,
    )


def layer_groups(layer: LayerPlan) -> int:
    """Groups of one layer: identities (1) and (2) of its requantisation, or a max pool's
    product group and one tie per window offset."""
    return 2 if layer.requant is not None else 1 + layer.offsets


def first_groups(plan: PrivatePlan) -> dict[str, int]:
    out, group = {}, 0
    for layer in plan.layers:
        out[layer.node] = group
        group += layer_groups(layer)
    out[""] = group
    return out


def _requant_terms(plan: PrivatePlan, layer: LayerPlan, group: int) -> list[Term]:
    assert layer.requant is not None
    out: list[Term] = []
    private_x = layer.input != INPUT or plan.private_input
    if layer.kind is OpKind.AVGPOOL2D:
        out.append(WindowTerm(layer, group, None, 1))
    else:
        assert layer.weights is not None
        for j in range(len(layer.matrix.blocks)):
            out.append(MatmulTerm(layer, j, group, private_x, plan.private_weights))
        if plan.private_weights:
            out.append(BiasTerm(layer, group, plan.weight_layout.bias_log))
    s1, s2 = layer.requant.shift1, layer.requant.shift2
    t = _t_parts(layer)
    identity1 = {k: -(w << s1) for k, w in t.items()}
    for k, w in _limb_parts(layer, "r1_", layer.requant.r1_limbs).items():
        identity1[k] = identity1.get(k, 0) - w
    out.append(_linear(layer, group, layer.node, {}, identity1, False))
    identity2: dict[Key, int] = {k: -(w << s2) for k, w in _u_parts(layer).items()}
    for k, w in _limb_parts(layer, "r2_", layer.requant.r2_limbs).items():
        identity2[k] = identity2.get(k, 0) - w
    out.append(_linear(layer, group + 1, layer.node, t, identity2, True))
    return out


def _maxpool_terms(layer: LayerPlan, group: int) -> list[Term]:
    out: list[Term] = [ZeroProductTerm(layer, group)]
    y = (layer.node, "y")
    for k in range(layer.offsets):
        tie = {y: 1, (layer.node, f"d{k}"): -1}
        out.append(_linear(layer, group + 1 + k, layer.node, {}, tie, False))
        out.append(WindowTerm(layer, group + 1 + k, k, -1))
    return out


def terms_of(plan: PrivatePlan) -> list[Term]:
    """Every term, in the order the prover sends their final values."""
    out: list[Term] = []
    groups = first_groups(plan)
    for layer in plan.layers:
        if layer.requant is None:
            out += _maxpool_terms(layer, groups[layer.node])
        else:
            out += _requant_terms(plan, layer, groups[layer.node])
    after = groups[""]
    if not plan.private_output:
        last = plan.output_layer()
        out.append(_linear(last, after, "output", {}, {(last.node, "y"): 1}, False))
    if plan.classes:
        last = plan.output_layer()

        def audit_linear(group: int, anchor: str, b: dict[Key, int], log: int) -> LinearTerm:
            keys = tuple(b)
            return LinearTerm(
                last, group, anchor, keys, (0,) * len(keys), tuple(b[k] for k in keys), False, log
            )

        out += audit_terms(plan, after, audit_linear)  # type: ignore[arg-type]
    return out


def group_count(plan: PrivatePlan) -> int:
    audit = audit_groups(plan) if plan.classes else 0
    return first_groups(plan)[""] + (0 if plan.private_output else 1) + audit


def weighted_layers(plan: PrivatePlan) -> list[LayerPlan]:
    """The layers with weights and a bias, in order (one bias claim each, weights public)."""
    return [layer for layer in plan.layers if layer.weights is not None]


def multiplier_table(layer: LayerPlan) -> np.ndarray:
    """m = m_c on every position of channel c, 0 on padded channels (canonical)."""
    assert layer.requant is not None
    padded = layer.layout.padded_shape
    channels = np.zeros(padded[1], dtype=np.int64)
    channels[: len(layer.requant.multipliers)] = layer.requant.multipliers
    shape = [1] * len(padded)
    shape[1] = padded[1]
    return np.broadcast_to(channels.reshape(shape) % base.P, padded).reshape(-1).copy()


def multiplier_at(layer: LayerPlan, point: np.ndarray) -> np.ndarray:
    """m's MLE at a point: Σ_c eq(r_c, c)·m_c (the eq of every other axis sums to 1)."""
    assert layer.requant is not None
    r_c = layer.layout.split_point(point)[1]
    eq = multilinear.eq_table(r_c)[:, : len(layer.requant.multipliers)]
    return np.asarray(ext.inner_product_base(eq, np.asarray(layer.requant.multipliers, np.int64)))


class LinearCombiner:
    """E·(M·Σ a_v·V_v + Σ b_v·V_v) on (4, m) values [E, (M), V_1, …]."""

    def __init__(self, term: LinearTerm) -> None:
        self.a, self.b, self.with_m = term.a, term.b, term.with_multipliers

    def __call__(self, values: list[Array]) -> Array:
        e = values[0]
        vectors = values[2:] if self.with_m else values[1:]
        total_b = ext.zeros(e.shape[1], like=e)
        total_a = ext.zeros(e.shape[1], like=e)
        for value, a, b in zip(vectors, self.a, self.b, strict=True):
            if b:
                total_b = ext.add(total_b, ext.scale(value, b % base.P))
            if a:
                total_a = ext.add(total_a, ext.scale(value, a % base.P))
        if self.with_m:
            total_b = ext.add(total_b, ext.mul(values[1], total_a))
        return ext.mul(e, total_b)


def linear_value(
    term: LinearTerm, point: np.ndarray, anchor: np.ndarray, vector_values: list[np.ndarray]
) -> np.ndarray:
    """The term's C at its point (ζ, r) from the vectors' values there; ``anchor`` is ρ."""
    e = multilinear.eq_eval(zero_first(anchor), point)
    total_a, total_b = ext.zero(), ext.zero()
    for value, a, b in zip(vector_values, term.a, term.b, strict=True):
        total_a = ext.add(total_a, ext.scale(value, a % base.P))
        total_b = ext.add(total_b, ext.scale(value, b % base.P))
    if term.with_multipliers:
        total_b = ext.add(total_b, ext.mul(multiplier_at(term.layer, point[:, 1:]), total_a))
    return np.asarray(ext.mul(e, total_b))


def zero_first(point: np.ndarray) -> np.ndarray:
    """(0, point)."""
    return np.concatenate([np.zeros((ext.DEGREE, 1), np.int64), point], axis=1)


def group_totals(
    plan: PrivatePlan,
    points: dict[str, np.ndarray],
    biases: np.ndarray,
    output_table: np.ndarray | None,
    counts: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """The public total of every group (the module docstring), (4, groups); an audit's counts
    (samples and correct predictions per label) give its groups' totals."""
    totals = np.zeros((ext.DEGREE, group_count(plan)), dtype=np.int64)
    groups = first_groups(plan)
    if plan.classes:
        if counts is None:
            raise ValueError("an audit's totals need its counts")
        totals[:, groups[""] :] = audit_totals(plan, points, *counts)
    weighted = [layer.node for layer in weighted_layers(plan)]
    for layer in plan.layers:
        if layer.requant is None:
            continue
        group, rho = groups[layer.node], points[layer.node]
        valid = layer.layout.validity(rho)
        s1, s2 = layer.requant.shift1, layer.requant.shift2
        half1, half2 = (1 << s1) >> 1, (1 << s2) >> 1
        shifted = ext.scale(valid, half1)
        if not plan.private_weights and layer.weights is not None:
            bias = biases[:, weighted.index(layer.node)]
            shifted = ext.add(shifted, ext.mul(bias, rows_validity(layer, rho)))
        totals[:, group] = ext.neg(shifted)
        totals[:, group + 1] = ext.scale(valid, (-half2) % base.P)
    if not plan.private_output:
        if output_table is None:
            raise ValueError("a public output needs its table")
        totals[:, groups[""]] = multilinear.evaluate(output_table, points["output"])
    return totals


def _bias_start(plan: PrivatePlan, layer: LayerPlan) -> int:
    assert layer.weights is not None
    return layer.matrix.bias_offset - plan.weight_layout.bias_offset


def bias_factor_table(plan: PrivatePlan, layer: LayerPlan, rho: np.ndarray) -> np.ndarray:
    """A BiasTerm's public factor over (x_0, j): c(j) on the real half, 0 on the random half,
    (4, 2^(b+1)) for a bias block of 2^b entries."""
    rho_o = split_rows(layer, rho)[1]
    size = 1 << plan.weight_layout.bias_log
    table = np.zeros((ext.DEGREE, 2 * size), dtype=np.int64)
    values = ext.mul(multilinear.eq_table(rho_o), rows_validity(layer, rho))
    start = _bias_start(plan, layer)
    table[:, start : start + values.shape[1]] = values
    return table


def bias_factor_at(
    plan: PrivatePlan, layer: LayerPlan, rho: np.ndarray, local: np.ndarray
) -> np.ndarray:
    """That factor at (ζ, κ): (1 − ζ)·eq(κ_high, the bias's place)·eq(ρ_o, κ_low)·rv(ρ_rows)."""
    rho_o = split_rows(layer, rho)[1]
    kappa = local[:, 1:]
    low = rho_o.shape[1]
    place = bits(_bias_start(plan, layer) >> low, kappa.shape[1] - low)
    value = ext.mul(
        multilinear.eq_eval(place, kappa[:, : kappa.shape[1] - low]),
        multilinear.eq_eval(rho_o, kappa[:, kappa.shape[1] - low :]),
    )
    value = ext.mul(value, rows_validity(layer, rho))
    return np.asarray(ext.mul(ext.sub(ext.one(), local[:, 0]), value))


def multilinear_prefix(point: np.ndarray, count: int) -> np.ndarray:
    """Σ_{i < count} eq(point, i)."""
    if point.shape[1] == 0:
        return np.asarray(ext.one())
    return np.asarray(ext.sum_(multilinear.eq_table(point)[:, :count]))


def check_masking(plan: PrivatePlan, terms: list[Term]) -> None:
    """Refuse a circuit whose vectors are too small for their random halves to mask every value
    revealed of them: a vector of 2^n entries claimed at c points (one per distinct term size
    that reads it, one per input block of the next layer) needs 4·c ≤ 2^n (each claim is four
    base-field coordinates), and with the lookup's claim on its whole slot 4·(c + 1) ≤ the
    slot's size."""
    points: dict[Key, set[object]] = {key: set() for key in plan.slots}
    for term in terms:
        if isinstance(term, LinearTerm):
            for key in term.vectors:
                column = split_column(key)
                if column is not None:
                    points[column[0]].add(("column", term.num_vars, column[1]))
                elif key[0] != DATA:
                    points[key].add(("term", term.num_vars))
        elif isinstance(term, ProductTerm):
            for key in (term.a, term.b):
                points[key].add(("product", term.num_vars))
        elif isinstance(term, ZeroProductTerm):
            for key in term.vectors:
                points[key].add(("term", term.num_vars))
        elif isinstance(term, WindowTerm):
            points[source_key(term.layer)].add(("term", term.num_vars))
        elif isinstance(term, MatmulTerm) and term.private_input:
            if term.layer.kind is OpKind.CONV2D:
                points[source_key(term.layer)].add(("window", term.layer.in_layout))
            else:
                points[source_key(term.layer)].add(("block", term.layer.node, term.block))
    for key, claimed in points.items():
        entries = 1 << plan.vector_log(key)
        if 4 * len(claimed) > entries or 4 * (len(claimed) + 1) > plan.slot_size(key):
            raise UnsupportedCircuit(
                f"{key[0]}: its {key[1]} vector has {entries} entries, too few to mask the "
                f"{len(claimed) + 1} values a proof reveals of it; prove a larger batch"
            )


def check_budget(plan: PrivatePlan, tickets: int) -> None:
    """Refuse private weights whose random half T′ cannot mask every value of them that all
    ``tickets`` proofs reveal (provers/private/model.py): each claim is four base-field
    coordinates of T′ on its region — a matrix-product term's claim on its block's rows (ρ_o)
    and columns, every layer's bias claim on the bias block, stage C's claim on the whole table
    — and a region needs 4·(its claims + stage C's)·tickets ≤ its entries."""
    regions: list[tuple[str, int, int]] = []
    for layer in weighted_layers(plan):
        assert layer.weights is not None
        out_log = layer.layout.dims[1].log
        for j, block in enumerate(layer.matrix.blocks):
            regions.append((f"{layer.node} block {j}", 1 << (out_log + block.cols_log), 1))
    bias = plan.weight_layout
    regions.append(("the bias block", 1 << bias.bias_log, len(weighted_layers(plan))))
    for name, entries, claims in regions:
        if 4 * (claims + 1) * tickets > entries:
            raise UnsupportedCircuit(
                f"{name} has {entries} weight entries, too few to hide its values over "
                f"{tickets} proofs; commit the model for at most "
                f"{max_tickets(plan)} proofs"
            )


def max_tickets(plan: PrivatePlan) -> int:
    """The largest budget :func:`check_budget` accepts."""
    out = []
    layers = weighted_layers(plan)
    for layer in layers:
        assert layer.weights is not None
        out_log = layer.layout.dims[1].log
        out += [(1 << (out_log + b.cols_log)) // 8 for b in layer.matrix.blocks]
    out.append((1 << plan.weight_layout.bias_log) // (4 * (len(layers) + 1)))
    return max(0, min(out))

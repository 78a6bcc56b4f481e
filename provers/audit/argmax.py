"""The prediction of every sample, its label, and the per-class counts of one audit chunk.

For logits Z (samples × C, int8 from the committed model's output) and labels ℓ (committed in
the chunk's data table) the prover commits, per class c and over the batch axis (b bits):

    h_c   the one-hot prediction: h_c(i) = 1 iff c = p_i = the lowest index of a maximum of Z_i;
    y_c   the one-hot label: y_c(i) = 1 iff c = ℓ_i;
    index_c = d_c + 256·h_c + 257·y_c, with d_c = m − z_c − Σ_{c'>c} h_{c'} ∈ [0, 256);
    m     the per-sample maximum (no lookup reads it).

The lookup puts every (index_c, h_c, y_c) in the argmax table block (provers/inference/tables.py:
rows (d + 256·h + 257·y, h, y) with d ∈ [0, 256) when h = 0 and d = 0 when h = 1), so h_c and
y_c are bits and h_c = 1 forces d_c = 0. At a random point ρ of the batch axis (drawn after W
is committed) the verifier checks, from values the prover states (claims on W and on the data
table):

    (A_c) index_c − 256·h_c − 257·y_c = m − z_c − Σ_{c'>c} h_{c'}      for each class c
    (H)   Σ_c h_c = valid(ρ)        (S) Σ_c y_c = valid(ρ)        (L) Σ_c c·y_c = ℓ(ρ)

valid = the indicator of the chunk's real samples. Each is an identity of multilinear
extensions, so it holds at every sample except with probability b/|F|. Then for a real sample
exactly one h_c and one y_c are 1 (sums of bits equal to 1), y is the label's one-hot (L), and
with p the predicted class: d_p = 0 gives m = z_p; for c > p, d_c = z_p − z_c ≥ 0; for c < p,
d_c = z_p − z_c − 1 ≥ 0, so z_c < z_p: p is the first maximum. Padded samples have no
prediction and no label.

Counts: T_c = Σ_i y_c(i) = 2^b·ỹ_c(½, …, ½) (a claim on W at that point), and
K_c = Σ_i h_c(i)·y_c(i), one degree-2 sumcheck term per class in stage A. Both are public.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

from provers.errors import ProverError
from provers.field import base, ext
from provers.inference.batched import ProverTerm, TermShape
from provers.inference.claims import Request
from provers.inference.context import Context, Finals, TermSpec, lin, product, reject_identity
from provers.inference.layout import prefix_eq_sum
from provers.inference.plan import ARGMAX_NODE, ProofPlan, class_vector
from provers.sumcheck.combiners import product as product_combiner

VECTORS = ("index", "h", "y")


def predictions(logits: np.ndarray) -> np.ndarray:
    """The lowest index of a maximum of each row."""
    return np.asarray(np.argmax(np.asarray(logits), axis=1))


def counts(logits: np.ndarray, labels: np.ndarray, classes: int) -> tuple[np.ndarray, np.ndarray]:
    """(T, K): samples per label and correct predictions per label."""
    labels = np.asarray(labels, dtype=np.int64)
    correct = predictions(logits) == labels
    totals = np.bincount(labels, minlength=classes)
    hits = np.bincount(labels[correct], minlength=classes)
    return totals.astype(np.int64), hits.astype(np.int64)


def argmax_vectors(
    plan: ProofPlan | int, logits: np.ndarray, labels: np.ndarray
) -> dict[tuple[str, str], np.ndarray]:
    """The committed vectors of one chunk, padded over the batch axis (to the plan's padded
    batch, or to ``plan`` entries when it is a number)."""
    samples, classes = logits.shape
    padded = plan if isinstance(plan, int) else 1 << plan.layouts["input"].dims[0].log
    z = np.asarray(logits, dtype=np.int64)
    predicted = predictions(z)
    rows = np.arange(samples)
    maximum = z[rows, predicted]
    out: dict[tuple[str, str], np.ndarray] = {}
    for c in range(classes):
        h = (predicted == c).astype(np.int64)
        y = (labels == c).astype(np.int64)
        d = maximum - z[:, c] - (c < predicted).astype(np.int64)
        if d.size and (d.min() < 0 or d.max() > 255):
            raise ProverError("a logit difference leaves [0, 256): the logits are not int8")
        for name, values in zip(VECTORS, (d + 256 * h + 257 * y, h, y), strict=True):
            out[(class_vector(c), name)] = np.pad(values, (0, padded - samples))
    out[(ARGMAX_NODE, "m")] = np.pad(maximum, (0, padded - samples))
    return out


def half_point(num_vars: int) -> np.ndarray:
    half = (base.P + 1) // 2
    return np.asarray(ext.from_base(np.full(num_vars, half, dtype=np.int64)))


class ArgmaxRelation:
    """(A_c), (H), (S), (L) at ρ, the T_c claims, and the K_c terms of stage A."""

    def __init__(
        self,
        ctx: Context,
        point: np.ndarray,
        label_offset: int,
        totals: np.ndarray,
        hits: np.ndarray,
    ) -> None:
        self.ctx, self.point, self.label_offset = ctx, point, label_offset
        self.totals, self.hits = totals, hits
        plan = ctx.plan
        self.classes = plan.audit_classes
        self.samples = plan.layouts["input"].dims[0].real
        self.logits = plan.source(plan.model.output)
        self.class_log = plan.layouts[self.logits].dims[1].log

    def _block(self, c: int, vector: str) -> int:
        return self.ctx.plan.witness.block(class_vector(c), vector).offset

    def _class_bits(self, c: int) -> np.ndarray:
        bits = [(c >> (self.class_log - 1 - k)) & 1 for k in range(self.class_log)]
        coordinates = ext.from_base(np.asarray(bits, dtype=np.int64).reshape(self.class_log))
        return np.concatenate([self.point, np.asarray(coordinates)], axis=1)

    def requests(self) -> list[Request]:
        ctx, point = self.ctx, self.point
        out = []
        for c in range(self.classes):
            out += [ctx.vector_request(f"{v}{c}", class_vector(c), v, point) for v in VECTORS]
            out.append(ctx.request(f"z{c}", self.logits, self._class_bits(c)))
        out.append(ctx.vector_request("m", ARGMAX_NODE, "m", point))
        out.append(Request("label", "data", self.label_offset, point))
        return out

    def take_values(self, values: dict[str, np.ndarray]) -> None:
        valid = prefix_eq_sum(self.point, self.samples)
        h = [values[f"h{c}"] for c in range(self.classes)]
        y = [values[f"y{c}"] for c in range(self.classes)]
        later = np.asarray(ext.zero())
        for c in reversed(range(self.classes)):
            d = lin((1, values[f"index{c}"]), (-256, h[c]), (-257, y[c]))
            expected = lin((1, values["m"]), (-1, values[f"z{c}"]), (-1, later))
            reject_identity(ext.equal(d, expected), f"argmax: class {c}'s difference")
            later = np.asarray(ext.add(later, h[c]))
        reject_identity(ext.equal(later, valid), "argmax: one prediction per sample")
        reject_identity(ext.equal(lin(*((1, v) for v in y)), valid), "argmax: one label each")
        weighted = lin(*((c, y[c]) for c in range(self.classes)))
        reject_identity(ext.equal(weighted, values["label"]), "argmax: labels")
        self._claim_totals()

    def _claim_totals(self) -> None:
        num_vars = self.point.shape[1]
        scale = pow(pow(2, num_vars, base.P), base.P - 2, base.P)
        half = half_point(num_vars)
        for c in range(self.classes):
            value = ext.from_base(np.asarray([int(self.totals[c]) * scale % base.P]))[:, 0]
            self.ctx.sink.add_witness(self._block(c, "y"), half, np.asarray(value))

    # --- stage A: K_c = Σ_i h_c(i)·y_c(i) ------------------------------------------------------

    def terms_a(self) -> list[TermSpec]:
        num_vars = self.point.shape[1]
        specs = []
        for c in range(self.classes):
            claimed = np.asarray(ext.from_base(np.asarray([int(self.hits[c])]))[:, 0])
            specs.append(
                TermSpec(
                    TermShape(num_vars, 2, claimed),
                    2,
                    partial(self._evaluate, c),
                    partial(self._build, c, num_vars, claimed),
                    self._send,
                )
            )
        return specs

    def _evaluate(self, c: int, finals: Finals, point: np.ndarray) -> np.ndarray:
        h, y = finals
        self.ctx.sink.add_witness(self._block(c, "h"), point, h)
        self.ctx.sink.add_witness(self._block(c, "y"), point, y)
        return product(h, y)

    def _build(self, c: int, num_vars: int, claimed: np.ndarray, res: Any) -> ProverTerm:
        size = 1 << num_vars
        tables = [
            res.witness.table[self._block(c, v) : self._block(c, v) + size] for v in ("h", "y")
        ]
        return ProverTerm(TermShape(num_vars, 2, claimed), tables, product_combiner(2))

    def _send(self, table_finals: Finals, point: np.ndarray, res: Any) -> Finals:
        return [table_finals[0], table_finals[1]]

    def terms_b(self, transcript: Any) -> list[TermSpec]:
        return []

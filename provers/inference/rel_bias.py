"""Every layer's bias claim, proven by one term over the shared bias block.

Each matrix-product node states β_q = b_q(ρ_o^q), the MLE of its bias at its output-channel
point (:mod:`.rel_matmul`). With γ drawn after all of them, Σ_q γ_q·β_q = Σ_x E(x)·B(x) over
the bias block B of the weight table, E = Σ_q γ_q·eq(ρ_o^q, ·) placed at layer q's offset
(zero elsewhere): a degree-2 sumcheck in stage A ending at s with E(s)·B(s); the verifier
computes E(s) = Σ_q γ_q·eq(off_q, s_hi)·eq(ρ_o^q, s_lo) and B(s) becomes a weight claim whose
last c coordinates are stage A's, like every other weight claim. A false β_q survives the
combination with probability 1/|F|.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from provers.field import base, ext
from provers.inference.batched import ProverTerm, TermShape
from provers.inference.claims import eq_at
from provers.inference.context import Context, Finals, TermSpec, product
from provers.inference.rel_matmul import MatmulAccumulator
from provers.poly import multilinear
from provers.sumcheck.combiners import product as product_combiner
from provers.transcript import Transcript


def bias_terms(
    ctx: Context, layers: list[MatmulAccumulator], transcript: Transcript
) -> list[TermSpec]:
    if not layers:
        return []
    layout = ctx.plan.weights
    gammas = transcript.challenge_exts("bias/combination", len(layers))
    offsets = [layout.layer(m.node.name).bias_offset - layout.bias_offset for m in layers]
    claimed = np.asarray(ext.zero())
    for q, layer in enumerate(layers):
        claimed = np.asarray(ext.add(claimed, ext.mul(gammas[:, q], layer.bias_value)))
    shape = TermShape(layout.bias_log, 2, claimed)

    def evaluate(finals: Finals, point: np.ndarray) -> np.ndarray:
        weight = np.zeros(ext.DEGREE, dtype=np.int64)
        for q, layer in enumerate(layers):
            low = layer.rho_out.shape[1]
            high = eq_at(point[:, : layout.bias_log - low], offsets[q] >> low)
            local = multilinear.eq_eval(layer.rho_out, point[:, layout.bias_log - low :])
            weight = np.asarray(ext.add(weight, ext.mul(gammas[:, q], ext.mul(high, local))))
        value = finals[0]
        ctx.sink.add_weight(layout.bias_offset, layout.bias_log, point, value)
        return product(weight, value)

    def build(res: Any) -> ProverTerm:
        table = np.zeros((ext.DEGREE, 1 << layout.bias_log), dtype=np.int64)
        values = np.zeros(1 << layout.bias_log, dtype=np.int64)
        for q, layer in enumerate(layers):
            eq = multilinear.eq_table(layer.rho_out)
            window = slice(offsets[q], offsets[q] + eq.shape[1])
            table[:, window] = ext.add(table[:, window], ext.mul(eq, gammas[:, q : q + 1]))
            bias = res.weights.bias(layer.node.name)
            values[offsets[q] : offsets[q] + bias.shape[0]] = bias % base.P
        return ProverTerm(shape, [table, values], product_combiner(2))

    def send(table_finals: Finals, point: np.ndarray, res: Any) -> Finals:
        return [table_finals[1]]

    return [TermSpec(shape, 1, evaluate, build, send)]

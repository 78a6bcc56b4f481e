"""The prover of one fraction-tree layer's sumcheck, with eq(r, ·) kept out of the tables.

A layer sumcheck proves Σ_x eq(r, x)·F(x) = claim, F = q1·(p0 + λ·q0) + p1·q0 (or
q0 + q1·(1 + λ·q0) when the numerators are all one), a polynomial of degree 3 in each round.
Since eq(r, x) = Π_k e_k(x_k) with e_k(t) = (1 − r_k)(1 − t) + r_k·t, round i's message is
    g_i(t) = c_i·e_i(t)·h_i(t),   c_i = Π_{k<i} e_k(s_k),
    h_i(t) = Σ_{x'} eq(r_{>i}, x')·F(s_1, …, s_{i−1}, t, x'),
and h_i has degree 2 (Gruen, "Some improvements for the PIOP for ZeroCheck", 2024, §3). The
prover therefore computes only h_i(0) and the t² coefficient c_i of h_i, which is F's quadratic
part at the slopes hi − lo of the tables (no point 2·hi − lo to build, and with unit numerators
one product instead of a whole F): g_i(0) + g_i(1) = claim gives h_i(1), then
h_i(2) = 2·h_i(1) − h_i(0) + 2·c_i and h_i(3) = h_i(0) − 3·h_i(1) + 3·h_i(2). It never folds an
eq table: the tables eq(r_{>i}, ·) are the intermediate tables of one eq_table construction.

The messages g_i(0..3) are the same polynomials the generic sumcheck prover sends
(provers/sumcheck/prover.py), so proofs, transcripts and the verifier are unchanged; this is
only a cheaper way to compute them (one evaluation point and one table fewer per round).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from provers.errors import ProverError
from provers.field import base, ext
from provers.field.backend import Array, as_int64, concat, to_numpy
from provers.poly import univariate
from provers.sumcheck.folding import fold_ext
from provers.sumcheck.proof import SumcheckProof
from provers.sumcheck.transcript_steps import absorb_header, absorb_round
from provers.transcript import Transcript

DEGREE = 3
CHUNK = 1 << 15


def suffix_eq_tables(point: Array) -> list[Array]:
    """[eq(r_{>i}, ·) for i = 0..n−1]: entry i has 2^(n−i−1) values (the last is [1])."""
    n = point.shape[-1]
    table = ext.one(like=point)[:, None]
    tables = [table]
    for k in reversed(range(1, n)):
        hi = ext.mul(table, point[:, k])
        table = concat([ext.sub(table, hi), hi], axis=1)
        tables.append(table)
    tables.reverse()
    return tables


def _combine(values: Sequence[Array], lam: Array, unit: bool) -> Array:
    if unit:
        q0, q1 = values
        one = ext.one(like=q0).reshape(ext.DEGREE, 1)
        return ext.add(q0, ext.mul(q1, ext.add(one, ext.mul(q0, lam))))
    p0, p1, q0, q1 = values
    return ext.add(ext.mul(q1, ext.add(p0, ext.mul(q0, lam))), ext.mul(p1, q0))


def _leading(deltas: Sequence[Array], lam: Array, unit: bool) -> Array:
    """F's quadratic part at the slopes Δ = hi − lo, pointwise: the t² coefficient of
    F(lo + t·Δ). With unit numerators F = q0 + q1 + λ·q0·q1, so it is λ·Δq0·Δq1 (λ is applied
    by the caller, after the sum); otherwise F is a quadratic form and its part is F(Δ)."""
    if unit:
        return ext.mul(deltas[0], deltas[1])
    return _combine(deltas, lam, unit)


def _h_at_0_and_leading(
    tables: Sequence[Array], eq_rest: Array, lam: Array, unit: bool
) -> tuple[np.ndarray, np.ndarray]:
    """h(0) and h's t² coefficient: one evaluation point fewer than h(0), h(2), since the
    slopes' product needs no linear part."""
    half = tables[0].shape[1] // 2
    h0 = np.zeros(ext.DEGREE, dtype=np.int64)
    lead = np.zeros(ext.DEGREE, dtype=np.int64)
    for start in range(0, half, CHUNK):
        stop = min(half, start + CHUNK)
        lows = [t[:, start:stop] for t in tables]
        deltas = [
            base.sub(h, lo)
            for h, lo in zip((t[:, half + start : half + stop] for t in tables), lows, strict=True)
        ]
        weights = eq_rest[:, start:stop]
        h0 = ext.add(h0, to_numpy(ext.inner_product(weights, _combine(lows, lam, unit))))
        lead = ext.add(lead, to_numpy(ext.inner_product(weights, _leading(deltas, lam, unit))))
    if unit:
        lead = ext.mul(lead, to_numpy(lam).reshape(ext.DEGREE))
    return np.asarray(h0), np.asarray(lead)


def _h_at_2(h0: np.ndarray, h1: np.ndarray, lead: np.ndarray) -> np.ndarray:
    """h(2) = 2·h(1) − h(0) + 2·c for h(t) = h(0) + b·t + c·t²."""
    return np.asarray(ext.add(ext.sub(ext.scale(h1, 2), h0), ext.scale(lead, 2)))


def _h_at_1(claim: np.ndarray, scale: np.ndarray, r_i: np.ndarray, h0: np.ndarray) -> np.ndarray:
    """From claim = c·((1 − r_i)·h(0) + r_i·h(1))."""
    one_minus = ext.sub(ext.one(), r_i)
    rest = ext.sub(ext.mul(claim, ext.inv(scale)), ext.mul(one_minus, h0))
    return np.asarray(ext.mul(rest, ext.inv(r_i)))


def _direct_h_at_1(tables: Sequence[Array], eq_rest: Array, lam: Array, unit: bool) -> np.ndarray:
    half = tables[0].shape[1] // 2
    highs = [t[:, half:] for t in tables]
    return to_numpy(ext.inner_product(eq_rest, _combine(highs, lam, unit)))


def _message(scale: np.ndarray, r_i: np.ndarray, h: Sequence[np.ndarray]) -> np.ndarray:
    """g(0..3) = c·e(t)·h(t), e(t) = (1 − r_i) + t·(2·r_i − 1)."""
    h3 = ext.add(ext.sub(h[0], ext.scale(h[1], 3)), ext.scale(h[2], 3))
    e0 = ext.sub(ext.one(), r_i)
    slope = ext.sub(ext.add(r_i, r_i), ext.one())
    columns = []
    for t, value in enumerate((*h, h3)):
        e_t = ext.add(e0, ext.scale(slope, t))
        columns.append(ext.mul(ext.mul(scale, e_t), value))
    return np.stack(columns, axis=1)


def prove_layer(
    tables: Sequence[Array],
    point: np.ndarray,
    lam: np.ndarray,
    claimed_sum: np.ndarray,
    transcript: Transcript,
    label: str,
) -> tuple[SumcheckProof, np.ndarray, list[np.ndarray]]:
    """The layer sumcheck of Σ_x eq(point, x)·F(tables(x)) = claimed_sum.

    ``tables``: [q0, q1] (unit numerators) or [p0, p1, q0, q1], each (4, 2^n) challenge-field.
    Absorbs exactly what provers.sumcheck.prover.prove absorbs for the same statement with
    the tables [eq, *tables] and degree 3. Returns (proof, point s (4, n), the tables' values
    at s)."""
    unit = len(tables) == 2
    num_vars = point.shape[1]
    if num_vars == 0:
        raise ProverError("a layer sumcheck over zero variables has no rounds")
    like = tables[0]
    lam_like = as_int64(lam, like=like).reshape(ext.DEGREE, 1)
    eq_rests = suffix_eq_tables(as_int64(point, like=like))
    absorb_header(transcript, label, num_vars, DEGREE, claimed_sum)
    claim = np.asarray(claimed_sum, dtype=np.int64).reshape(ext.DEGREE)
    scale = ext.one()
    current = list(tables)
    messages, challenges = [], []
    for i in range(num_vars):
        r_i = np.ascontiguousarray(point[:, i])
        h0, lead = _h_at_0_and_leading(current, eq_rests[i], lam_like, unit)
        if ext.equal(r_i, ext.zero()) or ext.equal(scale, ext.zero()):
            h1 = _direct_h_at_1(current, eq_rests[i], lam_like, unit)
        else:
            h1 = _h_at_1(claim, scale, r_i, h0)
        message = _message(scale, r_i, (h0, h1, _h_at_2(h0, h1, lead)))
        messages.append(message)
        challenge = absorb_round(transcript, label, message)
        challenges.append(challenge)
        claim = to_numpy(univariate.evaluate(message, challenge))
        e_s = ext.add(
            ext.sub(ext.one(), ext.add(r_i, challenge)), ext.scale(ext.mul(r_i, challenge), 2)
        )
        scale = np.asarray(ext.mul(scale, e_s))
        current = [fold_ext(t, challenge, in_place=i > 0) for t in current]
    finals = [to_numpy(t)[:, 0].copy() for t in current]
    return SumcheckProof(np.stack(messages)), np.stack(challenges, axis=1), finals

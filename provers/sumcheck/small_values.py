"""Round 2 of a sumcheck over base-field tables without folding them first.

After round 1 fixes x_1 = r_1, every table would become a challenge-field table. Instead, since
f(r_1, t, x) is linear in r_1 and C has degree ≤ d, the summand C(f(r_1, t, x)) is a
polynomial of degree ≤ d in r_1, so
    g_2(t) = Σ_x C(f(r_1, t, x)) = Σ_{s=0..d} L_s(r_1) · S(s, t),   S(s, t) = Σ_x C(f(s, t, x)),
with L_s the Lagrange basis on the nodes 0..d. Every S(s, t) needs only the base-field tables at
integer points, so round 2 stays in 31-bit arithmetic, and afterwards both variables are fixed
in one pass (``folding.fold_base_twice``) — the challenge-field table of length 2^(n−1) is
never built. (The "small-value" optimisation, cf. Bagad, Domb, Thaler, "The Sum-Check Protocol
over Fields of Small Characteristic", 2024.)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from provers.field import base, ext
from provers.field.backend import Array
from provers.poly import univariate

CHUNK = 1 << 15


def _chunk_sums(
    tables: list[Array],
    combine_base: Callable[[list[Array]], Array],
    degree: int,
    start: int,
    stop: int,
) -> np.ndarray:
    """S(s, t) over columns start..stop of each quarter, a (d+1, d+1) array (t = 1 left 0)."""
    quarter = tables[0].shape[0] // 4
    sums = np.zeros((degree + 1, degree + 1), dtype=np.int64)
    quarters = [[t[q * quarter + start : q * quarter + stop] for q in range(4)] for t in tables]
    for t_value in [0, *range(2, degree + 1)]:
        # f(0, t, ·) and f(1, t, ·) from the quarters, then f(s, t, ·) by repeated addition.
        at_zero = [base.add(q[0], base.mul(base.sub(q[1], q[0]), t_value)) for q in quarters]
        at_one = [base.add(q[2], base.mul(base.sub(q[3], q[2]), t_value)) for q in quarters]
        steps = [base.sub(b, a) for a, b in zip(at_zero, at_one, strict=True)]
        current = at_zero
        for s in range(degree + 1):
            if s == 1:
                current = at_one
            elif s > 1:
                current = [base.add(c, d) for c, d in zip(current, steps, strict=True)]
            sums[s, t_value] = int(combine_base(current).sum()) % base.P
    return sums


def round_two_message(
    tables: list[Array],
    combine_base: Callable[[list[Array]], Array],
    degree: int,
    r_first: np.ndarray,
    claim: np.ndarray,
) -> np.ndarray:
    """g_2 at 0..d, a (4, d+1) array, from un-folded base tables and the challenge r_1;
    g_2(1) = claim − g_2(0)."""
    quarter = tables[0].shape[0] // 4
    sums = np.zeros((degree + 1, degree + 1), dtype=np.int64)
    for start in range(0, quarter, CHUNK):
        stop = min(quarter, start + CHUNK)
        sums = (sums + _chunk_sums(tables, combine_base, degree, start, stop)) % base.P
    message = np.zeros((ext.DEGREE, degree + 1), dtype=np.int64)
    for t_value in [0, *range(2, degree + 1)]:
        message[:, t_value] = univariate.evaluate(ext.from_base(sums[:, t_value]), r_first)
    message[:, 1] = ext.sub(claim, message[:, 0])
    return message

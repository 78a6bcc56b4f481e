"""Sumcheck prover (Lund–Fortnow–Karloff–Nisan 1992; Thaler, "Proofs, Arguments, and Zero
Knowledge", §4.1).

Statement: H = Σ_{x ∈ {0,1}^n} C(f_1(x), …, f_k(x)) for multilinear f_j given by their tables
and a polynomial C of total degree ≤ d. In round i (variables x_1 … x_{i−1} already fixed to the
challenges r_1 … r_{i−1}) the prover sends
    g_i(t) = Σ_{x ∈ {0,1}^{n−i}} C(f_1(r_1, …, r_{i−1}, t, x), …),   t = 0, …, d,
then folds every table with x_i = r_i. Because each f_j is multilinear in x_i,
f_j(…, t, x) = lo + t·(hi − lo) with lo, hi the two contiguous halves of the current table
(x_i is the most significant index bit), so the values at t = 0, 1, 2, … are lo, hi, hi + Δ, ….
The prover sends g_i(1) computed in round 1 only; later it uses g_i(1) = claim_i − g_i(0).

While every table is still a base-field table (round 1), the work stays in the base field when
the combiner offers ``combine_base``; tables become challenge-field tables after the first fold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from provers.errors import ProverError
from provers.field import base, ext
from provers.field.backend import Array, to_numpy
from provers.poly import multilinear, univariate
from provers.sumcheck.combiners import Combiner
from provers.sumcheck.folding import fold_base, fold_base_twice, fold_ext
from provers.sumcheck.proof import MAX_DEGREE, MAX_NUM_VARS, SumcheckProof
from provers.sumcheck.small_values import round_two_message
from provers.sumcheck.transcript_steps import STANDALONE_DOMAIN, absorb_header, absorb_round
from provers.transcript import Transcript

CHUNK = 1 << 15
"""Columns evaluated at a time: the temporaries of one chunk stay in the CPU cache."""


@dataclass
class SumcheckResult:
    """What the prover of a sumcheck hands back to the protocol that called it."""

    proof: SumcheckProof
    point: np.ndarray
    """(4, n): the challenges r_1, …, r_n, r_1 bound to the first (most significant) variable."""
    final_values: list[np.ndarray]
    """f_j(point) for each table, each a (4,) challenge-field element."""


def _is_base(table: Array) -> bool:
    return not multilinear.is_ext(table)


def _validate_tables(tables: list[Array], degree: int) -> int:
    if not tables:
        raise ProverError("sumcheck needs at least one table")
    if not 1 <= degree <= MAX_DEGREE:
        raise ProverError(f"degree {degree} outside 1..{MAX_DEGREE}")
    lengths = {multilinear.table_len(t) for t in tables}
    if len(lengths) != 1:
        raise ProverError(f"tables of different lengths {sorted(lengths)}")
    num_vars = multilinear.num_vars_of(lengths.pop())
    if num_vars > MAX_NUM_VARS:
        raise ProverError(f"{num_vars} variables, at most {MAX_NUM_VARS}")
    return num_vars


def _base_combiner(combine: Combiner) -> Callable[[list[Array]], Array] | None:
    """``combine_base`` when the combiner offers it (an attribute lookup: a runtime-checkable
    Protocol's isinstance costs tens of microseconds, paid every round)."""
    method = getattr(combine, "combine_base", None)
    return method if callable(method) else None


def _mixed_combiner(combine: Combiner) -> Callable[[list[Array]], Array] | None:
    method = getattr(combine, "combine_mixed", None)
    return method if callable(method) else None


def _chunk_sums(
    tables: list[Array], combine: Combiner, degree: int, start: int, stop: int, skip_one: bool
) -> np.ndarray:
    """Σ over columns start..stop of C at t = 0..d, as a (d+1, 4) array (row 1 zero if skipped)."""
    half = multilinear.table_len(tables[0]) // 2
    lows = [t[..., start:stop] for t in tables]
    highs = [t[..., half + start : half + stop] for t in tables]
    diffs = [base.sub(h, lo) for h, lo in zip(highs, lows, strict=True)]
    base_combine = _base_combiner(combine) if all(_is_base(t) for t in tables) else None
    mixed_combine = _mixed_combiner(combine)
    sums = np.zeros((degree + 1, ext.DEGREE), dtype=np.int64)
    current = lows
    for t in range(degree + 1):
        if t == 1:
            current = highs
        elif t > 1:
            current = [base.add(c, d) for c, d in zip(current, diffs, strict=True)]
        if t == 1 and skip_one:
            continue
        if base_combine is not None:
            sums[t, 0] = int(base_combine(current).sum()) % base.P
        elif mixed_combine is not None:
            sums[t] = to_numpy(ext.sum_(mixed_combine(current)))
        else:
            values = [c if c.ndim == 2 else ext.from_base(c) for c in current]
            sums[t] = to_numpy(ext.sum_(combine(values)))
    return sums


class SumcheckProverState:
    """The prover's side of the interactive protocol, one explicit step at a time."""

    def __init__(
        self, tables: list[Array], combine: Combiner, degree: int, claimed_sum: np.ndarray
    ) -> None:
        self.num_vars = _validate_tables(tables, degree)
        self.degree = degree
        self._tables = list(tables)
        self._combine = combine
        self._claim = np.asarray(claimed_sum, dtype=np.int64).reshape(ext.DEGREE)
        self._round = 0
        self._message: np.ndarray | None = None
        all_base = all(_is_base(t) for t in tables)
        self._base_combine = _base_combiner(combine) if all_base and self.num_vars >= 2 else None
        self._deferred_challenge: np.ndarray | None = None

    def _round_message(self) -> np.ndarray:
        skip_one = self._round > 0
        half = multilinear.table_len(self._tables[0]) // 2
        sums = np.zeros((self.degree + 1, ext.DEGREE), dtype=np.int64)
        for start in range(0, half, CHUNK):
            stop = min(half, start + CHUNK)
            chunk = _chunk_sums(self._tables, self._combine, self.degree, start, stop, skip_one)
            sums = (sums + chunk) % base.P
        message = np.ascontiguousarray(sums.T)
        if skip_one:
            message[:, 1] = ext.sub(self._claim, message[:, 0])
        elif not ext.equal(ext.add(message[:, 0], message[:, 1]), self._claim):
            raise ProverError("the claimed sum is not the sum of C over the cube")
        self._message = message
        return message.copy()

    def first_message(self) -> np.ndarray:
        """g_1 at 0..d, a (4, d+1) array. Raises ProverError when the claimed sum is false."""
        if self._round != 0 or self._message is not None:
            raise ProverError("first_message called twice")
        if self.num_vars == 0:
            raise ProverError("a sumcheck over zero variables has no rounds")
        return self._round_message()

    def receive_challenge(self, challenge: np.ndarray) -> np.ndarray | None:
        """Fix the current variable to ``challenge``; return the next round's message, or None
        after the last round."""
        if self._message is None or self._round >= self.num_vars:
            raise ProverError("no round is waiting for a challenge")
        r = np.asarray(challenge, dtype=np.int64).reshape(ext.DEGREE)
        self._claim = to_numpy(univariate.evaluate(self._message, r))
        self._message = None
        if self._round == 0 and self._base_combine is not None:
            # Round 2 from the base tables; both variables are fixed after the next challenge.
            self._deferred_challenge = r
            self._round = 1
            self._message = round_two_message(
                self._tables, self._base_combine, self.degree, r, self._claim
            )
            return self._message.copy()
        self._tables = self._folded(r)
        self._round += 1
        if self._round == self.num_vars:
            return None
        return self._round_message()

    def _folded(self, r: np.ndarray) -> list[Array]:
        if self._deferred_challenge is not None:
            first, self._deferred_challenge = self._deferred_challenge, None
            return [fold_base_twice(t, first, r) for t in self._tables]
        # Tables the caller passed in are never written; folded ones are ours to overwrite.
        return [
            fold_ext(t, r, in_place=self._round > 0) if multilinear.is_ext(t) else fold_base(t, r)
            for t in self._tables
        ]

    def final_values(self) -> list[np.ndarray]:
        """f_j(r_1, …, r_n) for every table, once every round has been answered."""
        if self._round != self.num_vars:
            raise ProverError("final_values asked before the last challenge")
        out = []
        for table in self._tables:
            value = to_numpy(table)
            out.append(value[:, 0].copy() if value.ndim == 2 else ext.from_base(value)[:, 0])
        return out


def prove(
    tables: list[Array],
    combine: Combiner,
    degree: int,
    claimed_sum: np.ndarray,
    transcript: Transcript,
    label: str = "sumcheck",
) -> SumcheckResult:
    """Prove Σ_{x∈{0,1}^n} C(f_1(x), …, f_k(x)) = claimed_sum inside an outer transcript.

    Absorbs, in order: ``label``, n, d, claimed_sum; then for each round i the message g_i
    (label ``{label}/round``) before drawing r_i (label ``{label}/challenge``).
    """
    state = SumcheckProverState(tables, combine, degree, claimed_sum)
    absorb_header(transcript, label, state.num_vars, degree, claimed_sum)
    messages: list[np.ndarray] = []
    challenges: list[np.ndarray] = []
    message = state.first_message() if state.num_vars else None
    while message is not None:
        messages.append(message)
        challenge = absorb_round(transcript, label, message)
        challenges.append(challenge)
        message = state.receive_challenge(challenge)
    round_polys = (
        np.stack(messages) if messages else np.zeros((0, ext.DEGREE, degree + 1), np.int64)
    )
    point = np.stack(challenges, axis=1) if challenges else np.zeros((ext.DEGREE, 0), np.int64)
    return SumcheckResult(SumcheckProof(round_polys), point, state.final_values())


def prove_standalone(
    tables: list[Array], combine: Combiner, degree: int, claimed_sum: np.ndarray
) -> SumcheckResult:
    """Non-interactive sumcheck on its own transcript, domain ``veriml/sumcheck/v1``."""
    return prove(tables, combine, degree, claimed_sum, Transcript(STANDALONE_DOMAIN))

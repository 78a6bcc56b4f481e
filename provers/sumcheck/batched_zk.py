"""A batched masked sumcheck whose only stated sums are public group totals.

Terms H_q = Σ_{y∈{0,1}^{k_q}} C_q(f_q(y)) of different sizes and degrees, each in a group g(q).
The statement gives only the group totals c_g = Σ_{q∈g} H_q (public numbers, often 0): a term's
own sum is usually a function of private data and must never be sent. Relations whose checks
meet in one public total are written as one group (a requantised matrix product: the matrix
term, minus the requantisation term, equals a constant of the circuit).

Batching. K = max k_q, D = max d_q. Term q is read as a function of K variables that ignores
the first K − k_q and is scaled by 2^−(K−k_q), so its sum over {0,1}^K is exactly H_q. With λ_g
drawn after the group totals are absorbed, one sumcheck of degree D over K variables proves
Σ_q λ_{g(q)}·2^−(K−k_q)·C_q = Σ_g λ_g·c_g (the first K − k_q rounds of term q contribute the
constant H_q/2^(i+1) in round i; afterwards its own messages, scaled). Term q ends on the last
k_q challenges, so every term's final point is a suffix of one point. The rounds are masked by
:func:`provers.sumcheck.zk.prove_zk_state`.

Soundness: a false group total survives the λ-combination with probability 1/|F|; the masked
sumcheck errs with probability ≤ (K·max(D, 3) + 1)/|F|. Zero knowledge: the sent values are
the public totals and the masked rounds (simulatable given the claim and the final value,
:mod:`provers.sumcheck.zk`); the final value is Σ_q λ_{g(q)}·2^−(K−k_q)·C_q(f_q(r_q)), which the
caller must make allowed leakage (claims on masked, doubled vectors).

Transcript: ``{label}/groups`` (count), each group's total, each term's (k_q, d_q, group), λ
(``{label}/lambda``), then the masked sumcheck under ``label``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from provers.errors import ProverError, Reject, VerificationError
from provers.field import base, ext
from provers.field.backend import Array
from provers.poly import multilinear, univariate
from provers.sumcheck.combiners import Combiner
from provers.sumcheck.prover import SumcheckProverState
from provers.sumcheck.zk import MaskCommitmentScheme, ZkSumcheckProof, prove_zk_state, verify_zk
from provers.transcript import Transcript

MAX_TERMS = 1 << 12
MAX_GROUPS = 1 << 12


@dataclass(frozen=True)
class ZkTermShape:
    """What both sides know of a term: variables, degree, group."""

    num_vars: int
    degree: int
    group: int


@dataclass
class ZkProverTerm:
    shape: ZkTermShape
    tables: list[Array]
    combiner: Combiner


def _absorb(
    transcript: Transcript,
    label: str,
    shapes: Sequence[ZkTermShape],
    totals: np.ndarray,
) -> np.ndarray:
    if not 1 <= len(shapes) <= MAX_TERMS:
        raise VerificationError(Reject.LENGTH_OUT_OF_BOUNDS, f"{label}: {len(shapes)} terms")
    groups = totals.shape[1]
    if not 1 <= groups <= MAX_GROUPS or totals.shape != (ext.DEGREE, groups):
        raise VerificationError(Reject.LENGTH_OUT_OF_BOUNDS, f"{label}: bad group totals")
    if any(not 0 <= shape.group < groups for shape in shapes):
        raise VerificationError(Reject.MALFORMED, f"{label}: a term names an unknown group")
    transcript.absorb_int(f"{label}/groups", groups)
    transcript.absorb_ext(f"{label}/totals", totals)
    for shape in shapes:
        transcript.absorb_ints(f"{label}/term", [shape.num_vars, shape.degree, shape.group])
    return transcript.challenge_exts(f"{label}/lambda", groups)


def _claim(totals: np.ndarray, lambdas: np.ndarray) -> np.ndarray:
    total = ext.zero()
    for g in range(totals.shape[1]):
        total = ext.add(total, ext.mul(lambdas[:, g], totals[:, g]))
    return np.asarray(total)


def _weights(shapes: Sequence[ZkTermShape], lambdas: np.ndarray, num_vars: int) -> np.ndarray:
    """λ_{g(q)}·2^−(K−k_q) per term, (4, terms)."""
    out = np.zeros((ext.DEGREE, len(shapes)), dtype=np.int64)
    for q, shape in enumerate(shapes):
        scale = pow(pow(2, num_vars - shape.num_vars, base.P), base.P - 2, base.P)
        out[:, q] = ext.scale(lambdas[:, shape.group], scale)
    return out


def _term_sum(term: ZkProverTerm) -> np.ndarray:
    """H_q, computed by the prover (it is never sent)."""
    values = [t if multilinear.is_ext(t) else ext.from_base(np.asarray(t)) for t in term.tables]
    return np.asarray(ext.sum_(term.combiner(values)))


class BatchedState:
    """The rounds of Σ_q w_q·C_q over K variables, one step at a time (``RoundState``)."""

    def __init__(self, terms: Sequence[ZkProverTerm], weights: np.ndarray) -> None:
        self.terms = list(terms)
        self.weights = weights
        self.num_vars = max(term.shape.num_vars for term in terms)
        self.degree = max(term.shape.degree for term in terms)
        self.sums = [_term_sum(term) for term in terms]
        self.states = [
            SumcheckProverState(term.tables, term.combiner, term.shape.degree, total)
            for term, total in zip(terms, self.sums, strict=True)
        ]
        self.pending: list[np.ndarray | None] = [None] * len(terms)
        self.round = 0

    def _message(self) -> np.ndarray:
        message = np.zeros((ext.DEGREE, self.degree + 1), dtype=np.int64)
        for q, (term, state) in enumerate(zip(self.terms, self.states, strict=True)):
            start = self.num_vars - term.shape.num_vars
            if self.round < start:
                # The constant phase: the scaled term contributes w_q·2^(K−k_q−i−1)·H_q.
                value = ext.scale(self.sums[q], pow(2, start - self.round - 1, base.P))
                part = np.repeat(np.asarray(value)[:, None], self.degree + 1, axis=1)
            else:
                own = state.first_message() if self.round == start else self.pending[q]
                if own is None:
                    raise ProverError(f"term {q} has no round message")
                part = univariate.extend(own, self.degree)
            message = np.asarray(ext.add(message, ext.mul(part, self.weights[:, q : q + 1])))
        return message

    def first_message(self) -> np.ndarray:
        return self._message()

    def receive_challenge(self, challenge: np.ndarray) -> np.ndarray | None:
        for q, (term, state) in enumerate(zip(self.terms, self.states, strict=True)):
            if self.round >= self.num_vars - term.shape.num_vars:
                self.pending[q] = state.receive_challenge(challenge)
        self.round += 1
        return None if self.round == self.num_vars else self._message()

    def final_values(self) -> list[list[np.ndarray]]:
        return [state.final_values() for state in self.states]


def prove(
    terms: Sequence[ZkProverTerm],
    totals: np.ndarray,
    transcript: Transcript,
    scheme: MaskCommitmentScheme | None = None,
    rng: np.random.Generator | None = None,
    label: str = "zk_batched",
) -> tuple[ZkSumcheckProof, np.ndarray, list[list[np.ndarray]]]:
    """(proof, point (4, K), every term's table values at its suffix of the point).

    ``totals`` (4, groups) are the public group sums; the prover refuses a false one."""
    if not terms:
        raise ProverError("a batched sumcheck needs at least one term")
    shapes = [term.shape for term in terms]
    totals = np.asarray(totals, dtype=np.int64)
    lambdas = _absorb(transcript, label, shapes, totals)
    num_vars = max(shape.num_vars for shape in shapes)
    state = BatchedState(terms, _weights(shapes, lambdas, num_vars))
    for g in range(totals.shape[1]):
        members = [state.sums[q] for q, shape in enumerate(shapes) if shape.group == g]
        actual = ext.zero()
        for value in members:
            actual = ext.add(actual, value)
        if not ext.equal(actual, totals[:, g]):
            raise ProverError(f"{label}: group {g} does not sum to its stated total")
    degree = state.degree
    proof, point = prove_zk_state(
        state, degree, _claim(totals, lambdas), transcript, scheme, rng, label
    )
    return proof, point, state.final_values()


def verify(
    proof: ZkSumcheckProof,
    shapes: Sequence[ZkTermShape],
    totals: np.ndarray,
    transcript: Transcript,
    scheme: MaskCommitmentScheme | None = None,
    label: str = "zk_batched",
) -> tuple[np.ndarray, np.ndarray]:
    """(point (4, K), the weights w_q = λ_{g(q)}·2^−(K−k_q) (4, terms)); the caller checks
    :func:`check_final` with each term's C_q at its point."""
    totals = np.asarray(totals, dtype=np.int64)
    lambdas = _absorb(transcript, label, shapes, totals)
    num_vars = max(shape.num_vars for shape in shapes)
    degree = max(shape.degree for shape in shapes)
    point, expected = verify_zk(
        proof, num_vars, degree, _claim(totals, lambdas), transcript, scheme, label
    )
    return point, np.concatenate([_weights(shapes, lambdas, num_vars), expected[:, None]], axis=1)


def check_final(weights_and_expected: np.ndarray, values: Sequence[np.ndarray], label: str) -> None:
    """Σ_q w_q·C_q(f_q(r_q)) must equal the masked sumcheck's final value."""
    weights, expected = weights_and_expected[:, :-1], weights_and_expected[:, -1]
    if len(values) != weights.shape[1]:
        raise VerificationError(Reject.LENGTH_OUT_OF_BOUNDS, f"{label}: one value per term")
    total = ext.zero()
    for q, value in enumerate(values):
        total = ext.add(total, ext.mul(weights[:, q], value))
    if not ext.equal(total, expected):
        raise VerificationError(
            Reject.FINAL_EVALUATION_MISMATCH, f"{label}: the terms' final values do not add up"
        )


def suffix(point: np.ndarray, num_vars: int) -> np.ndarray:
    """A term's point: the last ``num_vars`` challenges."""
    return point[:, point.shape[1] - num_vars :]

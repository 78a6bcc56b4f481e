"""One sumcheck for many sums of different sizes and degrees (batched, aligned at the end).

Terms H_q = Σ_{y ∈ {0,1}^{k_q}} C_q(f_q(y)), K = max k_q, D = max deg C_q. Term q is read as a
function of K variables that ignores the first K − k_q, so its sum over {0,1}^K is 2^(K−k_q)·H_q.
With λ drawn after every H_q is absorbed, the prover runs one sumcheck of degree D over K
variables for Σ_q λ_q·2^(K−k_q)·H_q: in round i ≤ K − k_q term q contributes the constant
2^(K−k_q−i)·H_q, afterwards its own round polynomial (extended from degree d_q to D by
evaluation). Term q's final point is the last k_q challenges, so every term ends on a suffix of
one point: weight claims of different layers share their last coordinates.

Soundness: if some H_q is false, Σ λ_q·2^(K−k_q)·H_q is false except with probability
1/|F| over λ (one linear relation), and the sumcheck errs with probability ≤ K·D/|F|.
Transcript: ``label`` (via the sumcheck header), the term count, each term's (k_q, d_q, H_q),
λ (``{label}/lambda``), then the sumcheck rounds (:mod:`provers.sumcheck.transcript_steps`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from provers.errors import ProverError, Reject, VerificationError
from provers.field import ext
from provers.field.backend import Array
from provers.poly import univariate
from provers.sumcheck import verifier as sumcheck_verifier
from provers.sumcheck.combiners import Combiner
from provers.sumcheck.proof import SumcheckProof
from provers.sumcheck.prover import SumcheckProverState
from provers.sumcheck.transcript_steps import absorb_header, absorb_round
from provers.transcript import Transcript


@dataclass(frozen=True)
class TermShape:
    """What both sides know of a term: variables, degree and claimed sum."""

    num_vars: int
    degree: int
    claimed_sum: np.ndarray


@dataclass
class ProverTerm:
    shape: TermShape
    tables: list[Array]
    combiner: Combiner


def _absorb_terms(transcript: Transcript, label: str, shapes: Sequence[TermShape]) -> np.ndarray:
    transcript.absorb_int(f"{label}/terms", len(shapes))
    for shape in shapes:
        transcript.absorb_ints(f"{label}/term", [shape.num_vars, shape.degree])
        transcript.absorb_ext(f"{label}/term_sum", shape.claimed_sum)
    return transcript.challenge_exts(f"{label}/lambda", len(shapes))


def batched_claim(shapes: Sequence[TermShape], lambdas: np.ndarray) -> tuple[int, int, np.ndarray]:
    """(K, D, Σ λ_q·2^(K−k_q)·H_q)."""
    num_vars = max(shape.num_vars for shape in shapes)
    degree = max(shape.degree for shape in shapes)
    total = ext.zero()
    for q, shape in enumerate(shapes):
        scaled = ext.scale(shape.claimed_sum, pow(2, num_vars - shape.num_vars, ext.P))
        total = ext.add(total, ext.mul(lambdas[:, q], scaled))
    return num_vars, degree, np.asarray(total)


def prove_batched(
    terms: Sequence[ProverTerm], transcript: Transcript, label: str
) -> tuple[SumcheckProof, np.ndarray, list[list[np.ndarray]]]:
    """Run the batched sumcheck; (proof, point (4, K), every term's table values at its point)."""
    shapes = [term.shape for term in terms]
    lambdas = _absorb_terms(transcript, label, shapes)
    num_vars, degree, claim = batched_claim(shapes, lambdas)
    states = [
        SumcheckProverState(term.tables, term.combiner, term.shape.degree, term.shape.claimed_sum)
        for term in terms
    ]
    pending: list[np.ndarray | None] = [None] * len(terms)
    absorb_header(transcript, label, num_vars, degree, claim)
    messages, challenges = [], []
    for round_index in range(num_vars):
        message = np.zeros((ext.DEGREE, degree + 1), dtype=np.int64)
        for q, (shape, state) in enumerate(zip(shapes, states, strict=True)):
            start = num_vars - shape.num_vars
            if round_index < start:
                value = ext.scale(shape.claimed_sum, pow(2, start - round_index - 1, ext.P))
                part = np.repeat(np.asarray(value)[:, None], degree + 1, axis=1)
            else:
                own = state.first_message() if round_index == start else pending[q]
                if own is None:
                    raise ProverError(f"{label}: term {q} has no round message")
                part = univariate.extend(own, degree)
            message = np.asarray(ext.add(message, ext.mul(part, lambdas[:, q : q + 1])))
        messages.append(message)
        challenge = absorb_round(transcript, label, message)
        challenges.append(challenge)
        for q, (shape, state) in enumerate(zip(shapes, states, strict=True)):
            if round_index >= num_vars - shape.num_vars:
                pending[q] = state.receive_challenge(challenge)
    point = np.stack(challenges, axis=1) if challenges else np.zeros((ext.DEGREE, 0), np.int64)
    rounds = np.stack(messages) if messages else np.zeros((0, ext.DEGREE, degree + 1), np.int64)
    finals = [state.final_values() for state in states]
    return SumcheckProof(rounds), point, finals


def verify_batched(
    proof: SumcheckProof, shapes: Sequence[TermShape], transcript: Transcript, label: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check the rounds; (point (4, K), λ (4, terms), the claim Σ_q λ_q·C_q(f_q(point_q)) must
    equal). The caller evaluates each C_q from the prover's finals and calls
    :func:`check_final`."""
    lambdas = _absorb_terms(transcript, label, shapes)
    num_vars, degree, claim = batched_claim(shapes, lambdas)
    point, expected = sumcheck_verifier.verify(proof, num_vars, degree, claim, transcript, label)
    return point, lambdas, expected


def check_final(
    expected: np.ndarray, values: Sequence[np.ndarray], lambdas: np.ndarray, label: str
) -> None:
    """Σ_q λ_q·values[q] must equal the sumcheck's last claim."""
    total = ext.zero()
    for q, value in enumerate(values):
        total = ext.add(total, ext.mul(lambdas[:, q], value))
    if not ext.equal(expected, total):
        raise VerificationError(
            Reject.FINAL_EVALUATION_MISMATCH, f"{label}: the terms' final values do not add up"
        )

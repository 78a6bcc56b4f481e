"""Sumcheck verifier (Lund–Fortnow–Karloff–Nisan 1992; Thaler, "Proofs, Arguments, and Zero
Knowledge", §4.1).

Running claim c_0 = H. Round i: receive g_i at 0..d, check g_i(0) + g_i(1) = c_{i−1}, draw r_i,
set c_i = g_i(r_i). After n rounds the statement is reduced to c_n = C(f_1(r), …, f_k(r)),
which the caller checks with its own openings or claims (``check_final_evaluation``). A false
statement passes with probability ≤ n·d / |F| (Schwartz–Zippel per round), |F| ≈ 2^124.
"""

from __future__ import annotations

import numpy as np

from provers.errors import Reject, VerificationError
from provers.field import base, ext
from provers.poly import univariate
from provers.sumcheck.proof import SumcheckProof, check_shape_parameters
from provers.sumcheck.transcript_steps import STANDALONE_DOMAIN, absorb_header, absorb_round
from provers.transcript import Transcript


def _as_element(value: object, what: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.int64)
    except (TypeError, ValueError, OverflowError) as exc:
        raise VerificationError(Reject.MALFORMED, f"{what} is not an integer array") from exc
    if arr.shape != (ext.DEGREE,):
        raise VerificationError(Reject.MALFORMED, f"{what} has shape {arr.shape}, expected (4,)")
    if not base.is_canonical(arr):
        raise VerificationError(Reject.NON_CANONICAL_FIELD_ELEMENT, f"{what} is not below p")
    return arr


class SumcheckVerifierState:
    """The verifier's side of the interactive protocol, one explicit step at a time."""

    def __init__(self, num_vars: int, degree: int, claimed_sum: np.ndarray) -> None:
        check_shape_parameters(num_vars, degree)
        self.num_vars = num_vars
        self.degree = degree
        self._claim = _as_element(claimed_sum, "claimed sum")
        self._challenges: list[np.ndarray] = []
        self._message: np.ndarray | None = None

    def receive(self, message: np.ndarray) -> None:
        """Take round i's message; reject unless it has d + 1 values and g(0) + g(1) = claim."""
        if self._message is not None:
            raise VerificationError(Reject.MALFORMED, "two messages without a challenge")
        if len(self._challenges) >= self.num_vars:
            raise VerificationError(
                Reject.ROUND_COUNT_MISMATCH, f"more than {self.num_vars} round messages"
            )
        arr = np.asarray(message, dtype=np.int64)
        if arr.ndim != 2 or arr.shape[0] != ext.DEGREE:
            raise VerificationError(Reject.MALFORMED, f"round message of shape {arr.shape}")
        if arr.shape[1] != self.degree + 1:
            raise VerificationError(
                Reject.ROUND_DEGREE_MISMATCH,
                f"round {len(self._challenges)}: {arr.shape[1]} values, expected {self.degree + 1}",
            )
        if not base.is_canonical(arr):
            raise VerificationError(Reject.NON_CANONICAL_FIELD_ELEMENT, "round message ≥ p")
        if not ext.equal(ext.add(arr[:, 0], arr[:, 1]), self._claim):
            raise VerificationError(
                Reject.ROUND_SUM_MISMATCH,
                f"round {len(self._challenges)}: g(0) + g(1) differs from the running claim",
            )
        self._message = arr

    def set_challenge(self, challenge: np.ndarray) -> None:
        """Fix the current variable to ``challenge``; the claim becomes g_i(challenge)."""
        if self._message is None:
            raise VerificationError(Reject.MALFORMED, "a challenge before the round message")
        r = _as_element(challenge, "challenge")
        self._claim = univariate.evaluate(self._message, r)
        self._challenges.append(r)
        self._message = None

    @property
    def running_claim(self) -> np.ndarray:
        """The claim the next round message must sum to (the claimed sum before round 1)."""
        return self._claim.copy()

    def final_claim(self) -> tuple[np.ndarray, np.ndarray]:
        """(point (4, n), expected C(f_1(point), …)) once all n rounds are done."""
        if len(self._challenges) != self.num_vars or self._message is not None:
            raise VerificationError(
                Reject.ROUND_COUNT_MISMATCH,
                f"{len(self._challenges)} rounds finished, expected {self.num_vars}",
            )
        if self._challenges:
            point = np.stack(self._challenges, axis=1)
        else:
            point = np.zeros((ext.DEGREE, 0), dtype=np.int64)
        return point, self._claim.copy()


def _check_proof_shape(proof: SumcheckProof, num_vars: int, degree: int) -> None:
    polys = proof.round_polys
    if not isinstance(polys, np.ndarray) or polys.ndim != 3 or polys.shape[1] != ext.DEGREE:
        raise VerificationError(Reject.MALFORMED, "round polynomials of the wrong shape")
    if polys.shape[0] != num_vars:
        raise VerificationError(
            Reject.ROUND_COUNT_MISMATCH, f"{polys.shape[0]} rounds, expected {num_vars}"
        )
    if polys.shape[2] != degree + 1:
        raise VerificationError(
            Reject.ROUND_DEGREE_MISMATCH,
            f"{polys.shape[2]} values per round, expected {degree + 1}",
        )


def verify(
    proof: SumcheckProof,
    num_vars: int,
    degree: int,
    claimed_sum: np.ndarray,
    transcript: Transcript,
    label: str = "sumcheck",
) -> tuple[np.ndarray, np.ndarray]:
    """Check a sumcheck proof inside an outer transcript; return (point, expected final value).

    Absorbs, in order: ``label``, n, d, claimed_sum; then for each round i the message g_i
    (label ``{label}/round``) before drawing r_i (label ``{label}/challenge``) — exactly what
    :func:`provers.sumcheck.prover.prove` absorbs. The caller must then check that the expected
    value equals C(f_1(point), …, f_k(point)).
    """
    state = SumcheckVerifierState(num_vars, degree, claimed_sum)
    _check_proof_shape(proof, num_vars, degree)
    absorb_header(transcript, label, num_vars, degree, state.running_claim)
    for message in proof.round_polys:
        try:
            state.receive(message)
        except VerificationError as error:
            raise VerificationError(error.reason, f"{label}: {error.detail}") from None
        state.set_challenge(absorb_round(transcript, label, message))
    return state.final_claim()


def check_final_evaluation(expected: np.ndarray, actual: np.ndarray, what: str = "") -> None:
    """The caller's last step: C(f_1(point), …) computed from openings must equal ``expected``."""
    if not ext.equal(np.asarray(expected, np.int64), np.asarray(actual, np.int64)):
        raise VerificationError(
            Reject.FINAL_EVALUATION_MISMATCH,
            f"{what or 'sumcheck'}: C(f(point)) differs from the final round's claim",
        )


def verify_standalone(
    proof: SumcheckProof, num_vars: int, degree: int, claimed_sum: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Verify a proof made by ``prove_standalone`` (its own transcript, same domain)."""
    return verify(proof, num_vars, degree, claimed_sum, Transcript(STANDALONE_DOMAIN))

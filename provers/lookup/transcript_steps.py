"""The lookup's transcript operations, shared by prover and verifier so the two cannot drift.

Order: statement (table identity, L, n), the caller's witness commitment, the multiplicity
commitment; then α (and β for tables of two columns); both roots; per tree and per layer λ,
the layer's sumcheck, the child claims, μ; finally the leaf evaluation claims.
"""

from __future__ import annotations

import numpy as np

from provers.field import ext
from provers.lookup.statement import LookupStatement
from provers.transcript import Transcript

LABEL = "lookup"


def absorb_statement(
    transcript: Transcript,
    statement: LookupStatement,
    witness_commitment: bytes,
    multiplicity_commitment: bytes,
) -> None:
    transcript.absorb_bytes(f"{LABEL}/statement", statement.descriptor())
    transcript.absorb_bytes(f"{LABEL}/witness_commitment", witness_commitment)
    transcript.absorb_bytes(f"{LABEL}/multiplicity_commitment", multiplicity_commitment)


def draw_compression(transcript: Transcript, width: int) -> tuple[np.ndarray, np.ndarray]:
    """α, and β for folding a row of two columns into one value (β = 0 for one column)."""
    alpha = transcript.challenge_ext(f"{LABEL}/alpha")
    beta = transcript.challenge_ext(f"{LABEL}/beta") if width > 1 else ext.zero()
    return alpha, beta


def absorb_roots(transcript: Transcript, witness_root: np.ndarray, table_root: np.ndarray) -> None:
    transcript.absorb_ext(f"{LABEL}/witness_root", witness_root)
    transcript.absorb_ext(f"{LABEL}/table_root", table_root)


def draw_batching(transcript: Transcript, tree_label: str) -> np.ndarray:
    """λ, which batches the numerator and denominator claims of one layer."""
    return transcript.challenge_ext(f"{tree_label}/lambda")


def absorb_child_claims(transcript: Transcript, tree_label: str, claims: np.ndarray) -> np.ndarray:
    """Absorb one layer's four child claims and return μ, the fold challenge."""
    transcript.absorb_ext(f"{tree_label}/child_claims", claims)
    return transcript.challenge_ext(f"{tree_label}/fold")


def absorb_leaf_claims(
    transcript: Transcript, witness_values: np.ndarray, multiplicity_value: np.ndarray
) -> None:
    transcript.absorb_ext(f"{LABEL}/witness_evaluations", witness_values)
    transcript.absorb_ext(f"{LABEL}/multiplicity_evaluation", multiplicity_value)


def fold_claims(claims: np.ndarray, mu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(p(μ, s), q(μ, s)) from p(0, s), p(1, s), q(0, s), q(1, s): a line through two values."""
    numerator = ext.add(claims[:, 0], ext.mul(ext.sub(claims[:, 1], claims[:, 0]), mu))
    denominator = ext.add(claims[:, 2], ext.mul(ext.sub(claims[:, 3], claims[:, 2]), mu))
    return numerator, denominator


def layer_polynomial(claims: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """p0·q1 + p1·q0 + λ·q0·q1 at the four child claims."""
    p0, p1, q0, q1 = (claims[:, t] for t in range(4))
    numerator = ext.add(ext.mul(p0, q1), ext.mul(p1, q0))
    return np.asarray(ext.add(numerator, ext.mul(lam, ext.mul(q0, q1))))


def tree_labels() -> tuple[str, str]:
    return f"{LABEL}/witness", f"{LABEL}/table"

"""The transcript operations of a sumcheck, shared by prover and verifier so they cannot drift.

Header: ``label`` under "sumcheck", then n, d and the claimed sum under ``{label}/…``.
Round i: absorb g_i's d + 1 values under ``{label}/round``, then draw r_i from
``{label}/challenge``.
"""

from __future__ import annotations

import numpy as np

from provers.field import ext
from provers.transcript import Transcript

STANDALONE_DOMAIN = "veriml/sumcheck/v1"
"""Domain separator of the transcript that ``prove_standalone``/``verify_standalone`` make."""


def absorb_header(
    transcript: Transcript, label: str, num_vars: int, degree: int, claimed_sum: np.ndarray
) -> None:
    transcript.absorb_bytes("sumcheck", label.encode())
    transcript.absorb_int(f"{label}/num_vars", num_vars)
    transcript.absorb_int(f"{label}/degree", degree)
    transcript.absorb_ext(
        f"{label}/claimed_sum", np.asarray(claimed_sum, dtype=np.int64).reshape(ext.DEGREE)
    )


def absorb_round(transcript: Transcript, label: str, message: np.ndarray) -> np.ndarray:
    """Absorb one round message and return that round's challenge (4,)."""
    transcript.absorb_ext(f"{label}/round", message)
    return transcript.challenge_ext(f"{label}/challenge")

"""The transcript steps of an audit that prover and verifier share (domain
``veriml/audit/v1``): the statement and parameters, then each chunk's header."""

from __future__ import annotations

import numpy as np

from provers.commit.pcs import Commitment
from provers.inference.plan import ProofPlan
from provers.transcript import Transcript

DOMAIN = "veriml/audit/v1"


def start_transcript(statement_digest: bytes, parameters: bytes) -> Transcript:
    transcript = Transcript(DOMAIN)
    transcript.absorb_bytes("statement", statement_digest)
    transcript.absorb_bytes("parameters", parameters)
    return transcript


def chunk_header(
    transcript: Transcript,
    index: int,
    plan: ProofPlan,
    data_commitment: Commitment,
    totals: np.ndarray,
    hits: np.ndarray,
) -> None:
    transcript.absorb_ints("chunk", [index, plan.batch, plan.limb_bits])
    transcript.absorb_bytes("chunk/data", data_commitment.to_bytes())
    transcript.absorb_ints("chunk/totals", [int(v) for v in totals])
    transcript.absorb_ints("chunk/hits", [int(v) for v in hits])

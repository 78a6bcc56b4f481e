"""The transcript operations of an opening, shared by prover and verifier so they cannot drift.

Order: the commitments (count, then each encoding) under "pcs/commitments"; each request's tree
index, point and claimed values; the ticket of every hiding tree; the mask evaluations of every
tree (hiding trees); then α, one
weight per claim; every tree's evaluation rows; per tree, γ then its proximity row; per tree,
the column queries (distinct positions).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from provers.commit.pcs.layout import num_proximity_weights
from provers.commit.pcs.proof import Commitment
from provers.transcript import Transcript


def absorb_statement(
    transcript: Transcript,
    commitments: Sequence[Commitment],
    requests: Sequence[tuple[int, np.ndarray, np.ndarray]],
) -> None:
    """Commitments, then (tree index, point (4, m), values (4, L)) of every request."""
    transcript.absorb_int("pcs/commitments", len(commitments))
    for commitment in commitments:
        transcript.absorb_bytes("pcs/commitment", commitment.to_bytes())
    transcript.absorb_int("pcs/requests", len(requests))
    for tree_index, point, values in requests:
        transcript.absorb_int("pcs/request-tree", tree_index)
        transcript.absorb_ext("pcs/point", point)
        transcript.absorb_ext("pcs/values", values)


def absorb_tickets(
    transcript: Transcript, commitments: Sequence[Commitment], tickets: Sequence[int | None]
) -> None:
    """The ticket each hiding tree's opening consumes, before any challenge depends on it."""
    for commitment, ticket in zip(commitments, tickets, strict=True):
        if commitment.hiding and ticket is not None:
            transcript.absorb_int("pcs/ticket", ticket)


def absorb_mask_evaluations(
    transcript: Transcript, mask_evaluations: Sequence[np.ndarray], num_claims: int
) -> np.ndarray:
    """Absorb every tree's σ's and draw α (4, num_claims), one weight per claimed value."""
    for sigmas in mask_evaluations:
        transcript.absorb_ext("pcs/mask-evaluations", sigmas)
    return transcript.challenge_exts("pcs/claim-weights", num_claims)


def absorb_evaluation_rows(transcript: Transcript, rows_per_tree: Sequence[np.ndarray]) -> None:
    for rows in rows_per_tree:
        transcript.absorb_ext("pcs/evaluation-rows", rows)


def draw_proximity_weights(transcript: Transcript, commitment: Commitment) -> np.ndarray:
    return transcript.challenge_exts("pcs/proximity-weights", num_proximity_weights(commitment))


def absorb_proximity_row(transcript: Transcript, row: np.ndarray) -> None:
    transcript.absorb_ext("pcs/proximity-row", row)


def num_queries(commitment: Commitment) -> int:
    return min(commitment.params.num_queries, commitment.codeword_len)


def draw_queries(transcript: Transcript, commitment: Commitment) -> list[int]:
    """min(t, N) distinct column positions, a uniformly random subset, in increasing order.

    The first min(t, N) distinct values of a stream of independent uniform draws form a uniform
    random subset; distinct queries make the number of opened columns a constant and only
    strengthen the bound (1 − (e+1)/N)^t. When t ≥ N every column is opened.
    """
    length = commitment.codeword_len
    wanted = num_queries(commitment)
    if wanted == length:
        return list(range(length))
    chosen: set[int] = set()
    while len(chosen) < wanted:
        for index in transcript.challenge_indices(
            "pcs/column-queries", wanted - len(chosen), length
        ):
            if len(chosen) < wanted:
                chosen.add(index)
    return sorted(chosen)

"""The PCS verifier: replay the transcript, then check values, paths, proximity and columns.

Checks, in this order (each failure has its own reason): the commitments are well formed
(MALFORMED, LENGTH_OUT_OF_BOUNDS for a ticket count outside 1..MAX_TICKETS), their parameters
reach ``MIN_SECURITY_BITS`` (INSUFFICIENT_SOUNDNESS) and match the caller's
(PARAMETER_MISMATCH); the proof's shapes match the statement, every hiding tree names a ticket
below its commitment's B (LENGTH_OUT_OF_BOUNDS), with min(t, N) opened columns per tree
(COLUMN_COUNT_MISMATCH); the proof names these commitments (COMMITMENT_MISMATCH); every
evaluation row gives its claims' combined value (EVALUATION_MISMATCH); the columns open against
the roots (MERKLE_PATH_INVALID); the proximity row's encoding matches the γ-combination of every
opened column (PROXIMITY_CHECK_FAILED); each evaluation row's encoding matches its combination
(COLUMN_CHECK_FAILED). The protocol and its analysis are in :mod:`provers.commit.pcs`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeGuard

import numpy as np

from provers.commit import merkle
from provers.commit.pcs import layout
from provers.commit.pcs import transcript_steps as steps
from provers.commit.pcs.params import (
    MAX_TICKETS,
    MIN_SECURITY_BITS,
    SALT_BYTES,
    PCSParams,
    shape_soundness_bits,
)
from provers.commit.pcs.proof import Commitment, OpeningProof, TreeOpening, commitments_digest
from provers.errors import Reject, VerificationError
from provers.field import base, ext
from provers.poly import multilinear, ntt
from provers.transcript import Transcript

P = base.P
Request = tuple[Commitment, np.ndarray, np.ndarray]


def organise(requests: Sequence[Request]) -> tuple[list[Commitment], list[list[int]]]:
    """The distinct commitments in order of first use, and each one's requests in order."""
    commitments: list[Commitment] = []
    keys: dict[bytes, int] = {}
    groups: list[list[int]] = []
    for index, (commitment, _, _) in enumerate(requests):
        key = commitment.to_bytes()
        if key not in keys:
            keys[key] = len(commitments)
            commitments.append(commitment)
            groups.append([])
        groups[keys[key]].append(index)
    return commitments, groups


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_commitment(commitment: Commitment, expected: PCSParams | None, points: int) -> None:
    tickets = commitment.tickets
    if not _is_int(tickets) or not 1 <= tickets <= MAX_TICKETS:
        raise VerificationError(
            Reject.LENGTH_OUT_OF_BOUNDS, f"tickets = {tickets!r}, expected 1..{MAX_TICKETS}"
        )
    if tickets > 1 and not commitment.hiding:
        raise VerificationError(Reject.MALFORMED, "tickets beyond one exist only in hiding mode")
    bits = shape_soundness_bits(
        commitment.column_vars, commitment.params, commitment.hiding, tickets
    )
    if bits < MIN_SECURITY_BITS:
        raise VerificationError(
            Reject.INSUFFICIENT_SOUNDNESS, f"{bits:.1f} bits, at least {MIN_SECURITY_BITS} needed"
        )
    if expected is not None and commitment.params != expected:
        raise VerificationError(Reject.PARAMETER_MISMATCH, "commitment under other parameters")
    if commitment.hiding and points > commitment.mask_groups:
        raise VerificationError(
            Reject.PARAMETER_MISMATCH,
            f"{points} points, the commitment's masks cover {commitment.mask_groups}",
        )


def _as_elements(values: object) -> np.ndarray:
    try:
        return np.asarray(values, dtype=np.int64)
    except (TypeError, ValueError, OverflowError) as error:
        raise VerificationError(Reject.STATEMENT_MISMATCH, "not an array of integers") from error


def _check_statement(requests: Sequence[Request]) -> None:
    for commitment, point, values in requests:
        point_ok = point.shape == (ext.DEGREE, commitment.num_vars)
        values_ok = values.shape == (ext.DEGREE, commitment.num_polynomials)
        if not (point_ok and values_ok):
            raise VerificationError(Reject.STATEMENT_MISMATCH, "point or values of wrong shape")
        if not (base.is_canonical(point) and base.is_canonical(values)):
            raise VerificationError(Reject.STATEMENT_MISMATCH, "point or values not in [0, p)")


def _check_ticket(opening: TreeOpening, commitment: Commitment) -> None:
    ticket = opening.ticket
    if not commitment.hiding:
        if ticket is not None:
            raise VerificationError(Reject.MALFORMED, "a ticket on a non-hiding opening")
        return
    if not _is_int(ticket) or not 0 <= ticket < commitment.tickets:
        raise VerificationError(
            Reject.LENGTH_OUT_OF_BOUNDS,
            f"ticket {ticket!r}, the commitment has {commitment.tickets}",
        )


def _ticket(opening: TreeOpening) -> int:
    return 0 if opening.ticket is None else opening.ticket


def _check_tree_shape(opening: TreeOpening, commitment: Commitment, points: int) -> None:
    _check_ticket(opening, commitment)
    k, rows = commitment.message_len, commitment.num_rows
    expected = {
        "mask evaluations": (ext.DEGREE, points if commitment.hiding else 0),
        "evaluation rows": (points, ext.DEGREE, k),
        "proximity row": (ext.DEGREE, k),
    }
    actual = {
        "mask evaluations": opening.mask_evaluations.shape,
        "evaluation rows": opening.evaluation_rows.shape,
        "proximity row": opening.proximity_row.shape,
    }
    for what, shape in expected.items():
        if actual[what] != shape:
            raise VerificationError(Reject.LENGTH_OUT_OF_BOUNDS, f"{what}: shape {actual[what]}")
    columns = opening.columns
    if columns.ndim != 2 or columns.shape[1] != rows:
        raise VerificationError(Reject.LENGTH_OUT_OF_BOUNDS, "columns of the wrong height")
    salts_expected = columns.shape[0] if commitment.hiding else 0
    if len(opening.salts) != salts_expected or any(len(s) != SALT_BYTES for s in opening.salts):
        raise VerificationError(Reject.LENGTH_OUT_OF_BOUNDS, "salts do not match the columns")
    arrays = (opening.mask_evaluations, opening.evaluation_rows, opening.proximity_row, columns)
    if not all(base.is_canonical(np.asarray(a)) for a in arrays):
        raise VerificationError(Reject.NON_CANONICAL_FIELD_ELEMENT, "proof value not in [0, p)")


def _combine_columns(weights: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """z^T·column for every opened column: (4, count)."""
    return np.stack(
        [((columns * weights[c][None, :]) % P).sum(axis=1) % P for c in range(ext.DEGREE)]
    )


def _encoded_at(row: np.ndarray, codeword_len: int, positions: list[int]) -> np.ndarray:
    return np.asarray(ntt.rs_encode(row, codeword_len)[:, positions], dtype=np.int64)


class _Replay:
    """The verifier's challenges, derived in the prover's order."""

    def __init__(
        self,
        transcript: Transcript,
        requests: Sequence[Request],
        commitments: list[Commitment],
        groups: list[list[int]],
        proof: OpeningProof,
    ) -> None:
        tree_of = {g: t for t, members in enumerate(groups) for g in members}
        statement = [(tree_of[i], point, values) for i, (_, point, values) in enumerate(requests)]
        steps.absorb_statement(transcript, commitments, statement)
        steps.absorb_tickets(transcript, commitments, [tree.ticket for tree in proof.trees])
        num_claims = sum(values.shape[1] for _, _, values in requests)
        self.alphas = steps.absorb_mask_evaluations(
            transcript, [tree.mask_evaluations for tree in proof.trees], num_claims
        )
        steps.absorb_evaluation_rows(transcript, [tree.evaluation_rows for tree in proof.trees])
        self.gammas = []
        for commitment, tree in zip(commitments, proof.trees, strict=True):
            self.gammas.append(steps.draw_proximity_weights(transcript, commitment))
            steps.absorb_proximity_row(transcript, tree.proximity_row)
        self.positions = [steps.draw_queries(transcript, c) for c in commitments]


def _check_values(
    requests: Sequence[Request], groups: list[list[int]], proof: OpeningProof, alphas: np.ndarray
) -> None:
    offsets = np.cumsum([0] + [values.shape[1] for _, _, values in requests])
    for tree, members in zip(proof.trees, groups, strict=True):
        for slot, group in enumerate(members):
            commitment, point, values = requests[group]
            _, low = layout.split_point(commitment, point)
            row = tree.evaluation_rows[slot][:, : 1 << commitment.column_vars]
            claimed = ext.inner_product(values, alphas[:, offsets[group] : offsets[group + 1]])
            if commitment.hiding:
                claimed = ext.add(claimed, tree.mask_evaluations[:, slot])
            if not ext.equal(ext.inner_product(row, multilinear.eq_table(low)), claimed):
                raise VerificationError(
                    Reject.EVALUATION_MISMATCH, f"evaluation row {slot} gives another value"
                )


def _check_paths(
    commitments: list[Commitment], proof: OpeningProof, positions: list[list[int]]
) -> None:
    for commitment, tree, opened in zip(commitments, proof.trees, positions, strict=True):
        leaves = [column.astype("<u4").tobytes() for column in tree.columns]
        if commitment.hiding:
            leaves = [leaf + salt for leaf, salt in zip(leaves, tree.salts, strict=True)]
        merkle.verify_batch(
            commitment.root, commitment.codeword_len, opened, leaves, tree.merkle_proof
        )


def _check_columns(
    requests: Sequence[Request],
    commitments: list[Commitment],
    groups: list[list[int]],
    proof: OpeningProof,
    replay: _Replay,
) -> None:
    offsets = np.cumsum([0] + [values.shape[1] for _, _, values in requests])
    trees = list(zip(commitments, proof.trees, replay.positions, replay.gammas, strict=True))
    for commitment, tree, opened, gamma in trees:
        weights = layout.proximity_weights(commitment, _ticket(tree), gamma)
        expected = _combine_columns(weights, tree.columns)
        if not ext.equal(
            _encoded_at(tree.proximity_row, commitment.codeword_len, opened), expected
        ):
            raise VerificationError(Reject.PROXIMITY_CHECK_FAILED, "proximity row off the columns")
    for (commitment, tree, opened, _), members in zip(trees, groups, strict=True):
        for slot, group in enumerate(members):
            high, _ = layout.split_point(commitment, requests[group][1])
            alphas = replay.alphas[:, offsets[group] : offsets[group + 1]]
            weights = layout.evaluation_weights(commitment, _ticket(tree), slot, high, alphas)
            expected = _combine_columns(weights, tree.columns)
            encoded = _encoded_at(tree.evaluation_rows[slot], commitment.codeword_len, opened)
            if not ext.equal(encoded, expected):
                raise VerificationError(
                    Reject.COLUMN_CHECK_FAILED, f"evaluation row {slot} off the columns"
                )


def batch_verify(
    requests: Sequence[Request],
    proof: OpeningProof,
    transcript: Transcript,
    expected_params: PCSParams | None = None,
) -> None:
    """Check one proof of every request (commitment, point (4, m), values (4, L)).

    Absorbs exactly what :func:`provers.commit.pcs.prover.batch_open` absorbs, in its order.
    Raises VerificationError; returns None when every claim holds.
    """
    requests = [(c, _as_elements(p), _as_elements(v)) for c, p, v in requests]
    if not requests:
        raise VerificationError(Reject.STATEMENT_MISMATCH, "nothing to verify")
    commitments, groups = organise(requests)
    for commitment, members in zip(commitments, groups, strict=True):
        _check_commitment(commitment, expected_params, len(members))
    _check_statement(requests)
    if len(proof.trees) != len(commitments):
        raise VerificationError(Reject.LENGTH_OUT_OF_BOUNDS, "one opening per commitment")
    for commitment, tree, members in zip(commitments, proof.trees, groups, strict=True):
        _check_tree_shape(tree, commitment, len(members))
        if tree.columns.shape[0] != steps.num_queries(commitment):
            raise VerificationError(
                Reject.COLUMN_COUNT_MISMATCH,
                f"{tree.columns.shape[0]} columns, {steps.num_queries(commitment)} expected",
            )
    if proof.commitments_digest != commitments_digest(commitments):
        raise VerificationError(Reject.COMMITMENT_MISMATCH, "the proof opens other commitments")
    replay = _Replay(transcript, requests, commitments, groups, proof)
    _check_values(requests, groups, proof, replay.alphas)
    _check_paths(commitments, proof, replay.positions)
    _check_columns(requests, commitments, groups, proof, replay)


def verify(
    commitment: Commitment,
    points: Sequence[np.ndarray],
    values: Sequence[np.ndarray],
    proof: OpeningProof,
    transcript: Transcript,
    expected_params: PCSParams | None = None,
) -> None:
    """Check that the single-table ``commitment`` takes ``values[i]`` (4,) at ``points[i]``;
    absorbs what :func:`batch_verify` absorbs."""
    if len(points) != len(values):
        raise VerificationError(Reject.STATEMENT_MISMATCH, "one value per point")
    if any(np.shape(value) != (ext.DEGREE,) for value in values):
        raise VerificationError(Reject.STATEMENT_MISMATCH, "each value is one (4,) element")
    requests = [
        (commitment, point, np.asarray(value, np.int64).reshape(ext.DEGREE, -1))
        for point, value in zip(points, values, strict=True)
    ]
    batch_verify(requests, proof, transcript, expected_params)


def proof_from_bytes(data: bytes, requests: Sequence[Request]) -> OpeningProof:
    """Parse proof bytes for this statement (the trees and point counts come from it)."""
    commitments, groups = organise(requests)
    for commitment in commitments:
        _check_commitment(commitment, None, 0)
    return OpeningProof.from_bytes(data, commitments, [len(members) for members in groups])

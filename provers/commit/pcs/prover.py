"""The PCS prover: commit to tables, then open them at challenge-field points in one proof.

``commit``/``commit_many`` encode and hash; ``batch_open`` runs :class:`BatchOpener`, the
interactive steps of an opening in protocol order, with the Fiat–Shamir transcript deciding the
verifier's messages. What the prover keeps (and how it is saved) is in :mod:`.prover_data`;
the protocol and its security are in :mod:`provers.commit.pcs`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from provers.commit.pcs import layout
from provers.commit.pcs import transcript_steps as steps
from provers.commit.pcs.params import MAX_MASK_GROUPS, MAX_TICKETS, PCSParams, codeword_len
from provers.commit.pcs.proof import Commitment, OpeningProof, TreeOpening, commitments_digest
from provers.commit.pcs.prover_data import ProverData, assemble, encode_rows
from provers.errors import ProverError
from provers.field import base, ext, kernels
from provers.field.backend import to_numpy
from provers.poly import multilinear
from provers.transcript import Transcript

__all__ = [
    "BatchOpener",
    "ProverData",
    "ProverError",
    "assemble",
    "batch_open",
    "combine_rows",
    "commit",
    "commit_many",
    "encode_rows",
    "open",
    "random_elements",
]

P = base.P
_COMBINE_BLOCK_ELEMENTS = 1 << 20


def commit(
    values: np.ndarray,
    params: PCSParams | None = None,
    hiding: bool = False,
    rng: np.random.Generator | None = None,
    *,
    row_vars: int | None = None,
    max_points: int = 1,
    tickets: int = 1,
) -> tuple[Commitment, ProverData]:
    """Commit to one table of 2^m base-field values (see :func:`commit_many`)."""
    return commit_many(
        [values], params, hiding, rng, row_vars=row_vars, max_points=max_points, tickets=tickets
    )


def commit_many(
    tables: Sequence[np.ndarray],
    params: PCSParams | None = None,
    hiding: bool = False,
    rng: np.random.Generator | None = None,
    *,
    row_vars: int | None = None,
    max_points: int = 1,
    tickets: int = 1,
) -> tuple[Commitment, ProverData]:
    """Commit to several tables of the same size 2^m in one Merkle tree.

    ``row_vars`` overrides the shape rule (see ``params.smallest_commitment_row_vars``). In
    hiding mode the commitment may be opened ``tickets`` times, each opening at up to
    ``max_points`` points. Random coefficients, masking rows and salts come from the
    operating system's cryptographic generator unless ``rng`` is given: a numpy generator is
    not a cryptographic one, so pass one only for reproducible tests and benchmarks.
    """
    params = params or PCSParams.default()
    params.check()
    tables = [to_numpy(t) for t in tables]
    num_vars = multilinear.num_vars_of(int(tables[0].shape[-1]))
    if any(t.shape != (1 << num_vars,) for t in tables):
        raise ValueError("every table must be a base-field vector of the same length 2^m")
    if not 1 <= max_points <= MAX_MASK_GROUPS:
        raise ValueError(f"max_points must lie in 1..{MAX_MASK_GROUPS}")
    if not 1 <= tickets <= (MAX_TICKETS if hiding else 1):
        raise ValueError(f"tickets must lie in 1..{MAX_TICKETS}, and be 1 without hiding")
    rows = params.row_vars(num_vars) if row_vars is None else row_vars
    if not 0 <= rows <= num_vars:
        raise ValueError(f"row_vars must lie in 0..{num_vars}")
    mask_groups = max_points if hiding else 0
    shape = Commitment(bytes(32), num_vars, rows, len(tables), hiding, mask_groups, params, tickets)
    if codeword_len(shape.column_vars, params, hiding, tickets) is None:
        raise ValueError("no codeword length reaches the parameters' security target")
    coefficients = _messages(shape, tables, rng)
    return assemble(shape, coefficients, encode_rows(coefficients, shape.codeword_len), rng)


def random_elements(shape: tuple[int, int], rng: np.random.Generator | None) -> np.ndarray:
    """Uniform base-field elements: from ``rng`` if given, else from os.urandom (31-bit words
    below p kept, the rest rejected, so every value is exactly uniform)."""
    if rng is not None:
        return base.random(shape, rng)
    count = shape[0] * shape[1]
    kept = np.zeros(0, dtype=np.int64)
    while kept.shape[0] < count:
        draw = count - kept.shape[0] + 64
        words = np.frombuffer(os.urandom(4 * draw), dtype="<u4").astype(np.int64) & 0x7FFFFFFF
        kept = np.concatenate([kept, words[words < P]])
    return kept[:count].reshape(shape)


def _messages(
    shape: Commitment, tables: Sequence[np.ndarray], rng: np.random.Generator | None
) -> np.ndarray:
    matrices = [
        np.asarray(t, dtype=np.int64).reshape(shape.rows_per_polynomial, -1) for t in tables
    ]
    stacked = matrices[0] if len(matrices) == 1 else np.concatenate(matrices, axis=0)
    if not base.is_canonical(stacked):
        raise ValueError("table values must lie in [0, p)")
    if not shape.hiding:
        return stacked
    width = shape.params.num_queries * shape.tickets
    randomness = random_elements((stacked.shape[0], width), rng)
    masks = random_elements((shape.num_mask_rows, shape.message_len), rng)
    return np.concatenate([np.concatenate([stacked, randomness], axis=1), masks], axis=0)


def combine_rows(weights: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """z^T·rows for challenge-field weights z (4, R) and base-field rows (R, k): (4, k)."""
    used = np.flatnonzero(weights.any(axis=0))
    k = rows.shape[1]
    out = np.zeros((ext.DEGREE, k), dtype=np.int64)
    block = max(1, _COMBINE_BLOCK_ELEMENTS // max(1, k))
    for start in range(0, used.shape[0], block):
        chosen = used[start : start + block]
        selected = rows[chosen]
        products = np.empty(selected.shape, dtype=np.uint64)
        quotient = np.empty_like(products)
        for c in range(ext.DEGREE):
            np.multiply(selected, weights[c, chosen][:, None], out=products.view(np.int64))
            kernels.reduce_into(products, products, quotient)
            out[c] = (out[c] + products.sum(axis=0).astype(np.int64)) % P
    return out


def _check_point(commitment: Commitment, point: np.ndarray) -> np.ndarray:
    point = np.asarray(point, dtype=np.int64)
    if point.shape != (ext.DEGREE, commitment.num_vars) or not base.is_canonical(point):
        raise ValueError(f"a point must be a canonical (4, {commitment.num_vars}) array")
    return point


class BatchOpener:
    """The prover's side of one opening, step by step in protocol order.

    ``batch_open`` calls: ``send_statement(values)``, ``send_mask_evaluations(mask_evaluations())``,
    ``send_evaluation_rows(evaluation_rows())``, then per tree ``draw_proximity_weights``,
    ``send_proximity_row(proximity_row)``, and finally ``open_columns()``.

    Each hiding tree's opening takes its prover data's lowest unused ticket; the ticket is
    recorded as used here, before anything that depends on its masks is computed, so an
    opening abandoned half way never lets a later one reuse them.
    """

    def __init__(
        self, requests: Sequence[tuple[ProverData, np.ndarray]], transcript: Transcript
    ) -> None:
        if not requests:
            raise ValueError("nothing to open")
        self.transcript = transcript
        self.trees: list[ProverData] = []
        keys: dict[bytes, int] = {}
        self.requests: list[tuple[int, np.ndarray]] = []
        for data, point in requests:
            key = data.commitment.to_bytes()
            if key not in keys:
                keys[key] = len(self.trees)
                self.trees.append(data)
            tree_index = keys[key]
            self.requests.append((tree_index, _check_point(data.commitment, point)))
        self.groups = [
            [g for g, (t, _) in enumerate(self.requests) if t == tree]
            for tree in range(len(self.trees))
        ]
        self.tickets = self._take_tickets()
        self.partial_rows = [self._partial_rows(t, point) for t, point in self.requests]
        self.values = [self._values(g) for g in range(len(self.requests))]
        self.commitments = [data.commitment for data in self.trees]
        self.alphas = np.zeros((ext.DEGREE, 0), dtype=np.int64)
        self.gammas: list[np.ndarray | None] = [None] * len(self.trees)
        self.claimed_values: list[np.ndarray] = []
        self.sent_mask_evaluations: list[np.ndarray] = []
        self.sent_evaluation_rows: list[np.ndarray] = []
        self.sent_proximity_rows: dict[int, np.ndarray] = {}

    def send_statement(self, values: list[np.ndarray]) -> None:
        """Absorb the commitments and every request's tree, point and claimed values."""
        self.claimed_values = values
        statement = [(t, p, v) for (t, p), v in zip(self.requests, values, strict=True)]
        steps.absorb_statement(self.transcript, self.commitments, statement)
        steps.absorb_tickets(self.transcript, self.commitments, self.tickets)

    def _take_tickets(self) -> list[int | None]:
        """Check every hiding tree can be opened here, then mark one ticket of each used."""
        tickets: list[int | None] = []
        for data, groups in zip(self.trees, self.groups, strict=True):
            if not data.commitment.hiding:
                tickets.append(None)
                continue
            if len(groups) > data.commitment.mask_groups:
                raise ProverError(
                    f"{len(groups)} points, but the commitment masks only "
                    f"{data.commitment.mask_groups}"
                )
            tickets.append(data.next_ticket())
        for data, ticket in zip(self.trees, tickets, strict=True):
            if ticket is not None:
                data.used_tickets.add(ticket)
        return tickets

    def _ticket(self, tree_index: int) -> int:
        """The mask block of a tree's opening (0, unused, for a non-hiding tree)."""
        ticket = self.tickets[tree_index]
        return 0 if ticket is None else ticket

    def _partial_rows(self, tree_index: int, point: np.ndarray) -> list[np.ndarray]:
        """eq(r_hi)^T·Coeffs_l for every table l: (4, k) each."""
        data = self.trees[tree_index]
        high, _ = layout.split_point(data.commitment, point)
        eq_high = multilinear.eq_table(high)
        return [
            combine_rows(eq_high, data.coefficients[layout.polynomial_rows(data.commitment, table)])
            for table in range(data.commitment.num_polynomials)
        ]

    def _values(self, group: int) -> np.ndarray:
        tree_index, point = self.requests[group]
        commitment = self.trees[tree_index].commitment
        _, low = layout.split_point(commitment, point)
        eq_low = multilinear.eq_table(low)
        width = 1 << commitment.column_vars
        columns = [ext.inner_product(row[:, :width], eq_low) for row in self.partial_rows[group]]
        return np.stack(columns, axis=1)

    def _claim_offsets(self) -> list[int]:
        offsets, total = [], 0
        for values in self.values:
            offsets.append(total)
            total += values.shape[1]
        return offsets

    def _mask_row(self, data: ProverData, rows: slice) -> np.ndarray:
        return np.ascontiguousarray(data.coefficients[rows])

    def mask_evaluations(self) -> list[np.ndarray]:
        """σ_g = <s_g, eq(r_lo)> for every evaluation row of every hiding tree."""
        out = []
        for tree_index, (data, groups) in enumerate(zip(self.trees, self.groups, strict=True)):
            ticket = self._ticket(tree_index)
            sigmas = np.zeros((ext.DEGREE, len(groups) if data.commitment.hiding else 0), np.int64)
            for slot, group in enumerate(groups if data.commitment.hiding else []):
                _, low = layout.split_point(data.commitment, self.requests[group][1])
                rows = layout.evaluation_mask_rows(data.commitment, ticket, slot)
                mask = self._mask_row(data, rows)
                width = 1 << data.commitment.column_vars
                sigmas[:, slot] = ext.inner_product(mask[:, :width], multilinear.eq_table(low))
            out.append(sigmas)
        return out

    def send_mask_evaluations(self, mask_evaluations: list[np.ndarray]) -> None:
        self.sent_mask_evaluations = mask_evaluations
        num_claims = sum(values.shape[1] for values in self.claimed_values)
        self.alphas = steps.absorb_mask_evaluations(self.transcript, mask_evaluations, num_claims)

    def evaluation_rows(self) -> list[np.ndarray]:
        """u_g = Σ_l α_{g,l}·eq(r_hi)^T·Coeffs_l (+ s_g) for every group, per tree (G, 4, k)."""
        offsets = self._claim_offsets()
        out = []
        for tree_index, (data, groups) in enumerate(zip(self.trees, self.groups, strict=True)):
            ticket = self._ticket(tree_index)
            rows = np.zeros((len(groups), ext.DEGREE, data.commitment.message_len), np.int64)
            for slot, group in enumerate(groups):
                for table, partial in enumerate(self.partial_rows[group]):
                    alpha = self.alphas[:, offsets[group] + table]
                    rows[slot] = ext.add(rows[slot], ext.mul(partial, alpha))
                if data.commitment.hiding:
                    mask_rows = layout.evaluation_mask_rows(data.commitment, ticket, slot)
                    rows[slot] = ext.add(rows[slot], self._mask_row(data, mask_rows))
            out.append(rows)
        return out

    def send_evaluation_rows(self, rows: list[np.ndarray]) -> None:
        self.sent_evaluation_rows = rows
        steps.absorb_evaluation_rows(self.transcript, rows)

    def draw_proximity_weights(self, tree_index: int) -> np.ndarray:
        gamma = steps.draw_proximity_weights(self.transcript, self.commitments[tree_index])
        self.gammas[tree_index] = gamma
        return gamma

    def proximity_row(self, tree_index: int) -> np.ndarray:
        """w = γ^T·Coeffs (the ticket's proximity masks entering with weights X^c): (4, k)."""
        gamma = self.gammas[tree_index]
        if gamma is None:
            raise ProverError("draw the proximity weights first")
        data = self.trees[tree_index]
        weights = layout.proximity_weights(data.commitment, self._ticket(tree_index), gamma)
        return combine_rows(weights, data.coefficients)

    def send_proximity_row(self, tree_index: int, row: np.ndarray) -> None:
        self.sent_proximity_rows[tree_index] = row
        steps.absorb_proximity_row(self.transcript, row)

    def open_columns(self) -> OpeningProof:
        """Draw every tree's column queries and open those columns; the finished proof."""
        openings = []
        for tree_index, data in enumerate(self.trees):
            positions = steps.draw_queries(self.transcript, data.commitment)
            salts = tuple(data.salts[j] for j in positions) if data.commitment.hiding else ()
            openings.append(
                TreeOpening(
                    mask_evaluations=self.sent_mask_evaluations[tree_index],
                    evaluation_rows=self.sent_evaluation_rows[tree_index],
                    proximity_row=self.sent_proximity_rows[tree_index],
                    columns=data.codewords[positions].astype(np.int64),
                    salts=salts,
                    merkle_proof=data.tree.open_batch(positions),
                    ticket=self.tickets[tree_index],
                )
            )
        return OpeningProof(commitments_digest(self.commitments), tuple(openings))


def batch_open(
    requests: Sequence[tuple[ProverData, np.ndarray]], transcript: Transcript
) -> tuple[list[np.ndarray], OpeningProof]:
    """Open committed tables at points with one proof.

    Each request (prover data, point (4, m)) asks for every table of that commitment at the
    point; its values come back as (4, L). Each hiding commitment consumes its lowest unused
    ticket (ProverError when none is left). Absorbs, in order (see ``transcript_steps``): the
    distinct commitments, each request's tree index, point and values, each hiding tree's
    ticket, the mask evaluations,
    then the evaluation rows, each tree's proximity row; the column queries are drawn last.
    """
    opener = BatchOpener(requests, transcript)
    opener.send_statement(opener.values)
    opener.send_mask_evaluations(opener.mask_evaluations())
    opener.send_evaluation_rows(opener.evaluation_rows())
    for tree_index in range(len(opener.trees)):
        opener.draw_proximity_weights(tree_index)
        opener.send_proximity_row(tree_index, opener.proximity_row(tree_index))
    return opener.values, opener.open_columns()


def open(  # noqa: A001 — the PCS's verb, used as pcs.open
    prover_data: ProverData, points: Sequence[np.ndarray], transcript: Transcript
) -> tuple[list[np.ndarray], OpeningProof]:
    """Open a single-table commitment at several points; values are (4,) each. Absorbs what
    :func:`batch_open` absorbs."""
    if prover_data.commitment.num_polynomials != 1:
        raise ValueError("open takes a single-table commitment; use batch_open")
    values, proof = batch_open([(prover_data, point) for point in points], transcript)
    return [v[:, 0].copy() for v in values], proof

"""The PCS's commitment and opening proof: data only, with their canonical encodings.

Commitment bytes: root (32) ‖ u8 num_vars ‖ u8 row_vars ‖ u8 num_polynomials ‖ u8 hiding ‖
u8 mask_groups ‖ params (u8 log_inv_rate, u32 num_queries, u8 extra_column_vars,
u8 security_bits) ‖ u32 tickets (hiding commitments only: a non-hiding one has exactly one, and
its bytes are those of a commitment without tickets).

Opening proof bytes: commitments digest (32) ‖ u32 tree count ‖ per tree: u32 ticket (hiding
trees only), mask evaluations (ext_vec), u32 row count then each evaluation row (ext_vec),
proximity row (ext_vec), u32 column count, the columns' values (one base_vec, column after
column), the salts (32 bytes each, hiding trees only), the Merkle proof. Every count (and the
ticket, < B) is checked against what the verifier expects from the commitments and the statement
before anything is allocated.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from provers.commit import merkle
from provers.commit.pcs.params import (
    MASK_ROWS_PER_GROUP,
    MAX_LOG_INV_RATE,
    MAX_MASK_GROUPS,
    MAX_NUM_VARS,
    MAX_QUERIES,
    MAX_TICKETS,
    SALT_BYTES,
    PCSParams,
    codeword_len,
    message_len,
    num_mask_rows,
)
from provers.encoding import DIGEST_BYTES, Reader, Writer
from provers.errors import Reject, VerificationError

MAX_POLYNOMIALS = 255


@dataclass(frozen=True)
class Commitment:
    """A Merkle root over the encoded columns of one or more equally shaped tables."""

    root: bytes
    """SHA-256 Merkle root; leaf j is column j of the encoded matrix (u32 words, then the salt in
    hiding mode)."""
    num_vars: int
    """m: every committed table has 2^m entries."""
    row_vars: int
    """a: each table is a 2^a × 2^(m−a) matrix, row index = the high a bits."""
    num_polynomials: int
    """How many tables are stacked in this tree (rows of table l come l-th)."""
    hiding: bool
    """Whether rows carry random coefficients, leaves carry salts and masking rows follow."""
    mask_groups: int
    """Hiding mode: how many evaluation points one opening may use (0 when not hiding)."""
    params: PCSParams
    """Rate, queries and shape rule the verifier holds the opening to."""
    tickets: int = 1
    """B: how many openings the commitment is made for (hiding mode; 1 otherwise). Rows carry
    t random coefficients and there is one block of masking rows per ticket."""

    @property
    def column_vars(self) -> int:
        return self.num_vars - self.row_vars

    @property
    def rows_per_polynomial(self) -> int:
        return 1 << self.row_vars

    @property
    def mask_block_rows(self) -> int:
        """Masking rows of one ticket: four for the proximity row, four per evaluation row."""
        return MASK_ROWS_PER_GROUP * (1 + self.mask_groups) if self.hiding else 0

    @property
    def num_mask_rows(self) -> int:
        return num_mask_rows(self.hiding, self.mask_groups, self.tickets)

    @property
    def num_rows(self) -> int:
        """All rows of the encoded matrix: the tables' rows, then the masking rows."""
        return self.num_polynomials * self.rows_per_polynomial + self.num_mask_rows

    @property
    def message_len(self) -> int:
        return message_len(self.column_vars, self.params, self.hiding, self.tickets)

    @property
    def codeword_len(self) -> int:
        n = codeword_len(self.column_vars, self.params, self.hiding, self.tickets)
        if n is None:
            raise VerificationError(
                Reject.INSUFFICIENT_SOUNDNESS, "no codeword length reaches the parameters' target"
            )
        return n

    def write_to(self, writer: Writer) -> None:
        writer.raw(self.root)
        for value in (
            self.num_vars,
            self.row_vars,
            self.num_polynomials,
            int(self.hiding),
            self.mask_groups,
            self.params.log_inv_rate,
        ):
            writer.u8(value)
        writer.u32(self.params.num_queries)
        writer.u8(self.params.extra_column_vars)
        writer.u8(self.params.security_bits)
        if self.hiding:
            writer.u32(self.tickets)

    @classmethod
    def read_from(cls, reader: Reader) -> Commitment:
        root = reader.raw(DIGEST_BYTES, "commitment root")
        num_vars = _bounded_u8(reader, "num_vars", 0, MAX_NUM_VARS)
        row_vars = _bounded_u8(reader, "row_vars", 0, num_vars)
        num_polynomials = _bounded_u8(reader, "num_polynomials", 1, MAX_POLYNOMIALS)
        hiding = _bounded_u8(reader, "hiding flag", 0, 1) == 1
        mask_groups = _bounded_u8(reader, "mask_groups", 0, MAX_MASK_GROUPS)
        if hiding != (mask_groups > 0):
            raise VerificationError(Reject.MALFORMED, "mask groups exist exactly in hiding mode")
        params = PCSParams(
            log_inv_rate=_bounded_u8(reader, "log_inv_rate", 1, MAX_LOG_INV_RATE),
            num_queries=reader.bounded_u32("num_queries", 1, MAX_QUERIES),
            extra_column_vars=_bounded_u8(reader, "extra_column_vars", 0, MAX_NUM_VARS),
            security_bits=reader.u8("security_bits"),
        )
        tickets = reader.bounded_u32("tickets", 1, MAX_TICKETS) if hiding else 1
        return cls(root, num_vars, row_vars, num_polynomials, hiding, mask_groups, params, tickets)

    def to_bytes(self) -> bytes:
        writer = Writer()
        self.write_to(writer)
        return writer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Commitment:
        reader = Reader(data)
        commitment = cls.read_from(reader)
        reader.finish("commitment")
        return commitment


def _bounded_u8(reader: Reader, what: str, low: int, high: int) -> int:
    value = reader.u8(what)
    if not low <= value <= high:
        raise VerificationError(
            Reject.LENGTH_OUT_OF_BOUNDS, f"{what} = {value}, expected {low}..{high}"
        )
    return value


def commitments_digest(commitments: Sequence[Commitment]) -> bytes:
    """What a proof names as the commitments it opens, so a mix-up is reported as such."""
    hasher = hashlib.sha256(b"veriml/pcs/commitments/v1")
    for commitment in commitments:
        data = commitment.to_bytes()
        hasher.update(len(data).to_bytes(8, "little") + data)
    return hasher.digest()


@dataclass(frozen=True, eq=False)
class TreeOpening:
    """What the prover sends about one commitment in an opening."""

    mask_evaluations: np.ndarray
    """(4, G): σ_g = Σ_j s_g[j]·eq(r_lo, j), the masking row of evaluation row g at its point's
    low coordinates (hiding mode); (4, 0) otherwise."""
    evaluation_rows: np.ndarray
    """(G, 4, k): u_g = Σ_l α_{g,l}·eq(r_hi)^T·Coeffs_l (+ s_g), one per requested point, as the
    full message (length k, random coefficients included in hiding mode)."""
    proximity_row: np.ndarray
    """(4, k): w = γ^T·Coeffs (+ s_prox), the random combination of all rows."""
    columns: np.ndarray
    """(count, rows): the encoded matrix's columns at the distinct queried positions, in
    increasing position order."""
    salts: tuple[bytes, ...]
    """The salts of those columns' leaves (hiding mode), 32 bytes each; empty otherwise."""
    merkle_proof: merkle.MerkleProof
    """The batched Merkle opening of those leaves."""
    ticket: int | None = None
    """Hiding mode: the ticket i < B this opening consumes; its sent rows are masked by block i
    of the masking rows only. None otherwise."""

    def write_to(self, writer: Writer) -> None:
        if self.ticket is not None:
            writer.u32(self.ticket)
        writer.ext_vec(self.mask_evaluations)
        writer.u32(len(self.evaluation_rows))
        for row in self.evaluation_rows:
            writer.ext_vec(row)
        writer.ext_vec(self.proximity_row)
        writer.u32(int(self.columns.shape[0]))
        writer.base_vec(self.columns.reshape(-1))
        for salt in self.salts:
            writer.raw(salt)
        self.merkle_proof.write_to(writer)

    @classmethod
    def read_from(cls, reader: Reader, commitment: Commitment, num_points: int) -> TreeOpening:
        k, rows = commitment.message_len, commitment.num_rows
        ticket = (
            reader.bounded_u32("ticket", 0, commitment.tickets - 1) if commitment.hiding else None
        )
        num_masks = num_points if commitment.hiding else 0
        mask_evaluations = reader.ext_vec("mask evaluations", expected=num_masks)
        reader.bounded_u32("evaluation row count", num_points, num_points)
        # Rows are read one by one (each read checks the bytes exist) before anything of the
        # commitment's claimed size is allocated.
        read_rows = [
            reader.ext_vec("evaluation row", expected=k, max_count=k) for _ in range(num_points)
        ]
        evaluation_rows = np.stack(read_rows) if read_rows else np.zeros((0, 4, k), np.int64)
        proximity_row = reader.ext_vec("proximity row", expected=k, max_count=k)
        count = reader.bounded_u32("column count", 1, commitment.params.num_queries)
        values = reader.base_vec("columns", expected=count * rows, max_count=count * rows)
        salt_count = count if commitment.hiding else 0
        salts = tuple(reader.raw(SALT_BYTES, "salt") for _ in range(salt_count))
        bound = merkle.max_siblings(commitment.codeword_len, count)
        proof = merkle.MerkleProof.read_from(reader, bound)
        columns = values.reshape(count, rows)
        return cls(mask_evaluations, evaluation_rows, proximity_row, columns, salts, proof, ticket)


@dataclass(frozen=True, eq=False)
class OpeningProof:
    """One proof for every claim of a batch opening."""

    commitments_digest: bytes
    """SHA-256 over the opened commitments' encodings, in order of first use."""
    trees: tuple[TreeOpening, ...]
    """One opening per distinct commitment, in the same order."""

    def write_to(self, writer: Writer) -> None:
        writer.raw(self.commitments_digest)
        writer.u32(len(self.trees))
        for tree in self.trees:
            tree.write_to(writer)

    @classmethod
    def read_from(
        cls, reader: Reader, commitments: Sequence[Commitment], points_per_tree: Sequence[int]
    ) -> OpeningProof:
        digest = reader.raw(DIGEST_BYTES, "commitments digest")
        count = len(commitments)
        reader.bounded_u32("tree count", count, count)
        trees = tuple(
            TreeOpening.read_from(reader, commitment, num_points)
            for commitment, num_points in zip(commitments, points_per_tree, strict=True)
        )
        return cls(digest, trees)

    def to_bytes(self) -> bytes:
        writer = Writer()
        self.write_to(writer)
        return writer.getvalue()

    @classmethod
    def from_bytes(
        cls, data: bytes, commitments: Sequence[Commitment], points_per_tree: Sequence[int]
    ) -> OpeningProof:
        """Parse a proof opening ``commitments`` (distinct, in order of first use), the i-th at
        ``points_per_tree[i]`` points; raises VerificationError on any malformed input."""
        reader = Reader(data)
        proof = cls.read_from(reader, commitments, points_per_tree)
        reader.finish("opening proof")
        return proof

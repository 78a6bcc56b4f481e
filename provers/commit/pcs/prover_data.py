"""What the prover keeps after committing, how it is built from the messages, and how it is
saved and restored.

A hiding commitment is opened by ticket: ``used_tickets`` records the tickets its openings have
consumed, and an opening takes the lowest unused one. The saved form holds the message matrix
(the tables' rows with their random coefficients, then the masking rows), the salts and the
used tickets; loading re-encodes the rows, rebuilds the tree and requires its root to be the
commitment's. Everything in the saved form is secret: with the messages, the table and every
mask are known.

Saved bytes: magic ‖ u32 version ‖ blob commitment ‖ u32 rows ‖ u32 k ‖ rows·k u32 messages
(row after row) ‖ u32 salt count ‖ the salts (32 bytes each) ‖ u32 used-ticket count ‖ u32 each,
increasing ‖ SHA-256 of everything before it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Sequence

import numpy as np

from provers.commit import merkle
from provers.commit.pcs.params import SALT_BYTES
from provers.commit.pcs.proof import Commitment
from provers.encoding import DIGEST_BYTES, Reader, Writer
from provers.errors import ProverError, VerificationError
from provers.field import base
from provers.poly import ntt

MAGIC = b"veriml/pcs/prover-data"
VERSION = 1
_MAX_COMMITMENT_BYTES = 1 << 10


@dataclasses.dataclass(eq=False)
class ProverData:
    """What the prover keeps after committing: messages, codewords, salts and tree."""

    commitment: Commitment
    coefficients: np.ndarray
    """(rows, k): every row's message — the tables' rows (plus their random coefficients in
    hiding mode), then the masking rows, one block per ticket."""
    codewords: np.ndarray
    """(N, rows) little-endian u32: the encoded matrix stored column by column (leaf j)."""
    salts: tuple[bytes, ...]
    """One random salt per leaf in hiding mode; empty otherwise."""
    tree: merkle.MerkleTree
    used_tickets: set[int] = dataclasses.field(default_factory=set)
    """Hiding mode: the tickets already consumed by openings. A ticket opened twice would reuse
    its masks and reveal the table, so an opening takes the lowest ticket not in this set; a
    caller that keeps the commitment across processes restores the set it saved."""

    @property
    def remaining_tickets(self) -> int:
        """Hiding mode: how many more openings the commitment allows."""
        return sum(1 for i in range(self.commitment.tickets) if i not in self.used_tickets)

    def next_ticket(self) -> int:
        """The lowest unused ticket; ProverError when every ticket is used."""
        for ticket in range(self.commitment.tickets):
            if ticket not in self.used_tickets:
                return ticket
        raise ProverError(
            f"all {self.commitment.tickets} tickets of this hiding commitment are used: "
            "it may be opened at most that many times"
        )

    def to_bytes(self) -> bytes:
        """The saved form (module docstring); secret, store it as the table itself."""
        writer = Writer()
        writer.raw(MAGIC)
        writer.u32(VERSION)
        writer.blob(self.commitment.to_bytes())
        rows, k = self.coefficients.shape
        writer.u32(rows)
        writer.u32(k)
        writer.raw(np.asarray(self.coefficients, dtype=np.int64).astype("<u4").tobytes())
        writer.u32(len(self.salts))
        for salt in self.salts:
            writer.raw(salt)
        used = sorted(self.used_tickets)
        writer.u32(len(used))
        for ticket in used:
            writer.u32(ticket)
        body = writer.getvalue()
        return body + hashlib.sha256(body).digest()

    @classmethod
    def from_bytes(cls, commitment: Commitment, data: bytes) -> ProverData:
        """Restore what :meth:`to_bytes` saved for ``commitment``; ProverError when the bytes are
        not that, are corrupted, or do not rebuild the commitment's root."""
        if len(data) < DIGEST_BYTES or (
            hashlib.sha256(data[:-DIGEST_BYTES]).digest() != data[-DIGEST_BYTES:]
        ):
            raise ProverError("the saved prover data is corrupted (checksum)")
        try:
            coefficients, salts, used = _read(Reader(data[:-DIGEST_BYTES]), commitment)
        except VerificationError as error:
            raise ProverError(f"the saved prover data is unreadable: {error}") from None
        rebuilt, prover_data = assemble(
            commitment,
            coefficients,
            encode_rows(coefficients, commitment.codeword_len),
            None,
            salts,
        )
        if rebuilt.root != commitment.root:
            raise ProverError("the saved prover data does not rebuild the commitment's root")
        prover_data.used_tickets = used
        return prover_data


def _read(reader: Reader, commitment: Commitment) -> tuple[np.ndarray, tuple[bytes, ...], set[int]]:
    if reader.raw(len(MAGIC), "magic") != MAGIC:
        raise ProverError("not saved prover data of a commitment")
    if reader.u32("version") != VERSION:
        raise ProverError("saved prover data of another version")
    if reader.blob("commitment", _MAX_COMMITMENT_BYTES) != commitment.to_bytes():
        raise ProverError("the prover data was saved for another commitment")
    rows, k = commitment.num_rows, commitment.message_len
    reader.bounded_u32("rows", rows, rows)
    reader.bounded_u32("row length", k, k)
    words = np.frombuffer(reader.raw(4 * rows * k, "messages"), dtype="<u4")
    coefficients = words.astype(np.int64).reshape(rows, k)
    if not base.is_canonical(coefficients):
        raise ProverError("the saved messages are not field elements")
    salt_count = commitment.codeword_len if commitment.hiding else 0
    reader.bounded_u32("salt count", salt_count, salt_count)
    salts = tuple(reader.raw(SALT_BYTES, "salt") for _ in range(salt_count))
    count = reader.bounded_u32("used tickets", 0, commitment.tickets if commitment.hiding else 0)
    used = [reader.bounded_u32("ticket", 0, commitment.tickets - 1) for _ in range(count)]
    if used != sorted(set(used)):
        raise ProverError("the used tickets are not distinct and increasing")
    reader.finish("saved prover data")
    return coefficients, salts, set(used)


def random_bytes(length: int, rng: np.random.Generator | None) -> bytes:
    return rng.bytes(length) if rng is not None else os.urandom(length)


def encode_rows(coefficients: np.ndarray, codeword_len: int) -> np.ndarray:
    """Reed–Solomon encode every row; returned column-major as (N, rows) little-endian u32."""
    return ntt.rs_encode_columns(coefficients, codeword_len)


def assemble(
    shape: Commitment,
    coefficients: np.ndarray,
    codewords: np.ndarray,
    rng: np.random.Generator | None,
    salts: tuple[bytes, ...] | None = None,
) -> tuple[Commitment, ProverData]:
    """Salt and hash the columns of ``codewords`` into a tree and name its root; ``salts``
    given (a hiding commitment rebuilt from what its prover kept) are used as they are."""
    column_bytes = codewords.shape[1] * 4
    flat = np.ascontiguousarray(codewords).data.cast("B")
    columns = [flat[j * column_bytes : (j + 1) * column_bytes] for j in range(codewords.shape[0])]
    if not shape.hiding:
        salts = ()
    elif salts is None:
        salts = tuple(random_bytes(SALT_BYTES, rng) for _ in range(codewords.shape[0]))
    elif len(salts) != codewords.shape[0] or any(len(s) != SALT_BYTES for s in salts):
        raise ValueError("one salt of SALT_BYTES per column")
    if shape.hiding:
        leaves: Sequence[merkle.LeafBytes] = [
            bytes(c) + s for c, s in zip(columns, salts, strict=True)
        ]
    else:
        leaves = columns
    tree = merkle.MerkleTree.build(leaves)
    commitment = dataclasses.replace(shape, root=tree.root)
    return commitment, ProverData(commitment, coefficients, codewords, salts, tree)

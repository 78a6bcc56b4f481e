"""The public statement of an accuracy audit.

Statement bytes (canonical, provers/encoding.py), all absorbed before any challenge:

    model digest (32) ‖ circuit (blob) ‖ weight commitment ‖ dataset digest (32) ‖ u32 n
    ‖ u32 C ‖ u32 chunk size ‖ u8 flags (bit 0: private inputs) ‖ C × u32 samples per label
    ‖ C × u32 correct predictions per label ‖ nonce (blob, at most 64 bytes)

The verifier recomputes the model digest from the circuit and the weight commitment
(STATEMENT_MISMATCH otherwise) and the dataset digest from the chunk commitments the proof
carries; the counts must add up (Σ_c T_c = n, K_c ≤ T_c) and equal the sums of the chunks'.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from provers.audit.dataset import MAX_CHUNK_SAMPLES, MAX_CLASSES, MAX_SAMPLES
from provers.circuit.model import QuantisedModel
from provers.commit.pcs import Commitment
from provers.encoding import DIGEST_BYTES, Reader, Writer
from provers.errors import Reject, VerificationError
from provers.inference.statement import MAX_CIRCUIT_BYTES, MAX_NONCE_BYTES, named_model

PRIVATE_INPUT = 1


def write_counts(writer: Writer, values: np.ndarray) -> None:
    for value in values:
        writer.u32(int(value))


def read_counts(reader: Reader, count: int, what: str, high: int) -> np.ndarray:
    return np.asarray([reader.bounded_u32(what, 0, high) for _ in range(count)], dtype=np.int64)


@dataclass(frozen=True)
class AuditStatement:
    model_digest: bytes
    circuit: bytes
    weight_commitment: Commitment
    dataset_digest: bytes
    n: int
    classes: int
    chunk_samples: int
    private_input: bool
    totals: np.ndarray
    """(C,) samples per label."""
    hits: np.ndarray
    """(C,) correct predictions per label."""
    nonce: bytes

    @property
    def correct(self) -> int:
        return int(self.hits.sum())

    def to_bytes(self) -> bytes:
        w = Writer()
        w.raw(self.model_digest)
        w.blob(self.circuit)
        self.weight_commitment.write_to(w)
        w.raw(self.dataset_digest)
        for value in (self.n, self.classes, self.chunk_samples):
            w.u32(value)
        w.u8(PRIVATE_INPUT if self.private_input else 0)
        write_counts(w, self.totals)
        write_counts(w, self.hits)
        w.blob(self.nonce)
        return w.getvalue()


def read_statement(data: bytes) -> tuple[AuditStatement, QuantisedModel]:
    """Parse and check the statement: the circuit decodes, the model digest matches, the
    counts add up."""
    r = Reader(data)
    digest = r.raw(DIGEST_BYTES, "model digest")
    circuit = r.blob("circuit", MAX_CIRCUIT_BYTES)
    commitment = Commitment.read_from(r)
    dataset = r.raw(DIGEST_BYTES, "dataset digest")
    n = r.bounded_u32("samples", 1, MAX_SAMPLES)
    classes = r.bounded_u32("classes", 2, MAX_CLASSES)
    chunk_samples = r.bounded_u32("chunk size", 1, MAX_CHUNK_SAMPLES)
    flags = r.u8("flags")
    if flags & ~PRIVATE_INPUT:
        raise VerificationError(Reject.MALFORMED, f"unknown statement flags {flags:#x}")
    totals = read_counts(r, classes, "samples per label", n)
    hits = read_counts(r, classes, "correct per label", n)
    nonce = r.blob("nonce", MAX_NONCE_BYTES)
    r.finish("statement")
    model = named_model(circuit, commitment, digest)
    if int(totals.sum()) != n:
        raise VerificationError(
            Reject.STATEMENT_MISMATCH, f"the samples per label add up to {totals.sum()}, not n={n}"
        )
    if np.any(hits > totals):
        raise VerificationError(
            Reject.STATEMENT_MISMATCH, "a label has more correct predictions than samples"
        )
    statement = AuditStatement(
        digest,
        circuit,
        commitment,
        dataset,
        n,
        classes,
        chunk_samples,
        bool(flags),
        totals,
        hits,
        nonce,
    )
    return statement, model

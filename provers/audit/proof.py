"""The audit proof body: data only, with its canonical encoding.

Encoding: u32 chunk count, then per chunk: the chunk's data-table commitment, u8 limb width,
C × u32 samples per label, C × u32 correct per label, and the chunk's inference-protocol body
(provers/inference/proof.py) whose opening also covers the data table. Counts are bounded
here; the verifier compares them with the statement and the circuit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from provers.audit.dataset import MAX_CHUNK_SAMPLES, MAX_SAMPLES
from provers.audit.statement import read_counts, write_counts
from provers.commit.pcs import Commitment
from provers.encoding import Reader, Writer
from provers.errors import Reject, VerificationError
from provers.inference.proof import InferenceProof
from provers.lookup.proof import LookupProof

MAX_CHUNKS = MAX_SAMPLES


@dataclass(frozen=True, eq=False)
class ChunkProof:
    data_commitment: Commitment
    """The chunk's committed data table (inputs and labels); the dataset digest covers it."""
    limb_bits: int
    """The range-limb width of this chunk's plan (a prover choice)."""
    totals: np.ndarray
    """(C,) samples per label in this chunk."""
    hits: np.ndarray
    """(C,) correct predictions per label in this chunk."""
    body: InferenceProof
    """The model's run on the chunk, the argmax relation, the opening of W, weights, data."""
    extra_lookups: tuple[LookupProof, ...] = ()
    """The lookup's further runs (provers/inference/plan.py ``lookup_runs``), in order."""

    def write_to(self, writer: Writer) -> None:
        self.data_commitment.write_to(writer)
        writer.u8(self.limb_bits)
        write_counts(writer, self.totals)
        write_counts(writer, self.hits)
        self.body.write_to(writer)
        writer.u8(len(self.extra_lookups))
        for lookup in self.extra_lookups:
            lookup.write_to(writer)


@dataclass(frozen=True, eq=False)
class AuditProof:
    chunks: list[ChunkProof]

    def to_bytes(self) -> bytes:
        writer = Writer()
        writer.u32(len(self.chunks))
        for chunk in self.chunks:
            chunk.write_to(writer)
        return writer.getvalue()

    @classmethod
    def from_bytes(
        cls, data: bytes, classes: int, expected_chunks: int, weight_commitment: Commitment
    ) -> AuditProof:
        reader = Reader(data)
        count = reader.bounded_u32("chunk count", expected_chunks, expected_chunks)
        chunks = []
        for _ in range(count):
            commitment = Commitment.read_from(reader)
            limb_bits = reader.u8("limb bits")
            totals = read_counts(reader, classes, "chunk samples per label", MAX_CHUNK_SAMPLES)
            hits = read_counts(reader, classes, "chunk correct per label", MAX_CHUNK_SAMPLES)
            body = InferenceProof.read_from(reader, weight_commitment, commitment)
            extra = tuple(
                LookupProof.read_from(reader) for _ in range(_bounded(reader.u8("runs"), 3))
            )
            chunks.append(ChunkProof(commitment, limb_bits, totals, hits, body, extra))
        reader.finish("audit proof")
        return cls(chunks)


def _bounded(count: int, high: int) -> int:
    if count > high:
        raise VerificationError(Reject.LENGTH_OUT_OF_BOUNDS, f"{count} extra lookup runs")
    return count

"""The inference proof body: data only, with its canonical encoding.

Encoding, in order: witness commitment; stage-0 values (ext vec); the lookup proof; for each of
stages A, B and C a u8 variable count, a u8 degree, the sumcheck rounds and the final values
(ext vec); the opening proof of the witness and weight commitments (one point each). Counts are
bounded here and compared with what the circuit implies by the verifier.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from provers.commit.pcs import Commitment, OpeningProof
from provers.encoding import Reader, Writer
from provers.lookup.proof import LookupProof
from provers.sumcheck.proof import SumcheckProof

MAX_VALUES = 1 << 16


@dataclass(frozen=True, eq=False)
class StageProof:
    """A batched sumcheck and the values the prover states at its end."""

    num_vars: int
    """K: rounds of the batched sumcheck (0 when the stage has no terms)."""
    degree: int
    """D: degree of every round polynomial."""
    sumcheck: SumcheckProof
    """(K, 4, D + 1) round polynomials."""
    finals: np.ndarray
    """(4, count): each term's stated values at its point, term after term."""

    def write_to(self, writer: Writer) -> None:
        writer.u8(self.num_vars)
        writer.u8(self.degree)
        self.sumcheck.write_to(writer)
        writer.ext_vec(self.finals)

    @classmethod
    def read_from(cls, reader: Reader, what: str) -> StageProof:
        num_vars = reader.u8(f"{what} variables")
        degree = reader.u8(f"{what} degree")
        sumcheck = SumcheckProof.read_from(reader, num_vars, degree)
        finals = reader.ext_vec(f"{what} finals", max_count=MAX_VALUES)
        return cls(num_vars, degree, sumcheck, finals)


@dataclass(frozen=True, eq=False)
class InferenceProof:
    witness_commitment: Commitment
    """The per-proof commitment to W: activations, advice, multiplicities."""
    stage0: np.ndarray
    """(4, count): the MLEs of the committed vectors each relation asks for at its point."""
    lookup: LookupProof
    """logUp-GKR: every lookup row of the witness is a row of the proof's table."""
    stage_a: StageProof
    """Matrix products, multiplier products, max-pool product-zero terms."""
    stage_b: StageProof
    """Window maps: convolution patches, pool windows, max-pool gathers."""
    stage_c: StageProof
    """Batching of every claim on W and on the weights into one point each."""
    opening: OpeningProof
    """One opening of W and of the weight commitment at those points."""
    extra_lookups: tuple[LookupProof, ...] = ()
    """The lookup's further runs, when the plan asks for more than one (``lookup_runs``: a
    large model's many lookup rows); run right after the first. Encoded after the opening,
    their count fixed by the plan, so a one-run proof's bytes are unchanged."""

    def write_to(self, writer: Writer) -> None:
        self.witness_commitment.write_to(writer)
        writer.ext_vec(self.stage0)
        self.lookup.write_to(writer)
        for stage in (self.stage_a, self.stage_b, self.stage_c):
            stage.write_to(writer)
        self.opening.write_to(writer)
        for lookup in self.extra_lookups:
            lookup.write_to(writer)

    def to_bytes(self) -> bytes:
        writer = Writer()
        self.write_to(writer)
        return writer.getvalue()

    @classmethod
    def from_bytes(
        cls, data: bytes, weight_commitment: Commitment, extra_runs: int = 0
    ) -> InferenceProof:
        reader = Reader(data)
        proof = cls.read_from(reader, weight_commitment, extra_runs=extra_runs)
        reader.finish("inference proof")
        return proof

    @classmethod
    def read_from(
        cls,
        reader: Reader,
        weight_commitment: Commitment,
        data_commitment: Commitment | None = None,
        extra_runs: int = 0,
    ) -> InferenceProof:
        """The body; with ``data_commitment`` (a committed input) the opening covers it too."""
        witness = Commitment.read_from(reader)
        stage0 = reader.ext_vec("stage 0 values", max_count=MAX_VALUES)
        lookup = LookupProof.read_from(reader)
        stage_a = StageProof.read_from(reader, "stage A")
        stage_b = StageProof.read_from(reader, "stage B")
        stage_c = StageProof.read_from(reader, "stage C")
        trees = [witness, weight_commitment] + ([data_commitment] if data_commitment else [])
        opening = OpeningProof.read_from(reader, trees, [1] * len(trees))
        extra = tuple(LookupProof.read_from(reader) for _ in range(extra_runs))
        return cls(witness, stage0, lookup, stage_a, stage_b, stage_c, opening, extra)

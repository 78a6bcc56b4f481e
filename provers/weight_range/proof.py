"""The weight range proof's body: data only, with its canonical encoding.

Encoding (provers/encoding.py):

    multiplicity commitment  ‖  per run k = 1..R: lookup proof, row sumcheck, T(s_k, r_lo^k)
    ‖  opening proof

R (the lookup runs) and the sumcheck's round count (N − c) and degree (3) are not encoded: the
verifier derives them from the statement and the parameters, and reads exactly that many.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from provers.commit.pcs import Commitment, OpeningProof
from provers.encoding import Reader, Writer
from provers.lookup.proof import LookupProof
from provers.sumcheck.proof import SumcheckProof
from provers.weight_range.soundness import ROW_DEGREE


@dataclass(frozen=True, eq=False)
class RunProof:
    """One run of the lookup and the reduction of its claim on a to the weight table."""

    lookup: LookupProof
    """logUp-GKR that every entry of a = sel·T + 128 lies in [0, 256), bound to the model and
    multiplicity commitments; it ends in the claims a(r) and m(t)."""
    rows: SumcheckProof
    """Σ_y eq(r_hi, y)·sel(y)·g(y) = a(r) − 128 over the N − c row bits y, where
    g(y) = Σ_z eq(r_lo, z)·T(y, z) folds each row of T at the column point."""
    table_value: np.ndarray
    """(4,): g(s) = T(s, r_lo) at the sumcheck's point s, settled by the opening."""

    def write_to(self, writer: Writer) -> None:
        self.lookup.write_to(writer)
        self.rows.write_to(writer)
        writer.ext_elem(self.table_value)

    @classmethod
    def read_from(cls, reader: Reader, row_vars: int) -> RunProof:
        lookup = LookupProof.read_from(reader)
        rows = SumcheckProof.read_from(reader, row_vars, ROW_DEGREE)
        value = reader.ext_elem("table value")
        return cls(lookup, rows, value)


@dataclass(frozen=True, eq=False)
class WeightRangeProof:
    multiplicity_commitment: Commitment
    """The multiplicities m of the 256 table rows (not hiding), committed before any
    challenge."""
    runs: tuple[RunProof, ...]
    """R runs, each with fresh challenges against the same two commitments."""
    opening: OpeningProof
    """One batch opening: the model commitment at (s_k, r_lo^k) and the multiplicity
    commitment at t_k, for every run k."""

    def to_bytes(self) -> bytes:
        writer = Writer()
        self.multiplicity_commitment.write_to(writer)
        for run in self.runs:
            run.write_to(writer)
        self.opening.write_to(writer)
        return writer.getvalue()

    @classmethod
    def from_bytes(
        cls,
        data: bytes,
        weight_commitment: Commitment,
        runs: int,
        row_vars: int,
        check_multiplicity: Callable[[Commitment], None],
    ) -> WeightRangeProof:
        """Decode a body of ``runs`` runs; ``check_multiplicity`` vets the multiplicity
        commitment (its shape bounds the opening's sizes) before the rest is read."""
        reader = Reader(data)
        multiplicity = Commitment.read_from(reader)
        check_multiplicity(multiplicity)
        run_proofs = tuple(RunProof.read_from(reader, row_vars) for _ in range(runs))
        commitments, counts = opened_commitments(weight_commitment, multiplicity, runs)
        opening = OpeningProof.read_from(reader, commitments, counts)
        reader.finish("weight range proof")
        return cls(multiplicity, run_proofs, opening)


def opened_commitments(
    weight_commitment: Commitment, multiplicity_commitment: Commitment, runs: int
) -> tuple[list[Commitment], list[int]]:
    """The distinct commitments in opening order and how many points each is opened at (the
    PCS merges two equal commitments into one tree)."""
    if weight_commitment.to_bytes() == multiplicity_commitment.to_bytes():
        return [weight_commitment], [2 * runs]
    return [weight_commitment, multiplicity_commitment], [runs, runs]

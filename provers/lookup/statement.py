"""What a lookup proves, and the evaluation claims it leaves for the caller to settle.

Statement: L witness lookups, each w vectors of 2^n base-field values (w = the table's width),
and every row (a_1[i], …, a_w[i]) of every lookup is a row of the public table T.

The witness tree batches the L lookups by stacking them: its leaves are indexed (j, i) with the
lookup index j in the ℓ = ⌈log2 L⌉ most significant bits. When L is not a power of two the batch
is padded to L' = 2^ℓ by repeating lookup 0; the multiplicities count those repeats too, so every
witness leaf has numerator 1 and the padding needs no special case anywhere.

The logUp identity needs the number of witness leaves below p (Haböck, Lemma 5): with
L'·2^n ≤ 2^MAX_WITNESS_DEPTH < p a multiplicity can never wrap around.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from provers.errors import Reject, VerificationError
from provers.field import ext
from provers.lookup.table import MAX_WIDTH, LookupTable

MAX_WITNESS_DEPTH = 30
"""n + ℓ ≤ 30: at most 2^30 < p witness leaves, so multiplicities never wrap."""

MAX_LOOKUPS = 1 << 10
"""Witness lookups batched into one argument."""

MAX_WITNESS_EVALUATIONS = MAX_LOOKUPS * MAX_WIDTH


@dataclass(frozen=True, eq=False)
class LookupStatement:
    """The public part of a lookup: the table and the shape of the witness."""

    table: LookupTable
    """The public table every witness row must belong to."""
    num_lookups: int
    """L: how many witness lookups (each of ``table.width`` vectors) share this table."""
    log_length: int
    """n: every witness vector has 2^n entries."""

    @property
    def width(self) -> int:
        return self.table.width

    @property
    def selector_vars(self) -> int:
        """ℓ = ⌈log2 L⌉: the bits of the witness leaf index that pick the lookup."""
        return max(0, (self.num_lookups - 1).bit_length())

    @property
    def padded_lookups(self) -> int:
        return 1 << self.selector_vars

    @property
    def witness_depth(self) -> int:
        return self.selector_vars + self.log_length

    @property
    def table_depth(self) -> int:
        return self.table.log_size

    @property
    def num_witness_evaluations(self) -> int:
        return self.num_lookups * self.width

    def validate(self) -> None:
        """Reject a statement outside the bounds (PARAMETER_MISMATCH)."""
        if not 1 <= self.num_lookups <= MAX_LOOKUPS:
            raise VerificationError(
                Reject.PARAMETER_MISMATCH,
                f"{self.num_lookups} lookups, expected 1..{MAX_LOOKUPS}",
            )
        if not 0 <= self.log_length <= MAX_WITNESS_DEPTH:
            raise VerificationError(
                Reject.PARAMETER_MISMATCH, f"log_length {self.log_length} out of range"
            )
        if self.witness_depth > MAX_WITNESS_DEPTH:
            raise VerificationError(
                Reject.PARAMETER_MISMATCH,
                f"{self.padded_lookups}·2^{self.log_length} witness entries exceed "
                f"2^{MAX_WITNESS_DEPTH}: multiplicities could wrap modulo p",
            )

    def descriptor(self) -> bytes:
        """Canonical bytes of the statement: the table's identity, L and n."""
        return self.table.descriptor + struct.pack("<II", self.num_lookups, self.log_length)

    def source_lookup(self, padded_index: int) -> int:
        """Which real lookup fills slot ``padded_index`` of the padded batch."""
        return padded_index if padded_index < self.num_lookups else 0


@dataclass(frozen=True, eq=False)
class LookupClaims:
    """Evaluation claims the lookup reduces to; the caller checks them against its commitments.

    Both the prover and the verifier return these; the verifier's values are the prover's
    unverified claims, which the caller must settle (open the witness commitment at
    ``witness_point`` and the multiplicity commitment at ``multiplicity_point``).
    """

    witness_point: np.ndarray
    """(4, n): the point at which every witness vector is claimed."""
    witness_values: np.ndarray
    """(4, L·w): ã_{j,c}(witness_point) at column j·w + c."""
    multiplicity_point: np.ndarray
    """(4, k): the point at which the multiplicity vector is claimed."""
    multiplicity_value: np.ndarray
    """(4,): m̃(multiplicity_point)."""
    width: int
    """w, the number of vectors per lookup."""

    def witness_value(self, lookup: int, column: int) -> np.ndarray:
        return np.asarray(self.witness_values[:, lookup * self.width + column])

    def equals(self, other: LookupClaims) -> bool:
        return (
            self.width == other.width
            and ext.equal(self.witness_point, other.witness_point)
            and ext.equal(self.witness_values, other.witness_values)
            and ext.equal(self.multiplicity_point, other.multiplicity_point)
            and ext.equal(self.multiplicity_value, other.multiplicity_value)
        )

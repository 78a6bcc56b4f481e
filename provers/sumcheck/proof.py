"""The sumcheck proof: one univariate round polynomial per variable, in evaluation form.

Round i's polynomial g_i has degree ≤ d and is sent as its d + 1 values g_i(0), …, g_i(d).
Encoding, round after round: a u32 count (= d + 1) then the d + 1 challenge-field elements, each
as four little-endian u32 coefficients below p. The number of rounds is not encoded: the caller
knows it (it is the number of variables of the statement).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from provers.encoding import Reader, Writer
from provers.errors import Reject, VerificationError
from provers.field import ext

MAX_NUM_VARS = 40
"""Tables of more than 2^40 entries are out of reach of this prover; a larger count is hostile."""

MAX_DEGREE = 32
"""The combiners in VeriML's circuits have degree ≤ 8; 32 leaves room and bounds allocation."""


def check_shape_parameters(num_vars: int, degree: int) -> None:
    """Reject caller-given parameters outside the bounds before anything is allocated."""
    if not 0 <= num_vars <= MAX_NUM_VARS:
        raise VerificationError(
            Reject.PARAMETER_MISMATCH, f"num_vars = {num_vars}, expected 0..{MAX_NUM_VARS}"
        )
    if not 1 <= degree <= MAX_DEGREE:
        raise VerificationError(
            Reject.PARAMETER_MISMATCH, f"degree = {degree}, expected 1..{MAX_DEGREE}"
        )


@dataclass(frozen=True, eq=False)
class SumcheckProof:
    """The prover's messages of a sumcheck over ``num_rounds`` variables."""

    round_polys: np.ndarray
    """Shape (num_rounds, 4, degree + 1), int64 in [0, p): ``round_polys[i][:, t]`` is g_i(t),
    the i-th round polynomial (variable x_{i+1}, most significant first) at t = 0, …, degree."""

    @property
    def num_rounds(self) -> int:
        return int(self.round_polys.shape[0])

    @property
    def degree(self) -> int:
        return int(self.round_polys.shape[2]) - 1

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SumcheckProof):
            return NotImplemented
        return bool(np.array_equal(self.round_polys, other.round_polys))

    def write_to(self, writer: Writer) -> None:
        for round_poly in self.round_polys:
            writer.ext_vec(round_poly)

    @classmethod
    def read_from(cls, reader: Reader, num_vars: int, degree: int) -> SumcheckProof:
        check_shape_parameters(num_vars, degree)
        round_polys = np.zeros((num_vars, ext.DEGREE, degree + 1), dtype=np.int64)
        for i in range(num_vars):
            round_polys[i] = reader.ext_vec(
                f"sumcheck round {i}", expected=degree + 1, max_count=MAX_DEGREE + 1
            )
        return cls(round_polys=round_polys)

    def to_bytes(self) -> bytes:
        writer = Writer()
        self.write_to(writer)
        return writer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, num_vars: int, degree: int) -> SumcheckProof:
        reader = Reader(data)
        proof = cls.read_from(reader, num_vars, degree)
        reader.finish("sumcheck proof")
        return proof

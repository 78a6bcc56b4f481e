"""The masked sumcheck's commitment to its mask: the hiding tensor-code PCS (provers.commit.pcs).

The mask vector Ĉ (``mask.py``) is committed once in hiding mode with one masking group per
opening point, and opened once at the n points of ``MaskLayout.opening_points``. Reading a
commitment from proof bytes checks that it is hiding, holds one table of the expected size and
uses the parameters this scheme was built with, before anything of its claimed size is
allocated.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from provers.commit import pcs
from provers.commit.pcs import Commitment, OpeningProof, PCSParams
from provers.encoding import Reader, Writer
from provers.errors import ProverError, Reject, VerificationError
from provers.field import ext
from provers.transcript import Transcript


class TensorPcsMaskScheme:
    """``MaskCommitmentScheme`` over the hiding tensor-code PCS with fixed parameters."""

    def __init__(self, params: PCSParams | None = None) -> None:
        self.params = params or PCSParams.default()

    def commit(
        self, values: np.ndarray, num_points: int, rng: np.random.Generator | None
    ) -> tuple[Commitment, pcs.ProverData]:
        return pcs.commit(values, self.params, hiding=True, rng=rng, max_points=num_points)

    def absorb_commitment(self, transcript: Transcript, label: str, commitment: Any) -> None:
        transcript.absorb_bytes(label, self._checked(commitment).to_bytes())

    def open(
        self,
        prover_data: Any,
        points: list[np.ndarray],
        values: np.ndarray,
        transcript: Transcript,
    ) -> OpeningProof:
        opened, proof = pcs.open(prover_data, points, transcript)
        if not all(ext.equal(v, values[:, i]) for i, v in enumerate(opened)):
            raise ProverError("the committed mask does not open to the mask's values")
        return proof

    def verify(
        self,
        commitment: Any,
        points: list[np.ndarray],
        values: np.ndarray,
        opening: Any,
        transcript: Transcript,
    ) -> None:
        checked = self._checked(commitment, points[0].shape[1] if points else None)
        if not isinstance(opening, OpeningProof):
            raise VerificationError(Reject.MALFORMED, "the mask opening is not a PCS opening")
        columns = [values[:, i] for i in range(values.shape[1])]
        pcs.verify(checked, points, columns, opening, transcript, expected_params=self.params)

    def _checked(self, commitment: Any, num_vars: int | None = None) -> Commitment:
        if not isinstance(commitment, Commitment):
            raise VerificationError(Reject.MALFORMED, "the mask commitment is not a commitment")
        if not commitment.hiding or commitment.num_polynomials != 1:
            raise VerificationError(
                Reject.PARAMETER_MISMATCH, "the mask needs a hiding commitment to one table"
            )
        if num_vars is not None and commitment.num_vars != num_vars:
            raise VerificationError(
                Reject.PARAMETER_MISMATCH,
                f"mask commitment over {commitment.num_vars} variables, expected {num_vars}",
            )
        if commitment.params != self.params:
            raise VerificationError(
                Reject.PARAMETER_MISMATCH, "mask commitment under other parameters"
            )
        return commitment

    def write_commitment(self, writer: Writer, commitment: Any) -> None:
        self._checked(commitment).write_to(writer)

    def read_commitment(self, reader: Reader, num_vars: int) -> Commitment:
        return self._checked(Commitment.read_from(reader), num_vars)

    def write_opening(self, writer: Writer, opening: Any) -> None:
        if not isinstance(opening, OpeningProof):
            raise ProverError("the mask opening is not a PCS opening")
        opening.write_to(writer)

    def read_opening(self, reader: Reader, commitment: Any, num_points: int) -> OpeningProof:
        return OpeningProof.read_from(reader, [self._checked(commitment)], [num_points])

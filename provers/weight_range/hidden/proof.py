"""The hidden-weights range proof's body: data only, with its canonical encoding.

Encoding (provers/encoding.py):

    multiplicity commitment ‖ helper commitment ‖ lookup's masked sumcheck ‖ finals (10)
    ‖ tie's masked sumcheck ‖ μ ‖ opening proof (three trees: M, the helpers, M2)

The sumchecks' round counts and degrees, the number of finals and the trees are not encoded:
the verifier derives them from the statement. Both commitments are checked against the shape
the statement implies before the opening, whose sizes they bound, is read.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from provers.commit.pcs import Commitment, OpeningProof, PCSParams
from provers.encoding import Reader, Writer
from provers.errors import Reject, VerificationError
from provers.lookup.zk import DEGREE as LOOKUP_DEGREE
from provers.lookup.zk import HELPER_TABLES, ZkLookupStatement
from provers.sumcheck.mask_commitment import TensorPcsMaskScheme
from provers.sumcheck.zk import ZkSumcheckProof
from provers.weight_range.hidden.protocol import FINALS, TIE_DEGREE


@dataclass(frozen=True, eq=False)
class HiddenRangeProof:
    multiplicity_commitment: Commitment
    """Hiding commitment (one point, one ticket) to M = (m ‖ m′): the counts of a over the
    padded range table, then a uniform half; committed before α."""
    helper_commitment: Commitment
    """Hiding commitment to the doubled helper columns H_0..H_3, G_0..G_3 (after α, β)."""
    lookup: ZkSumcheckProof
    """The lookup's masked sumcheck, claim 0, over L + 1 variables (degree 3)."""
    finals: np.ndarray
    """(4, 10): A2(r'), M(r'), H_l(r'), G_l(r') at the lookup's point r'."""
    tie: ZkSumcheckProof
    """Σ w·eq((ζ, r_hi), ·)·sel·g = A2(r') − 128·w, masked, over N − c + 1 variables."""
    model_value: np.ndarray
    """(4,): μ = g(s) = M2(s_0, s_y, r_lo), settled by the opening."""
    opening: OpeningProof
    """One hiding batch opening: M and the helpers at r', M2 at (s_0, s_y, r_lo)."""

    def to_bytes(self, params: PCSParams) -> bytes:
        scheme = TensorPcsMaskScheme(params)
        writer = Writer()
        self.multiplicity_commitment.write_to(writer)
        self.helper_commitment.write_to(writer)
        self.lookup.write_to(writer, scheme)
        writer.ext_vec(self.finals)
        self.tie.write_to(writer, scheme)
        writer.ext_elem(self.model_value)
        self.opening.write_to(writer)
        return writer.getvalue()

    @classmethod
    def from_bytes(
        cls,
        data: bytes,
        lookup: ZkLookupStatement,
        tie_vars: int,
        params: PCSParams,
        model_commitment: Commitment,
    ) -> HiddenRangeProof:
        scheme = TensorPcsMaskScheme(params)
        reader = Reader(data)
        multiplicity = check_lookup_commitment(
            Commitment.read_from(reader), lookup, 1, params, "multiplicity"
        )
        if multiplicity.to_bytes() == model_commitment.to_bytes():
            raise VerificationError(
                Reject.COMMITMENT_MISMATCH, "the multiplicities reuse the model's commitment"
            )
        helper = check_lookup_commitment(
            Commitment.read_from(reader), lookup, HELPER_TABLES, params, "helper"
        )
        lookup_sumcheck = ZkSumcheckProof.read_from(reader, lookup.num_vars, LOOKUP_DEGREE, scheme)
        finals = reader.ext_vec("final values", expected=FINALS, max_count=FINALS)
        tie = ZkSumcheckProof.read_from(reader, tie_vars, TIE_DEGREE, scheme)
        model_value = reader.ext_elem("model value")
        opening = OpeningProof.read_from(
            reader, [multiplicity, helper, model_commitment], [1, 1, 1]
        )
        reader.finish("hidden weight range proof")
        return cls(multiplicity, helper, lookup_sumcheck, finals, tie, model_value, opening)


def check_lookup_commitment(
    commitment: Commitment,
    lookup: ZkLookupStatement,
    tables: int,
    params: PCSParams,
    what: str,
) -> Commitment:
    """A commitment of the lookup: hiding, for one opening at one point, ``tables`` doubled
    tables of 2^(L+1) entries, in the default shape (the soundness is computed for it)."""
    shape_ok = (
        commitment.hiding
        and commitment.mask_groups == 1
        and commitment.tickets == 1
        and commitment.num_vars == lookup.num_vars
        and commitment.num_polynomials == tables
        and commitment.row_vars == params.row_vars(lookup.num_vars)
    )
    if not shape_ok:
        raise VerificationError(
            Reject.PARAMETER_MISMATCH,
            f"the {what} commitment is not {tables} hiding table(s) of 2^{lookup.num_vars} "
            "for one opening at one point",
        )
    if commitment.params != params:
        raise VerificationError(
            Reject.PARAMETER_MISMATCH, f"the {what} commitment uses other parameters"
        )
    return commitment

"""What the hidden-weights range prover and verifier share: the transcript's order, the lookup's
statement, the split of the lookup's point and the tie's claimed sum.

Transcript (domain ``veriml/weight-range-hidden/v1``):
  1. the statement digest (model digest, circuit, hiding commitment to M2) and the parameters;
  2. the multiplicity commitment (``multiplicity_commitment``);
  3. the zero-knowledge lookup's core (:func:`provers.lookup.zk.prove_core`: α, β, the helper
     commitment, τ, λ_1, λ_2, its masked sumcheck under ``zk_lookup``);
  4. the finals A2(r'), M(r'), H_l(r'), G_l(r') (``finals``);
  5. the tie's masked sumcheck under ``tie`` (claimed sum A2(r') − 128·w);
  6. μ = M2(s_0, s_y, r_lo) (``model_value``);
  7. the PCS batch opening (it absorbs the commitments, points, values and tickets first).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from provers.field import ext
from provers.lookup.zk import ZkLookupStatement
from provers.poly import multilinear
from provers.transcript import Transcript
from provers.weight_range.protocol import OFFSET, RANGE_TABLE
from provers.weight_range.statement import WeightRegions

DOMAIN = "veriml/weight-range-hidden/v1"
TIE_DEGREE = 3
"""w·eq((ζ, r_hi), ·)·sel·g: three multilinear factors."""
TIE_LABEL = "tie"
FINALS = 2 + 2 * ext.DEGREE
"""A2, M, then the helpers H_0..H_3, G_0..G_3."""


def start_transcript(statement_digest: bytes, parameters: bytes) -> Transcript:
    transcript = Transcript(DOMAIN)
    transcript.absorb_bytes("statement", statement_digest)
    transcript.absorb_bytes("parameters", parameters)
    return transcript


def absorb_multiplicities(transcript: Transcript, commitment_bytes: bytes) -> None:
    transcript.absorb_bytes("multiplicity_commitment", commitment_bytes)


def absorb_finals(transcript: Transcript, finals: np.ndarray) -> None:
    transcript.absorb_ext("finals", finals)


def absorb_model_value(transcript: Transcript, value: np.ndarray) -> None:
    transcript.absorb_ext("model_value", value)


def lookup_statement(num_vars: int) -> ZkLookupStatement:
    """The 2^N entries of a = sel·T + 128 looked up in [0, 256); ValueError past the lookup's
    largest size."""
    return ZkLookupStatement(RANGE_TABLE, 1 << num_vars)


def tie_vars(regions: WeightRegions) -> int:
    """The tie's variables: x_0 and the N − c row bits."""
    return regions.row_vars + 1


@dataclass(frozen=True)
class LookupPoint:
    """The lookup's point r' = (ζ, u, r_hi, r_lo): u the padding bits (none unless N < 8)."""

    zeta: np.ndarray
    padding: np.ndarray
    high: np.ndarray
    low: np.ndarray

    @classmethod
    def split(cls, point: np.ndarray, regions: WeightRegions) -> LookupPoint:
        pad = point.shape[1] - 1 - regions.num_vars
        rows = 1 + pad + regions.row_vars
        return cls(point[:, 0], point[:, 1 : 1 + pad], point[:, 1 + pad : rows], point[:, rows:])

    @property
    def padding_weight(self) -> np.ndarray:
        """w = eq(u, 0): the padded column is w·A2 at (ζ, r); 1 when nothing is padded."""
        return np.asarray(multilinear.eq_eval(self.padding, np.zeros_like(self.padding)))

    @property
    def tie_prefix(self) -> np.ndarray:
        """(ζ, r_hi), the point the tie's eq factor is centred on, (4, N − c + 1)."""
        return np.concatenate([self.zeta[:, None], self.high], axis=1)

    @property
    def table_point(self) -> np.ndarray:
        """(ζ, r_hi, r_lo): the point of M2 the looked-up value is claimed at, (4, N + 1)."""
        return np.concatenate([self.tie_prefix, self.low], axis=1)


def tie_claim(looked_up_value: np.ndarray, padding_weight: np.ndarray) -> np.ndarray:
    """Σ_{x_0, y} w·eq((ζ, r_hi), (x_0, y))·sel(y)·g(x_0, y) = A2(r') − 128·w."""
    return np.asarray(ext.sub(looked_up_value, ext.scale(padding_weight, OFFSET)))


def model_point(tie_point: np.ndarray, lookup_point: LookupPoint) -> np.ndarray:
    """(s_0, s_y, r_lo): where M2 is opened, (4, N + 1)."""
    return np.ascontiguousarray(np.concatenate([tie_point, lookup_point.low], axis=1))


def tie_weight(
    lookup_point: LookupPoint, tie_point: np.ndarray, regions: WeightRegions
) -> np.ndarray:
    """w·eq((ζ, r_hi), s)·sel(s_y): the tie's public factors at its final point s = (s_0, s_y)
    (sel does not depend on x_0, so its extension to the doubled rows is sel(s_y))."""
    eq = multilinear.eq_eval(lookup_point.tie_prefix, tie_point)
    selector = regions.evaluate(tie_point[:, 1:])
    return np.asarray(ext.mul(ext.mul(lookup_point.padding_weight, eq), selector))

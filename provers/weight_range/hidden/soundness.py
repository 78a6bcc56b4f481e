"""The soundness of a hidden-weights range proof, computed from its shape (error terms as log2
probabilities over one verifier challenge, bits = −log2 of their sum; provers/params.py).

Terms, for a weight table of 2^N entries in rows of 2^c, the lookup padded to 2^L rows
(L = max(N, 8)):

* the zero-knowledge lookup (:mod:`provers.lookup.zk`): its two zero-checks, L/|F| each; their
  batching with the sum by λ_1, λ_2, 2/|F|; logUp over at most 2^L + 2^8 ≤ 2^(L+1) distinct
  denominators (one column: no row compression), 2^(L+1)/|F|; its masked sumcheck over L + 1
  variables of degree 3;
* the tie's masked sumcheck over N − c + 1 variables of degree 3;
* a masked sumcheck over n variables of degree d errs with (n·max(d, D − 1) + 1)/|F|,
  D = 2^⌈log2(d + 1)⌉ (:mod:`provers.sumcheck.zk`: the rounds, and ρ);
* the openings: the multiplicity commitment, the helper commitment, the hidden model's
  commitment (its shape and B + 1 tickets) and both masks, each
  (1 − (e+1)/N_code)^t + (N_code + 1)/|F| (:mod:`provers.commit.pcs.params`), summed.
"""

from __future__ import annotations

import math

from provers.commit.pcs import Commitment, PCSParams
from provers.commit.pcs.params import EXT_FIELD_BITS, shape_soundness_bits
from provers.lookup.zk import DEGREE as LOOKUP_DEGREE
from provers.params import ProofParameters, bits_from_errors
from provers.sumcheck.mask import MaskLayout
from provers.weight_range.hidden.protocol import TIE_DEGREE, lookup_statement
from provers.weight_range.statement import WeightRegions


def masked_sumcheck_error_log2(num_vars: int, degree: int) -> float:
    padded = 1 << degree.bit_length()
    return math.log2(num_vars * max(degree, padded - 1) + 1) - EXT_FIELD_BITS


def default_column_vars(params: PCSParams, num_vars: int) -> int:
    """The row length 2^b the PCS's default shape rule gives a 2^num_vars table."""
    return num_vars - params.row_vars(num_vars)


def errors(
    params: ProofParameters, regions: WeightRegions, model_commitment: Commitment
) -> list[float]:
    """Every error term (log2) of a proof for these weight regions and this commitment."""
    log = lookup_statement(regions.num_vars).log_size
    tie = regions.row_vars + 1
    pcs = params.pcs
    terms = [
        math.log2(2 * log) - EXT_FIELD_BITS,
        1 - EXT_FIELD_BITS,
        log + 1 - EXT_FIELD_BITS,
        masked_sumcheck_error_log2(log + 1, LOOKUP_DEGREE),
        masked_sumcheck_error_log2(tie, TIE_DEGREE),
        -shape_soundness_bits(default_column_vars(pcs, log + 1), pcs, True),
        -shape_soundness_bits(default_column_vars(pcs, log + 1), pcs, True),
        -shape_soundness_bits(
            model_commitment.column_vars,
            model_commitment.params,
            model_commitment.hiding,
            model_commitment.tickets,
        ),
    ]
    for num_vars, degree in ((log + 1, LOOKUP_DEGREE), (tie, TIE_DEGREE)):
        mask_vars = MaskLayout(num_vars, degree).table_vars
        terms.append(-shape_soundness_bits(default_column_vars(pcs, mask_vars), pcs, True))
    return terms


def proof_bits(
    params: ProofParameters, regions: WeightRegions, model_commitment: Commitment
) -> float:
    return bits_from_errors(errors(params, regions, model_commitment))

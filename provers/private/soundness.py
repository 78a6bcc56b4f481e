"""The soundness of a private-mode proof, from its shape (error terms as log2 probabilities
over one verifier challenge, bits = −log2 of their sum; provers/params.py).

Terms: the relations' batched masked sumcheck (K·max(D, 3) + 1 rounds' worth, plus one per
group for the group weights); every identity checked at a random point (n/|F| per identity and
layer, the output check included); the lookup (provers/lookup/zk.py: the two zero-checks, their
batching, logUp with the row compression — degree 3 in β for rows of four columns — and its
masked sumcheck); stage C's combination of claims and its masked sumcheck; the hiding openings
of W2, of the helpers and of an audit's test set, and the opening of the weights (the hidden
model's, with private weights); the masks' own openings.
"""

from __future__ import annotations

import math

from provers.commit.pcs import Commitment
from provers.commit.pcs.params import EXT_FIELD_BITS, shape_soundness_bits
from provers.params import ProofParameters, bits_from_errors, sumcheck_error_log2
from provers.private.plan import PrivatePlan
from provers.private.relations import group_count, terms_of


def private_errors(
    plan: PrivatePlan, params: ProofParameters, weights: Commitment | None = None
) -> list[float]:
    terms = terms_of(plan)
    relation_vars = max(term.num_vars for term in terms)
    errors = [
        sumcheck_error_log2(relation_vars, 3) + 1,
        math.log2(group_count(plan)) - EXT_FIELD_BITS,
    ]
    for layer in plan.layers:
        errors.extend([sumcheck_error_log2(layer.log_size, 1)] * 2)
    if not plan.private_output:
        errors.append(sumcheck_error_log2(plan.output_layer().log_size, 1))
    lookup = plan.lookup_log
    errors += [
        math.log2(2 * lookup) - EXT_FIELD_BITS,
        1 - EXT_FIELD_BITS,
        math.log2(3 * distinct_rows(plan)) - EXT_FIELD_BITS,
        sumcheck_error_log2(lookup + 1, 3) + 1,
    ]
    data_log = plan.data_log if plan.classes else 0
    claim_log = max(plan.witness_log, data_log, plan.model_log if plan.private_weights else 0)
    errors += [0 - EXT_FIELD_BITS, sumcheck_error_log2(claim_log + 1, 2) + 1]
    pcs = params.pcs
    hiding_logs = [plan.witness_log + 1, lookup + 1] + ([data_log + 1] if plan.classes else [])
    for log in hiding_logs:
        errors.append(-shape_soundness_bits(log - pcs.row_vars(log), pcs, True))
    if plan.private_weights:
        if weights is None:
            raise ValueError("the soundness of private weights needs their commitment")
        errors.append(-commitment_soundness_bits(weights))
    else:
        errors.append(-shape_soundness_bits(plan.weight_layout.column_log, pcs, False))
    return errors


def commitment_soundness_bits(commitment: Commitment) -> float:
    """One opening of ``commitment`` (its shape, hiding flag and ticket count)."""
    return shape_soundness_bits(
        commitment.column_vars, commitment.params, commitment.hiding, commitment.tickets
    )


def distinct_rows(plan: PrivatePlan) -> int:
    """A bound on the distinct rows of the lookup, witness and table together (the logUp
    identity cleared of denominators has degree ≤ 3 per distinct row in (α, β)): a segment's
    rows beyond its vector's 2^n entries are all one row (its slot's zero tail), the padding
    segments are table row 0, and the table has 2^k rows."""
    rows = 1 + (1 << plan.table.log_size)
    for segment in plan.segments:
        slot = segment.columns[0][0]
        if slot is not None:
            rows += (1 << plan.vector_log(slot)) + 1
    return rows


def private_bits(
    plan: PrivatePlan, params: ProofParameters, weights: Commitment | None = None
) -> float:
    return bits_from_errors(private_errors(plan, params, weights))

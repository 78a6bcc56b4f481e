"""The soundness of an inference proof, computed from its shape with the error terms of
provers/params.py (each a probability over one verifier challenge; bits = −log2 of their sum).

Terms: every batched sumcheck (K variables, degree D: K·D/|F|) and its batching challenge
(a random linear combination of the terms: 1/|F| per term); every identity checked at a random
point of a node's output (n/|F|: Schwartz–Zippel on the multilinear extension of the error
vector); the stage-C combination of claims; the lookup; the openings of W and of the weights.

The lookup compresses a row (A, D, B, C) as A + β·D + β²·B + β³·C: the logUp identity cleared
of denominators is a polynomial in (α, β) whose total degree is below the sum of the degrees
of the distinct denominators α − compressed(row), each the index of the row's last column that
is not zero, at least 1 (columns a witness row takes from committed or public vectors are fixed
before α and β: a range row has B = C = 0 and degree 1, a clamp row degree ≤ 3). The error is
that sum over witness and table rows divided by |F| (Schwartz–Zippel in (α, β)), plus the
fraction trees' layer sumchecks ((3ℓ + 2)/|F| per layer of ℓ variables). Witness rows are the
real lookups': padding the batch to a power of two repeats lookup 0
(provers/lookup/statement.py) and adds no distinct denominator. The counts enter exactly (not
rounded to powers of two).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from provers.circuit.ops import OpKind
from provers.commit.pcs.params import EXT_FIELD_BITS, shape_soundness_bits
from provers.inference.plan import ProofPlan
from provers.params import ProofParameters, bits_from_errors, sumcheck_error_log2
from provers.standalone.common import read_parameters, write_parameters

DEGREE_BY_KIND = {
    "range": 1,
    "relu": 2,
    "function": 2,
    "exp": 2,
    "direct": 3,
    "split-h": 3,
    "split-f": 3,
    "argmax": 3,
}
"""Degree in (α, β) of a row of each lookup kind and table block: α − (A + β·D + β²·B + β³·C)
has the degree of its last column that is not zero (the range rows' B and C are zero)."""

IDENTITIES = {
    OpKind.MAXPOOL2D: 2,
    OpKind.RELU: 1,
    OpKind.TABLE: 1,
    OpKind.SOFTMAX: 5,
    OpKind.SOFTMAX_CAUSAL: 5,
    OpKind.LAYERNORM: 12,
    OpKind.RMSNORM: 12,
    OpKind.EMBEDDING: 1,
}
"""Random-point identity tests per node kind; requantising nodes have two (a LAYERNORM ten
more, an RMSNORM seven, counted as ten; provers/inference/rel_layernorm.py); an EMBEDDING one,
its output against the product of its one-hot ids and its table
(provers/inference/rel_embedding.py)."""


def _compression_degrees(plan: ProofPlan) -> int:
    """Σ over witness and table rows of the row's degree in (α, β): the index of its last
    column that is not identically zero, at least 1 (bounded by 3)."""
    chunk = 1 << plan.witness.chunk_log
    total = 0
    for lookup in plan.lookup_chunks:
        total += chunk * DEGREE_BY_KIND[lookup.kind]
    for key, block in plan.table.blocks.items():
        total += block.size * DEGREE_BY_KIND.get(str(key[0]), 1)
    return total + (plan.table.size - plan.table.used_rows)


def one_run_compression_bits(plan: ProofPlan) -> float:
    """−log2 of one lookup run's Schwartz–Zippel error in (α, β)."""
    return EXT_FIELD_BITS - math.log2(_compression_degrees(plan))


def _lookup_errors(plan: ProofPlan) -> list[float]:
    lookups, chunk_log = len(plan.lookup_chunks), plan.witness.chunk_log
    runs = plan.lookup_runs
    # The runs' compression challenges are independent: a witness row outside the table
    # survives all of them with the product of their probabilities.
    errors = [runs * (math.log2(_compression_degrees(plan)) - EXT_FIELD_BITS)]
    witness_depth = max(0, (lookups - 1).bit_length()) + chunk_log
    for _ in range(runs):
        for depth in (witness_depth, plan.table.log_size):
            errors.extend(math.log2(3 * layer + 2) - EXT_FIELD_BITS for layer in range(1, depth))
    return errors


def _opening_errors(plan: ProofPlan, params: ProofParameters, data_log: int) -> list[float]:
    witness_columns = plan.witness.log_size - params.pcs.row_vars(plan.witness.log_size)
    errors = [
        -shape_soundness_bits(witness_columns, params.pcs, False),
        -shape_soundness_bits(plan.weights.column_log, params.pcs, False),
    ]
    if data_log:
        data_columns = data_log - params.pcs.row_vars(data_log)
        errors.append(-shape_soundness_bits(data_columns, params.pcs, False))
    return errors


def proof_bits(
    plan: ProofPlan, params: ProofParameters, stages: Sequence[tuple[int, int, int]]
) -> float:
    """``stages``: (variables, degree, term count) of stages A, B, C."""
    return bits_from_errors(proof_errors(plan, params, stages))


def proof_errors(
    plan: ProofPlan,
    params: ProofParameters,
    stages: Sequence[tuple[int, int, int]],
    data_log: int = 0,
) -> list[float]:
    """Every error term (log2) of one proof over ``plan``; ``data_log`` > 0 adds the opening of
    a committed data table of 2^data_log entries. An audit plan replaces the output check by
    C + 3 identities over the batch axis (:mod:`provers.audit.argmax`)."""
    errors: list[float] = []
    for num_vars, degree, terms in stages:
        if terms:
            errors.append(sumcheck_error_log2(num_vars, degree))
            errors.append(math.log2(terms) - EXT_FIELD_BITS)
    for node in plan.relation_nodes():
        count = IDENTITIES.get(node.kind, 2)
        errors.extend([sumcheck_error_log2(plan.layouts[node.name].log_size, 1)] * count)
    if plan.audit_classes:
        batch_log = max(plan.layouts["input"].dims[0].log, 1)
        errors.extend([sumcheck_error_log2(batch_log, 1)] * (plan.audit_classes + 3))
    else:
        output = plan.layouts[plan.source(plan.model.output)].log_size
        errors.append(sumcheck_error_log2(max(output, 1), 1))
    errors.extend(_lookup_errors(plan))
    errors.extend(_opening_errors(plan, params, data_log))
    return errors


def expected_stages(plan: ProofPlan) -> list[tuple[int, int, int]]:
    """An upper bound of the stages' (variables, degree, terms), for the prover's early check."""
    depth = max(plan.witness.log_size, plan.weights.log_size) + 1
    nodes = len(plan.model.nodes)
    return [(depth, 17, 3 * nodes + plan.audit_classes), (depth, 2, nodes), (depth, 2, 3)]


__all__ = [
    "expected_stages",
    "proof_bits",
    "proof_errors",
    "read_parameters",
    "write_parameters",
]

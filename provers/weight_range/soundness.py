"""The soundness of a weight range proof, computed from its shape with the error terms of
provers/params.py (each the probability that one verifier challenge lets a false claim through;
bits = −log2 of their sum).

Terms, for a table of 2^N entries read as 2^(N−c) rows, R runs of the lookup:

* logUp (Haböck 2022): the looked-up vector a and the multiplicities are committed before α,
  so Σ 1/(α − a_i) − Σ m_t/(α − t), cleared of denominators, is a fixed polynomial in α of
  degree below the number of distinct denominators, at most 2^N + 256; a false claim survives
  one α with probability (2^N + 256)/|F|, and R runs with independent α with its R-th power;
* the fraction trees (Papini–Haböck 2023): per run and per tree layer of ℓ variables a
  degree-3 sumcheck, the batching λ and the fold μ, (3ℓ + 2)/|F|, for layers 0..d−1 of the
  witness tree (d = N) and of the table tree (d = 8);
* per run, the sumcheck over the row bits: (N − c)·3/|F|;
* the openings of the model commitment and of the multiplicity commitment:
  (1 − (e+1)/N_code)^t + (N_code + 1)/|F| each (:mod:`provers.commit.pcs.params`).

One run gives about 123.6 − N bits from the logUp term alone, under 100 from N = 24 on: the
number of runs is the smallest that reaches the minimum, the same for prover and verifier.
"""

from __future__ import annotations

import math

from provers.commit.pcs.params import EXT_FIELD_BITS, shape_soundness_bits
from provers.params import ProofParameters, bits_from_errors, sumcheck_error_log2

TABLE_VARS = 8
"""The range table [0, 256) that a = sel·T + 128 is looked up in."""
ROW_DEGREE = 3
"""eq(r_hi, y)·sel(y)·g(y): three multilinear factors."""
MAX_RUNS = 4


def errors(
    params: ProofParameters,
    num_vars: int,
    column_vars: int,
    multiplicity_column_vars: int,
    runs: int,
) -> list[float]:
    """Every error term (log2) of a proof of this shape."""
    distinct = (1 << num_vars) + (1 << TABLE_VARS)
    terms = [runs * (math.log2(distinct) - EXT_FIELD_BITS)]
    for _ in range(runs):
        for depth in (num_vars, TABLE_VARS):
            terms.extend(math.log2(3 * layer + 2) - EXT_FIELD_BITS for layer in range(depth))
        terms.append(sumcheck_error_log2(num_vars - column_vars, ROW_DEGREE))
    for columns in (column_vars, multiplicity_column_vars):
        terms.append(-shape_soundness_bits(columns, params.pcs, False))
    return terms


def proof_bits(
    params: ProofParameters,
    num_vars: int,
    column_vars: int,
    multiplicity_column_vars: int,
    runs: int,
) -> float:
    return bits_from_errors(errors(params, num_vars, column_vars, multiplicity_column_vars, runs))


def lookup_runs(
    params: ProofParameters, num_vars: int, column_vars: int, multiplicity_column_vars: int
) -> int | None:
    """The fewest runs (at most MAX_RUNS) that reach ``params.min_soundness_bits``; None when
    no number of runs does (the openings alone fall short)."""
    for runs in range(1, MAX_RUNS + 1):
        bits = proof_bits(params, num_vars, column_vars, multiplicity_column_vars, runs)
        if bits >= params.min_soundness_bits:
            return runs
    return None

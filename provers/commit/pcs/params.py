"""Parameters of the tensor-code PCS, the matrix shape rule and the soundness computation.

Shape. A table of 2^m base-field values is a matrix of R = 2^a rows and C = 2^b columns
(a + b = m, row index = high bits). The default rule a = max(0, ⌊(m − e)/2⌋) with
e = ``extra_column_vars`` makes the matrix about 2^e times wider than tall, which balances the
proof's two large parts: the sent rows (≈ 2^b challenge-field elements each, 16 bytes) and the t
opened columns (2^a base-field elements each, 4 bytes) — at m = 24, e = 4: 2^10 × 2^14.
Each row is a message of length k (k = C, or C + t in hiding mode, where every row carries t
random coefficients), encoded by Reed–Solomon at rate ρ = k/N on the subgroup of order N.
N is the smallest power of two ≥ C·2^L (L = ``log_inv_rate``), > k, for which the shape
reaches ``security_bits``; prover and verifier derive it from (C, params, hiding) alone.

Soundness (the interactive protocol; see :mod:`provers.commit.pcs` for the protocol).
Let d = N − k + 1 be the code's distance and e = ⌊(N − k)/2⌋ < d/2 its unique-decoding radius,
δ = e/N ≤ (1 − ρ)/2.

1. Proximity. γ is uniform in F_ext^rows, so γ^T·E (plus the fixed masking row in hiding mode)
   is a uniform point of an affine space spanned by the committed rows. By the correlated-
   agreement theorem for affine spaces in the unique-decoding regime (Ben-Sasson, Carmon, Ishai,
   Kopparty, Saraf, "Proximity Gaps for Reed–Solomon Codes", FOCS 2020 / J. ACM 2023,
   Thm. 1.7 of the 2021 version, ε = N/|F|): unless the rows agree with codewords on one common
   set of ≥ N − e columns, γ^T·E is more than e positions from every codeword except with
   probability ε_ca = N/|F_ext|. Then Enc(w), a codeword, differs from γ^T·E on ≥ e + 1
   positions, and t column queries — a uniformly random set of t distinct positions — all
   miss them with probability ≤ Π_{i<t} (N − e − 1 − i)/(N − i) ≤ (1 − (e+1)/N)^t.
2. Evaluation. Otherwise the rows decode uniquely to a matrix M' (the committed polynomials).
   If a claimed value is false, the α-combination of the claims of one evaluation row is still
   false except with probability 1/|F_ext| (α is drawn after the claims and, in hiding mode, the
   mask evaluations). The value check then forces Enc(u) ≠ z^T·Enc(M'), two distinct codewords
   ≥ d apart, and z^T·E agrees with z^T·Enc(M') outside ≤ e columns, so they differ on
   ≥ d − e ≥ e + 1 positions: again the t queries all miss them with probability
   ≤ (1 − (e+1)/N)^t.

    ε ≤ (1 − (e+1)/N)^t + N/|F_ext| + 1/|F_ext|,        bits = −log2 ε.

At ρ = 1/2 each query gives −log2(3/4) ≈ 0.415 bits, so t = 256 gives ≈ 106 bits (≈ 104 in
hiding mode, where k = C + t). A batch over several commitments adds one ε_ca per commitment
(:func:`batch_soundness_bits`). These are the errors of each verifier challenge round; under
Fiat–Shamir a prover that evaluates the hash 2^λ times gains at most λ bits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from provers.field import base

EXT_FIELD_BITS = 4 * math.log2(base.P)
MIN_SECURITY_BITS = 100
"""The verifier rejects any commitment whose parameters give fewer bits than this."""
MAX_NUM_VARS = 32
MAX_QUERIES = 4096
MAX_LOG_INV_RATE = 8
MAX_MASK_GROUPS = 64
SALT_BYTES = 32
MASK_ROWS_PER_GROUP = 4
"""One masked challenge-field row needs four base-field random rows (one per coefficient)."""


@dataclass(frozen=True)
class PCSParams:
    """Everything the commitment's soundness depends on; recorded in every commitment."""

    log_inv_rate: int = 1
    """L: codewords are at least 2^L times longer than the rows (nominal rate ρ = 2^−L)."""
    num_queries: int = 256
    """t: distinct column positions opened per tree (all N columns when t ≥ N)."""
    extra_column_vars: int = 4
    """e of the shape rule: rows = 2^max(0, ⌊(m − e)/2⌋)."""
    security_bits: int = MIN_SECURITY_BITS
    """The codeword length is raised until the shape reaches this many bits."""

    @classmethod
    def default(cls) -> PCSParams:
        return cls()

    def row_vars(self, num_vars: int) -> int:
        return min(num_vars, max(0, (num_vars - self.extra_column_vars) // 2))

    def check(self) -> None:
        if not 1 <= self.log_inv_rate <= MAX_LOG_INV_RATE:
            raise ValueError(f"log_inv_rate must lie in 1..{MAX_LOG_INV_RATE}")
        if not 1 <= self.num_queries <= MAX_QUERIES:
            raise ValueError(f"num_queries must lie in 1..{MAX_QUERIES}")
        if not 0 <= self.extra_column_vars <= MAX_NUM_VARS:
            raise ValueError(f"extra_column_vars must lie in 0..{MAX_NUM_VARS}")
        if not 0 <= self.security_bits <= 255:
            raise ValueError("security_bits must lie in 0..255")


def message_len(column_vars: int, params: PCSParams, hiding: bool) -> int:
    """k: the row length the code encodes (hiding rows carry t extra random coefficients)."""
    return (1 << column_vars) + (params.num_queries if hiding else 0)


def soundness_bits_of_code(message_length: int, codeword_length: int, num_queries: int) -> float:
    """−log2 of (1 − (e+1)/N)^t + N/|F_ext| + 1/|F_ext| for a code RS[N, k]."""
    if not message_length < codeword_length:
        return 0.0
    radius = (codeword_length - message_length) // 2
    pass_probability = 1.0 - (radius + 1) / codeword_length
    log_query_error = num_queries * math.log2(pass_probability)
    log_field_error = math.log2(codeword_length + 1) - EXT_FIELD_BITS
    return -math.log2(2.0**log_query_error + 2.0**log_field_error)


def codeword_len(column_vars: int, params: PCSParams, hiding: bool) -> int | None:
    """N for rows of 2^column_vars values; None when no N ≤ 2^27 reaches the target."""
    k = message_len(column_vars, params, hiding)
    n = 1 << (column_vars + params.log_inv_rate)
    while n <= k:
        n *= 2
    while n <= 1 << base.TWO_ADICITY:
        if soundness_bits_of_code(k, n, params.num_queries) >= params.security_bits:
            return n
        n *= 2
    return None


def shape_soundness_bits(column_vars: int, params: PCSParams, hiding: bool) -> float:
    n = codeword_len(column_vars, params, hiding)
    if n is None:
        return 0.0
    k = message_len(column_vars, params, hiding)
    return soundness_bits_of_code(k, n, params.num_queries)


def pcs_soundness_bits(params: PCSParams, num_vars: int, hiding: bool = False) -> float:
    """Bits of soundness of opening a commitment to a 2^num_vars table under ``params`` with the
    default shape rule (the derivation is in this module's docstring)."""
    return shape_soundness_bits(num_vars - params.row_vars(num_vars), params, hiding)


def batch_soundness_bits(errors_per_tree: Sequence[tuple[int, int, int]]) -> float:
    """Bits of one batch opening over trees given as (k, N, t): the worst query term plus one
    correlated-agreement term per tree, plus the claim combination."""
    if not errors_per_tree:
        return 0.0
    worst_query = max(t * math.log2(1.0 - ((n - k) // 2 + 1) / n) for k, n, t in errors_per_tree)
    field_error = sum(n + 1 for _, n, _ in errors_per_tree) * 2.0**-EXT_FIELD_BITS
    return -math.log2(2.0**worst_query + field_error)

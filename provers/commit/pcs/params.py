"""Parameters of the tensor-code PCS, the matrix shape rule and the soundness computation.

Shape. A table of 2^m base-field values is a matrix of R = 2^a rows and C = 2^b columns
(a + b = m, row index = high bits). The default rule a = max(0, ⌊(m − e)/2⌋) with
e = ``extra_column_vars`` makes the matrix about 2^e times wider than tall, which balances the
proof's two large parts: the sent rows (≈ 2^b challenge-field elements each, 16 bytes) and the t
opened columns (2^a base-field elements each, 4 bytes) — at m = 24, e = 4: 2^10 × 2^14.
Each row is a message of length k (k = C, or C + t·B in hiding mode, where every row carries t
random coefficients for each of the commitment's B tickets), encoded by Reed–Solomon at rate
ρ = k/N on the subgroup of order N. N is the smallest power of two ≥ C·2^L (L =
``log_inv_rate``), > k, for which the shape reaches ``security_bits``; prover and verifier
derive it from (C, params, hiding, B) alone.

With many tickets the masking rows (4·(1 + G) per ticket) and the t·B random coefficients
dominate, and the rule above no longer gives the smallest commitment:
:func:`smallest_commitment_row_vars` searches every row count for the least committed size
(rows + mask rows)·N.

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

Tickets. A hiding commitment with B tickets holds B blocks of masking rows; an opening with
ticket i puts weight only on the polynomial rows and block i (γ on the polynomial rows and
block i's evaluation masks, X^c on block i's proximity masks; α·eq(r_hi) on the polynomial rows
and X^c on one evaluation mask of block i). The other blocks' rows are merely part of the
opened leaves: no check depends on them, so they neither help nor hinder a cheating prover.
Steps 1 and 2 therefore apply word for word to the rows the checks use: the affine space of
step 1 is block i's proximity masks plus the span of the polynomial rows and block i's
evaluation masks, and step 2 decodes exactly those rows. The ticket is absorbed before α, so a
prover choosing it gains nothing either: the bound holds for every fixed ticket. Per opening ε
is the formula above with k = C + t·B — only the code's rate changes, and N (which the shape
rule raises until the bound reaches ``security_bits``) may grow with B; the functions below
take B for that reason alone. Many openings of one commitment are separate proofs, each with
its own ε. Example: 2^19 entries, B = 16, one point, default parameters: 2^7 × 2^12 with
k = 2^12 + 16·256 = 2^13, N = 2^14, ≈ 106 bits per opening.
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
MAX_TICKETS = 256
"""The most openings one hiding commitment may be made for."""


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


def message_len(column_vars: int, params: PCSParams, hiding: bool, tickets: int = 1) -> int:
    """k: the row length the code encodes (hiding rows carry t random coefficients per
    ticket)."""
    return (1 << column_vars) + (params.num_queries * tickets if hiding else 0)


def num_mask_rows(hiding: bool, mask_groups: int, tickets: int) -> int:
    """Masking rows of a commitment: per ticket, four for w and four per evaluation point."""
    return MASK_ROWS_PER_GROUP * (1 + mask_groups) * tickets if hiding else 0


def soundness_bits_of_code(message_length: int, codeword_length: int, num_queries: int) -> float:
    """−log2 of (1 − (e+1)/N)^t + N/|F_ext| + 1/|F_ext| for a code RS[N, k]."""
    if not message_length < codeword_length:
        return 0.0
    radius = (codeword_length - message_length) // 2
    pass_probability = 1.0 - (radius + 1) / codeword_length
    log_query_error = num_queries * math.log2(pass_probability)
    log_field_error = math.log2(codeword_length + 1) - EXT_FIELD_BITS
    return -math.log2(2.0**log_query_error + 2.0**log_field_error)


def codeword_len(column_vars: int, params: PCSParams, hiding: bool, tickets: int = 1) -> int | None:
    """N for rows of 2^column_vars values; None when no N ≤ 2^27 reaches the target."""
    k = message_len(column_vars, params, hiding, tickets)
    n = 1 << (column_vars + params.log_inv_rate)
    while n <= k:
        n *= 2
    while n <= 1 << base.TWO_ADICITY:
        if soundness_bits_of_code(k, n, params.num_queries) >= params.security_bits:
            return n
        n *= 2
    return None


def shape_soundness_bits(
    column_vars: int, params: PCSParams, hiding: bool, tickets: int = 1
) -> float:
    """Bits of one opening of rows of 2^column_vars values (any ticket of a B-ticket
    commitment: only k = C + t·B depends on B)."""
    n = codeword_len(column_vars, params, hiding, tickets)
    if n is None:
        return 0.0
    k = message_len(column_vars, params, hiding, tickets)
    return soundness_bits_of_code(k, n, params.num_queries)


def pcs_soundness_bits(
    params: PCSParams, num_vars: int, hiding: bool = False, tickets: int = 1
) -> float:
    """Bits of soundness of opening a commitment to a 2^num_vars table under ``params`` with the
    default shape rule (the derivation is in this module's docstring); ``tickets`` is the
    commitment's B, each opening's soundness is this."""
    return shape_soundness_bits(num_vars - params.row_vars(num_vars), params, hiding, tickets)


def batch_soundness_bits(errors_per_tree: Sequence[tuple[int, int, int]]) -> float:
    """Bits of one batch opening over trees given as (k, N, t): the worst query term plus one
    correlated-agreement term per tree, plus the claim combination. A ticketed tree enters with
    its k = C + t·B (``Commitment.message_len``)."""
    if not errors_per_tree:
        return 0.0
    worst_query = max(t * math.log2(1.0 - ((n - k) // 2 + 1) / n) for k, n, t in errors_per_tree)
    field_error = sum(n + 1 for _, n, _ in errors_per_tree) * 2.0**-EXT_FIELD_BITS
    return -math.log2(2.0**worst_query + field_error)


def committed_elements(
    num_vars: int,
    row_vars: int,
    params: PCSParams,
    hiding: bool,
    tickets: int = 1,
    max_points: int = 1,
    num_polynomials: int = 1,
) -> int | None:
    """(rows + mask rows)·N: the base-field elements a commitment of this shape encodes and
    hashes; None when no codeword length reaches the parameters' target."""
    column_vars = num_vars - row_vars
    n = codeword_len(column_vars, params, hiding, tickets)
    if n is None:
        return None
    mask_rows = num_mask_rows(hiding, max_points if hiding else 0, tickets)
    return (num_polynomials * (1 << row_vars) + mask_rows) * n


def smallest_commitment_row_vars(
    num_vars: int,
    params: PCSParams,
    hiding: bool = True,
    tickets: int = 1,
    max_points: int = 1,
    num_polynomials: int = 1,
) -> int:
    """The row count 2^a (a in 0..num_vars) with the least committed size (rows + mask rows)·N,
    the more rows on a tie (shorter sent rows); ValueError when no shape reaches the target.
    Pass it to ``commit(..., row_vars=…)``: the commitment records a, so the verifier needs
    nothing more."""
    sizes = {
        a: size
        for a in range(num_vars + 1)
        if (
            size := committed_elements(
                num_vars, a, params, hiding, tickets, max_points, num_polynomials
            )
        )
        is not None
    }
    if not sizes:
        raise ValueError("no shape reaches the parameters' security target")
    return min(sizes, key=lambda a: (sizes[a], -a))

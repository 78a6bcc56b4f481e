"""Proof parameters and the soundness they give, computed from the parameters themselves.

Every error below is the probability that a verifier challenge lets a false claim through in
the interactive protocol; a proof's soundness is −log2 of their sum (a union bound over every
challenge the verifier draws). With Fiat–Shamir (SHA-256 as a random oracle) a prover that
computes the hash 2^λ times raises its success probability by at most a factor 2^λ, so "100
bits" means a cheating prover needs about 2^100 / (its hash budget) tries in expectation.

The terms, with |F| = p^4 ≈ 2^123.6 the challenge field:

* sumcheck over n variables with round polynomials of degree d: n·d/|F|
  (Lund–Fortnow–Karloff–Nisan; Thaler, "Proofs, Arguments, and Zero Knowledge", Lemma 4.1);
* logUp with N looked-up values into a table of T rows: the rational identity
  Σ 1/(α − a_i) = Σ m_j/(α − T_j), cleared of denominators, is a non-zero polynomial in α of
  degree < N + T when the multiset claim is false: (N + T)/|F| (Haböck, "Multivariate lookups
  based on logarithmic derivatives", 2022). Pairs compressed as a + β·b keep that bound: the
  identity is then a rational function of (α, β) whose cleared numerator has total degree
  < N + T, and Schwartz–Zippel applies to the pair (α, β). The fractional-sum tree adds,
  per layer of ℓ variables, a degree-3 sumcheck, one batching challenge and one line
  reduction: (3ℓ + 2)/|F| (Papini–Haböck, "Improving logarithmic derivative lookups using
  GKR", 2023);
* the tensor-code polynomial commitment: (1 − (e+1)/N)^t + (N + 1)/|F| per opened tree
  (:mod:`provers.commit.pcs.params`, where the derivation is written out). A hiding commitment
  made for B openings ("tickets") keeps this bound for each of them, with the message length
  k = C + t·B in place of C + t, so N may be longer; ``pcs_error_log2`` takes B.

The logUp term grows with the number of looked-up values: (N + T)/|F| stays below 2^−100 only
while N + T ≤ 2^23. A proof's bits are therefore computed from its actual shape
(:class:`ProofShape`), and the parameters bound the shape so every proof they admit reaches
the minimum; a verifier rejects a proof whose shape gives fewer bits.

The parameters are explicit and recorded in each proof; nothing here is read from the
environment.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from provers.commit.pcs.params import EXT_FIELD_BITS, PCSParams, pcs_soundness_bits
from provers.field import base, ext

MIN_SOUNDNESS_BITS = 100


@dataclass(frozen=True)
class ProofParameters:
    """The configuration every VeriML proof states."""

    pcs: PCSParams = field(default_factory=PCSParams.default)
    min_soundness_bits: int = MIN_SOUNDNESS_BITS

    @classmethod
    def default(cls) -> ProofParameters:
        return cls()


@dataclass(frozen=True)
class ProofShape:
    """What a proof contains, as far as soundness is concerned."""

    sumchecks: tuple[tuple[int, int], ...] = ()
    """(num_vars, degree) of every sumcheck, the lookup trees' own sumchecks excluded."""
    lookups: tuple[tuple[int, int], ...] = ()
    """(log2 of values looked up, log2 of table rows) of every lookup argument."""
    openings: tuple[tuple[int, bool], ...] = ()
    """(num_vars, hiding) of every opened commitment."""


REFERENCE_SHAPE = ProofShape(
    sumchecks=((30, 8),) * 1024,
    lookups=((20, 16),) * 4,
    openings=((30, False), (30, True), (10, True)),
)
"""A large proof for the default parameters: 1024 sumchecks over 2^30 entries of degree 8, four
lookup arguments of 2^20 values into 2^16-row tables, and three openings of up to 2^30."""


def _log2_sum(log_errors: list[float]) -> float:
    top = max(log_errors)
    if top == -math.inf:
        return -math.inf
    return top + math.log2(math.fsum(2.0 ** (e - top) for e in log_errors))


def bits_from_errors(log_errors: list[float]) -> float:
    """Soundness bits from the base-2 logarithms of the individual error terms."""
    if not log_errors:
        return math.inf
    return -_log2_sum(log_errors)


def sumcheck_error_log2(num_vars: int, degree: int) -> float:
    if num_vars <= 0:
        return -math.inf
    return math.log2(num_vars * degree) - EXT_FIELD_BITS


def logup_error_log2(log_lookups: int, log_table: int) -> float:
    lookups, rows = 1 << log_lookups, 1 << log_table
    terms = [math.log2(lookups + rows) - EXT_FIELD_BITS]
    tree_vars = max(log_lookups, log_table) + 1
    terms.extend(math.log2(3 * layer + 2) - EXT_FIELD_BITS for layer in range(1, tree_vars + 1))
    return _log2_sum(terms)


def pcs_error_log2(params: PCSParams, num_vars: int, hiding: bool, tickets: int = 1) -> float:
    return -pcs_soundness_bits(params, num_vars, hiding, tickets)


def bits_by_part(params: ProofParameters, shape: ProofShape) -> dict[str, float]:
    parts = {
        "sumchecks": [sumcheck_error_log2(n, d) for n, d in shape.sumchecks],
        "lookups": [logup_error_log2(n, t) for n, t in shape.lookups],
        "commitment openings": [pcs_error_log2(params.pcs, n, h) for n, h in shape.openings],
    }
    return {name: bits_from_errors(errors) for name, errors in parts.items() if errors}


def soundness_bits(params: ProofParameters, shape: ProofShape) -> float:
    """Bits of soundness of a proof of this shape under these parameters."""
    parts = bits_by_part(params, shape)
    return bits_from_errors([-bits for bits in parts.values()])


def default_report() -> dict[str, Any]:
    """What ``veriml params`` prints: the configuration and its soundness."""
    params = ProofParameters.default()
    parts = bits_by_part(params, REFERENCE_SHAPE)
    return {
        "base_field": f"BabyBear, p = {base.P}",
        "challenge_field": f"degree-{ext.DEGREE} extension x^4 - {ext.W}, ~2^{EXT_FIELD_BITS:.1f}",
        "hash": "SHA-256",
        "pcs": asdict(params.pcs),
        "reference_shape": "1024 sumchecks of 2^30 (degree 8), 4 lookups of 2^20 into 2^16, "
        "3 openings of up to 2^30",
        "bits_by_part": {k: round(v, 1) for k, v in parts.items()},
        "soundness_bits": round(soundness_bits(params, REFERENCE_SHAPE), 1),
        "minimum_bits": params.min_soundness_bits,
    }

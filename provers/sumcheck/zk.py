"""Zero-knowledge sumcheck by a masking polynomial (Libra: Xie, Zhang, Zhang, Papamanthou, Song,
CRYPTO 2019, §4.1; Chiesa, Forbes, Spooner, "A Zero Knowledge Sumcheck and its Applications",
2017, for the idea of summing a random polynomial into the statement).

Statement: H = Σ_{x∈{0,1}^n} F(x) with F = C(f_1, …, f_k) of degree ≤ d per variable.
    P: samples g = Σ_i g_i(x_i) (``mask.py``: each g_i a uniformly random degree-d univariate
       over the challenge field), commits to g with a hiding PCS, sends G = Σ_cube g.
    V: draws ρ ≠ 0.
    Both run the sumcheck for Σ_cube (F + ρ·g) = H + ρ·G, ending at the point r with claim c.
    P: sends u_i = Ĉ(point_i) for i < n and a hiding opening proof of them, where
       g_i(r_i) = λ·u_i (``mask.py``: the committed vector is the multilinear form of g's rows).
    V: checks the opening, sets g(r) = λ·Σ_i u_i and hands the caller c − ρ·g(r), which must
       equal C(f_1(r), …, f_k(r)) (the caller checks that with its own openings).

Soundness. g is fixed by the commitment before ρ is drawn, and G before ρ: if H is false then
H + ρG is a false claim about F + ρg except for one value of ρ. The committed g has degree
≤ D − 1 = 2^⌈log2(d+1)⌉ − 1 per variable even for a cheating prover, so the sumcheck errs with
probability ≤ n·max(d, D−1)/|F|; the PCS binds each u_i. Total ≈ (n·D + 1)/2^124 + PCS error.

Zero knowledge. Round i's message is h_i = F_i + ρ·M_i with M_i(t) = 2^{n−i−1} g_i(t) + const
(``mask.py``). For ρ ≠ 0 the coefficients of t^1 … t^d of h_i are those of F_i shifted by
ρ·2^{n−i−1}·(fresh uniform coefficients of g_i): uniform and independent of everything else,
while h_i's constant term is fixed by h_i(0) + h_i(1) = running claim. G is uniform through the
constant terms a_{i,0}; each opened u_i is masked by its own a_{i,0}; and the only relation among
(G, u_1, …, u_n) and the messages is the final check c = C(f(r)) + ρ·λ·Σu_i, which the
allowed leakage C(f(r)) already implies. A simulator that knows H and C(f(r)) therefore samples
the same distribution. The PCS commitment and opening must themselves be hiding (they are
the ``MaskCommitmentScheme``'s job), and the mask must come from a CSPRNG.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from provers.encoding import Reader, Writer
from provers.errors import ProverError, Reject, VerificationError
from provers.field import base, ext
from provers.field.backend import Array
from provers.sumcheck.combiners import Combiner
from provers.sumcheck.mask import MaskLayout, MaskPolynomial, coordinate_point
from provers.sumcheck.proof import SumcheckProof, check_shape_parameters
from provers.sumcheck.prover import SumcheckProverState
from provers.sumcheck.transcript_steps import absorb_header, absorb_round
from provers.sumcheck.verifier import verify
from provers.transcript import Transcript


class MaskCommitmentScheme(Protocol):
    """The hiding multilinear PCS the masked sumcheck commits its mask with."""

    def commit(
        self, values: np.ndarray, num_points: int, rng: np.random.Generator | None
    ) -> tuple[Any, Any]:
        """(commitment, prover data) for a base-field vector of length 2^m that will be opened
        once, at ``num_points`` points."""
        ...

    def absorb_commitment(self, transcript: Transcript, label: str, commitment: Any) -> None: ...

    def open(
        self,
        prover_data: Any,
        points: list[np.ndarray],
        values: np.ndarray,
        transcript: Transcript,
    ) -> Any:
        """A hiding proof that the committed MLE takes ``values`` (4, k) at the k points."""
        ...

    def verify(
        self,
        commitment: Any,
        points: list[np.ndarray],
        values: np.ndarray,
        opening: Any,
        transcript: Transcript,
    ) -> None:
        """Raise VerificationError unless ``opening`` proves ``values`` at ``points``."""
        ...

    def write_commitment(self, writer: Writer, commitment: Any) -> None: ...

    def read_commitment(self, reader: Reader, num_vars: int) -> Any: ...

    def write_opening(self, writer: Writer, opening: Any) -> None: ...

    def read_opening(self, reader: Reader, commitment: Any, num_points: int) -> Any: ...


@dataclass(frozen=True, eq=False)
class ZkSumcheckProof:
    """A masked sumcheck proof over n variables of degree d."""

    mask_commitment: Any
    """Hiding commitment to the mask's vector Ĉ (``MaskLayout(n, d).table_vars`` variables)."""
    mask_sum: np.ndarray
    """(4,): G = Σ_{x∈{0,1}^n} g(x)."""
    sumcheck: SumcheckProof
    """The n round polynomials of Σ (F + ρ·g) = H + ρ·G, degree d."""
    mask_values: np.ndarray
    """(4, n): u_i = Ĉ(point_i), so g_i(r_i) = λ·u_i."""
    mask_opening: Any
    """The PCS's hiding proof that Ĉ takes the values ``mask_values`` at the n points."""

    def write_to(self, writer: Writer, scheme: MaskCommitmentScheme) -> None:
        scheme.write_commitment(writer, self.mask_commitment)
        writer.ext_elem(self.mask_sum)
        self.sumcheck.write_to(writer)
        writer.ext_vec(self.mask_values)
        scheme.write_opening(writer, self.mask_opening)

    @classmethod
    def read_from(
        cls, reader: Reader, num_vars: int, degree: int, scheme: MaskCommitmentScheme
    ) -> ZkSumcheckProof:
        check_shape_parameters(num_vars, degree)
        layout = MaskLayout(num_vars, degree)
        commitment = scheme.read_commitment(reader, layout.table_vars)
        mask_sum = reader.ext_elem("mask sum")
        sumcheck = SumcheckProof.read_from(reader, num_vars, degree)
        values = reader.ext_vec("mask values", expected=num_vars, max_count=num_vars)
        opening = scheme.read_opening(reader, commitment, num_vars)
        return cls(commitment, mask_sum, sumcheck, values, opening)

    def to_bytes(self, scheme: MaskCommitmentScheme) -> bytes:
        writer = Writer()
        self.write_to(writer, scheme)
        return writer.getvalue()

    @classmethod
    def from_bytes(
        cls, data: bytes, num_vars: int, degree: int, scheme: MaskCommitmentScheme
    ) -> ZkSumcheckProof:
        reader = Reader(data)
        proof = cls.read_from(reader, num_vars, degree, scheme)
        reader.finish("zero-knowledge sumcheck proof")
        return proof


@dataclass
class ZkSumcheckResult:
    proof: ZkSumcheckProof
    point: np.ndarray
    """(4, n) challenges r."""
    final_values: list[np.ndarray]
    """f_j(r), each (4,): the caller proves these with its own (hiding) openings."""


def default_scheme() -> MaskCommitmentScheme:
    """The hiding tensor-code PCS with its default parameters."""
    from provers.sumcheck.mask_commitment import TensorPcsMaskScheme

    return TensorPcsMaskScheme()


def _draw_rho(transcript: Transcript, label: str) -> np.ndarray:
    """ρ ≠ 0: with ρ = 0 the messages would be unmasked (probability 2^−124, redrawn anyway)."""
    rho = transcript.challenge_ext(f"{label}/rho")
    while not rho.any():
        rho = transcript.challenge_ext(f"{label}/rho")
    return rho


class RoundState(Protocol):
    """A sumcheck prover driven one round at a time (``SumcheckProverState`` and the batched
    state of :mod:`provers.sumcheck.batched_zk`)."""

    num_vars: int

    def first_message(self) -> np.ndarray: ...

    def receive_challenge(self, challenge: np.ndarray) -> np.ndarray | None: ...


def masked_rounds(
    state: RoundState,
    mask: MaskPolynomial,
    rho: np.ndarray,
    transcript: Transcript,
    label: str,
) -> tuple[SumcheckProof, np.ndarray]:
    """The rounds of the sumcheck of F + ρ·g: F's messages from ``state`` plus ρ·M_i. Absorbs
    each masked message before drawing its challenge, as ``sumcheck.verify`` does; the caller
    absorbs the header (``label``, n, d, H + ρG) first."""
    messages, challenges = [], []
    prefix = ext.zero()
    message: np.ndarray | None = state.first_message()
    for i in range(state.num_vars):
        if message is None:
            raise ProverError("the sumcheck prover stopped early")
        masked = ext.add(message, ext.mul(mask.round_values(i, prefix), rho))
        challenge = absorb_round(transcript, label, masked)
        messages.append(masked)
        challenges.append(challenge)
        prefix = ext.add(prefix, mask.univariate_at(i, challenge))
        message = state.receive_challenge(challenge)
    return SumcheckProof(np.stack(messages)), np.stack(challenges, axis=1)


def mask_values(mask: MaskPolynomial, point: np.ndarray) -> np.ndarray:
    """u_i = g_i(r_i)/λ, the committed MLE's values at the opening points, (4, n)."""
    _, lam = coordinate_point()
    lam_inv = ext.inv(lam)
    columns = [ext.mul(mask.univariate_at(i, point[:, i]), lam_inv) for i in range(point.shape[1])]
    return np.stack(columns, axis=1)


def prove_zk_state(
    state: RoundState,
    degree: int,
    claimed_sum: np.ndarray,
    transcript: Transcript,
    scheme: MaskCommitmentScheme | None = None,
    rng: np.random.Generator | None = None,
    label: str = "zk_sumcheck",
) -> tuple[ZkSumcheckProof, np.ndarray]:
    """The masked sumcheck of whatever ``state`` proves; (proof, point r). Absorbs what
    :func:`prove_zk` absorbs."""
    scheme = scheme or default_scheme()
    num_vars = state.num_vars
    if num_vars == 0:
        raise ProverError("a zero-knowledge sumcheck needs at least one variable")
    absorb_header(transcript, label, num_vars, degree, claimed_sum)
    mask = MaskPolynomial.sample(num_vars, degree, rng)
    commitment, prover_data = scheme.commit(mask.commitment_vector(), num_vars, rng)
    scheme.absorb_commitment(transcript, f"{label}/mask_commitment", commitment)
    mask_sum = mask.cube_sum()
    transcript.absorb_ext(f"{label}/mask_sum", mask_sum)
    rho = _draw_rho(transcript, label)
    masked_claim = ext.add(np.asarray(claimed_sum, np.int64), ext.mul(rho, mask_sum))
    absorb_header(transcript, f"{label}/masked", num_vars, degree, masked_claim)
    sumcheck, point = masked_rounds(state, mask, rho, transcript, f"{label}/masked")
    values = mask_values(mask, point)
    transcript.absorb_ext(f"{label}/mask_values", values)
    points = MaskLayout(num_vars, degree).opening_points(point)
    opening = scheme.open(prover_data, points, values, transcript)
    return ZkSumcheckProof(commitment, mask_sum, sumcheck, values, opening), point


def prove_zk(
    tables: list[Array],
    combine: Combiner,
    degree: int,
    claimed_sum: np.ndarray,
    transcript: Transcript,
    scheme: MaskCommitmentScheme | None = None,
    rng: np.random.Generator | None = None,
    label: str = "zk_sumcheck",
) -> ZkSumcheckResult:
    """Prove Σ_cube C(f_1, …, f_k) = claimed_sum revealing only the sum and f_j(r).

    Absorbs, in order: ``label``, n, d, H; the mask commitment (``{label}/mask_commitment``) and
    G (``{label}/mask_sum``); draws ρ (``{label}/rho``); runs the sumcheck subprotocol under
    ``{label}/masked``; absorbs the values u (``{label}/mask_values``); then the PCS opening's
    own messages. ``rng`` None (the default) takes the mask from the OS CSPRNG; ``scheme``
    None means the hiding tensor-code PCS with default parameters.
    """
    state = SumcheckProverState(tables, combine, degree, claimed_sum)
    proof, point = prove_zk_state(state, degree, claimed_sum, transcript, scheme, rng, label)
    return ZkSumcheckResult(proof, point, state.final_values())


def _check_element(value: np.ndarray, shape: tuple[int, ...], what: str) -> np.ndarray:
    arr = np.asarray(value)
    if arr.shape != shape or arr.dtype.kind not in "iu":
        raise VerificationError(Reject.MALFORMED, f"{what} has shape {arr.shape}, not {shape}")
    arr = arr.astype(np.int64)
    if not base.is_canonical(arr):
        raise VerificationError(Reject.NON_CANONICAL_FIELD_ELEMENT, f"{what} is not below p")
    return arr


def verify_zk(
    proof: ZkSumcheckProof,
    num_vars: int,
    degree: int,
    claimed_sum: np.ndarray,
    transcript: Transcript,
    scheme: MaskCommitmentScheme | None = None,
    label: str = "zk_sumcheck",
) -> tuple[np.ndarray, np.ndarray]:
    """Check a masked sumcheck; return (point r (4, n), expected C(f_1(r), …, f_k(r))).

    Absorbs exactly what :func:`prove_zk` absorbs, in the same order. Rejections: those of the
    sumcheck (a wrong G shows as ROUND_SUM_MISMATCH), MASK_MISMATCH for mask values of the
    wrong shape, and the PCS's own reasons for a bad commitment or opening. The caller raises
    FINAL_EVALUATION_MISMATCH when the returned value differs from C(f(r)).
    """
    scheme = scheme or default_scheme()
    check_shape_parameters(num_vars, degree)
    if num_vars == 0:
        raise VerificationError(Reject.PARAMETER_MISMATCH, "zero-knowledge sumcheck over 0 vars")
    if not isinstance(proof, ZkSumcheckProof) or not isinstance(proof.sumcheck, SumcheckProof):
        raise VerificationError(Reject.MALFORMED, "not a zero-knowledge sumcheck proof")
    claim = _check_element(claimed_sum, (ext.DEGREE,), "claimed sum")
    mask_sum = _check_element(proof.mask_sum, (ext.DEGREE,), "mask sum")
    values = np.asarray(proof.mask_values)
    if values.shape != (ext.DEGREE, num_vars):
        raise VerificationError(
            Reject.MASK_MISMATCH, f"{values.shape} mask values, expected (4, {num_vars})"
        )
    values = _check_element(values, (ext.DEGREE, num_vars), "mask values")
    absorb_header(transcript, label, num_vars, degree, claim)
    scheme.absorb_commitment(transcript, f"{label}/mask_commitment", proof.mask_commitment)
    transcript.absorb_ext(f"{label}/mask_sum", mask_sum)
    rho = _draw_rho(transcript, label)
    masked_claim = ext.add(claim, ext.mul(rho, mask_sum))
    point, final_claim = verify(
        proof.sumcheck, num_vars, degree, masked_claim, transcript, f"{label}/masked"
    )
    transcript.absorb_ext(f"{label}/mask_values", values)
    points = MaskLayout(num_vars, degree).opening_points(point)
    scheme.verify(proof.mask_commitment, points, values, proof.mask_opening, transcript)
    _, lam = coordinate_point()
    mask_at_point = ext.mul(lam, ext.sum_(values))
    return point, ext.sub(final_claim, ext.mul(rho, mask_at_point))

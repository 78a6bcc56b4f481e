"""A zero-knowledge lookup: logUp with committed helper columns, every check a masked sumcheck.

Statement: N committed witness rows (a_1[i], …, a_w[i]), each a row of the public table T
(2^k rows, w columns). The proof reveals nothing about which rows were looked up beyond that
they all lie in T. The public-mode lookup (logUp-GKR, :mod:`provers.lookup.prover`) cannot do
this: its fraction-tree roots and layer claims are functions of the histogram of the witness.

Sizes. L = max(k, ⌈log2 N⌉, 2). The witness is padded to 2^L rows with copies of table row 0
(counted in its multiplicity); the table is padded to 2^L rows with copies of row 0 whose
multiplicity is 0. The verifier evaluates the padded table's MLE at r = (r_hi, r_lo) as
eq(r_hi, 0)·T(r_lo) + (1 − eq(r_hi, 0))·T[0], so its cost is the table's own.

The doubled domain. Every committed vector f of 2^L entries is committed as the vector
F = (f ‖ f') of 2^(L+1) entries, f' uniformly random, so F(x_0, x) = (1 − x_0)·f(x) + x_0·f'(x)
with x_0 the most significant variable. Each check below carries the public selector
(1 − x_0); every value the verifier ever sees is F(ζ, r) for a random ζ, which f' masks.

Protocol (transcript domain ``veriml/zk-lookup/v1``):
  1. absorb the statement (table descriptor, N, w) and the PCS parameters;
  2. P commits, hiding, the w witness columns A_c and the multiplicities M (one tree, w + 1
     doubled tables); absorb;
  3. V draws α (the logUp point) and β (the row compression â = Σ_c β^c·a_c, T̂ likewise);
  4. P computes h_i = 1/(α − â_i) and g_t = m_t/(α − T̂_t) (challenge-field values, each
     four base-field limbs h = Σ_l h_l·X^l) and commits, hiding, H_0..H_3, G_0..G_3 (one tree of
     eight doubled tables); absorb;
  5. V draws τ ∈ F^L and λ_1, λ_2;
  6. a masked sumcheck (:func:`provers.sumcheck.zk.prove_zk`, degree 3, L + 1 variables) of
         Σ_{x_0, x} (1 − x_0)·(H − G) + λ_1·E·(H·(α − Â) − 1) + λ_2·E·(G·(α − T̂) − M) = 0,
     E(x_0, x) = eq((0, τ), (x_0, x)) = (1 − x_0)·eq(τ, x), T̂ the padded table (not doubled:
     its MLE does not depend on x_0), ending at r' = (ζ, r);
  7. P sends A_c(r'), M(r'), H_l(r'), G_l(r'); V recombines Â, H, G, evaluates E, T̂ and the
     selector itself and checks the sumcheck's final value;
  8. one hiding batch opening of both trees at r'.

Soundness. A and M are bound before α, β; H and G before τ, λ. The zero-checks force
h_i·(α − â_i) = 1 and g_t·(α − T̂_t) = m_t for every i, t except with probability L/|F| each
(Σ_x eq(τ, x)·P(x) is the MLE of P at τ, a nonzero multilinear polynomial vanishing at τ with
probability ≤ L/|F|); the three sums meet in one claim of 0 through λ_1, λ_2 (2/|F|). Then
Σ_i 1/(α − â_i) = Σ_t m_t/(α − T̂_t), which for random α implies every â_i is some T̂_t
(logUp, Haböck 2022, Lemma 5; 2^L < p so multiplicities do not wrap) except with probability
2^(L+1)/|F|, and β compresses rows (w − 1)·2^(L+1)/|F| (provers/lookup/table.py). A value α
equal to some â_i leaves no h_i satisfying the zero-check, so the honest prover stops. The
masked sumcheck adds (L + 1)·4/|F| and the PCS its own error (:func:`soundness_bits`).

Zero knowledge. The commitments are hiding and each opened once at one point. The sumcheck
rounds are masked: given the claim 0 and the final value C(finals) they are simulatable
(:mod:`provers.sumcheck.zk`). Each revealed final is F(ζ, r) = (1 − ζ)·f(r) + ζ·f'(r) with f'
uniform and used nowhere else; for ζ ≠ 0 and a point r whose eq-weights span the challenge
field over the base field (true for all but a negligible fraction of r once 2^L ≥ 4), f'(r),
and so the final, is uniform and independent of the other finals. The final check is the only
relation among the finals and the rounds, and it is what a simulator enforces by computing
C(finals) from uniformly drawn finals. The hiding openings reveal only their claimed values.
"""

from __future__ import annotations

import hashlib
import math
import struct
from dataclasses import dataclass

import numpy as np

from provers.commit import pcs
from provers.commit.pcs import Commitment, OpeningProof, PCSParams
from provers.commit.pcs.prover import random_elements
from provers.encoding import Reader, Writer
from provers.errors import ProverError, Reject, VerificationError
from provers.field import base, ext
from provers.field.backend import Array
from provers.lookup.multiplicities import compute_multiplicities
from provers.lookup.statement import LookupStatement
from provers.lookup.table import LookupTable
from provers.poly import multilinear
from provers.sumcheck.mask_commitment import TensorPcsMaskScheme
from provers.sumcheck.zk import ZkSumcheckProof, prove_zk, verify_zk
from provers.transcript import Transcript

DOMAIN = "veriml/zk-lookup/v1"
DEGREE = 3
"""E·H·Â is the highest-degree term."""
MIN_LOG = 2
"""2^L ≥ 4 keeps the eq-weights of a random point spanning the challenge field."""
MAX_LOG = 24
"""The doubled witness and helper tables hold 2^(L+1) entries each."""
HELPER_TABLES = 2 * ext.DEGREE
"""H_0..H_3 then G_0..G_3."""
FIELD_BITS = 124.0
"""log2 |F_ext| rounded down (p^4 > 2^123.6); used for the error terms."""


@dataclass(frozen=True, eq=False)
class ZkLookupStatement:
    """The public part: the table and how many witness rows are looked up."""

    table: LookupTable
    num_rows: int

    def __post_init__(self) -> None:
        if self.num_rows < 1:
            raise ValueError("a lookup needs at least one witness row")
        if self.log_size > MAX_LOG:
            raise ValueError(f"2^{self.log_size} rows, at most 2^{MAX_LOG}")

    @property
    def width(self) -> int:
        return self.table.width

    @property
    def log_size(self) -> int:
        """L: witness and table are both padded to 2^L rows."""
        rows = max(0, (self.num_rows - 1).bit_length())
        return max(self.table.log_size, rows, MIN_LOG)

    @property
    def num_vars(self) -> int:
        """L + 1: the doubled domain."""
        return self.log_size + 1

    def digest(self) -> bytes:
        header = struct.pack("<QB", self.num_rows, self.width)
        return hashlib.sha256(DOMAIN.encode() + header + self.table.descriptor).digest()


@dataclass(frozen=True, eq=False)
class ZkLookupProof:
    witness_commitment: Commitment
    """Hiding commitment to the doubled A_1..A_w and M."""
    helper_commitment: Commitment
    """Hiding commitment to the doubled H_0..H_3, G_0..G_3."""
    sumcheck: ZkSumcheckProof
    finals: np.ndarray
    """(4, w + 1 + 8): A_c(r'), M(r'), H_l(r'), G_l(r')."""
    opening: OpeningProof

    def to_bytes(self, params: PCSParams | None = None) -> bytes:
        writer = Writer()
        self.witness_commitment.write_to(writer)
        self.helper_commitment.write_to(writer)
        self.sumcheck.write_to(writer, TensorPcsMaskScheme(params))
        writer.ext_vec(self.finals)
        self.opening.write_to(writer)
        return writer.getvalue()

    @classmethod
    def from_bytes(
        cls, data: bytes, statement: ZkLookupStatement, params: PCSParams | None = None
    ) -> ZkLookupProof:
        """Parse proof bytes for ``statement``; every shape is checked against it before
        anything of a claimed size is allocated."""
        params = params or PCSParams.default()
        reader = Reader(data)
        witness = _checked_commitment(
            Commitment.read_from(reader), statement, statement.width + 1, params, "witness"
        )
        helper = _checked_commitment(
            Commitment.read_from(reader), statement, HELPER_TABLES, params, "helper"
        )
        sumcheck = ZkSumcheckProof.read_from(
            reader, statement.num_vars, DEGREE, TensorPcsMaskScheme(params)
        )
        count = statement.width + 1 + HELPER_TABLES
        finals = reader.ext_vec("final values", expected=count, max_count=count)
        opening = OpeningProof.read_from(reader, [witness, helper], [1, 1])
        reader.finish("zero-knowledge lookup proof")
        return cls(witness, helper, sumcheck, finals, opening)


def _checked_commitment(
    commitment: object,
    statement: ZkLookupStatement,
    tables: int,
    params: PCSParams,
    what: str,
) -> Commitment:
    if not isinstance(commitment, Commitment):
        raise VerificationError(Reject.MALFORMED, f"the {what} commitment is not a commitment")
    if not commitment.hiding or commitment.mask_groups != 1:
        raise VerificationError(
            Reject.PARAMETER_MISMATCH, f"the {what} commitment must be hiding, for one point"
        )
    if commitment.num_vars != statement.num_vars or commitment.num_polynomials != tables:
        raise VerificationError(
            Reject.PARAMETER_MISMATCH,
            f"the {what} commitment holds {commitment.num_polynomials} tables of "
            f"2^{commitment.num_vars}, expected {tables} of 2^{statement.num_vars}",
        )
    if commitment.params != params:
        raise VerificationError(
            Reject.PARAMETER_MISMATCH, f"the {what} commitment uses other parameters"
        )
    return commitment


def _start(statement: ZkLookupStatement, params: PCSParams) -> Transcript:
    transcript = Transcript(DOMAIN)
    transcript.absorb_bytes("statement", statement.digest())
    writer = Writer()
    Commitment(bytes(32), 0, 0, 1, False, 0, params).write_to(writer)
    transcript.absorb_bytes("parameters", writer.getvalue())
    return transcript


def _draw_alpha_beta(transcript: Transcript) -> tuple[np.ndarray, np.ndarray]:
    return transcript.challenge_ext("alpha"), transcript.challenge_ext("beta")


def _draw_zero_check(transcript: Transcript, log_size: int) -> tuple[np.ndarray, ...]:
    tau = transcript.challenge_exts("tau", log_size)
    return tau, transcript.challenge_ext("lambda1"), transcript.challenge_ext("lambda2")


def _compress(columns: list[Array], beta: np.ndarray) -> np.ndarray:
    """Σ_c β^c·column_c as a (4, n) challenge-field vector."""
    out = ext.from_base(np.asarray(columns[0], np.int64))
    power = ext.one()
    for column in columns[1:]:
        power = ext.mul(power, beta)
        spread = np.ascontiguousarray(np.broadcast_to(power[:, None], out.shape))
        out = ext.add(out, ext.mul_base(spread, np.asarray(column, np.int64)))
    return np.asarray(out)


def _basis(limb: int) -> np.ndarray:
    element = np.zeros(ext.DEGREE, dtype=np.int64)
    element[limb] = 1
    return element


def _from_limbs(values: list[np.ndarray]) -> np.ndarray:
    """Σ_l X^l·v_l for the four limb evaluations v_l of a committed challenge-field vector."""
    out = ext.zero()
    for limb, value in enumerate(values):
        out = ext.add(out, ext.mul(_basis(limb), value))
    return np.asarray(out)


def _selector_point(tau: np.ndarray) -> np.ndarray:
    """(0, τ): eq((0, τ), ·) = (1 − x_0)·eq(τ, ·)."""
    return np.concatenate([np.zeros((ext.DEGREE, 1), np.int64), tau], axis=1)


def padded_table_values(statement: ZkLookupStatement) -> list[np.ndarray]:
    """Each table column padded to 2^L rows with its row 0."""
    size = 1 << statement.log_size
    out = []
    for column in statement.table.column_values():
        padded = np.full(size, column[0], dtype=np.int64)
        padded[: column.shape[0]] = column
        out.append(padded)
    return out


def padded_table_at(statement: ZkLookupStatement, point: np.ndarray) -> list[np.ndarray]:
    """The padded columns' MLEs at a (4, L) point, in O(k) per index column."""
    extra = statement.log_size - statement.table.log_size
    hi, lo = point[:, :extra], point[:, extra:]
    inside = multilinear.eq_eval(hi, np.zeros_like(hi)) if extra else ext.one()
    outside = ext.sub(ext.one(), inside)
    out = []
    for column, value in zip(
        statement.table.column_values(), statement.table.evaluate_columns(lo), strict=True
    ):
        first = ext.from_base(np.asarray([column[0]], np.int64))[:, 0]
        out.append(ext.add(ext.mul(inside, value), ext.mul(outside, first)))
    return out


class _Combiner:
    """C(S, E, H, G, Â, T̂, M) = S·(H − G) + λ_1·E·(H·(α − Â) − 1) + λ_2·E·(G·(α − T̂) − M)."""

    def __init__(self, alpha: np.ndarray, lambda1: np.ndarray, lambda2: np.ndarray) -> None:
        self.alpha, self.lambda1, self.lambda2 = alpha, lambda1, lambda2

    def __call__(self, values: list[Array]) -> Array:
        """Each value a (4, m) challenge-field vector; returns (4, m)."""
        s, e, h, g, a, t, m = values
        width = a.shape[1]

        def spread(element: np.ndarray) -> np.ndarray:
            return np.ascontiguousarray(np.broadcast_to(element[:, None], (ext.DEGREE, width)))

        alpha = spread(self.alpha)
        linear = ext.mul(s, ext.sub(h, g))
        inverse = ext.sub(ext.mul(h, ext.sub(alpha, a)), spread(ext.one()))
        fraction = ext.sub(ext.mul(g, ext.sub(alpha, t)), m)
        checks = ext.add(
            ext.mul(spread(self.lambda1), inverse), ext.mul(spread(self.lambda2), fraction)
        )
        return ext.add(linear, ext.mul(e, checks))


def _doubled(values: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
    noise = random_elements((1, values.shape[0]), rng)[0]
    return np.concatenate([np.asarray(values, np.int64), noise])


def witness_multiplicities(statement: ZkLookupStatement, rows: list[np.ndarray]) -> np.ndarray:
    """m over the padded table (2^L rows); a row absent from the table is a ProverError."""
    size = 1 << statement.log_size
    padded = [_pad_rows(statement, c, column) for c, column in enumerate(rows)]
    public = LookupStatement(statement.table, 1, statement.log_size)
    counts = compute_multiplicities(public, [padded])
    out = np.zeros(size, dtype=np.int64)
    out[: counts.shape[0]] = counts
    return out


def _pad_rows(statement: ZkLookupStatement, column: int, values: np.ndarray) -> np.ndarray:
    first = int(statement.table.column_values()[column][0])
    padded = np.full(1 << statement.log_size, first, dtype=np.int64)
    padded[: values.shape[0]] = values
    return padded


def _check_rows(statement: ZkLookupStatement, rows: list[Array]) -> list[np.ndarray]:
    if len(rows) != statement.width:
        raise ProverError(f"{len(rows)} witness columns, the table has {statement.width}")
    out = []
    for c, column in enumerate(rows):
        values = np.asarray(column, dtype=np.int64)
        if values.shape != (statement.num_rows,):
            raise ProverError(
                f"witness column {c} has shape {values.shape}, expected ({statement.num_rows},)"
            )
        if not base.is_canonical(values):
            raise ProverError(f"witness column {c} holds values outside [0, p)")
        out.append(values)
    return out


def prove(
    statement: ZkLookupStatement,
    rows: list[Array],
    params: PCSParams | None = None,
    rng: np.random.Generator | None = None,
) -> ZkLookupProof:
    """Commit the witness rows (``table.width`` base-field vectors of N values) and prove they
    lie in the table, in zero knowledge. Randomness comes from the OS CSPRNG unless ``rng``
    (a numpy generator, for reproducible tests only) is given."""
    columns = _check_rows(statement, rows)
    return prove_with_multiplicities(
        statement, columns, witness_multiplicities(statement, columns), params, rng
    )


def prove_with_multiplicities(
    statement: ZkLookupStatement,
    rows: list[np.ndarray],
    multiplicities: np.ndarray,
    params: PCSParams | None = None,
    rng: np.random.Generator | None = None,
) -> ZkLookupProof:
    """The protocol for given multiplicities (2^L base-field values); :func:`prove` computes
    them and refuses rows outside the table. Exposed so tests can run cheating provers."""
    params = params or PCSParams.default()
    transcript = _start(statement, params)
    witness = [_pad_rows(statement, c, column) for c, column in enumerate(rows)]
    committed = [_doubled(column, rng) for column in [*witness, multiplicities]]
    witness_commitment, witness_data = pcs.commit_many(committed, params, True, rng)
    transcript.absorb_bytes("witness_commitment", witness_commitment.to_bytes())
    core = prove_core(statement, committed[:-1], committed[-1], transcript, params, rng)
    finals = [multilinear.evaluate(t, core.point) for t in [*committed, *core.helpers]]
    finals_array = np.stack(finals, axis=1)
    transcript.absorb_ext("finals", finals_array)
    values, opening = pcs.batch_open(
        [(witness_data, core.point), (core.helper_data, core.point)], transcript
    )
    if not ext.equal(np.concatenate(values, axis=1), finals_array):
        raise ProverError("the opened tables differ from the final values")
    return ZkLookupProof(
        witness_commitment, core.helper_commitment, core.sumcheck, finals_array, opening
    )


@dataclass
class CoreProver:
    """What the lookup's core leaves its caller: the helper commitment (to absorb in the proof
    and open at ``point``), its prover data and tables, the masked sumcheck and its point."""

    helper_commitment: Commitment
    helper_data: pcs.ProverData
    helpers: list[np.ndarray]
    sumcheck: ZkSumcheckProof
    point: np.ndarray
    """r' = (ζ, r), (4, L + 1): every witness column, m and every helper table are claimed
    here."""


def prove_core(
    statement: ZkLookupStatement,
    columns: list[np.ndarray],
    multiplicities: np.ndarray,
    transcript: Transcript,
    params: PCSParams,
    rng: np.random.Generator | None,
) -> CoreProver:
    """The lookup on doubled columns (each 2^(L+1) base-field values, the first half the real
    rows) and doubled multiplicities that the caller has committed and absorbed: draws α, β,
    commits and absorbs the helper columns, draws τ, λ and runs the masked sumcheck. The caller
    then sends the columns', m's and helpers' values at ``point`` and settles them."""
    size = 1 << statement.log_size
    alpha, beta = _draw_alpha_beta(transcript)
    a_hat = _compress([c[:size] for c in columns], beta)
    t_hat = _compress(padded_table_values(statement), beta)
    witness_gaps = ext.sub(alpha[:, None], a_hat)
    table_gaps = ext.sub(alpha[:, None], t_hat)
    if not witness_gaps.any(axis=0).all() or not table_gaps.any(axis=0).all():
        raise ProverError("α equals a looked-up value (probability 2^-120); prove again")
    h = ext.batch_inv(witness_gaps)
    g = ext.mul(ext.from_base(multiplicities[:size]), ext.batch_inv(table_gaps))
    helpers = [_doubled(part[limb], rng) for part in (h, g) for limb in range(ext.DEGREE)]
    helper_commitment, helper_data = pcs.commit_many(helpers, params, True, rng)
    transcript.absorb_bytes("helper_commitment", helper_commitment.to_bytes())
    tau, lambda1, lambda2 = _draw_zero_check(transcript, statement.log_size)
    tables = _sumcheck_tables([*columns, multiplicities], helpers, tau, beta, t_hat)
    result = prove_zk(
        tables,
        _Combiner(alpha, lambda1, lambda2),
        DEGREE,
        ext.zero(),
        transcript,
        TensorPcsMaskScheme(params),
        rng,
        label="zk_lookup",
    )
    return CoreProver(helper_commitment, helper_data, helpers, result.proof, result.point)


def _sumcheck_tables(
    committed: list[np.ndarray],
    helpers: list[np.ndarray],
    tau: np.ndarray,
    beta: np.ndarray,
    t_hat: np.ndarray,
) -> list[Array]:
    size = committed[0].shape[0] // 2
    selector = np.concatenate([np.ones(size, np.int64), np.zeros(size, np.int64)])
    eq = multilinear.eq_table(_selector_point(tau))
    h = np.stack([limb for limb in helpers[: ext.DEGREE]])
    g = np.stack([limb for limb in helpers[ext.DEGREE :]])
    a_hat = _compress(committed[:-1], beta)
    t_doubled = np.concatenate([t_hat, t_hat], axis=1)
    return [selector, eq, h, g, a_hat, t_doubled, committed[-1]]


@dataclass
class CoreReplay:
    """The verifier's side of the core up to the final check."""

    alpha: np.ndarray
    beta: np.ndarray
    tau: np.ndarray
    lambda1: np.ndarray
    lambda2: np.ndarray
    point: np.ndarray
    expected: np.ndarray
    """The masked sumcheck's final value, which :func:`check_core` compares."""


def verify_core(
    statement: ZkLookupStatement,
    helper_commitment: Commitment,
    sumcheck: ZkSumcheckProof,
    transcript: Transcript,
    params: PCSParams,
) -> CoreReplay:
    """Absorb what :func:`prove_core` absorbs and check the masked sumcheck's rounds."""
    helper = _checked_commitment(helper_commitment, statement, HELPER_TABLES, params, "helper")
    alpha, beta = _draw_alpha_beta(transcript)
    transcript.absorb_bytes("helper_commitment", helper.to_bytes())
    tau, lambda1, lambda2 = _draw_zero_check(transcript, statement.log_size)
    point, expected = verify_zk(
        sumcheck,
        statement.num_vars,
        DEGREE,
        ext.zero(),
        transcript,
        TensorPcsMaskScheme(params),
        label="zk_lookup",
    )
    return CoreReplay(alpha, beta, tau, lambda1, lambda2, point, expected)


def core_value(
    statement: ZkLookupStatement,
    replay: CoreReplay,
    column_values: list[np.ndarray],
    multiplicity_value: np.ndarray,
    helper_values: list[np.ndarray],
) -> np.ndarray:
    """C(S, E, H, G, Â, T̂, M) at r' from the claimed values (the table's part is public)."""
    point = replay.point
    h_value = _from_limbs(helper_values[: ext.DEGREE])
    g_value = _from_limbs(helper_values[ext.DEGREE :])
    a_hat = _compress_values(column_values, replay.beta)
    t_hat = _compress_values(padded_table_at(statement, point[:, 1:]), replay.beta)
    selector = ext.sub(ext.one(), point[:, 0])
    eq = multilinear.eq_eval(_selector_point(replay.tau), point)
    factors = (selector, eq, h_value, g_value, a_hat, t_hat, multiplicity_value)
    combiner = _Combiner(replay.alpha, replay.lambda1, replay.lambda2)
    return np.asarray(combiner([np.asarray(v)[:, None] for v in factors])[:, 0])


def check_core(
    statement: ZkLookupStatement,
    replay: CoreReplay,
    column_values: list[np.ndarray],
    multiplicity_value: np.ndarray,
    helper_values: list[np.ndarray],
) -> None:
    value = core_value(statement, replay, column_values, multiplicity_value, helper_values)
    if not ext.equal(value, replay.expected):
        raise VerificationError(
            Reject.FINAL_EVALUATION_MISMATCH, "the final values do not satisfy the lookup checks"
        )


@dataclass
class _Replayed:
    """The standalone verifier's side up to the opening."""

    transcript: Transcript
    witness: Commitment
    helper: Commitment
    finals: np.ndarray
    core: CoreReplay

    @property
    def point(self) -> np.ndarray:
        return self.core.point


def _replay(statement: ZkLookupStatement, proof: ZkLookupProof, params: PCSParams) -> _Replayed:
    width = statement.width
    witness = _checked_commitment(proof.witness_commitment, statement, width + 1, params, "witness")
    helper = _checked_commitment(
        proof.helper_commitment, statement, HELPER_TABLES, params, "helper"
    )
    finals = np.asarray(proof.finals)
    count = width + 1 + HELPER_TABLES
    if finals.shape != (ext.DEGREE, count) or finals.dtype.kind not in "iu":
        raise VerificationError(
            Reject.LENGTH_OUT_OF_BOUNDS, f"final values of shape {finals.shape}, not (4, {count})"
        )
    finals = finals.astype(np.int64)
    if not ext.is_canonical(finals):
        raise VerificationError(Reject.NON_CANONICAL_FIELD_ELEMENT, "a final value is not below p")
    transcript = _start(statement, params)
    transcript.absorb_bytes("witness_commitment", witness.to_bytes())
    core = verify_core(statement, helper, proof.sumcheck, transcript, params)
    return _Replayed(transcript, witness, helper, finals, core)


def replay_point(
    statement: ZkLookupStatement, proof: ZkLookupProof, params: PCSParams | None = None
) -> np.ndarray:
    """The point r' = (ζ, r) at which a proof's final values are claimed, (4, L + 1)."""
    return _replay(statement, proof, params or PCSParams.default()).point


def verify(
    statement: ZkLookupStatement, proof: ZkLookupProof, params: PCSParams | None = None
) -> None:
    """Accept (return None) or raise VerificationError with the first failing check."""
    params = params or PCSParams.default()
    replayed = _replay(statement, proof, params)
    finals, width = replayed.finals, statement.width
    columns = [finals[:, i] for i in range(finals.shape[1])]
    check_core(statement, replayed.core, columns[:width], columns[width], columns[width + 1 :])
    transcript, point = replayed.transcript, replayed.point
    transcript.absorb_ext("finals", finals)
    split = width + 1
    pcs.batch_verify(
        [
            (replayed.witness, point, finals[:, :split]),
            (replayed.helper, point, finals[:, split:]),
        ],
        proof.opening,
        transcript,
        params,
    )


def _compress_values(values: list[np.ndarray], beta: np.ndarray) -> np.ndarray:
    out = values[0]
    power = ext.one()
    for value in values[1:]:
        power = ext.mul(power, beta)
        out = ext.add(out, ext.mul(power, value))
    return out


def verify_bytes(
    statement: ZkLookupStatement, data: bytes, params: PCSParams | None = None
) -> None:
    """Parse and verify; hostile bytes only ever raise VerificationError."""
    verify(statement, ZkLookupProof.from_bytes(data, statement, params), params)


def soundness_bits(statement: ZkLookupStatement, params: PCSParams | None = None) -> float:
    """−log2 of the total soundness error (module docstring), the PCS included."""
    params = params or PCSParams.default()
    size = 1 << statement.log_size
    field = 2.0**-FIELD_BITS
    errors = [
        2 * statement.log_size * field,  # the two zero-checks
        2 * field,  # λ batching
        2 * size * max(1, statement.width - 1) * field,  # logUp and β compression
        statement.num_vars * (DEGREE + 1) * field,  # the masked sumcheck
        2.0 ** -pcs.pcs_soundness_bits(params, statement.num_vars, hiding=True),
    ]
    return -math.log2(sum(errors))


__all__ = [
    "ZkLookupProof",
    "ZkLookupStatement",
    "prove",
    "check_core",
    "prove_core",
    "prove_with_multiplicities",
    "verify_core",
    "replay_point",
    "soundness_bits",
    "verify",
    "verify_bytes",
]

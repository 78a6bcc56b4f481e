"""The hidden-weights range prover: made once, when a hidden model is committed, as the first
opening of its commitment (the protocol is in :mod:`provers.weight_range.hidden`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from provers.commit import pcs
from provers.commit.pcs.prover import combine_rows, random_elements
from provers.container import ProofFile, Protocol, statement_digest
from provers.errors import ProverError
from provers.field import ext
from provers.lookup.zk import ZkLookupStatement, prove_core, witness_multiplicities
from provers.params import ProofParameters
from provers.poly import multilinear
from provers.standalone.common import write_parameters
from provers.sumcheck.combiners import product
from provers.sumcheck.mask_commitment import TensorPcsMaskScheme
from provers.sumcheck.zk import ZkSumcheckResult, prove_zk
from provers.transcript import Transcript
from provers.weight_range.hidden import protocol
from provers.weight_range.hidden.proof import HiddenRangeProof
from provers.weight_range.hidden.protocol import LookupPoint
from provers.weight_range.hidden.soundness import proof_bits
from provers.weight_range.prover import _check_int8 as check_int8
from provers.weight_range.prover import looked_up_vector
from provers.weight_range.statement import Statement, WeightRegions, regions_of

if TYPE_CHECKING:
    from provers.private.model import HiddenModel


def prove(
    hidden: HiddenModel,
    params: ProofParameters | None = None,
    rng: np.random.Generator | None = None,
) -> bytes:
    """The range proof file of a hidden model, spending its commitment's first ticket.

    Refuses (ProverError) a weight-block entry outside [−128, 127], a commitment already
    opened, and a shape under the minimum soundness. Randomness comes from the OS CSPRNG unless
    ``rng`` (tests and benchmarks only) is given. Absorbs what :mod:`.protocol` lists, in order.
    """
    regions = _regions(hidden)
    check_int8(hidden.weights, regions)
    lookup = _lookup(regions)
    multiplicities = witness_multiplicities(lookup, [looked_up_vector(hidden.weights, regions)])
    return prove_with_multiplicities(hidden, multiplicities, params, rng)


def prove_with_multiplicities(
    hidden: HiddenModel,
    multiplicities: np.ndarray,
    params: ProofParameters | None = None,
    rng: np.random.Generator | None = None,
) -> bytes:
    """The protocol for given multiplicities (2^L values over the padded table); :func:`prove`
    computes them and refuses weights outside int8. Exposed so tests can run cheating
    provers."""
    params = params or ProofParameters(pcs=hidden.commitment.params)
    regions = _regions(hidden)
    lookup = _lookup(regions)
    bits = _check(hidden, params, regions)
    statement = Statement(
        bytes.fromhex(hidden.digest), hidden.model.circuit_bytes(), hidden.commitment
    )
    statement_bytes = statement.to_bytes()
    parameter_bytes = write_parameters(params)
    transcript = protocol.start_transcript(
        statement_digest(Protocol.WEIGHT_RANGE_HIDDEN, statement_bytes), parameter_bytes
    )
    column = looked_up_column(hidden, regions, lookup)
    doubled = np.concatenate([np.asarray(multiplicities, np.int64), _uniform(lookup, rng)])
    multiplicity, multiplicity_data = pcs.commit(doubled, params.pcs, hiding=True, rng=rng)
    protocol.absorb_multiplicities(transcript, multiplicity.to_bytes())
    core = prove_core(lookup, [column], doubled, transcript, params.pcs, rng)
    finals = np.stack(
        [multilinear.evaluate(t, core.point) for t in [column, doubled, *core.helpers]], axis=1
    )
    protocol.absorb_finals(transcript, finals)
    point = LookupPoint.split(core.point, regions)
    tie = _prove_tie(hidden, regions, point, finals[:, 0], transcript, params, rng)
    model_value = tie.final_values[2]
    protocol.absorb_model_value(transcript, model_value)
    requests = [
        (multiplicity_data, core.point),
        (core.helper_data, core.point),
        (hidden.prover_data, protocol.model_point(tie.point, point)),
    ]
    opened, opening = _open_with_range_ticket(hidden, requests, transcript)
    claimed = [finals[:, 1:2], finals[:, 2:], model_value[:, None]]
    if not all(ext.equal(o, c) for o, c in zip(opened, claimed, strict=True)):
        raise ProverError("an opened value differs from the claim it settles")
    proof = HiddenRangeProof(
        multiplicity, core.helper_commitment, core.sumcheck, finals, tie.proof, model_value, opening
    )
    return ProofFile(
        Protocol.WEIGHT_RANGE_HIDDEN,
        parameter_bytes,
        int(bits),
        statement_bytes,
        proof.to_bytes(params.pcs),
    ).to_bytes()


def _open_with_range_ticket(
    hidden: HiddenModel,
    requests: list[tuple[pcs.ProverData, np.ndarray]],
    transcript: Transcript,
) -> tuple[list[np.ndarray], pcs.OpeningProof]:
    """The batch opening, M2's with the ticket kept for this proof (an opening takes its
    commitment's lowest unused ticket, so every proof ticket is marked while it runs); after it
    only that ticket is spent, whether or not the opening finished."""
    data, ticket = hidden.prover_data, hidden.range_ticket
    data.used_tickets = set(range(hidden.commitment.tickets)) - {ticket}
    try:
        return pcs.batch_open(requests, transcript)
    finally:
        data.used_tickets = {ticket} & data.used_tickets


def _regions(hidden: HiddenModel) -> WeightRegions:
    try:
        return regions_of(hidden.layout)
    except ValueError as error:
        raise ProverError(f"the weight layout: {error}") from None


def _lookup(regions: WeightRegions) -> ZkLookupStatement:
    try:
        return protocol.lookup_statement(regions.num_vars)
    except ValueError as error:
        raise ProverError(f"the weight table is too large for one lookup: {error}") from None


def _check(hidden: HiddenModel, params: ProofParameters, regions: WeightRegions) -> float:
    """Refuse, before any work, a proof the verifier would refuse or one that would reuse a
    ticket; return the proof's soundness bits."""
    commitment = hidden.commitment
    if commitment.params != params.pcs:
        raise ProverError("the model was committed under other PCS parameters")
    if (
        not commitment.hiding
        or commitment.num_polynomials != 1
        or commitment.num_vars != regions.num_vars + 1
    ):
        raise ProverError("a hidden model's range proof opens its doubled weight table, hiding")
    if hidden.prover_data.used_tickets:
        raise ProverError(
            "the weight range proof is the first opening of a hidden model's commitment, made "
            "when it is committed; this commitment has been opened already"
        )
    bits = proof_bits(params, regions, commitment)
    if bits < params.min_soundness_bits:
        raise ProverError(
            f"a weight range proof of this hidden model gives {bits:.1f} bits of soundness, "
            f"under {params.min_soundness_bits}"
        )
    return bits


def looked_up_column(
    hidden: HiddenModel, regions: WeightRegions, lookup: ZkLookupStatement
) -> np.ndarray:
    """A2 = (sel·T + 128 ‖ sel·T′ + 128) on the doubled domain, each half padded with zeros
    (the range table's row 0) to the lookup's 2^L rows."""
    padding = np.zeros((1 << lookup.log_size) - (1 << regions.num_vars), dtype=np.int64)
    halves = [looked_up_vector(half, regions) for half in (hidden.weights, hidden.noise)]
    return np.concatenate([halves[0], padding, halves[1], padding])


def _uniform(lookup: ZkLookupStatement, rng: np.random.Generator | None) -> np.ndarray:
    return np.asarray(random_elements((1, 1 << lookup.log_size), rng)[0], dtype=np.int64)


def _prove_tie(
    hidden: HiddenModel,
    regions: WeightRegions,
    point: LookupPoint,
    looked_up_value: np.ndarray,
    transcript: Transcript,
    params: ProofParameters,
    rng: np.random.Generator | None,
) -> ZkSumcheckResult:
    """Σ_{x_0, y} w·eq((ζ, r_hi), (x_0, y))·sel(y)·g(x_0, y) = A2(r') − 128·w, masked; its
    final values are w·eq, sel and g = M2(·, ·, r_lo) at (s_0, s_y)."""
    doubled = np.concatenate([hidden.weights, hidden.noise])
    rows = doubled.reshape(-1, 1 << regions.column_vars)
    folded = combine_rows(multilinear.eq_table(point.low), np.ascontiguousarray(rows.T))
    weight = point.padding_weight
    eq = ext.mul(multilinear.eq_table(point.tie_prefix), weight)
    selector = np.tile(regions.row_mask(), 2)
    return prove_zk(
        [eq, selector, folded],
        product(3),
        protocol.TIE_DEGREE,
        protocol.tie_claim(looked_up_value, weight),
        transcript,
        TensorPcsMaskScheme(params.pcs),
        rng,
        label=protocol.TIE_LABEL,
    )

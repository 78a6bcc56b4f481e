"""A model whose weights stay hidden: one hiding commitment to its doubled weight table, opened
by a bounded number of proofs.

M2 = (T ‖ T′), T the weight table of :mod:`provers.inference.weights` (2^N entries, weight
blocks then biases) and T′ uniform, is committed once with the hiding PCS with B tickets
(:mod:`provers.commit.pcs`): each private-weights proof opens it once, at one point, with its
own ticket. Proofs read T only through M2 at points (ζ, p) with ζ a challenge, i.e. the values
(1 − ζ)·T(p) + ζ·T′(p); over all B proofs these are jointly uniform whatever T holds while the
map from T′ to them has full rank. Each claim is four base-field coordinates of T′ on its
region (a weight block's rows and columns, the bias block, or the whole table for stage C), so
every region needs 4·(claims on it per proof)·B ≤ its entries:
:func:`provers.private.relations.check_budget` refuses a budget the model is too small for,
here before anything is committed. The PCS's own argument covers its openings over all B
tickets. After B proofs the commitment is spent: more proofs would reveal more of T′ than it
can hide, so the prover refuses them.

The weight range proof. Nothing in those proofs says the hidden weights are int8, and nobody
can inspect them, so :func:`commit_hidden_model` proves it once, in zero knowledge
(:mod:`provers.weight_range.hidden`), as the commitment's first opening. The commitment is made
with B + 1 tickets for a budget of B proofs: the range proof spends the last one, ticket B, and
tickets 0..B − 1 are the B proofs' as they would be without it (``tickets`` and ``proofs_left``
count those alone). The range proof reveals one more proof's worth of claims on T′ at most (one
on the weight blocks, one on the whole table), so the budget is checked for B + 1 proofs.

The digest is the public models' (SHA-256("veriml/model/v1" ‖ circuit digest ‖ commitment
bytes)); the commitment's hiding flag and ticket count set the two kinds apart, so one model
has one kind for life.

File (.vmc, kept as private as the weights: it holds T′ and the PCS randomness): magic "VMCZ",
u16 version, then blobs: model bytes, commitment bytes, T′ (u32 little-endian), the PCS prover
data (its messages, salts and used tickets, the range proof's among them), the weight range
proof file. Version 2 added the range proof; a version-1 file is refused (commit again).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from provers.circuit.model import ModelError, QuantisedModel
from provers.circuit.serialize import model_from_bytes, model_to_bytes
from provers.commit import pcs
from provers.commit.pcs.params import smallest_commitment_row_vars
from provers.commit.pcs.prover import ProverData, random_elements
from provers.container import ProofFile, Protocol
from provers.errors import ProverError, VerificationError
from provers.field import base
from provers.inference.model_commitment import pack_blobs, unpack_blobs
from provers.inference.statement import model_digest
from provers.inference.weights import WeightLayout, weight_layout, weight_table
from provers.params import ProofParameters

MAGIC = b"VMCZ"
VERSION = 2
BLOBS = 5
DEFAULT_TICKETS = 16
"""Proofs one hidden-weights commitment serves by default."""
RANGE_PROOF_TICKETS = 1
"""Tickets the commitment holds beyond its budget of proofs: the weight range proof's."""


@dataclass(eq=False)
class HiddenModel:
    model: QuantisedModel
    layout: WeightLayout
    commitment: pcs.Commitment
    prover_data: ProverData = field(repr=False)
    noise: np.ndarray = field(repr=False)
    """T′, uniform, 2^N base-field values."""
    range_proof: bytes = field(default=b"", repr=False)
    """The zero-knowledge weight range proof file, made by :func:`commit_hidden_model`."""

    @property
    def digest(self) -> str:
        return model_digest(self.model.circuit_digest, self.commitment).hex()

    @property
    def tickets(self) -> int:
        """B: the inference and audit proofs the commitment serves (tickets 0..B − 1)."""
        return self.commitment.tickets - RANGE_PROOF_TICKETS

    @property
    def range_ticket(self) -> int:
        """The ticket the weight range proof spent: B, the commitment's last."""
        return self.tickets

    @property
    def used_tickets(self) -> set[int]:
        return set(self.prover_data.used_tickets)

    @property
    def proofs_left(self) -> int:
        """Unspent proof tickets; the range proof's is never one of them, even when a caller
        that allocates tickets itself has overwritten the used set."""
        used = self.prover_data.used_tickets
        return sum(1 for ticket in range(self.tickets) if ticket not in used)

    def weight_range_proof(self) -> bytes:
        """The proof file, made when the model was committed, that every weight is an int8
        without revealing them: anyone checks it with ``provers.api.verify`` against the
        digest."""
        if not self.range_proof:
            raise ProverError("this hidden model has no weight range proof: commit it again")
        return self.range_proof

    @cached_property
    def weights(self) -> np.ndarray:
        """T, canonical."""
        return weight_table(self.model, self.layout) % base.P

    def to_bytes(self) -> bytes:
        parts = [
            model_to_bytes(self.model),
            self.commitment.to_bytes(),
            np.ascontiguousarray(self.noise).astype("<u4").tobytes(),
            self.prover_data.to_bytes(),
            self.weight_range_proof(),
        ]
        return pack_blobs(MAGIC, VERSION, parts)

    @classmethod
    def from_bytes(cls, data: bytes) -> HiddenModel:
        """Load a hidden-weights .vmc; ModelError if it is malformed or does not match its
        commitment."""
        parts = unpack_blobs(
            data,
            MAGIC,
            VERSION,
            BLOBS,
            "hidden-weights model",
            ", which adds the weight range proof: commit the model again",
        )
        model = model_from_bytes(parts[0])
        try:
            commitment = pcs.Commitment.from_bytes(parts[1])
        except Exception as error:
            raise ModelError(f"commitment: {error}") from None
        layout = weight_layout(model, commitment.params)
        if (
            not commitment.hiding
            or commitment.num_vars != layout.log_size + 1
            or commitment.tickets <= RANGE_PROOF_TICKETS
        ):
            raise ModelError("the commitment's shape does not fit the model's hidden weights")
        if len(parts[2]) != 4 << layout.log_size:
            raise ModelError("the random half of the weight table has the wrong size")
        noise = np.frombuffer(parts[2], dtype="<u4").astype(np.int64)
        if not base.is_canonical(noise):
            raise ModelError("the random half of the weight table is not canonical")
        try:
            prover_data = ProverData.from_bytes(commitment, parts[3])
        except ProverError as error:
            raise ModelError(f"commitment data: {error}") from None
        hidden = cls(model, layout, commitment, prover_data, noise, parts[4])
        doubled = np.concatenate([hidden.weights, noise])
        if not np.array_equal(_table_of(prover_data, commitment), doubled):
            raise ModelError("the committed table is not these weights and their random half")
        _check_range_proof(hidden)
        return hidden


def _check_range_proof(hidden: HiddenModel) -> None:
    """The stored range proof must be a proof file about this model, and its ticket recorded as
    spent (not checked further: any verifier does that from the file alone)."""
    from provers.weight_range.statement import Statement

    try:
        proof = ProofFile.from_bytes(hidden.range_proof)
    except VerificationError as error:
        raise ModelError(f"the weight range proof is unreadable: {error}") from None
    expected = Statement(
        bytes.fromhex(hidden.digest), hidden.model.circuit_bytes(), hidden.commitment
    )
    if proof.protocol is not Protocol.WEIGHT_RANGE_HIDDEN or proof.statement != expected.to_bytes():
        raise ModelError("the stored weight range proof is not about this model")
    if hidden.range_ticket not in hidden.prover_data.used_tickets:
        raise ModelError("the ticket the weight range proof spent is not recorded as spent")


def _table_of(data: ProverData, commitment: pcs.Commitment) -> np.ndarray:
    """The committed table, read back from the commitment's row messages."""
    rows = 1 << commitment.row_vars
    columns = 1 << (commitment.num_vars - commitment.row_vars)
    return np.asarray(data.coefficients[:rows, :columns]).reshape(-1)


def largest_budget(model: QuantisedModel, params: ProofParameters | None = None) -> int:
    """The most proofs a hidden commitment of ``model`` can keep its weights hidden for, the
    weight range proof's opening aside."""
    from provers.private.plan import PrivatePlan
    from provers.private.relations import max_tickets

    params = params or ProofParameters.default()
    plan = PrivatePlan(model, 1, False, True, pcs=params.pcs, private_weights=True)
    return max(0, max_tickets(plan) - RANGE_PROOF_TICKETS)


def commit_hidden_model(
    model: QuantisedModel,
    params: ProofParameters | None = None,
    tickets: int = DEFAULT_TICKETS,
    rng: np.random.Generator | None = None,
) -> HiddenModel:
    """Commit ``model``'s weights hidden, for ``tickets`` (B) private-weights proofs, and prove
    them int8 in zero knowledge (see the module docstring): the commitment holds B + 1 tickets,
    the range proof spends ticket B now, and B proofs remain. Refuses (ProverError) a model the
    private mode cannot prove, a budget its weight table cannot hide together with the range
    proof, and a weight outside [−128, 127]. Randomness from the OS unless ``rng`` is given
    (tests only)."""
    from provers.weight_range.hidden import prove as prove_range

    params = params or ProofParameters.default()
    model.validate()
    _check_budget(model, params, tickets)
    layout = weight_layout(model, params.pcs)
    table = weight_table(model, layout) % base.P
    noise = random_elements((1, table.shape[0]), rng)[0]
    committed_tickets = tickets + RANGE_PROOF_TICKETS
    row_vars = smallest_commitment_row_vars(
        layout.log_size + 1, params.pcs, True, committed_tickets
    )
    commitment, data = pcs.commit(
        np.concatenate([table, noise]),
        params.pcs,
        hiding=True,
        rng=rng,
        row_vars=row_vars,
        max_points=1,
        tickets=committed_tickets,
    )
    hidden = HiddenModel(model, layout, commitment, data, noise)
    hidden.range_proof = prove_range(hidden, params, rng)
    return hidden


def _check_budget(model: QuantisedModel, params: ProofParameters, tickets: int) -> None:
    """B proofs and the range proof must all be hidden by T′: the budget is checked for B + 1
    proofs, before anything is committed."""
    from provers.inference.layout import UnsupportedCircuit
    from provers.private.plan import PrivatePlan
    from provers.private.relations import check_budget, max_tickets

    if tickets < 1:
        raise ProverError("a hidden model serves at least one proof")
    try:
        plan = PrivatePlan(model, 1, False, True, pcs=params.pcs, private_weights=True)
    except UnsupportedCircuit as error:
        raise ProverError(f"private weights: {error}") from None
    try:
        check_budget(plan, tickets + RANGE_PROOF_TICKETS)
    except UnsupportedCircuit:
        limit = max(0, max_tickets(plan) - RANGE_PROOF_TICKETS)
        raise ProverError(
            f"private weights: the weight table has too few entries, too few to hide its "
            f"values over {tickets} proofs and the weight range proof; commit the model for at "
            f"most {limit} proofs"
        ) from None

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

The digest is the public models' (SHA-256("veriml/model/v1" ‖ circuit digest ‖ commitment
bytes)); the commitment's hiding flag and ticket count set the two kinds apart, so one model
has one kind for life.

File (.vmc, kept as private as the weights: it holds T′ and the PCS randomness): magic "VMCZ",
u16 version, then blobs: model bytes, commitment bytes, T′ (u32 little-endian), the PCS prover
data (its messages, salts and used tickets).
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
from provers.errors import ProverError
from provers.field import base
from provers.inference.model_commitment import pack_blobs, unpack_blobs
from provers.inference.statement import model_digest
from provers.inference.weights import WeightLayout, weight_layout, weight_table
from provers.params import ProofParameters

MAGIC = b"VMCZ"
VERSION = 1
DEFAULT_TICKETS = 16
"""Proofs one hidden-weights commitment serves by default."""


@dataclass(eq=False)
class HiddenModel:
    model: QuantisedModel
    layout: WeightLayout
    commitment: pcs.Commitment
    prover_data: ProverData = field(repr=False)
    noise: np.ndarray = field(repr=False)
    """T′, uniform, 2^N base-field values."""

    @property
    def digest(self) -> str:
        return model_digest(self.model.circuit_digest, self.commitment).hex()

    @property
    def tickets(self) -> int:
        return self.commitment.tickets

    @property
    def used_tickets(self) -> set[int]:
        return set(self.prover_data.used_tickets)

    @property
    def proofs_left(self) -> int:
        return self.prover_data.remaining_tickets

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
        ]
        return pack_blobs(MAGIC, VERSION, parts)

    @classmethod
    def from_bytes(cls, data: bytes) -> HiddenModel:
        """Load a hidden-weights .vmc; ModelError if it is malformed or does not match its
        commitment."""
        parts = unpack_blobs(data, MAGIC, VERSION, 4, "hidden-weights model")
        model = model_from_bytes(parts[0])
        try:
            commitment = pcs.Commitment.from_bytes(parts[1])
        except Exception as error:
            raise ModelError(f"commitment: {error}") from None
        layout = weight_layout(model, commitment.params)
        if not commitment.hiding or commitment.num_vars != layout.log_size + 1:
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
        hidden = cls(model, layout, commitment, prover_data, noise)
        doubled = np.concatenate([hidden.weights, noise])
        if not np.array_equal(_table_of(prover_data, commitment), doubled):
            raise ModelError("the committed table is not these weights and their random half")
        return hidden


def _table_of(data: ProverData, commitment: pcs.Commitment) -> np.ndarray:
    """The committed table, read back from the commitment's row messages."""
    rows = 1 << commitment.row_vars
    columns = 1 << (commitment.num_vars - commitment.row_vars)
    return np.asarray(data.coefficients[:rows, :columns]).reshape(-1)


def largest_budget(model: QuantisedModel, params: ProofParameters | None = None) -> int:
    """The most proofs a hidden commitment of ``model`` can keep its weights hidden for."""
    from provers.private.plan import PrivatePlan
    from provers.private.relations import max_tickets

    params = params or ProofParameters.default()
    return max_tickets(PrivatePlan(model, 1, False, True, pcs=params.pcs, private_weights=True))


def commit_hidden_model(
    model: QuantisedModel,
    params: ProofParameters | None = None,
    tickets: int = DEFAULT_TICKETS,
    rng: np.random.Generator | None = None,
) -> HiddenModel:
    """Commit ``model``'s weights hidden, for ``tickets`` private-weights proofs (see the
    module docstring); randomness from the OS unless ``rng`` is given (tests only)."""
    from provers.inference.layout import UnsupportedCircuit
    from provers.private.plan import PrivatePlan
    from provers.private.relations import check_budget

    params = params or ProofParameters.default()
    model.validate()
    try:
        check_budget(
            PrivatePlan(model, 1, False, True, pcs=params.pcs, private_weights=True), tickets
        )
    except UnsupportedCircuit as error:
        raise ProverError(f"private weights: {error}") from None
    layout = weight_layout(model, params.pcs)
    table = weight_table(model, layout) % base.P
    noise = random_elements((1, table.shape[0]), rng)[0]
    row_vars = smallest_commitment_row_vars(layout.log_size + 1, params.pcs, True, tickets)
    commitment, data = pcs.commit(
        np.concatenate([table, noise]),
        params.pcs,
        hiding=True,
        rng=rng,
        row_vars=row_vars,
        max_points=1,
        tickets=tickets,
    )
    return HiddenModel(model, layout, commitment, data, noise)

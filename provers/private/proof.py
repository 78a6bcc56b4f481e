"""The private-mode inference proof body: data only, with its canonical encoding.

Encoding, in order: the witness commitment (and an audit's data commitment); the bias claims
(ext vec, one per layer with weights; none with private weights); the relations' masked
sumcheck and its final values (ext vec); the window stage's masked sumcheck and its final
values, when a convolution reads a private input; the lookup's helper commitment, its masked
sumcheck and its final values; stage C's masked sumcheck, the witness value at its point (then
an audit's data value and, with private weights, the doubled weight table's value); the batch
opening. Every count is fixed by the plan, which the reader is given.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from provers.commit.pcs import Commitment, OpeningProof, PCSParams
from provers.encoding import Reader, Writer
from provers.sumcheck.mask_commitment import TensorPcsMaskScheme
from provers.sumcheck.zk import ZkSumcheckProof


@dataclass(frozen=True)
class ProofShape:
    """What the verifier derives from the plan before reading a proof."""

    layers: int
    relation_vars: int
    relation_degree: int
    relation_finals: int
    lookup_vars: int
    lookup_finals: int
    claim_vars: int
    weight_points: int
    audit: bool = False
    """An audit's proof also carries its data table's commitment and value."""
    private_weights: bool = False
    """The proof carries the doubled weight table's value at stage C's point, and opens the
    hidden model's commitment there once instead of the weight table at every claim."""
    window_vars: int = 0
    """The window stage's variables (0: no convolution reads a private input)."""
    window_groups: int = 0


@dataclass(frozen=True, eq=False)
class PrivateProof:
    witness_commitment: Commitment
    """Hiding commitment to W2 = (W ‖ W′), opened once at stage C's point."""
    biases: np.ndarray
    """(4, layers): each layer's bias MLE at its output-channel point ((4, 0) with private
    weights, whose biases are terms of the relations)."""
    relations: ZkSumcheckProof
    """The batched masked sumcheck of every layer's identities (provers/private/relations.py)."""
    relation_finals: np.ndarray
    """(4, count): each term's weight and vector values at its point, term after term."""
    lookup_helpers: Commitment
    """Hiding commitment to the lookup's helper columns (provers/lookup/zk.py)."""
    lookup: ZkSumcheckProof
    """The lookup's masked sumcheck."""
    lookup_finals: np.ndarray
    """(4, count): every slot the lookup reads and m at its point, then the eight helpers."""
    claims: ZkSumcheckProof
    """Stage C: every claim on W2 reduced to one point."""
    witness_value: np.ndarray
    """(4,): W2 at stage C's point."""
    opening: OpeningProof
    """One batch opening: W2, the helpers, (an audit's data table,) the weight table at every
    weight and bias claim, or the hidden model's doubled table at stage C's point."""
    data_commitment: Commitment | None = None
    """An audit's hiding commitment to its doubled test set (inputs, then labels)."""
    data_value: np.ndarray | None = None
    """(4,): the data table at stage C's point (audits)."""
    model_value: np.ndarray | None = None
    """(4,): the doubled weight table at stage C's point (private weights)."""
    windows: ZkSumcheckProof | None = None
    """The window stage: convolutions' patch claims on private inputs (windows.py)."""
    window_finals: np.ndarray | None = None
    """(4, groups): each group's input slot at the window stage's point."""

    def write_to(self, writer: Writer, params: PCSParams) -> None:
        scheme = TensorPcsMaskScheme(params)
        self.witness_commitment.write_to(writer)
        if self.data_commitment is not None:
            self.data_commitment.write_to(writer)
        writer.ext_vec(self.biases)
        self.relations.write_to(writer, scheme)
        writer.ext_vec(self.relation_finals)
        if self.windows is not None and self.window_finals is not None:
            self.windows.write_to(writer, scheme)
            writer.ext_vec(self.window_finals)
        self.lookup_helpers.write_to(writer)
        self.lookup.write_to(writer, scheme)
        writer.ext_vec(self.lookup_finals)
        self.claims.write_to(writer, scheme)
        writer.ext_elem(self.witness_value)
        if self.data_value is not None:
            writer.ext_elem(self.data_value)
        if self.model_value is not None:
            writer.ext_elem(self.model_value)
        self.opening.write_to(writer)

    def to_bytes(self, params: PCSParams) -> bytes:
        writer = Writer()
        self.write_to(writer, params)
        return writer.getvalue()

    @classmethod
    def from_bytes(
        cls, data: bytes, shape: ProofShape, params: PCSParams, weights: Commitment
    ) -> PrivateProof:
        scheme = TensorPcsMaskScheme(params)
        reader = Reader(data)
        witness = Commitment.read_from(reader)
        data_commitment = Commitment.read_from(reader) if shape.audit else None
        biases = reader.ext_vec("bias claims", expected=shape.layers, max_count=shape.layers)
        relations = ZkSumcheckProof.read_from(
            reader, shape.relation_vars, shape.relation_degree, scheme
        )
        count = shape.relation_finals
        relation_finals = reader.ext_vec("relation finals", expected=count, max_count=count)
        windows = window_finals = None
        if shape.window_groups:
            windows = ZkSumcheckProof.read_from(reader, shape.window_vars, 2, scheme)
            groups = shape.window_groups
            window_finals = reader.ext_vec("window finals", expected=groups, max_count=groups)
        helpers = Commitment.read_from(reader)
        lookup = ZkSumcheckProof.read_from(reader, shape.lookup_vars, 3, scheme)
        count = shape.lookup_finals
        lookup_finals = reader.ext_vec("lookup finals", expected=count, max_count=count)
        claims = ZkSumcheckProof.read_from(reader, shape.claim_vars, 2, scheme)
        witness_value = reader.ext_elem("witness value")
        data_value = reader.ext_elem("data value") if shape.audit else None
        model_value = reader.ext_elem("model value") if shape.private_weights else None
        trees = [witness, helpers, weights]
        points = [1, 1, 1 if shape.private_weights else shape.weight_points]
        if data_commitment is not None:
            trees.insert(2, data_commitment)
            points.insert(2, 1)
        opening = OpeningProof.read_from(reader, trees, points)
        reader.finish("private inference proof")
        return cls(
            witness,
            biases,
            relations,
            relation_finals,
            helpers,
            lookup,
            lookup_finals,
            claims,
            witness_value,
            opening,
            data_commitment,
            data_value,
            model_value,
            windows,
            window_finals,
        )

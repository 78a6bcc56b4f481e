"""The logUp-GKR lookup proof: two fraction-tree GKR proofs and the leaf evaluation claims.

Encoding (canonical, provers/encoding.py):
    witness tree, table tree, witness evaluations (ext vec, count L·w), m̃ at the table point.
A tree: its root (ext vec of 2: p_0, q_0), a u32 layer count d ≤ MAX_TREE_DEPTH, then for layer
i = 0..d−1 its sumcheck (i rounds of 4 values, degree 3) and its child claims (ext vec of 4).
The layer counts are encoded so a decoded proof is self-describing; the verifier compares them
with the statement's depths.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from provers.commit.pcs.proof import Commitment, OpeningProof
from provers.encoding import Reader, Writer
from provers.lookup.statement import MAX_WITNESS_DEPTH, MAX_WITNESS_EVALUATIONS
from provers.sumcheck.proof import SumcheckProof

LAYER_DEGREE = 3
"""eq · (p0·q1 + p1·q0 + λ·q0·q1) has degree 3 in each variable."""

MAX_TREE_DEPTH = MAX_WITNESS_DEPTH
"""Neither tree is deeper: the table has ≤ 2^26 rows, the witness ≤ 2^30 leaves."""

CHILD_CLAIMS = 4
"""p(0, s), p(1, s), q(0, s), q(1, s)."""


@dataclass(frozen=True, eq=False)
class LayerProof:
    """Reduces a claim on (p_i, q_i) at a point r (i coordinates) to one on layer i + 1."""

    sumcheck: SumcheckProof
    """Sumcheck of Σ_x eq(r, x)·[p0·q1 + p1·q0 + λ·q0·q1](x) over i variables (no rounds for
    the root layer, i = 0, whose claims the verifier checks directly)."""
    child_claims: np.ndarray
    """(4, 4): p_{i+1}(0, s), p_{i+1}(1, s), q_{i+1}(0, s), q_{i+1}(1, s) at the sumcheck's
    point s; the verifier folds them with a fresh challenge μ into the claim at (μ, s)."""


@dataclass(frozen=True, eq=False)
class TreeProof:
    """GKR proof that a root fraction is the sum of a tree's leaf fractions."""

    root: np.ndarray
    """(4, 2): the root fraction (p_0, q_0)."""
    layers: tuple[LayerProof, ...]
    """Layer i = 0..d−1, root side first."""

    def write_to(self, writer: Writer) -> None:
        writer.ext_vec(self.root)
        writer.u32(len(self.layers))
        for layer in self.layers:
            layer.sumcheck.write_to(writer)
            writer.ext_vec(layer.child_claims)

    @classmethod
    def read_from(cls, reader: Reader, what: str) -> TreeProof:
        root = reader.ext_vec(f"{what} root", expected=2, max_count=2)
        depth = reader.bounded_u32(f"{what} layer count", 0, MAX_TREE_DEPTH)
        layers = []
        for i in range(depth):
            sumcheck = SumcheckProof.read_from(reader, i, LAYER_DEGREE)
            claims = reader.ext_vec(
                f"{what} layer {i} claims", expected=CHILD_CLAIMS, max_count=CHILD_CLAIMS
            )
            layers.append(LayerProof(sumcheck, claims))
        return cls(root, tuple(layers))


@dataclass(frozen=True, eq=False)
class LookupProof:
    """Everything the lookup prover sends (commitments and their openings are the caller's)."""

    witness_tree: TreeProof
    """The tree of 1/(α − a) over the padded batch of witness rows."""
    table_tree: TreeProof
    """The tree of m/(α − T) over the table rows."""
    witness_evaluations: np.ndarray
    """(4, L·w): ã_{j,c} at the witness tree's leaf point (lookup bits dropped), column
    j·w + c."""
    multiplicity_evaluation: np.ndarray
    """(4,): m̃ at the table tree's leaf point."""

    def write_to(self, writer: Writer) -> None:
        self.witness_tree.write_to(writer)
        self.table_tree.write_to(writer)
        writer.ext_vec(self.witness_evaluations)
        writer.ext_elem(self.multiplicity_evaluation)

    @classmethod
    def read_from(cls, reader: Reader) -> LookupProof:
        witness_tree = TreeProof.read_from(reader, "witness tree")
        table_tree = TreeProof.read_from(reader, "table tree")
        evaluations = reader.ext_vec("witness evaluations", max_count=MAX_WITNESS_EVALUATIONS)
        multiplicity = reader.ext_elem("multiplicity evaluation")
        return cls(witness_tree, table_tree, evaluations, multiplicity)

    def to_bytes(self) -> bytes:
        writer = Writer()
        self.write_to(writer)
        return writer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> LookupProof:
        reader = Reader(data)
        proof = cls.read_from(reader)
        reader.finish("lookup proof")
        return proof

    def equals(self, other: LookupProof) -> bool:
        return self.to_bytes() == other.to_bytes()


@dataclass(frozen=True, eq=False)
class StandaloneLookupProof:
    """A lookup that commits its own witness and multiplicities (provers/lookup/standalone.py).

    Encoding: witness commitment, multiplicity commitment, the lookup proof, the opening proof
    (one tree per distinct commitment, one point each; see provers/commit/pcs/proof.py).
    """

    witness_commitment: Commitment
    """The L·w witness vectors, stacked in one tree in column order j·w + c."""
    multiplicity_commitment: Commitment
    """The multiplicity vector m (2^k values)."""
    lookup: LookupProof
    """The logUp-GKR proof, bound to both commitments."""
    opening: OpeningProof
    """One batch opening: the witness at the witness point, m at the table point."""

    def opened_commitments(self) -> tuple[list[Commitment], list[int]]:
        """The distinct commitments in opening order and how many points each is opened at."""
        witness, multiplicity = self.witness_commitment, self.multiplicity_commitment
        if witness.to_bytes() == multiplicity.to_bytes():
            return [witness], [2]
        return [witness, multiplicity], [1, 1]

    def to_bytes(self) -> bytes:
        writer = Writer()
        self.witness_commitment.write_to(writer)
        self.multiplicity_commitment.write_to(writer)
        self.lookup.write_to(writer)
        self.opening.write_to(writer)
        return writer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> StandaloneLookupProof:
        reader = Reader(data)
        witness = Commitment.read_from(reader)
        multiplicity = Commitment.read_from(reader)
        lookup = LookupProof.read_from(reader)
        shell = cls(witness, multiplicity, lookup, OpeningProof(b"", ()))
        commitments, points = shell.opened_commitments()
        opening = OpeningProof.read_from(reader, commitments, points)
        reader.finish("standalone lookup proof")
        return cls(witness, multiplicity, lookup, opening)

"""Committing a model's weights once, and the .vmc file that keeps what proofs need.

``commit_model`` lays every layer out (:mod:`provers.inference.weights`), commits the weight
table with the tensor-code PCS (one Merkle tree, rows of 2^c columns) and names the model by
SHA-256("veriml/model/v1" ‖ circuit digest ‖ commitment bytes).

``commit_model`` also makes the weight range proof (:mod:`provers.weight_range`): that every
entry of every weight block is an int8, a proof file any verifier checks against the digest.

The .vmc file holds the model (weights included, provers/circuit/serialize.py), the commitment,
the codewords, the Merkle leaf digests and the weight range proof: loading it rebuilds the
tree's inner nodes (one hash per leaf) and the coefficient matrix from the weights, but never
re-encodes or re-hashes the columns, so a proof never re-commits the weights; the range proof
is kept as it is (loading checks only that its statement names this model). File layout: magic
"VMCM", u16 version (2; version 1 had no range proof), then blobs: model bytes, commitment
bytes, the range proof file, codewords (u32, column after column), leaf digests.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from provers.circuit.model import ModelError, QuantisedModel
from provers.circuit.serialize import model_from_bytes, model_to_bytes
from provers.commit import merkle, pcs
from provers.commit.pcs import PCSParams
from provers.commit.pcs.prover import ProverData
from provers.container import ProofFile, Protocol
from provers.errors import VerificationError
from provers.field import base
from provers.inference.exact import matrix_times_vector
from provers.inference.statement import model_digest
from provers.inference.weights import WeightLayout, layer_arrays, weight_layout, weight_table
from provers.params import ProofParameters

LARGE_MODEL_PARAMETERS = ProofParameters(pcs=PCSParams(log_inv_rate=2, num_queries=160))
"""Rate-1/4 codes with 160 column queries (106 bits per opening instead of the default's rate
1/2 and 256 queries): the two sent rows stay the same length and 96 fewer columns are opened, so
a proof over a large model shrinks by about a quarter (VGG-16: 2.5 MB → 1.9 MB) for twice the
encoding work at commit time."""

MAGIC = b"VMCM"
VERSION = 2
BLOBS = 5


@dataclass(eq=False)
class CommittedModel:
    model: QuantisedModel
    layout: WeightLayout
    commitment: pcs.Commitment
    prover_data: ProverData = field(repr=False)
    plans: dict[tuple[int, object], object] = field(default_factory=dict, repr=False)
    """Proof plans already derived, by (batch, parameters): a plan depends on nothing else."""
    range_proof: bytes | None = field(default=None, repr=False)
    """The weight range proof file (:mod:`provers.weight_range`); None until it is made."""

    @property
    def digest(self) -> str:
        return model_digest(self.model.circuit_digest, self.commitment).hex()

    @cached_property
    def matrix(self) -> np.ndarray:
        """The weight table as float64 rows of 2^c columns, the bias block zero (every entry
        at most 128 in absolute value)."""
        table = np.zeros(1 << self.layout.log_size, dtype=np.float64)
        for layer in self.layout.layers:
            matrices, _ = layer_arrays(layer, self.model.node(layer.node))
            for block, matrix in zip(layer.blocks, matrices, strict=True):
                table[block.offset : block.offset + matrix.size] = matrix.reshape(-1)
        return table.reshape(-1, 1 << self.layout.column_log)

    def block_matrix(self, name: str, index: int) -> np.ndarray:
        """Feature block ``index`` of layer ``name`` as float64 2^rows × 2^cols (a view)."""
        block = self.layout.layer(name).blocks[index]
        start = block.offset >> self.layout.column_log
        rows = (1 << block.log_size) >> self.layout.column_log
        view = self.matrix[start : start + rows]
        return view.reshape(1 << block.rows_log, 1 << block.cols_log)

    def bias(self, name: str) -> np.ndarray:
        """A layer's bias (empty for an EMBEDDING, which has none)."""
        bias = self.model.node(name).bias
        return np.zeros(0, dtype=np.int64) if bias is None else np.asarray(bias, dtype=np.int64)

    def row_fold(self, eq_low: np.ndarray) -> np.ndarray:
        """g = M·eq(r_lo) over every row of the weight table, exactly: (4, rows)."""
        folded = matrix_times_vector(self.matrix, eq_low)
        column_mask = (1 << self.layout.column_log) - 1
        for layer in self.layout.layers:
            bias = self.bias(layer.node) % base.P
            index = layer.bias_offset + np.arange(bias.shape[0])
            rows, columns = index >> self.layout.column_log, index & column_mask
            contribution = (eq_low[:, columns] * bias[None, :]) % base.P
            for k in range(folded.shape[0]):
                np.add.at(folded[k], rows, contribution[k])
            folded %= base.P
        return folded

    def weight_range_proof(self) -> bytes:
        """The proof that every weight is an int8, made now if ``commit_model`` was told not
        to (ProverError when a weight is not)."""
        if self.range_proof is None:
            from provers.weight_range import prove  # it imports this package

            self.range_proof = prove(self)
        return self.range_proof

    def to_bytes(self) -> bytes:
        data = self.prover_data
        leaves = b"".join(data.tree.leaf_digests())
        parts = [
            model_to_bytes(self.model),
            self.commitment.to_bytes(),
            self.weight_range_proof(),
            np.ascontiguousarray(data.codewords).astype("<u4").tobytes(),
            leaves,
        ]
        return pack_blobs(MAGIC, VERSION, parts)

    @classmethod
    def from_bytes(cls, data: bytes) -> CommittedModel:
        """Load a .vmc file; ModelError if it is malformed or does not match its commitment."""
        parts = unpack_blobs(
            data,
            MAGIC,
            VERSION,
            BLOBS,
            "committed-model",
            ", which adds the weight range proof: compile the model again",
        )
        model = model_from_bytes(parts[0])
        try:
            commitment = pcs.Commitment.from_bytes(parts[1])
        except Exception as error:
            raise ModelError(f"commitment: {error}") from None
        committed = _restore(model, commitment, parts[3], parts[4])
        _check_range_proof(committed, parts[2])
        committed.range_proof = parts[2]
        return committed


def pack_blobs(magic: bytes, version: int, parts: list[bytes]) -> bytes:
    """magic ‖ u16 version ‖ each part as u64 length ‖ bytes: the layout of .vmc files."""
    out = [magic, struct.pack("<H", version)]
    for part in parts:
        out.append(struct.pack("<Q", len(part)) + part)
    return b"".join(out)


def unpack_blobs(
    data: bytes, magic: bytes, version: int, count: int, what: str, upgrade: str = ""
) -> list[bytes]:
    """The ``count`` parts of a file :func:`pack_blobs` wrote; ModelError naming ``what`` when
    the magic, the version (``upgrade`` says what to do about another one) or the lengths are
    wrong."""
    if len(data) < 6 or data[:4] != magic:
        raise ModelError(f"not a VeriML {what} file")
    found = struct.unpack_from("<H", data, 4)[0]
    if found != version:
        raise ModelError(
            f"a version-{found} {what} file; this version reads version {version}{upgrade}"
        )
    parts, position = [], 6
    for _ in range(count):
        if position + 8 > len(data):
            raise ModelError(f"truncated {what} file")
        (length,) = struct.unpack_from("<Q", data, position)
        if position + 8 + length > len(data):
            raise ModelError(f"truncated {what} file")
        parts.append(data[position + 8 : position + 8 + length])
        position += 8 + length
    if position != len(data):
        raise ModelError(f"bytes after the end of the {what} file")
    return parts


def _coefficients(model: QuantisedModel, layout: WeightLayout) -> np.ndarray:
    table = weight_table(model, layout) % base.P
    return table.reshape(-1, 1 << layout.column_log)


def commit_model(
    model: QuantisedModel, params: ProofParameters | None = None, *, range_proof: bool = True
) -> CommittedModel:
    """Commit every weight and bias of ``model`` once, and prove every weight an int8 (see
    the module docstring). ``range_proof=False`` leaves the range proof to the first
    ``weight_range_proof()`` or ``to_bytes()``, for callers that only prove in memory."""
    params = params or ProofParameters.default()
    model.validate()
    layout = weight_layout(model, params.pcs)
    coefficients = _coefficients(model, layout)
    commitment, data = pcs.commit(coefficients.reshape(-1), params.pcs, row_vars=layout.row_log)
    committed = CommittedModel(model, layout, commitment, data)
    if range_proof:
        committed.weight_range_proof()
    return committed


def _check_range_proof(committed: CommittedModel, data: bytes) -> None:
    """The stored range proof must be a proof file about this model (not checked further:
    any verifier does that, in milliseconds, from the file alone)."""
    from provers.weight_range.statement import Statement  # it imports this package

    try:
        proof = ProofFile.from_bytes(data)
    except VerificationError as error:
        raise ModelError(f"the weight range proof is unreadable: {error}") from None
    expected = Statement(
        bytes.fromhex(committed.digest), committed.model.circuit_bytes(), committed.commitment
    )
    if proof.protocol is not Protocol.WEIGHT_RANGE or proof.statement != expected.to_bytes():
        raise ModelError("the stored weight range proof is not about this model")


def _restore(
    model: QuantisedModel, commitment: pcs.Commitment, codewords: bytes, leaves: bytes
) -> CommittedModel:
    layout = weight_layout(model, commitment.params)
    coefficients = _coefficients(model, layout)
    rows = coefficients.shape[0]
    if commitment.num_vars != layout.log_size or commitment.row_vars != layout.row_log:
        raise ModelError("the commitment's shape does not fit the model")
    length = commitment.codeword_len
    if len(codewords) != 4 * length * rows or len(leaves) != 32 * length:
        raise ModelError("codewords or leaf digests of the wrong size")
    words = np.frombuffer(codewords, dtype="<u4").reshape(length, rows)
    digests = [leaves[32 * j : 32 * (j + 1)] for j in range(length)]
    for position in np.linspace(0, length - 1, num=min(length, 8)).astype(int):
        if merkle.hash_leaf(words[position].astype("<u4").tobytes()) != digests[position]:
            raise ModelError("the stored codewords do not match their leaf digests")
    tree = merkle.MerkleTree.from_leaf_digests(digests)
    if tree.root != commitment.root:
        raise ModelError("the stored tree does not have the commitment's root")
    data = ProverData(commitment, coefficients, words, (), tree)
    return CommittedModel(model, layout, commitment, data)

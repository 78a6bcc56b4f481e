"""The public statement of an inference proof and the model digest.

Statement bytes (canonical, provers/encoding.py), all absorbed before any challenge:

    model digest (32)  ‖  circuit (blob)  ‖  weight commitment  ‖  u32 batch  ‖  u8 limb bits
    ‖  input (blob: N·|input| int8 bytes)  ‖  output (blob: N·|output| int8 bytes)
    ‖  nonce (blob, at most 64 bytes)

When the circuit's input is token ids (it feeds an embedding, ``input_vocabulary`` V > 0) the
input blob holds them as u32 little-endian, N·|input|·4 bytes, and the reader refuses any id
outside [0, V) (STATEMENT_MISMATCH): the circuit, read first, says which form to expect, and
models with an int8 input keep their bytes.

model digest = SHA-256("veriml/model/v1" ‖ circuit digest ‖ weight commitment bytes); the
verifier recomputes it from the circuit and the commitment and rejects a mismatch
(STATEMENT_MISMATCH); a caller expecting another model gets WRONG_MODEL from provers.api.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from provers.circuit.model import ModelError, QuantisedModel
from provers.circuit.serialize import circuit_from_bytes
from provers.commit.pcs import Commitment
from provers.encoding import DIGEST_BYTES, Reader, Writer
from provers.errors import Reject, VerificationError

MODEL_DOMAIN = b"veriml/model/v1"
MAX_CIRCUIT_BYTES = 1 << 22
MAX_TENSOR_BYTES = 1 << 26
MAX_NONCE_BYTES = 64


def model_digest(circuit_digest: bytes, commitment: Commitment) -> bytes:
    return hashlib.sha256(MODEL_DOMAIN + circuit_digest + commitment.to_bytes()).digest()


@dataclass(frozen=True)
class Statement:
    digest: bytes
    circuit: bytes
    weight_commitment: Commitment
    batch: int
    limb_bits: int
    inputs: np.ndarray
    """(N, *input_shape) int64 values in [−128, 127], or token ids in [0, V)."""
    outputs: np.ndarray
    """(N, *output_shape)."""
    nonce: bytes
    input_vocabulary: int = 0
    """V when the inputs are token ids (the circuit's ``input_vocabulary``), else 0."""

    def to_bytes(self) -> bytes:
        w = Writer()
        w.raw(self.digest)
        w.blob(self.circuit)
        self.weight_commitment.write_to(w)
        w.u32(self.batch)
        w.u8(self.limb_bits)
        inputs = np.asarray(self.inputs, dtype=np.int64)
        w.blob(inputs.astype("<u4" if self.input_vocabulary else np.int8).tobytes())
        w.blob(np.asarray(self.outputs, dtype=np.int64).astype(np.int8).tobytes())
        w.blob(self.nonce)
        return w.getvalue()


def int8_tensor(data: bytes, batch: int, shape: tuple[int, ...], what: str) -> np.ndarray:
    """A statement's int8 tensor of ``batch`` samples, its byte count checked."""
    expected = batch * int(np.prod(shape))
    if len(data) != expected:
        raise VerificationError(
            Reject.STATEMENT_MISMATCH, f"{what}: {len(data)} values, expected {expected}"
        )
    return np.frombuffer(data, dtype=np.int8).astype(np.int64).reshape((batch, *shape))


def _ids(data: bytes, batch: int, shape: tuple[int, ...], vocabulary: int) -> np.ndarray:
    expected = batch * int(np.prod(shape))
    if len(data) != 4 * expected:
        raise VerificationError(
            Reject.STATEMENT_MISMATCH,
            f"input: {len(data)} bytes, expected {expected} token ids of 4 bytes",
        )
    ids = np.frombuffer(data, dtype="<u4").astype(np.int64).reshape((batch, *shape))
    if ids.size and int(ids.max()) >= vocabulary:
        position = np.unravel_index(int(ids.argmax()), ids.shape)
        raise VerificationError(
            Reject.STATEMENT_MISMATCH,
            f"input: token id {int(ids.max())} at {tuple(int(i) for i in position)} outside "
            f"[0, {vocabulary})",
        )
    return ids


def named_model(circuit: bytes, commitment: Commitment, digest: bytes) -> QuantisedModel:
    """The statement's circuit, decoded, when the digest names it with this commitment."""
    try:
        model = circuit_from_bytes(circuit)
    except ModelError as error:
        raise VerificationError(Reject.STATEMENT_MISMATCH, f"circuit: {error}") from None
    if model_digest(model.circuit_digest, commitment) != digest:
        raise VerificationError(
            Reject.STATEMENT_MISMATCH, "the model digest does not name this circuit and commitment"
        )
    return model


def read_statement(data: bytes) -> tuple[Statement, QuantisedModel]:
    """Parse and check the statement: the circuit decodes, the digest matches."""
    r = Reader(data)
    digest = r.raw(DIGEST_BYTES, "model digest")
    circuit = r.blob("circuit", MAX_CIRCUIT_BYTES)
    commitment = Commitment.read_from(r)
    batch = r.bounded_u32("batch", 1, 1 << 16)
    limb_bits = r.u8("limb bits")
    input_bytes = r.blob("input", MAX_TENSOR_BYTES)
    output_bytes = r.blob("output", MAX_TENSOR_BYTES)
    nonce = r.blob("nonce", MAX_NONCE_BYTES)
    r.finish("statement")
    model = named_model(circuit, commitment, digest)
    vocabulary = model.input_vocabulary
    if vocabulary:
        inputs = _ids(input_bytes, batch, model.input_shape, vocabulary)
    else:
        inputs = int8_tensor(input_bytes, batch, model.input_shape, "input")
    outputs = int8_tensor(output_bytes, batch, model.output_shape(), "output")
    statement = Statement(
        digest, circuit, commitment, batch, limb_bits, inputs, outputs, nonce, vocabulary
    )
    return statement, model

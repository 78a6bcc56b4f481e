"""The public statement of a private-mode inference proof.

Statement bytes (canonical, provers/encoding.py), all absorbed before any challenge:

    model digest (32) ‖ circuit (blob) ‖ weight commitment ‖ u32 batch ‖ u8 limb bits
    ‖ u8 privacy (bit 0: the input is private, bit 1: the output is private, bit 2: the
      weights are private — exactly when the weight commitment is hiding)
    ‖ input (blob: N·|input| int8 bytes, empty when private)
    ‖ output (blob: N·|output| int8 bytes, empty when private) ‖ nonce (blob, ≤ 64 bytes)

A private input or output appears only inside the proof's hiding witness commitment; the
verifier learns that some int8 tensor of the stated shape gives the public part.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from provers.circuit.model import QuantisedModel
from provers.commit.pcs import Commitment
from provers.encoding import DIGEST_BYTES, Reader, Writer
from provers.errors import Reject, VerificationError
from provers.inference.statement import (
    MAX_CIRCUIT_BYTES,
    MAX_NONCE_BYTES,
    MAX_TENSOR_BYTES,
    int8_tensor,
    named_model,
)

PRIVATE_INPUT = 1
PRIVATE_OUTPUT = 2
PRIVATE_WEIGHTS = 4


@dataclass(frozen=True)
class PrivateStatement:
    digest: bytes
    circuit: bytes
    weight_commitment: Commitment
    batch: int
    limb_bits: int
    private_input: bool
    private_output: bool
    inputs: np.ndarray | None
    """(N, F) int8 values, None when private."""
    outputs: np.ndarray | None
    """(N, O) int8 values, None when private."""
    nonce: bytes

    @property
    def private_weights(self) -> bool:
        return self.weight_commitment.hiding

    def to_bytes(self) -> bytes:
        w = Writer()
        w.raw(self.digest)
        w.blob(self.circuit)
        self.weight_commitment.write_to(w)
        w.u32(self.batch)
        w.u8(self.limb_bits)
        w.u8(
            PRIVATE_INPUT * self.private_input
            + PRIVATE_OUTPUT * self.private_output
            + PRIVATE_WEIGHTS * self.private_weights
        )
        for values in (self.inputs, self.outputs):
            data = b"" if values is None else np.asarray(values, np.int64).astype(np.int8)
            w.blob(data if isinstance(data, bytes) else data.tobytes())
        w.blob(self.nonce)
        return w.getvalue()

    def public(self, model: QuantisedModel) -> dict[str, object]:
        """What ``provers.api.verify`` reports: the inference statement's fields, the output
        None when private, and the private parts."""
        return {
            "kind": "inference",
            "model_digest": self.digest.hex(),
            "batch": self.batch,
            "input_shape": list(model.input_shape),
            "output_shape": list(model.output_shape()),
            "output": None if self.outputs is None else self.outputs.tolist(),
            "private": [
                part
                for part, hidden in (
                    ("weights", self.private_weights),
                    ("input", self.private_input),
                    ("output", self.private_output),
                )
                if hidden
            ],
            "nonce": self.nonce.hex(),
        }


def read_private_statement(data: bytes) -> tuple[PrivateStatement, QuantisedModel]:
    """Parse and check the statement: the circuit decodes, the digest matches, a private part
    carries no values and a public one the right count."""
    r = Reader(data)
    digest = r.raw(DIGEST_BYTES, "model digest")
    circuit = r.blob("circuit", MAX_CIRCUIT_BYTES)
    commitment = Commitment.read_from(r)
    batch = r.bounded_u32("batch", 1, 1 << 16)
    limb_bits = r.u8("limb bits")
    privacy = r.u8("privacy")
    if privacy & ~(PRIVATE_INPUT | PRIVATE_OUTPUT | PRIVATE_WEIGHTS) or not privacy:
        raise VerificationError(Reject.STATEMENT_MISMATCH, f"privacy flags {privacy}")
    if bool(privacy & PRIVATE_WEIGHTS) != commitment.hiding:
        raise VerificationError(
            Reject.STATEMENT_MISMATCH, "the weights' privacy flag disagrees with their commitment"
        )
    input_bytes = r.blob("input", MAX_TENSOR_BYTES)
    output_bytes = r.blob("output", MAX_TENSOR_BYTES)
    nonce = r.blob("nonce", MAX_NONCE_BYTES)
    r.finish("statement")
    model = named_model(circuit, commitment, digest)
    private_input, private_output = bool(privacy & PRIVATE_INPUT), bool(privacy & PRIVATE_OUTPUT)
    inputs = outputs = None
    if private_input:
        if input_bytes:
            raise VerificationError(Reject.STATEMENT_MISMATCH, "a private input with values")
    else:
        inputs = int8_tensor(input_bytes, batch, model.input_shape, "input")
    if private_output:
        if output_bytes:
            raise VerificationError(Reject.STATEMENT_MISMATCH, "a private output with values")
    else:
        outputs = int8_tensor(output_bytes, batch, model.output_shape(), "output")
    statement = PrivateStatement(
        digest,
        circuit,
        commitment,
        batch,
        limb_bits,
        private_input,
        private_output,
        inputs,
        outputs,
        nonce,
    )
    return statement, model

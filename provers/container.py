"""The versioned proof file: a small header in front of a protocol's proof body.

Layout (all integers little-endian, every variable part length-prefixed):

    magic            4 bytes   b"VMLP"
    format_version   u16       FORMAT_VERSION; readers reject any other
    protocol         u8        a Protocol value
    parameters       blob      the protocol's canonical parameter encoding
    soundness_bits   u16       bits of soundness the parameters give, as the prover computed them
    statement        blob      the public statement, canonical bytes
    statement_digest 32 bytes  SHA-256("veriml/statement/v1" ‖ protocol ‖ statement)
    body             blob      the protocol's proof

The verifier recomputes the statement digest and the soundness bits from the parameters it
decoded and rejects the file when either differs, so a header can never claim more than the
proof gives. Every blob has an upper bound checked before it is read.
"""

from __future__ import annotations

import enum
import hashlib
import struct
from dataclasses import dataclass

from provers.encoding import DIGEST_BYTES, Reader, Writer
from provers.errors import Reject, VerificationError

MAGIC = b"VMLP"
FORMAT_VERSION = 1
MAX_PARAMETERS_BYTES = 1 << 12
MAX_STATEMENT_BYTES = 1 << 24
MAX_BODY_BYTES = 1 << 30
_U16 = struct.Struct("<H")


class Protocol(enum.IntEnum):
    SUMCHECK = 1
    LOOKUP = 2
    PCS_OPENING = 3
    INFERENCE = 16
    AUDIT = 17
    PRIVATE_INFERENCE = 18
    PRIVATE_AUDIT = 19
    WEIGHT_RANGE = 20
    WEIGHT_RANGE_HIDDEN = 21


def statement_digest(protocol: Protocol, statement: bytes) -> bytes:
    return hashlib.sha256(b"veriml/statement/v1" + bytes([int(protocol)]) + statement).digest()


@dataclass(frozen=True)
class ProofFile:
    """A decoded proof file; ``body`` is still the protocol's encoded proof."""

    protocol: Protocol
    parameters: bytes
    soundness_bits: int
    statement: bytes
    body: bytes

    @property
    def digest(self) -> bytes:
        return statement_digest(self.protocol, self.statement)

    def to_bytes(self) -> bytes:
        w = Writer()
        w.raw(MAGIC)
        w.raw(_U16.pack(FORMAT_VERSION))
        w.u8(int(self.protocol))
        w.blob(self.parameters)
        w.raw(_U16.pack(self.soundness_bits))
        w.blob(self.statement)
        w.raw(self.digest)
        w.blob(self.body)
        return w.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, max_body: int = MAX_BODY_BYTES) -> ProofFile:
        r = Reader(data)
        if r.raw(len(MAGIC), "magic") != MAGIC:
            raise VerificationError(Reject.BAD_MAGIC, "not a VeriML proof file")
        version = _U16.unpack(r.raw(2, "format version"))[0]
        if version != FORMAT_VERSION:
            raise VerificationError(
                Reject.UNSUPPORTED_VERSION,
                f"format version {version}; this verifier reads version {FORMAT_VERSION}",
            )
        code = r.u8("protocol")
        try:
            protocol = Protocol(code)
        except ValueError:
            raise VerificationError(Reject.UNKNOWN_PROTOCOL, f"protocol code {code}") from None
        parameters = r.blob("parameters", MAX_PARAMETERS_BYTES)
        soundness_bits = _U16.unpack(r.raw(2, "soundness bits"))[0]
        statement = r.blob("statement", MAX_STATEMENT_BYTES)
        digest = r.raw(DIGEST_BYTES, "statement digest")
        body = r.blob("body", max_body)
        r.finish("proof file")
        proof = cls(protocol, parameters, soundness_bits, statement, body)
        if digest != proof.digest:
            raise VerificationError(
                Reject.STATEMENT_MISMATCH, "the statement digest does not match the statement"
            )
        return proof

    def check_soundness(self, recomputed_bits: float, minimum_bits: int) -> None:
        """Reject a header whose stated bits differ from the parameters' or fall short."""
        if int(recomputed_bits) != self.soundness_bits:
            raise VerificationError(
                Reject.PARAMETER_MISMATCH,
                f"header states {self.soundness_bits} bits, parameters give {int(recomputed_bits)}",
            )
        if recomputed_bits < minimum_bits:
            raise VerificationError(
                Reject.INSUFFICIENT_SOUNDNESS,
                f"{recomputed_bits:.1f} bits, at least {minimum_bits} required",
            )

"""The one surface the platform and the CLI use: verify and inspect proof files.

``verify`` never raises on bad input: any bytes give a :class:`VerificationResult` whose
``reason`` is a stable code (see :class:`provers.errors.Reject`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from provers import __version__
from provers.container import ProofFile, Protocol
from provers.errors import Reject, VerificationError

__all__ = ["VerificationError", "VerificationResult", "inspect", "prover_version", "verify"]

StatementVerifier = Callable[[ProofFile], dict[str, Any]]
"""Checks a decoded proof file's body against its statement; returns the public statement."""

_UNREADABLE = {
    Reject.MALFORMED,
    Reject.TRUNCATED,
    Reject.TRAILING_BYTES,
    Reject.BAD_MAGIC,
    Reject.UNSUPPORTED_VERSION,
    Reject.UNKNOWN_PROTOCOL,
    Reject.NON_CANONICAL_FIELD_ELEMENT,
    Reject.LENGTH_OUT_OF_BOUNDS,
}


@dataclass
class VerificationResult:
    accepted: bool
    protocol: str | None = None
    reason: str | None = None
    detail: str = ""
    statement: dict[str, Any] = field(default_factory=dict)
    soundness_bits: int | None = None
    verify_seconds: float = 0.0
    unreadable: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "protocol": self.protocol,
            "reason": self.reason,
            "detail": self.detail,
            "statement": self.statement,
            "soundness_bits": self.soundness_bits,
            "verify_seconds": round(self.verify_seconds, 6),
        }


def prover_version() -> str:
    return __version__


def _verifiers() -> dict[Protocol, StatementVerifier]:
    from provers.standalone import committed_sum, lookup, opening

    return {
        Protocol.SUMCHECK: committed_sum.verify_file,
        Protocol.PCS_OPENING: opening.verify_file,
        Protocol.LOOKUP: lookup.verify_file,
    }


def verify(data: bytes, expected_model_digest: str | None = None) -> VerificationResult:
    """Decode and check a proof file. ``expected_model_digest`` (hex) must match the model the
    statement names, for proofs about a model."""
    started = time.perf_counter()
    result = VerificationResult(accepted=False)
    try:
        proof = ProofFile.from_bytes(data)
        result.protocol = proof.protocol.name.lower()
        result.soundness_bits = proof.soundness_bits
        checker = _verifiers().get(proof.protocol)
        if checker is None:
            raise VerificationError(
                Reject.UNKNOWN_PROTOCOL, f"{proof.protocol.name} proofs are not verified here"
            )
        statement = checker(proof)
        named = statement.get("model_digest")
        if expected_model_digest is not None and named != expected_model_digest:
            raise VerificationError(
                Reject.WRONG_MODEL, f"proof names model {named}, expected {expected_model_digest}"
            )
        result.statement = statement
        result.accepted = True
    except VerificationError as exc:
        result.reason = exc.reason.value
        result.detail = exc.detail
        result.unreadable = exc.reason in _UNREADABLE
    result.verify_seconds = time.perf_counter() - started
    return result


def inspect(data: bytes) -> dict[str, Any]:
    """The header of a proof file, without checking the proof. Raises VerificationError."""
    proof = ProofFile.from_bytes(data)
    return {
        "protocol": proof.protocol.name.lower(),
        "soundness_bits": proof.soundness_bits,
        "statement_digest": proof.digest.hex(),
        "statement_bytes": len(proof.statement),
        "body_bytes": len(proof.body),
        "total_bytes": len(data),
    }

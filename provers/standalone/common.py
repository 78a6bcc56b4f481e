"""What the standalone proof files share: parameter encoding and the soundness check."""

from __future__ import annotations

from provers.commit.pcs import PCSParams
from provers.container import ProofFile
from provers.encoding import Reader, Writer
from provers.errors import Reject, VerificationError
from provers.params import ProofParameters, ProofShape, soundness_bits


def write_parameters(params: ProofParameters) -> bytes:
    w = Writer()
    w.u8(params.pcs.log_inv_rate)
    w.u32(params.pcs.num_queries)
    w.u8(params.pcs.extra_column_vars)
    w.u8(params.pcs.security_bits)
    w.u8(params.min_soundness_bits)
    return w.getvalue()


def read_parameters(data: bytes) -> ProofParameters:
    r = Reader(data)
    pcs = PCSParams(
        log_inv_rate=r.u8("log_inv_rate"),
        num_queries=r.u32("num_queries"),
        extra_column_vars=r.u8("extra_column_vars"),
        security_bits=r.u8("security_bits"),
    )
    minimum = r.u8("min_soundness_bits")
    r.finish("parameters")
    try:
        pcs.check()
    except ValueError as exc:
        raise VerificationError(Reject.PARAMETER_MISMATCH, str(exc)) from None
    params = ProofParameters(pcs=pcs, min_soundness_bits=minimum)
    if params.min_soundness_bits < ProofParameters.default().min_soundness_bits:
        raise VerificationError(
            Reject.INSUFFICIENT_SOUNDNESS, f"parameters ask for only {minimum} bits"
        )
    return params


def stated_bits(params: ProofParameters, shape: ProofShape) -> int:
    return int(soundness_bits(params, shape))


def check_header(proof: ProofFile, params: ProofParameters, shape: ProofShape) -> None:
    """The header's soundness claim must be what the parameters and shape give, and enough."""
    proof.check_soundness(soundness_bits(params, shape), params.min_soundness_bits)


def require_params(found: PCSParams, params: ProofParameters, what: str) -> None:
    if found != params.pcs:
        raise VerificationError(
            Reject.PARAMETER_MISMATCH, f"{what} uses other parameters than the proof states"
        )

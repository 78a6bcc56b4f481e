"""Typed errors of the proof system.

A verifier never raises anything but :class:`VerificationError` on bad proof bytes or a false
statement; callers switch on ``reason``, a closed enum, and show ``detail`` to people.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import TypeVar

_Argument = TypeVar("_Argument")
_Result = TypeVar("_Result")


class Reject(enum.Enum):
    """Why a proof was rejected. Values are stable strings: they appear in API answers."""

    # encoding
    MALFORMED = "malformed"
    TRUNCATED = "truncated"
    TRAILING_BYTES = "trailing_bytes"
    BAD_MAGIC = "bad_magic"
    UNSUPPORTED_VERSION = "unsupported_version"
    UNKNOWN_PROTOCOL = "unknown_protocol"
    NON_CANONICAL_FIELD_ELEMENT = "non_canonical_field_element"
    LENGTH_OUT_OF_BOUNDS = "length_out_of_bounds"
    # statement and parameters
    PARAMETER_MISMATCH = "parameter_mismatch"
    INSUFFICIENT_SOUNDNESS = "insufficient_soundness"
    STATEMENT_MISMATCH = "statement_mismatch"
    WRONG_MODEL = "wrong_model"
    WRONG_DATASET = "wrong_dataset"
    # sumcheck
    ROUND_COUNT_MISMATCH = "round_count_mismatch"
    ROUND_DEGREE_MISMATCH = "round_degree_mismatch"
    ROUND_SUM_MISMATCH = "round_sum_mismatch"
    FINAL_EVALUATION_MISMATCH = "final_evaluation_mismatch"
    CLAIMED_SUM_MISMATCH = "claimed_sum_mismatch"
    # commitments
    MERKLE_PATH_INVALID = "merkle_path_invalid"
    COMMITMENT_MISMATCH = "commitment_mismatch"
    COLUMN_COUNT_MISMATCH = "column_count_mismatch"
    COLUMN_CHECK_FAILED = "column_check_failed"
    PROXIMITY_CHECK_FAILED = "proximity_check_failed"
    EVALUATION_MISMATCH = "evaluation_mismatch"
    # lookups
    LOOKUP_SUM_MISMATCH = "lookup_sum_mismatch"
    LOOKUP_DENOMINATOR_ZERO = "lookup_denominator_zero"
    LOOKUP_LAYER_MISMATCH = "lookup_layer_mismatch"
    # zero knowledge
    MASK_MISMATCH = "mask_mismatch"
    # inference proofs
    IDENTITY_MISMATCH = "identity_mismatch"
    OUTPUT_MISMATCH = "output_mismatch"
    UNSUPPORTED_CIRCUIT = "unsupported_circuit"


class VerificationError(Exception):
    """A proof was rejected: ``reason`` says why in a stable code, ``detail`` in words."""

    def __init__(self, reason: Reject, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.detail = detail


class CompileError(Exception):
    """A model cannot be compiled (unsupported op, hostile file, bad shapes)."""


class ProverError(Exception):
    """The prover was asked for something false or impossible (a bug or a wrong witness)."""


MALFORMED_INPUT_ERRORS = (ValueError, IndexError, KeyError, OverflowError)
"""What decoding hostile bytes can raise below a verifier's own checks."""


def rejecting_malformed(check: Callable[[_Argument], _Result], argument: _Argument) -> _Result:
    """``check(argument)`` with every :data:`MALFORMED_INPUT_ERRORS` turned into a MALFORMED
    rejection, so hostile bytes end in a typed rejection, never in a crash of the caller."""
    try:
        return check(argument)
    except MALFORMED_INPUT_ERRORS as error:
        raise VerificationError(Reject.MALFORMED, f"{type(error).__name__}: {error}") from None

"""Checking proofs with the standalone verifier (``provers.api.verify``), which never raises on
bad bytes: every answer is a verdict with a stable reason."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from provers import api as prover_api
from veriml.core.files import read_checked
from veriml.core.models import StoredFile


def verify_proof_bytes(
    data: bytes,
    expected_model_digest: str | None = None,
    expected_dataset_digest: str | None = None,
) -> dict[str, Any]:
    """The verdict on a proof file: ``accepted``, ``reason``, ``detail``, ``statement``,
    ``soundness_bits``, ``protocol``, ``verify_seconds``. With ``expected_dataset_digest``, an
    audit proof must name that committed test set (``wrong_dataset`` otherwise)."""
    result = prover_api.verify(
        data,
        expected_model_digest=expected_model_digest or None,
        expected_dataset_digest=expected_dataset_digest or None,
    )
    verdict = result.as_dict()
    verdict["verifier_version"] = prover_api.prover_version()
    return verdict


def verify_stored_proof(
    proof: StoredFile,
    expected_model_digest: str | None = None,
    expected_dataset_digest: str | None = None,
) -> dict[str, Any]:
    """Reads a stored proof back (checking its SHA-256) and verifies it."""
    verdict = verify_proof_bytes(
        read_checked(proof), expected_model_digest, expected_dataset_digest
    )
    verdict["verified_at"] = timezone.now().isoformat()
    return verdict

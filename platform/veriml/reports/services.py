"""Auditor reports of accuracy audits: a JSON summary and a PDF with the same facts.

Every number about the proof comes from verifying the stored proof file again
(``provers.api.verify`` on its bytes), never from the job row or the prover's own word; the job
row contributes only names and ids, and the digest of the test set's commitment that the proof
must name. Nothing private (inputs, outputs, weights) is ever read: a private audit's report
says its test inputs were private and names the hiding commitment's digest, and, for a model
committed with hidden weights, that the weights were private.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone

from compliance import audit_log
from compliance.audit_log.chain import format_time
from compliance.audit_log.models import AuditCheckpoint
from veriml.core.errors import ServiceConflict
from veriml.core.files import read_checked
from veriml.proving.models import Job
from veriml.verification.services import verify_proof_bytes

REPORT_VERSION = 1


class ReportUnavailable(ServiceConflict):
    code = "report_unavailable"


def proof_file_name(job: Job) -> str:
    """The name the proof downloads under, which the printed command names."""
    return f"{job.pk}.vmp"


def verify_command(job: Job, model_digest: str) -> str:
    return f"veriml verify {proof_file_name(job)} --model {model_digest}"


def _test_set(job: Job, statement: dict[str, Any]) -> dict[str, Any]:
    private = bool(statement.get("private_input", False))
    return {
        "name": job.dataset.name if job.dataset else None,
        "digest": statement["dataset_digest"],
        "samples": int(statement["n"]),
        "inputs": "private" if private else "public",
        "commitment": (
            "hiding: made for this audit alone; the proof reveals nothing of the test inputs "
            "or the model's scores on them, only the counts"
            if private
            else "binding: the digest fixes the quantised test set"
        ),
        "verify_option": f"--dataset {statement['dataset_digest']}",
    }


def _checkpoint() -> dict[str, Any] | None:
    latest = AuditCheckpoint.objects.order_by("-sequence", "-time").first()
    if latest is None:
        return None
    return {
        "sequence": latest.sequence,
        "head_hash": latest.head_hash,
        "time": format_time(latest.time),
        "signature": latest.signature,
    }


def _classes(statement: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for entry in statement.get("classes") or []:
        total, correct = int(entry["total"]), int(entry["correct"])
        rows.append(
            {
                "label": int(entry["label"]),
                "total": total,
                "correct": correct,
                "accuracy": correct / total if total else None,
            }
        )
    return rows


def summarise(
    job: Job,
    statement: dict[str, Any],
    verdict: dict[str, Any],
    proof_sha256: str,
    checkpoint: dict[str, Any] | None,
    report_id: str,
    created_at: str,
) -> dict[str, Any]:
    """The report's facts: ``statement`` and ``verdict`` from the verifier, names from the rows."""
    model = job.model
    organisation = job.organisation
    digest = str(statement["model_digest"])
    low, high = statement["wilson_95"]
    return {
        "report": {"id": report_id, "created_at": created_at, "version": REPORT_VERSION},
        "model": {
            "id": str(model.pk),
            "name": model.name,
            "version": model.version,
            "digest": digest,
            "parameters": model.parameters,
            "intended_use": model.intended_use,
            "limitations": model.limitations,
            "fidelity": dict(model.fidelity or {}),
            "weights": "private" if statement.get("private_weights") else "public",
        },
        "dataset": _test_set(job, statement),
        "accuracy": {
            "n": int(statement["n"]),
            "correct": int(statement["correct"]),
            "accuracy": float(statement["accuracy"]),
            "wilson_95": [float(low), float(high)],
            "classes": _classes(statement),
        },
        "privacy": {
            "settings": model.privacy,
            "private_input": bool(statement.get("private_input", False)),
            "private_weights": bool(statement.get("private_weights", False)),
            "region": organisation.region,
            "handles_phi": organisation.handles_phi,
        },
        "proof": {
            "job_id": str(job.pk),
            "file_name": proof_file_name(job),
            "sha256": proof_sha256,
            "soundness_bits": verdict["soundness_bits"],
            "protocol": verdict["protocol"],
            "chunks": statement.get("chunks"),
            "nonce": statement.get("nonce"),
        },
        "verification": {
            "accepted": bool(verdict["accepted"]),
            "verify_seconds": verdict["verify_seconds"],
            "verifier_version": verdict.get("verifier_version"),
            "verified_at": created_at,
        },
        "verify_command": verify_command(job, digest),
        "audit_log_checkpoint": checkpoint,
    }


def build_report(job: Job, actor: str) -> dict[str, Any]:
    """Verifies the job's stored proof again and summarises what it proves; the report's making
    is recorded in the audit log. Refused (409) for anything but a succeeded audit job whose
    proof still verifies."""
    if job.kind != Job.Kind.AUDIT:
        raise ReportUnavailable("Reports are made for accuracy audits only.")
    if job.status != Job.Status.SUCCEEDED or job.proof is None:
        raise ReportUnavailable(f"The job has no proof: it is {job.status}.")
    data = read_checked(job.proof)
    verdict = verify_proof_bytes(data, job.model.digest or None, job.dataset_digest or None)
    statement = verdict["statement"]
    if not verdict["accepted"]:
        raise ReportUnavailable(
            f"The stored proof does not verify: {verdict['reason']}.", reason=verdict["reason"]
        )
    if statement.get("kind") != "audit":
        raise ReportUnavailable("The stored proof is not an accuracy audit proof.")
    report_id = str(uuid.uuid4())
    created_at = format_time(timezone.now())
    summary = summarise(
        job,
        statement,
        verdict,
        hashlib.sha256(data).hexdigest(),
        _checkpoint(),
        report_id,
        created_at,
    )
    with transaction.atomic():
        audit_log.record(
            "report.generated",
            actor=actor,
            organisation=job.organisation_id,
            target=("job", str(job.pk)),
            details={"report_id": report_id, "proof_sha256": summary["proof"]["sha256"]},
        )
    return summary

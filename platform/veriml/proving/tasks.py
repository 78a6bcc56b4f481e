"""Worker tasks of proving: one proof per job, then a signed callback. IDs only.

A job is claimed under a row lock (``queued → running``), so a message delivered twice proves
once; see :mod:`veriml.core.work` for how a lost worker's job is taken over.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from celery import Task, shared_task
from django.conf import settings

from compliance.hipaa import storage as phi_storage
from provers import api as prover_api
from veriml.accounts.services import callback_secret_of
from veriml.core.files import discard_file, write_path
from veriml.core.models import StoredFile
from veriml.core.runner import WorkSteps, run_work
from veriml.core.work import Attempt, stale_ids
from veriml.core.worker import ProgressReporter, WorkFailed, device, prover_function
from veriml.core.workspace import Workspace
from veriml.proving import callbacks, services, tickets
from veriml.proving.models import Job
from veriml.verification.services import verify_stored_proof

logger = logging.getLogger(__name__)


def _load_job(job_id: str) -> Job:
    return Job.objects.select_related(
        "organisation", "model", "model__compiled", "dataset", "dataset__file", "input"
    ).get(pk=job_id)


def _compiled_model(job: Job, workspace: Workspace) -> Path:
    """A path to the compiled model; a hidden-weights model's (stored encrypted) stays in
    memory."""
    if job.model.compiled is None:
        raise WorkFailed("model_not_ready", "The model has no compiled form.")
    return workspace.local_copy(job.model.compiled, "model")


def _ticket(job: Job, attempt: Attempt) -> dict[str, Any]:
    """What the prover is told of the model's hidden commitment: the ticket this attempt's
    proof spends, allocated now, just before proving; nothing for open weights."""
    if not job.model.weights_hidden:
        return {}
    return {"ticket": tickets.allocate_weight_ticket(attempt)}


@dataclass(frozen=True)
class CommittedTestSet:
    """An audit's committed test set, as the prover wrote it for this job."""

    path: Path
    digest: str
    # Made from PHI (kept in memory until stored, and stored encrypted).
    phi: bool


def _store_and_verify(
    attempt: Attempt,
    job: Job,
    out_path: Path,
    result: Any,
    committed: CommittedTestSet | None = None,
) -> bool:
    if not isinstance(result, dict):
        raise WorkFailed("prover_error", "The prover returned no result.")
    written: list[StoredFile] = []
    try:
        proof = write_path(job.organisation, "proofs", out_path, f"{job.pk}.vmp")
        written.append(proof)
        commitment, digest = None, ""
        if committed is not None:
            name = f"{job.pk}.vdc"
            commitment = phi_storage.write_result(
                job.organisation, "commitments", committed.path, name, committed.phi
            )
            written.append(commitment.stored)
            digest = committed.digest
        verdict = verify_stored_proof(proof, job.model.digest or None, digest or None)
        public = services.output_is_public(job)
        ended = services.complete_job(attempt, proof, result, verdict, public, commitment, digest)
    except BaseException:
        for stored in written:
            discard_file(stored)
        raise
    if ended is None:
        for stored in written:
            discard_file(stored)
    return ended is not None


def _steps(job_id: str, soft_time_limit: int, memory_limit_mb: int) -> WorkSteps:
    return WorkSteps(
        claim=lambda: services.claim_job(job_id, prover_api.prover_version(), device()),
        progress=services.record_job_progress,
        beat=services.job_heartbeat,
        fail=services.fail_job,
        soft_time_limit=soft_time_limit,
        memory_limit_mb=memory_limit_mb,
        on_end=lambda: _callback_if_asked(job_id),
    )


def _callback_if_asked(job_id: str) -> None:
    if Job.objects.filter(pk=job_id).exclude(callback_url="").exists():
        services.enqueue_callback(job_id)


@shared_task(
    bind=True,
    name="veriml.proving.tasks.prove_inference",
    soft_time_limit=settings.INFERENCE_SOFT_TIME_LIMIT,
    time_limit=settings.INFERENCE_TIME_LIMIT,
)
def prove_inference(self: Task, job_id: str) -> str:
    """Proves that the job's model, run on its input, gives the stated output."""

    def body(attempt: Attempt, workspace: Workspace, progress: ProgressReporter) -> bool:
        job = _load_job(job_id)
        progress("preparing", 0.0)
        model_path = _compiled_model(job, workspace)
        if job.input is None:
            raise WorkFailed("invalid_input", "The job has no input.")
        input_path = workspace.local_copy(job.input, "input")
        prove = prover_function("prove_inference", "prover_error")
        out_path = workspace.path / "proof.vmp"
        result = prove(
            str(model_path),
            str(input_path),
            str(out_path),
            private=tuple(job.private_parts),
            nonce=bytes.fromhex(job.nonce),
            progress=progress,
            **_ticket(job, attempt),
        )
        progress("verifying", 0.0)
        return _store_and_verify(attempt, job, out_path, result)

    steps = _steps(job_id, settings.INFERENCE_SOFT_TIME_LIMIT, settings.INFERENCE_MEMORY_LIMIT_MB)
    return run_work(self, steps, body)


@shared_task(
    bind=True,
    name="veriml.proving.tasks.prove_accuracy",
    soft_time_limit=settings.AUDIT_SOFT_TIME_LIMIT,
    time_limit=settings.AUDIT_TIME_LIMIT,
)
def prove_accuracy(self: Task, job_id: str) -> str:
    """Commits the job's test set against its model and proves the model's accuracy on it."""

    def body(attempt: Attempt, workspace: Workspace, progress: ProgressReporter) -> bool:
        job = _load_job(job_id)
        progress("preparing", 0.0)
        model_path = _compiled_model(job, workspace)
        if job.dataset is None:
            raise WorkFailed("invalid_input", "The job has no test set.")
        dataset_path = workspace.local_copy(job.dataset.file, "dataset")
        commit_dataset = prover_function("commit_dataset", "invalid_dataset")
        prove_audit = prover_function("prove_audit", "prover_error")
        private = tuple(job.private_parts)
        # The committed test set holds its quantised samples: PHI of a PHI organisation. With
        # private inputs it is a hiding commitment made afresh for this job (each serves one
        # proof) and the only opening of the digest the proof names.
        commitment_path = workspace.output_path("dataset.vdc")
        progress("committing test set", 0.0)
        committed = commit_dataset(
            str(model_path), str(dataset_path), str(commitment_path), private=private
        )
        out_path = workspace.path / "proof.vmp"
        result = prove_audit(
            str(model_path),
            str(commitment_path),
            str(out_path),
            private=private,
            nonce=bytes.fromhex(job.nonce),
            progress=progress,
            **_ticket(job, attempt),
        )
        progress("verifying", 0.0)
        digest = committed.get("digest") if isinstance(committed, dict) else None
        if not isinstance(digest, str) or not digest:
            raise WorkFailed("prover_error", "The prover returned no test-set digest.")
        kept = CommittedTestSet(commitment_path, digest, workspace.holds_phi)
        return _store_and_verify(attempt, job, out_path, result, kept)

    steps = _steps(job_id, settings.AUDIT_SOFT_TIME_LIMIT, settings.AUDIT_MEMORY_LIMIT_MB)
    return run_work(self, steps, body)


@shared_task(name="veriml.proving.tasks.send_callback", soft_time_limit=60, time_limit=90)
def send_callback(job_id: str) -> str:
    """POSTs the ended job's signed summary to its callback URL, once; failures are logged and
    recorded on the job, never raised."""
    from veriml.proving.serializers import JobSerializer

    job = _load_job(job_id)
    if not job.callback_url or job.status not in Job.FINAL:
        return "skipped"
    try:
        secret = callback_secret_of(job.organisation_id)
        status = callbacks.deliver(job.callback_url, secret, dict(JobSerializer(job).data))
    except (callbacks.CallbackRefused, OSError, ValueError) as error:
        logger.warning("callback for job %s to %s failed: %s", job_id, job.callback_url, error)
        services.record_callback(job_id, f"{type(error).__name__}: {error}")
        return "failed"
    if not 200 <= status < 300:
        logger.warning("callback for job %s to %s answered %s", job_id, job.callback_url, status)
        services.record_callback(job_id, f"the receiver answered HTTP {status}")
        return "failed"
    services.record_callback(job_id)
    return "delivered"


@shared_task(name="veriml.proving.tasks.requeue_stale_jobs")
def requeue_stale_jobs() -> int:
    """Sends the task of every running job whose worker stopped beating again (run by beat)."""
    stale = stale_ids(Job, Job.Status.RUNNING)
    for job_id, kind in Job.objects.filter(pk__in=stale).values_list("pk", "kind"):
        services.enqueue_job(str(job_id), kind)
    return len(stale)

"""Every change to proving jobs goes through these functions."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from compliance import audit_log
from compliance.hipaa import storage as phi_storage
from compliance.policy import services as policy
from compliance.policy.regions import queue_for
from compliance.privacy import services as privacy_services
from veriml.accounts.models import Organisation
from veriml.core import work
from veriml.core.errors import ServiceConflict, ServiceError
from veriml.core.files import CHUNK_BYTES, digest_chunks, discard_file
from veriml.core.models import StoredFile
from veriml.core.work import Attempt, Claim, Claimed
from veriml.core.worker import WorkFailed
from veriml.proving import tickets
from veriml.proving.models import Job
from veriml.registry.models import PRIVACY_PARTS, Dataset, RegisteredModel, Visibility

QUEUED = Job.Status.QUEUED
RUNNING = Job.Status.RUNNING
NONCE_BYTES = 32


class ModelNotReady(ServiceConflict):
    code = "model_not_ready"


class DatasetNotReady(ServiceConflict):
    code = "dataset_not_ready"


class IdempotencyConflict(ServiceConflict):
    code = "idempotency_conflict"


class JobFinished(ServiceConflict):
    code = "job_finished"


class ZeroKnowledgeUnavailable(ServiceError):
    status_code = 422
    code = "zero_knowledge_unavailable"


@dataclass(frozen=True)
class JobRequest:
    kind: str
    model: RegisteredModel
    input: UploadedFile | None = None
    dataset: Dataset | None = None
    callback_url: str = ""
    # Parts the requester wants private on top of the model's toggles and the organisation's
    # minimums (compliance.privacy.services.job_privacy).
    privacy: dict[str, str] | None = None


def enqueue_job(job_id: str, kind: str) -> None:
    from veriml.proving.tasks import prove_accuracy, prove_inference

    task = prove_inference if kind == Job.Kind.INFERENCE else prove_accuracy
    region = Job.objects.filter(pk=job_id).values_list("organisation__region", flat=True).first()
    task.apply_async((job_id,), queue=queue_for("prove", region or ""))


def enqueue_callback(job_id: str) -> None:
    from veriml.proving.tasks import send_callback

    send_callback.delay(job_id)


def _fingerprint(request: JobRequest, input_sha256: str | None) -> str:
    described = {
        "kind": request.kind,
        "model": str(request.model.pk),
        "dataset": str(request.dataset.pk) if request.dataset else None,
        "input": input_sha256,
        "callback_url": request.callback_url,
    }
    if request.privacy:
        described["privacy"] = dict(sorted(request.privacy.items()))
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()


def _estimate(request: JobRequest) -> dict[str, Any]:
    """The compiled model's estimate of one proof; an audit proves every sample of its set."""
    estimate = dict(request.model.estimate or {})
    seconds = estimate.get("prove_seconds")
    if request.kind == Job.Kind.AUDIT and request.dataset and isinstance(seconds, int | float):
        estimate["prove_seconds"] = seconds * (request.dataset.samples or 1)
    return estimate


def _check_ready(request: JobRequest) -> None:
    model = request.model
    if model.status != RegisteredModel.Status.READY:
        raise ModelNotReady(
            f"Model {model.name} v{model.version} is {model.status}, not ready.",
            model=str(model.pk),
        )
    dataset = request.dataset
    if dataset is not None and dataset.status != Dataset.Status.READY:
        raise DatasetNotReady(
            f"Test set {dataset.name} is {dataset.status}, not ready.", dataset=str(dataset.pk)
        )


def _replay(existing: Job, fingerprint: str) -> tuple[Job, bool]:
    if existing.request_fingerprint != fingerprint:
        raise IdempotencyConflict(
            "This Idempotency-Key was used for a different request.", job=str(existing.pk)
        )
    return existing, False


ZERO_KNOWLEDGE_TODAY = (
    "inference proofs of MLPs and CNNs can keep their input and output private, and accuracy "
    "audits of MLP and CNN classifiers their test inputs (with every logit; the counts are the "
    "audit's result and stay public); a model registered with private weights is committed "
    "hidden (where the private mode covers it), for a budget of zero-knowledge proofs, and each "
    "of its inference proofs and private-input audits keeps the weights private; a model "
    "registered with public weights cannot hide them later, and private audit outputs are not "
    "available"
)
"""What the prover's private mode hides in this version, for refusals to name."""

# The parts an inference proof's private mode may hide; the model's compile report says which of
# them its proofs can (``support["private_parts"]``).
INFERENCE_HIDEABLE_PARTS = frozenset({"input", "output"})
# A private audit hides the test inputs; its output, the counts, is what it proves.
AUDIT_HIDEABLE_PARTS = frozenset({"input"})
# Hideable exactly for a model committed with hidden weights (``RegisteredModel.weights_hidden``),
# whose every proof keeps them private.
WEIGHTS = frozenset({"weights"})
NOT_COMPILED_FOR_PRIVACY = "it was compiled before private proofs existed; register it again"
NOT_COMPILED_FOR_PRIVATE_AUDITS = "it was compiled before private audits existed; register it again"
WEIGHTS_COMMITTED_OPENLY = (
    "its weights were committed openly when it was registered (with public weights), and a "
    "commitment cannot be hidden later; register a new version with private weights"
)
HIDDEN_WEIGHTS_NEED_PRIVATE_INPUTS = (
    "its weights are committed hidden, and an audit keeps hidden weights private only with "
    'private test inputs; ask for them (the request\'s privacy {"input": "private"}, or the '
    "test set's input toggle)"
)


def _audit_private_reason(model: RegisteredModel, dataset: Dataset | None) -> str:
    """Why an audit of the model on the test set cannot hide its test inputs; empty when it
    can. The model's compile report says whether its private audits can
    (``support["audit_private_parts"]``, asked of the prover when it was compiled:
    ``registry.tasks.private_audit_support``) and from how many samples
    (``audit_min_samples``: fewer leave too little to mask what the proof reveals)."""
    support = model.support or {}
    if "audit_private_parts" not in support:
        return NOT_COMPILED_FOR_PRIVATE_AUDITS
    if "input" not in (support.get("audit_private_parts") or []):
        reason = str(support.get("audit_private_reason") or "").strip().rstrip(".")
        return reason or "its audits cannot hide their test inputs"
    least = int(support.get("audit_min_samples") or 1)
    if dataset is not None and dataset.samples is not None and dataset.samples < least:
        return (
            f"a private audit of it needs a test set of at least {least} samples to mask "
            f"what its proof reveals, and test set {dataset.name} has {dataset.samples}"
        )
    return ""


def hideable_parts(
    kind: str, model: RegisteredModel, dataset: Dataset | None = None
) -> frozenset[str]:
    """The private parts the prover can hide in a job of this kind on this model: for an
    inference job, those the model's compile report names; for an audit, the test inputs
    where the compile report says its audits can hide them, on a test set large enough. The
    weights, for both kinds, exactly when the model is committed with hidden weights (an
    audit of it keeps them private only with private test inputs: :func:`submit_job`)."""
    weights = WEIGHTS if model.weights_hidden else frozenset()
    if kind == Job.Kind.AUDIT:
        if _audit_private_reason(model, dataset):
            return frozenset()
        return AUDIT_HIDEABLE_PARTS | weights
    named = (model.support or {}).get("private_parts") or []
    return (INFERENCE_HIDEABLE_PARTS & {str(part) for part in named}) | weights


def _why_model_cannot(request: JobRequest, refused: list[str]) -> str:
    reasons = [_why_model_cannot_hide_data(request, refused)]
    if "weights" in refused:
        reasons.append(_why_model_cannot_hide_weights(request))
    return "; ".join(reason for reason in reasons if reason)


def _why_model_cannot_hide_data(request: JobRequest, refused: list[str]) -> str:
    model = request.model
    if request.kind == Job.Kind.AUDIT:
        blocked = "input" in refused or ("weights" in refused and model.weights_hidden)
        return _audit_private_reason(model, request.dataset) if blocked else ""
    if not INFERENCE_HIDEABLE_PARTS & set(refused):
        return ""
    reason = str((model.support or {}).get("private_reason") or "").strip().rstrip(".")
    if not reason and "private_parts" not in (model.support or {}):
        reason = NOT_COMPILED_FOR_PRIVACY
    return reason


def _why_model_cannot_hide_weights(request: JobRequest) -> str:
    model = request.model
    if not model.weights_hidden:
        return WEIGHTS_COMMITTED_OPENLY
    if request.kind == Job.Kind.AUDIT and not _audit_private_reason(model, request.dataset):
        return HIDDEN_WEIGHTS_NEED_PRIVATE_INPUTS
    return ""


def _job_hideable_parts(request: JobRequest, private_parts: list[str]) -> frozenset[str]:
    """:func:`hideable_parts` for this request: an audit with public test inputs runs in the
    public mode, which opens the weights, so it cannot keep a hidden commitment's weights
    private."""
    hideable = hideable_parts(request.kind, request.model, request.dataset)
    if request.kind == Job.Kind.AUDIT and "input" not in private_parts:
        hideable -= WEIGHTS
    return hideable


def _refuse_private(
    organisation: Organisation,
    request: JobRequest,
    reasons: dict[str, list[str]],
    hideable: frozenset[str],
    actor: str,
) -> None:
    """Refuses, before anything is stored, a job whose effective privacy has a part the prover
    cannot hide for it (:func:`hideable_parts`), so that it could only fail. The message names
    those parts, what made each private, what zero knowledge hides today and, when the model
    is the obstacle, its compile report's reason. The refusal is recorded as a policy
    decision."""
    private = {part: why for part, why in reasons.items() if why}
    refused = [part for part in private if part not in hideable]
    named = "; ".join(f"{part} (private by {' and '.join(private[part])})" for part in refused)
    model = request.model
    message = (
        f"Zero-knowledge proving cannot keep {', '.join(refused)} private in this "
        f"{request.kind} job: {named}. In this version {ZERO_KNOWLEDGE_TODAY}."
    )
    model_reason = _why_model_cannot(request, refused)
    if model_reason:
        message += f" Model {model.name} v{model.version} is not covered: {model_reason}."
    decision = tickets.deny_proving(organisation, model, message, actor)
    raise ZeroKnowledgeUnavailable(
        message,
        private_parts=list(private),
        refused_parts=refused,
        hideable_parts=sorted(hideable),
        reasons=private,
        private_reason=model_reason,
        policy_decision=decision.pk,
    )


def submit_job(
    organisation: Organisation,
    request: JobRequest,
    idempotency_key: str | None = None,
    created_by: str = "",
    actor: str = "system",
) -> tuple[Job, bool]:
    """The job for this request and whether it was created now.

    With an ``idempotency_key``, a repeated request (same organisation, same key, same content)
    returns the job the first one created instead of a new one; the same key with different
    content is refused. Private parts the prover can hide for this job are proved in
    zero-knowledge mode; a job with any other private part is refused before anything is
    stored (:func:`_refuse_private`).
    """
    input_sha256 = None
    if request.input is not None:
        request.input.seek(0)
        input_sha256, _ = digest_chunks(request.input.chunks(CHUNK_BYTES))
    fingerprint = _fingerprint(request, input_sha256)
    if idempotency_key:
        existing = Job.objects.filter(
            organisation=organisation, idempotency_key=idempotency_key
        ).first()
        if existing is not None:
            return _replay(existing, fingerprint)
    _check_ready(request)
    reasons = privacy_services.job_privacy_reasons(
        organisation, request.model, request.dataset, request.privacy
    )
    private_parts = [part for part in PRIVACY_PARTS if reasons[part]]
    hideable = _job_hideable_parts(request, private_parts)
    if set(private_parts) - hideable:
        _refuse_private(organisation, request, reasons, hideable, actor)
    if request.model.weights_hidden:
        tickets.refuse_spent_budget(organisation, request.model, actor)
    policy.enforce(organisation, "prove", target=("model", str(request.model.pk)), actor=actor)
    stored_input = None
    if request.input is not None:
        stored_input = phi_storage.store_upload(
            organisation, "inputs", request.input, request.input.name or "input"
        )
    try:
        with transaction.atomic():
            job = Job.objects.create(
                organisation=organisation,
                kind=request.kind,
                model=request.model,
                dataset=request.dataset,
                input=stored_input,
                private_parts=private_parts,
                nonce=secrets.token_hex(NONCE_BYTES),
                idempotency_key=idempotency_key or None,
                request_fingerprint=fingerprint,
                callback_url=request.callback_url,
                estimate=_estimate(request),
                created_by=created_by,
            )
            job_id, kind = str(job.pk), job.kind
            audit_log.record(
                "job.created",
                actor=actor,
                organisation=organisation.pk,
                target=("job", job_id),
                details={
                    "kind": kind,
                    "model": str(request.model.pk),
                    "dataset": str(request.dataset.pk) if request.dataset else None,
                    "input_sha256": None if "input" in private_parts else input_sha256,
                    "private_parts": private_parts,
                },
            )
            transaction.on_commit(lambda: enqueue_job(job_id, kind))
    except IntegrityError:
        discard_file(stored_input)
        # A concurrent request with the same key won the race: answer with its job.
        if not idempotency_key:
            raise
        existing = Job.objects.get(organisation=organisation, idempotency_key=idempotency_key)
        return _replay(existing, fingerprint)
    except BaseException:
        discard_file(stored_input)
        raise
    return job, True


def _record_job_end(job: Job, actor: str = "system") -> None:
    """The job's end; never its output, which may be private."""
    details: dict[str, Any] = {"kind": job.kind}
    if job.status == Job.Status.SUCCEEDED and job.proof is not None:
        details["proof_sha256"] = job.proof.sha256
    if job.error_code:
        details["error_code"] = job.error_code
    audit_log.record(
        f"job.{job.status}",
        actor=actor,
        organisation=job.organisation_id,
        target=("job", str(job.pk)),
        details=details,
    )


def record_proof_download(job: Job, actor: str) -> None:
    policy.enforce(job.organisation, "download", target=("job", str(job.pk)), actor=actor)
    audit_log.record(
        "proof.downloaded",
        actor=actor,
        organisation=job.organisation_id,
        target=("job", str(job.pk)),
        details={"proof_sha256": job.proof.sha256 if job.proof else None},
    )


def cancel_job(job: Job, actor: str = "system") -> Job:
    """Cancels a queued or running job. A running attempt notices at its next progress report
    and stops; its result, if it still comes, is discarded."""
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk)
        if locked.status in Job.FINAL:
            raise JobFinished(f"The job has already ended: it {locked.status}.")
        now = timezone.now()
        locked.status = Job.Status.CANCELLED
        locked.cancelled_at = now
        locked.finished_at = now
        locked.attempt_token = None
        locked.save()
        _record_job_end(locked, actor)
        if locked.callback_url:
            job_id = str(locked.pk)
            transaction.on_commit(lambda: enqueue_callback(job_id))
    return locked


def claim_job(job_id: str, prover_version: str, device: str) -> Claimed:
    with transaction.atomic():
        claimed = work.claim(
            Job,
            job_id,
            waiting=QUEUED,
            running=RUNNING,
            failed=Job.Status.FAILED,
            prover_version=prover_version,
            device=device,
        )
        if claimed.claim is Claim.GAVE_UP:
            _record_job_end(Job.objects.get(pk=job_id))
    return claimed


def record_job_progress(attempt: Attempt, stage: str, fraction: float) -> bool:
    return work.record_progress(Job, attempt, RUNNING, stage, fraction)


def job_heartbeat(attempt: Attempt) -> bool:
    return work.beat(Job, attempt, RUNNING)


def _without_output(statement: Any) -> Any:
    """The statement with its output withheld. A zero-knowledge proof of a private output states
    none already; a public-mode proof of a job whose output turned private while it ran does,
    and that output must not be stored either."""
    if not isinstance(statement, dict) or statement.get("output") is None:
        return statement
    return {**statement, "output": None}


def complete_job(
    attempt: Attempt,
    proof: StoredFile,
    result: dict[str, Any],
    verification: dict[str, Any],
    output_public: bool,
    commitment: phi_storage.WrittenFile | None = None,
    dataset_digest: str = "",
) -> Job | None:
    """Records the proof and its verification; a proof the verifier rejects fails the job. An
    audit also records its committed test set (``commitment``) and that set's digest, which
    the proof's statement names.

    ``proof`` and ``commitment`` are written to storage but their rows not saved yet: they are
    saved here, in the same transaction as the job's end, and not at all when the attempt no
    longer holds the job.
    """
    organisation = Organisation.objects.get(jobs=attempt.pk)
    if not policy.decide(organisation, "verify", target=("job", str(attempt.pk))).allowed:
        raise WorkFailed("policy_denied", "Regional policy refuses to verify this proof here.")
    accepted = bool(verification.get("accepted"))
    statement = result.get("statement") or verification.get("statement") or {}
    if not output_public:
        statement = _without_output(statement)
        if "statement" in verification:
            verification = {**verification, "statement": _without_output(verification["statement"])}
    fields: dict[str, Any] = {
        "proof": proof,
        "statement": statement,
        "timings": result.get("timings") or {},
        "output": result.get("output") if output_public else None,
        "verification": verification,
        "progress_fraction": 1.0,
        "dataset_digest": dataset_digest,
    }
    if not accepted:
        fields["error_code"] = "verification_failed"
        fields["error_message"] = (
            f"The proof did not verify: {verification.get('reason')}: "
            f"{verification.get('detail', '')}".rstrip(": ")
        )
    status = Job.Status.SUCCEEDED if accepted else Job.Status.FAILED
    with transaction.atomic():
        proof.save(force_insert=True)
        if commitment is not None:
            fields["dataset_commitment"] = commitment.save()
        job = work.finish(Job, attempt, RUNNING, status, **fields)
        if job is None:
            transaction.set_rollback(True)
        else:
            _record_job_end(job)
    return job


def fail_job(attempt: Attempt, code: str, message: str) -> Job | None:
    with transaction.atomic():
        job = work.finish(
            Job, attempt, RUNNING, Job.Status.FAILED, error_code=code, error_message=message
        )
        if job is not None:
            _record_job_end(job)
    return job


def record_callback(job_id: str, error: str = "") -> None:
    with transaction.atomic():
        Job.objects.filter(pk=job_id).update(
            callback_delivered_at=None if error else timezone.now(), callback_error=error[:2000]
        )


def output_is_public(job: Job) -> bool:
    return "output" not in job.private_parts and job.model.privacy_output == Visibility.PUBLIC

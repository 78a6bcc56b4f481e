"""Every HIPAA control that changes state: reading PHI for a person, break-glass access,
erasure of test sets, models and job files (on request, or when a retention period ends),
master-key rotation.

Who may read a PHI test set: the organisation's owners (the ``admin`` right), always with a
stated purpose; a member with the ``read`` right only under an open break-glass grant of their
own. Every read is logged (:mod:`compliance.hipaa.storage`).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from compliance import audit_log
from compliance.hipaa import keys, storage
from compliance.hipaa.models import BreakGlassGrant, OrganisationDataKey
from veriml.accounts.access import Caller, Right
from veriml.accounts.models import Organisation
from veriml.core.errors import ServiceConflict, ServiceError
from veriml.core.files import discard_file, read_checked
from veriml.core.models import StoredFile
from veriml.proving.models import Job
from veriml.registry.models import Dataset, RegisteredModel

REASON_MAX = 2000


class ReasonRequired(ServiceError):
    code = "reason_required"


class PHIAccessDenied(ServiceError):
    status_code = 403
    code = "phi_access_denied"


def _reason(reason: str, what: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired(f"{what} needs a reason, which is written to the audit log.")
    return reason[:REASON_MAX]


def open_break_glass(
    organisation: Organisation, actor: str, reason: str, minutes: int
) -> BreakGlassGrant:
    """Opens time-boxed emergency access to the organisation's PHI for ``actor``."""
    reason = _reason(reason, "Break-glass access")
    longest = settings.PHI_BREAK_GLASS_MAX_MINUTES
    if not 0 < minutes <= longest:
        raise ServiceError(f"Break-glass access lasts 1 to {longest} minutes, not {minutes}.")
    now = timezone.now()
    with transaction.atomic():
        grant: BreakGlassGrant = BreakGlassGrant.objects.create(
            organisation=organisation,
            actor=actor,
            reason=reason,
            opened_at=now,
            expires_at=now + timedelta(minutes=minutes),
        )
        audit_log.record(
            "phi.break_glass_opened",
            actor=actor,
            organisation=organisation.pk,
            target=("break_glass", str(grant.pk)),
            details={
                "break_glass": True,
                "reason": reason,
                "expires_at": grant.expires_at.isoformat(),
            },
            region=organisation.region,
        )
    return grant


def close_break_glass(grant: BreakGlassGrant, actor: str) -> BreakGlassGrant:
    with transaction.atomic():
        locked: BreakGlassGrant = BreakGlassGrant.objects.select_for_update().get(pk=grant.pk)
        if locked.closed_at is None:
            locked.closed_at = timezone.now()
            locked.save(update_fields=["closed_at"])
            audit_log.record(
                "phi.break_glass_closed",
                actor=actor,
                organisation=locked.organisation_id,
                target=("break_glass", str(locked.pk)),
                details={"break_glass": True},
            )
    return locked


def active_grant(organisation: Organisation, actor: str) -> BreakGlassGrant | None:
    now = timezone.now()
    found: BreakGlassGrant | None = (
        BreakGlassGrant.objects.filter(
            organisation=organisation,
            actor=actor,
            closed_at__isnull=True,
            opened_at__lte=now,
            expires_at__gt=now,
        )
        .order_by("-expires_at")
        .first()
    )
    return found


def read_dataset(dataset: Dataset, caller: Caller, purpose: str) -> bytes:
    """A test set's plaintext for a person, with the access logged; PHI needs the admin right
    or the reader's own open break-glass grant."""
    organisation = dataset.organisation
    purpose = _reason(purpose, "Reading a test set")
    grant = None
    if organisation.handles_phi and not caller.can(Right.ADMIN, organisation.pk):
        grant = active_grant(organisation, caller.actor)
        if grant is None:
            raise PHIAccessDenied(
                f"{organisation.name} handles PHI: reading its test sets needs the owner role, "
                "or open break-glass access first (POST /api/v1/compliance/phi/break-glass).",
            )
    with storage.accessing(caller.actor, purpose, grant.pk if grant else None):
        return read_checked(dataset.file)


def _erase_commitments_of(dataset: Dataset) -> None:
    """Deletes the committed test sets audits made from the test set: each holds its values."""
    jobs = Job.objects.filter(dataset=dataset, dataset_commitment__isnull=False)
    commitments = list(StoredFile.objects.filter(pk__in=jobs.values("dataset_commitment")))
    if not commitments:
        return
    jobs.update(dataset_commitment=None)
    StoredFile.objects.filter(pk__in=[stored.pk for stored in commitments]).delete()
    for stored in commitments:
        transaction.on_commit(lambda stored=stored: storage.delete_bytes(stored))


def erase_dataset(dataset: Dataset, actor: str, reason: str) -> None:
    """Deletes a test set's data on request and leaves a tombstone in the audit log.

    A test set no job names is deleted with its row; one that proofs were made from keeps its
    row, marked erased, so those jobs keep their history, but its file is gone, and so are the
    committed test sets (``Job.dataset_commitment``) its audits made, which hold its values."""
    reason = _reason(reason, "Erasing a test set")
    stored = dataset.file
    with transaction.atomic():
        locked = Dataset.objects.select_for_update().get(pk=dataset.pk)
        if locked.error_code == "erased":
            raise ServiceConflict("The test set has already been erased.")
        used = locked.jobs.exists()
        audit_log.record(
            "dataset.erased",
            actor=actor,
            organisation=locked.organisation_id,
            target=("dataset", str(locked.pk)),
            details={
                "tombstone": True,
                "reason": reason,
                "sha256": stored.sha256,
                "size": stored.size,
                "row_kept_for_jobs": used,
            },
        )
        _erase_commitments_of(locked)
        if used:
            locked.status = Dataset.Status.FAILED
            locked.error_code = "erased"
            locked.error_message = "The data was deleted on request."
            locked.save(update_fields=["status", "error_code", "error_message"])
            transaction.on_commit(lambda: storage.delete_bytes(stored))
        else:
            locked.delete()
            transaction.on_commit(lambda: discard_file(stored))


MODEL_FILES = ("source", "calibration", "compiled")


def erase_model(model: RegisteredModel, actor: str, reason: str) -> None:
    """Deletes a registered model's files (the uploaded ``.pt2``, its calibration set, the
    compiled model) and leaves a tombstone in the audit log.

    The row stays, marked erased, with its digest, so the jobs made with it keep their history
    and the proofs already issued stay verifiable against that digest; no new job can use it,
    and a compile still running for it is abandoned (its result is discarded)."""
    reason = _reason(reason, "Erasing a model")
    with transaction.atomic():
        locked = RegisteredModel.objects.select_for_update().get(pk=model.pk)
        if locked.error_code == "erased":
            raise ServiceConflict("The model has already been erased.")
        files = {
            part: stored for part in MODEL_FILES if (stored := getattr(locked, part)) is not None
        }
        audit_log.record(
            "model.erased",
            actor=actor,
            organisation=locked.organisation_id,
            target=("model", str(locked.pk)),
            details={
                "tombstone": True,
                "reason": reason,
                "name": locked.name,
                "version": locked.version,
                "digest": locked.digest,
                **{f"{part}_sha256": stored.sha256 for part, stored in files.items()},
                "size": sum(stored.size for stored in files.values()),
                "jobs": locked.jobs.count(),
            },
        )
        locked.status = RegisteredModel.Status.FAILED
        locked.error_code = "erased"
        locked.error_message = (
            "The model's files were deleted; its digest and the history of its jobs are kept."
        )
        locked.save(update_fields=["status", "error_code", "error_message"])
        for stored in files.values():
            transaction.on_commit(lambda stored=stored: storage.delete_bytes(stored))


JOB_FILES = ("input", "proof", "dataset_commitment")


def erase_job_files(job: Job, actor: str, reason: str) -> None:
    """Deletes a job's files (its input, proof and an audit's committed test set) and leaves a
    tombstone in the audit log. The job's row stays, with its statement, verification and the
    files' SHA-256s in the tombstone, so its history (and the proof's digest) outlive the
    data."""
    reason = _reason(reason, "Erasing a job's files")
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk)
        files = {
            part: stored for part in JOB_FILES if (stored := getattr(locked, part)) is not None
        }
        if not files:
            raise ServiceConflict("The job's files have already been erased.")
        audit_log.record(
            "job.files_erased",
            actor=actor,
            organisation=locked.organisation_id,
            target=("job", str(locked.pk)),
            details={
                "tombstone": True,
                "reason": reason,
                **{f"{part}_sha256": stored.sha256 for part, stored in files.items()},
                "size": sum(stored.size for stored in files.values()),
            },
        )
        for part in files:
            setattr(locked, part, None)
        locked.save(update_fields=list(files))
        StoredFile.objects.filter(pk__in=[stored.pk for stored in files.values()]).delete()
        for stored in files.values():
            transaction.on_commit(lambda stored=stored: storage.delete_bytes(stored))


def rotate_master_key(actor: str = "system") -> int:
    """Rewraps every data key not yet under the newest master key; the data keys themselves,
    and so every file, stay as they are. Returns how many were rewrapped."""
    newest_id, _ = keys.newest()
    rewrapped = 0
    for key_id in OrganisationDataKey.objects.exclude(master_key_id=newest_id).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            row = OrganisationDataKey.objects.select_for_update().get(pk=key_id)
            if row.master_key_id == newest_id:
                continue
            data_key = keys.unwrap(row.wrapped_key, row.master_key_id, row.organisation_id)
            old_id = row.master_key_id
            row.master_key_id, row.wrapped_key = keys.wrap(data_key, row.organisation_id)
            row.rewrapped_at = timezone.now()
            row.save(update_fields=["master_key_id", "wrapped_key", "rewrapped_at"])
            audit_log.record(
                "phi.data_key_rewrapped",
                actor=actor,
                organisation=row.organisation_id,
                target=("data_key", str(row.pk)),
                details={"from_master_key": old_id, "to_master_key": row.master_key_id},
            )
            rewrapped += 1
    return rewrapped

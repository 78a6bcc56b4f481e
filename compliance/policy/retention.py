"""What the region policies' retention periods have run out for.

A region's ``retention_days`` counts from the last time the platform used the data: for a test
set or a registered model (its uploaded ``.pt2``, calibration set and compiled model), its
upload or the end of the latest job that used it; for a job's files (its input, its proof and
an audit's committed test set), the end of the job. Data a queued or running job still needs
is never expired, nor a model still compiling, nor data of an organisation whose region has no
policy (nothing states its period).
Audit records (the audit log, PHI accesses, policy decisions, privacy changes) are never
expired: they are kept at least ``AUDIT_RETENTION_DAYS`` and are append-only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Max, Q
from django.db.models.functions import Coalesce

from compliance.policy.regions import POLICIES, RegionPolicy
from veriml.accounts.models import Organisation
from veriml.proving.models import Job
from veriml.registry.models import Dataset, RegisteredModel

ACTIVE_JOB_STATES = (Job.Status.QUEUED, Job.Status.RUNNING)


@dataclass(frozen=True)
class Expired:
    """One item whose retention period is over: ``kind`` is ``dataset``, ``model`` (its files)
    or ``job`` (its files)."""

    kind: str
    pk: str
    organisation: Organisation
    policy: RegionPolicy
    last_used: datetime


def _datasets(policy: RegionPolicy, cutoff: datetime) -> list[Expired]:
    rows = (
        Dataset.objects.filter(organisation__region=policy.region, created_at__lt=cutoff)
        .exclude(error_code="erased")
        .exclude(jobs__status__in=ACTIVE_JOB_STATES)
        .annotate(last_job=Max(Coalesce("jobs__finished_at", "jobs__created_at")))
        .filter(Q(last_job__isnull=True) | Q(last_job__lt=cutoff))
        .select_related("organisation")
        .order_by("created_at")
    )
    return [
        Expired("dataset", str(row.pk), row.organisation, policy, row.last_job or row.created_at)
        for row in rows
    ]


def _models(policy: RegionPolicy, cutoff: datetime) -> list[Expired]:
    rows = (
        RegisteredModel.objects.filter(organisation__region=policy.region, created_at__lt=cutoff)
        .exclude(error_code="erased")
        .exclude(status=RegisteredModel.Status.COMPILING)
        .exclude(jobs__status__in=ACTIVE_JOB_STATES)
        .annotate(last_job=Max(Coalesce("jobs__finished_at", "jobs__created_at")))
        .filter(Q(last_job__isnull=True) | Q(last_job__lt=cutoff))
        .select_related("organisation")
        .order_by("created_at")
    )
    return [
        Expired("model", str(row.pk), row.organisation, policy, row.last_job or row.created_at)
        for row in rows
    ]


def _job_files(policy: RegionPolicy, cutoff: datetime) -> list[Expired]:
    rows = (
        Job.objects.filter(organisation__region=policy.region, status__in=Job.FINAL)
        .filter(
            Q(input__isnull=False) | Q(proof__isnull=False) | Q(dataset_commitment__isnull=False)
        )
        .annotate(ended=Coalesce("finished_at", "created_at"))
        .filter(ended__lt=cutoff)
        .select_related("organisation")
        .order_by("ended")
    )
    return [Expired("job", str(row.pk), row.organisation, policy, row.ended) for row in rows]


def expired(now: datetime) -> list[Expired]:
    """Everything past its region's retention period at ``now``, region by region."""
    found: list[Expired] = []
    for policy in POLICIES.values():
        cutoff = now - timedelta(days=policy.retention_days)
        found += _datasets(policy, cutoff) + _models(policy, cutoff) + _job_files(policy, cutoff)
    return found

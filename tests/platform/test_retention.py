"""Retention enforced: data past its region's retention period is deleted through the erasure
path, each deletion with an erase decision and a tombstone; the audit log is never touched."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from compliance.audit_log import keys
from compliance.audit_log.models import AuditEntry
from compliance.audit_log.verify import verify_log
from compliance.policy import services as policy
from compliance.policy import tasks
from compliance.policy.models import PolicyDecision
from tests.platform import factories
from tests.platform.helpers import bearer
from veriml.core.models import StoredFile
from veriml.proving.models import Job
from veriml.registry.models import Dataset, RegisteredModel

YEAR = timedelta(days=365)


def in_region(org, region: str):
    org.region = region
    org.save(update_fields=["region"])
    return org


def aged(row, age: timedelta, *fields: str):
    """Moves the row's times into the past, as if it had been made ``age`` ago."""
    then = timezone.now() - age
    type(row).objects.filter(pk=row.pk).update(**dict.fromkeys(fields or ("created_at",), then))
    return row


def finished_job(org, age: timedelta, **fields) -> Job:
    job = factories.succeeded_job(org, **fields)
    return aged(job, age, "created_at", "finished_at")


@pytest.fixture
def eu_org(alice_org):
    return in_region(alice_org, "eu")


def test_expired_data_is_erased_with_tombstones_and_the_rest_is_kept(
    api_client, eu_org, charlie_org, issue_key, media_root, django_capture_on_commit_callbacks
):
    old_set = aged(factories.ready_dataset(eu_org), timedelta(days=400))
    fresh_set = aged(factories.ready_dataset(eu_org), timedelta(days=10))
    used_set = aged(factories.ready_dataset(eu_org), timedelta(days=400))
    finished_job(eu_org, timedelta(days=10), kind="audit", dataset=used_set, input=None)
    old_job = finished_job(eu_org, timedelta(days=400))
    running = aged(factories.job(eu_org, status=Job.Status.RUNNING), timedelta(days=400))
    us_set = aged(factories.ready_dataset(in_region(charlie_org, "us")), timedelta(days=400))
    old_files = [old_set.file, old_job.input, old_job.proof]
    entries_before = AuditEntry.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        decisions = policy.enforce_retention()

    assert sorted(d.target for d in decisions) == sorted(
        [f"dataset:{old_set.pk}", f"job:{old_job.pk}"]
    )
    assert all(d.action == "erase" and d.decision == "allow" for d in decisions)
    assert all(d.policy_version == "eu-2026.1" and "365-day" in d.reason for d in decisions)
    assert not Dataset.objects.filter(pk=old_set.pk).exists()
    old_job.refresh_from_db()
    assert old_job.input is None and old_job.proof is None
    assert old_job.status == Job.Status.SUCCEEDED and old_job.statement
    assert not StoredFile.objects.filter(pk__in=[f.pk for f in old_files]).exists()
    assert not any((media_root / f.storage_name).exists() for f in old_files)
    for kept in (fresh_set, used_set, us_set):
        assert (media_root / Dataset.objects.get(pk=kept.pk).file.storage_name).exists()
    assert Job.objects.get(pk=running.pk).input is not None
    tombstones = {e.action: e for e in AuditEntry.objects.filter(details__tombstone=True)}
    assert tombstones["dataset.erased"].target_id == str(old_set.pk)
    assert tombstones["job.files_erased"].details["proof_sha256"] == old_files[2].sha256
    assert all("retention" in e.details["reason"].lower() for e in tombstones.values())
    assert AuditEntry.objects.count() == entries_before + 4
    assert verify_log(keys.public_key()).ok
    key = issue_key("Alice Labs", ("read",))
    erased_proof = api_client.get(f"/api/v1/jobs/{old_job.pk}/proof", **bearer(key))
    assert erased_proof.status_code == 410
    assert erased_proof.json()["error"]["code"] == "proof_erased"


def test_an_unused_model_past_its_period_loses_its_files_and_keeps_its_digest_and_history(
    eu_org, charlie_org, media_root, django_capture_on_commit_callbacks
):
    old_model = aged(factories.ready_model(eu_org, name="old"), timedelta(days=400))
    fresh_model = aged(factories.ready_model(eu_org, name="fresh"), timedelta(days=10))
    used_model = aged(factories.ready_model(eu_org, name="used"), timedelta(days=400))
    finished_job(eu_org, timedelta(days=10), model=used_model)
    retired_model = aged(factories.ready_model(eu_org, name="retired"), timedelta(days=400))
    retired_job = finished_job(eu_org, timedelta(days=400), model=retired_model)
    busy_model = aged(factories.ready_model(eu_org, name="busy"), timedelta(days=400))
    aged(factories.job(eu_org, model=busy_model, status=Job.Status.RUNNING), timedelta(days=400))
    compiling = aged(
        factories.ready_model(eu_org, name="compiling", status=RegisteredModel.Status.COMPILING),
        timedelta(days=400),
    )
    us_model = aged(factories.ready_model(in_region(charlie_org, "us")), timedelta(days=400))
    old_files = [old_model.source, old_model.calibration, old_model.compiled]

    with django_capture_on_commit_callbacks(execute=True):
        decisions = policy.enforce_retention()

    assert sorted(d.target for d in decisions) == sorted(
        [f"model:{old_model.pk}", f"model:{retired_model.pk}", f"job:{retired_job.pk}"]
    )
    assert all(d.action == "erase" and d.policy_version == "eu-2026.1" for d in decisions)
    model_decision = next(d for d in decisions if d.target == f"model:{old_model.pk}")
    assert "model's files" in model_decision.reason and "365-day" in model_decision.reason
    old_model.refresh_from_db()
    assert (old_model.error_code, old_model.digest) == ("erased", factories.MODEL_DIGEST)
    assert not any((media_root / stored.storage_name).exists() for stored in old_files)
    tombstone = AuditEntry.objects.get(action="model.erased", target_id=str(old_model.pk))
    assert tombstone.details["digest"] == factories.MODEL_DIGEST
    assert tombstone.details["compiled_sha256"] == old_files[2].sha256
    assert "retention" in tombstone.details["reason"].lower()
    retired_job.refresh_from_db()
    assert retired_job.status == Job.Status.SUCCEEDED and retired_job.statement
    assert RegisteredModel.objects.get(pk=retired_model.pk).error_code == "erased"
    for kept in (fresh_model, used_model, busy_model, compiling, us_model):
        kept = RegisteredModel.objects.get(pk=kept.pk)
        assert kept.error_code == "" and (media_root / kept.source.storage_name).exists()
    assert verify_log(keys.public_key()).ok


def test_at_a_later_time_what_was_fresh_expires_and_nothing_is_erased_twice(
    eu_org, django_capture_on_commit_callbacks
):
    dataset = factories.ready_dataset(eu_org)
    job = factories.succeeded_job(eu_org)
    for row in (dataset, job):
        aged(row, timedelta(days=10), "created_at", *(["finished_at"] if row is job else []))

    with django_capture_on_commit_callbacks(execute=True):
        today = policy.enforce_retention()
        next_year = policy.enforce_retention(now=timezone.now() + YEAR)
        again = policy.enforce_retention(now=timezone.now() + YEAR)

    assert today == [] and again == []
    # The job's model, unused since the job, expires with its files.
    assert sorted(d.target for d in next_year) == sorted(
        [f"dataset:{dataset.pk}", f"job:{job.pk}", f"model:{job.model_id}"]
    )
    assert PolicyDecision.objects.filter(action="erase").count() == 3
    assert verify_log(keys.public_key()).ok


def test_a_test_set_that_jobs_named_keeps_its_row_marked_erased(
    eu_org, django_capture_on_commit_callbacks
):
    dataset = aged(factories.ready_dataset(eu_org), 2 * YEAR)
    finished_job(eu_org, 2 * YEAR, kind="audit", dataset=dataset, input=None)

    with django_capture_on_commit_callbacks(execute=True):
        policy.enforce_retention()
        again = policy.enforce_retention()

    dataset.refresh_from_db()
    assert dataset.error_code == "erased" and dataset.status == Dataset.Status.FAILED
    assert [d.target for d in again] == []
    assert AuditEntry.objects.filter(action="dataset.erased").count() == 1


def test_audit_records_are_never_erased_however_old(eu_org, django_capture_on_commit_callbacks):
    policy.decide(eu_org, "upload")
    factories.ready_dataset(eu_org)
    before = list(AuditEntry.objects.values_list("sequence", flat=True))
    decisions_before = PolicyDecision.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        erased = policy.enforce_retention(now=timezone.now() + 10 * YEAR)

    after = set(AuditEntry.objects.values_list("sequence", flat=True))
    assert before and set(before) <= after
    assert len(erased) == 1 and PolicyDecision.objects.count() == decisions_before + 1
    assert verify_log(keys.public_key()).ok


def test_an_organisation_outside_any_policy_has_no_period_and_keeps_its_data(alice_org):
    in_region(alice_org, "xx")
    aged(factories.ready_dataset(alice_org), 10 * YEAR)

    assert policy.enforce_retention() == []
    assert Dataset.objects.count() == 1


def test_the_command_and_the_beat_task_enforce_retention(
    eu_org, settings, django_capture_on_commit_callbacks
):
    first = aged(factories.ready_dataset(eu_org), 2 * YEAR)
    out = StringIO()

    with django_capture_on_commit_callbacks(execute=True):
        call_command("enforce_retention", stdout=out)
        aged(factories.ready_dataset(eu_org), 2 * YEAR)
        erased_by_task = tasks.enforce_retention()

    assert f"erased dataset:{first.pk}" in out.getvalue() and "1 erased" in out.getvalue()
    assert erased_by_task == 1 and not Dataset.objects.exists()
    schedule = settings.CELERY_BEAT_SCHEDULE["enforce-retention"]
    assert schedule["task"] == tasks.enforce_retention.name
    assert schedule["schedule"] == float(settings.RETENTION_ENFORCE_SECONDS)

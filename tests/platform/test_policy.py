"""Regional policy: every processing action decided and logged, regional queues, transfers only
with a recorded legal basis, and the regulators' export."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from celery.signals import before_task_publish
from django.core.management import call_command
from django.utils import timezone

from compliance.audit_log.models import AppendOnlyError, AuditEntry
from compliance.policy import services as policy
from compliance.policy.models import PolicyDecision
from compliance.policy.regions import POLICIES, REGIONAL_QUEUES, REGIONS, queue_for
from tests.platform import factories
from tests.platform.helpers import bearer, wait_until
from veriml.celery import QUEUES
from veriml.proving.models import Job


@pytest.fixture
def published():
    """Every task message published while the test runs: task name, routing key, body."""
    messages: list[dict] = []

    def capture(sender=None, body=None, routing_key=None, **_):
        messages.append({"task": sender, "routing_key": routing_key, "body": body})

    before_task_publish.connect(capture, weak=False)
    yield messages
    before_task_publish.disconnect(capture)


@pytest.fixture
def alice_key(alice, issue_key):
    return issue_key("Alice Labs", scopes=("read", "submit"))


@pytest.fixture
def admin_key(alice, issue_key):
    return issue_key("Alice Labs", scopes=("admin",))


def in_region(org, region: str):
    org.region = region
    org.save(update_fields=["region"])
    return org


def decisions(org, action: str) -> list[PolicyDecision]:
    return list(PolicyDecision.objects.filter(organisation_id=org.pk, action=action))


def test_every_region_has_a_versioned_policy_with_residency_retention_and_transfers():
    assert set(REGIONS) == {"us", "eu", "uk", "ca"}
    for region, found in POLICIES.items():
        assert found.version.startswith(f"{region}-")
        assert region in found.storage_regions and region in found.processing_regions
        assert found.retention_days > 0
        assert set(found.privacy_defaults) == {"weights", "input", "output"}
    assert "adequacy" in POLICIES["eu"].transfers["uk"]


def test_an_action_in_the_home_region_is_allowed_and_logged_with_its_policy_version(alice_org):
    in_region(alice_org, "eu")

    row = policy.decide(alice_org, "prove", target=("job", "j1"), actor="user:7")

    assert row.allowed and row.region == "eu" and row.policy_version == "eu-2026.1"
    assert row.reason
    entry = AuditEntry.objects.get(action="policy.decision")
    assert entry.region == "eu" and entry.actor == "user:7"
    assert entry.details["decision"] == "allow" and entry.details["action"] == "prove"
    assert entry.details["policy_version"] == "eu-2026.1"


def test_a_transfer_without_a_basis_is_refused_and_logged(alice_org):
    in_region(alice_org, "eu")

    with pytest.raises(policy.PolicyDenied) as refused:
        policy.enforce(alice_org, "transfer", target_region="us", actor="user:1")

    assert refused.value.status_code == 403
    assert "No transfer basis" in refused.value.message
    [row] = decisions(alice_org, "transfer")
    assert row.decision == "deny" and row.target_region == "us"
    entry = AuditEntry.objects.get(action="policy.decision")
    assert entry.details["decision"] == "deny" and entry.details["target_region"] == "us"


def test_a_cross_region_action_of_any_kind_needs_a_basis(alice_org):
    in_region(alice_org, "us")

    assert not policy.decide(alice_org, "prove", target_region="eu").allowed
    assert not policy.decide(alice_org, "download", target_region="ca").allowed


def test_a_transfer_the_region_policy_allows_names_its_legal_basis(alice_org):
    in_region(alice_org, "eu")

    row = policy.enforce(alice_org, "transfer", target_region="uk")

    assert row.allowed and "2021/1772" in row.reason


def test_an_owner_records_a_transfer_basis_which_then_allows_the_transfer(
    api_client, alice_org, bob, admin_key
):
    in_region(alice_org, "eu")
    body = {"target_region": "us", "legal_basis": "Standard contractual clauses, module 2"}

    by_member = api_client.post("/api/v1/compliance/transfer-bases", body, format="json")
    api_client.force_authenticate(bob)
    as_bob = api_client.post("/api/v1/compliance/transfer-bases", body, format="json")
    api_client.force_authenticate(None)
    as_owner = api_client.post(
        "/api/v1/compliance/transfer-bases", body, format="json", **bearer(admin_key)
    )

    assert by_member.status_code in (401, 403)
    assert as_bob.status_code == 403
    assert as_owner.status_code == 201, as_owner.json()
    row = policy.decide(alice_org, "transfer", target_region="us")
    assert row.allowed and "contractual clauses" in row.reason


def test_a_region_without_a_policy_refuses_every_action(alice_org):
    in_region(alice_org, "xx")

    row = policy.decide(alice_org, "upload")

    assert not row.allowed and "No policy" in row.reason


def test_a_refused_upload_answers_403_and_its_decision_survives_the_failed_request(
    api_client, alice_org, alice_key
):
    in_region(alice_org, "xx")

    response = api_client.post(
        "/api/v1/models/",
        {
            "name": "m",
            "file": factories.model_upload(),
            "calibration": factories.calibration_upload(),
        },
        format="multipart",
        **bearer(alice_key),
    )

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "policy_denied"
    [row] = decisions(alice_org, "upload")
    assert row.decision == "deny" and row.actor.startswith("api_key:")


def test_uploads_and_jobs_are_decided_and_jobs_routed_to_the_regions_queues(
    api_client, alice_org, alice_key, published, django_capture_on_commit_callbacks
):
    in_region(alice_org, "eu")
    model = factories.ready_model(alice_org)

    with django_capture_on_commit_callbacks(execute=True):
        registered = api_client.post(
            "/api/v1/models/",
            {
                "name": "m",
                "file": factories.model_upload(),
                "calibration": factories.calibration_upload(),
            },
            format="multipart",
            **bearer(alice_key),
        )
        created = api_client.post(
            "/api/v1/jobs/",
            {"kind": "inference", "model": str(model.pk), "input": factories.input_upload()},
            format="multipart",
            **bearer(alice_key),
        )

    assert registered.status_code == 201 and created.status_code == 201
    routes = {message["task"]: message["routing_key"] for message in published}
    assert routes["veriml.registry.tasks.compile_model"] == "compile.eu"
    assert routes["veriml.proving.tasks.prove_inference"] == "prove.eu"
    assert [row.decision for row in decisions(alice_org, "upload")] == ["allow"]
    assert [row.decision for row in decisions(alice_org, "compile")] == ["allow"]
    assert [row.decision for row in decisions(alice_org, "prove")] == ["allow"]


def test_every_regional_queue_is_consumed_by_the_default_and_test_workers():
    import scripts.run_local as run_local

    assert set(REGIONAL_QUEUES) <= set(QUEUES)
    assert set(REGIONAL_QUEUES) <= set(run_local.QUEUES.split(","))
    assert queue_for("prove", "eu") == "prove.eu" and queue_for("prove", "xx") == "prove"


def test_a_proof_download_is_decided_and_refused_outside_any_policy(
    api_client, alice_org, alice_key
):
    job = factories.succeeded_job(alice_org)

    allowed = api_client.get(f"/api/v1/jobs/{job.pk}/proof", **bearer(alice_key))
    in_region(alice_org, "xx")
    refused = api_client.get(f"/api/v1/jobs/{job.pk}/proof", **bearer(alice_key))

    assert allowed.status_code == 200
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "policy_denied"
    assert [row.decision for row in decisions(alice_org, "download")] == ["allow", "deny"]


def test_policy_decisions_are_never_changed_or_deleted(alice_org):
    row = policy.decide(alice_org, "report")

    row.reason = "rewritten"
    with pytest.raises(AppendOnlyError):
        row.save()
    with pytest.raises(AppendOnlyError):
        row.delete()


def export(api_client, key, **query):
    return api_client.get("/api/v1/compliance/policy-log", query, **bearer(key))


def test_the_export_contains_the_decisions_as_csv_and_json(
    api_client, alice_org, charlie_org, admin_key
):
    in_region(alice_org, "eu")
    policy.decide(alice_org, "prove")
    policy.decide(alice_org, "transfer", target_region="us")
    policy.decide(charlie_org, "upload")
    today = timezone.now().date().isoformat()

    as_csv = export(api_client, admin_key, **{"from": today, "to": today})
    as_json = export(api_client, admin_key, format="json")

    assert as_csv.status_code == 200 and as_csv["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.content.decode())))
    assert [(row["action"], row["decision"]) for row in rows] == [
        ("prove", "allow"),
        ("transfer", "deny"),
    ]
    assert {row["organisation"] for row in rows} == {"Alice Labs"}
    assert rows[1]["region"] == "eu" and rows[1]["policy_version"] == "eu-2026.1"
    assert rows[1]["target_region"] == "us" and "No transfer basis" in rows[1]["reason"]
    records = json.loads(as_json.content)["decisions"]
    assert [record["action"] for record in records] == ["prove", "transfer"]


def test_the_export_honours_the_date_range(api_client, alice_org, admin_key):
    policy.decide(alice_org, "prove")
    tomorrow = (timezone.now() + timedelta(days=1)).date().isoformat()

    later = export(api_client, admin_key, **{"from": tomorrow, "format": "json"})
    bad = export(api_client, admin_key, **{"from": "last week"})

    assert json.loads(later.content)["decisions"] == []
    assert bad.status_code == 400


def test_only_owners_and_admin_keys_export_the_policy_log(
    api_client, alice_org, bob, charlie, alice_key
):
    policy.decide(alice_org, "prove")

    as_read_key = export(api_client, alice_key)
    api_client.force_authenticate(bob)
    as_member = api_client.get("/api/v1/compliance/policy-log")
    api_client.force_authenticate(charlie)
    as_outsider = api_client.get("/api/v1/compliance/policy-log", {"format": "json"})

    assert as_read_key.status_code == 403 and as_member.status_code == 403
    assert as_outsider.status_code == 200
    assert json.loads(as_outsider.content)["decisions"] == []


def test_the_export_command_writes_the_decisions(alice_org):
    in_region(alice_org, "eu")
    policy.decide(alice_org, "transfer", target_region="us")
    out = io.StringIO()

    call_command("export_policy_log", "--format", "json", stdout=out)

    [record] = json.loads(out.getvalue())["decisions"]
    assert record["decision"] == "deny" and record["organisation"] == "Alice Labs"


@pytest.mark.integration
@pytest.mark.timeout(180)
def test_an_eu_organisations_job_is_sent_to_the_eu_queue_and_runs(
    worker, api_client, alice_org, alice_key, published
):
    in_region(alice_org, "eu")
    model = factories.ready_model(alice_org)

    created = api_client.post(
        "/api/v1/jobs/",
        {"kind": "inference", "model": str(model.pk), "input": factories.input_upload()},
        format="multipart",
        **bearer(alice_key),
    )
    job = wait_until(
        lambda: Job.objects.filter(pk=created.json()["id"], status__in=Job.FINAL).first(),
        timeout=120,
    )

    [message] = [m for m in published if m["task"] == "veriml.proving.tasks.prove_inference"]
    assert message["routing_key"] == "prove.eu"
    # The factory's model is no real compiled model: the worker ran the job, the prover failed.
    assert job.attempts == 1 and job.status == Job.Status.FAILED and job.worker
    assert [row.decision for row in decisions(alice_org, "prove")] == ["allow"]


def test_the_verification_of_a_proof_is_decided_and_a_refusal_fails_the_job(alice_org):
    from django.core.files.base import ContentFile

    from veriml.core.files import write_file
    from veriml.core.worker import WorkFailed
    from veriml.proving import services as proving

    job, _ = proving.submit_job(
        alice_org,
        proving.JobRequest(
            kind=Job.Kind.INFERENCE,
            model=factories.ready_model(alice_org),
            input=factories.input_upload(),
        ),
    )
    attempt = proving.claim_job(str(job.pk), "0.test", "cpu").attempt
    proof = write_file(alice_org, "proofs", ContentFile(factories.proof_bytes()), "p.vmp")
    in_region(alice_org, "xx")

    with pytest.raises(WorkFailed) as refused:
        proving.complete_job(attempt, proof, {}, {"accepted": True}, True)

    assert refused.value.code == "policy_denied"
    assert [row.decision for row in decisions(alice_org, "verify")] == ["deny"]
    assert Job.objects.get(pk=job.pk).status == Job.Status.RUNNING

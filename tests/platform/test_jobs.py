"""Proving jobs through the API: submission, idempotency, cancellation, proofs, tenancy."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.storage import storages

from tests.platform import factories
from tests.platform.helpers import bearer
from veriml.accounts import services as account_services
from veriml.accounts.models import Membership
from veriml.proving.models import Job
from veriml.registry.models import RegisteredModel

JOBS = "/api/v1/jobs/"


def submit(api_client, key, model, headers=None, **fields):
    data = {"kind": "inference", "model": str(model.pk), "input": factories.input_upload()}
    data.update(fields)
    return api_client.post(JOBS, data, format="multipart", **bearer(key), **(headers or {}))


@pytest.fixture
def model(alice_org):
    return factories.ready_model(alice_org)


@pytest.fixture
def alice_key(alice, issue_key):
    return issue_key("Alice Labs", scopes=("read", "submit"))


def test_submitting_an_inference_job_answers_201_queued_with_the_estimate(
    api_client, model, alice_key
):
    response = submit(api_client, alice_key, model)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "queued"
    assert body["kind"] == "inference"
    assert body["model"] == str(model.pk)
    assert body["model_digest"] == factories.MODEL_DIGEST
    assert body["estimate"] == factories.ESTIMATE
    assert body["private_parts"] == []
    assert body["proof"] is None
    assert body["progress"] == {"stage": "", "fraction": 0.0, "updated_at": None}
    assert "nonce" not in body
    job = Job.objects.get(pk=body["id"])
    assert len(job.nonce) == 64
    assert body["input_sha256"] == job.input.sha256


def test_an_audit_job_takes_a_test_set_in_a_json_body(api_client, model, alice_org, alice_key):
    dataset = factories.ready_dataset(alice_org, samples=10)

    response = api_client.post(
        JOBS,
        {"kind": "audit", "model": str(model.pk), "dataset": str(dataset.pk)},
        format="json",
        **bearer(alice_key),
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["dataset"] == str(dataset.pk)
    # The model's estimate is for one input; an audit proves every sample.
    assert body["estimate"]["prove_seconds"] == factories.ESTIMATE["prove_seconds"] * 10


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"input": None}, "input"),
        ({"kind": "audit", "input": None}, "dataset"),
        ({"kind": "audit"}, "dataset"),
        ({"kind": "training"}, "kind"),
        ({"callback_url": "ftp://example.com/hook"}, "callback_url"),
        ({"callback_url": "file:///etc/passwd"}, "callback_url"),
        ({"input": factories.upload("input.pkl", b"\x80\x04")}, "input"),
    ],
)
def test_it_refuses_malformed_job_requests(api_client, model, alice_key, fields, field):
    data = {"kind": "inference", "model": str(model.pk), "input": factories.input_upload()}
    data.update(fields)
    data = {name: value for name, value in data.items() if value is not None}

    response = api_client.post(JOBS, data, format="multipart", **bearer(alice_key))

    assert response.status_code == 400
    assert field in response.json()["error"]["details"]["fields"]
    assert not Job.objects.exists()


def test_it_refuses_an_input_over_the_size_limit(api_client, model, alice_key, settings):
    settings.INPUT_UPLOAD_MAX_BYTES = 10

    response = submit(api_client, alice_key, model)

    assert response.status_code == 413
    assert "INPUT_UPLOAD_MAX_BYTES" in response.json()["error"]["message"]


def test_it_refuses_a_job_on_a_model_that_is_not_ready(api_client, alice_org, alice_key):
    failed = factories.ready_model(alice_org, status=RegisteredModel.Status.FAILED)

    response = submit(api_client, alice_key, failed)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "model_not_ready"
    assert response.json()["error"]["details"] == {"model": str(failed.pk)}


def test_the_same_idempotency_key_returns_the_same_job(api_client, model, alice_key):
    headers = {"HTTP_IDEMPOTENCY_KEY": "order-1234"}

    first = submit(api_client, alice_key, model, headers)
    second = submit(api_client, alice_key, model, headers)

    assert first.status_code == 201
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    assert Job.objects.count() == 1


def test_an_idempotency_key_reused_for_a_different_request_is_refused(api_client, model, alice_key):
    headers = {"HTTP_IDEMPOTENCY_KEY": "order-1234"}
    first = submit(api_client, alice_key, model, headers)

    different = api_client.post(
        JOBS,
        {"kind": "inference", "model": str(model.pk), "input": factories.input_upload(2.0)},
        format="multipart",
        **bearer(alice_key),
        **headers,
    )

    assert different.status_code == 409
    assert different.json()["error"]["code"] == "idempotency_conflict"
    assert different.json()["error"]["details"] == {"job": first.json()["id"]}


def test_idempotency_keys_are_per_organisation(
    api_client, model, charlie_org, alice_key, issue_key
):
    charlie_model = factories.ready_model(charlie_org)
    charlie_key = issue_key("Charlie Corp", scopes=("submit",))
    headers = {"HTTP_IDEMPOTENCY_KEY": "shared-key"}

    alice_job = submit(api_client, alice_key, model, headers)
    charlie_job = submit(api_client, charlie_key, charlie_model, headers)

    assert alice_job.status_code == charlie_job.status_code == 201
    assert alice_job.json()["id"] != charlie_job.json()["id"]


def test_it_refuses_another_organisations_model_as_not_found(
    api_client, alice, charlie_org, alice_key
):
    charlie_model = factories.ready_model(charlie_org)

    response = submit(api_client, alice_key, charlie_model)

    assert response.status_code == 404
    assert not Job.objects.exists()


def test_it_refuses_another_organisations_test_set_as_not_found(
    api_client, model, charlie_org, alice_key
):
    dataset = factories.ready_dataset(charlie_org)

    response = api_client.post(
        JOBS,
        {"kind": "audit", "model": str(model.pk), "dataset": str(dataset.pk)},
        format="json",
        **bearer(alice_key),
    )

    assert response.status_code == 404


def test_a_read_only_key_cannot_submit_jobs(api_client, model, issue_key):
    key = issue_key("Alice Labs", scopes=("read",))

    response = submit(api_client, key, model)

    assert response.status_code == 403


def test_a_submit_only_key_cannot_read_jobs(api_client, alice_org, issue_key):
    job = factories.job(alice_org)
    key = issue_key("Alice Labs", scopes=("submit",))

    assert api_client.get(f"{JOBS}{job.pk}/", **bearer(key)).status_code == 403
    assert api_client.get(JOBS, **bearer(key)).status_code == 403


def test_every_job_endpoint_answers_not_found_to_another_organisation(
    api_client, alice_org, charlie, issue_key
):
    job = factories.succeeded_job(alice_org)
    charlie_key = issue_key("Charlie Corp", scopes=("read", "submit", "admin"))

    responses = [
        api_client.get(f"{JOBS}{job.pk}/", **bearer(charlie_key)),
        api_client.post(f"{JOBS}{job.pk}/cancel", **bearer(charlie_key)),
        api_client.get(f"{JOBS}{job.pk}/proof", **bearer(charlie_key)),
    ]

    assert [response.status_code for response in responses] == [404, 404, 404]
    assert api_client.get(JOBS, **bearer(charlie_key)).json()["results"] == []
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED


def test_cancelling_a_queued_job_ends_it_and_a_second_cancel_is_a_conflict(
    api_client, alice_org, alice_key
):
    job = factories.job(alice_org)

    first = api_client.post(f"{JOBS}{job.pk}/cancel", **bearer(alice_key))
    second = api_client.post(f"{JOBS}{job.pk}/cancel", **bearer(alice_key))

    assert first.status_code == 200
    assert first.json()["status"] == "cancelled"
    assert first.json()["timings"]["finished_at"] is not None
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "job_finished"


def test_a_member_can_cancel_but_an_auditor_cannot(api_client, alice_org, bob, django_user_model):
    dave = django_user_model.objects.create_user("dave", "dave@example.com", "dave-password-1")
    account_services.add_member(alice_org, dave, Membership.Role.AUDITOR)
    job = factories.job(alice_org)

    api_client.force_login(dave)
    as_auditor_read = api_client.get(f"{JOBS}{job.pk}/")
    as_auditor_cancel = api_client.post(f"{JOBS}{job.pk}/cancel")
    api_client.force_login(bob)
    as_member = api_client.post(f"{JOBS}{job.pk}/cancel")

    assert as_auditor_read.status_code == 200
    assert as_auditor_cancel.status_code == 403
    assert as_member.status_code == 200


def test_the_proof_of_a_succeeded_job_downloads_and_verifies(api_client, alice_org, alice_key):
    job = factories.succeeded_job(alice_org)

    detail = api_client.get(f"{JOBS}{job.pk}/", **bearer(alice_key)).json()
    download = api_client.get(detail["proof"]["url"], **bearer(alice_key))
    data = b"".join(download) if download.streaming else download.content
    verdict = api_client.post("/api/v1/verify", {"proof": factories.upload("p.vmp", data)})

    assert detail["verification"]["accepted"] is True
    assert detail["verification"]["soundness_bits"] >= 100
    assert download.status_code == 200
    assert download["Content-Type"] == "application/octet-stream"
    assert download["X-VeriML-Proof-SHA256"] == hashlib.sha256(data).hexdigest()
    assert detail["proof"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert verdict.json()["accepted"] is True


def test_a_proof_changed_in_storage_is_not_served(api_client, alice_org, alice_key):
    job = factories.succeeded_job(alice_org)
    path = storages["default"].path(job.proof.storage_name)
    with open(path, "r+b") as proof:
        proof.seek(40)
        byte = proof.read(1)
        proof.seek(40)
        proof.write(bytes([byte[0] ^ 1]))

    response = api_client.get(f"{JOBS}{job.pk}/proof", **bearer(alice_key))

    assert response.status_code == 500
    assert response.json()["error"]["code"] == "integrity_error"
    assert "changed since it was written" in response.json()["error"]["message"]


def test_a_job_without_a_proof_answers_409_for_its_proof(api_client, alice_org, alice_key):
    job = factories.job(alice_org)

    response = api_client.get(f"{JOBS}{job.pk}/proof", **bearer(alice_key))

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "no_proof"


def test_jobs_are_listed_newest_first_with_cursor_pages_and_filters(
    api_client, alice_org, alice_key
):
    model = factories.ready_model(alice_org)
    queued = [factories.job(alice_org, model) for _ in range(3)]
    failed = factories.job(alice_org, model, status=Job.Status.FAILED)
    audit = factories.job(
        alice_org,
        model,
        kind=Job.Kind.AUDIT,
        input=None,
        dataset=factories.ready_dataset(alice_org),
    )

    first = api_client.get(JOBS, {"page_size": 2}, **bearer(alice_key)).json()
    second = api_client.get(first["next"], **bearer(alice_key)).json()
    by_status = api_client.get(JOBS, {"status": "failed"}, **bearer(alice_key)).json()
    by_kind = api_client.get(JOBS, {"kind": "audit"}, **bearer(alice_key)).json()
    bad_kind = api_client.get(JOBS, {"kind": "training"}, **bearer(alice_key))

    listed = [job["id"] for job in first["results"] + second["results"]]
    assert listed[:2] == [str(audit.pk), str(failed.pk)]
    assert set(listed) | {
        job["id"] for job in api_client.get(second["next"], **bearer(alice_key)).json()["results"]
    } == {str(job.pk) for job in [*queued, failed, audit]}
    assert [job["id"] for job in by_status["results"]] == [str(failed.pk)]
    assert [job["id"] for job in by_kind["results"]] == [str(audit.pk)]
    assert bad_kind.status_code == 400

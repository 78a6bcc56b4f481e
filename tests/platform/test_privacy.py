"""Privacy toggles: defaults and minimums, every change recorded, the effective privacy of a job,
and private values kept out of API responses, job rows, logs and broker messages."""

from __future__ import annotations

import io
import json
import logging

import pytest
from celery.signals import before_task_publish
from django.core.files.base import ContentFile
from kombu.serialization import dumps

from compliance.audit_log.models import AuditEntry
from compliance.policy.models import PolicyDecision
from compliance.privacy import services as privacy
from compliance.privacy.models import ToggleChange
from provers import api as prover_api
from tests.platform import factories
from tests.platform.helpers import bearer
from veriml.core.files import write_file
from veriml.core.models import StoredFile
from veriml.proving import services as proving
from veriml.proving.models import Job
from veriml.registry.models import PRIVACY_PARTS, RegisteredModel

STATES = ("public", "private")


@pytest.fixture
def published():
    messages: list[dict] = []

    def capture(sender=None, body=None, headers=None, routing_key=None, **_):
        # Serialized as the broker receives it: Celery's JSON body, plus its headers.
        _, _, payload = dumps(body, serializer="json")
        text = payload.decode() if isinstance(payload, bytes) else payload
        messages.append(
            {
                "task": sender,
                "args": json.loads(text)[0],
                "serialized": text + json.dumps(headers, default=str),
            }
        )

    before_task_publish.connect(capture, weak=False)
    yield messages
    before_task_publish.disconnect(capture)


@pytest.fixture
def alice_key(alice, issue_key):
    return issue_key("Alice Labs", scopes=("read", "submit"))


@pytest.fixture
def admin_key(alice, issue_key):
    return issue_key("Alice Labs", scopes=("admin", "read"))


def handles_phi(org):
    org.handles_phi = True
    org.save(update_fields=["handles_phi"])
    return org


def set_org(api_client, key, **body):
    return api_client.patch(
        "/api/v1/compliance/privacy/organisation", body, format="json", **bearer(key)
    )


def register(api_client, key, privacy: dict | None = None):
    fields = {
        "name": "m",
        "file": factories.model_upload(),
        "calibration": factories.calibration_upload(),
    }
    if privacy is not None:
        fields["privacy"] = json.dumps(privacy)
    return api_client.post("/api/v1/models/", fields, format="multipart", **bearer(key))


def test_privacy_is_opt_in_new_models_start_public(api_client, alice_org, alice_key):
    response = register(api_client, alice_key)

    assert response.status_code == 201
    assert response.json()["privacy"] == dict.fromkeys(PRIVACY_PARTS, "public")


def test_an_owner_sets_defaults_and_minimums_and_each_change_is_recorded(
    api_client, alice, alice_org, admin_key
):
    response = set_org(
        api_client,
        admin_key,
        defaults={"weights": "private"},
        minimums={"output": "private"},
        reason="Board decision 12",
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["defaults"] == {"weights": "private", "input": "public", "output": "private"}
    assert body["minimums"] == {"weights": "public", "input": "public", "output": "private"}
    changes = ToggleChange.objects.order_by("setting")
    assert [(c.setting, c.part, c.old_value, c.new_value) for c in changes] == [
        ("default", "weights", "public", "private"),
        ("minimum", "output", "public", "private"),
    ]
    assert all(c.reason == "Board decision 12" and c.actor.startswith("api_key:") for c in changes)
    logged = AuditEntry.objects.filter(action="privacy.toggle_changed")
    assert sorted(entry.details["part"] for entry in logged) == ["output", "weights"]


def test_a_change_without_a_reason_is_refused(api_client, alice_org, admin_key):
    response = set_org(api_client, admin_key, defaults={"input": "private"}, reason=" ")

    assert response.status_code == 400
    assert not ToggleChange.objects.exists()


def test_members_cannot_change_organisation_settings_and_outsiders_cannot_see_them(
    api_client, alice_org, bob, charlie
):
    api_client.force_authenticate(bob)
    as_member = api_client.patch(
        "/api/v1/compliance/privacy/organisation",
        {"minimums": {"input": "public"}, "reason": "r", "organisation": "Alice Labs"},
        format="json",
    )
    read = api_client.get("/api/v1/compliance/privacy/organisation")
    api_client.force_authenticate(charlie)
    outsider = api_client.get(
        "/api/v1/compliance/privacy/organisation", {"organisation": "Alice Labs"}
    )

    assert as_member.status_code == 403
    assert read.status_code == 200 and read.json()["organisation"] == "Alice Labs"
    assert outsider.status_code == 404


def test_a_members_request_that_lowers_a_minimum_is_refused_with_403(
    api_client, alice_org, bob, admin_key
):
    set_org(api_client, admin_key, minimums={"weights": "private"}, reason="IP protection")
    api_client.force_authenticate(bob)

    lowered = api_client.post(
        "/api/v1/models/",
        {
            "name": "m",
            "file": factories.model_upload(),
            "calibration": factories.calibration_upload(),
            "privacy": '{"weights": "public"}',
        },
        format="multipart",
    )
    kept = api_client.post(
        "/api/v1/models/",
        {
            "name": "m",
            "file": factories.model_upload(),
            "calibration": factories.calibration_upload(),
        },
        format="multipart",
    )

    assert lowered.status_code == 403
    error = lowered.json()["error"]
    assert error["code"] == "privacy_below_minimum" and "weights" in error["message"]
    assert kept.status_code == 201 and kept.json()["privacy"]["weights"] == "private"


def test_a_phi_organisation_forces_private_inputs_which_no_owner_can_lower(
    api_client, alice_org, admin_key, alice_key
):
    handles_phi(alice_org)

    described = api_client.get("/api/v1/compliance/privacy/organisation", **bearer(admin_key))
    lowered = set_org(api_client, admin_key, minimums={"input": "public"}, reason="try")
    public_input = register(api_client, alice_key, {"input": "public"})
    default = register(api_client, alice_key)

    assert described.json()["minimums"]["input"] == "private"
    assert lowered.status_code == 403
    assert public_input.status_code == 403
    assert default.json()["privacy"]["input"] == "private"


def test_a_model_toggle_change_records_who_when_old_new_and_reason(
    api_client, alice_org, bob, charlie
):
    model = factories.ready_model(alice_org)
    url = f"/api/v1/compliance/privacy/models/{model.pk}"
    api_client.force_authenticate(charlie)
    outsider = api_client.patch(
        url, {"privacy": {"output": "private"}, "reason": "x"}, format="json"
    )
    api_client.force_authenticate(bob)

    raised = api_client.patch(
        url, {"privacy": {"output": "private"}, "reason": "Customer request"}, format="json"
    )

    assert outsider.status_code == 404
    assert raised.status_code == 200 and raised.json()["privacy"]["output"] == "private"
    [change] = ToggleChange.objects.all()
    assert (change.object_type, change.object_id, change.part) == ("model", str(model.pk), "output")
    assert (change.old_value, change.new_value) == ("public", "private")
    assert change.actor == f"user:{bob.pk}" and change.reason == "Customer request"
    assert change.time is not None
    model.refresh_from_db()
    assert model.privacy_output == "private"


def test_a_model_toggle_cannot_go_below_the_minimum(api_client, alice_org, bob):
    handles_phi(alice_org)
    model = factories.ready_model(alice_org, privacy_input="private")
    api_client.force_authenticate(bob)

    response = api_client.patch(
        f"/api/v1/compliance/privacy/models/{model.pk}",
        {"privacy": {"input": "public"}, "reason": "faster"},
        format="json",
    )

    assert response.status_code == 403
    model.refresh_from_db()
    assert model.privacy_input == "private"


def test_a_test_sets_input_privacy_is_a_toggle_that_audit_jobs_follow(
    api_client, alice_org, alice_key, bob
):
    model = factories.ready_model(alice_org)
    dataset = factories.ready_dataset(alice_org)
    public = privacy.job_private_parts(alice_org, model, dataset)
    api_client.force_authenticate(bob)

    response = api_client.patch(
        f"/api/v1/compliance/privacy/datasets/{dataset.pk}",
        {"input": "private", "reason": "patients"},
        format="json",
    )

    assert public == []
    assert response.status_code == 200 and response.json()["input"] == "private"
    assert privacy.job_private_parts(alice_org, model, dataset) == ["input"]
    assert ToggleChange.objects.get().object_type == "dataset"


def submit(api_client, key, model, **fields):
    data = {"kind": "inference", "model": str(model.pk), "input": factories.input_upload(7.25)}
    data.update(fields)
    return api_client.post("/api/v1/jobs/", data, format="multipart", **bearer(key))


def assert_refused_and_nothing_stored(response, part: str, why: str) -> None:
    assert response.status_code == 422, response.json()
    error = response.json()["error"]
    assert error["code"] == "zero_knowledge_unavailable"
    assert "Zero-knowledge proving is not available in this version" in error["message"]
    assert error["details"]["private_parts"] == [part]
    assert why in error["message"] and why in " ".join(error["details"]["reasons"][part])
    assert not Job.objects.exists()
    assert not StoredFile.objects.filter(storage_name__startswith="inputs/").exists()
    [decision] = PolicyDecision.objects.filter(action="prove")
    assert decision.decision == "deny" and decision.reason == error["message"]
    assert decision.pk == error["details"]["policy_decision"]
    logged = AuditEntry.objects.get(action="policy.decision")
    assert logged.details["decision"] == "deny" and logged.details["reason"] == error["message"]


@pytest.mark.parametrize("part", PRIVACY_PARTS)
@pytest.mark.parametrize("state", STATES)
def test_a_jobs_privacy_follows_each_model_toggle_and_its_message_carries_only_its_id(
    api_client,
    alice_org,
    alice_key,
    part,
    state,
    published,
    django_capture_on_commit_callbacks,
):
    model = factories.ready_model(alice_org, **{f"privacy_{part}": state})

    with django_capture_on_commit_callbacks(execute=True):
        response = submit(api_client, alice_key, model)

    if state == "private":
        # The prover has no zero-knowledge mode yet: refused before anything is stored or sent.
        assert_refused_and_nothing_stored(response, part, f"the toggle of model {model.name}")
        assert published == []
        return
    body = response.json()
    job = Job.objects.get(pk=body["id"])
    assert job.private_parts == [] and body["private_parts"] == []
    assert body["privacy"] == dict.fromkeys(PRIVACY_PARTS, "public")
    [message] = published
    assert message["args"] == [str(job.pk)]
    assert "7.25" not in message["serialized"]


@pytest.mark.parametrize("part", PRIVACY_PARTS)
@pytest.mark.parametrize("state", STATES)
def test_a_jobs_privacy_request_sets_each_part_in_both_states(
    api_client, alice_org, alice_key, part, state
):
    model = factories.ready_model(alice_org)

    response = submit(api_client, alice_key, model, privacy=json.dumps({part: state}))

    if state == "private":
        assert_refused_and_nothing_stored(response, part, "the request")
        return
    assert response.status_code == 201, response.json()
    shown = api_client.get(f"/api/v1/jobs/{response.json()['id']}/", **bearer(alice_key))
    assert response.json()["privacy"] == dict.fromkeys(PRIVACY_PARTS, "public")
    assert shown.json()["privacy"] == response.json()["privacy"]
    assert Job.objects.get().private_parts == []


def test_a_privacy_request_in_a_json_body_is_read_as_an_object(api_client, alice_org, alice_key):
    model = factories.ready_model(alice_org)
    dataset = factories.ready_dataset(alice_org)
    body = {"kind": "audit", "model": str(model.pk), "dataset": str(dataset.pk)}

    public = api_client.post(
        "/api/v1/jobs/",
        {**body, "privacy": {"weights": "public"}},
        format="json",
        **bearer(alice_key),
    )
    private = api_client.post(
        "/api/v1/jobs/",
        {**body, "privacy": {"output": "private"}},
        format="json",
        **bearer(alice_key),
    )

    assert public.status_code == 201 and public.json()["privacy"]["weights"] == "public"
    assert private.status_code == 422
    assert private.json()["error"]["details"]["private_parts"] == ["output"]


@pytest.mark.parametrize(
    ("privacy", "expected"),
    [
        ('{"labels": "private"}', "Unknown part(s) labels"),
        ('{"input": "secret"}', "input must be 'public' or 'private'"),
        ("private", "Must be a JSON object"),
        ('["input"]', "Must be a JSON object"),
    ],
)
def test_an_unknown_privacy_part_or_value_is_refused_with_400(
    api_client, alice_org, alice_key, privacy, expected
):
    model = factories.ready_model(alice_org)

    response = submit(api_client, alice_key, model, privacy=privacy)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert expected in " ".join(error["details"]["fields"]["privacy"])
    assert not Job.objects.exists() and not PolicyDecision.objects.exists()


def test_a_phi_organisations_job_is_refused_naming_the_minimum_and_why(
    api_client, alice_org, alice_key
):
    handles_phi(alice_org)
    model = factories.ready_model(alice_org)

    refused = submit(api_client, alice_key, model)
    lowered = submit(api_client, alice_key, model, privacy='{"input": "public"}')

    assert_refused_and_nothing_stored(
        refused, "input", "the minimum of Alice Labs (it handles PHI)"
    )
    assert lowered.status_code == 403
    assert lowered.json()["error"]["code"] == "privacy_below_minimum"


def test_a_test_sets_private_input_toggle_refuses_its_audit_jobs(api_client, alice_org, alice_key):
    model = factories.ready_model(alice_org)
    dataset = factories.ready_dataset(alice_org)
    privacy.set_dataset_privacy(dataset, "private", "user:1", "patients")

    response = api_client.post(
        "/api/v1/jobs/",
        {"kind": "audit", "model": str(model.pk), "dataset": str(dataset.pk)},
        format="json",
        **bearer(alice_key),
    )

    assert response.status_code == 422
    assert "the toggle of test set holdout" in response.json()["error"]["message"]


def test_the_jobs_effective_privacy_and_the_request_are_in_the_openapi_schema(api_client):
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    components = schema["components"]["schemas"]

    job = components["Job"]["properties"]["privacy"]
    effective = components[job["allOf"][0]["$ref"].rsplit("/", 1)[-1]]
    assert set(effective["properties"]) == set(PRIVACY_PARTS)
    assert set(effective["required"]) == set(PRIVACY_PARTS)
    assert "privacy" in components["JobCreateRequest"]["properties"]
    responses = schema["paths"]["/api/v1/jobs/"]["post"]["responses"]
    assert "zero_knowledge_unavailable" in responses["422"]["description"]


def test_the_effective_privacy_is_the_strictest_of_model_minimum_and_request(alice_org):
    model = factories.ready_model(alice_org, privacy_weights="private")
    privacy.set_organisation_privacy(
        alice_org, "user:1", "policy", new_minimums={"output": "private"}
    )

    effective = privacy.job_privacy(alice_org, model, requested={"input": "private"})
    reasons = privacy.job_privacy_reasons(alice_org, model, requested={"input": "private"})
    request_cannot_lower = privacy.job_privacy(alice_org, model, requested={"weights": "public"})

    assert effective == {"weights": "private", "input": "private", "output": "private"}
    assert reasons == {
        "weights": ["the toggle of model classifier v1"],
        "input": ["the request"],
        "output": ["the minimum of Alice Labs"],
    }
    assert request_cannot_lower["weights"] == "private"
    with pytest.raises(privacy.PrivacyBelowMinimum):
        privacy.job_privacy(alice_org, model, requested={"output": "public"})


@pytest.mark.parametrize("state", STATES)
def test_a_private_output_never_reaches_the_api_the_job_row_or_the_logs(
    api_client, alice_org, alice_key, state, caplog
):
    model = factories.ready_model(alice_org)
    caplog.set_level(logging.DEBUG)
    job, _ = proving.submit_job(
        alice_org,
        proving.JobRequest(kind=Job.Kind.INFERENCE, model=model, input=factories.input_upload()),
    )
    # A job with a private output is refused at submission; one whose model's output turns
    # private while it runs still never shows its output.
    privacy.set_model_privacy(model, {"output": state}, "user:1", "customer request")
    attempt = proving.claim_job(str(job.pk), "0.test", "cpu").attempt
    proof = write_file(alice_org, "proofs", ContentFile(factories.proof_bytes()), "p.vmp")
    proving.complete_job(
        attempt,
        proof,
        {"output": [0.125, 0.875]},
        {"accepted": True},
        proving.output_is_public(Job.objects.select_related("model").get(pk=job.pk)),
    )

    body = api_client.get(f"/api/v1/jobs/{job.pk}/", **bearer(alice_key)).json()
    row = json.dumps(list(Job.objects.filter(pk=job.pk).values()), default=str) + json.dumps(
        list(AuditEntry.objects.values("details"))
    )
    if state == "private":
        assert body["output"] is None
        assert "0.875" not in json.dumps(body) and "0.875" not in row
    else:
        assert body["output"] == [0.125, 0.875]
    assert "0.875" not in caplog.text


def test_the_change_history_is_exposed_for_reporting_to_each_organisation_only(
    api_client, alice_org, charlie_org, admin_key, charlie
):
    privacy.set_organisation_privacy(alice_org, "user:1", "a", new_defaults={"input": "private"})
    privacy.set_organisation_privacy(charlie_org, "user:2", "c", new_defaults={"output": "private"})

    ours = api_client.get("/api/v1/compliance/privacy/changes", **bearer(admin_key))
    api_client.force_authenticate(charlie)
    theirs = api_client.get("/api/v1/compliance/privacy/changes")
    empty = api_client.get("/api/v1/compliance/privacy/changes", {"from": "2999-01-01"})

    assert [c["part"] for c in ours.json()["changes"]] == ["input"]
    assert [c["part"] for c in theirs.json()["changes"]] == ["output"]
    assert ours.json()["changes"][0]["old"] == "public" and ours.json()["changes"][0]["new"] == (
        "private"
    )
    assert empty.json()["changes"] == []


needs_prover = pytest.mark.skipif(
    not all(hasattr(prover_api, name) for name in ("compile_model", "prove_inference")),
    reason="provers.api has no compile_model/prove_inference yet",
)
# Input values no proof, response or log may show when the input is private.
MARKERS = (
    1.9283746,
    -2.5647382,
    0.8372615,
    -1.3928475,
    2.7465193,
    -0.4657281,
    1.1029384,
    -2.0394857,
)


def marked_input() -> bytes:
    import torch

    buffer = io.BytesIO()
    torch.save(torch.tensor([MARKERS], dtype=torch.float32), buffer)
    return buffer.getvalue()


def leaks(text: str) -> list[str]:
    """The markers whose leading digits appear in ``text`` (as a log or JSON would print them)."""
    return [str(value) for value in MARKERS if f"{abs(value):.7f}"[:6] in text]


@needs_prover
@pytest.mark.integration
@pytest.mark.timeout(400)
@pytest.mark.parametrize("state", STATES)
def test_an_input_toggle_end_to_end_with_the_real_prover(
    worker, api_client, alice_org, alice_key, state, published, caplog
):
    from tests.platform.test_end_to_end import calibration_npz, ended, tiny_mlp_pt2

    caplog.set_level(logging.DEBUG)
    response = api_client.post(
        "/api/v1/models/",
        {
            "name": "tiny",
            "file": factories.upload("tiny.pt2", tiny_mlp_pt2()),
            "calibration": factories.upload("calibration.npz", calibration_npz()),
            "privacy": json.dumps({"input": state}),
        },
        format="multipart",
        **bearer(alice_key),
    )
    model = ended(RegisteredModel, response.json()["id"])
    assert model.status == RegisteredModel.Status.READY, model.error_message
    created = api_client.post(
        "/api/v1/jobs/",
        {
            "kind": "inference",
            "model": str(model.pk),
            "input": factories.upload("x.pt", marked_input()),
        },
        format="multipart",
        **bearer(alice_key),
    )

    if state == "public":
        job = ended(Job, created.json()["id"])
        proof = api_client.get(f"/api/v1/jobs/{job.pk}/proof", **bearer(alice_key)).content
        verdict = api_client.post("/api/v1/verify", {"proof": factories.upload("p.vmp", proof)})
        assert job.status == Job.Status.SUCCEEDED, job.error_message
        assert verdict.json()["accepted"] is True
        return
    # The prover has no zero-knowledge mode yet: the job is refused at submission with the
    # reason, nothing is stored or queued, and nothing shows the input.
    assert created.status_code == 422
    assert "Zero-knowledge proving is not available" in created.json()["error"]["message"]
    assert not Job.objects.exists()
    messages = "".join(str(message["serialized"]) for message in published)
    assert "prove_inference" not in messages
    worker_log = worker.log_path.read_text(errors="replace")
    audit = json.dumps(list(AuditEntry.objects.values("details")))
    for text in (json.dumps(created.json()), messages, worker_log, caplog.text, audit):
        assert leaks(text) == []
    assert all(len(message["args"]) == 1 for message in published)

"""Privacy toggles: defaults and minimums, every change recorded, the effective privacy of a job,
and private values kept out of API responses, job rows, logs and broker messages."""

from __future__ import annotations

import json
import logging

import pytest
from celery.signals import before_task_publish
from django.core.files.base import ContentFile
from kombu.serialization import dumps

from compliance.audit_log.models import AuditEntry
from compliance.hipaa.models import EncryptedFile
from compliance.policy.models import PolicyDecision
from compliance.privacy import services as privacy
from compliance.privacy.models import ToggleChange
from tests.platform import factories
from tests.platform.helpers import bearer
from veriml.core.files import write_file
from veriml.core.models import StoredFile
from veriml.proving import services as proving
from veriml.proving.models import Job
from veriml.registry.models import PRIVACY_PARTS

STATES = ("public", "private")
# The support report of a model whose inference proofs can hide their input and output (an MLP).
HIDING_SUPPORT = {"supported": True, "private_parts": ["input", "output"], "private_reason": ""}
HIDDEN_TODAY = "inference proofs of MLPs and CNNs can keep their input and output private"
# ... and of an MLP classifier whose audits can hide their test inputs from 8 samples on.
AUDIT_SUPPORT = {
    **HIDING_SUPPORT,
    "audit_private_parts": ["input"],
    "audit_private_reason": "",
    "audit_min_samples": 8,
}
AUDITS_TODAY = "audits of MLP and CNN classifiers their test inputs"


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
    assert f"Zero-knowledge proving cannot keep {part} private" in error["message"]
    assert HIDDEN_TODAY in error["message"]
    assert error["details"]["private_parts"] == [part]
    assert error["details"]["refused_parts"] == [part]
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
    model = factories.ready_model(alice_org, support=HIDING_SUPPORT, **{f"privacy_{part}": state})

    with django_capture_on_commit_callbacks(execute=True):
        response = submit(api_client, alice_key, model)

    if state == "private" and part == "weights":
        # No zero-knowledge proof hides weights yet: refused before anything is stored or sent.
        assert_refused_and_nothing_stored(response, part, f"the toggle of model {model.name}")
        assert published == []
        return
    assert response.status_code == 201, response.json()
    body = response.json()
    job = Job.objects.get(pk=body["id"])
    expected = [part] if state == "private" else []
    assert job.private_parts == expected and body["private_parts"] == expected
    assert body["privacy"] == {p: "private" if p in expected else "public" for p in PRIVACY_PARTS}
    [message] = published
    assert message["args"] == [str(job.pk)]
    assert "7.25" not in message["serialized"]


@pytest.mark.parametrize("part", PRIVACY_PARTS)
@pytest.mark.parametrize("state", STATES)
def test_a_jobs_privacy_request_sets_each_part_in_both_states(
    api_client, alice_org, alice_key, part, state
):
    model = factories.ready_model(alice_org, support=HIDING_SUPPORT)

    response = submit(api_client, alice_key, model, privacy=json.dumps({part: state}))

    if state == "private" and part == "weights":
        assert_refused_and_nothing_stored(response, part, "the request")
        return
    assert response.status_code == 201, response.json()
    shown = api_client.get(f"/api/v1/jobs/{response.json()['id']}/", **bearer(alice_key))
    expected = [part] if state == "private" else []
    assert response.json()["privacy"] == {
        p: "private" if p in expected else "public" for p in PRIVACY_PARTS
    }
    assert shown.json()["privacy"] == response.json()["privacy"]
    assert Job.objects.get().private_parts == expected


def test_a_model_whose_proofs_cannot_hide_a_part_is_refused_with_its_compile_reason(
    api_client, alice_org, alice_key
):
    reason = "the private mode proves chains of Linear layers; this model has Conv2d"
    cnn = factories.ready_model(
        alice_org, support={"private_parts": [], "private_reason": reason}, privacy_output="private"
    )
    earlier = factories.ready_model(alice_org, name="old", privacy_input="private")

    refused = submit(api_client, alice_key, cnn)
    compiled_before = submit(api_client, alice_key, earlier)

    error = refused.json()["error"]
    assert refused.status_code == 422 and error["code"] == "zero_knowledge_unavailable"
    assert HIDDEN_TODAY in error["message"] and reason in error["message"]
    assert error["details"]["private_reason"] == reason
    assert error["details"]["refused_parts"] == ["output"]
    assert error["details"]["hideable_parts"] == []
    assert "register it again" in compiled_before.json()["error"]["message"]
    assert not Job.objects.exists()


def test_only_the_parts_the_prover_cannot_hide_are_refused_and_named(
    api_client, alice_org, alice_key
):
    model = factories.ready_model(alice_org, support=HIDING_SUPPORT, privacy_input="private")

    response = submit(api_client, alice_key, model, privacy='{"weights": "private"}')

    error = response.json()["error"]
    assert response.status_code == 422
    assert error["details"]["private_parts"] == ["weights", "input"]
    assert error["details"]["refused_parts"] == ["weights"]
    assert error["details"]["hideable_parts"] == ["input", "output"]
    assert "cannot keep weights private" in error["message"]
    # The model is the obstacle for its weights alone: they were committed openly.
    assert error["details"]["private_reason"] == proving.WEIGHTS_COMMITTED_OPENLY
    assert "register a new version with private weights" in error["message"]


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
    # An audit's output is its counts, the result it proves: it is never private.
    assert private.status_code == 422
    assert private.json()["error"]["details"]["refused_parts"] == ["output"]


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


def test_a_phi_organisations_job_on_a_model_whose_proofs_hide_the_input_is_accepted(
    api_client, alice_org, alice_key
):
    handles_phi(alice_org)
    model = factories.ready_model(alice_org, support=HIDING_SUPPORT)

    response = submit(api_client, alice_key, model)

    assert response.status_code == 201, response.json()
    assert response.json()["private_parts"] == ["input"]
    assert EncryptedFile.objects.filter(stored_file=Job.objects.get().input).exists()


def audit(api_client, key, model, dataset, **fields):
    body = {"kind": "audit", "model": str(model.pk), "dataset": str(dataset.pk), **fields}
    return api_client.post("/api/v1/jobs/", body, format="json", **bearer(key))


def test_a_test_sets_private_input_toggle_makes_its_audits_private_where_the_model_allows(
    api_client, alice_org, alice_key
):
    mlp = factories.ready_model(alice_org, support=AUDIT_SUPPORT)
    earlier = factories.ready_model(alice_org, name="old")
    dataset = factories.ready_dataset(alice_org)
    privacy.set_dataset_privacy(dataset, "private", "user:1", "patients")

    accepted = audit(api_client, alice_key, mlp, dataset)
    refused = audit(api_client, alice_key, earlier, dataset)

    assert accepted.status_code == 201, accepted.json()
    assert accepted.json()["private_parts"] == ["input"]
    assert refused.status_code == 422
    message = refused.json()["error"]["message"]
    assert "the toggle of test set holdout" in message and AUDITS_TODAY in message
    assert "compiled before private audits existed; register it again" in message
    assert Job.objects.get().model == mlp


CNN_REASON = "the private mode proves chains of Linear layers (MLPs) for now; conv2d is conv2d"
REGRESSION_REASON = "an accuracy audit needs a classifier whose output is a vector of class scores"


@pytest.mark.parametrize(
    ("support", "samples", "reason"),
    [
        pytest.param(AUDIT_SUPPORT, 8, "", id="mlp-classifier"),
        pytest.param(
            {"private_parts": [], "audit_private_parts": [], "audit_private_reason": CNN_REASON},
            8,
            CNN_REASON,
            id="cnn",
        ),
        pytest.param(
            {
                **HIDING_SUPPORT,
                "audit_private_parts": [],
                "audit_private_reason": REGRESSION_REASON,
            },
            8,
            REGRESSION_REASON,
            id="regression",
        ),
        pytest.param(
            AUDIT_SUPPORT,
            4,
            "needs a test set of at least 8 samples to mask what its proof reveals, and test "
            "set holdout has 4",
            id="too-few-samples",
        ),
        pytest.param(
            HIDING_SUPPORT,
            8,
            "it was compiled before private audits existed; register it again",
            id="compiled-before",
        ),
    ],
)
def test_an_audit_hides_its_test_inputs_where_the_compile_report_says_its_audits_can(
    api_client, alice_org, alice_key, support, samples, reason
):
    model = factories.ready_model(alice_org, support=support)
    dataset = factories.ready_dataset(alice_org, samples=samples)

    response = audit(api_client, alice_key, model, dataset, privacy={"input": "private"})

    hideable = proving.hideable_parts(Job.Kind.AUDIT, model, dataset)
    assert hideable == (set() if reason else {"input"})
    if not reason:
        assert response.status_code == 201, response.json()
        assert Job.objects.get().private_parts == ["input"]
        return
    error = response.json()["error"]
    assert response.status_code == 422 and error["code"] == "zero_knowledge_unavailable"
    assert reason in error["message"] and reason in error["details"]["private_reason"]
    assert error["details"]["refused_parts"] == ["input"]
    assert error["details"]["hideable_parts"] == []
    assert not Job.objects.exists()


def test_an_audits_private_output_is_refused_even_where_its_inputs_can_be_hidden(
    api_client, alice_org, alice_key
):
    handles_phi(alice_org)
    model = factories.ready_model(alice_org, support=AUDIT_SUPPORT, privacy_output="private")

    response = audit(api_client, alice_key, model, factories.ready_dataset(alice_org))

    error = response.json()["error"]
    assert response.status_code == 422
    assert error["details"]["private_parts"] == ["input", "output"]
    assert error["details"]["refused_parts"] == ["output"]
    assert error["details"]["hideable_parts"] == ["input"]
    assert error["details"]["private_reason"] == ""
    assert "cannot keep output private in this audit job" in error["message"]


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
    request = components["JobCreateRequest"]["properties"]["privacy"]["description"]
    assert "zero-knowledge" in request and "private_parts" in request
    assert "null" in components["Job"]["properties"]["output"]["description"]
    assert "private_parts" in components["Model"]["properties"]["support"]["description"]


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
    # A job submitted with a public output was proved in public mode; if the model's output
    # turns private while it runs, neither the output nor the statement's copy of it is kept.
    privacy.set_model_privacy(model, {"output": state}, "user:1", "customer request")
    attempt = proving.claim_job(str(job.pk), "0.test", "cpu").attempt
    proof = write_file(alice_org, "proofs", ContentFile(factories.proof_bytes()), "p.vmp")
    statement = {"kind": "inference", "output": [0.125, 0.875]}
    proving.complete_job(
        attempt,
        proof,
        {"output": [0.125, 0.875], "statement": statement},
        {"accepted": True, "statement": statement},
        proving.output_is_public(Job.objects.select_related("model").get(pk=job.pk)),
    )

    body = api_client.get(f"/api/v1/jobs/{job.pk}/", **bearer(alice_key)).json()
    row = json.dumps(list(Job.objects.filter(pk=job.pk).values()), default=str) + json.dumps(
        list(AuditEntry.objects.values("details"))
    )
    if state == "private":
        assert body["output"] is None and body["statement"]["output"] is None
        assert body["verification"]["statement"] == {"kind": "inference", "output": None}
        assert "0.875" not in json.dumps(body) and "0.875" not in row
    else:
        assert body["output"] == [0.125, 0.875] and body["statement"] == statement
        assert body["verification"]["statement"] == statement
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

"""The dashboard's pages: every role sees what its rights allow, outsiders get 404, and the
forms go through the platform's services."""

from __future__ import annotations

import json
import time
from io import StringIO

import numpy as np
import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from compliance import audit_log
from compliance.audit_log import verify
from compliance.audit_log.models import AuditEntry
from compliance.audit_log.services import write_checkpoint
from compliance.privacy.models import ToggleChange
from frontend import audit_check
from tests.platform import factories
from tests.platform.test_audit_log import (
    ENTRY_TABLE,
    as_superuser_bypassing_triggers,
    postgresql_only,
)
from veriml.accounts import services as accounts
from veriml.accounts.models import ApiKey, Membership
from veriml.proving.models import Job
from veriml.registry.models import RegisteredModel

AUDIT_STATEMENT = {
    "kind": "audit",
    "model_digest": factories.MODEL_DIGEST,
    "dataset_digest": "d1" * 32,
    "n": 16,
    "correct": 13,
    "accuracy": 0.8125,
    "wilson_95": [0.57, 0.934],
    "classes": [{"label": 0, "total": 9, "correct": 8}, {"label": 1, "total": 7, "correct": 5}],
    "chunks": 1,
    "nonce": "00" * 32,
    "soundness_bits": 100,
    "private_input": False,
}


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def dana(alice_org) -> User:
    """An auditor of Alice Labs: reads its jobs and proofs, never its models."""
    user = User.objects.create_user("dana", "dana@example.com", "dana-password-1")
    accounts.add_member(alice_org, user, Membership.Role.AUDITOR)
    return user


@pytest.fixture
def alice_job(alice_org) -> Job:
    return factories.succeeded_job(alice_org)


PAGES = ["/", "/jobs/", "/verify/", "/keys/", "/audit-log/", "/compliance/"]


@pytest.mark.parametrize("persona", ["alice", "bob", "dana"])
def test_every_page_renders_for_every_role(request, persona, alice_job):
    client = signed_in(request.getfixturevalue(persona))
    for page in [*PAGES, f"/jobs/{alice_job.pk}/"]:
        response = client.get(page)
        assert response.status_code == 200, (page, response.status_code)
    model_page = client.get(f"/models/{alice_job.model.pk}/")
    assert model_page.status_code == (403 if persona == "dana" else 200)
    for page in ("/models/", "/datasets/"):
        assert client.get(page).status_code == 200


@pytest.mark.parametrize(
    ("persona", "status"), [("alice", 302), ("bob", 403), ("dana", 403), ("charlie", 404)]
)
def test_the_compliance_form_answers_each_role_as_its_rights_allow(request, persona, status):
    client = signed_in(request.getfixturevalue(persona))

    response = client.post(
        "/compliance/",
        {"organisation": "Alice Labs", "minimum_input": "private", "reason": "Review"},
    )

    assert response.status_code == status
    assert ToggleChange.objects.exists() == (persona == "alice")


def test_an_outsider_gets_404_for_another_organisations_job_and_model(charlie, alice_job):
    client = signed_in(charlie)

    assert client.get(f"/jobs/{alice_job.pk}/").status_code == 404
    assert client.get(f"/models/{alice_job.model.pk}/").status_code == 404
    assert "classifier" not in client.get("/").content.decode()


def test_the_site_root_is_the_dashboard_and_asks_strangers_to_sign_in(db):
    response = Client().get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/signin/")


def test_the_overview_lists_models_jobs_and_recent_verifications(alice, alice_job):
    page = signed_in(alice).get("/").content.decode()

    assert "classifier v1" in page
    assert "accepted" in page


def test_a_model_uploaded_by_script_returns_where_to_go_and_keeps_its_model_card(alice):
    response = signed_in(alice).post(
        "/models/",
        {
            "name": "classifier",
            "file": factories.model_upload(),
            "calibration": factories.calibration_upload(),
            "privacy_weights": "private",
            "intended_use": "Triage of chest X-rays",
            "limitations": "Adults only",
        },
        HTTP_ACCEPT="application/json",
    )

    model = RegisteredModel.objects.get()
    assert response.status_code == 200
    assert response.json() == {"redirect": f"/models/{model.pk}/"}
    assert model.intended_use == "Triage of chest X-rays"
    assert model.limitations == "Adults only"
    assert model.privacy_weights == "private"
    assert AuditEntry.objects.filter(action="model.uploaded").exists()


def test_a_model_upload_without_script_redirects_to_the_model_page(alice):
    response = signed_in(alice).post(
        "/models/",
        {
            "name": "classifier",
            "file": factories.model_upload(),
            "calibration": factories.calibration_upload(),
        },
    )

    assert response.status_code == 302
    assert response["Location"] == f"/models/{RegisteredModel.objects.get().pk}/"


def test_a_bad_model_upload_shows_its_errors_and_registers_nothing(alice):
    client = signed_in(alice)
    page = client.post("/models/", {"name": "x", "file": factories.upload("m.txt", b"no")})
    scripted = client.post("/models/", {"name": "x"}, HTTP_ACCEPT="application/json")

    assert page.status_code == 400
    assert "calibration" in page.content.decode()
    assert scripted.status_code == 400
    assert scripted.json()["error"]["code"] == "invalid"
    assert not RegisteredModel.objects.exists()


def test_an_auditor_cannot_upload(dana):
    response = signed_in(dana).post(
        "/models/",
        {
            "name": "x",
            "file": factories.model_upload(),
            "calibration": factories.calibration_upload(),
        },
    )

    assert response.status_code == 403


def test_a_dataset_uploads_through_the_dashboard(alice):
    data = factories.npz_bytes(inputs=np.zeros((4, 3), dtype=np.float32), labels=np.arange(4) % 2)
    response = signed_in(alice).post(
        "/datasets/",
        {"name": "holdout", "file": factories.upload("holdout.npz", data)},
        HTTP_ACCEPT="application/json",
    )

    assert response.json() == {"redirect": "/datasets/"}
    assert signed_in(alice).get("/datasets/").content.decode().count("holdout") == 1


def test_an_audit_job_is_submitted_from_the_dashboard(alice, alice_org):
    model = factories.ready_model(alice_org)
    dataset = factories.ready_dataset(alice_org)

    response = signed_in(alice).post(
        "/jobs/", {"kind": "audit", "model": str(model.pk), "dataset": str(dataset.pk)}
    )

    job = Job.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/jobs/{job.pk}/"
    assert (job.kind, job.dataset_id) == (Job.Kind.AUDIT, dataset.pk)


def test_a_job_cannot_name_another_organisations_model(alice, charlie_org):
    model = factories.ready_model(charlie_org)

    response = signed_in(alice).post(
        "/jobs/", {"kind": "audit", "model": str(model.pk), "dataset": str(model.pk)}
    )

    assert response.status_code == 404
    assert not Job.objects.exists()


def test_a_running_job_page_follows_the_job_through_the_api(alice, alice_org):
    job = factories.job(alice_org, status=Job.Status.RUNNING, progress_stage="sumcheck")

    page = signed_in(alice).get(f"/jobs/{job.pk}/").content.decode()

    assert f'data-poll="/api/v1/jobs/{job.pk}/"' in page
    assert "sumcheck" in page


def test_the_proof_page_shows_the_verdict_downloads_and_timeline(alice, alice_job):
    page = signed_in(alice).get(f"/jobs/{alice_job.pk}/").content.decode()

    assert "data-verdict>accepted" in page
    assert f"/api/v1/jobs/{alice_job.pk}/proof" in page
    assert alice_job.proof.sha256 in page
    assert 'aria-label="Job timeline"' in page
    assert "report.pdf" not in page


def test_an_audit_proof_page_draws_the_interval_and_class_bars(alice, alice_org):
    job = factories.succeeded_job(
        alice_org, kind=Job.Kind.AUDIT, statement=AUDIT_STATEMENT, input=None
    )

    page = signed_in(alice).get(f"/jobs/{job.pk}/").content.decode()

    assert "13 of 16 correct" in page
    assert 'aria-label="Accuracy with its 95% Wilson interval"' in page
    assert "81.25% (95%: 57.00 to 93.40)" in page
    assert "<title>class 1: 5 of 7</title>" in page
    assert f"/api/v1/jobs/{job.pk}/report.pdf" in page


def test_a_model_page_draws_proving_time_and_proof_size(alice, alice_org):
    model = factories.ready_model(alice_org)
    factories.succeeded_job(alice_org, model=model, timings={"prove_seconds": 2.5})

    page = signed_in(alice).get(f"/models/{model.pk}/").content.decode()

    assert 'aria-label="Proving time per job"' in page
    assert 'aria-label="Proof size per job"' in page
    assert model.digest in page


def test_the_public_page_verifies_a_proof_and_rejects_a_tampered_one(db):
    proof = factories.proof_bytes()
    tampered = bytearray(proof)
    tampered[len(tampered) // 2] ^= 0x01
    client = Client()

    accepted = client.post("/verify/", {"proof": factories.upload("p.vmp", proof)})
    rejected = client.post("/verify/", {"proof": factories.upload("t.vmp", bytes(tampered))})

    assert accepted.status_code == 200
    assert "data-verdict>Accepted" in accepted.content.decode()
    assert "data-verdict>Rejected" in rejected.content.decode()
    assert "Reason:" in rejected.content.decode()


@pytest.fixture
def low_rates(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "2/minute", "caller": "3/minute"},
    }


def test_the_public_page_is_rate_limited_like_the_api_with_a_readable_429(db, low_rates):
    client = Client()

    allowed = [
        client.post("/verify/", {"proof": factories.upload("p.vmp", b"x")}).status_code
        for _ in range(2)
    ]
    throttled = client.post("/verify/", {"proof": factories.upload("p.vmp", b"x")})
    still_readable = client.get("/verify/")

    assert allowed == [200, 200]
    assert throttled.status_code == 429
    assert int(throttled["Retry-After"]) > 0
    assert "data-throttled>Too many verifications" in throttled.content.decode()
    assert "data-verdict" not in throttled.content.decode()
    assert still_readable.status_code == 200


def test_the_public_page_and_the_api_share_one_allowance(api_client, db, low_rates):
    Client().post("/verify/", {"proof": factories.upload("p.vmp", b"x")})
    api_client.post("/api/v1/verify", {"proof": factories.upload("p.vmp", b"x")})

    page = Client().post("/verify/", {"proof": factories.upload("p.vmp", b"x")})
    api = api_client.post("/api/v1/verify", {"proof": factories.upload("p.vmp", b"x")})

    assert (page.status_code, api.status_code) == (429, 429)


def test_a_signed_in_user_has_their_own_allowance_on_the_public_page(alice, low_rates):
    Client().post("/verify/", {"proof": factories.upload("p.vmp", b"x")})
    Client().post("/verify/", {"proof": factories.upload("p.vmp", b"x")})
    client = signed_in(alice)

    statuses = [
        client.post("/verify/", {"proof": factories.upload("p.vmp", b"x")}).status_code
        for _ in range(4)
    ]

    assert statuses == [200, 200, 200, 429]


def test_an_api_key_is_shown_once_and_can_be_revoked(alice, alice_org):
    client = signed_in(alice)

    created = client.post("/keys/", {"name": "ci", "scopes": ["read", "submit"]})
    key = ApiKey.objects.get(name="ci")
    listed = client.get("/keys/").content.decode()
    revoked = client.post(f"/keys/{key.prefix}/revoke")

    assert "no-store" in created["Cache-Control"]
    assert f"vml_{key.prefix}_" in created.content.decode()
    assert "data-raw-key" not in listed
    assert revoked.status_code == 302
    key.refresh_from_db()
    assert key.is_revoked
    assert AuditEntry.objects.filter(action="api_key.revoked").exists()


def test_only_owners_manage_keys_and_outsiders_get_404(alice_org, bob, charlie):
    key = accounts.create_api_key(alice_org, "ci", ["read"]).api_key

    assert signed_in(bob).post("/keys/", {"name": "x", "scopes": ["read"]}).status_code == 403
    assert signed_in(bob).post(f"/keys/{key.prefix}/revoke").status_code == 403
    assert signed_in(charlie).post(f"/keys/{key.prefix}/revoke").status_code == 404
    key.refresh_from_db()
    assert not key.is_revoked


def test_the_audit_log_page_shows_the_organisations_entries_and_the_chain_verified(
    alice, alice_job, charlie_org
):
    accounts.create_api_key(charlie_org, "charlies-key", ["read"])
    accounts.create_api_key(alice_job.organisation, "alices-key", ["read"])

    page = signed_in(alice).get("/audit-log/").content.decode()

    assert "data-chain-status>Chain verified" in page
    assert "api_key.created" in page
    assert page.count("api_key.created") == 1


def note(number: int) -> AuditEntry:
    return audit_log.record(
        "test.event", actor="system", organisation=None, target=("test", str(number)), details={}
    )


def chain_status(client: Client) -> str:
    page = client.get("/audit-log/").content.decode()
    status = page.split("data-chain-status>", 1)[1].split("<", 1)[0]
    if status == "Chain broken":
        return page.split("</h2>", 1)[1].split("</p>", 1)[0]
    return status


@pytest.fixture
def entry_checks(monkeypatch) -> list[int]:
    """The sequence of every entry the verifier re-hashes in the chain's walk."""
    checked: list[int] = []
    check = verify._check_entry

    def counting(entry, sequence, previous):
        checked.append(entry.sequence)
        return check(entry, sequence, previous)

    monkeypatch.setattr(verify, "_check_entry", counting)
    return checked


def test_the_audit_log_page_rehashes_only_entries_after_the_last_check(alice, entry_checks):
    client = signed_in(alice)
    first = client.get("/audit-log/").content.decode()
    walked_first = list(entry_checks)
    entry_checks.clear()
    added = [note(number) for number in range(2)]

    second = client.get("/audit-log/").content.decode()

    assert "data-chain-status>Chain verified" in first and "Every entry was re-hashed" in first
    assert walked_first == list(range(1, walked_first[-1] + 1))
    assert entry_checks == [entry.sequence for entry in added]
    assert "data-chain-status>Chain verified" in second
    assert f"Entries after #{walked_first[-1]} were re-hashed" in second
    assert f"All {added[-1].sequence} entries link and hash correctly" in second


def alter_actor(sequence: int) -> None:
    as_superuser_bypassing_triggers(
        f"UPDATE {ENTRY_TABLE} SET actor = 'user:666' WHERE sequence = %s", sequence
    )


@postgresql_only
def test_the_last_checked_entry_altered_after_a_cached_check_is_still_reported(alice):
    client = signed_in(alice)
    entries = [note(number) for number in range(4)]
    assert chain_status(client) == "Chain verified"

    alter_actor(entries[-1].sequence)

    assert f"entry {entries[-1].sequence}: <code>hash_mismatch</code>" in chain_status(client)


@postgresql_only
def test_an_entry_a_checkpoint_names_altered_after_a_cached_check_is_still_reported(alice):
    client = signed_in(alice)
    entries = [note(number) for number in range(3)]
    write_checkpoint()
    for number in range(3):
        note(number)
    assert chain_status(client) == "Chain verified"

    alter_actor(entries[-1].sequence)

    assert f"entry {entries[-1].sequence}: <code>hash_mismatch</code>" in chain_status(client)


@postgresql_only
def test_a_covered_entry_deleted_after_a_cached_check_is_still_reported(alice):
    client = signed_in(alice)
    entries = [note(number) for number in range(4)]
    assert chain_status(client) == "Chain verified"

    as_superuser_bypassing_triggers(
        f"DELETE FROM {ENTRY_TABLE} WHERE sequence = %s", entries[1].sequence
    )

    assert f"entry {entries[1].sequence}: <code>sequence_gap</code>" in chain_status(client)


@postgresql_only
def test_any_covered_entry_altered_is_reported_once_the_hourly_full_walk_is_due(alice):
    client = signed_in(alice)
    entries = [note(number) for number in range(4)]
    assert chain_status(client) == "Chain verified"
    alter_actor(entries[1].sequence)
    remembered = cache.get(audit_check.CACHE_KEY)
    cache.set(
        audit_check.CACHE_KEY, {**remembered, "full_at": time.time() - audit_check.FULL_EVERY}
    )

    reported = [chain_status(client) for _ in range(2)]

    assert all(f"entry {entries[1].sequence}: <code>hash_mismatch</code>" in r for r in reported)


def test_the_command_still_walks_the_whole_chain_after_the_page_checked_it(alice, entry_checks):
    signed_in(alice).get("/audit-log/")
    entry_checks.clear()

    call_command("verify_audit_log", stdout=StringIO())

    assert entry_checks == list(AuditEntry.objects.values_list("sequence", flat=True))


def test_the_compliance_page_shows_region_phi_and_model_privacy(alice, alice_org):
    alice_org.region = "eu"
    alice_org.handles_phi = True
    alice_org.save()
    factories.ready_model(alice_org, privacy_input="private")
    # A PHI organisation's user must have passed the second factor.
    assert signed_in(alice).get("/compliance/").status_code == 302
    client = signed_in(alice)
    device = TOTPDevice.objects.create(user=alice, name="phone", confirmed=True)
    session = client.session
    session["otp_device_id"] = device.persistent_id
    session.save()
    body = client.get("/compliance/").content.decode()

    assert "data-region>eu · European Union<" in body
    assert "data-phi>yes:" in body
    assert "<td>private</td>" in body
    assert "data-region-note" in body


def test_statement_json_on_the_page_is_escaped(alice, alice_org):
    job = factories.succeeded_job(alice_org, statement={"note": "<script>alert(1)</script>"})

    page = signed_in(alice).get(f"/jobs/{job.pk}/").content.decode()

    assert "<script>alert(1)</script>" not in page
    assert json.dumps("&lt;script&gt;")[1:-1] in page

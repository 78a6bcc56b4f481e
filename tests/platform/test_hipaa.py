"""HIPAA data controls for organisations that handle PHI: ciphertext at rest, master-key
rotation, logged access, break-glass, erasure with a tombstone, and PHI kept out of logs and
broker messages."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from celery.signals import before_task_publish
from django.core.management import call_command
from django.utils import timezone
from kombu.serialization import dumps

from compliance.audit_log.models import AppendOnlyError, AuditEntry
from compliance.hipaa import keys, storage
from compliance.hipaa.models import BreakGlassGrant, EncryptedFile, OrganisationDataKey, PHIAccess
from tests.platform import factories
from tests.platform.helpers import bearer, wait_until
from veriml.core.files import StoredFileError, read_checked, store_bytes
from veriml.proving.models import Job
from veriml.registry.models import Dataset, RegisteredModel
from veriml.verification.services import verify_proof_bytes

# A test set whose values are easy to find in any text: the patients' measurements.
PHI_VALUES = ("98213.377", "77142.619", "65390.254", "54871.903")
PHI_CSV = (
    "systolic,diastolic,label\n"
    f"{PHI_VALUES[0]},{PHI_VALUES[1]},1\n"
    f"{PHI_VALUES[2]},{PHI_VALUES[3]},0\n"
    "120.5,80.25,1\n"
    "118.0,79.5,0\n"
).encode()

PHI_CALIBRATION = factories.npz_bytes(
    inputs=np.array([[float(value) for value in PHI_VALUES]], dtype=np.float32)
)


@pytest.fixture
def published():
    messages: list[str] = []

    def capture(body=None, headers=None, **_):
        _, _, payload = dumps(body, serializer="json")
        text = payload.decode() if isinstance(payload, bytes) else payload
        messages.append(text + json.dumps(headers, default=str))

    before_task_publish.connect(capture, weak=False)
    yield messages
    before_task_publish.disconnect(capture)


@pytest.fixture
def phi_org(alice_org):
    alice_org.handles_phi = True
    alice_org.save(update_fields=["handles_phi"])
    return alice_org


@pytest.fixture
def alice_key(alice, issue_key):
    return issue_key("Alice Labs", scopes=("read", "submit"))


@pytest.fixture
def admin_key(alice, issue_key):
    return issue_key("Alice Labs", scopes=("admin", "read", "submit"))


def upload_csv(api_client, key):
    response = api_client.post(
        "/api/v1/datasets/",
        {"name": "patients", "file": factories.upload("patients.csv", PHI_CSV)},
        format="multipart",
        **bearer(key),
    )
    assert response.status_code == 201, response.json()
    return Dataset.objects.select_related("file", "organisation").get(pk=response.json()["id"])


def stored_bytes(media_root: Path, dataset: Dataset) -> bytes:
    return (media_root / dataset.file.storage_name).read_bytes()


def download(api_client, dataset, purpose="treatment review", **credentials):
    return api_client.get(
        f"/api/v1/compliance/datasets/{dataset.pk}/download", {"purpose": purpose}, **credentials
    )


def test_a_phi_test_set_is_ciphertext_at_rest_and_reads_back_as_plaintext(
    api_client, phi_org, alice_key, media_root
):
    dataset = upload_csv(api_client, alice_key)

    at_rest = stored_bytes(media_root, dataset)

    assert at_rest.startswith(storage.MAGIC)
    assert PHI_CSV not in at_rest and b"systolic" not in at_rest
    assert not any(value.encode() in at_rest for value in PHI_VALUES)
    assert EncryptedFile.objects.filter(stored_file=dataset.file).exists()
    assert read_checked(dataset.file) == PHI_CSV


def test_a_test_set_of_an_organisation_without_phi_is_stored_as_uploaded(
    api_client, alice_org, alice_key, media_root
):
    dataset = upload_csv(api_client, alice_key)

    assert stored_bytes(media_root, dataset) == PHI_CSV
    assert not EncryptedFile.objects.exists() and not PHIAccess.objects.exists()


def test_a_ciphertext_moved_to_another_organisation_does_not_decrypt(phi_org, charlie_org):
    charlie_org.handles_phi = True
    charlie_org.save()
    blob = storage.encrypt(phi_org.pk, PHI_CSV)

    with pytest.raises(StoredFileError):
        storage.decrypt(charlie_org.pk, blob)


def test_rotating_the_master_key_rewraps_data_keys_and_data_stays_readable(phi_org, settings):
    first, second = keys.new_entry("k1"), keys.new_entry("k2")
    settings.PHI_MASTER_KEYS = first
    stored = storage.store_upload(phi_org, "datasets", factories.upload("p.csv", PHI_CSV), "p.csv")
    settings.PHI_MASTER_KEYS = f"{first},{second}"
    out = StringIO()

    call_command("rotate_phi_master_key", stdout=out)

    data_key = OrganisationDataKey.objects.get(organisation=phi_org)
    assert data_key.master_key_id == "k2" and data_key.rewrapped_at is not None
    assert "Rewrapped 1 data key(s) under master key k2" in out.getvalue()
    settings.PHI_MASTER_KEYS = second
    assert read_checked(stored) == PHI_CSV
    settings.PHI_MASTER_KEYS = first
    with pytest.raises(keys.MasterKeyMissing):
        read_checked(stored)
    assert AuditEntry.objects.filter(action="phi.data_key_rewrapped").count() == 1


def upload_model(api_client, key, calibration: bytes = PHI_CALIBRATION):
    response = api_client.post(
        "/api/v1/models/",
        {
            "name": "triage",
            "file": factories.model_upload(),
            "calibration": factories.upload("calibration.npz", calibration),
        },
        format="multipart",
        **bearer(key),
    )
    assert response.status_code == 201, response.json()
    return RegisteredModel.objects.select_related("calibration").get(pk=response.json()["id"])


@pytest.mark.parametrize("phi", [True, False])
def test_a_phi_models_calibration_set_is_ciphertext_at_rest_and_its_reads_are_logged(
    api_client, alice_org, alice_key, media_root, phi
):
    alice_org.handles_phi = phi
    alice_org.save(update_fields=["handles_phi"])
    model = upload_model(api_client, alice_key)

    at_rest = (media_root / model.calibration.storage_name).read_bytes()
    read_back = read_checked(model.calibration)

    assert read_back == PHI_CALIBRATION
    assert EncryptedFile.objects.filter(stored_file=model.calibration).exists() is phi
    if not phi:
        assert at_rest == PHI_CALIBRATION and not PHIAccess.objects.exists()
        return
    assert at_rest.startswith(storage.MAGIC)
    assert not any(np.float32(value).tobytes() in at_rest for value in PHI_VALUES)
    [access] = PHIAccess.objects.all()
    assert (access.what_type, access.what_id) == ("calibration", str(model.calibration.pk))
    assert access.actor == "system"
    entry = AuditEntry.objects.get(action="phi.accessed")
    assert entry.target_type == "calibration" and entry.target_id == str(model.calibration.pk)
    uploaded = AuditEntry.objects.get(action="model.uploaded")
    assert uploaded.details["calibration_sha256"] == model.calibration.sha256


def test_rotating_the_master_key_keeps_a_calibration_set_readable(
    api_client, phi_org, alice_key, settings
):
    first, second = keys.new_entry("k1"), keys.new_entry("k2")
    settings.PHI_MASTER_KEYS = first
    model = upload_model(api_client, alice_key)
    settings.PHI_MASTER_KEYS = f"{first},{second}"

    call_command("rotate_phi_master_key", stdout=StringIO())

    settings.PHI_MASTER_KEYS = second
    assert read_checked(model.calibration) == PHI_CALIBRATION


def test_every_phi_read_is_logged_with_who_what_when_and_why(api_client, phi_org, alice, admin_key):
    dataset = upload_csv(api_client, admin_key)

    response = download(api_client, dataset, "quarterly model audit", **bearer(admin_key))
    without_reason = download(api_client, dataset, "", **bearer(admin_key))

    assert response.status_code == 200 and response.content == PHI_CSV
    assert without_reason.status_code == 400
    [access] = PHIAccess.objects.all()
    assert access.actor.startswith("api_key:") and access.purpose == "quarterly model audit"
    assert (access.what_type, access.what_id) == ("dataset", str(dataset.file.pk))
    assert access.time is not None and access.break_glass is False
    entry = AuditEntry.objects.get(action="phi.accessed")
    assert entry.details["purpose"] == "quarterly model audit"
    assert entry.details["break_glass"] is False


def test_a_member_reads_phi_only_under_break_glass_which_is_flagged_and_expires(
    api_client, phi_org, bob, charlie, alice_key
):
    dataset = upload_csv(api_client, alice_key)
    api_client.force_authenticate(bob)

    before = download(api_client, dataset)
    no_reason = api_client.post(
        "/api/v1/compliance/phi/break-glass", {"reason": "", "minutes": 30}, format="json"
    )
    too_long = api_client.post(
        "/api/v1/compliance/phi/break-glass", {"reason": "ER", "minutes": 100000}, format="json"
    )
    opened = api_client.post(
        "/api/v1/compliance/phi/break-glass",
        {"reason": "Patient in ER, model output disputed", "minutes": 30},
        format="json",
    )
    during = download(api_client, dataset, "ER case 41")
    BreakGlassGrant.objects.filter(pk=opened.json()["id"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    after = download(api_client, dataset, "ER case 41")
    api_client.force_authenticate(charlie)
    outsider = download(api_client, dataset)

    assert before.status_code == 403 and before.json()["error"]["code"] == "phi_access_denied"
    assert no_reason.status_code == 400 and too_long.status_code == 400
    assert opened.status_code == 201 and opened.json()["active"] is True
    assert during.status_code == 200 and during.content == PHI_CSV
    assert after.status_code == 403
    assert outsider.status_code == 404
    [access] = PHIAccess.objects.all()
    assert access.break_glass and access.break_glass_grant == opened.json()["id"]
    assert access.actor == f"user:{bob.pk}"
    assert AuditEntry.objects.get(action="phi.break_glass_opened").details["break_glass"] is True
    assert AuditEntry.objects.get(action="phi.accessed").details["break_glass"] is True


def test_a_break_glass_grant_can_be_closed_early(api_client, phi_org, bob, alice_key):
    dataset = upload_csv(api_client, alice_key)
    api_client.force_authenticate(bob)
    grant = api_client.post(
        "/api/v1/compliance/phi/break-glass", {"reason": "ER", "minutes": 30}, format="json"
    ).json()

    closed = api_client.post(f"/api/v1/compliance/phi/break-glass/{grant['id']}/close")

    assert closed.status_code == 200 and closed.json()["active"] is False
    assert download(api_client, dataset).status_code == 403


def test_erasing_a_test_set_deletes_its_data_and_leaves_a_tombstone(
    api_client, phi_org, bob, admin_key, media_root, django_capture_on_commit_callbacks
):
    dataset = upload_csv(api_client, admin_key)
    path = media_root / dataset.file.storage_name
    api_client.force_authenticate(bob)
    as_member = api_client.post(
        f"/api/v1/compliance/datasets/{dataset.pk}/erase", {"reason": "r"}, format="json"
    )
    api_client.force_authenticate(None)

    with django_capture_on_commit_callbacks(execute=True):
        erased = api_client.post(
            f"/api/v1/compliance/datasets/{dataset.pk}/erase",
            {"reason": "Patient withdrew consent"},
            format="json",
            **bearer(admin_key),
        )

    assert as_member.status_code == 403
    assert erased.status_code == 204
    assert not Dataset.objects.filter(pk=dataset.pk).exists()
    tombstone = AuditEntry.objects.get(action="dataset.erased")
    assert tombstone.target_id == str(dataset.pk) and tombstone.details["tombstone"] is True
    assert tombstone.details["reason"] == "Patient withdrew consent"
    assert not path.exists()


def test_erasing_a_test_set_that_jobs_used_keeps_its_row_but_not_its_data(
    api_client, phi_org, admin_key, media_root, django_capture_on_commit_callbacks
):
    dataset = factories.ready_dataset(phi_org)
    factories.job(phi_org, kind="audit", dataset=dataset, input=None)
    path = media_root / dataset.file.storage_name

    with django_capture_on_commit_callbacks(execute=True):
        erased = api_client.post(
            f"/api/v1/compliance/datasets/{dataset.pk}/erase",
            {"reason": "retention period over"},
            format="json",
            **bearer(admin_key),
        )

    dataset.refresh_from_db()
    assert erased.status_code == 204
    assert dataset.status == Dataset.Status.FAILED and dataset.error_code == "erased"
    assert not path.exists()
    with pytest.raises(StoredFileError):
        read_checked(dataset.file)


def test_erasing_a_model_deletes_its_files_and_keeps_its_digest_and_issued_proofs(
    api_client,
    alice_org,
    bob,
    charlie,
    alice_key,
    admin_key,
    media_root,
    django_capture_on_commit_callbacks,
):
    job = factories.succeeded_job(alice_org)
    model = job.model
    files = {part: getattr(model, part) for part in ("source", "calibration", "compiled")}
    path = f"/api/v1/compliance/models/{model.pk}/erase"
    reason = {"reason": "Patient withdrew consent"}
    api_client.force_authenticate(bob)
    as_member = api_client.post(path, reason, format="json")
    api_client.force_authenticate(charlie)
    as_outsider = api_client.post(path, reason, format="json")
    api_client.force_authenticate(None)
    without_admin = api_client.post(path, reason, format="json", **bearer(alice_key))
    without_reason = api_client.post(path, {"reason": ""}, format="json", **bearer(admin_key))

    with django_capture_on_commit_callbacks(execute=True):
        erased = api_client.post(path, reason, format="json", **bearer(admin_key))
    again = api_client.post(path, reason, format="json", **bearer(admin_key))

    assert (as_member.status_code, as_outsider.status_code) == (403, 404)
    assert (without_admin.status_code, without_reason.status_code) == (403, 400)
    assert erased.status_code == 204 and again.status_code == 409
    model.refresh_from_db()
    assert (model.status, model.error_code) == ("failed", "erased")
    assert model.digest == factories.MODEL_DIGEST
    assert not any((media_root / stored.storage_name).exists() for stored in files.values())
    with pytest.raises(StoredFileError):
        read_checked(model.calibration)
    [tombstone] = AuditEntry.objects.filter(action="model.erased")
    assert tombstone.target_id == str(model.pk) and tombstone.details["tombstone"] is True
    assert tombstone.details["reason"] == "Patient withdrew consent"
    assert tombstone.details["digest"] == factories.MODEL_DIGEST
    for part, stored in files.items():
        assert tombstone.details[f"{part}_sha256"] == stored.sha256
    # What was issued stays: the job, its proof, which still verifies, and the model's digest.
    shown = api_client.get(f"/api/v1/models/{model.pk}/", **bearer(alice_key)).json()
    assert shown["digest"] == factories.MODEL_DIGEST and shown["status"] == "failed"
    proof = api_client.get(f"/api/v1/jobs/{job.pk}/proof", **bearer(alice_key))
    assert proof.status_code == 200
    assert verify_proof_bytes(proof.content)["accepted"] is True
    refused = api_client.post(
        "/api/v1/jobs/",
        {"kind": "inference", "model": str(model.pk), "input": factories.input_upload()},
        format="multipart",
        **bearer(alice_key),
    )
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "model_not_ready"


def test_erasing_a_phi_model_deletes_its_encrypted_calibration_set(
    api_client, phi_org, alice_key, admin_key, media_root, django_capture_on_commit_callbacks
):
    model = upload_model(api_client, alice_key)
    at_rest = media_root / model.calibration.storage_name

    with django_capture_on_commit_callbacks(execute=True):
        erased = api_client.post(
            f"/api/v1/compliance/models/{model.pk}/erase",
            {"reason": "Patient withdrew consent"},
            format="json",
            **bearer(admin_key),
        )

    assert erased.status_code == 204
    assert not at_rest.exists() and not (media_root / model.source.storage_name).exists()
    tombstone = AuditEntry.objects.get(action="model.erased")
    assert tombstone.details["calibration_sha256"] == model.calibration.sha256
    assert not PHIAccess.objects.exists()


def test_audit_records_are_kept_six_years_and_phi_accesses_are_never_deleted(
    phi_org, settings, api_client, alice_key
):
    stored = storage.store_upload(phi_org, "inputs", factories.upload("x.csv", PHI_CSV), "x.csv")
    read_checked(stored)
    access = PHIAccess.objects.get()

    assert settings.AUDIT_RETENTION_DAYS >= 6 * 365
    with pytest.raises(AppendOnlyError):
        access.delete()
    access.purpose = "rewritten"
    with pytest.raises(AppendOnlyError):
        access.save()
    assert access.actor == "system" and "worker" in PHIAccess.objects.get().purpose


def test_a_phi_input_is_encrypted_when_stored(phi_org, media_root):
    stored = storage.store_upload(phi_org, "inputs", factories.input_upload(4321.5), "x.npz")

    assert (media_root / stored.storage_name).read_bytes().startswith(storage.MAGIC)
    assert EncryptedFile.objects.filter(stored_file=stored).exists()


def test_a_phi_job_is_refused_before_its_input_reaches_storage(
    api_client, phi_org, alice_key, media_root
):
    model = factories.ready_model(phi_org, privacy_input="private")
    before = set(media_root.rglob("*"))

    response = api_client.post(
        "/api/v1/jobs/",
        {"kind": "inference", "model": str(model.pk), "input": factories.input_upload(4321.5)},
        format="multipart",
        **bearer(alice_key),
    )

    # PHI inputs are always private, which this version cannot prove without showing them.
    assert response.status_code == 422
    assert response.json()["error"]["details"]["private_parts"] == ["input"]
    assert not Job.objects.exists()
    assert set(media_root.rglob("*")) == before


def test_a_plain_file_is_read_without_any_phi_access_record(alice_org):
    stored = store_bytes(alice_org, "datasets", PHI_CSV, "p.csv")

    assert read_checked(stored) == PHI_CSV
    assert not PHIAccess.objects.exists()


@pytest.mark.integration
@pytest.mark.timeout(180)
def test_phi_never_reaches_application_logs_or_broker_messages(
    worker, api_client, phi_org, alice_key, published, caplog
):
    caplog.set_level(logging.DEBUG)
    dataset = upload_csv(api_client, alice_key)

    ready = wait_until(
        lambda: Dataset.objects.filter(pk=dataset.pk).exclude(status="validating").first(),
        timeout=120,
    )

    # The worker decrypted it (it validated the rows) and logged its access as the system's.
    assert ready.status == Dataset.Status.READY, ready.error_message
    assert ready.samples == 4
    access = PHIAccess.objects.get()
    assert access.actor == "system" and access.what_id == str(dataset.file.pk)
    worker_log = worker.log_path.read_text(errors="replace")
    assert published, "no broker message was captured"
    for text in (worker_log, caplog.text, *published):
        assert not [value for value in PHI_VALUES if value in text]
        assert "systolic" not in text

"""The audit log: an append-only hash chain with signed checkpoints that anyone can re-verify."""

from __future__ import annotations

import base64
import json
import threading
from io import StringIO

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, connections, transaction
from django.utils import timezone

from compliance import audit_log
from compliance.audit_log import keys
from compliance.audit_log.chain import GENESIS_HASH, checkpoint_message, entry_hash
from compliance.audit_log.models import AppendOnlyError, AuditCheckpoint, AuditEntry
from compliance.audit_log.services import write_checkpoint
from compliance.audit_log.tasks import write_audit_checkpoint
from tests.platform import factories
from tests.platform.helpers import bearer
from veriml.core.files import write_file
from veriml.proving import services as proving
from veriml.proving.models import Job

ENTRY_TABLE = "audit_log_auditentry"

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL only"
)


def verify(*args: str) -> str:
    out = StringIO()
    call_command("verify_audit_log", *args, stdout=out)
    return out.getvalue()


def verify_fails() -> str:
    with pytest.raises(CommandError) as failure:
        verify()
    assert failure.value.returncode == 1
    return str(failure.value)


def note(action: str, number: int = 0) -> AuditEntry:
    return audit_log.record(
        action, actor="system", organisation=None, target=("test", str(number)), details={}
    )


def as_superuser_bypassing_triggers(sql: str, *params: object) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
        cursor.execute("SET LOCAL session_replication_role = origin")


def run_job(org, *, output_public: bool = True) -> Job:
    model = factories.ready_model(org)
    job, _ = proving.submit_job(
        org,
        proving.JobRequest(kind=Job.Kind.INFERENCE, model=model, input=factories.input_upload()),
        actor="user:1",
    )
    attempt = proving.claim_job(str(job.pk), "0.test", "cpu").attempt
    # As a worker leaves it: in storage, its row saved by complete_job.
    proof = write_file(org, "proofs", ContentFile(factories.proof_bytes()), "p.vmp")
    return proving.complete_job(
        attempt, proof, {"output": [0.25, 0.75]}, {"accepted": True}, output_public
    )


def test_the_chain_verifies_after_logins_uploads_and_a_job_lifecycle(
    api_client, alice, alice_org, issue_key
):
    assert not api_client.login(username="alice", password="wrong")
    assert api_client.login(username="alice", password="alice-password-1")
    api_client.logout()
    key = issue_key("Alice Labs", ("read", "submit"))
    response = api_client.post(
        "/api/v1/models/",
        {
            "name": "classifier",
            "file": factories.model_upload(),
            "calibration": factories.calibration_upload(),
        },
        format="multipart",
        **bearer(key),
    )
    assert response.status_code == 201
    run_job(alice_org)
    cancelled, _ = proving.submit_job(
        alice_org,
        proving.JobRequest(
            kind=Job.Kind.INFERENCE,
            model=factories.ready_model(alice_org),
            input=factories.input_upload(),
        ),
    )
    proving.cancel_job(cancelled, actor="user:1")
    write_checkpoint()

    actions = list(AuditEntry.objects.values_list("action", flat=True))
    for action in (
        "auth.login_failed",
        "auth.login",
        "api_key.created",
        "api_key.used",
        "model.uploaded",
        "job.created",
        "job.succeeded",
        "job.cancelled",
    ):
        assert action in actions
    report = json.loads(verify("--json"))
    assert report["ok"] is True
    assert report["entries"] == len(actions)
    assert report["checkpoints"] == 1


def test_the_first_entry_chains_to_the_genesis_hash_and_hashes_its_fields(db):
    first = note("test.first")

    assert first.previous_hash == GENESIS_HASH
    assert first.hash == entry_hash(GENESIS_HASH, first.fields())
    assert note("test.second").previous_hash == first.hash


@postgresql_only
def test_an_entry_altered_behind_the_trigger_is_named_by_its_sequence(db):
    entries = [note("test.event", number) for number in range(4)]
    as_superuser_bypassing_triggers(
        f"UPDATE {ENTRY_TABLE} SET actor = 'user:666' WHERE sequence = %s", entries[2].sequence
    )

    message = verify_fails()

    assert f"entry {entries[2].sequence}: hash_mismatch" in message


@postgresql_only
def test_a_deleted_middle_entry_is_found_as_a_gap(db):
    entries = [note("test.event", number) for number in range(3)]
    as_superuser_bypassing_triggers(
        f"DELETE FROM {ENTRY_TABLE} WHERE sequence = %s", entries[1].sequence
    )

    assert f"entry {entries[1].sequence}: sequence_gap" in verify_fails()


@postgresql_only
def test_entries_deleted_from_the_end_are_found_against_the_head(db):
    entries = [note("test.event", number) for number in range(3)]
    as_superuser_bypassing_triggers(
        f"DELETE FROM {ENTRY_TABLE} WHERE sequence = %s", entries[2].sequence
    )

    assert f"entry {entries[2].sequence}: sequence_gap" in verify_fails()


@postgresql_only
@pytest.mark.parametrize(
    "statement",
    [
        f"UPDATE {ENTRY_TABLE} SET actor = 'user:666'",
        f"DELETE FROM {ENTRY_TABLE}",
        f"TRUNCATE {ENTRY_TABLE}",
    ],
)
def test_the_trigger_refuses_updates_deletes_and_truncation(db, statement):
    note("test.event")
    with connection.cursor() as cursor:
        # The test database lets TRUNCATE through for flushes between tests (conftest.py).
        cursor.execute(f"ALTER TABLE {ENTRY_TABLE} ENABLE TRIGGER {ENTRY_TABLE}_no_truncate")
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            cursor.execute(statement)
    verify()


def test_the_orm_refuses_to_change_or_delete_an_entry(db):
    entry = note("test.event")
    entry.actor = "user:666"

    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()


def test_a_forged_checkpoint_signature_is_detected(db):
    note("test.event")
    write_checkpoint()
    head = AuditEntry.objects.get()
    now = timezone.now()
    forged = Ed25519PrivateKey.generate().sign(checkpoint_message(head.sequence, head.hash, now))
    AuditCheckpoint(
        sequence=head.sequence,
        head_hash=head.hash,
        time=now,
        signature=base64.b64encode(forged).decode(),
    ).save()

    message = verify_fails()

    assert f"at sequence {head.sequence}: bad_signature" in message


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="threads share the test database only on PostgreSQL (SQLite's is in memory)",
)
def test_checkpoints_verify_against_the_published_key_and_not_another(db):
    note("test.event")
    write_audit_checkpoint()
    published = base64.b64encode(keys.public_key_raw(keys.public_key())).decode()
    other = Ed25519PrivateKey.generate().public_key()

    assert json.loads(verify("--json", "--public-key", published))["checkpoints"] == 1
    with pytest.raises(CommandError, match="bad_signature"):
        verify("--public-key", base64.b64encode(keys.public_key_raw(other)).decode())


def test_the_signing_key_is_read_as_a_base64_seed_or_pem(settings):
    seed = bytes(range(32))
    settings.AUDIT_SIGNING_KEY = base64.b64encode(seed).decode()
    from_seed = keys.public_key_raw(keys.public_key())
    settings.AUDIT_SIGNING_KEY = (
        Ed25519PrivateKey.from_private_bytes(seed)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )

    assert keys.public_key_raw(keys.public_key()) == from_seed
    settings.AUDIT_SIGNING_KEY = base64.b64encode(b"short").decode()
    with pytest.raises(ImproperlyConfigured):
        keys.signing_key()


def test_production_refuses_to_sign_without_a_configured_key(settings):
    settings.AUDIT_SIGNING_KEY = ""
    settings.AUDIT_SIGNING_KEY_GENERATE = False

    with pytest.raises(ImproperlyConfigured, match="AUDIT_SIGNING_KEY"):
        keys.signing_key()


def test_beat_signs_a_checkpoint_on_schedule(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE["audit-checkpoint"]
    assert schedule["task"] == write_audit_checkpoint.name
    assert schedule["schedule"] == float(settings.AUDIT_CHECKPOINT_SECONDS)


def test_concurrent_writers_make_a_gapless_chain_that_verifies(transactional_db):
    writers, each = 8, 10
    errors: list[BaseException] = []

    def write(writer: int) -> None:
        try:
            for number in range(each):
                note(f"test.writer{writer}", number)
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(writer,)) for writer in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    sequences = list(AuditEntry.objects.values_list("sequence", flat=True))
    assert sequences == list(range(1, writers * each + 1))
    assert json.loads(verify("--json"))["ok"] is True


def test_the_public_checkpoint_needs_no_account_and_verifies_with_the_published_key(api_client, db):
    note("test.event")
    write_checkpoint()

    response = api_client.get("/api/v1/audit/checkpoint")

    assert response.status_code == 200
    body = response.json()
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(body["public_key"]["raw_base64"]))
    checkpoint = body["checkpoint"]
    head = AuditEntry.objects.get()
    assert (checkpoint["sequence"], checkpoint["head_hash"]) == (head.sequence, head.hash)
    message = "\n".join(
        [
            "veriml/audit-checkpoint/v1",
            str(checkpoint["sequence"]),
            checkpoint["head_hash"],
            checkpoint["time"],
        ]
    ).encode()
    key.verify(base64.b64decode(checkpoint["signature"]), message)


def test_no_private_output_appears_in_the_log(alice_org):
    job = run_job(alice_org, output_public=False)

    assert job.status == Job.Status.SUCCEEDED
    logged = json.dumps(list(AuditEntry.objects.values("details")))
    assert "0.25" not in logged and "0.75" not in logged

"""Jobs, models and test sets through the real Celery worker process.

The models here are set up directly as "ready" with a compiled file that is not a real
compiled model, so these tests do not depend on the compiler: the real task runs, and the
prover refuses the file. Proofs are real files from the standalone prover.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from django.core.files.storage import storages
from django.utils import timezone

from tests.platform import factories
from tests.platform.helpers import bearer, wait_until
from veriml.core.models import StoredFile
from veriml.proving.models import Job
from veriml.proving.tasks import prove_inference
from veriml.registry.models import Dataset, RegisteredModel

pytestmark = pytest.mark.integration

TASK_TIMEOUT = 60
PROVER_FAILURES = {"unavailable", "prover_error", "compile_error", "invalid_input"}


def ended(model_class, pk):
    def check():
        row = model_class.objects.get(pk=pk)
        return row if row.status not in ("queued", "running", "compiling", "validating") else None

    return wait_until(check, timeout=TASK_TIMEOUT)


@pytest.fixture
def callback_server() -> Iterator[tuple[str, queue.Queue]]:
    """An HTTP server on 127.0.0.1 that records each POST it receives."""
    received: queue.Queue = queue.Queue()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.put((self.path, self.headers, body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


def test_a_job_runs_through_the_worker_and_records_its_failure_and_worker(
    worker, api_client, alice_org, issue_key
):
    model = factories.ready_model(alice_org)
    key = issue_key("Alice Labs", scopes=("read", "submit"))

    created = api_client.post(
        "/api/v1/jobs/",
        {"kind": "inference", "model": str(model.pk), "input": factories.input_upload()},
        format="multipart",
        **bearer(key),
    )
    job = ended(Job, created.json()["id"])
    body = api_client.get(f"/api/v1/jobs/{job.pk}/", **bearer(key)).json()

    assert created.status_code == 201
    assert job.status == Job.Status.FAILED
    assert job.error_code in PROVER_FAILURES, job.error_message
    assert body["error"]["message"]
    assert body["attempts"] == 1
    assert body["prover_version"]
    assert body["device"] in ("cpu", "cuda")
    assert body["timings"]["started_at"] and body["timings"]["finished_at"]
    assert body["proof"] is None


def test_delivering_the_same_job_twice_runs_it_once(worker, alice_org):
    job = factories.job(alice_org)

    first = prove_inference.delay(str(job.pk))
    second = prove_inference.delay(str(job.pk))
    outcomes = sorted([first.get(timeout=TASK_TIMEOUT), second.get(timeout=TASK_TIMEOUT)])

    job.refresh_from_db()
    assert outcomes == ["already ended", "failed"]
    assert job.attempts == 1
    assert job.status == Job.Status.FAILED


def test_redelivering_a_succeeded_job_keeps_its_one_proof(worker, alice_org):
    job = factories.succeeded_job(alice_org)
    proofs_before = StoredFile.objects.filter(storage_name__startswith="proofs/").count()

    outcome = prove_inference.delay(str(job.pk)).get(timeout=TASK_TIMEOUT)

    refreshed = Job.objects.get(pk=job.pk)
    assert outcome == "already ended"
    assert refreshed.status == Job.Status.SUCCEEDED
    assert refreshed.proof_id == job.proof_id
    assert refreshed.attempts == 1
    assert StoredFile.objects.filter(storage_name__startswith="proofs/").count() == proofs_before


def test_a_job_whose_worker_was_lost_is_taken_over_by_the_next_delivery(worker, alice_org):
    long_ago = timezone.now() - timedelta(hours=1)
    job = factories.job(
        alice_org,
        status=Job.Status.RUNNING,
        attempts=1,
        worker="lost-host:1234",
        started_at=long_ago,
        heartbeat_at=long_ago,
    )

    outcome = prove_inference.delay(str(job.pk)).get(timeout=TASK_TIMEOUT)

    job.refresh_from_db()
    assert outcome == "failed"
    assert job.attempts == 2
    assert job.worker != "lost-host:1234"


def test_an_input_changed_in_storage_fails_the_job_with_an_integrity_error(worker, alice_org):
    job = factories.job(alice_org)
    with open(storages["default"].path(job.input.storage_name), "ab") as handle:
        handle.write(b"appended by someone else")

    prove_inference.delay(str(job.pk)).get(timeout=TASK_TIMEOUT)

    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.error_code == "integrity_error"
    assert "changed since it was written" in job.error_message


def test_a_job_that_ends_calls_back_with_a_signed_summary(
    worker, api_client, alice, alice_org, issue_key, callback_server
):
    base_url, received = callback_server
    model = factories.ready_model(alice_org)
    key = issue_key("Alice Labs", scopes=("read", "submit", "admin"))
    secret = api_client.get("/api/v1/callback-secret/", **bearer(key)).json()["secret"]

    created = api_client.post(
        "/api/v1/jobs/",
        {
            "kind": "inference",
            "model": str(model.pk),
            "input": factories.input_upload(),
            "callback_url": f"{base_url}/hooks/veriml",
        },
        format="multipart",
        **bearer(key),
    )
    path, headers, body = received.get(timeout=TASK_TIMEOUT)

    timestamp = headers["X-VeriML-Timestamp"]
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    summary = json.loads(body)
    assert path == "/hooks/veriml"
    assert headers["X-VeriML-Signature"] == f"sha256={expected.hexdigest()}"
    assert headers["X-VeriML-Event"] == "job.finished"
    assert abs(int(timestamp) - timezone.now().timestamp()) < 120
    assert summary["id"] == created.json()["id"]
    assert summary["status"] == "failed"
    wait_until(lambda: Job.objects.get(pk=summary["id"]).callback_delivered_at)


def test_cancelling_a_queued_job_calls_back(
    worker, api_client, alice_org, issue_key, callback_server
):
    base_url, received = callback_server
    job = factories.job(alice_org, callback_url=f"{base_url}/hook")
    key = issue_key("Alice Labs", scopes=("read", "submit"))

    api_client.post(f"/api/v1/jobs/{job.pk}/cancel", **bearer(key))
    _, _, body = received.get(timeout=TASK_TIMEOUT)

    assert json.loads(body)["status"] == "cancelled"


def test_a_failed_callback_is_recorded_and_leaves_the_job_as_it_was(
    worker, api_client, alice_org, issue_key
):
    # Port 9 (discard) on 127.0.0.1: nothing listens, the connection is refused.
    job = factories.job(alice_org, callback_url="http://127.0.0.1:9/hook")
    key = issue_key("Alice Labs", scopes=("read", "submit"))

    api_client.post(f"/api/v1/jobs/{job.pk}/cancel", **bearer(key))
    failed = wait_until(lambda: Job.objects.filter(pk=job.pk).exclude(callback_error="").first())

    assert failed.status == Job.Status.CANCELLED
    assert failed.callback_delivered_at is None
    assert "refused" in failed.callback_error.lower() or "error" in failed.callback_error.lower()


def test_an_uploaded_test_set_is_validated_by_the_worker(worker, api_client, alice, issue_key):
    key = issue_key("Alice Labs", scopes=("read", "submit"))
    good = factories.npz_bytes(
        inputs=np.zeros((5, 4), np.float32), labels=np.array([0, 1, 2, 1, 0])
    )
    bad = factories.npz_bytes(inputs=np.zeros((5, 4), np.float32))

    created = [
        api_client.post(
            "/api/v1/datasets/",
            {"name": name, "file": factories.upload(f"{name}.npz", data)},
            format="multipart",
            **bearer(key),
        ).json()["id"]
        for name, data in (("good", good), ("bad", bad))
    ]
    ready, failed = (ended(Dataset, pk) for pk in created)

    assert ready.status == Dataset.Status.READY
    assert (ready.samples, ready.classes, ready.input_shape) == (5, 3, [4])
    assert failed.status == Dataset.Status.FAILED
    assert failed.error_code == "invalid_dataset"
    assert "missing 'labels'" in failed.error_message


def test_an_uploaded_model_the_compiler_cannot_use_fails_with_a_clear_error(
    worker, api_client, alice, issue_key
):
    key = issue_key("Alice Labs", scopes=("read", "submit"))

    created = api_client.post(
        "/api/v1/models/",
        {
            "name": "not-a-model",
            "file": factories.model_upload(),
            "calibration": factories.calibration_upload(),
        },
        format="multipart",
        **bearer(key),
    ).json()
    model = ended(RegisteredModel, created["id"])

    assert model.status == RegisteredModel.Status.FAILED
    assert model.error_code in PROVER_FAILURES
    assert model.error_message
    assert model.prover_version
    assert model.compiled is None


def test_beat_sends_again_the_jobs_of_workers_that_stopped_beating(worker, alice_org):
    from veriml.proving.tasks import requeue_stale_jobs

    long_ago = timezone.now() - timedelta(hours=1)
    stale = factories.job(
        alice_org,
        status=Job.Status.RUNNING,
        attempts=1,
        worker="lost-host:99",
        started_at=long_ago,
        heartbeat_at=long_ago,
    )
    live = factories.job(
        alice_org,
        status=Job.Status.RUNNING,
        attempts=1,
        worker="busy-host:7",
        started_at=timezone.now(),
        heartbeat_at=timezone.now(),
    )

    assert requeue_stale_jobs() == 1
    taken_over = wait_until(lambda: Job.objects.filter(pk=stale.pk, attempts=2).first())

    assert taken_over.worker != "lost-host:99"
    assert Job.objects.get(pk=live.pk).attempts == 1

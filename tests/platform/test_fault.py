"""A worker killed with SIGKILL in the middle of its work: the work is finished once, by another.

Two kinds of work are killed: validating a test set (a CSV of half a million rows, which the
worker parses in pure Python for a few seconds) and a real proof (an inference job proving a
small MLP on a batch of eight thousand inputs, several seconds of proving with its progress
reported stage by stage). The killed worker never acknowledged its message, so two ways bring
the work back to the next worker, as in production:

- ``beat`` sends the task of every row whose heartbeat stopped (``requeue_stale_work`` and
  ``requeue_stale_jobs``), and
- Redis hands the original message out again once it is older than the visibility timeout.

Whichever arrives first takes the row over (attempt 2); the other finds it ended. These
workers use their own Redis key prefix, so the run's shared worker never sees their tasks, and
short settings (a heartbeat every second, stale after three, a visibility timeout of seconds)
make the recovery take seconds instead of minutes.
"""

from __future__ import annotations

import os
import re
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import redis
import torch
from django.conf import settings
from django.db import connections

from compliance.audit_log.models import AuditEntry
from provers import api as prover_api
from tests.platform import factories
from tests.platform.helpers import wait_until
from tests.platform.workers import WorkerProcess, start_worker, stop_worker, worker_overrides
from veriml.celery import app as celery_app
from veriml.core.files import read_checked, store_bytes
from veriml.core.models import StoredFile
from veriml.proving.models import Job
from veriml.proving.tasks import prove_inference
from veriml.registry.models import Dataset
from veriml.registry.tasks import validate_dataset

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

SAMPLES = 500_000
VISIBILITY_TIMEOUT = 11
FAULT_SETTINGS = {
    "WORK_HEARTBEAT_SECONDS": "1",
    "WORK_STALE_SECONDS": "3",
    # The visibility timeout must outlast the longest job: limits of ten seconds allow eleven.
    "JOB_TIME_LIMIT": str(VISIBILITY_TIMEOUT - 1),
    "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
    "CELERY_UNACKED_RESTORE_SECONDS": "1",
}
# A proof of the batch below takes about five seconds here: its limits leave room for a slower
# machine, and its original message still comes back within the test's time.
PROOF_VISIBILITY_TIMEOUT = 21
PROOF_SETTINGS = {
    "JOB_TIME_LIMIT": str(PROOF_VISIBILITY_TIMEOUT - 1),
    "CELERY_VISIBILITY_TIMEOUT": str(PROOF_VISIBILITY_TIMEOUT),
}
FEATURES = 8
BATCH = 8192
RESULT_LINE = re.compile(
    r"Task (?P<name>veriml\.[a-z_.]+)\[(?P<task>[0-9a-f-]+)\] "
    r"succeeded in [0-9.]+s: '(?P<outcome>[a-z ]+)'"
)


@pytest.fixture
def fault_prefix(transactional_db: None) -> Iterator[str]:
    if connections["default"].vendor != "postgresql":
        pytest.skip("the workers share the test database only on PostgreSQL")
    if not settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        pytest.skip("re-delivery after a visibility timeout is Redis's behaviour")
    prefix = f"{settings.CELERY_REDIS_KEY_PREFIX}fault-{uuid.uuid4().hex[:8]}:"
    yield prefix
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)


@pytest.fixture
def fault_broker(fault_prefix: str) -> Iterator[object]:
    """A broker connection whose keys carry the fault test's own prefix."""
    options = {**celery_app.conf.broker_transport_options, "global_keyprefix": fault_prefix}
    with celery_app.connection_for_write(transport_options=options) as connection:
        yield connection


@pytest.fixture
def workdirs(tmp_path: Path) -> Path:
    """The workers' TMPDIR: a killed worker leaves its work folder behind, among these files."""
    folder = tmp_path / "workdirs"
    folder.mkdir()
    return folder


@pytest.fixture
def start_fault_worker(
    fault_prefix, fault_broker, media_root, tmp_path, workdirs
) -> Iterator[object]:
    started: list[WorkerProcess] = []

    def start(label: str, *arguments: str, **extra_settings: str) -> WorkerProcess:
        overrides = worker_overrides(
            media_root,
            CELERY_REDIS_KEY_PREFIX=fault_prefix,
            TMPDIR=str(workdirs),
            **{**FAULT_SETTINGS, **extra_settings},
        )
        worker = start_worker(tmp_path / f"{label}.log", overrides, arguments, ping=False)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        stop_worker(worker)


def slow_test_set() -> bytes:
    """A valid test set that takes the worker a few seconds to read."""
    rows = "".join(f"0,1,{index % 10}\n" for index in range(SAMPLES))
    return f"a,b,label\n{rows}".encode()


def outcomes(*workers: WorkerProcess, task: str) -> list[tuple[str, str]]:
    """(task id, outcome) of every run of the named task that returned, from the workers' logs."""
    text = "".join(worker.log_path.read_text(errors="replace") for worker in workers)
    return [
        (found["task"], found["outcome"])
        for found in RESULT_LINE.finditer(text)
        if found["name"] == task
    ]


def test_a_worker_killed_mid_work_loses_nothing_and_the_work_finishes_once(
    alice_org, fault_prefix, fault_broker, start_fault_worker, tmp_path
):
    dataset = Dataset.objects.create(
        organisation=alice_org,
        name="slow",
        file=store_bytes(alice_org, "datasets", slow_test_set(), "slow.csv"),
    )
    first = start_fault_worker("first")
    sent = validate_dataset.apply_async((str(dataset.pk),), connection=fault_broker)

    running = wait_until(
        lambda: Dataset.objects.filter(pk=dataset.pk, attempts=1, started_at__isnull=False).first(),
        timeout=30,
        interval=0.02,
    )
    os.kill(first.process.pid, signal.SIGKILL)
    first.process.wait()
    assert running.status == Dataset.Status.VALIDATING
    assert running.worker.endswith(f":{first.process.pid}")
    assert Dataset.objects.get(pk=dataset.pk).finished_at is None

    second = start_fault_worker("second", "--beat", "--schedule", str(tmp_path / "beat-schedule"))
    finished = wait_until(
        lambda: Dataset.objects.filter(pk=dataset.pk).exclude(status="validating").first(),
        timeout=60,
    )
    # The original message comes back after the visibility timeout and finds the work done.
    wait_until(
        lambda: sent.id in dict(outcomes(second, task=validate_dataset.name)),
        timeout=VISIBILITY_TIMEOUT + 20,
    )
    acknowledged = acknowledged_all(fault_prefix)

    assert finished.status == Dataset.Status.READY, finished.error_message
    assert (finished.samples, finished.classes, finished.input_shape) == (SAMPLES, 10, [2])
    assert finished.attempts == 2
    assert finished.worker != running.worker
    assert Dataset.objects.filter(organisation=alice_org).count() == 1
    results = outcomes(first, second, task=validate_dataset.name)
    assert [outcome for _, outcome in results].count("done") == 1, results
    assert {outcome for _, outcome in results} <= {"done", "already ended"}, results
    assert acknowledged


def acknowledged_all(prefix: str, timeout: float = 15.0) -> bool:
    """Whether Redis ends up holding no unacknowledged message. A worker acknowledges just after
    it logs the task's outcome, so on a loaded machine the last ack may trail the log line."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        return wait_until(lambda: client.hlen(f"{prefix}unacked") == 0, timeout=timeout)
    except AssertionError:
        return False


def compiled_mlp(folder: Path) -> tuple[bytes, str]:
    """A small MLP compiled by the real compiler: the ``.vmc`` bytes and the model digest."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(FEATURES, 32), torch.nn.ReLU(), torch.nn.Linear(32, 4)
    ).eval()
    torch.export.save(torch.export.export(model, (torch.randn(1, FEATURES),)), folder / "mlp.pt2")
    rng = np.random.default_rng(1)
    np.savez(folder / "calibration.npz", inputs=rng.standard_normal((32, FEATURES), np.float32))
    report = prover_api.compile_model(
        folder / "mlp.pt2", folder / "calibration.npz", folder / "mlp.vmc"
    )
    return (folder / "mlp.vmc").read_bytes(), report["digest"]


def files_in(media_root: Path, category: str, organisation) -> set[str]:
    folder = media_root / category / str(organisation.pk)
    return {str(path.relative_to(media_root)) for path in folder.glob("*") if path.is_file()}


def proving_job(organisation, folder: Path) -> Job:
    compiled, digest = compiled_mlp(folder)
    model = factories.ready_model(
        organisation,
        name="mlp",
        compiled=store_bytes(organisation, "compiled", compiled, "mlp.vmc"),
        digest=digest,
    )
    batch = np.random.default_rng(2).standard_normal((BATCH, FEATURES), np.float32)
    return factories.job(
        organisation,
        model,
        input=store_bytes(organisation, "inputs", factories.npz_bytes(x=batch), "batch.npz"),
        nonce=os.urandom(32).hex(),
    )


def mid_proof(job: Job) -> Job | None:
    return Job.objects.filter(
        pk=job.pk,
        status=Job.Status.RUNNING,
        attempts=1,
        progress_fraction__gt=0.0,
        progress_fraction__lt=1.0,
    ).first()


def test_a_worker_killed_mid_proof_is_replaced_and_the_job_proves_once(
    alice_org, fault_prefix, fault_broker, start_fault_worker, media_root, tmp_path, workdirs
):
    job = proving_job(alice_org, tmp_path)
    first = start_fault_worker("first", **PROOF_SETTINGS)
    sent = prove_inference.apply_async((str(job.pk),), connection=fault_broker)

    running = wait_until(lambda: mid_proof(job), timeout=30, interval=0.02)
    os.kill(first.process.pid, signal.SIGKILL)
    first.process.wait()
    assert running.worker.endswith(f":{first.process.pid}")
    assert Job.objects.get(pk=job.pk).status == Job.Status.RUNNING
    assert files_in(media_root, "proofs", alice_org) == set()

    second = start_fault_worker(
        "second", "--beat", "--schedule", str(tmp_path / "beat-schedule"), **PROOF_SETTINGS
    )
    finished = wait_until(
        lambda: Job.objects.filter(pk=job.pk).exclude(status__in=("queued", "running")).first(),
        timeout=60,
    )
    wait_until(
        lambda: sent.id in dict(outcomes(second, task=prove_inference.name)),
        timeout=PROOF_VISIBILITY_TIMEOUT + 20,
    )
    acknowledged = acknowledged_all(fault_prefix)
    digest = job.model.digest
    verdict = prover_api.verify(read_checked(finished.proof), expected_model_digest=digest)
    proofs = StoredFile.objects.filter(organisation=alice_org, storage_name__startswith="proofs/")
    ended = AuditEntry.objects.filter(
        target_type="job", target_id=str(job.pk), action__startswith="job."
    )
    left_behind = [folder for folder in workdirs.glob("veriml-work-*") if folder.is_dir()]

    assert finished.status == Job.Status.SUCCEEDED, finished.error_message
    assert finished.attempts == 2
    assert finished.worker != running.worker
    assert finished.verification["accepted"] is True
    assert verdict.accepted, (verdict.reason, verdict.detail)
    assert verdict.statement == finished.statement
    assert list(proofs) == [finished.proof]
    assert files_in(media_root, "proofs", alice_org) == {finished.proof.storage_name}
    assert [entry.action for entry in ended] == ["job.succeeded"]
    assert ended.get().details["proof_sha256"] == finished.proof.sha256
    results = outcomes(first, second, task=prove_inference.name)
    assert [outcome for _, outcome in results].count("done") == 1, results
    assert {outcome for _, outcome in results} <= {"done", "already ended"}, results
    assert acknowledged
    # Only the killed attempt's work folder is left, and it never held a finished proof.
    assert len(left_behind) == 1, left_behind
    assert not (left_behind[0] / "proof.vmp").exists()

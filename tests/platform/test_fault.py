"""A worker killed with SIGKILL in the middle of its work: the work is finished once, by another.

The work is a test set whose labels are a list of four million numbers: the worker reads it
with the weights-only unpickler, a few seconds of pure Python, long enough to find the row
claimed and running and to kill the worker then. The killed worker never acknowledged its
message, so two ways bring the work back to the next worker, as in production:

- ``beat`` sends the task of every row whose heartbeat stopped (``requeue_stale_work``), and
- Redis hands the original message out again once it is older than the visibility timeout.

Whichever arrives first takes the row over (attempt 2); the other finds it ended. These
workers use their own Redis key prefix, so the run's shared worker never sees their tasks, and
short settings (a heartbeat every second, stale after three, a visibility timeout of eleven)
make the recovery take seconds instead of minutes.
"""

from __future__ import annotations

import io
import os
import re
import signal
import uuid
from collections.abc import Iterator

import pytest
import redis
import torch
from django.conf import settings
from django.db import connections

from tests.platform.helpers import wait_until
from tests.platform.workers import WorkerProcess, start_worker, stop_worker, worker_overrides
from veriml.celery import app as celery_app
from veriml.core.files import store_bytes
from veriml.registry.models import Dataset
from veriml.registry.tasks import validate_dataset

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

SAMPLES = 4_000_000
VISIBILITY_TIMEOUT = 11
FAULT_SETTINGS = {
    "WORK_HEARTBEAT_SECONDS": "1",
    "WORK_STALE_SECONDS": "3",
    # The visibility timeout must outlast the longest job: limits of ten seconds allow eleven.
    "JOB_TIME_LIMIT": str(VISIBILITY_TIMEOUT - 1),
    "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
    "CELERY_UNACKED_RESTORE_SECONDS": "1",
}
RESULT_LINE = re.compile(
    r"Task veriml\.registry\.tasks\.validate_dataset\[(?P<task>[0-9a-f-]+)\] "
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
def start_fault_worker(fault_prefix, fault_broker, media_root, tmp_path) -> Iterator[object]:
    started: list[WorkerProcess] = []

    def start(label: str, *arguments: str) -> WorkerProcess:
        # A killed worker leaves its work folder behind: keep it among this test's files.
        workdirs = tmp_path / "workdirs"
        workdirs.mkdir(exist_ok=True)
        overrides = worker_overrides(
            media_root, CELERY_REDIS_KEY_PREFIX=fault_prefix, TMPDIR=str(workdirs), **FAULT_SETTINGS
        )
        worker = start_worker(tmp_path / f"{label}.log", overrides, arguments, ping=False)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        stop_worker(worker)


def slow_test_set() -> bytes:
    """A valid test set that takes the worker a few seconds to read."""
    buffer = io.BytesIO()
    labels = [index % 10 for index in range(SAMPLES)]
    torch.save({"inputs": torch.zeros((SAMPLES, 2), dtype=torch.uint8), "labels": labels}, buffer)
    return buffer.getvalue()


def outcomes(*workers: WorkerProcess) -> list[tuple[str, str]]:
    text = "".join(worker.log_path.read_text(errors="replace") for worker in workers)
    return [(found["task"], found["outcome"]) for found in RESULT_LINE.finditer(text)]


def test_a_worker_killed_mid_work_loses_nothing_and_the_work_finishes_once(
    alice_org, fault_prefix, fault_broker, start_fault_worker, tmp_path
):
    dataset = Dataset.objects.create(
        organisation=alice_org,
        name="slow",
        file=store_bytes(alice_org, "datasets", slow_test_set(), "slow.pt"),
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
    wait_until(lambda: sent.id in dict(outcomes(second)), timeout=VISIBILITY_TIMEOUT + 20)
    unacked = redis.Redis.from_url(settings.CELERY_BROKER_URL).hlen(f"{fault_prefix}unacked")

    assert finished.status == Dataset.Status.READY, finished.error_message
    assert (finished.samples, finished.classes, finished.input_shape) == (SAMPLES, 10, [2])
    assert finished.attempts == 2
    assert finished.worker != running.worker
    assert Dataset.objects.filter(organisation=alice_org).count() == 1
    results = outcomes(first, second)
    assert [outcome for _, outcome in results].count("done") == 1, results
    assert {outcome for _, outcome in results} <= {"done", "already ended"}, results
    assert unacked == 0

"""The row-level state machine of background work, and the helpers around a prover call."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.core.files.base import ContentFile
from django.utils import timezone

from tests.platform import factories
from veriml.core.files import write_file
from veriml.core.models import StoredFile
from veriml.core.runner import WorkSteps, classify
from veriml.core.work import Claim
from veriml.core.worker import (
    ProgressReporter,
    ProverUnavailable,
    WorkAbandoned,
    WorkFailed,
    WorkTimedOut,
    memory_limit,
    prover_function,
)
from veriml.proving import services
from veriml.proving.models import Job


@pytest.fixture
def job(alice_org):
    return factories.job(alice_org)


def written_proof(job, data: bytes) -> StoredFile:
    """A proof as a worker leaves it for ``complete_job``: in storage, its row not saved."""
    return write_file(job.organisation, "proofs", ContentFile(data), "p.vmp")


def claim(job):
    return services.claim_job(str(job.pk), "0.test", "cpu")


def held_elsewhere(job, heartbeat_age: timedelta) -> None:
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RUNNING,
        attempts=1,
        attempt_token=uuid.uuid4(),
        worker="another-host:4242",
        started_at=timezone.now() - heartbeat_age,
        heartbeat_at=timezone.now() - heartbeat_age,
    )


def test_claiming_a_queued_job_starts_its_first_attempt(job):
    claimed = claim(job)

    job.refresh_from_db()
    assert claimed.claim is Claim.START
    assert claimed.attempt.number == 1
    assert job.status == Job.Status.RUNNING
    assert job.attempt_token == claimed.attempt.token
    assert job.prover_version == "0.test"
    assert job.device == "cpu"
    assert job.started_at is not None


@pytest.mark.parametrize("status", [Job.Status.SUCCEEDED, Job.Status.FAILED, Job.Status.CANCELLED])
def test_an_ended_job_is_never_claimed_again(job, status):
    Job.objects.filter(pk=job.pk).update(status=status)

    assert claim(job).claim is Claim.DONE


def test_a_job_another_live_worker_holds_is_left_to_it(job):
    held_elsewhere(job, heartbeat_age=timedelta(seconds=1))

    assert claim(job).claim is Claim.BUSY
    job.refresh_from_db()
    assert job.attempts == 1


def test_a_job_whose_worker_stopped_beating_is_taken_over(job, settings):
    held_elsewhere(job, heartbeat_age=timedelta(seconds=settings.WORK_STALE_SECONDS + 1))
    old_token = Job.objects.get(pk=job.pk).attempt_token

    claimed = claim(job)

    assert claimed.claim is Claim.START
    assert claimed.attempt.number == 2
    assert claimed.attempt.token != old_token


def test_a_job_held_by_a_dead_process_on_this_host_is_taken_over_at_once(job):
    import socket
    import subprocess
    import sys

    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    held_elsewhere(job, heartbeat_age=timedelta(seconds=1))
    Job.objects.filter(pk=job.pk).update(worker=f"{socket.gethostname()}:{finished.stdout.strip()}")

    assert claim(job).claim is Claim.START


def test_a_job_lost_too_many_times_fails_instead_of_running_again(job, settings):
    held_elsewhere(job, heartbeat_age=timedelta(hours=1))
    Job.objects.filter(pk=job.pk).update(attempts=settings.WORK_MAX_ATTEMPTS)

    claimed = claim(job)

    job.refresh_from_db()
    assert claimed.claim is Claim.GAVE_UP
    assert job.status == Job.Status.FAILED
    assert job.error_code == "worker_lost"
    assert "another-host" in job.error_message


def test_a_replaced_attempt_can_no_longer_write(job, settings):
    first = claim(job).attempt
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    second = claim(job).attempt

    assert services.record_job_progress(first, "sumcheck", 0.5) is False
    assert services.job_heartbeat(first) is False
    assert services.fail_job(first, "prover_error", "late") is None
    assert services.record_job_progress(second, "sumcheck", 0.5) is True
    job.refresh_from_db()
    assert job.status == Job.Status.RUNNING
    assert job.progress_stage == "sumcheck"


def test_a_cancelled_running_job_stops_taking_progress_and_results(job):
    attempt = claim(job).attempt

    services.cancel_job(job)

    assert services.record_job_progress(attempt, "sumcheck", 0.5) is False
    proof = written_proof(job, factories.proof_bytes())
    assert services.complete_job(attempt, proof, {}, {"accepted": True}, True) is None
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED
    assert job.proof is None
    assert not StoredFile.objects.filter(pk=proof.pk).exists()


def test_a_proof_the_verifier_rejects_fails_the_job(job):
    attempt = claim(job).attempt
    proof = written_proof(job, b"junk")

    finished = services.complete_job(
        attempt, proof, {"statement": {}}, {"accepted": False, "reason": "bad_magic"}, True
    )

    assert finished.status == Job.Status.FAILED
    assert finished.error_code == "verification_failed"
    assert "bad_magic" in finished.error_message


def test_a_private_output_is_never_stored(job):
    attempt = claim(job).attempt
    proof = written_proof(job, factories.proof_bytes())

    finished = services.complete_job(
        attempt, proof, {"output": [0.25, 0.75]}, {"accepted": True}, output_public=False
    )

    assert finished.status == Job.Status.SUCCEEDED
    assert finished.output is None


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_progress_is_written_at_most_twice_a_second_except_on_a_new_stage():
    writes = []
    clock = FakeClock()
    report = ProgressReporter(lambda s, f: writes.append((s, f)) or True, clock=clock)

    report("commit", 0.1)
    clock.now = 0.2
    report("commit", 0.2)
    report("sumcheck", 0.0)
    clock.now = 0.5
    report("sumcheck", 0.3)
    clock.now = 0.8
    report("sumcheck", 0.6)
    report("sumcheck", 1.0)

    assert writes == [("commit", 0.1), ("sumcheck", 0.0), ("sumcheck", 0.6), ("sumcheck", 1.0)]


def test_progress_stops_the_work_when_the_row_is_no_longer_held():
    report = ProgressReporter(lambda s, f: False)

    with pytest.raises(WorkAbandoned):
        report("sumcheck", 0.5)


def test_progress_stops_the_work_past_its_deadline():
    clock = FakeClock()
    report = ProgressReporter(lambda s, f: True, deadline=10.0, clock=clock)
    report("sumcheck", 0.1)
    clock.now = 11.0

    with pytest.raises(WorkTimedOut):
        report("sumcheck", 0.2)


def test_the_memory_limit_turns_an_oversized_allocation_into_a_memory_error():
    with pytest.raises(MemoryError), memory_limit(64 * 1024 * 1024):
        bytearray(1024 * 1024 * 1024)

    assert len(bytearray(256 * 1024 * 1024)) == 256 * 1024 * 1024


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (SoftTimeLimitExceeded(), "time_limit"),
        (WorkTimedOut("late"), "time_limit"),
        (MemoryError(), "memory_limit"),
        (RuntimeError("boom"), "internal_error"),
    ],
)
def test_failures_are_classified_with_a_stable_code(error, code):
    steps = WorkSteps(
        claim=lambda: None,
        progress=lambda *a: True,
        beat=lambda a: True,
        fail=lambda *a: None,
        soft_time_limit=60,
        memory_limit_mb=512,
    )

    found, message = classify(error, steps)

    assert found == code
    assert message


def test_a_prover_failure_keeps_the_provers_own_message_under_the_works_code():
    inspect = prover_function("inspect", "prover_error")

    with pytest.raises(WorkFailed) as failed:
        inspect(b"junk")

    assert failed.value.code == "prover_error"
    assert "not a VeriML proof file" in failed.value.message


def test_a_prover_function_that_does_not_exist_yet_is_reported_as_unavailable():
    with pytest.raises(ProverUnavailable, match="does not provide no_such_function"):
        prover_function("no_such_function", "prover_error")

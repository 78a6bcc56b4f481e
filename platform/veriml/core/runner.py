"""Runs one claimed piece of background work: claim, heartbeat, limits, failure reporting.

Each task supplies its state changes (:class:`WorkSteps`) and a body that does the work and
records success; this module turns whatever the body raises into a failure with a stable code
and a message for people, and never lets a delivery run work another attempt holds.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from celery import Task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from veriml.core.files import StoredFileError
from veriml.core.work import Attempt, Claim, Claimed
from veriml.core.worker import (
    Heartbeat,
    ProgressReporter,
    ProverUnavailable,
    WorkAbandoned,
    WorkFailed,
    WorkTimedOut,
    device,
    memory_limit,
)
from veriml.core.workspace import Workspace

logger = logging.getLogger(__name__)

MIB = 1024 * 1024


@dataclass(frozen=True)
class WorkSteps:
    claim: Callable[[], Claimed]
    progress: Callable[[Attempt, str, float], bool]
    beat: Callable[[Attempt], bool]
    fail: Callable[[Attempt, str, str], object]
    soft_time_limit: int
    memory_limit_mb: int
    on_end: Callable[[], object] | None = None


Body = Callable[[Attempt, Workspace, ProgressReporter], bool]


def classify(error: BaseException, steps: WorkSteps) -> tuple[str, str]:
    """A failure's code and message."""
    if isinstance(error, WorkFailed):
        return error.code, error.message
    if isinstance(error, SoftTimeLimitExceeded | WorkTimedOut):
        return "time_limit", f"Stopped at the time limit of {steps.soft_time_limit} seconds."
    if isinstance(error, MemoryError):
        return "memory_limit", f"Needed more than the memory limit of {steps.memory_limit_mb} MiB."
    if isinstance(error, StoredFileError):
        return "integrity_error", str(error)
    if isinstance(error, ProverUnavailable):
        return "unavailable", f"Not available: {error}."
    return "internal_error", f"Unexpected {type(error).__name__}: {error}"


def run_work(task: Task, steps: WorkSteps, body: Body) -> str:
    """Claims the row and runs ``body``; the result says what this delivery did.

    ``body`` returns False when its final write found the row no longer held (cancelled or
    taken over). A delivery that finds the row held by a live attempt is retried later.
    """
    claimed = steps.claim()
    if claimed.claim is Claim.BUSY:
        raise task.retry(countdown=settings.WORK_STALE_SECONDS, max_retries=None)
    if claimed.claim is Claim.GAVE_UP:
        if steps.on_end is not None:
            steps.on_end()
        return "gave up"
    if claimed.claim is not Claim.START or claimed.attempt is None:
        return "already ended"
    attempt = claimed.attempt
    reporter = ProgressReporter(
        lambda stage, fraction: steps.progress(attempt, stage, fraction),
        deadline=time.monotonic() + steps.soft_time_limit,
    )
    try:
        with (
            Heartbeat(lambda: steps.beat(attempt), settings.WORK_HEARTBEAT_SECONDS),
            tempfile.TemporaryDirectory(prefix="veriml-work-") as workdir,
            Workspace(Path(workdir)) as workspace,
            memory_limit(steps.memory_limit_mb * MIB, device()),
        ):
            held = body(attempt, workspace, reporter)
    except WorkAbandoned:
        return "abandoned"
    except Exception as error:
        code, message = classify(error, steps)
        if code == "internal_error":
            logger.exception("work on %s failed unexpectedly", attempt.pk)
        else:
            logger.info("work on %s failed: %s: %s", attempt.pk, code, message)
        held = steps.fail(attempt, code, message) is not None
        if held and steps.on_end is not None:
            steps.on_end()
        return "failed" if held else "abandoned"
    if held and steps.on_end is not None:
        steps.on_end()
    return "done" if held else "abandoned"

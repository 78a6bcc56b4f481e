"""The row-level state machine shared by every background task: claim, progress, finish.

A task takes only a row's id. It *claims* the row under ``SELECT … FOR UPDATE``:

- a row that is finished (or cancelled) is left alone, so a message delivered twice proves once;
- a row nobody holds is taken: the attempt count goes up and the attempt gets a fresh token;
- a row another attempt holds is taken over only when that attempt is gone, that is when its
  heartbeat is older than ``WORK_STALE_SECONDS`` or it ran on this host in a process that no
  longer exists (a worker child killed for memory, whose message ``acks_late`` re-delivers);
  otherwise the delivery is told to look again later;
- after ``WORK_MAX_ATTEMPTS`` lost attempts the row fails instead of being taken again.

Every later write names the attempt's token and the running status, so an attempt that was
replaced, or a job cancelled meanwhile, can no longer change the row.
"""

from __future__ import annotations

import enum
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from veriml.core.models import BackgroundWork

Row = TypeVar("Row", bound=BackgroundWork)

WORKER_LOST = "worker_lost"


class Claim(enum.Enum):
    START = "start"
    DONE = "done"
    BUSY = "busy"
    GAVE_UP = "gave_up"


@dataclass(frozen=True)
class Attempt:
    pk: Any
    token: uuid.UUID
    number: int


@dataclass(frozen=True)
class Claimed:
    claim: Claim
    attempt: Attempt | None = None


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _holder_is_gone(worker: str) -> bool:
    """Whether the attempt recorded as ``host:pid`` certainly stopped (same host only)."""
    host, _, pid_text = worker.rpartition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        # This process runs one task at a time (prefork child or solo pool): the holder was an
        # earlier task in this very process, which has ended.
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def claim(
    model: type[Row],
    pk: Any,
    *,
    waiting: str,
    running: str,
    failed: str,
    **on_start: Any,
) -> Claimed:
    """Takes the row for this delivery if it should run now; see the module's docstring."""
    now = timezone.now()
    with transaction.atomic():
        row = model.objects.select_for_update().filter(pk=pk).first()
        if row is None or row.status not in (waiting, running):  # type: ignore[attr-defined]
            return Claimed(Claim.DONE)
        if row.started_at is not None:
            stale_before = now - timedelta(seconds=settings.WORK_STALE_SECONDS)
            stale = row.heartbeat_at is None or row.heartbeat_at < stale_before
            if not stale and not _holder_is_gone(row.worker):
                return Claimed(Claim.BUSY)
            if row.attempts >= settings.WORK_MAX_ATTEMPTS:
                row.status = failed  # type: ignore[attr-defined]
                row.error_code = WORKER_LOST
                row.error_message = (
                    f"The worker running this was lost {row.attempts} times "
                    f"(last on {row.worker or 'an unknown host'}); giving up."
                )
                row.finished_at = now
                row.attempt_token = None
                row.save()
                return Claimed(Claim.GAVE_UP)
        row.attempts += 1
        row.attempt_token = uuid.uuid4()
        row.worker = worker_identity()
        row.status = running  # type: ignore[attr-defined]
        row.started_at = now
        row.heartbeat_at = now
        for name, value in on_start.items():
            setattr(row, name, value)
        row.save()
        return Claimed(Claim.START, Attempt(row.pk, row.attempt_token, row.attempts))


def _live(model: type[Row], attempt: Attempt, running: str) -> Any:
    return model.objects.filter(pk=attempt.pk, attempt_token=attempt.token, status=running)


def record_progress(
    model: type[Row], attempt: Attempt, running: str, stage: str, fraction: float
) -> bool:
    """Writes progress (and a heartbeat); False when the attempt no longer holds the row."""
    now = timezone.now()
    with transaction.atomic():
        updated = _live(model, attempt, running).update(
            progress_stage=stage[:100],
            progress_fraction=min(max(float(fraction), 0.0), 1.0),
            progress_updated_at=now,
            heartbeat_at=now,
        )
    return updated == 1


def beat(model: type[Row], attempt: Attempt, running: str) -> bool:
    with transaction.atomic():
        updated = _live(model, attempt, running).update(heartbeat_at=timezone.now())
    return updated == 1


def finish(
    model: type[Row], attempt: Attempt, running: str, status: str, **fields: Any
) -> Row | None:
    """Ends the attempt with ``status``; None (and no change) when it no longer holds the row."""
    with transaction.atomic():
        row = _live(model, attempt, running).select_for_update().first()
        if row is None:
            return None
        row.status = status  # type: ignore[attr-defined]
        row.finished_at = timezone.now()
        row.attempt_token = None
        for name, value in fields.items():
            setattr(row, name, value)
        row.save()
        return row


def stale_ids(model: type[Row], running: str) -> list[Any]:
    """Rows an attempt holds whose heartbeat stopped: their worker died without the message
    coming back (a hard time limit, a lost broker message). Sending their task again lets
    :func:`claim` take them over or give up on them."""
    stale_before = timezone.now() - timedelta(seconds=settings.WORK_STALE_SECONDS)
    return list(
        model.objects.filter(
            status=running, started_at__isnull=False, heartbeat_at__lt=stale_before
        ).values_list("pk", flat=True)[:1000]
    )

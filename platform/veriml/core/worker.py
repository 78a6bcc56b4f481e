"""What a task needs around a prover call: progress, a heartbeat, limits, the device.

These run inside the Celery worker only; nothing here is imported by the web process.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import resource
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.db import connection

from provers import api as prover_api

logger = logging.getLogger(__name__)

PROGRESS_MIN_INTERVAL_SECONDS = 0.5


class WorkAbandoned(Exception):
    """The row was cancelled or taken over by another attempt: stop without writing to it."""


class WorkTimedOut(Exception):
    """The work passed its soft time limit (seen at a progress report)."""


class ProverUnavailable(Exception):
    """The installed prover does not offer the function this work needs."""


class WorkFailed(Exception):
    """A failure the work recognised, with a stable code and a message for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# Raised through the prover by our own progress callback or by the limits: not the prover's.
_NOT_PROVER_FAILURES = (WorkAbandoned, WorkTimedOut, MemoryError, SoftTimeLimitExceeded)


def _describe(error: Exception) -> str:
    if type(error).__module__.split(".")[0] == "provers" and str(error):
        return str(error)
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def prover_function(name: str, failure_code: str) -> Callable[..., Any]:
    """``provers.api.<name>``, whose failures become :class:`WorkFailed` with ``failure_code``
    and the prover's own message (``CompileError`` names the unsupported op, for example)."""
    function = getattr(prover_api, name, None)
    if function is None:
        raise ProverUnavailable(
            f"the installed prover (version {prover_api.prover_version()}) does not provide "
            f"{name} yet"
        )

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except _NOT_PROVER_FAILURES:
            raise
        except Exception as error:
            raise WorkFailed(failure_code, _describe(error)) from error

    return call


@functools.cache
def device() -> str:
    """``cuda`` when torch sees a GPU, else ``cpu``."""
    try:
        import torch
    except ImportError:
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"


class ProgressReporter:
    """The ``progress(stage, fraction)`` callback handed to the prover.

    Writes at most every ``min_interval`` seconds (a stage change or completion always writes),
    stops the work when the row was cancelled or taken over, and when the soft deadline passed.
    """

    def __init__(
        self,
        write: Callable[[str, float], bool],
        deadline: float | None = None,
        min_interval: float = PROGRESS_MIN_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._write = write
        self._deadline = deadline
        self._min_interval = min_interval
        self._clock = clock
        self._last_stage: str | None = None
        self._last_write = float("-inf")

    def __call__(self, stage: str, fraction: float) -> None:
        now = self._clock()
        if self._deadline is not None and now > self._deadline:
            raise WorkTimedOut(f"passed the time limit during {stage!r}")
        due = now - self._last_write >= self._min_interval
        if not (due or stage != self._last_stage or fraction >= 1.0):
            return
        self._last_stage = stage
        self._last_write = now
        if not self._write(stage, fraction):
            raise WorkAbandoned("the work was cancelled or taken over")


class Heartbeat:
    """A thread that marks the row alive every ``interval`` seconds while the work runs, so a
    re-delivered message can tell a live attempt from a dead one."""

    def __init__(self, beat: Callable[[], bool], interval: float) -> None:
        self._beat = beat
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="veriml-heartbeat", daemon=True)
        self.abandoned = False

    def _run(self) -> None:
        try:
            while not self._stop.wait(self._interval):
                try:
                    if not self._beat():
                        self.abandoned = True
                        return
                except Exception:
                    logger.exception("heartbeat failed; will try again")
        finally:
            # Django opens one connection per thread; this thread's must not leak.
            connection.close()

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self._interval + 5)


def _address_space_bytes() -> int | None:
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


@contextlib.contextmanager
def memory_limit(limit_bytes: int, current_device: str = "cpu") -> Iterator[None]:
    """Lets the process map at most ``limit_bytes`` more address space while the block runs; an
    allocation past it raises ``MemoryError`` instead of the kernel killing the worker.

    Off when ``limit_bytes`` is 0, on CUDA (its driver reserves far more address space than it
    uses) and where ``/proc`` is missing; ``worker_max_memory_per_child`` still applies there.
    """
    in_use = _address_space_bytes()
    if limit_bytes <= 0 or current_device != "cpu" or in_use is None:
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    wanted = in_use + limit_bytes
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    if soft != resource.RLIM_INFINITY:
        wanted = min(wanted, soft)
    resource.setrlimit(resource.RLIMIT_AS, (wanted, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))

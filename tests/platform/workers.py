"""Real Celery worker processes for integration tests: start, wait for, stop."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connections

from compliance.hipaa import keys as phi_keys
from tests.platform.helpers import ROOT, platform_environment
from veriml.celery import QUEUES
from veriml.celery import app as celery_app

WORKER_START_TIMEOUT = 60.0
WORKER_STOP_TIMEOUT = 20.0


@dataclass
class WorkerProcess:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def shared_database_url() -> str | None:
    """The test database as a URL a worker can use, for the databases a worker can share."""
    db = connections["default"].settings_dict
    if db["ENGINE"] != "django.db.backends.postgresql":
        return None
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "localhost"
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{credentials}@{host}{port}/{quote(db['NAME'])}"


def worker_overrides(media_root: Path, **extra: str) -> dict[str, str]:
    """The environment a test worker needs to share this run's database and storage."""
    overrides = {
        "SECRET_KEY": settings.SECRET_KEY,
        "MEDIA_ROOT": str(media_root),
        # Callbacks in tests go to a server on 127.0.0.1.
        "CALLBACK_ALLOW_PRIVATE_NETWORKS": "1",
        # The worker decrypts PHI stored by the tests, under the same master keys.
        "PHI_MASTER_KEYS": phi_keys.configured_text(),
    }
    database_url = shared_database_url()
    if database_url:
        overrides["DATABASE_URL"] = database_url
    overrides.update(extra)
    return overrides


def start_worker(
    log_path: Path,
    overrides: dict[str, str],
    extra_arguments: tuple[str, ...] = (),
    ping: bool = True,
) -> WorkerProcess:
    """Starts ``celery -A veriml worker`` (solo pool, every queue) and waits until it is ready:
    until it answers a ping, or (``ping=False``, for a worker on another broker key prefix than
    this run's, which pings cannot reach) until it logs that it is ready."""
    name = f"veriml-test-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
    command = [
        sys.executable, "-m", "celery", "-A", "veriml", "worker",
        "--hostname", name, "--queues", ",".join(QUEUES), "--pool", "solo",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
        "--loglevel", "info", *extra_arguments,
    ]  # fmt: skip
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=platform_environment(**overrides),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    worker = WorkerProcess(name=name, process=process, log_path=log_path)
    try:
        _wait_for_worker(worker, ping)
    except BaseException:
        stop_worker(worker)
        raise
    return worker


def _is_ready(worker: WorkerProcess, ping: bool) -> bool:
    if ping:
        return bool(celery_app.control.ping(destination=[worker.name], timeout=1.0))
    time.sleep(0.2)
    return f"{worker.name} ready." in worker.log_path.read_text(errors="replace")


def _wait_for_worker(worker: WorkerProcess, ping: bool) -> None:
    deadline = time.monotonic() + WORKER_START_TIMEOUT
    while time.monotonic() < deadline:
        if worker.process.poll() is not None:
            pytest.fail(f"the Celery worker exited at start:\n{worker.log_tail()}")
        if _is_ready(worker, ping):
            return
    pytest.fail(f"the Celery worker did not answer a ping in time:\n{worker.log_tail()}")


def stop_worker(worker: WorkerProcess) -> None:
    if worker.process.poll() is None:
        worker.process.send_signal(signal.SIGTERM)
        try:
            worker.process.wait(timeout=WORKER_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            worker.process.kill()
            worker.process.wait()

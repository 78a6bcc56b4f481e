"""Fixtures for the platform: personas, API keys and a real Celery worker process.

Personas: alice owns "Alice Labs", bob is a member there, charlie owns "Charlie Corp" and is
the outsider every endpoint is checked against.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connections
from rest_framework.test import APIClient

from tests.platform.helpers import ROOT, platform_environment
from veriml.accounts import services
from veriml.accounts.models import Membership, Organisation
from veriml.celery import QUEUES
from veriml.celery import app as celery_app

WORKER_START_TIMEOUT = 60.0
WORKER_STOP_TIMEOUT = 20.0


@pytest.fixture(scope="session")
def media_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One storage folder for the run, shared with the worker process (names never collide)."""
    return tmp_path_factory.mktemp("media")


@pytest.fixture(autouse=True)
def _platform_test_settings(settings, media_root: Path) -> None:
    # Tests talk plain HTTP to the test client; production settings would redirect to HTTPS.
    settings.SECURE_SSL_REDIRECT = False
    settings.MEDIA_ROOT = media_root
    # Request-rate counters live in the cache: each test starts with none.
    cache.clear()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def alice(db) -> User:
    user = User.objects.create_user("alice", "alice@example.com", "alice-password-1")
    organisation, _ = services.get_or_create_organisation("Alice Labs")
    services.add_member(organisation, user, Membership.Role.OWNER)
    return user


@pytest.fixture
def bob(alice: User) -> User:
    user = User.objects.create_user("bob", "bob@example.com", "bob-password-1")
    services.add_member(Organisation.objects.get(name="Alice Labs"), user)
    return user


@pytest.fixture
def charlie(db) -> User:
    user = User.objects.create_user("charlie", "charlie@example.com", "charlie-password-1")
    organisation, _ = services.get_or_create_organisation("Charlie Corp")
    services.add_member(organisation, user, Membership.Role.OWNER)
    return user


@pytest.fixture
def issue_key(db) -> Callable[..., str]:
    """Creates a key for the named organisation and returns the raw key."""

    def issue(
        organisation_name: str,
        scopes: tuple[str, ...] = ("read",),
        expires_at: datetime | None = None,
    ) -> str:
        organisation, _ = services.get_or_create_organisation(organisation_name)
        return services.create_api_key(organisation, "test", scopes, expires_at).raw_key

    return issue


@dataclass
class WorkerProcess:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def _test_database_url() -> str | None:
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


def _wait_for_worker(worker: WorkerProcess) -> None:
    deadline = time.monotonic() + WORKER_START_TIMEOUT
    while time.monotonic() < deadline:
        if worker.process.poll() is not None:
            pytest.fail(f"the Celery worker exited at start:\n{worker.log_tail()}")
        if celery_app.control.ping(destination=[worker.name], timeout=1.0):
            return
    pytest.fail(f"the Celery worker did not answer a ping in time:\n{worker.log_tail()}")


def _stop_worker(worker: WorkerProcess) -> None:
    if worker.process.poll() is None:
        worker.process.send_signal(signal.SIGTERM)
        try:
            worker.process.wait(timeout=WORKER_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            worker.process.kill()
            worker.process.wait()


@pytest.fixture(scope="session")
def celery_worker_process(
    django_db_setup: None, tmp_path_factory: pytest.TempPathFactory, media_root: Path
) -> Iterator[WorkerProcess]:
    """A real ``celery -A veriml worker`` process on the broker this test run is configured for.

    The run's broker is private to it (a Redis key prefix, or an embedded broker folder, chosen
    by ``make test``), so the worker receives only this run's tasks and pings. It shares the
    test database (PostgreSQL) and the storage folder with the tests.
    """
    name = f"veriml-test-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
    log_path = tmp_path_factory.mktemp("celery-worker") / "worker.log"
    overrides = {
        "SECRET_KEY": settings.SECRET_KEY,
        "MEDIA_ROOT": str(media_root),
        # Callbacks in tests go to a server on 127.0.0.1.
        "CALLBACK_ALLOW_PRIVATE_NETWORKS": "1",
    }
    database_url = _test_database_url()
    if database_url:
        overrides["DATABASE_URL"] = database_url
    command = [
        sys.executable, "-m", "celery", "-A", "veriml", "worker",
        "--hostname", name, "--queues", ",".join(QUEUES), "--pool", "solo",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
        "--loglevel", "info",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=platform_environment(**overrides),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    worker = WorkerProcess(name=name, process=process, log_path=log_path)
    try:
        _wait_for_worker(worker)
        yield worker
    finally:
        _stop_worker(worker)


@pytest.fixture
def alice_org(alice: User) -> Organisation:
    return Organisation.objects.get(name="Alice Labs")


@pytest.fixture
def charlie_org(charlie: User) -> Organisation:
    return Organisation.objects.get(name="Charlie Corp")


@pytest.fixture
def worker(request: pytest.FixtureRequest, transactional_db: None) -> WorkerProcess:
    """The real worker, for tests whose rows it must see: committed, in a shared PostgreSQL."""
    if connections["default"].vendor != "postgresql":
        pytest.skip("the worker shares the test database only on PostgreSQL")
    return request.getfixturevalue("celery_worker_process")

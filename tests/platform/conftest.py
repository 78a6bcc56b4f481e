"""Fixtures for the platform: personas, API keys and a real Celery worker process.

Personas: alice owns "Alice Labs", bob is a member there, charlie owns "Charlie Corp" and is
the outsider every endpoint is checked against.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connections
from django.test.utils import override_settings
from rest_framework.test import APIClient

from tests.platform.workers import WorkerProcess, start_worker, stop_worker, worker_overrides
from veriml.accounts import services
from veriml.accounts.models import Membership, Organisation


@pytest.fixture(scope="session")
def media_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One storage folder for the run, shared with the worker process (names never collide)."""
    return tmp_path_factory.mktemp("media")


AUDIT_TABLES = ("audit_log_auditentry", "audit_log_auditcheckpoint")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker) -> None:
    """Transactional tests empty every table with TRUNCATE afterwards, which the audit log's
    trigger refuses: the test database alone lets TRUNCATE through (UPDATE and DELETE stay
    refused; test_audit_log.py switches the TRUNCATE trigger back on where it checks it)."""
    connection = connections["default"]
    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        for table in AUDIT_TABLES:
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {table}_no_truncate")


@pytest.fixture(scope="session", autouse=True)
def _plain_http() -> Iterator[None]:
    """Tests talk plain HTTP; production settings would redirect to HTTPS. Session-wide, because
    a live server builds its middleware, which reads this setting, once."""
    with override_settings(SECURE_SSL_REDIRECT=False):
        yield


@pytest.fixture(autouse=True)
def _platform_test_settings(settings, media_root: Path) -> None:
    settings.MEDIA_ROOT = media_root
    # Test users' passwords need no protection; the production hasher costs ~0.2 s per user.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
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


@pytest.fixture(scope="session")
def celery_worker_process(
    django_db_setup: None, tmp_path_factory: pytest.TempPathFactory, media_root: Path
) -> Iterator[WorkerProcess]:
    """A real ``celery -A veriml worker`` process on the broker this test run is configured for.

    The run's broker is private to it (a Redis key prefix, or an embedded broker folder, chosen
    by ``make test``), so the worker receives only this run's tasks and pings. It shares the
    test database (PostgreSQL) and the storage folder with the tests.
    """
    log_path = tmp_path_factory.mktemp("celery-worker") / "worker.log"
    worker = start_worker(log_path, worker_overrides(media_root))
    try:
        yield worker
    finally:
        stop_worker(worker)


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

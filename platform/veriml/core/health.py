"""Checks behind ``/healthz``: each says whether one component works, and why not."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import connection
from kombu import Connection

from veriml.celery import app as celery_app


@dataclass(frozen=True)
class ComponentHealth:
    ok: bool
    detail: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def check_database() -> ComponentHealth:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:
        return ComponentHealth(False, f"{connection.vendor}: {error}")
    return ComponentHealth(True, f"{connection.vendor} answered")


def _broker_connection() -> Connection:
    # The URL comes from settings at each check, so a check follows what settings say now.
    return celery_app.connection_for_write(url=settings.CELERY_BROKER_URL)


def check_broker() -> ComponentHealth:
    try:
        with _broker_connection() as broker:
            broker.ensure_connection(max_retries=1, interval_start=0, timeout=2)
            broker.default_channel  # noqa: B018 - opening a channel talks to the server
            transport = broker.transport_cls
    except Exception as error:
        return ComponentHealth(False, f"cannot connect: {error}")
    return ComponentHealth(True, f"connected ({transport})")


def check_storage() -> ComponentHealth:
    storage = storages["default"]
    kind = type(storage).__name__
    payload = b"veriml health probe"
    name = f"healthz/probe-{uuid.uuid4().hex}.txt"
    try:
        saved = storage.save(name, ContentFile(payload))
        try:
            with storage.open(saved, "rb") as probe:
                read_back = probe.read()
        finally:
            storage.delete(saved)
    except Exception as error:
        return ComponentHealth(False, f"{kind}: {error}")
    if read_back != payload:
        return ComponentHealth(False, f"{kind}: a probe file read back different bytes")
    return ComponentHealth(True, f"{kind} wrote, read and deleted a file")


def check_worker(broker: ComponentHealth) -> ComponentHealth:
    if not broker.ok:
        # A broadcast to an unreachable broker would retry for a long time.
        return ComponentHealth(False, "not asked: the broker is unreachable")
    try:
        with _broker_connection() as broker_connection:
            replies = celery_app.control.ping(
                timeout=settings.HEALTHZ_WORKER_PING_TIMEOUT,
                limit=1,
                connection=broker_connection,
            )
    except Exception as error:
        return ComponentHealth(False, f"ping failed: {error}")
    if not replies:
        return ComponentHealth(
            False, f"no worker answered within {settings.HEALTHZ_WORKER_PING_TIMEOUT:g}s"
        )
    names = sorted(name for reply in replies for name in reply)
    return ComponentHealth(True, f"answered: {', '.join(names)}")


def check_all() -> dict[str, ComponentHealth]:
    broker = check_broker()
    return {
        "database": check_database(),
        "broker": broker,
        "storage": check_storage(),
        "worker": check_worker(broker),
    }

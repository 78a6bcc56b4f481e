"""``/healthz`` reports the database, the broker, storage and the workers, each with a reason."""

from __future__ import annotations

import pytest

from veriml.celery import app as celery_app

CLOSED_BROKER_URL = "redis://127.0.0.1:1/0"


@pytest.mark.integration
@pytest.mark.django_db
def test_it_reports_200_when_every_component_works(client, celery_worker_process):
    response = client.get("/healthz")

    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert set(body["components"]) == {"database", "broker", "storage", "worker"}
    assert all(component["ok"] for component in body["components"].values())
    assert celery_worker_process.name in body["components"]["worker"]["detail"]


@pytest.mark.django_db
def test_it_reports_503_when_the_broker_is_down(client, settings):
    settings.CELERY_BROKER_URL = CLOSED_BROKER_URL

    response = client.get("/healthz")

    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "unavailable"
    assert body["components"]["broker"]["ok"] is False
    assert "cannot connect" in body["components"]["broker"]["detail"]
    assert body["components"]["worker"]["ok"] is False
    assert body["components"]["database"]["ok"] is True
    assert body["components"]["storage"]["ok"] is True


@pytest.mark.django_db
def test_it_reports_503_when_no_worker_answers(client, monkeypatch):
    monkeypatch.setattr(celery_app.control, "ping", lambda **kwargs: [])

    response = client.get("/healthz")

    worker = response.json()["components"]["worker"]
    assert response.status_code == 503
    assert worker == {"ok": False, "detail": "no worker answered within 2s"}


@pytest.mark.django_db
def test_it_reports_503_when_storage_cannot_write(client, settings, monkeypatch, tmp_path):
    # A path below a regular file cannot be created, whoever the tests run as.
    (tmp_path / "a-file").write_text("")
    settings.MEDIA_ROOT = tmp_path / "a-file" / "media"
    monkeypatch.setattr(celery_app.control, "ping", lambda **kwargs: [{"w@h": "pong"}])

    response = client.get("/healthz")

    storage = response.json()["components"]["storage"]
    assert response.status_code == 503
    assert storage["ok"] is False
    assert "FileSystemStorage" in storage["detail"]


@pytest.mark.django_db
def test_it_answers_without_a_session_or_credentials_and_is_never_cached(client, settings):
    settings.CELERY_BROKER_URL = CLOSED_BROKER_URL

    response = client.get("/healthz")

    assert response.status_code in (200, 503)
    assert "no-cache" in response["Cache-Control"]

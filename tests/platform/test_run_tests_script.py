"""``make test`` picks real services when they answer and falls back only outside CI."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

import pytest

from tests.platform.helpers import ROOT


@pytest.fixture
def run_tests(monkeypatch) -> ModuleType:
    spec = importlib.util.spec_from_file_location("run_tests", ROOT / "scripts" / "run_tests.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "run_tests", module)
    spec.loader.exec_module(module)
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"):
        monkeypatch.delenv(name, raising=False)
    return module


def refuse_connections() -> None:
    raise ConnectionRefusedError("connection refused")


def test_it_uses_postgresql_and_redis_when_they_answer(run_tests, monkeypatch):
    monkeypatch.setattr(run_tests, "probe_postgres", lambda: None)
    monkeypatch.setattr(run_tests, "probe_redis", lambda: None)
    env = run_tests.TestEnvironment()

    run_tests.choose_database(env, ci=True)
    run_tests.choose_broker(env, ci=True)

    assert env.variables["DATABASE_URL"] == "postgres://postgres@127.0.0.1:5432/veriml_test"
    assert env.variables["CELERY_BROKER_URL"] == "redis://127.0.0.1:6379/1"
    assert env.variables["CELERY_REDIS_KEY_PREFIX"].startswith("veriml-test-")
    assert env.messages[0].startswith("Using PostgreSQL at 127.0.0.1:5432")
    assert env.messages[1].startswith("Using Redis at 127.0.0.1:6379")


def test_it_falls_back_to_sqlite_and_the_embedded_broker_and_says_so(run_tests, monkeypatch):
    monkeypatch.setattr(run_tests, "probe_postgres", refuse_connections)
    monkeypatch.setattr(run_tests, "probe_redis", refuse_connections)
    env = run_tests.TestEnvironment()

    run_tests.choose_database(env, ci=False)
    run_tests.choose_broker(env, ci=False)

    assert "DATABASE_URL" not in env.variables
    assert "CELERY_BROKER_URL" not in env.variables
    assert "falling back to SQLite" in env.messages[0]
    assert "falling back to the embedded broker" in env.messages[1]
    for path in env.temporary_dirs:
        path.rmdir()


def test_a_missing_service_is_an_error_in_ci(run_tests, monkeypatch, capsys):
    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr(run_tests, "probe_postgres", refuse_connections)
    monkeypatch.setattr(run_tests, "probe_redis", lambda: None)

    assert run_tests.main([]) == run_tests.EXIT_MISSING_SERVICE
    assert "PostgreSQL is not reachable" in capsys.readouterr().out

"""Settings load from the environment, with safe defaults when DEBUG is off."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.platform.helpers import ROOT, platform_environment
from veriml.env import env_bool, env_int, env_list, env_secret, parse_database_url

# Variables the settings read, cleared so the host's environment cannot leak into a case.
SETTINGS_VARIABLES = [
    "DEBUG", "SECRET_KEY", "SECRET_KEY_FILE", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS",
    "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD", "TRUST_X_FORWARDED_PROTO", "STORAGE_BACKEND", "JOB_TIME_LIMIT",
    "JOB_SOFT_TIME_LIMIT", "CELERY_VISIBILITY_TIMEOUT", "CELERY_UNACKED_RESTORE_SECONDS",
    "LOG_LEVEL",
]  # fmt: skip

SQLITE = "django.db.backends.sqlite3"
STRONG_SECRET = "k3y-" + "f7Q9zX2mL8pR4tW6yB1nC5vD0sH3jK7gA9eU2iO4" * 2

PRINT_SETTINGS = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({
    "DEBUG": s.DEBUG,
    "SECRET_KEY": s.SECRET_KEY,
    "ALLOWED_HOSTS": s.ALLOWED_HOSTS,
    "SECURE_SSL_REDIRECT": s.SECURE_SSL_REDIRECT,
    "SECURE_HSTS_SECONDS": s.SECURE_HSTS_SECONDS,
    "SESSION_COOKIE_SECURE": s.SESSION_COOKIE_SECURE,
    "CSRF_COOKIE_SECURE": s.CSRF_COOKIE_SECURE,
}))
"""


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = platform_environment()
    for name in SETTINGS_VARIABLES:
        base.pop(name, None)
    base.update(env)
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
    )


def load_settings(**env: str) -> dict[str, object]:
    completed = run_python(PRINT_SETTINGS, **env)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def test_it_loads_development_settings_with_debug_on_and_no_secret():
    loaded = load_settings(DEBUG="1")
    assert loaded["DEBUG"] is True
    assert loaded["SECURE_SSL_REDIRECT"] is False
    assert loaded["SESSION_COOKIE_SECURE"] is False
    assert "127.0.0.1" in loaded["ALLOWED_HOSTS"]


def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off():
    completed = run_python("import django; django.setup()", DEBUG="0")
    assert completed.returncode != 0
    assert "ImproperlyConfigured" in completed.stderr
    assert "SECRET_KEY" in completed.stderr


def test_it_uses_secure_defaults_when_debug_is_off():
    loaded = load_settings(SECRET_KEY=STRONG_SECRET, ALLOWED_HOSTS="veriml.example.com")
    assert loaded["DEBUG"] is False
    assert loaded["SECRET_KEY"] == STRONG_SECRET
    assert loaded["ALLOWED_HOSTS"] == ["veriml.example.com"]
    assert loaded["SECURE_SSL_REDIRECT"] is True
    assert loaded["SECURE_HSTS_SECONDS"] >= 31_536_000
    assert loaded["SESSION_COOKIE_SECURE"] is True
    assert loaded["CSRF_COOKIE_SECURE"] is True


def test_it_reads_the_secret_key_from_a_file(tmp_path: Path):
    secret_file = tmp_path / "secret_key"
    secret_file.write_text(STRONG_SECRET + "\n")
    loaded = load_settings(SECRET_KEY_FILE=str(secret_file))
    assert loaded["SECRET_KEY"] == STRONG_SECRET


def test_it_refuses_a_visibility_timeout_shorter_than_the_longest_job():
    completed = run_python(
        "import django; django.setup()",
        DEBUG="1",
        JOB_TIME_LIMIT="7200",
        CELERY_VISIBILITY_TIMEOUT="3600",
    )
    assert completed.returncode != 0
    assert "CELERY_VISIBILITY_TIMEOUT" in completed.stderr


def test_it_refuses_a_sweep_interval_that_is_not_positive():
    completed = run_python(
        "import django; django.setup()", DEBUG="1", CELERY_UNACKED_RESTORE_SECONDS="0"
    )
    assert completed.returncode != 0
    assert "CELERY_UNACKED_RESTORE_SECONDS" in completed.stderr


def test_it_passes_the_deployment_checklist_when_debug_is_off():
    completed = run_python(
        "import sys; sys.argv = ['manage.py', 'check', '--deploy'];"
        "from django.core.management import execute_from_command_line;"
        "execute_from_command_line(sys.argv)",
        SECRET_KEY=STRONG_SECRET,
        ALLOWED_HOSTS="veriml.example.com",
    )
    assert completed.returncode == 0, completed.stderr
    output = completed.stdout + completed.stderr
    # Only the reminder about HSTS preloading, an opt-in commitment, may remain.
    warnings = [line for line in output.splitlines() if line.startswith("?: (")]
    assert all("security.W021" in line for line in warnings), output


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgres://user:p%40ss@db.example.com:5433/veriml?sslmode=require",
            {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": "veriml",
                "USER": "user",
                "PASSWORD": "p@ss",
                "HOST": "db.example.com",
                "PORT": "5433",
                "OPTIONS": {"sslmode": "require"},
            },
        ),
        (
            "postgresql://postgres@127.0.0.1/veriml_test",
            {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": "veriml_test",
                "USER": "postgres",
                "PASSWORD": "",
                "HOST": "127.0.0.1",
                "PORT": "",
                "OPTIONS": {},
            },
        ),
        ("sqlite:///var/db.sqlite3", {"ENGINE": SQLITE, "NAME": "/base/var/db.sqlite3"}),
        ("sqlite:////srv/db.sqlite3", {"ENGINE": SQLITE, "NAME": "/srv/db.sqlite3"}),
        ("sqlite://:memory:", {"ENGINE": SQLITE, "NAME": ":memory:"}),
    ],
)  # fmt: skip
def test_it_parses_database_urls(url: str, expected: dict[str, object]):
    assert parse_database_url(url, Path("/base")) == expected


def test_it_rejects_unknown_database_schemes_and_urls_without_a_database():
    with pytest.raises(ImproperlyConfigured, match="not supported"):
        parse_database_url("mysql://root@localhost/veriml", Path("/base"))
    with pytest.raises(ImproperlyConfigured, match="must name a database"):
        parse_database_url("postgres://localhost", Path("/base"))


def test_the_typed_helpers_parse_and_reject_values(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("VERIML_TEST_BOOL", "yes")
    monkeypatch.setenv("VERIML_TEST_INT", "42")
    monkeypatch.setenv("VERIML_TEST_LIST", " a, b ,,c ")
    assert env_bool("VERIML_TEST_BOOL") is True
    assert env_bool("VERIML_TEST_UNSET", default=True) is True
    assert env_int("VERIML_TEST_INT", 1) == 42
    assert env_list("VERIML_TEST_LIST") == ["a", "b", "c"]

    monkeypatch.setenv("VERIML_TEST_BOOL", "maybe")
    with pytest.raises(ImproperlyConfigured, match="boolean"):
        env_bool("VERIML_TEST_BOOL")
    monkeypatch.setenv("VERIML_TEST_INT", "4.5")
    with pytest.raises(ImproperlyConfigured, match="integer"):
        env_int("VERIML_TEST_INT", 1)

    secret_file = tmp_path / "token"
    secret_file.write_text("s3cret\n")
    monkeypatch.setenv("VERIML_TEST_TOKEN_FILE", str(secret_file))
    assert env_secret("VERIML_TEST_TOKEN") == "s3cret"
    monkeypatch.setenv("VERIML_TEST_TOKEN", "direct")
    with pytest.raises(ImproperlyConfigured, match="not both"):
        env_secret("VERIML_TEST_TOKEN")

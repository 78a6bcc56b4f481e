"""Pick the database and broker for a test run, say which, then run pytest.

Used by ``make test``. PostgreSQL (127.0.0.1:5432, user postgres) and Redis (127.0.0.1:6379)
are used when they answer; otherwise the run falls back to SQLite and the embedded broker and
says so, except under ``CI=true``, where a missing service is an error. ``DATABASE_URL`` or
``CELERY_BROKER_URL`` already set in the environment are used as they are.

Arguments are passed to pytest. Exit status 5 from pytest ("no tests ran") counts as success.
``--browser`` runs the browser tests instead, after installing Debian's ``chromium`` when
/usr/bin/chromium is missing (an install failure is an error under ``CI=true``, and a loud skip
otherwise).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

POSTGRES_HOST = "127.0.0.1"
POSTGRES_PORT = 5432
POSTGRES_USER = "postgres"
POSTGRES_DATABASE = "veriml_test"
REDIS_HOST = "127.0.0.1"
REDIS_PORT = 6379
# Database 1 keeps test keys apart from a development server on database 0; the per-run key
# prefix keeps concurrent test runs apart from each other.
REDIS_DATABASE = 1

PYTEST_NO_TESTS_COLLECTED = 5
EXIT_MISSING_SERVICE = 3
EXIT_MISSING_BROWSER = 4
CHROMIUM = Path("/usr/bin/chromium")
BROWSER_ARGUMENTS = ["-m", "browser", "tests/browser"]


class ServiceMissing(Exception):
    pass


@dataclass
class TestEnvironment:
    variables: dict[str, str] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
    temporary_dirs: list[Path] = field(default_factory=list)
    redis_key_prefix: str | None = None


def probe_postgres() -> None:
    """Connects, and creates the base database pytest-django derives ``test_<name>`` from."""
    import psycopg2

    connection = psycopg2.connect(
        host=POSTGRES_HOST,
        port=POSTGRES_PORT,
        user=POSTGRES_USER,
        dbname="postgres",
        connect_timeout=3,
    )
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [POSTGRES_DATABASE])
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{POSTGRES_DATABASE}"')
    finally:
        connection.close()


def probe_redis() -> None:
    import redis

    client = redis.Redis(
        host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DATABASE, socket_connect_timeout=3
    )
    try:
        client.ping()
    finally:
        client.close()


def choose_database(env: TestEnvironment, ci: bool) -> None:
    if os.environ.get("DATABASE_URL"):
        env.messages.append("Using the database in DATABASE_URL (set in the environment)")
        return
    where = f"{POSTGRES_HOST}:{POSTGRES_PORT}"
    try:
        probe_postgres()
    except Exception as error:
        reason = f"PostgreSQL is not reachable at {where} ({_first_line(error)})"
        if ci:
            raise ServiceMissing(reason) from None
        env.messages.append(f"{reason}: falling back to SQLite (in-memory test database)")
        return
    env.variables["DATABASE_URL"] = f"postgres://{POSTGRES_USER}@{where}/{POSTGRES_DATABASE}"
    env.messages.append(
        f"Using PostgreSQL at {where} (tests run in database test_{POSTGRES_DATABASE})"
    )


def choose_broker(env: TestEnvironment, ci: bool) -> None:
    if os.environ.get("CELERY_BROKER_URL"):
        env.messages.append("Using the broker in CELERY_BROKER_URL (set in the environment)")
        return
    where = f"{REDIS_HOST}:{REDIS_PORT}"
    try:
        probe_redis()
    except Exception as error:
        reason = f"Redis is not reachable at {where} ({_first_line(error)})"
        if ci:
            raise ServiceMissing(reason) from None
        broker_dir = Path(tempfile.mkdtemp(prefix="veriml-test-broker-"))
        env.temporary_dirs.append(broker_dir)
        env.variables["EMBEDDED_BROKER_DIR"] = str(broker_dir)
        env.variables.setdefault(
            "CELERY_RESULT_BACKEND", f"db+sqlite:///{broker_dir / 'results.sqlite3'}"
        )
        env.messages.append(f"{reason}: falling back to the embedded broker in {broker_dir}")
        return
    url = f"redis://{where}/{REDIS_DATABASE}"
    prefix = f"veriml-test-{uuid.uuid4().hex[:12]}:"
    env.redis_key_prefix = prefix
    env.variables["CELERY_BROKER_URL"] = url
    env.variables["CELERY_REDIS_KEY_PREFIX"] = prefix
    if not os.environ.get("CELERY_RESULT_BACKEND"):
        env.variables["CELERY_RESULT_BACKEND"] = url
    env.messages.append(f"Using Redis at {where}, database {REDIS_DATABASE} (key prefix {prefix})")


def remove_redis_keys(prefix: str) -> None:
    import redis

    client = redis.Redis(
        host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DATABASE, socket_connect_timeout=3
    )
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=500))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]


def _apt_get(*arguments: str) -> bool:
    command = ["apt-get", *arguments]
    print(f"$ {' '.join(command)}", flush=True)
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        return subprocess.run(command, env=environment).returncode == 0
    except OSError as error:
        print(f"apt-get could not run: {_first_line(error)}")
        return False


def ensure_chromium() -> bool:
    """Debian's chromium, which the browser tests drive; installed when missing."""
    if CHROMIUM.exists():
        return True
    print(f"The browser tests need Debian's chromium and {CHROMIUM} is missing: installing it.")
    if not _apt_get("install", "-y", "chromium"):
        # A fresh container has no package lists yet.
        _apt_get("update") and _apt_get("install", "-y", "chromium")
    return CHROMIUM.exists()


def run_pytest(variables: dict[str, str], arguments: list[str]) -> int:
    process_env = {**os.environ, **variables}
    completed = subprocess.run([sys.executable, "-m", "pytest", *arguments], env=process_env)
    if completed.returncode == PYTEST_NO_TESTS_COLLECTED:
        print("pytest collected no tests; that is not a failure.")
        return 0
    return completed.returncode


def main(arguments: list[str]) -> int:
    ci = os.environ.get("CI", "").strip().lower() == "true"
    if "--browser" in arguments:
        # `make test` runs the browser tests (marked `browser`, left out of the default run) here.
        arguments = [argument for argument in arguments if argument != "--browser"]
        if not ensure_chromium():
            banner = "!" * 78
            if ci:
                print(f"error: CI=true and chromium could not be installed at {CHROMIUM}.")
                return EXIT_MISSING_BROWSER
            print(
                f"{banner}\nBROWSER TESTS SKIPPED: chromium could not be installed at {CHROMIUM}."
                f"\n{banner}"
            )
            return 0
        arguments = [*BROWSER_ARGUMENTS, *arguments]
    env = TestEnvironment()
    try:
        choose_database(env, ci)
        choose_broker(env, ci)
    except ServiceMissing as missing:
        print(f"error: CI=true and {missing}; CI must test against the real service.")
        return EXIT_MISSING_SERVICE
    for message in env.messages:
        print(message)
    sys.stdout.flush()
    try:
        return run_pytest(env.variables, arguments)
    finally:
        if env.redis_key_prefix:
            try:
                remove_redis_keys(env.redis_key_prefix)
            except Exception as error:
                print(f"warning: could not remove test keys from Redis: {_first_line(error)}")
        for path in env.temporary_dirs:
            shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main(sys.argv[1:]))

"""Run VeriML on one machine: the development web server and a separate Celery worker (with the
periodic-task scheduler embedded).

Used by ``make run``. Migrates the database, creates the demo organisation once, then starts
both processes and keeps them running until Ctrl-C (SIGINT) or SIGTERM, which it passes on to
each of them before waiting for them to exit. If either process dies, the other is stopped too.

With nothing configured this uses SQLite and the embedded broker under ``var/``;
``DATABASE_URL`` and ``CELERY_BROKER_URL`` switch to PostgreSQL and Redis.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from compliance.policy.regions import REGIONAL_QUEUES  # noqa: E402

ADDRESS = "127.0.0.1:8000"
QUEUES = ",".join(("default", "compile", "prove", "verify", *REGIONAL_QUEUES))
STOP_GRACE_SECONDS = 30


def local_environment() -> dict[str, str]:
    env = dict(os.environ)
    env["DEBUG"] = "1"
    env.setdefault("SECRET_KEY", "local-development-only-secret-key-not-for-production")
    env["DJANGO_SETTINGS_MODULE"] = "veriml.settings"
    env["PYTHONUNBUFFERED"] = "1"
    paths = [str(ROOT / "platform"), str(ROOT)]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def describe_services(env: dict[str, str]) -> list[str]:
    database = env.get("DATABASE_URL")
    broker = env.get("CELERY_BROKER_URL")
    return [
        f"Database: {without_password(database)}" if database else "Database: SQLite (var/)",
        f"Broker:   {without_password(broker)}" if broker else "Broker:   embedded (var/broker/)",
    ]


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=env, cwd=ROOT, check=True)


class Supervisor:
    """Starts the children in their own process groups, so that only this process gets the
    terminal's Ctrl-C and every child is asked to stop exactly once."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.web: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.stop_requested = False
        self.stopping = False

    def start(self) -> None:
        self.web = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "runserver", ADDRESS],
            env=self.env,
            cwd=ROOT,
            start_new_session=True,
        )
        self.worker = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "veriml", "worker",
                "-Q", QUEUES, "--concurrency", "1", "--hostname", "veriml-local@%h",
                "--loglevel", "info",
                # The embedded scheduler runs the periodic tasks (stale-job recovery, signed
                # audit-log checkpoints) that a production deployment gives to its beat service.
                "--beat", "--schedule", str(ROOT / "var" / "celerybeat-schedule"),
            ],
            env=self.env,
            cwd=ROOT,
            start_new_session=True,
        )  # fmt: skip

    def children(self) -> list[subprocess.Popen[bytes]]:
        return [child for child in (self.web, self.worker) if child is not None]

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.stopping:
            say("Stopping now.")
            self.kill_all()
        self.stop_requested = True

    def wait(self) -> int:
        while not self.stop_requested:
            for child in self.children():
                code = child.poll()
                if code is not None:
                    say(f"A process exited with status {code}; stopping the other.")
                    self.stop()
                    return code or 1
            time.sleep(0.3)
        self.stop()
        return 0

    def stop(self) -> None:
        self.stopping = True
        say("Stopping the web server and the worker (Ctrl-C again to force)...")
        if self.web is not None and self.web.poll() is None:
            # The autoreloader runs the server in a child process: signal the whole group.
            _signal_group(self.web, signal.SIGINT)
        if self.worker is not None and self.worker.poll() is None:
            # SIGTERM is Celery's warm shutdown: finish the current task, then exit.
            self.worker.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in self.children():
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=max(0.0, deadline - time.monotonic()))
        self.kill_all()
        say("Stopped.")

    def kill_all(self) -> None:
        for child in self.children():
            if child.poll() is None:
                _signal_group(child, signal.SIGKILL)
                child.wait()


def say(message: str) -> None:
    """Print, but never fail: the terminal or a pipe reading our output may be gone already,
    and the children must still be stopped."""
    with contextlib.suppress(OSError, ValueError):
        print(f"\n{message}", flush=True)


def _signal_group(child: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signum)


def main() -> int:
    env = local_environment()
    (ROOT / "var").mkdir(exist_ok=True)
    for line in describe_services(env):
        print(line)
    manage(env, "migrate", "--noinput", "--verbosity", "0")
    manage(env, "bootstrap_demo")

    supervisor = Supervisor(env)
    # Handlers are installed before the children start, so they begin with default handling.
    signal.signal(signal.SIGINT, supervisor.on_signal)
    signal.signal(signal.SIGTERM, supervisor.on_signal)
    supervisor.start()
    try:
        say(
            f"VeriML: http://{ADDRESS}/  (API http://{ADDRESS}/api/v1/, "
            f"docs http://{ADDRESS}/api/docs/, health http://{ADDRESS}/healthz)\n"
            "Press Ctrl-C to stop.\n"
        )
        return supervisor.wait()
    finally:
        # Whatever went wrong here, leave no server or worker running behind.
        supervisor.kill_all()


if __name__ == "__main__":
    sys.exit(main())

"""Helpers for tests that start processes importing the Django project."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[2]
PLATFORM_DIR = ROOT / "platform"


def platform_environment(**overrides: str) -> dict[str, str]:
    """The environment for a child process that imports the Django project."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(PLATFORM_DIR), str(ROOT)])
    env["DJANGO_SETTINGS_MODULE"] = "veriml.settings"
    env.update(overrides)
    return env


def bearer(key: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def wait_until(
    condition: Callable[[], T | None], timeout: float = 30.0, interval: float = 0.1
) -> T:
    """Polls ``condition`` until it returns something truthy; fails the test on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout:g}s waiting for {condition}")
        time.sleep(interval)

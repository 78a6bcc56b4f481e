"""Helpers for tests that start processes importing the Django project."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLATFORM_DIR = ROOT / "platform"


def platform_environment(**overrides: str) -> dict[str, str]:
    """The environment for a child process that imports the Django project."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(PLATFORM_DIR), str(ROOT)])
    env["DJANGO_SETTINGS_MODULE"] = "veriml.settings"
    env.update(overrides)
    return env

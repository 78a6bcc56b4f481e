"""Small tasks that show a worker is alive and what it runs on."""

from __future__ import annotations

import platform

from celery import shared_task


@shared_task(name="veriml.core.ping")
def ping() -> str:
    return "pong"


@shared_task(name="veriml.core.platform_system")
def platform_system() -> str:
    """The worker's ``platform.system()``: proves the stdlib module is not shadowed there."""
    return platform.system()

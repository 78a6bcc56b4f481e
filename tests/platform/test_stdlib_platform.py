"""``platform/`` holds the Django project but must never shadow the standard library's module."""

from __future__ import annotations

import platform
import sysconfig
from pathlib import Path

import pytest

from veriml.core.tasks import platform_system


def test_platform_is_the_standard_library_module_in_the_test_process():
    assert platform.system()
    stdlib = Path(sysconfig.get_paths()["stdlib"]).resolve()
    assert Path(platform.__file__).resolve().parent == stdlib


@pytest.mark.integration
def test_platform_is_the_standard_library_module_in_a_celery_worker(celery_worker_process):
    result = platform_system.delay()
    assert result.get(timeout=30) == platform.system()

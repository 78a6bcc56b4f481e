"""ASGI entry point: ``uvicorn veriml.asgi:application`` with ``platform/`` on the path."""

import os
import sys
from pathlib import Path

_PLATFORM_DIR = str(Path(__file__).resolve().parent.parent)
if _PLATFORM_DIR not in sys.path:
    sys.path.insert(0, _PLATFORM_DIR)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "veriml.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

application = get_asgi_application()

"""The Celery application, configured from Django settings (the ``CELERY_*`` names).

Workers start with ``celery -A veriml worker -Q default,compile,prove,verify,prove.eu,...`` with
``platform/`` on ``PYTHONPATH``. Jobs are long and must survive a worker crash, so messages are
acknowledged only after a task finishes (``acks_late``), a worker holds one message at a time,
and a job's task is idempotent: it takes IDs only and re-checks the job's state under a row lock.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from celery import Celery
from kombu import Queue

from compliance.policy.regions import REGIONAL_QUEUES

_PLATFORM_DIR = str(Path(__file__).resolve().parent.parent)
if _PLATFORM_DIR not in sys.path:
    sys.path.insert(0, _PLATFORM_DIR)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "veriml.settings")

# A job of an organisation in region R goes to "prove.R" (compliance/policy routes it); every
# worker consumes every regional queue unless its deployment narrows them.
QUEUES = ("default", "compile", "prove", "verify", *REGIONAL_QUEUES)

app = Celery("veriml")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    worker_cancel_long_running_tasks_on_connection_loss=True,
    broker_connection_retry_on_startup=True,
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    result_accept_content=["json"],
    result_extended=True,
    result_expires=7 * 24 * 3600,
    task_track_started=True,
    task_default_queue="default",
    task_queues=[Queue(name, routing_key=name) for name in QUEUES],
    # Tasks say their kind of work in their name: ``compile_model``, ``prove_inference``...
    task_routes={
        "*.compile_*": {"queue": "compile"},
        "*.prove_*": {"queue": "prove"},
        "*.verify_*": {"queue": "verify"},
    },
)
app.autodiscover_tasks()


@app.on_after_configure.connect
def _create_local_folders(sender: Celery, **kwargs: Any) -> None:
    """The embedded broker and the SQLite result store need their folders to exist."""
    if sender.conf.broker_url.startswith("filesystem://"):
        options = sender.conf.broker_transport_options
        for key in ("data_folder_in", "data_folder_out", "control_folder"):
            Path(options[key]).mkdir(parents=True, exist_ok=True)
    backend = str(sender.conf.result_backend or "")
    if backend.startswith("db+sqlite:///"):
        Path(backend.removeprefix("db+sqlite:///")).parent.mkdir(parents=True, exist_ok=True)

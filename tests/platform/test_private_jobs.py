"""Private inference jobs end to end: a real model compiled and proved by the real worker over
the real broker, each privacy toggle in both states, and every place a private value could reach
searched for it — API responses, the dashboard, job rows, the audit and policy logs, the web and
worker logs, broker messages (as published and as left in Redis) and the proof's bytes.

The input rows are distinctive floats, searched for as text and, once quantised, as the int8
bytes a proof would carry them in and as JSON numbers; the output is searched for the same way.
In the public state the same search finds what the proof states (the control)."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import numpy as np
import pytest
from celery.signals import before_task_publish
from django.conf import settings
from django.test import Client
from kombu.serialization import dumps

from compliance.audit_log.models import AuditEntry
from compliance.policy.models import PolicyDecision
from provers import api as prover_api
from tests.platform import factories
from tests.platform.helpers import bearer
from tests.platform.test_end_to_end import calibration_npz, ended, tiny_mlp_pt2
from veriml.core.files import read_checked
from veriml.proving.models import Job
from veriml.proving.serializers import JobSerializer
from veriml.registry.models import PRIVACY_PARTS, RegisteredModel

pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(300),
]

# Two input rows (a batch of two inferences) of values no response, log or proof may show when
# the input is private.
MARKED_ROWS = (
    (1.9283746, -2.5647382, 0.8372615, -1.3928475, 2.7465193, -0.4657281, 1.1029384, -2.0394857),
    (-1.7382910, 2.3847561, -0.6192837, 1.5647382, -2.8374651, 0.3928174, -1.2039485, 2.1938475),
)
TOGGLES = [
    pytest.param({"input": "public"}, [], id="input-public"),
    pytest.param({"input": "private"}, ["input"], id="input-private"),
    pytest.param({"output": "public"}, [], id="output-public"),
    pytest.param({"output": "private"}, ["output"], id="output-private"),
    pytest.param({"input": "private", "output": "private"}, ["input", "output"], id="both-private"),
]


def marked_input() -> bytes:
    import torch

    buffer = io.BytesIO()
    torch.save(torch.tensor(MARKED_ROWS, dtype=torch.float32), buffer)
    return buffer.getvalue()


def quantised_values(model: RegisteredModel, folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """The int8 input rows the prover sees and the int8 output rows it proves."""
    from provers.circuit import executor
    from provers.compiler import quantise_input

    path = folder / "model.vmc"
    path.write_bytes(read_checked(model.compiled))
    committed = prover_api.load_compiled_model(path)
    inputs = quantise_input(committed.model, np.array(MARKED_ROWS))
    return inputs, executor.run(committed.model, inputs)


def text_forms(rows: np.ndarray) -> list[str]:
    """Each row as JSON or Python would print it, whitespace removed."""
    return [json.dumps(row, separators=(",", ":")) for row in np.asarray(rows).tolist()]


def float_forms() -> list[str]:
    """The leading digits of each input float, as any log or JSON would print it."""
    return [f"{abs(value):.7f}"[:7] for row in MARKED_ROWS for value in row]


def found_in_text(texts: dict[str, str], forms: list[str]) -> list[str]:
    """Where any of ``forms`` appears, whatever the whitespace (indented JSON, HTML)."""
    squeezed = {where: "".join(text.split()) for where, text in texts.items()}
    return sorted({where for where, text in squeezed.items() for form in forms if form in text})


def found_in_bytes(data: bytes, rows: np.ndarray) -> bool:
    return any(row.astype(np.int8).tobytes() in data for row in np.asarray(rows))


def redis_text(task_ids: list[str]) -> str:
    """What this run's keys in Redis hold now: queues, unacknowledged messages, results."""
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        return ""
    import redis

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    prefix = settings.CELERY_REDIS_KEY_PREFIX or ""
    keys = list(client.scan_iter(match=f"{prefix}*", count=500)) if prefix else []
    keys += [f"celery-task-meta-{task_id}".encode() for task_id in task_ids]
    parts = []
    for key in keys:
        kind = client.type(key).decode()
        value = {
            "string": lambda key=key: client.get(key),
            "list": lambda key=key: client.lrange(key, 0, -1),
            "hash": lambda key=key: client.hgetall(key),
            "set": lambda key=key: client.smembers(key),
            "zset": lambda key=key: client.zrange(key, 0, -1),
        }.get(kind, lambda: b"")()
        parts.append(repr(value))
    client.close()
    return "\n".join(parts)


def register_model(api_client, key, privacy: dict[str, str]) -> RegisteredModel:
    response = api_client.post(
        "/api/v1/models/",
        {
            "name": "tiny-mlp",
            "file": factories.upload("tiny.pt2", tiny_mlp_pt2()),
            "calibration": factories.upload("calibration.npz", calibration_npz()),
            "privacy": json.dumps(privacy),
        },
        format="multipart",
        **bearer(key),
    )
    assert response.status_code == 201, response.json()
    model = ended(RegisteredModel, response.json()["id"])
    assert model.status == RegisteredModel.Status.READY, model.error_message
    return model


@pytest.fixture
def alice_key(alice, issue_key):
    return issue_key("Alice Labs", scopes=("read", "submit"))


@pytest.fixture
def published():
    """Each message this process sends, serialized as the broker receives it (body, headers)."""
    messages: list[dict] = []

    def capture(sender=None, body=None, headers=None, **_):
        _, _, payload = dumps(body, serializer="json")
        text = payload.decode() if isinstance(payload, bytes) else payload
        messages.append(
            {
                "id": (headers or {}).get("id"),
                "args": json.loads(text)[0],
                "serialized": text + json.dumps(headers, default=str),
            }
        )

    before_task_publish.connect(capture, weak=False)
    yield messages
    before_task_publish.disconnect(capture)


@pytest.mark.parametrize(("toggles", "private"), TOGGLES)
def test_each_privacy_toggle_proves_verifies_and_shows_no_private_value(
    worker,
    api_client,
    alice,
    alice_key,
    toggles,
    private,
    published,
    caplog,
    tmp_path,
):
    caplog.set_level(logging.DEBUG)
    worker_log_start = worker.log_path.stat().st_size
    model = register_model(api_client, alice_key, toggles)
    assert model.support["private_parts"] == ["input", "output"]
    assert model.support["private_reason"] == ""

    created = api_client.post(
        "/api/v1/jobs/",
        {
            "kind": "inference",
            "model": str(model.pk),
            "input": factories.upload("x.pt", marked_input()),
            # The worker calls back with the job's summary (JobSerializer, searched below).
            "callback_url": "http://127.0.0.1:9/hook",
        },
        format="multipart",
        **bearer(alice_key),
    )
    assert created.status_code == 201, created.json()
    job = ended(Job, created.json()["id"])
    assert job.status == Job.Status.SUCCEEDED, job.error_message
    detail = api_client.get(f"/api/v1/jobs/{job.pk}/", **bearer(alice_key)).json()
    listed = api_client.get("/api/v1/jobs/", **bearer(alice_key)).json()
    proof = api_client.get(f"/api/v1/jobs/{job.pk}/proof", **bearer(alice_key)).content
    verdict = api_client.post(
        "/api/v1/verify",
        {"proof": factories.upload("p.vmp", proof), "model_digest": model.digest},
    ).json()
    dashboard = Client()
    dashboard.force_login(alice)
    job_page = dashboard.get(f"/jobs/{job.pk}/").content.decode()
    jobs_page = dashboard.get("/jobs/").content.decode()

    # The job ran in the privacy it was asked for, and its proof verifies through the API.
    assert detail["private_parts"] == private
    # A private input's hash would confirm a guessed input: neither the API nor the log has it.
    assert (detail["input_sha256"] is None) == ("input" in private)
    created_entry = AuditEntry.objects.get(action="job.created", target_id=str(job.pk))
    assert (created_entry.details["input_sha256"] is None) == ("input" in private)
    assert detail["privacy"] == {p: "private" if p in private else "public" for p in PRIVACY_PARTS}
    assert verdict["accepted"] is True and detail["verification"]["accepted"] is True
    assert verdict["statement"].get("private", []) == private
    assert verdict["statement"]["model_digest"] == model.digest
    job.refresh_from_db()
    assert job.statement["nonce"] == verdict["statement"]["nonce"]
    if private:
        assert "Kept private by zero knowledge" in job_page

    inputs, outputs = quantised_values(model, tmp_path)
    worker_log = worker.log_path.read_bytes()[worker_log_start:].decode(errors="replace")
    task_ids = [message["id"] for message in published]
    texts = {
        "create response": json.dumps(created.json()),
        "job detail": json.dumps(detail),
        "job list": json.dumps(listed),
        "verification": json.dumps(verdict),
        "callback summary": json.dumps(dict(JobSerializer(job).data), default=str),
        "job page": job_page,
        "jobs page": jobs_page,
        "job row": json.dumps(list(Job.objects.filter(pk=job.pk).values()), default=str),
        "audit log": json.dumps(list(AuditEntry.objects.values("details")), default=str),
        "policy log": json.dumps(list(PolicyDecision.objects.values()), default=str),
        "web log": caplog.text,
        "worker log": worker_log,
        "broker messages": "".join(message["serialized"] for message in published),
        "redis": redis_text(task_ids),
    }
    # Tasks take ids only: the model's compile, the job's proof.
    assert sorted(message["args"] for message in published) == sorted(
        [[str(model.pk)], [str(job.pk)]]
    )

    # Input floats appear nowhere (the platform never shows an input), whatever the toggle.
    assert found_in_text(texts, float_forms()) == []
    assert found_in_text(texts, text_forms(inputs)) == []
    if "input" in private:
        assert not found_in_bytes(proof, inputs)
    else:
        assert found_in_bytes(proof, inputs), "control: a public input is in the proof"
    if "output" in private:
        assert detail["output"] is None and detail["statement"]["output"] is None
        assert found_in_text(texts, text_forms(outputs)) == []
        assert not found_in_bytes(proof, outputs)
    else:
        assert detail["output"] == outputs.tolist() == verdict["statement"]["output"]
        shown = {"job detail", "job list", "verification", "callback summary", "job page"}
        assert shown | {"job row"} <= set(found_in_text(texts, text_forms(outputs))), "control"
        assert found_in_bytes(proof, outputs), "control: a public output is in the proof"

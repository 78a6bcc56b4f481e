"""Many clients at once against a live server: the right jobs, each run once by the worker.

Two hundred job requests go out from sixteen threads over HTTP: some without an
``Idempotency-Key``, some whose key is sent twice with the same request (both copies race each
other), some whose key is sent twice with different inputs. Every job that should exist exists
once, every repeat answers with it, each job runs exactly once in the real worker, and no
request leaves an input file behind that no job uses.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pytest
import requests
from django.core.files.storage import storages

from tests.platform import factories
from tests.platform.helpers import wait_until
from veriml.core.models import StoredFile
from veriml.proving.models import Job

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

CLIENTS = 16
REPEATED_KEYS = 70
CONFLICTING_KEYS = 10
WITHOUT_KEY = 40
RESULT_LINE = re.compile(
    r"Task veriml\.proving\.tasks\.prove_inference\[[0-9a-f-]+\] succeeded in [0-9.]+s: "
    r"'(?P<outcome>[a-z ]+)'"
)


@dataclass(frozen=True)
class Submission:
    key: str | None
    input_value: float


@dataclass(frozen=True)
class Answer:
    submission: Submission
    status: int
    job_id: str | None
    error_code: str | None


def submissions() -> list[Submission]:
    """Two hundred requests; the two copies of a key are next to each other, so they race."""
    planned = []
    for index in range(REPEATED_KEYS):
        planned += [Submission(f"repeat-{index}", float(index))] * 2
    for index in range(CONFLICTING_KEYS):
        planned += [Submission(f"conflict-{index}", 1.0), Submission(f"conflict-{index}", 2.0)]
    planned += [Submission(None, float(index)) for index in range(WITHOUT_KEY)]
    return planned


def submit(session: requests.Session, url: str, model_id: str, submission: Submission) -> Answer:
    headers = {"Idempotency-Key": submission.key} if submission.key else {}
    data = factories.npz_bytes(x=np.full((1, 3), submission.input_value, dtype=np.float32))
    response = session.post(
        f"{url}/api/v1/jobs/",
        data={"kind": "inference", "model": model_id},
        files={"input": ("input.npz", data, "application/octet-stream")},
        headers=headers,
        timeout=30,
    )
    body = response.json()
    error_code = (body.get("error") or {}).get("code")
    return Answer(submission, response.status_code, body.get("id"), error_code)


def worker_outcomes(log_text: str) -> Counter[str]:
    return Counter(found["outcome"] for found in RESULT_LINE.finditer(log_text))


def test_concurrent_clients_create_exactly_the_expected_jobs_and_each_runs_once(
    live_server, worker, alice_org, issue_key
):
    model = factories.ready_model(alice_org)
    keys = [issue_key("Alice Labs", scopes=("read", "submit")) for _ in range(4)]
    log_start = len(worker.log_path.read_text(errors="replace"))
    planned = submissions()
    sessions = [requests.Session() for _ in keys]
    for session, key in zip(sessions, keys, strict=True):
        session.headers["Authorization"] = f"Bearer {key}"

    started = time.monotonic()
    try:
        with ThreadPoolExecutor(CLIENTS) as pool:
            answers = list(
                pool.map(
                    lambda pair: submit(
                        sessions[pair[0] % len(sessions)], live_server.url, str(model.pk), pair[1]
                    ),
                    enumerate(planned),
                )
            )
    finally:
        # Kept-alive connections hold server threads, and their database connections, open.
        for session in sessions:
            session.close()
    submit_seconds = time.monotonic() - started

    expected_jobs = REPEATED_KEYS + CONFLICTING_KEYS + WITHOUT_KEY
    by_key: dict[str | None, list[Answer]] = {}
    for answer in answers:
        by_key.setdefault(answer.submission.key, []).append(answer)
    assert len(answers) == 200
    assert submit_seconds < 30
    assert Counter(answer.status for answer in answers) == {
        201: expected_jobs,
        200: REPEATED_KEYS,
        409: CONFLICTING_KEYS,
    }
    for index in range(REPEATED_KEYS):
        pair = by_key[f"repeat-{index}"]
        assert sorted(answer.status for answer in pair) == [200, 201]
        assert pair[0].job_id == pair[1].job_id
    for index in range(CONFLICTING_KEYS):
        pair = by_key[f"conflict-{index}"]
        assert sorted(answer.status for answer in pair) == [201, 409]
        assert {answer.error_code for answer in pair} == {None, "idempotency_conflict"}
    created = {answer.job_id for answer in answers if answer.status == 201}
    assert len(created) == expected_jobs
    assert {str(pk) for pk in Job.objects.values_list("pk", flat=True)} == created

    ended = wait_until(
        lambda: not Job.objects.filter(status__in=["queued", "running"]).exists(), timeout=120
    )
    outcomes = wait_until(
        lambda: (
            found
            if sum((found := worker_outcomes(worker.log_path.read_text()[log_start:])).values())
            >= expected_jobs
            else None
        ),
        timeout=60,
    )
    assert ended
    assert set(Job.objects.values_list("attempts", flat=True)) == {1}
    assert outcomes == {"failed": expected_jobs}, outcomes
    inputs = StoredFile.objects.filter(storage_name__startswith=f"inputs/{alice_org.pk}/")
    assert inputs.count() == expected_jobs
    assert set(inputs.values_list("pk", flat=True)) == set(
        Job.objects.values_list("input_id", flat=True)
    )
    _, stored = storages["default"].listdir(f"inputs/{alice_org.pk}")
    assert len(stored) == expected_jobs

"""A real model through the platform: upload, compile, prove, download, verify.

These need the compiler and prover entry points of ``provers.api``; until they land, the tests
are skipped with that reason.
"""

from __future__ import annotations

import io

import numpy as np
import pytest

from provers import api as prover_api
from tests.platform import factories
from tests.platform.helpers import bearer, wait_until
from veriml.proving.models import Job
from veriml.registry.models import RegisteredModel

pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(300),
    pytest.mark.skipif(
        not all(hasattr(prover_api, name) for name in ("compile_model", "prove_inference")),
        reason="provers.api has no compile_model/prove_inference yet",
    ),
]

needs_audit = pytest.mark.skipif(
    not all(hasattr(prover_api, name) for name in ("commit_dataset", "prove_audit")),
    reason="provers.api has no commit_dataset/prove_audit yet",
)

TIMEOUT = 240
FEATURES = 8


def tiny_mlp_pt2() -> bytes:
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(FEATURES, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4)
    ).eval()
    exported = torch.export.export(model, (torch.randn(1, FEATURES),))
    buffer = io.BytesIO()
    torch.export.save(exported, buffer)
    return buffer.getvalue()


def calibration_npz() -> bytes:
    rng = np.random.default_rng(1)
    return factories.npz_bytes(inputs=rng.standard_normal((32, FEATURES)).astype(np.float32))


def input_pt() -> bytes:
    import torch

    buffer = io.BytesIO()
    torch.save(torch.randn(1, FEATURES, generator=torch.Generator().manual_seed(2)), buffer)
    return buffer.getvalue()


def ended(model_class, pk):
    def check():
        row = model_class.objects.get(pk=pk)
        return row if row.status not in ("queued", "running", "compiling", "validating") else None

    return wait_until(check, timeout=TIMEOUT, interval=0.25)


@pytest.fixture
def key(alice, issue_key):
    return issue_key("Alice Labs", scopes=("read", "submit"))


def register(api_client, key, privacy="{}"):
    response = api_client.post(
        "/api/v1/models/",
        {
            "name": "tiny-mlp",
            "file": factories.upload("tiny.pt2", tiny_mlp_pt2()),
            "calibration": factories.upload("calibration.npz", calibration_npz()),
            "privacy": privacy,
        },
        format="multipart",
        **bearer(key),
    )
    assert response.status_code == 201, response.json()
    return ended(RegisteredModel, response.json()["id"])


def test_a_registered_model_compiles_to_a_ready_model_with_its_report(worker, api_client, key):
    model = register(api_client, key)

    body = api_client.get(f"/api/v1/models/{model.pk}/", **bearer(key)).json()
    assert body["status"] == "ready", body["error"]
    assert body["digest"]
    assert body["parameters"] == FEATURES * 16 + 16 + 16 * 4 + 4
    assert 0.0 <= body["fidelity"]["top1_agreement"] <= 1.0
    assert body["estimate"]["prove_seconds"] > 0
    # The compile report says which parts its inference proofs can hide (an MLP: both).
    assert body["support"]["private_parts"] == ["input", "output"]
    assert body["support"]["private_reason"] == ""
    assert body["files"]["compiled"]["sha256"]


def test_an_inference_job_proves_verifies_and_its_proof_downloads(worker, api_client, key):
    model = register(api_client, key)

    created = api_client.post(
        "/api/v1/jobs/",
        {
            "kind": "inference",
            "model": str(model.pk),
            "input": factories.upload("x.pt", input_pt()),
        },
        format="multipart",
        **bearer(key),
    )
    job = ended(Job, created.json()["id"])
    body = api_client.get(f"/api/v1/jobs/{job.pk}/", **bearer(key)).json()
    proof = api_client.get(f"/api/v1/jobs/{job.pk}/proof", **bearer(key)).content
    verdict = api_client.post(
        "/api/v1/verify",
        {"proof": factories.upload("p.vmp", proof), "model_digest": model.digest},
    ).json()

    assert created.status_code == 201
    assert body["status"] == "succeeded", body["error"]
    assert body["verification"]["accepted"] is True
    assert body["progress"]["fraction"] == 1.0
    assert body["output"] is not None
    assert verdict["accepted"] is True
    assert verdict["statement"] == body["statement"]


def test_delivering_a_proving_job_twice_makes_one_proof(worker, api_client, key):
    from veriml.proving.tasks import prove_inference

    model = register(api_client, key)
    created = api_client.post(
        "/api/v1/jobs/",
        {
            "kind": "inference",
            "model": str(model.pk),
            "input": factories.upload("x.pt", input_pt()),
        },
        format="multipart",
        **bearer(key),
    ).json()

    again = prove_inference.delay(created["id"]).get(timeout=TIMEOUT)
    job = ended(Job, created["id"])

    assert again in ("already ended", "done")
    assert job.status == Job.Status.SUCCEEDED
    assert job.attempts == 1


def test_a_private_weights_job_on_an_openly_committed_model_is_refused_clearly(
    worker, api_client, key
):
    # Weights are hidden only by a commitment made at registration: a job that asks to hide
    # the weights of a model registered with public weights is refused at submission with a
    # clear reason rather than publish them (tests/platform/test_private_weights_jobs.py proves
    # with hidden ones).
    model = register(api_client, key, privacy='{"output": "private"}')

    created = api_client.post(
        "/api/v1/jobs/",
        {
            "kind": "inference",
            "model": str(model.pk),
            "input": factories.upload("x.pt", input_pt()),
            "privacy": '{"weights": "private"}',
        },
        format="multipart",
        **bearer(key),
    )

    assert created.status_code == 422
    error = created.json()["error"]
    assert error["code"] == "zero_knowledge_unavailable"
    assert "cannot keep weights private" in error["message"]
    assert (
        "inference proofs of MLPs and CNNs can keep their input and output private"
        in error["message"]
    )
    assert "register a new version with private weights" in error["message"]
    assert error["details"]["refused_parts"] == ["weights"]
    assert error["details"]["hideable_parts"] == ["input", "output"]
    assert not Job.objects.filter(model=model).exists()


def test_a_hostile_model_archive_fails_to_compile_with_a_clear_error(
    worker, api_client, key, tmp_path
):
    marker = tmp_path / "the-pickle-ran"
    hostile = factories.hostile_pt2(marker)

    response = api_client.post(
        "/api/v1/models/",
        {
            "name": "hostile",
            "file": factories.upload("hostile.pt2", hostile),
            "calibration": factories.upload("calibration.npz", calibration_npz()),
        },
        format="multipart",
        **bearer(key),
    )
    model = ended(RegisteredModel, response.json()["id"])

    assert model.status == RegisteredModel.Status.FAILED
    assert model.error_code == "compile_error"
    assert "allowlist" in model.error_message
    assert not marker.exists()


@needs_audit
def test_an_audit_job_proves_accuracy_on_a_test_set(worker, api_client, key):
    from veriml.registry.models import Dataset

    model = register(api_client, key)
    rng = np.random.default_rng(3)
    data = factories.npz_bytes(
        inputs=rng.standard_normal((16, FEATURES)).astype(np.float32),
        labels=rng.integers(0, 4, 16),
    )
    dataset_id = api_client.post(
        "/api/v1/datasets/",
        {"name": "holdout", "file": factories.upload("holdout.npz", data)},
        format="multipart",
        **bearer(key),
    ).json()["id"]
    assert ended(Dataset, dataset_id).status == Dataset.Status.READY

    created = api_client.post(
        "/api/v1/jobs/",
        {"kind": "audit", "model": str(model.pk), "dataset": dataset_id},
        format="json",
        **bearer(key),
    )
    job = ended(Job, created.json()["id"])

    assert job.status == Job.Status.SUCCEEDED, job.error_message
    assert job.verification["accepted"] is True

"""Accuracy audits with private test inputs end to end: a breast-cancer classifier trained here,
registered, and audited on the bundled test set by the real worker over the real broker, for an
organisation that handles PHI (its inputs are always private).

The job commits the test set hiding, afresh for each job, proves over it, and keeps the
committed set (``.vdc``) encrypted; the proof verifies through the API and proves the integer
executor's counts. The test inputs are searched for everywhere they could reach — as floats
(pairs of neighbouring values, as any printing of a row would show them), as quantised JSON
rows, as int8 bytes, as the field elements the hiding commitment holds and as the uploaded
float32 bytes — in the responses, reports, job rows, the audit, policy and PHI access logs, the
web and worker logs, broker messages, the run's Redis keys, every stored file of the
organisation and the proof. The control: a public audit's stored files hold them.
"""

from __future__ import annotations

import io
import json
import logging
import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.test import Client

from compliance.audit_log.models import AuditEntry
from compliance.hipaa.models import EncryptedFile, PHIAccess
from compliance.policy.models import PolicyDecision
from provers import api as prover_api
from provers.field import base
from tests.platform import factories
from tests.platform.helpers import bearer
from tests.platform.test_end_to_end import ended
from tests.platform.test_private_jobs import (
    found_in_bytes,
    found_in_text,
    published,  # noqa: F401 (a fixture: broker_messages asks for it)
    redis_text,
    text_forms,
)
from tests.platform.test_reports import pdf_text
from veriml.core.files import read_checked
from veriml.core.models import StoredFile
from veriml.proving.models import Job
from veriml.registry.models import Dataset, RegisteredModel

pytestmark = [
    pytest.mark.integration,
]

TRAIN_SAMPLES = 340
HIDDEN = 16
# Neighbouring numbers at most this many characters apart count as printed side by side.
PAIR_GAP = 8
NUMBER = re.compile(r"\d+\.\d+")


@lru_cache(maxsize=1)
def breast_cancer() -> tuple[bytes, np.ndarray, np.ndarray, np.ndarray]:
    """An MLP trained here on scikit-learn's bundled breast-cancer data (as ``.pt2``), its
    calibration rows and the held-out test rows and labels."""
    import torch
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    raw = data.data.astype(np.float32)
    standard = ((raw - raw.mean(axis=0)) / raw.std(axis=0)).astype(np.float32)
    order = np.random.default_rng(0).permutation(len(standard))
    train, test = order[:TRAIN_SAMPLES], order[TRAIN_SAMPLES:]
    torch.manual_seed(0)
    features = standard.shape[1]
    module = torch.nn.Sequential(
        torch.nn.Linear(features, HIDDEN), torch.nn.ReLU(), torch.nn.Linear(HIDDEN, 2)
    )
    optimiser = torch.optim.Adam(module.parameters(), lr=1e-2)
    inputs = torch.from_numpy(standard[train])
    targets = torch.from_numpy(data.target[train].astype(np.int64))
    for _ in range(200):
        optimiser.zero_grad()
        torch.nn.functional.cross_entropy(module(inputs), targets).backward()
        optimiser.step()
    buffer = io.BytesIO()
    torch.export.save(torch.export.export(module.eval(), (torch.randn(2, features),)), buffer)
    labels = data.target[test].astype(np.int64)
    return buffer.getvalue(), standard[train], standard[test], labels


def tiny_cnn_pt2() -> bytes:
    import torch

    torch.manual_seed(0)
    module = torch.nn.Sequential(
        torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(32, 3)
    ).eval()
    buffer = io.BytesIO()
    torch.export.save(torch.export.export(module, (torch.randn(1, 1, 6, 6),)), buffer)
    return buffer.getvalue()


def tiny_gelu_pt2() -> bytes:
    """A classifier with a GELU, which the private mode has no relation for yet."""
    import torch

    torch.manual_seed(0)
    module = torch.nn.Sequential(
        torch.nn.Linear(36, 8), torch.nn.GELU(), torch.nn.Linear(8, 3)
    ).eval()
    buffer = io.BytesIO()
    torch.export.save(torch.export.export(module, (torch.randn(1, 36),)), buffer)
    return buffer.getvalue()


def register(api_client, key, name: str, pt2: bytes, calibration: np.ndarray) -> RegisteredModel:
    response = api_client.post(
        "/api/v1/models/",
        {
            "name": name,
            "file": factories.upload(f"{name}.pt2", pt2),
            "calibration": factories.upload(
                "calibration.npz", factories.npz_bytes(inputs=calibration)
            ),
        },
        format="multipart",
        **bearer(key),
    )
    assert response.status_code == 201, response.json()
    model = ended(RegisteredModel, response.json()["id"])
    assert model.status == RegisteredModel.Status.READY, model.error_message
    return model


def upload_test_set(api_client, key, inputs: np.ndarray, labels: np.ndarray) -> Dataset:
    response = api_client.post(
        "/api/v1/datasets/",
        {
            "name": "patients",
            "file": factories.upload(
                "patients.npz", factories.npz_bytes(inputs=inputs, labels=labels)
            ),
        },
        format="multipart",
        **bearer(key),
    )
    assert response.status_code == 201, response.json()
    dataset = ended(Dataset, response.json()["id"])
    assert dataset.status == Dataset.Status.READY, dataset.error_message
    return dataset


def request_audit(api_client, key, model: RegisteredModel, dataset: Dataset):
    return api_client.post(
        "/api/v1/jobs/",
        {"kind": "audit", "model": str(model.pk), "dataset": str(dataset.pk)},
        format="json",
        **bearer(key),
    )


def integer_counts(model: RegisteredModel, inputs: np.ndarray, labels: np.ndarray, folder: Path):
    """The quantised test rows, and the integer executor's correct count and per-class rows."""
    from provers.circuit import executor
    from provers.compiler import quantise_input

    path = folder / "model.vmc"
    path.write_bytes(read_checked(model.compiled))
    compiled = prover_api.load_compiled_model(path).model
    quantised = np.asarray(quantise_input(compiled, inputs), dtype=np.int64)
    predicted = np.argmax(executor.run(compiled, quantised), axis=1)
    classes = [
        {
            "label": label,
            "total": int((labels == label).sum()),
            "correct": int(((labels == label) & (predicted == label)).sum()),
        }
        for label in range(2)
    ]
    return quantised, int((predicted == labels).sum()), classes


def _five_decimals(value: float) -> str:
    return f"{abs(value):.7f}"[:7]


def float_pairs(rows: np.ndarray) -> set[tuple[str, str]]:
    """Each pair of neighbouring values of each row, by the leading digits any printing of the
    values (float32 or float64, JSON, CSV, an array) starts with; values too small to be
    distinctive at five decimals are left out."""
    pairs = set()
    for row in np.asarray(rows, dtype=np.float64):
        for left, right in zip(row[:-1], row[1:], strict=True):
            if min(abs(left), abs(right)) >= 0.01:
                pairs.add((_five_decimals(left), _five_decimals(right)))
    return pairs


def floats_found_in(texts: dict[str, str], pairs: set[tuple[str, str]]) -> list[str]:
    """Where two neighbouring numbers of the text are a pair of ``pairs``."""
    found = set()
    for where, text in texts.items():
        numbers = list(NUMBER.finditer(text))
        for left, right in zip(numbers, numbers[1:], strict=False):
            near = right.start() - left.end() <= PAIR_GAP
            key = (_five_decimals(float(left.group())), _five_decimals(float(right.group())))
            if near and key in pairs:
                found.add(where)
    return sorted(found)


def field_rows(rows: np.ndarray) -> list[bytes]:
    """The leading values of each quantised row as 32-bit field elements (how a hiding
    commitment's file holds them)."""
    return [(np.asarray(row) % base.P).astype("<u4").tobytes()[:24] for row in rows]


def float32_rows(rows: np.ndarray) -> list[bytes]:
    return [np.asarray(row, dtype=np.float32).tobytes()[:24] for row in rows]


def stored_bytes(organisation_id: int) -> dict[str, bytes]:
    """Every file the organisation has in storage, as storage holds it."""
    return {
        stored.storage_name: Path(settings.MEDIA_ROOT, stored.storage_name).read_bytes()
        for stored in StoredFile.objects.filter(organisation_id=organisation_id)
        if Path(settings.MEDIA_ROOT, stored.storage_name).is_file()
    }


def holding(files: dict[str, bytes], forms: list[bytes]) -> list[str]:
    return sorted(name for name, data in files.items() if any(form in data for form in forms))


def handles_phi(organisation) -> None:
    organisation.handles_phi = True
    organisation.save(update_fields=["handles_phi"])


@pytest.fixture
def alice_key(alice, issue_key):
    return issue_key("Alice Labs", scopes=("read", "submit"))


@pytest.fixture
def broker_messages(request) -> list[dict]:
    """Each task message this process publishes, as the broker receives it."""
    return request.getfixturevalue("published")


@pytest.mark.timeout(240)
def test_a_phi_organisations_audit_proves_its_accuracy_with_the_test_inputs_private(
    worker, api_client, alice_org, alice_key, broker_messages, caplog, tmp_path
):
    caplog.set_level(logging.DEBUG)
    worker_log_start = worker.log_path.stat().st_size
    handles_phi(alice_org)
    pt2, calibration, test_x, test_y = breast_cancer()
    model = register(api_client, alice_key, "oncology", pt2, calibration)
    # The prover, asked when the model was compiled, can hide the inputs of its audits.
    assert model.support["audit_private_parts"] == ["input"]
    assert 1 < model.support["audit_min_samples"] <= len(test_y)
    dataset = upload_test_set(api_client, alice_key, test_x, test_y)

    # Two audits of the same test set: each commits it afresh, hiding, for its proof alone.
    created = [request_audit(api_client, alice_key, model, dataset) for _ in range(2)]
    assert [response.status_code for response in created] == [201, 201], created[0].json()
    jobs = [ended(Job, response.json()["id"]) for response in created]
    assert [job.status for job in jobs] == ["succeeded"] * 2, [j.error_message for j in jobs]
    job = jobs[0]
    detail = api_client.get(f"/api/v1/jobs/{job.pk}/", **bearer(alice_key)).json()
    listed = api_client.get("/api/v1/jobs/", **bearer(alice_key)).json()
    proof = api_client.get(f"/api/v1/jobs/{job.pk}/proof", **bearer(alice_key)).content
    verdicts = {
        digest: api_client.post(
            "/api/v1/verify",
            {
                "proof": factories.upload("p.vmp", proof),
                "model_digest": model.digest,
                "dataset_digest": digest,
            },
        ).json()
        for digest in (job.dataset_digest, jobs[1].dataset_digest)
    }
    verdict = verdicts[job.dataset_digest]
    report = api_client.get(f"/api/v1/jobs/{job.pk}/report.json", **bearer(alice_key)).json()
    pdf = pdf_text(api_client.get(f"/api/v1/jobs/{job.pk}/report.pdf", **bearer(alice_key)).content)

    # Private by the organisation's PHI minimum, proved in zero knowledge, verified by the API
    # against the digest the job recorded (and not against the other job's).
    assert detail["private_parts"] == ["input"] and detail["privacy"]["input"] == "private"
    assert verdict["accepted"] is True and verdict["protocol"] == "private_audit"
    assert verdict["statement"]["private_input"] is True
    assert verdicts[jobs[1].dataset_digest]["reason"] == "wrong_dataset"
    assert len({j.dataset_digest for j in jobs}) == 2
    assert len({j.dataset_commitment.sha256 for j in jobs}) == 2
    # The proven counts are the integer executor's.
    quantised, correct, classes = integer_counts(model, test_x, test_y, tmp_path)
    audit = detail["audit"]
    assert audit["dataset_digest"] == detail["dataset_digest"] == job.dataset_digest
    assert audit["dataset_digest"] == verdict["statement"]["dataset_digest"]
    assert (audit["n"], audit["correct"], audit["classes"]) == (len(test_y), correct, classes)
    assert audit["accuracy"] == correct / len(test_y) and audit["private_input"] is True
    assert verdict["statement"]["correct"] == correct
    # The report says the inputs were private and names the commitment's digest.
    assert report["dataset"]["inputs"] == "private" and report["privacy"]["private_input"]
    assert report["dataset"]["digest"] == job.dataset_digest
    assert report["accuracy"]["correct"] == correct
    assert "Private: hidden by zero knowledge" in pdf
    assert job.dataset_digest in "".join(pdf.split())

    # The committed test set is kept encrypted under the organisation's data key.
    kept = {j.pk: j.dataset_commitment for j in jobs}
    assert EncryptedFile.objects.filter(stored_file__in=kept.values()).count() == 2
    files = stored_bytes(alice_org.pk)
    forms = field_rows(quantised) + float32_rows(test_x)
    assert holding(files, forms) == []
    assert not any(found_in_bytes(data, quantised) for data in files.values())
    # The control: its plaintext holds the test rows, as field elements.
    assert holding({"plaintext": read_checked(kept[job.pk])}, field_rows(quantised))
    assert PHIAccess.objects.filter(what_type="dataset commitment").exists()

    worker_log = worker.log_path.read_bytes()[worker_log_start:].decode(errors="replace")
    texts = {
        "create responses": json.dumps([response.json() for response in created]),
        "job detail": json.dumps(detail),
        "job list": json.dumps(listed),
        "verifications": json.dumps(verdicts),
        "report": json.dumps(report),
        "report pdf": pdf,
        "job rows": json.dumps(list(Job.objects.values()), default=str),
        "audit log": json.dumps(list(AuditEntry.objects.values("details")), default=str),
        "policy log": json.dumps(list(PolicyDecision.objects.values()), default=str),
        "phi access log": json.dumps(list(PHIAccess.objects.values()), default=str),
        "web log": caplog.text,
        "worker log": worker_log,
        "broker messages": "".join(message["serialized"] for message in broker_messages),
        "redis": redis_text([message["id"] for message in broker_messages]),
    }
    # Tasks take ids only: the compile, the validation and the two audits.
    assert sorted(message["args"] for message in broker_messages) == sorted(
        [[str(model.pk)], [str(dataset.pk)], *[[str(j.pk)] for j in jobs]]
    )
    assert floats_found_in(texts, float_pairs(test_x)) == []
    assert found_in_text(texts, text_forms(quantised)) == []
    assert not found_in_bytes(proof, quantised)
    assert not any(form in proof for form in forms)
    # The search finds the values wherever they are printed.
    printed = {"json": json.dumps(test_x[:2].tolist()), "array": str(test_x[:2])}
    assert floats_found_in(printed, float_pairs(test_x)) == ["array", "json"]


@pytest.mark.timeout(180)
def test_a_public_audits_committed_test_set_holds_the_inputs_a_private_one_hides(
    worker, api_client, charlie_org, issue_key, tmp_path
):
    key = issue_key("Charlie Corp", scopes=("read", "submit"))
    pt2, calibration, test_x, test_y = breast_cancer()
    model = register(api_client, key, "oncology", pt2, calibration)
    dataset = upload_test_set(api_client, key, test_x, test_y)

    response = request_audit(api_client, key, model, dataset)
    job = ended(Job, response.json()["id"])

    assert job.status == Job.Status.SUCCEEDED, job.error_message
    detail = api_client.get(f"/api/v1/jobs/{job.pk}/", **bearer(key)).json()
    quantised, correct, classes = integer_counts(model, test_x, test_y, tmp_path)
    assert detail["private_parts"] == [] and detail["audit"]["private_input"] is False
    assert (detail["audit"]["correct"], detail["audit"]["classes"]) == (correct, classes)
    assert detail["audit"]["dataset_digest"] == job.dataset_digest
    assert job.verification["protocol"] == "audit"
    files = stored_bytes(charlie_org.pk)
    commitment = files[job.dataset_commitment.storage_name]
    assert found_in_bytes(commitment, quantised), "control: a public .vdc holds the int8 rows"
    assert not EncryptedFile.objects.filter(stored_file=job.dataset_commitment).exists()
    assert holding(files, float32_rows(test_x)) == [job.dataset.file.storage_name]


@pytest.mark.timeout(120)
def test_an_audit_on_a_model_whose_proofs_cannot_hide_inputs_is_refused_with_the_reason(
    worker, api_client, alice_org, alice_key
):
    handles_phi(alice_org)
    calibration = np.random.default_rng(1).standard_normal((8, 36)).astype(np.float32)
    cnn = register(api_client, alice_key, "lesions", tiny_gelu_pt2(), calibration)
    dataset = factories.ready_dataset(alice_org)

    response = request_audit(api_client, alice_key, cnn, dataset)

    reason = cnn.support["audit_private_reason"]
    assert cnn.support["audit_private_parts"] == [] and "is table" in reason
    error = response.json()["error"]
    assert response.status_code == 422 and error["code"] == "zero_knowledge_unavailable"
    assert "cannot keep input private in this audit job" in error["message"]
    assert "the minimum of Alice Labs (it handles PHI)" in error["message"]
    assert f"Model lesions v1 is not covered: {reason}." in error["message"]
    assert "audits of MLP and CNN classifiers their test inputs" in error["message"]
    assert error["details"]["private_reason"] == reason
    assert not Job.objects.exists()
    [decision] = PolicyDecision.objects.filter(action="prove")
    assert decision.decision == "deny" and decision.reason == error["message"]


def test_the_job_page_says_a_private_audits_inputs_were_hidden_and_names_the_commitment(
    alice, alice_org
):
    from tests.platform.test_dashboard import AUDIT_STATEMENT

    digest = "c7" * 32
    statement = {**AUDIT_STATEMENT, "dataset_digest": digest, "private_input": True}
    job = factories.succeeded_job(
        alice_org,
        kind=Job.Kind.AUDIT,
        input=None,
        statement=statement,
        private_parts=["input"],
        dataset_digest=digest,
    )
    client = Client()
    client.force_login(alice)

    page = client.get(f"/jobs/{job.pk}/").content.decode()

    assert "Test inputs kept private by zero knowledge" in page and digest in page
    assert f"--dataset {digest}" in page


def test_erasing_a_jobs_files_or_its_test_set_erases_the_committed_test_sets_made_from_it(
    alice_org, django_capture_on_commit_callbacks
):
    from compliance.hipaa import services as hipaa
    from veriml.core.files import store_bytes

    dataset = factories.ready_dataset(alice_org)
    first, second = (
        factories.succeeded_job(
            alice_org,
            kind=Job.Kind.AUDIT,
            input=None,
            dataset=dataset,
            dataset_commitment=store_bytes(alice_org, "commitments", b"VDC%d" % n, "j.vdc"),
        )
        for n in range(2)
    )
    kept = [first.dataset_commitment, second.dataset_commitment]

    with django_capture_on_commit_callbacks(execute=True):
        hipaa.erase_job_files(first, "user:1", "the patient asked")
        hipaa.erase_dataset(dataset, "user:1", "the patients asked")

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.dataset_commitment is None and second.dataset_commitment is None
    assert not StoredFile.objects.filter(pk__in=[stored.pk for stored in kept]).exists()
    assert not any(Path(settings.MEDIA_ROOT, stored.storage_name).exists() for stored in kept)
    tombstone = AuditEntry.objects.get(action="job.files_erased")
    assert tombstone.details["dataset_commitment_sha256"] == kept[0].sha256


def test_the_audit_result_and_the_commitment_digest_are_in_the_openapi_schema(api_client):
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    components = schema["components"]["schemas"]

    job = components["Job"]["properties"]
    result = components[job["audit"]["allOf"][0]["$ref"].rsplit("/", 1)[-1]]
    assert {"dataset_digest", "private_input", "n", "correct", "classes"} <= set(
        result["properties"]
    )
    assert "hiding commitment" in result["properties"]["dataset_digest"]["description"]
    assert "dataset_digest" in job and "verified proof" in job["audit"]["description"]
    verify = components["VerifyRequestRequest"]["properties"]
    assert "dataset_digest" in verify
    refusal = schema["paths"]["/api/v1/jobs/"]["post"]["responses"]["422"]["description"]
    assert "audits of MLP and CNN classifiers their test inputs" in refusal

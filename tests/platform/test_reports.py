"""Auditor reports: the PDF and JSON carry what the re-verified proof states, and the printed
command verifies the downloaded proof offline."""

from __future__ import annotations

import io
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from django.contrib.auth.models import User
from pypdf import PdfReader

from compliance.audit_log import services as audit_services
from compliance.audit_log.models import AuditEntry
from provers import api as prover_api
from tests.platform import factories
from tests.platform.helpers import bearer
from tests.platform.test_dashboard import AUDIT_STATEMENT
from veriml.accounts import services as accounts
from veriml.accounts.models import Membership
from veriml.proving.models import Job
from veriml.reports.pdf import render_pdf
from veriml.reports.services import summarise

needs_audit = pytest.mark.skipif(
    not hasattr(prover_api, "prove_audit"), reason="provers.api has no prove_audit yet"
)


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@pytest.fixture
def audit_job(alice_org) -> Job:
    model = factories.ready_model(
        alice_org,
        intended_use="Sorting digits",
        limitations="Printed digits only",
        fidelity={"top1_agreement": 0.99},
    )
    return factories.succeeded_job(
        alice_org,
        model=model,
        kind=Job.Kind.AUDIT,
        input=None,
        dataset=factories.ready_dataset(alice_org),
        statement=AUDIT_STATEMENT,
    )


def test_the_pdf_states_the_digest_counts_accuracy_classes_and_command(audit_job):
    checkpoint = audit_services.write_checkpoint()
    verdict = {"accepted": True, "soundness_bits": 100, "protocol": "audit", "verify_seconds": 0.2}
    summary = summarise(
        audit_job, AUDIT_STATEMENT, verdict, "ab" * 32, None, "report-1", "2026-01-02T03:04:05Z"
    )
    summary["audit_log_checkpoint"] = {
        "sequence": checkpoint.sequence,
        "head_hash": checkpoint.head_hash,
        "time": "t",
        "signature": checkpoint.signature,
    }

    text = pdf_text(render_pdf(summary))

    assert factories.MODEL_DIGEST in text
    assert "d1" * 32 in text
    assert "Samples proven (n) 16" in text and "Correct 13" in text
    assert "81.25%" in text and "57.00% to 93.40%" in text
    assert "88.89%" in text and "71.43%" in text
    assert "Sorting digits" in text and "Printed digits only" in text
    assert "top1_agreement 0.99" in text
    assert "ab" * 32 in text and "100 bits" in text and "ACCEPTED" in text
    assert f"veriml verify {audit_job.pk}.vmp --model {factories.MODEL_DIGEST}" in text
    assert checkpoint.head_hash in text


def test_the_summary_never_holds_the_jobs_output_or_input(audit_job):
    audit_job.output = {"secret": [0.123456]}
    verdict = {"accepted": True, "soundness_bits": 100, "protocol": "audit", "verify_seconds": 0.2}

    summary = summarise(audit_job, AUDIT_STATEMENT, verdict, "ab" * 32, None, "r", "t")

    assert "0.123456" not in repr(summary) and "secret" not in repr(summary)


def test_a_report_is_not_made_from_the_job_rows_word(api_client, alice, audit_job):
    # The row claims an audit; the stored proof is of another kind: the proof decides.
    audit_job.model.digest = ""
    audit_job.model.save()
    api_client.force_authenticate(alice)

    response = api_client.get(f"/api/v1/jobs/{audit_job.pk}/report.json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "report_unavailable"
    assert "not an accuracy audit proof" in response.json()["error"]["message"]


def test_an_inference_job_has_no_report(api_client, alice, alice_org):
    job = factories.succeeded_job(alice_org)
    api_client.force_authenticate(alice)

    for suffix in ("report.pdf", "report.json"):
        response = api_client.get(f"/api/v1/jobs/{job.pk}/{suffix}")
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "report_unavailable"


def test_reports_follow_the_proof_downloads_permissions(api_client, alice_org, charlie, audit_job):
    dana = User.objects.create_user("dana", "dana@example.com", "dana-password-1")
    accounts.add_member(alice_org, dana, Membership.Role.AUDITOR)
    for user, expected in ((charlie, 404), (dana, 409)):
        api_client.force_authenticate(user)
        assert api_client.get(f"/api/v1/jobs/{audit_job.pk}/report.pdf").status_code == expected
    api_client.force_authenticate(None)
    assert api_client.get(f"/api/v1/jobs/{audit_job.pk}/report.pdf").status_code in (401, 403)


@pytest.mark.integration
@pytest.mark.timeout(300)
@needs_audit
def test_a_real_audit_report_matches_its_proof_and_its_command_verifies(
    worker, api_client, alice, issue_key, tmp_path
):
    from tests.platform.test_end_to_end import FEATURES, ended, register

    key = issue_key("Alice Labs", scopes=("read", "submit"))
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
    from veriml.registry.models import Dataset

    ended(Dataset, dataset_id)
    created = api_client.post(
        "/api/v1/jobs/",
        {"kind": "audit", "model": str(model.pk), "dataset": dataset_id},
        format="json",
        **bearer(key),
    ).json()
    job = ended(Job, created["id"])
    assert job.status == Job.Status.SUCCEEDED, job.error_message

    proof = api_client.get(f"/api/v1/jobs/{job.pk}/proof", **bearer(key)).content
    statement = prover_api.verify(proof, model.digest).statement
    report = api_client.get(f"/api/v1/jobs/{job.pk}/report.json", **bearer(key)).json()
    pdf = api_client.get(f"/api/v1/jobs/{job.pk}/report.pdf", **bearer(key))
    text = pdf_text(pdf.content)

    assert report["accuracy"]["n"] == statement["n"]
    assert report["accuracy"]["correct"] == statement["correct"]
    assert report["model"]["digest"] == statement["model_digest"] == model.digest
    assert model.digest in text
    assert f"Samples proven (n) {statement['n']}" in text
    assert f"Correct {statement['correct']}" in text
    assert f"{statement['accuracy'] * 100:.2f}%" in text
    command = report["verify_command"]
    assert command in text
    arguments = shlex.split(command)
    (tmp_path / arguments[2]).write_bytes(proof)
    # As printed: the installed `veriml` command, from the folder holding the proof.
    installed = Path(sys.executable).parent / arguments[0]
    completed = subprocess.run(
        [str(installed), *arguments[1:]], cwd=tmp_path, capture_output=True, text=True
    )
    assert arguments[:2] == ["veriml", "verify"]
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert AuditEntry.objects.filter(action="report.generated").count() == 2

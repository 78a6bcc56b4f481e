"""Models registered with private weights end to end: a small MLP exported here is compiled with
its weights committed hidden, for a budget of zero-knowledge proofs, by the real worker over the
real broker; its inference proofs and private audits keep the weights private, each spending one
ticket of the commitment, which the worker allocates under the model row's lock.

The weights are searched for everywhere they could reach — as the float32 bytes and printed
floats of the exported module, as the quantised int8 rows the compiled model holds and as JSON
rows — in the responses, the dashboard, job and model rows, the audit and policy logs, the web
and worker logs, broker messages, the run's Redis keys, every stored file of the organisation
(the uploaded model and its compiled form are stored encrypted) and the proofs. The control: an
open model's stored files hold them.
"""

from __future__ import annotations

import io
import json
import logging
import re
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.db import connections
from django.test import Client
from django.utils import timezone

from compliance.audit_log.models import AuditEntry
from compliance.hipaa.models import EncryptedFile
from compliance.policy.models import PolicyDecision
from compliance.privacy import services as privacy
from compliance.privacy.models import ToggleChange
from provers import api as prover_api
from tests.platform import factories
from tests.platform.helpers import bearer
from tests.platform.test_end_to_end import ended
from tests.platform.test_private_audits import (
    breast_cancer,
    float32_rows,
    float_pairs,
    floats_found_in,
    holding,
    integer_counts,
    stored_bytes,
    tiny_cnn_pt2,
    tiny_gelu_pt2,
    upload_test_set,
)
from tests.platform.test_private_jobs import (
    MARKED_ROWS,
    found_in_bytes,
    found_in_text,
    published,  # noqa: F401 (a fixture: broker_messages asks for it)
    redis_text,
    text_forms,
)
from tests.platform.test_reports import pdf_text
from veriml.core.files import read_checked
from veriml.core.work import Claim
from veriml.core.worker import WorkAbandoned, WorkFailed
from veriml.proving import services as proving
from veriml.proving import tickets as weight_tickets
from veriml.proving.models import Job
from veriml.registry.models import RegisteredModel

pytestmark = [
    pytest.mark.integration,
]

FEATURES = 16
HIDDEN_SUPPORT = {
    "supported": True,
    "private_parts": ["input", "output", "weights"],
    "private_reason": "",
    "audit_private_parts": ["input"],
    "audit_private_reason": "",
    "audit_min_samples": 8,
}


def secret_mlp() -> tuple[bytes, list[np.ndarray]]:
    """A 16-8-4 MLP as ``.pt2``, and its float weight matrices."""
    import torch

    torch.manual_seed(5)
    module = torch.nn.Sequential(
        torch.nn.Linear(FEATURES, 8), torch.nn.ReLU(), torch.nn.Linear(8, 4)
    ).eval()
    buffer = io.BytesIO()
    torch.export.save(torch.export.export(module, (torch.randn(1, FEATURES),)), buffer)
    weights = [layer.weight.detach().numpy().copy() for layer in (module[0], module[2])]
    return buffer.getvalue(), weights


def calibration(features: int = FEATURES) -> np.ndarray:
    return np.random.default_rng(1).standard_normal((32, features)).astype(np.float32)


def register(
    api_client, key, name: str, pt2: bytes, rows: np.ndarray, **fields: str
) -> RegisteredModel:
    response = api_client.post(
        "/api/v1/models/",
        {
            "name": name,
            "file": factories.upload(f"{name}.pt2", pt2),
            "calibration": factories.upload("calibration.npz", factories.npz_bytes(inputs=rows)),
            **fields,
        },
        format="multipart",
        **bearer(key),
    )
    assert response.status_code == 201, response.json()
    return ended(RegisteredModel, response.json()["id"])


PRIVATE_WEIGHTS = json.dumps({"weights": "private"})


def quantised_weights(model: RegisteredModel, folder: Path) -> list[np.ndarray]:
    """The int8 weight rows of the compiled model, read (decrypted) from storage."""
    path = folder / f"{model.pk}.vmc"
    path.write_bytes(read_checked(model.compiled))
    compiled = prover_api.load_compiled_model(path).model
    return [node.weight for node in compiled.nodes if getattr(node, "weight", None) is not None]


def holds_weights(data: bytes, matrices: list[np.ndarray]) -> bool:
    return any(found_in_bytes(data, matrix) for matrix in matrices)


def weight_texts(matrices: list[np.ndarray]) -> list[str]:
    return [form for matrix in matrices for form in text_forms(matrix)]


def marked_input() -> bytes:
    """Two rows of distinctive values, 16 features each."""
    import torch

    rows = [list(row) + list(reversed(row)) for row in MARKED_ROWS]
    buffer = io.BytesIO()
    torch.save(torch.tensor(rows, dtype=torch.float32), buffer)
    return buffer.getvalue()


def infer(api_client, key, model: RegisteredModel, **fields):
    return api_client.post(
        "/api/v1/jobs/",
        {
            "kind": "inference",
            "model": str(model.pk),
            "input": factories.upload("x.pt", marked_input()),
            **fields,
        },
        format="multipart",
        **bearer(key),
    )


@pytest.fixture
def alice_key(alice, issue_key):
    return issue_key("Alice Labs", scopes=("read", "submit"))


@pytest.fixture
def broker_messages(request) -> list[dict]:
    """Each task message this process publishes, as the broker receives it."""
    return request.getfixturevalue("published")


@pytest.mark.timeout(120)
def test_a_model_with_private_weights_proves_in_zero_knowledge_and_reveals_no_weight(
    worker, api_client, alice, alice_org, alice_key, broker_messages, caplog, tmp_path
):
    caplog.set_level(logging.DEBUG)
    worker_log_start = worker.log_path.stat().st_size
    pt2, floats = secret_mlp()
    fields = {"privacy": PRIVATE_WEIGHTS, "proof_budget": "2"}
    model = register(api_client, alice_key, "secret", pt2, calibration(), **fields)
    assert model.status == RegisteredModel.Status.READY, model.error_message
    shown = api_client.get(f"/api/v1/models/{model.pk}/", **bearer(alice_key)).json()
    assert (shown["weights_hidden"], shown["proof_budget"], shown["proofs_left"]) == (True, 2, 2)
    assert shown["support"]["private_parts"] == ["input", "output", "weights"]
    # The uploaded model and its compiled form hold the weights: both are stored encrypted.
    assert EncryptedFile.objects.filter(stored_file__in=[model.source, model.compiled]).count() == 2

    # Two jobs at once: each proves with its own ticket of the commitment.
    created = [infer(api_client, alice_key, model) for _ in range(2)]
    assert [response.status_code for response in created] == [201, 201], created[0].json()
    jobs = [ended(Job, response.json()["id"]) for response in created]
    assert [job.status for job in jobs] == ["succeeded"] * 2, [job.error_message for job in jobs]
    assert sorted(job.weight_ticket for job in jobs) == [0, 1]
    spent = AuditEntry.objects.filter(action="model.proof_ticket_spent")
    assert sorted(entry.details["ticket"] for entry in spent) == [0, 1]
    job = jobs[0]
    detail = api_client.get(f"/api/v1/jobs/{job.pk}/", **bearer(alice_key)).json()
    listed = api_client.get("/api/v1/jobs/", **bearer(alice_key)).json()
    proofs = [
        api_client.get(f"/api/v1/jobs/{each.pk}/proof", **bearer(alice_key)).content
        for each in jobs
    ]
    verdict = api_client.post(
        "/api/v1/verify",
        {"proof": factories.upload("p.vmp", proofs[0]), "model_digest": model.digest},
    ).json()
    # The weights are private by the model's hidden commitment (and its toggle).
    assert detail["private_parts"] == ["weights"] and detail["privacy"]["weights"] == "private"
    assert verdict["accepted"] is True and verdict["statement"]["private"] == ["weights"]
    assert detail["statement"]["private"] == ["weights"] and detail["output"] is not None

    # The budget of 2 is spent: a third job is refused at submission, naming it.
    refused = infer(api_client, alice_key, model)
    error = refused.json()["error"]
    assert refused.status_code == 422 and error["code"] == "proof_budget_spent"
    assert "budget of 2 zero-knowledge proofs" in error["message"]
    assert "Register a new version" in error["message"]
    assert error["details"]["proof_budget"] == 2 and error["details"]["proofs_used"] == 2
    assert Job.objects.filter(model=model).count() == 2
    decision = PolicyDecision.objects.get(pk=error["details"]["policy_decision"])
    assert decision.decision == "deny" and decision.reason == error["message"]
    model_detail = api_client.get(f"/api/v1/models/{model.pk}/", **bearer(alice_key)).json()
    models_list = api_client.get("/api/v1/models/", **bearer(alice_key)).json()
    assert (model_detail["proofs_used"], model_detail["proofs_left"]) == (2, 0)
    dashboard = Client()
    dashboard.force_login(alice)
    model_page = dashboard.get(f"/models/{model.pk}/").content.decode()
    job_page = dashboard.get(f"/jobs/{job.pk}/").content.decode()
    assert "Committed hidden" in model_page and "2 used, 0 left" in model_page
    assert "Kept private by zero knowledge: weights" in job_page

    rows = quantised_weights(model, tmp_path)
    worker_log = worker.log_path.read_bytes()[worker_log_start:].decode(errors="replace")
    texts = {
        "create responses": json.dumps([response.json() for response in created]),
        "refusal": json.dumps(refused.json()),
        "job detail": json.dumps(detail),
        "job list": json.dumps(listed),
        "model detail": json.dumps(model_detail),
        "model list": json.dumps(models_list),
        "verification": json.dumps(verdict),
        "model page": model_page,
        "job page": job_page,
        "job rows": json.dumps(list(Job.objects.values()), default=str),
        "model rows": json.dumps(list(RegisteredModel.objects.values()), default=str),
        "audit log": json.dumps(list(AuditEntry.objects.values("details")), default=str),
        "policy log": json.dumps(list(PolicyDecision.objects.values()), default=str),
        "web log": caplog.text,
        "worker log": worker_log,
        "broker messages": "".join(message["serialized"] for message in broker_messages),
        "redis": redis_text([message["id"] for message in broker_messages]),
    }
    # Tasks take ids only: the compile and the two proofs.
    assert sorted(message["args"] for message in broker_messages) == sorted(
        [[str(model.pk)], *[[str(each.pk)] for each in jobs]]
    )
    assert found_in_text(texts, weight_texts(rows)) == []
    assert floats_found_in(texts, set().union(*(float_pairs(matrix) for matrix in floats))) == []
    files = stored_bytes(alice_org.pk)
    forms = float32_rows(np.vstack([matrix[:, :6] for matrix in floats]))
    assert holding(files, forms) == []
    assert [name for name, data in files.items() if holds_weights(data, rows)] == []
    for proof in proofs:
        assert not holds_weights(proof, rows) and not any(form in proof for form in forms)
    # The searches find the weights where they are: the decrypted compiled model, printed rows.
    assert holds_weights(read_checked(model.compiled), rows)
    printed = {"json": json.dumps(rows[1].tolist(), indent=1)}
    assert found_in_text(printed, weight_texts(rows)) == ["json"]
    assert holding({"pt2": read_checked(model.source)}, forms) == ["pt2"]


@pytest.mark.timeout(60)
def test_an_open_models_stored_files_hold_the_weights_the_search_looks_for(
    worker, api_client, charlie_org, issue_key, tmp_path
):
    key = issue_key("Charlie Corp", scopes=("read", "submit"))
    pt2, floats = secret_mlp()
    model = register(api_client, key, "open", pt2, calibration())

    assert model.status == RegisteredModel.Status.READY, model.error_message
    assert not model.weights_hidden and model.proofs_left is None
    rows = quantised_weights(model, tmp_path)
    files = stored_bytes(charlie_org.pk)
    assert holds_weights(files[model.compiled.storage_name], rows), "control: an open .vmc"
    forms = float32_rows(np.vstack([matrix[:, :6] for matrix in floats]))
    assert holding(files, forms) == [model.source.storage_name]
    assert not EncryptedFile.objects.filter(stored_file__in=[model.source, model.compiled]).exists()


@pytest.mark.timeout(90)
def test_a_private_audit_of_a_hidden_model_proves_the_integer_executors_counts(
    worker, api_client, alice_org, alice_key, tmp_path
):
    pt2, rows, test_x, test_y = breast_cancer()
    model = register(
        api_client, alice_key, "oncology", pt2, rows, privacy=PRIVATE_WEIGHTS, proof_budget="2"
    )
    assert model.status == RegisteredModel.Status.READY, model.error_message
    assert model.support["audit_private_parts"] == ["input"]
    dataset = upload_test_set(api_client, alice_key, test_x, test_y)
    body = {"kind": "audit", "model": str(model.pk), "dataset": str(dataset.pk)}

    public = api_client.post("/api/v1/jobs/", body, format="json", **bearer(alice_key))
    created = api_client.post(
        "/api/v1/jobs/",
        {**body, "privacy": {"input": "private"}},
        format="json",
        **bearer(alice_key),
    )

    # An audit with public test inputs would open the weights: refused, saying why.
    error = public.json()["error"]
    assert public.status_code == 422 and error["code"] == "zero_knowledge_unavailable"
    assert error["details"]["refused_parts"] == ["weights"]
    assert error["details"]["private_reason"] == proving.HIDDEN_WEIGHTS_NEED_PRIVATE_INPUTS
    assert "the hidden commitment of model oncology v1" in error["message"]
    assert created.status_code == 201, created.json()
    job = ended(Job, created.json()["id"])
    assert job.status == Job.Status.SUCCEEDED, job.error_message
    detail = api_client.get(f"/api/v1/jobs/{job.pk}/", **bearer(alice_key)).json()
    proof = api_client.get(f"/api/v1/jobs/{job.pk}/proof", **bearer(alice_key)).content
    verdict = api_client.post(
        "/api/v1/verify",
        {
            "proof": factories.upload("p.vmp", proof),
            "model_digest": model.digest,
            "dataset_digest": job.dataset_digest,
        },
    ).json()
    report = api_client.get(f"/api/v1/jobs/{job.pk}/report.json", **bearer(alice_key)).json()
    pdf = pdf_text(api_client.get(f"/api/v1/jobs/{job.pk}/report.pdf", **bearer(alice_key)).content)

    assert detail["private_parts"] == ["weights", "input"] and job.weight_ticket == 0
    assert verdict["accepted"] is True and verdict["statement"]["private_weights"] is True
    _, correct, classes = integer_counts(model, test_x, test_y, tmp_path)
    audit = detail["audit"]
    assert (audit["n"], audit["correct"], audit["classes"]) == (len(test_y), correct, classes)
    assert audit["private_weights"] is True and audit["private_input"] is True
    assert report["privacy"]["private_weights"] is True and report["model"]["weights"] == "private"
    assert "Private: committed hidden" in pdf
    # The committed test set was made in memory beside the hidden model: stored encrypted.
    assert EncryptedFile.objects.filter(stored_file=job.dataset_commitment).exists()
    weights = quantised_weights(model, tmp_path)
    assert not holds_weights(proof, weights)
    texts = {"detail": json.dumps(detail), "report": json.dumps(report), "pdf": pdf}
    assert found_in_text(texts, weight_texts(weights)) == []


def prover_refusal(pt2: bytes, rows: np.ndarray, folder: Path, proofs: int) -> str | None:
    """Why the prover refuses to commit the model's weights hidden for ``proofs`` proofs (None
    when it commits them), asked directly."""
    (folder / "m.pt2").write_bytes(pt2)
    np.savez(folder / "c.npz", inputs=rows)
    try:
        prover_api.compile_model(
            folder / "m.pt2",
            folder / "c.npz",
            folder / "m.vmc",
            private_weights=True,
            proofs=proofs,
        )
    except prover_api.CompileError as error:
        return str(error)
    return None


@pytest.mark.timeout(60)
def test_a_model_that_cannot_be_committed_hidden_fails_registration_with_the_reason(
    worker, api_client, alice_org, alice_key, tmp_path
):
    privacy.set_organisation_privacy(
        alice_org, "user:1", "trade secrets", new_minimums={"weights": "private"}
    )
    images = np.random.default_rng(1).standard_normal((8, 1, 6, 6)).astype(np.float32)
    rows = np.random.default_rng(1).standard_normal((8, 36)).astype(np.float32)
    pt2, _ = secret_mlp()

    # The default budget (PRIVATE_WEIGHT_PROOFS, 16) is more than this MLP's weights can hide.
    small = register(api_client, alice_key, "small", pt2, calibration())
    # A classifier with a GELU, for one proof: its op is the only obstacle the prover names.
    gelu = register(api_client, alice_key, "scores", tiny_gelu_pt2(), rows, proof_budget="1")
    # A CNN the private mode covers registers with hidden weights.
    cnn = register(api_client, alice_key, "lesions", tiny_cnn_pt2(), images, proof_budget="1")

    assert small.status == RegisteredModel.Status.FAILED and small.compiled is None
    assert small.weights_hidden and small.error_code == "compile_error"
    assert small.proof_budget == 16 and small.error_message.startswith("private weights:")
    assert re.search(r"commit the model for at most \d+ proofs", small.error_message)
    refusal = prover_refusal(tiny_gelu_pt2(), rows, tmp_path, proofs=1)
    assert refusal is not None and "is table" in refusal
    assert gelu.status == RegisteredModel.Status.FAILED and gelu.compiled is None
    assert gelu.weights_hidden and gelu.error_code == "compile_error"
    assert gelu.error_message == refusal
    assert cnn.status == RegisteredModel.Status.READY and cnn.weights_hidden
    assert "weights" in cnn.support["private_parts"]


def test_a_registered_models_weights_toggle_cannot_change_and_the_refusal_is_recorded(
    api_client, alice_org, bob, charlie
):
    hidden = factories.ready_model(
        alice_org, weights_hidden=True, proof_budget=4, privacy_weights="private"
    )
    opened = factories.ready_model(alice_org, name="open")
    api_client.force_authenticate(charlie)
    outsider = api_client.patch(
        f"/api/v1/compliance/privacy/models/{hidden.pk}",
        {"privacy": {"weights": "public"}, "reason": "x"},
        format="json",
    )
    api_client.force_authenticate(bob)

    lowered, raised = (
        api_client.patch(
            f"/api/v1/compliance/privacy/models/{model.pk}",
            {"privacy": {"weights": value, "output": "private"}, "reason": "new contract"},
            format="json",
        )
        for model, value in ((hidden, "public"), (opened, "private"))
    )
    history = api_client.get("/api/v1/compliance/privacy/changes").json()["changes"]

    assert outsider.status_code == 404
    for response, how in ((lowered, "hidden, for 4 zero-knowledge proofs"), (raised, "openly")):
        error = response.json()["error"]
        assert response.status_code == 409 and error["code"] == "weights_committed"
        assert f"were committed {how}" in error["message"]
        assert "Register a new version of the model" in error["message"]
    for model in (hidden, opened):
        before = model.privacy
        model.refresh_from_db()
        assert model.privacy == before
    refusals = ToggleChange.objects.order_by("id")
    assert [(c.part, c.old_value, c.new_value) for c in refusals] == [
        ("weights", "private", "public"),
        ("weights", "public", "private"),
    ]
    assert all(change.actor == f"user:{bob.pk}" and change.refusal for change in refusals)
    assert [entry["refused"] for entry in history] == [True, True]
    logged = AuditEntry.objects.filter(action="privacy.toggle_refused")
    assert (
        logged.count() == 2
        and not AuditEntry.objects.filter(action="privacy.toggle_changed").exists()
    )


def test_weights_are_hideable_exactly_for_hidden_models_whose_jobs_always_keep_them_private(
    alice_org,
):
    hidden = factories.ready_model(
        alice_org, support=HIDDEN_SUPPORT, weights_hidden=True, proof_budget=4
    )
    opened = factories.ready_model(alice_org, name="open", support=HIDDEN_SUPPORT)
    dataset = factories.ready_dataset(alice_org)

    assert proving.hideable_parts("inference", hidden) == {"weights", "input", "output"}
    assert proving.hideable_parts("audit", hidden, dataset) == {"weights", "input"}
    assert proving.hideable_parts("inference", opened) == {"input", "output"}
    assert proving.hideable_parts("audit", opened, dataset) == {"input"}
    asked_public = privacy.job_privacy_reasons(alice_org, hidden, requested={"weights": "public"})
    assert asked_public["weights"] == ["the hidden commitment of model classifier v1"]
    assert privacy.job_private_parts(alice_org, opened) == []


def test_a_job_on_a_spent_or_fully_promised_budget_is_refused_and_one_caught_out_fails_cleanly(
    api_client, alice_org, alice_key, django_capture_on_commit_callbacks
):
    from veriml.proving import tasks as proving_tasks

    spent = factories.ready_model(alice_org, weights_hidden=True, proof_budget=1, proofs_used=1)
    promised = factories.ready_model(
        alice_org, name="promised", weights_hidden=True, proof_budget=1
    )
    waiting = factories.job(alice_org, promised)

    refusals = [infer(api_client, alice_key, model) for model in (spent, promised)]

    for response, (used, queued) in zip(refusals, [(1, 0), (0, 1)], strict=True):
        error = response.json()["error"]
        assert response.status_code == 422 and error["code"] == "proof_budget_spent"
        assert (error["details"]["proofs_used"], error["details"]["proofs_promised"]) == (
            used,
            queued,
        )
    # The budget ran out after the job was queued: its worker fails it before proving.
    RegisteredModel.objects.filter(pk=promised.pk).update(proofs_used=1)
    proving_tasks.prove_inference.apply(args=(str(waiting.pk),))
    waiting.refresh_from_db()
    assert waiting.status == Job.Status.FAILED and waiting.error_code == "proof_budget_spent"
    assert waiting.weight_ticket is None and "budget of 1" in waiting.error_message


def test_a_public_weights_model_takes_no_proof_budget(api_client, alice_org, alice_key):
    response = api_client.post(
        "/api/v1/models/",
        {
            "name": "m",
            "file": factories.model_upload(),
            "calibration": factories.calibration_upload(),
            "proof_budget": "4",
        },
        format="multipart",
        **bearer(alice_key),
    )

    assert response.status_code == 400
    assert "proof_budget" in response.json()["error"]["details"]["fields"]
    assert not RegisteredModel.objects.exists()


@pytest.mark.parametrize("hidden", [True, False])
def test_a_hidden_models_weights_reach_the_prover_from_memory_only(
    alice_org, monkeypatch, tmp_path, hidden
):
    from compliance.hipaa.storage import store_upload
    from tests.platform.test_phi_worker import on_disk
    from veriml.core import workspace
    from veriml.proving import tasks as proving_tasks
    from veriml.registry import services as registry_services
    from veriml.registry import tasks as registry_tasks

    base = Path(settings.PHI_WORK_DIR)
    if workspace.file_system_type(base) not in workspace.MEMORY_FILE_SYSTEMS:
        pytest.skip(f"PHI_WORK_DIR {base} is not a memory file system here")
    folder = tmp_path / "worker-tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    seen: dict[str, dict[str, bytes]] = {}
    real = registry_tasks.prover_function

    def watched(name: str, code: str):
        function = real(name, code)

        def call(*args, **kwargs):
            result = function(*args, **kwargs)
            # What the worker's disk holds once the prover wrote its output.
            seen.setdefault(name, on_disk(folder))
            return result

        return call

    monkeypatch.setattr(registry_tasks, "prover_function", watched)
    monkeypatch.setattr(proving_tasks, "prover_function", watched)
    pt2, floats = secret_mlp()
    model = registry_services.register_model(
        alice_org,
        "secret",
        factories.upload("secret.pt2", pt2),
        factories.upload("c.npz", factories.npz_bytes(inputs=calibration())),
        {"weights": "private" if hidden else "public"},
    )
    model.proof_budget = 2 if hidden else None
    model.save(update_fields=["proof_budget"])

    registry_tasks.compile_model.apply((str(model.pk),))
    model.refresh_from_db()
    assert model.status == RegisteredModel.Status.READY, model.error_message
    given = store_upload(alice_org, "inputs", factories.upload("x.pt", marked_input()), "x.pt")
    parts = ["weights"] if hidden else []
    job = factories.job(alice_org, model, input=given, private_parts=parts)
    proving_tasks.prove_inference.apply((str(job.pk),))

    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error_message
    rows = quantised_weights(model, tmp_path)
    forms = float32_rows(np.vstack([matrix[:, :6] for matrix in floats]))
    for name in ("compile_model", "prove_inference"):
        found = [path for path, data in seen[name].items() if holds_weights(data, rows)]
        found += holding(seen[name], forms)
        # The control: an open model's .pt2 and .vmc are plain files the scan finds.
        assert bool(found) is not hidden, (name, found)
    if hidden:
        links = [path for path, data in seen["prove_inference"].items() if path.endswith(".vmc")]
        assert [seen["prove_inference"][link][:14] for link in links] == [b"/proc/self/fd/"]
    assert on_disk(folder) == {}


def _claimed(job: Job):
    claimed = proving.claim_job(str(job.pk), "test", "cpu")
    assert claimed.claim is Claim.START
    return claimed.attempt


def test_tickets_are_never_handed_out_twice_by_concurrent_or_retried_attempts(
    transactional_db, alice_org
):
    if connections["default"].vendor != "postgresql":
        pytest.skip("row locks across connections need PostgreSQL")
    model = factories.ready_model(alice_org, weights_hidden=True, proof_budget=6)
    attempts = [_claimed(factories.job(alice_org, model)) for _ in range(5)]
    start = threading.Barrier(len(attempts))

    def allocate(attempt):
        start.wait()
        try:
            return weight_tickets.allocate_weight_ticket(attempt)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(len(attempts)) as pool:
        tickets = list(pool.map(allocate, attempts))

    assert sorted(tickets) == [0, 1, 2, 3, 4]
    # A job failing after its ticket keeps it spent; an attempt taken over cannot take one, and
    # the attempt that takes the job over gets a fresh ticket, never the lost attempt's.
    proving.fail_job(attempts[0], "prover_error", "the prover failed")
    lost = attempts[1]
    Job.objects.filter(pk=lost.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    retried = _claimed(Job.objects.get(pk=lost.pk))
    with pytest.raises(WorkAbandoned):
        weight_tickets.allocate_weight_ticket(lost)
    assert weight_tickets.allocate_weight_ticket(retried) == 5
    with pytest.raises(WorkFailed) as spent:
        weight_tickets.allocate_weight_ticket(attempts[2])
    model.refresh_from_db()
    assert spent.value.code == "proof_budget_spent" and model.proofs_used == 6
    assert Job.objects.get(pk=lost.pk).weight_ticket == 5


def test_the_weights_commitment_and_its_budget_are_in_the_openapi_schema(api_client):
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    components = schema["components"]["schemas"]

    model = components["Model"]["properties"]
    assert {"weights_hidden", "proof_budget", "proofs_used", "proofs_left"} <= set(model)
    assert "committed hidden" in model["weights_hidden"]["description"]
    upload = schema["paths"]["/api/v1/models/"]["post"]["requestBody"]["content"]
    fields = upload["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert (
        "PRIVATE_WEIGHT_PROOFS" in components[fields]["properties"]["proof_budget"]["description"]
    )
    job = components["Job"]["properties"]
    assert "weight_ticket" in job
    result = components[job["audit"]["allOf"][0]["$ref"].rsplit("/", 1)[-1]]
    assert "private_weights" in result["properties"]
    refusal = schema["paths"]["/api/v1/jobs/"]["post"]["responses"]["422"]["description"]
    assert "proof_budget_spent" in refusal and "committed hidden" in refusal

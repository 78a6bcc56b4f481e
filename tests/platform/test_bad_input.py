"""Bad requests get a clear 4xx in the one error shape, and leave nothing behind.

Each case checks the status and error code, and that no row (model, test set, job, stored
file) and no file in storage was left by the refused request.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings as django_settings

from tests.platform import factories
from tests.platform.helpers import bearer, wait_until
from veriml.core.models import StoredFile
from veriml.proving.models import Job
from veriml.registry.models import Dataset, RegisteredModel

MODELS = "/api/v1/models/"
DATASETS = "/api/v1/datasets/"
JOBS = "/api/v1/jobs/"
VERIFY = "/api/v1/verify"
GRANTS = "/api/v1/auditor-grants/"


@pytest.fixture
def key(alice, issue_key):
    return issue_key("Alice Labs", scopes=("read", "submit", "admin"))


@pytest.fixture
def model(alice_org):
    return factories.ready_model(alice_org)


@pytest.fixture
def dataset(alice_org):
    return factories.ready_dataset(alice_org)


def files_in_storage(organisation) -> list[Path]:
    root = Path(django_settings.MEDIA_ROOT)
    return [path for path in root.glob(f"*/{organisation.pk}/*") if path.is_file()]


@pytest.fixture
def nothing_left(alice_org):
    """Checks, after the test, that its refused requests stored nothing."""
    rows_before = {
        kind: kind.objects.count() for kind in (RegisteredModel, Dataset, Job, StoredFile)
    }
    files_before = sorted(files_in_storage(alice_org))
    yield
    assert {kind: kind.objects.count() for kind in rows_before} == rows_before
    assert sorted(files_in_storage(alice_org)) == files_before


def assert_refused(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:500]
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]
    return body["error"]


def model_form(**fields):
    return {
        "name": "classifier",
        "file": factories.model_upload(),
        "calibration": factories.calibration_upload(),
        **fields,
    }


def dataset_form(**fields):
    data = factories.npz_bytes(inputs=np.zeros((4, 3), np.float32), labels=np.arange(4))
    return {"name": "holdout", "file": factories.upload("holdout.npz", data), **fields}


def job_form(model, **fields):
    input_file = factories.input_upload()
    return {"kind": "inference", "model": str(model.pk), "input": input_file, **fields}


@pytest.mark.parametrize(
    ("path", "form", "setting"),
    [
        (MODELS, lambda model: model_form(), "MODEL_UPLOAD_MAX_BYTES"),
        (MODELS, lambda model: model_form(), "CALIBRATION_UPLOAD_MAX_BYTES"),
        (DATASETS, lambda model: dataset_form(), "DATASET_UPLOAD_MAX_BYTES"),
        (JOBS, lambda model: job_form(model), "INPUT_UPLOAD_MAX_BYTES"),
        (VERIFY, lambda model: {"proof": factories.upload("p.vmp", b"x" * 200)}, ""),
    ],
)
def test_an_oversized_upload_is_refused_with_413_naming_its_limit(
    api_client, key, model, nothing_left, settings, path, form, setting
):
    setting = setting or "PROOF_UPLOAD_MAX_BYTES"
    setattr(settings, setting, 100)

    response = api_client.post(path, form(model), format="multipart", **bearer(key))

    error = assert_refused(response, 413, "file_too_large")
    assert setting in error["message"]


def test_a_body_over_the_form_limit_is_refused_with_413(api_client, key, model, nothing_left):
    too_long = "a" * (django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)

    as_json = api_client.post(
        JOBS,
        json.dumps({"kind": "audit", "model": str(model.pk), "dataset": too_long}),
        content_type="application/json",
        **bearer(key),
    )
    as_field = api_client.post(
        JOBS, job_form(model, callback_url=too_long), format="multipart", **bearer(key)
    )

    assert_refused(as_json, 413, "request_too_large")
    assert_refused(as_field, 413, "request_too_large")


def test_too_many_form_fields_are_refused(api_client, key, model, nothing_left):
    limit = django_settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    fields = {f"field{index}": "x" for index in range(limit)}

    response = api_client.post(JOBS, job_form(model, **fields), format="multipart", **bearer(key))

    assert_refused(response, 400, "too_many_fields")


@pytest.mark.parametrize(
    ("path", "form", "field"),
    [
        (MODELS, lambda model: model_form(file=factories.upload("m.pt2", b"not a zip")), "file"),
        (
            MODELS,
            lambda model: model_form(
                file=factories.upload("m.pt2", factories.zip_bytes({"m/data.pkl": b"\x80\x02."}))
            ),
            "file",
        ),
        (
            MODELS,
            lambda model: model_form(calibration=factories.upload("c.npz", b"PK\x03\x04 cut")),
            "calibration",
        ),
        (
            DATASETS,
            lambda model: dataset_form(file=factories.upload("d.safetensors", b"\xff" * 16)),
            "file",
        ),
        (DATASETS, lambda model: dataset_form(file=factories.upload("d.xlsx", b"PK")), "file"),
        (JOBS, lambda model: job_form(model, input=factories.upload("x.npz", b"")), "input"),
    ],
    ids=["not-zip", "pickle-renamed-pt2", "broken-calibration", "bad-safetensors", "xlsx", "empty"],
)
def test_a_file_with_the_wrong_content_is_refused_before_anything_is_stored(
    api_client, key, model, nothing_left, path, form, field
):
    response = api_client.post(path, form(model), format="multipart", **bearer(key))

    error = assert_refused(response, 400, "invalid")
    assert field in error["details"]["fields"]


@pytest.mark.parametrize(
    ("path", "form"),
    [
        (MODELS, lambda model: model_form(license="MIT")),
        (DATASETS, lambda model: dataset_form(labels_column="y")),
        (JOBS, lambda model: job_form(model, priority="high")),
        (VERIFY, lambda model: {"proof": factories.upload("p.vmp", b"x"), "strict": "yes"}),
        (GRANTS, lambda model: {"auditor_organisation": "Charlie Corp", "until": "2030"}),
    ],
)
def test_an_unknown_field_is_refused_by_name(api_client, key, model, nothing_left, path, form):
    response = api_client.post(path, form(model), format="multipart", **bearer(key))

    error = assert_refused(response, 400, "invalid")
    assert list(error["details"]["fields"].values()) == [["Unknown field."]]


def test_an_unknown_field_in_a_json_body_is_refused(api_client, key, model, dataset, nothing_left):
    response = api_client.post(
        JOBS,
        {"kind": "audit", "model": str(model.pk), "dataset": str(dataset.pk), "nonce": "00"},
        format="json",
        **bearer(key),
    )

    error = assert_refused(response, 400, "invalid")
    assert error["details"]["fields"] == {"nonce": ["Unknown field."]}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ('{"kind": "audit", ', 400, "parse_error"),
        ("[1, 2]", 400, "invalid"),
        ('"a string"', 400, "invalid"),
        ('{"kind": "audit", "organisation": {"name": "x"}}', 400, "invalid"),
        ('{"kind": "audit", "organisation": "Alice\\u0000Labs"}', 400, "invalid"),
    ],
    ids=["truncated", "list", "string", "organisation-object", "organisation-nul"],
)
def test_a_malformed_json_body_is_refused(api_client, key, nothing_left, body, status, code):
    response = api_client.post(JOBS, body, content_type="application/json", **bearer(key))

    assert_refused(response, status, code)


def test_a_missing_or_unknown_model_is_refused(api_client, key, dataset, nothing_left):
    def submit(**fields):
        body = {"kind": "audit", "dataset": str(dataset.pk), **fields}
        return api_client.post(JOBS, body, format="json", **bearer(key))

    missing = assert_refused(submit(), 400, "invalid")
    malformed = assert_refused(submit(model="not-a-uuid"), 400, "invalid")
    assert_refused(submit(model="00000000-0000-0000-0000-000000000000"), 404, "not_found")
    assert missing["details"]["fields"] == {"model": ["This field is required."]}
    assert "model" in malformed["details"]["fields"]


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        (MODELS, "application/json"),
        (DATASETS, "application/json"),
        (JOBS, "application/xml"),
        (VERIFY, "application/json"),
        (JOBS, "text/plain"),
    ],
)
def test_a_wrong_content_type_is_refused_with_415(
    api_client, key, nothing_left, path, content_type
):
    response = api_client.post(path, "{}", content_type=content_type, **bearer(key))

    assert_refused(response, 415, "unsupported_media_type")


def test_an_unknown_api_path_answers_in_the_error_shape(api_client, key):
    response = api_client.get("/api/v1/no-such-thing/", **bearer(key))

    assert_refused(response, 404, "not_found")


@pytest.mark.integration
def test_a_hostile_model_archive_is_refused_by_the_worker_without_running_its_code(
    worker, api_client, key, tmp_path
):
    from provers.compiler.load import load_program
    from provers.errors import CompileError

    marker = tmp_path / "the-pickle-ran"
    response = api_client.post(
        MODELS,
        model_form(file=factories.upload("hostile.pt2", factories.hostile_pt2(marker))),
        format="multipart",
        **bearer(key),
    )
    assert response.status_code == 201, response.json()
    model = wait_until(
        lambda: (
            RegisteredModel.objects.exclude(status="compiling")
            .filter(pk=response.json()["id"])
            .first()
        ),
        timeout=60,
    )
    stored = Path(django_settings.MEDIA_ROOT) / model.source.storage_name

    assert model.status == RegisteredModel.Status.FAILED
    assert model.error_code in {"compile_error", "unavailable"}, model.error_message
    assert model.compiled is None
    assert not marker.exists()
    # The compiler's loader, which compile_model uses, refuses these bytes as stored.
    with pytest.raises(CompileError, match="not on the allowlist"):
        load_program(stored)
    assert not marker.exists()


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/models/a%00b/",
        "/api/v1/jobs/%C2%B2/",
        "/api/v1/auditor-grants/99999999999999999999999/",
        "/api/v1/auditor-grants/%C2%B2/",
        "/api/v1/api-keys/abc%00defg/revoke",
    ],
)
def test_an_id_no_object_can_have_is_not_found(api_client, key, path):
    method = "delete" if "auditor-grants" in path else "post" if "revoke" in path else "get"

    response = getattr(api_client, method)(path, **bearer(key))

    assert_refused(response, 404, "not_found")


@pytest.mark.parametrize(
    ("path", "query"),
    [
        (MODELS, "name=a%00b"),
        (MODELS, "status=nope"),
        ("/api/v1/callback-secret/", "organisation=a%00b"),
        ("/api/v1/callback-secret/", f"organisation={'x' * 201}"),
    ],
)
def test_a_malformed_query_parameter_is_refused(api_client, key, path, query):
    response = api_client.get(f"{path}?{query}", **bearer(key))

    error = assert_refused(response, 400, "invalid")
    assert query.split("=")[0] in error["details"]["fields"]

"""The model registry and test sets: uploads, versions, digests, tenancy, hostile files."""

from __future__ import annotations

import hashlib

import pytest

from tests.platform import factories
from tests.platform.helpers import bearer
from veriml.core.models import StoredFile
from veriml.registry.models import Dataset, RegisteredModel

MODELS = "/api/v1/models/"
DATASETS = "/api/v1/datasets/"


def register(api_client, key, name="classifier", **fields):
    data = {
        "name": name,
        "file": factories.model_upload(),
        "calibration": factories.calibration_upload(),
        **fields,
    }
    return api_client.post(MODELS, data, format="multipart", **bearer(key))


def test_registering_a_model_stores_its_files_with_their_digests_and_starts_compiling(
    api_client, alice, issue_key
):
    key = issue_key("Alice Labs", scopes=("read", "submit"))
    upload = factories.model_upload()
    source_bytes = upload.read()
    upload.seek(0)

    response = api_client.post(
        MODELS,
        {"name": "classifier", "file": upload, "calibration": factories.calibration_upload()},
        format="multipart",
        **bearer(key),
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "compiling"
    assert body["version"] == 1
    assert body["organisation"] == "Alice Labs"
    assert body["privacy"] == {"weights": "public", "input": "public", "output": "public"}
    assert body["files"]["model"]["sha256"] == hashlib.sha256(source_bytes).hexdigest()
    assert body["files"]["model"]["size"] == len(source_bytes)
    assert body["files"]["compiled"] is None
    assert body["created_by"].startswith("API key ")
    model = RegisteredModel.objects.get(pk=body["id"])
    assert model.source.sha256 == hashlib.sha256(source_bytes).hexdigest()


def test_each_upload_of_a_name_is_a_new_version_per_organisation(
    api_client, alice, charlie, issue_key
):
    alice_key = issue_key("Alice Labs", scopes=("submit",))
    charlie_key = issue_key("Charlie Corp", scopes=("submit",))

    versions = [register(api_client, alice_key).json()["version"] for _ in range(2)]
    other_name = register(api_client, alice_key, name="detector").json()["version"]
    other_org = register(api_client, charlie_key).json()["version"]

    assert versions == [1, 2]
    assert other_name == 1
    assert other_org == 1


def test_it_records_the_privacy_settings(api_client, alice, issue_key):
    key = issue_key("Alice Labs", scopes=("submit",))

    response = register(api_client, key, privacy='{"input": "private", "output": "private"}')

    assert response.status_code == 201, response.json()
    assert response.json()["privacy"] == {
        "weights": "public",
        "input": "private",
        "output": "private",
    }


@pytest.mark.parametrize(
    ("privacy", "message"),
    [
        ("not json", "JSON object"),
        ('{"weights": "secret"}', "'public' or 'private'"),
        ('{"labels": "private"}', "Unknown part"),
    ],
)
def test_it_refuses_malformed_privacy_settings(api_client, alice, issue_key, privacy, message):
    key = issue_key("Alice Labs", scopes=("submit",))

    response = register(api_client, key, privacy=privacy)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert message in error["details"]["fields"]["privacy"][0]


@pytest.mark.parametrize(
    ("file_name", "data", "message"),
    [
        ("model.pt2", b"#!/bin/sh\nrm -rf /\n", "not a zip archive"),
        ("model.pt2", b"PK\x03\x04 truncated", "damaged zip archive"),
        ("model.pkl", factories.zip_bytes(), "must be a .pt2 file"),
        ("model.pt2", b"", "empty"),
    ],
)
def test_it_refuses_files_that_are_not_torch_export_archives(
    api_client, alice, issue_key, file_name, data, message
):
    key = issue_key("Alice Labs", scopes=("submit",))

    response = api_client.post(
        MODELS,
        {
            "name": "classifier",
            "file": factories.upload(file_name, data),
            "calibration": factories.calibration_upload(),
        },
        format="multipart",
        **bearer(key),
    )

    assert response.status_code == 400
    assert message in " ".join(response.json()["error"]["details"]["fields"]["file"])
    assert not RegisteredModel.objects.exists()
    assert not StoredFile.objects.exists()


def test_it_refuses_a_model_over_the_size_limit_with_413(api_client, alice, issue_key, settings):
    settings.MODEL_UPLOAD_MAX_BYTES = 64
    key = issue_key("Alice Labs", scopes=("submit",))

    response = register(api_client, key)

    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "file_too_large"
    assert "MODEL_UPLOAD_MAX_BYTES" in error["message"]
    assert not StoredFile.objects.exists()


def test_it_refuses_a_calibration_file_that_is_not_a_tensor_file(api_client, alice, issue_key):
    key = issue_key("Alice Labs", scopes=("submit",))

    response = api_client.post(
        MODELS,
        {
            "name": "classifier",
            "file": factories.model_upload(),
            "calibration": factories.upload("calibration.pkl", b"\x80\x04cos\nsystem\n"),
        },
        format="multipart",
        **bearer(key),
    )

    assert response.status_code == 400
    assert "calibration" in response.json()["error"]["details"]["fields"]


def test_it_keeps_only_the_last_part_of_an_uploaded_file_name(api_client, alice, issue_key):
    key = issue_key("Alice Labs", scopes=("submit",))

    response = api_client.post(
        MODELS,
        {
            "name": "classifier",
            "file": factories.upload("../../etc/cron.d/evil.pt2", factories.pt2_bytes()),
            "calibration": factories.calibration_upload(),
        },
        format="multipart",
        **bearer(key),
    )

    assert response.status_code == 201
    source = RegisteredModel.objects.get().source
    assert ".." not in source.storage_name
    assert source.storage_name.startswith("models/")
    assert source.original_name == "evil.pt2"


def test_a_key_without_the_submit_scope_cannot_register_models(api_client, alice, issue_key):
    key = issue_key("Alice Labs", scopes=("read",))

    response = register(api_client, key)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_a_member_can_register_and_read_models(api_client, bob):
    api_client.force_login(bob)

    created = api_client.post(
        MODELS,
        {
            "name": "classifier",
            "file": factories.model_upload(),
            "calibration": factories.calibration_upload(),
        },
        format="multipart",
    )
    fetched = api_client.get(f"{MODELS}{created.json()['id']}/")

    assert created.status_code == 201
    assert fetched.status_code == 200
    assert fetched.json()["created_by"] == "user bob"


def test_it_hides_another_organisations_models(api_client, alice_org, charlie, issue_key):
    model = factories.ready_model(alice_org)
    charlie_key = issue_key("Charlie Corp", scopes=("read", "submit", "admin"))

    detail = api_client.get(f"{MODELS}{model.pk}/", **bearer(charlie_key))
    listing = api_client.get(MODELS, **bearer(charlie_key))

    assert detail.status_code == 404
    assert detail.json()["error"]["code"] == "not_found"
    assert listing.status_code == 200
    assert listing.json()["results"] == []


def test_a_key_without_the_read_scope_cannot_read_models(api_client, alice_org, issue_key):
    model = factories.ready_model(alice_org)
    key = issue_key("Alice Labs", scopes=("submit",))

    assert api_client.get(f"{MODELS}{model.pk}/", **bearer(key)).status_code == 403
    assert api_client.get(MODELS, **bearer(key)).status_code == 403


def test_a_malformed_model_id_is_not_found(api_client, alice, issue_key):
    key = issue_key("Alice Labs")

    response = api_client.get(f"{MODELS}not-a-uuid/", **bearer(key))

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_ready_model_shows_its_digest_and_compile_report(api_client, alice_org, issue_key):
    model = factories.ready_model(
        alice_org, fidelity={"top1_agreement": 0.99, "max_abs_error": 0.01}
    )
    key = issue_key("Alice Labs")

    body = api_client.get(f"{MODELS}{model.pk}/", **bearer(key)).json()

    assert body["status"] == "ready"
    assert body["digest"] == factories.MODEL_DIGEST
    assert body["parameters"] == 42
    assert body["estimate"] == factories.ESTIMATE
    assert body["fidelity"]["top1_agreement"] == 0.99
    assert body["files"]["compiled"]["size"] > 0


def test_models_can_be_filtered_by_status_and_name(api_client, alice_org, issue_key):
    factories.ready_model(alice_org, name="a")
    factories.ready_model(alice_org, name="b", status=RegisteredModel.Status.FAILED)
    key = issue_key("Alice Labs")

    failed = api_client.get(MODELS, {"status": "failed"}, **bearer(key)).json()["results"]
    named = api_client.get(MODELS, {"name": "a"}, **bearer(key)).json()["results"]
    wrong = api_client.get(MODELS, {"status": "exploded"}, **bearer(key))

    assert [model["name"] for model in failed] == ["b"]
    assert [model["name"] for model in named] == ["a"]
    assert wrong.status_code == 400
    assert "status" in wrong.json()["error"]["details"]["fields"]


def test_a_user_in_several_organisations_names_the_one_to_act_for(api_client, alice, charlie):
    from veriml.accounts import services
    from veriml.accounts.models import Membership, Organisation

    services.add_member(
        Organisation.objects.get(name="Charlie Corp"), alice, Membership.Role.MEMBER
    )
    api_client.force_login(alice)
    data = {
        "name": "m",
        "file": factories.model_upload(),
        "calibration": factories.calibration_upload(),
    }

    unnamed = api_client.post(MODELS, data, format="multipart")
    data.update(file=factories.model_upload(), calibration=factories.calibration_upload())
    named = api_client.post(MODELS, {**data, "organisation": "Charlie Corp"}, format="multipart")

    assert unnamed.status_code == 400
    assert "organisation" in unnamed.json()["error"]["details"]["fields"]
    assert named.status_code == 201, named.json()
    assert named.json()["organisation"] == "Charlie Corp"


def test_uploading_a_test_set_stores_it_and_starts_validation(api_client, alice, issue_key):
    key = issue_key("Alice Labs", scopes=("read", "submit"))
    data = factories.npz_bytes(inputs=[[0.0, 1.0]], labels=[1])

    response = api_client.post(
        DATASETS,
        {"name": "holdout", "file": factories.upload("holdout.npz", data)},
        format="multipart",
        **bearer(key),
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "validating"
    assert body["file"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert api_client.get(f"{DATASETS}{body['id']}/", **bearer(key)).status_code == 200


@pytest.mark.parametrize(
    ("file_name", "data", "status"),
    [
        ("holdout.exe", b"MZ", 400),
        ("holdout.npz", b"not a zip", 400),
        ("holdout.safetensors", b"\xff" * 8 + b"{}", 400),
        ("holdout.csv", b"x" * 200, 413),
    ],
)
def test_it_refuses_unusable_or_oversized_test_sets(
    api_client, alice, issue_key, settings, file_name, data, status
):
    settings.DATASET_UPLOAD_MAX_BYTES = 100
    key = issue_key("Alice Labs", scopes=("submit",))

    response = api_client.post(
        DATASETS,
        {"name": "holdout", "file": factories.upload(file_name, data)},
        format="multipart",
        **bearer(key),
    )

    assert response.status_code == status
    assert not Dataset.objects.exists()


def test_it_hides_another_organisations_test_sets(api_client, alice_org, charlie, issue_key):
    dataset = factories.ready_dataset(alice_org)
    charlie_key = issue_key("Charlie Corp")

    assert api_client.get(f"{DATASETS}{dataset.pk}/", **bearer(charlie_key)).status_code == 404
    assert api_client.get(DATASETS, **bearer(charlie_key)).json()["results"] == []


def test_a_read_only_key_cannot_upload_test_sets(api_client, alice, issue_key):
    key = issue_key("Alice Labs", scopes=("read",))

    response = api_client.post(
        DATASETS,
        {"name": "holdout", "file": factories.upload("h.csv", b"a,label\n1,0\n")},
        format="multipart",
        **bearer(key),
    )

    assert response.status_code == 403

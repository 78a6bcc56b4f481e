"""The public verification endpoint: anyone may check a proof, at a limited rate."""

from __future__ import annotations

import pytest
from rest_framework.settings import api_settings

from tests.platform import factories
from tests.platform.helpers import bearer

VERIFY = "/api/v1/verify"


def verify(api_client, data: bytes, **fields):
    return api_client.post(VERIFY, {"proof": factories.upload("proof.vmp", data), **fields})


def test_anyone_can_verify_a_proof_without_an_account(api_client, db):
    response = verify(api_client, factories.proof_bytes())

    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] is True
    assert body["reason"] is None
    assert body["statement"]["kind"] == "committed product sum"
    assert body["soundness_bits"] >= 100
    assert body["verifier_version"]


def test_garbage_is_rejected_with_a_reason_not_an_error(api_client, db):
    response = verify(api_client, b"certainly not a proof")

    assert response.status_code == 200
    assert response.json()["accepted"] is False
    assert response.json()["reason"] == "bad_magic"


def test_a_tampered_proof_is_rejected(api_client, db):
    data = bytearray(factories.proof_bytes())
    data[-20] ^= 0x01

    response = verify(api_client, bytes(data))

    assert response.json()["accepted"] is False
    assert response.json()["reason"]


def test_a_proof_about_another_model_is_rejected_when_a_digest_is_expected(api_client, db):
    response = verify(api_client, factories.proof_bytes(), model_digest="ab" * 32)

    assert response.json()["accepted"] is False
    assert response.json()["reason"] == "wrong_model"


def test_it_refuses_a_malformed_model_digest(api_client, db):
    response = verify(api_client, factories.proof_bytes(), model_digest="not hex")

    assert response.status_code == 400
    assert "model_digest" in response.json()["error"]["details"]["fields"]


def test_it_refuses_a_request_without_a_proof(api_client, db):
    response = api_client.post(VERIFY, {})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert "proof" in response.json()["error"]["details"]["fields"]


def test_it_refuses_a_proof_over_the_size_limit(api_client, db, settings):
    settings.PROOF_UPLOAD_MAX_BYTES = 100

    response = verify(api_client, factories.proof_bytes())

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "file_too_large"


@pytest.fixture
def low_rates(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "2/minute", "caller": "3/minute"},
    }
    assert api_settings.DEFAULT_THROTTLE_RATES["anon"] == "2/minute"


def test_anonymous_callers_are_throttled(api_client, db, low_rates):
    statuses = [verify(api_client, b"x").status_code for _ in range(3)]
    throttled = verify(api_client, b"x")

    assert statuses == [200, 200, 429]
    error = throttled.json()["error"]
    assert error["code"] == "throttled"
    assert error["details"]["retry_after_seconds"] > 0
    assert "Retry-After" in throttled


def test_each_api_key_has_its_own_rate(api_client, alice, issue_key, low_rates):
    first_key = issue_key("Alice Labs")
    second_key = issue_key("Alice Labs")

    first = [api_client.get("/api/v1/jobs/", **bearer(first_key)).status_code for _ in range(4)]
    second = api_client.get("/api/v1/jobs/", **bearer(second_key)).status_code

    assert first == [200, 200, 200, 429]
    assert second == 200

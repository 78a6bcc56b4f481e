"""The REST API's root, schema and interactive documentation."""

from __future__ import annotations


def test_the_api_root_lists_its_resources_without_credentials(api_client, db):
    response = api_client.get("/api/v1/")

    assert response.status_code == 200
    assert set(response.json()) == {
        "me", "models", "datasets", "jobs", "verify", "auditor_grants", "callback_secret",
        "api_keys", "schema", "docs", "health",
    }  # fmt: skip


def test_the_schema_documents_bearer_api_keys(api_client, db):
    response = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    schema = response.json()
    assert schema["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"
    assert "/api/v1/me/" in schema["paths"]


def test_the_interactive_docs_are_served(client, db):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


def test_the_schema_documents_every_endpoint_of_the_contract(api_client, db):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    assert {
        "/api/v1/models/",
        "/api/v1/models/{id}/",
        "/api/v1/datasets/",
        "/api/v1/datasets/{id}/",
        "/api/v1/jobs/",
        "/api/v1/jobs/{id}/",
        "/api/v1/jobs/{id}/cancel",
        "/api/v1/jobs/{id}/proof",
        "/api/v1/verify",
        "/api/v1/auditor-grants/",
        "/api/v1/callback-secret/",
        "/api/v1/api-keys/",
        "/api/v1/api-keys/{id}/revoke",
    } <= set(schema["paths"])
    job_list = schema["paths"]["/api/v1/jobs/"]
    assert {p["name"] for p in job_list["get"]["parameters"]} >= {"status", "kind", "cursor"}
    assert "Idempotency-Key" in {p["name"] for p in job_list["post"]["parameters"]}


def test_the_schema_generates_without_warnings(db):
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")


def test_errors_share_one_body_shape(api_client, alice, issue_key):
    key = issue_key("Alice Labs")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"}

    not_found = api_client.get("/api/v1/jobs/00000000-0000-0000-0000-000000000000/", **headers)
    not_allowed = api_client.delete("/api/v1/jobs/", **headers)
    unauthenticated = api_client.get("/api/v1/jobs/")

    for response, code in [
        (not_found, "not_found"),
        (not_allowed, "method_not_allowed"),
        (unauthenticated, "not_authenticated"),
    ]:
        assert set(response.json()) == {"error"}
        assert set(response.json()["error"]) == {"code", "message", "details"}
        assert response.json()["error"]["code"] == code

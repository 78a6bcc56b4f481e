"""The REST API's root, schema and interactive documentation."""

from __future__ import annotations


def test_the_api_root_lists_its_resources_without_credentials(api_client, db):
    response = api_client.get("/api/v1/")

    assert response.status_code == 200
    assert set(response.json()) == {"me", "schema", "docs", "health"}


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

"""The cross-tenant matrix: every endpoint, every kind of refusal.

- Another organisation's objects answer 404 on every endpoint that names an object, and never
  appear in its lists;
- a caller that sees an organisation but lacks the right (scope or role) answers 403;
- an expired or revoked key is refused (401) everywhere.

A refused request changes nothing.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.platform import factories
from tests.platform.helpers import bearer
from veriml.accounts import services
from veriml.accounts.models import ApiKey, AuditorGrant
from veriml.proving.models import Job

SCOPES = ("read", "submit", "admin")

# (method, path, the scope it needs); {name} is an object of Alice Labs.
OBJECT_ENDPOINTS = [
    ("get", "/api/v1/models/{model}/", "read"),
    ("get", "/api/v1/datasets/{dataset}/", "read"),
    ("get", "/api/v1/jobs/{job}/", "read"),
    ("get", "/api/v1/jobs/{job}/proof", "read"),
    ("post", "/api/v1/jobs/{queued}/cancel", "submit"),
    ("delete", "/api/v1/auditor-grants/{grant}/", "admin"),
    ("post", "/api/v1/api-keys/{key}/revoke", "admin"),
]
COLLECTION_ENDPOINTS = [
    ("get", "/api/v1/models/", "read"),
    ("get", "/api/v1/datasets/", "read"),
    ("get", "/api/v1/jobs/", "read"),
    ("get", "/api/v1/auditor-grants/", "admin"),
    ("get", "/api/v1/api-keys/", "admin"),
    ("get", "/api/v1/callback-secret/", "admin"),
    ("post", "/api/v1/callback-secret/", "admin"),
    ("post", "/api/v1/models/", "submit"),
    ("post", "/api/v1/datasets/", "submit"),
    ("post", "/api/v1/jobs/", "submit"),
    ("post", "/api/v1/auditor-grants/", "admin"),
]
LISTS = ["/api/v1/models/", "/api/v1/datasets/", "/api/v1/jobs/", "/api/v1/auditor-grants/"]


def endpoint_id(endpoint: tuple[str, str, str]) -> str:
    return f"{endpoint[0].upper()} {endpoint[1]}"


@pytest.fixture
def objects(alice_org, django_user_model) -> dict[str, str]:
    job = factories.succeeded_job(alice_org)
    auditor = django_user_model.objects.create_user("erin")
    grant, _ = services.grant_auditor(alice_org, auditor_user=auditor)
    return {
        "model": str(job.model_id),
        "dataset": str(factories.ready_dataset(alice_org).pk),
        "job": str(job.pk),
        "queued": str(factories.job(alice_org, model=job.model).pk),
        "grant": str(grant.pk),
        "key": services.create_api_key(alice_org, "victim", ["read"]).api_key.prefix,
    }


@pytest.fixture
def unchanged(objects):
    """Checks, after the test, that nothing any refused request named has changed."""
    yield
    assert Job.objects.get(pk=objects["queued"]).status == Job.Status.QUEUED
    assert AuditorGrant.objects.filter(pk=objects["grant"]).exists()
    assert ApiKey.objects.get(prefix=objects["key"]).revoked_at is None


def call(api_client, method: str, path: str, **headers):
    return getattr(api_client, method)(path, **headers)


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response.json()["error"]["code"] == code


@pytest.mark.parametrize("endpoint", OBJECT_ENDPOINTS, ids=endpoint_id)
def test_another_organisations_object_is_not_found(
    api_client, charlie, issue_key, objects, unchanged, endpoint
):
    method, path, _ = endpoint
    outsider_key = issue_key("Charlie Corp", scopes=SCOPES)
    path = path.format(**objects)

    by_key = call(api_client, method, path, **bearer(outsider_key))
    api_client.force_login(charlie)
    by_owner = call(api_client, method, path)

    assert_error(by_key, 404, "not_found")
    assert_error(by_owner, 404, "not_found")


@pytest.mark.parametrize("endpoint", OBJECT_ENDPOINTS, ids=endpoint_id)
def test_a_key_without_the_scope_is_forbidden_the_object(
    api_client, issue_key, objects, unchanged, endpoint
):
    method, path, needed = endpoint
    key = issue_key("Alice Labs", scopes=tuple(scope for scope in SCOPES if scope != needed))

    response = call(api_client, method, path.format(**objects), **bearer(key))

    assert_error(response, 403, "permission_denied")


@pytest.mark.parametrize("endpoint", COLLECTION_ENDPOINTS, ids=endpoint_id)
def test_a_key_without_the_scope_is_forbidden_the_collection(
    api_client, issue_key, objects, unchanged, endpoint
):
    method, path, needed = endpoint
    key = issue_key("Alice Labs", scopes=tuple(scope for scope in SCOPES if scope != needed))

    response = call(api_client, method, path, **bearer(key))

    assert_error(response, 403, "permission_denied")


@pytest.mark.parametrize(
    "endpoint",
    [e for e in OBJECT_ENDPOINTS + COLLECTION_ENDPOINTS if e[2] == "admin"],
    ids=endpoint_id,
)
def test_a_member_is_forbidden_what_only_owners_do(api_client, bob, objects, unchanged, endpoint):
    method, path, _ = endpoint
    api_client.force_login(bob)

    assert_error(call(api_client, method, path.format(**objects)), 403, "permission_denied")


@pytest.mark.parametrize(
    "endpoint",
    [e for e in OBJECT_ENDPOINTS + COLLECTION_ENDPOINTS if e[2] != "read"],
    ids=endpoint_id,
)
def test_an_auditor_is_forbidden_every_change(
    api_client, alice_org, django_user_model, objects, unchanged, endpoint
):
    method, path, _ = endpoint
    auditor = django_user_model.objects.create_user("frank")
    services.add_member(alice_org, auditor, "auditor")
    api_client.force_login(auditor)

    assert_error(call(api_client, method, path.format(**objects)), 403, "permission_denied")


@pytest.mark.parametrize("path", LISTS + ["/api/v1/api-keys/"])
def test_lists_never_show_another_organisations_objects(
    api_client, charlie_org, issue_key, objects, path
):
    own_job = factories.job(charlie_org)
    key = issue_key("Charlie Corp", scopes=SCOPES)

    listed = api_client.get(path, **bearer(key)).json()["results"]

    assert all(item.get("organisation") == "Charlie Corp" for item in listed), listed
    assert not {str(item["id"]) for item in listed} & set(objects.values())
    if path == "/api/v1/jobs/":
        assert [item["id"] for item in listed] == [str(own_job.pk)]


@pytest.mark.parametrize("state", ["expired", "revoked"])
@pytest.mark.parametrize("endpoint", OBJECT_ENDPOINTS + COLLECTION_ENDPOINTS, ids=endpoint_id)
def test_an_expired_or_revoked_key_is_refused_everywhere(
    api_client, alice_org, objects, unchanged, state, endpoint
):
    method, path, _ = endpoint
    expires_at = timezone.now() - timedelta(seconds=1) if state == "expired" else None
    issued = services.create_api_key(alice_org, state, SCOPES, expires_at)
    if state == "revoked":
        services.revoke_api_key(issued.api_key)

    response = call(api_client, method, path.format(**objects), **bearer(issued.raw_key))

    assert_error(response, 401, "authentication_failed")
    assert state in response.json()["error"]["message"]

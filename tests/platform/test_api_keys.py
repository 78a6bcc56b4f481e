"""API keys: ``Authorization: Bearer vml_<prefix>_<secret>``, stored only as a hash."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from veriml.accounts import services
from veriml.accounts.models import ApiKey

ME = "/api/v1/me/"


def bearer(key: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def test_a_valid_key_authenticates_as_its_organisation(api_client, alice, issue_key):
    key = issue_key("Alice Labs", scopes=("read", "submit"))

    response = api_client.get(ME, **bearer(key))

    assert response.status_code == 200
    body = response.json()
    assert body["kind"] == "api_key"
    assert body["organisation"] == "Alice Labs"
    assert body["api_key"]["scopes"] == ["read", "submit"]
    assert body["api_key"]["prefix"] == key.split("_")[1]


def test_it_records_when_a_key_was_last_used(api_client, alice, issue_key):
    key = issue_key("Alice Labs")
    api_key = ApiKey.objects.get(prefix=key.split("_")[1])
    assert api_key.last_used_at is None

    api_client.get(ME, **bearer(key))

    api_key.refresh_from_db()
    assert api_key.last_used_at is not None


def test_it_shows_a_caller_only_its_own_organisation(api_client, alice, charlie, issue_key):
    alice_key = issue_key("Alice Labs")
    charlie_key = issue_key("Charlie Corp")

    assert api_client.get(ME, **bearer(alice_key)).json()["organisation"] == "Alice Labs"
    assert api_client.get(ME, **bearer(charlie_key)).json()["organisation"] == "Charlie Corp"


def test_it_rejects_a_key_with_the_wrong_secret(api_client, alice, issue_key):
    key = issue_key("Alice Labs")
    tampered = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")

    response = api_client.get(ME, **bearer(tampered))

    assert response.status_code == 401
    assert response.json()["error"] == {
        "code": "authentication_failed",
        "message": "Invalid API key.",
        "details": {},
    }
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "presented",
    ["vml_unknown1_secret", "not-a-key", "vml_short_secret", "vml_abcdefgh_"],
)
def test_it_rejects_unknown_and_malformed_keys(api_client, db, presented):
    response = api_client.get(ME, **bearer(presented))

    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Invalid API key."


def test_it_rejects_an_expired_key(api_client, alice, issue_key):
    key = issue_key("Alice Labs", expires_at=timezone.now() - timedelta(seconds=1))

    response = api_client.get(ME, **bearer(key))

    assert response.status_code == 401
    assert response.json()["error"]["message"] == "API key has expired."


def test_it_asks_for_credentials_when_the_header_is_missing(api_client, db):
    response = api_client.get(ME)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_it_rejects_a_bearer_header_without_a_key(api_client, db):
    response = api_client.get(ME, HTTP_AUTHORIZATION="Bearer ")

    assert response.status_code == 401


def test_a_signed_in_user_sees_their_memberships(api_client, alice, bob, charlie):
    api_client.force_login(bob)

    body = api_client.get(ME).json()

    assert body["kind"] == "user"
    assert body["username"] == "bob"
    assert body["memberships"] == [{"organisation": "Alice Labs", "role": "member"}]


def test_only_a_hash_of_the_secret_is_stored(alice):
    organisation = alice.memberships.get().organisation
    issued = services.create_api_key(organisation, "ci", ["read"])
    tag, prefix, secret = issued.raw_key.split("_", 2)

    assert tag == "vml"
    assert len(prefix) == services.PREFIX_LENGTH
    assert issued.api_key.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in issued.api_key.secret_hash


def test_it_refuses_unknown_scopes(alice):
    organisation = alice.memberships.get().organisation
    with pytest.raises(ValueError, match="unknown scope"):
        services.create_api_key(organisation, "ci", ["read", "delete-everything"])


def test_an_administrator_lists_the_keys_without_their_secrets(api_client, alice, issue_key):
    admin_key = issue_key("Alice Labs", scopes=("admin",))
    issue_key("Alice Labs", scopes=("read",))

    body = api_client.get("/api/v1/api-keys/", **bearer(admin_key)).json()

    assert {item["id"] for item in body["results"]} == {key.prefix for key in ApiKey.objects.all()}
    assert all(set(item) == {
        "id", "name", "organisation", "scopes", "created_at", "expires_at", "last_used_at",
        "revoked_at",
    } for item in body["results"])  # fmt: skip
    assert admin_key.split("_", 2)[2] not in str(body)


def test_a_revoked_key_is_refused_from_then_on(api_client, alice, issue_key):
    admin_key = issue_key("Alice Labs", scopes=("admin",))
    key = issue_key("Alice Labs", scopes=("read",))
    prefix = key.split("_")[1]
    assert api_client.get(ME, **bearer(key)).status_code == 200

    revoked = api_client.post(f"/api/v1/api-keys/{prefix}/revoke", **bearer(admin_key))
    again = api_client.post(f"/api/v1/api-keys/{prefix}/revoke", **bearer(admin_key))
    refused = api_client.get(ME, **bearer(key))

    assert revoked.status_code == 200, revoked.json()
    assert revoked.json()["revoked_at"] is not None
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]
    assert refused.status_code == 401
    assert refused.json()["error"]["message"] == "API key has been revoked."


def test_a_key_can_revoke_itself(api_client, alice, issue_key):
    key = issue_key("Alice Labs", scopes=("admin",))

    response = api_client.post(f"/api/v1/api-keys/{key.split('_')[1]}/revoke", **bearer(key))

    assert response.status_code == 200
    assert api_client.get(ME, **bearer(key)).status_code == 401


def test_an_owner_revokes_a_key_but_a_member_cannot(api_client, alice, bob, issue_key):
    prefix = issue_key("Alice Labs").split("_")[1]

    api_client.force_login(bob)
    by_member = api_client.post(f"/api/v1/api-keys/{prefix}/revoke")
    api_client.force_login(alice)
    by_owner = api_client.post(f"/api/v1/api-keys/{prefix}/revoke")

    assert by_member.status_code == 403
    assert by_owner.status_code == 200
    assert ApiKey.objects.get(prefix=prefix).is_revoked


@pytest.mark.parametrize("name", ["nosuchky", "short", "ABCDEFGH", "a%00bcdefg"])
def test_revoking_an_unknown_key_is_not_found(api_client, alice, issue_key, name):
    key = issue_key("Alice Labs", scopes=("admin",))

    response = api_client.post(f"/api/v1/api-keys/{name}/revoke", **bearer(key))

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"

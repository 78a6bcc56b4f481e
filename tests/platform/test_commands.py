"""Management commands that create organisations, demo accounts and API keys."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from veriml.accounts import services
from veriml.accounts.models import ApiKey, Membership, Organisation


def run_command(*args: str) -> list[str]:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().splitlines()


def test_create_api_key_creates_the_organisation_and_prints_the_key_last(db):
    lines = run_command("create_api_key", "--org", "Acme", "--scopes", "read,submit")

    key = lines[-1]
    api_key = services.authenticate_api_key(key)
    assert api_key.organisation.name == "Acme"
    assert api_key.scopes == ["read", "submit"]
    assert api_key.expires_at is None
    assert "Created organisation Acme." in lines


def test_create_api_key_reuses_an_existing_organisation(db):
    run_command("create_api_key", "--org", "Acme")
    lines = run_command("create_api_key", "--org", "Acme", "--name", "ci", "--expires-in-days", "7")

    assert Organisation.objects.filter(name="Acme").count() == 1
    assert ApiKey.objects.filter(organisation__name="Acme").count() == 2
    assert services.authenticate_api_key(lines[-1]).expires_at is not None
    assert "Created organisation" not in "\n".join(lines)


def test_create_api_key_refuses_unknown_scopes(db):
    with pytest.raises(CommandError, match="unknown scope"):
        run_command("create_api_key", "--org", "Acme", "--scopes", "read,root")
    assert not Organisation.objects.exists()


def test_bootstrap_demo_prints_credentials_only_when_it_creates_them(db):
    first = "\n".join(run_command("bootstrap_demo"))
    second = "\n".join(run_command("bootstrap_demo"))

    user = User.objects.get(username="demo")
    password = first.split("Demo login: demo / ")[1].splitlines()[0]
    assert user.check_password(password)
    key = first.split("Demo API key (shown only now): ")[1].splitlines()[0]
    assert services.authenticate_api_key(key).organisation.name == "Demo"
    assert Membership.objects.get(user=user).role == Membership.Role.OWNER

    assert password not in second
    assert "vml_" not in second
    assert ApiKey.objects.filter(organisation__name="Demo").count() == 1
    assert User.objects.filter(username="demo").count() == 1


def test_revoke_api_key_refuses_the_key_from_then_on(db):
    key = run_command("create_api_key", "--org", "Acme")[-1]

    lines = run_command("revoke_api_key", key.split("_")[1])
    again = run_command("revoke_api_key", key)

    with pytest.raises(services.RevokedApiKey):
        services.authenticate_api_key(key)
    assert "is revoked" in lines[-1]
    assert "was already revoked" in again[-1]


def test_revoke_api_key_names_an_unknown_prefix(db):
    with pytest.raises(CommandError, match="no API key"):
        run_command("revoke_api_key", "nosuchky")

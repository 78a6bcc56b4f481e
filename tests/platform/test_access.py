"""Roles, scopes and auditor grants: who may read, submit and administer what."""

from __future__ import annotations

import pytest

from tests.platform import factories
from tests.platform.helpers import bearer
from veriml.accounts import services
from veriml.accounts.access import Right, caller_for_api_key, caller_for_user
from veriml.accounts.models import ApiKey, AuditorGrant, Membership

GRANTS = "/api/v1/auditor-grants/"
SECRET = "/api/v1/callback-secret/"
JOBS = "/api/v1/jobs/"


@pytest.mark.parametrize(
    ("role", "rights"),
    [
        ("owner", {"read", "audit", "submit", "admin"}),
        ("member", {"read", "audit", "submit"}),
        ("auditor", {"audit"}),
    ],
)
def test_each_role_has_its_rights(alice_org, django_user_model, role, rights):
    user = django_user_model.objects.create_user(f"{role}-user")
    services.add_member(alice_org, user, role)

    caller = caller_for_user(user.pk, user.username)

    assert {right.value for right in caller.rights[alice_org.pk]} == rights


@pytest.mark.parametrize(
    ("scopes", "rights"),
    [
        (["read"], {"read", "audit"}),
        (["submit"], {"submit"}),
        (["admin"], {"admin"}),
        (["read", "submit", "admin"], {"read", "audit", "submit", "admin"}),
    ],
)
def test_each_api_key_scope_gives_its_rights(alice_org, scopes, rights):
    key = services.create_api_key(alice_org, "k", scopes).api_key

    caller = caller_for_api_key(ApiKey.objects.get(pk=key.pk))

    assert {right.value for right in caller.rights[alice_org.pk]} == rights


def test_an_owner_grants_an_organisation_audit_access(api_client, alice, charlie):
    api_client.force_login(alice)

    response = api_client.post(GRANTS, {"auditor_organisation": "Charlie Corp"}, format="json")
    again = api_client.post(GRANTS, {"auditor_organisation": "Charlie Corp"}, format="json")
    listed = api_client.get(GRANTS).json()["results"]

    assert response.status_code == 201, response.json()
    assert response.json()["auditor_organisation"] == "Charlie Corp"
    assert again.status_code == 200
    assert [grant["id"] for grant in listed] == [response.json()["id"]]


def test_a_member_cannot_grant_audit_access(api_client, bob, charlie):
    api_client.force_login(bob)

    response = api_client.post(GRANTS, {"auditor_organisation": "Charlie Corp"}, format="json")

    assert response.status_code == 403
    assert not AuditorGrant.objects.exists()


def test_a_grant_names_exactly_one_known_auditor(api_client, alice, charlie):
    api_client.force_login(alice)

    neither = api_client.post(GRANTS, {}, format="json")
    both = api_client.post(
        GRANTS,
        {"auditor_organisation": "Charlie Corp", "auditor_username": "charlie"},
        format="json",
    )
    unknown = api_client.post(GRANTS, {"auditor_username": "mallory"}, format="json")
    itself = api_client.post(GRANTS, {"auditor_organisation": "Alice Labs"}, format="json")

    assert [r.status_code for r in (neither, both, unknown, itself)] == [400, 400, 404, 400]


def test_an_auditor_organisation_reads_granted_jobs_and_proofs_but_changes_nothing(
    api_client, alice_org, charlie_org, issue_key
):
    job = factories.succeeded_job(alice_org)
    model = job.model
    charlie_key = issue_key("Charlie Corp", scopes=("read", "submit"))
    before = api_client.get(f"{JOBS}{job.pk}/", **bearer(charlie_key))

    services.grant_auditor(alice_org, auditor_organisation=charlie_org)
    detail = api_client.get(f"{JOBS}{job.pk}/", **bearer(charlie_key))
    listed = api_client.get(JOBS, **bearer(charlie_key)).json()["results"]
    proof = api_client.get(f"{JOBS}{job.pk}/proof", **bearer(charlie_key))
    cancel = api_client.post(f"{JOBS}{job.pk}/cancel", **bearer(charlie_key))
    model_detail = api_client.get(f"/api/v1/models/{model.pk}/", **bearer(charlie_key))

    assert before.status_code == 404
    assert detail.status_code == 200
    assert [found["id"] for found in listed] == [str(job.pk)]
    assert proof.status_code == 200
    assert cancel.status_code == 403
    assert model_detail.status_code == 403


def test_an_auditor_key_needs_the_read_scope(api_client, alice_org, charlie_org, issue_key):
    job = factories.job(alice_org)
    services.grant_auditor(alice_org, auditor_organisation=charlie_org)
    submit_only = issue_key("Charlie Corp", scopes=("submit",))

    assert api_client.get(f"{JOBS}{job.pk}/", **bearer(submit_only)).status_code == 404


def test_a_grant_to_one_user_lets_that_user_audit(api_client, alice_org, django_user_model):
    auditor = django_user_model.objects.create_user("erin")
    job = factories.job(alice_org)
    services.grant_auditor(alice_org, auditor_user=auditor)
    api_client.force_login(auditor)

    assert api_client.get(f"{JOBS}{job.pk}/").status_code == 200
    assert api_client.post(f"{JOBS}{job.pk}/cancel").status_code == 403


def test_withdrawing_a_grant_ends_the_access(api_client, alice, alice_org, charlie_org, issue_key):
    job = factories.job(alice_org)
    grant, _ = services.grant_auditor(alice_org, auditor_organisation=charlie_org)
    charlie_key = issue_key("Charlie Corp")
    api_client.force_login(alice)

    response = api_client.delete(f"{GRANTS}{grant.pk}/")
    api_client.logout()

    assert response.status_code == 204
    assert api_client.get(f"{JOBS}{job.pk}/", **bearer(charlie_key)).status_code == 404


def test_only_the_granting_owner_can_withdraw_a_grant(
    api_client, alice_org, charlie, django_user_model
):
    auditor = django_user_model.objects.create_user("erin")
    grant, _ = services.grant_auditor(alice_org, auditor_user=auditor)

    api_client.force_login(charlie)
    as_outsider = api_client.delete(f"{GRANTS}{grant.pk}/")
    api_client.force_login(auditor)
    as_auditor = api_client.delete(f"{GRANTS}{grant.pk}/")

    assert as_outsider.status_code == 404
    assert as_auditor.status_code == 403
    assert AuditorGrant.objects.filter(pk=grant.pk).exists()


def test_an_owner_reads_and_rotates_the_callback_secret(api_client, alice):
    api_client.force_login(alice)

    first = api_client.get(SECRET).json()
    again = api_client.get(SECRET).json()
    rotated = api_client.post(SECRET).json()

    assert first["secret"].startswith("whsec_")
    assert again["secret"] == first["secret"]
    assert rotated["secret"] != first["secret"]
    assert rotated["signature_header"] == "X-VeriML-Signature"


@pytest.mark.parametrize("scopes", [("read",), ("read", "submit")])
def test_the_callback_secret_needs_the_admin_scope(api_client, alice, issue_key, scopes):
    key = issue_key("Alice Labs", scopes=scopes)

    assert api_client.get(SECRET, **bearer(key)).status_code == 403
    assert api_client.get(SECRET, **bearer(issue_key("Alice Labs", ("admin",)))).status_code == 200


def test_a_member_cannot_read_the_callback_secret(api_client, bob):
    api_client.force_login(bob)

    assert api_client.get(SECRET).status_code == 403


def test_roles_can_be_given_to_users(alice_org, django_user_model):
    user = django_user_model.objects.create_user("frank")
    membership = services.add_member(alice_org, user, Membership.Role.AUDITOR)

    assert caller_for_user(user.pk, "frank").can(Right.AUDIT, alice_org.pk)
    assert not caller_for_user(user.pk, "frank").can(Right.READ, alice_org.pk)
    assert membership.role == "auditor"

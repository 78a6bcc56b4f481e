"""The compliance page: owners change privacy defaults and minimums with a reason, through the
same service as the API; members and auditors read; outsiders get 404."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from compliance.audit_log.models import AuditEntry
from compliance.privacy import services as privacy
from compliance.privacy.models import ToggleChange
from tests.platform.test_dashboard import signed_in
from veriml.accounts import services as accounts
from veriml.accounts.models import Membership, Organisation

PAGE = "/compliance/"
AS_STORED = {
    "default_weights": "public",
    "default_input": "public",
    "default_output": "public",
    "minimum_weights": "public",
    "minimum_input": "public",
    "minimum_output": "public",
}


def settings_post(**fields: str) -> dict[str, str]:
    return {"organisation": "Alice Labs", **AS_STORED, **fields}


def past_second_factor(user: User) -> Client:
    """A client of a PHI organisation's user, signed in with both factors."""
    client = signed_in(user)
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    session = client.session
    session["otp_device_id"] = device.persistent_id
    session.save()
    return client


@pytest.fixture
def dana(alice_org) -> User:
    user = User.objects.create_user("dana", "dana@example.com", "dana-password-1")
    accounts.add_member(alice_org, user, Membership.Role.AUDITOR)
    return user


@pytest.fixture
def phi_org(alice_org) -> Organisation:
    alice_org.handles_phi = True
    alice_org.save()
    return alice_org


def test_an_owner_changes_a_default_and_a_minimum_and_both_logs_record_it(alice, alice_org):
    client = signed_in(alice)

    response = client.post(
        PAGE,
        settings_post(
            default_weights="private", minimum_output="private", reason="Contract with Acme"
        ),
    )
    page = client.get(PAGE).content.decode()

    assert response.status_code == 302
    assert response["Location"] == PAGE
    changes = list(ToggleChange.objects.order_by("setting", "part"))
    assert [(c.setting, c.part, c.old_value, c.new_value) for c in changes] == [
        ("default", "weights", "public", "private"),
        ("minimum", "output", "public", "private"),
    ]
    assert {(c.actor, c.reason) for c in changes} == {(f"user:{alice.pk}", "Contract with Acme")}
    logged = AuditEntry.objects.filter(action="privacy.toggle_changed").order_by("sequence")
    assert [(e.details["part"], e.details["old"], e.details["new"]) for e in logged] == [
        ("output", "public", "private"),
        ("weights", "public", "private"),
    ]
    assert {e.details["reason"] for e in logged} == {"Contract with Acme"}
    assert privacy.defaults(alice_org)["weights"] == "private"
    assert privacy.minimums(alice_org)["output"] == "private"
    assert "Saved 2 changes to the privacy settings of Alice Labs." in page
    assert page.count("public → private") == 2
    assert "Contract with Acme" in page and "<td>alice</td>" in page


def test_a_change_without_a_reason_is_shown_inline_and_changes_nothing(alice):
    response = signed_in(alice).post(PAGE, settings_post(default_weights="private", reason=" "))

    page = response.content.decode()
    assert response.status_code == 400
    assert "data-field-error" in page
    assert 'name="reason" rows="2" required maxlength="2000" aria-invalid="true"' in page
    assert '<select name="default_weights"><option>public</option><option selected>' in page
    assert not ToggleChange.objects.exists()


def test_a_value_other_than_public_or_private_is_refused_inline(alice):
    response = signed_in(alice).post(PAGE, settings_post(default_input="secret", reason="x"))

    assert response.status_code == 400
    assert "Choose public or private." in response.content.decode()
    assert not ToggleChange.objects.exists()


def test_saving_unchanged_settings_records_nothing_and_says_so(alice):
    client = signed_in(alice)

    client.post(PAGE, settings_post(reason="Review"))

    assert not ToggleChange.objects.exists()
    assert "Nothing changed" in client.get(PAGE).content.decode()


@pytest.mark.parametrize("persona", ["bob", "dana"])
def test_members_and_auditors_read_the_settings_without_a_form_and_cannot_post(
    request, persona, alice_org
):
    client = signed_in(request.getfixturevalue(persona))

    page = client.get(PAGE).content.decode()
    forged = client.post(PAGE, settings_post(minimum_input="private", reason="sneaky"))

    assert "Alice Labs" in page and "data-read-only" in page
    assert "data-privacy-form" not in page and 'name="reason"' not in page
    assert forged.status_code == 403
    assert not ToggleChange.objects.exists()
    assert privacy.minimums(alice_org)["input"] == "public"


def test_an_outsider_gets_404_and_never_sees_the_organisation(alice_org, charlie):
    client = signed_in(charlie)

    forged = client.post(PAGE, settings_post(minimum_input="private", reason="sneaky"))
    page = client.get(PAGE).content.decode()

    assert forged.status_code == 404
    assert "Alice Labs" not in page and "Charlie Corp" in page
    assert not ToggleChange.objects.exists()


def test_a_post_without_the_csrf_token_is_refused(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)

    response = client.post(PAGE, settings_post(minimum_input="private", reason="Audit"))

    assert response.status_code == 403
    assert not ToggleChange.objects.exists()


def test_a_phi_organisation_cannot_lower_its_input_minimum(alice, phi_org):
    client = past_second_factor(alice)

    page = client.get(PAGE).content.decode()
    forged = client.post(PAGE, settings_post(reason="Lower it"))

    assert 'name="minimum_input"' not in page and 'name="minimum_output"' in page
    assert "Cannot be lowered: Alice Labs handles PHI (HIPAA)" in page
    assert forged.status_code == 400
    assert "handles PHI: the minimum of input stays private" in forged.content.decode()
    assert not ToggleChange.objects.exists()
    assert privacy.minimums(phi_org)["input"] == "private"


def test_the_page_shows_the_region_policy_and_who_changes_region_and_phi(alice, alice_org):
    alice_org.region = "eu"
    alice_org.save()

    page = signed_in(alice).get(PAGE).content.decode()

    assert "data-policy-version>eu-2026.1<" in page
    assert "European Union" in page and "unused uploads kept 365 days" in page
    assert "the defaults are those of policy eu-2026.1" in page
    assert '<select name="default_input"><option>public</option><option selected>' in page
    assert "set by VeriML's operators" in page
    assert 'name="region"' not in page and 'name="handles_phi"' not in page

"""Sign-in security: TOTP required for PHI organisations, lockout after repeated failures,
logoff after idle minutes, and every such event in the audit log."""

from __future__ import annotations

import time

import pytest
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from compliance.audit_log.models import AuditEntry
from frontend.middleware import BACKGROUND_HEADER, LAST_ACTIVITY

PASSWORD = "alice-password-1"


@pytest.fixture
def phi_org(alice_org):
    alice_org.handles_phi = True
    alice_org.save()
    return alice_org


def sign_in(client: Client, password: str = PASSWORD, username: str = "alice"):
    return client.post("/signin/", {"username": username, "password": password})


def token_of(device: TOTPDevice, offset_steps: int = 0) -> str:
    generator = TOTP(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    generator.time = time.time() + offset_steps * device.step
    return f"{generator.token():06d}"


def actions(user_id: int | None = None) -> list[str]:
    entries = AuditEntry.objects.order_by("sequence")
    if user_id is not None:
        entries = entries.filter(target_id=str(user_id))
    return list(entries.values_list("action", flat=True))


def test_a_user_of_an_organisation_without_phi_signs_in_with_a_password_alone(alice):
    client = Client()

    response = sign_in(client)

    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200
    assert "auth.login" in actions()


@pytest.fixture
def no_code_throttle(settings):
    """django-otp makes a device wait after a wrong code; these tests retry at once."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 0


def test_a_phi_organisations_user_must_enrol_a_totp_device_before_anything(
    alice, phi_org, no_code_throttle
):
    client = Client()

    response = sign_in(client)
    assert response["Location"] == "/signin/mfa/enrol/"
    # Between password and code the user is not signed in, for the pages or the API.
    assert client.get("/").status_code == 302
    assert client.get("/api/v1/models/").status_code in (401, 403)
    page = client.get("/signin/mfa/enrol/").content.decode()
    device = TOTPDevice.objects.get(user=alice, confirmed=False)
    assert "otpauth://totp/" in page and "issuer=VeriML" in page
    assert client.post("/signin/mfa/enrol/", {"token": "000000"}).status_code == 200
    assert client.get("/").status_code == 302

    done = client.post("/signin/mfa/enrol/", {"token": token_of(device)})

    assert done.status_code == 302 and done["Location"] == "/"
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/models/").status_code == 200
    assert TOTPDevice.objects.get(user=alice).confirmed
    assert "auth.mfa_enrolled" in actions(alice.pk)


def test_a_phi_user_with_a_device_must_give_a_valid_code(alice, phi_org, no_code_throttle):
    device = TOTPDevice.objects.create(user=alice, name="phone", confirmed=True)
    client = Client()

    assert sign_in(client)["Location"] == "/signin/mfa/"
    wrong = client.post("/signin/mfa/", {"token": token_of(device, offset_steps=40)})
    assert "not valid" in wrong.content.decode()
    assert client.get("/").status_code == 302
    right = client.post("/signin/mfa/", {"token": token_of(device)})

    assert right["Location"] == "/"
    assert client.get("/").status_code == 200
    assert "auth.mfa_failed" in actions(alice.pk)


def test_a_password_session_is_refused_once_the_organisation_handles_phi(alice, alice_org):
    client = Client()
    sign_in(client)
    alice_org.handles_phi = True
    alice_org.save()

    response = client.get("/")

    assert response.status_code == 302 and response["Location"].startswith("/signin/")
    assert "auth.logout" in actions(alice.pk)


def test_mfa_is_optional_elsewhere_but_asked_for_once_enrolled(alice):
    client = Client()
    sign_in(client)
    client.get("/account/mfa/")
    device = TOTPDevice.objects.get(user=alice)
    assert client.post("/account/mfa/", {"token": token_of(device)}).status_code == 302
    client.post("/signout/")

    again = sign_in(Client())

    assert again["Location"] == "/signin/mfa/"


def test_sign_in_locks_after_five_failures_and_the_lockout_is_recorded(alice, settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    client = Client()
    for _ in range(4):
        failed = sign_in(client, password="wrong")
        assert failed.status_code == 200
        assert "Wrong user name or password" in failed.content.decode()

    fifth = sign_in(client, password="wrong")
    with_right_password = sign_in(client)

    assert fifth.status_code == 429
    assert with_right_password.status_code == 429
    assert client.get("/").status_code == 302
    assert actions().count("auth.login_failed") >= 5
    assert "auth.locked_out" in actions(alice.pk)
    assert "auth.login" not in actions()


def test_failures_below_the_limit_do_not_lock(alice):
    client = Client()
    for _ in range(4):
        sign_in(client, password="wrong")

    assert sign_in(client)["Location"] == "/"


def test_an_idle_session_is_signed_out_after_fifteen_minutes_and_recorded(alice, settings):
    assert settings.SESSION_IDLE_TIMEOUT_SECONDS == 15 * 60
    client = Client()
    sign_in(client)
    assert client.get("/").status_code == 200
    session = client.session
    session[LAST_ACTIVITY] = time.time() - 15 * 60 - 1
    session.save()

    response = client.get("/")

    assert response.status_code == 302 and response["Location"].startswith("/signin/")
    assert "signed out after 15 idle minutes" in client.get("/signin/").content.decode()
    logout = AuditEntry.objects.get(action="auth.logout")
    assert logout.details == {"reason": "idle"}


def test_activity_within_the_limit_keeps_the_session(alice):
    client = Client()
    sign_in(client)
    session = client.session
    session[LAST_ACTIVITY] = time.time() - 14 * 60
    session.save()

    assert client.get("/").status_code == 200


def test_background_polls_do_not_keep_an_idle_session_alive(alice):
    client = Client()
    sign_in(client)
    session = client.session
    session[LAST_ACTIVITY] = time.time() - 14 * 60
    session.save()
    client.get("/api/v1/jobs/", headers={BACKGROUND_HEADER: "1"})

    assert client.session[LAST_ACTIVITY] < time.time() - 13 * 60


def test_sign_out_is_recorded(alice):
    client = Client()
    sign_in(client)

    client.post("/signout/")

    assert client.get("/").status_code == 302
    assert AuditEntry.objects.get(action="auth.logout").details == {"reason": "signed_out"}


def test_a_right_code_straight_after_a_wrong_one_waits_for_the_throttle(alice, phi_org):
    device = TOTPDevice.objects.create(user=alice, name="phone", confirmed=True)
    client = Client()
    sign_in(client)
    client.post("/signin/mfa/", {"token": token_of(device, offset_steps=40)})

    throttled = client.post("/signin/mfa/", {"token": token_of(device)})

    assert "wait" in throttled.content.decode()
    assert client.get("/").status_code == 302

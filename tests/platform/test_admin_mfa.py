"""The Django admin lets staff in only after a TOTP device has verified them (HIPAA 164.312(d))."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice


@pytest.fixture
def staff(db) -> User:
    return User.objects.create_user(
        "dana", "dana@example.com", "dana-password-1", is_staff=True, is_superuser=True
    )


def token_of(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    return f"{totp.token():0{device.digits}d}"


def sign_in(client: Client, **fields: str):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": "dana", "password": "dana-password-1", **fields},
    )


def test_staff_signed_in_with_a_password_only_are_sent_to_the_admin_sign_in(staff):
    client = Client()
    client.force_login(staff)

    response = client.get("/admin/")

    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_staff_without_a_verified_device_cannot_sign_in_to_the_admin(staff):
    client = Client()
    TOTPDevice.objects.create(user=staff, name="unconfirmed", confirmed=False)

    refused = sign_in(client)
    after = client.get("/admin/")

    # The password is right: the second factor is what is missing.
    assert refused.status_code == 200
    assert "OTP token" in str(refused.context["form"].non_field_errors())
    assert after.status_code == 302


def test_staff_verified_by_their_totp_device_get_into_the_admin(staff):
    client = Client()
    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)

    wrong = sign_in(client, otp_device=device.persistent_id, otp_token="000000")
    # A failure throttles the device for a second: let the right token through at once.
    device.refresh_from_db()
    device.throttle_reset()
    right = sign_in(client, otp_device=device.persistent_id, otp_token=token_of(device))
    index = client.get("/admin/")

    assert wrong.status_code == 200 and wrong.context["form"].errors
    assert right.status_code == 302 and right["Location"] == "/admin/"
    assert index.status_code == 200
    assert client.get("/admin/auth/user/").status_code == 200

"""Second factor (TOTP) enrolment and checks, and the audit entries of sign-in events.

An organisation that handles PHI requires a second factor of all its members (HIPAA
164.312(d)); anyone else may enrol one, and once enrolled it is always asked for.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from compliance import audit_log
from veriml.accounts.models import Membership

DEVICE_NAME = "Authenticator app"


def record_for_user(action: str, user_id: int | None, details: dict[str, Any]) -> None:
    """One entry per organisation of the user, so each organisation's log shows it."""
    organisations = list(
        Membership.objects.filter(user_id=user_id).values_list("organisation_id", flat=True)
    )
    actor = f"user:{user_id}" if user_id is not None else "anonymous"
    target = ("user", str(user_id) if user_id is not None else "")
    with transaction.atomic():
        for organisation in organisations or [None]:
            audit_log.record(
                action, actor=actor, organisation=organisation, target=target, details=details
            )


def mfa_required(user: AbstractBaseUser) -> bool:
    return Membership.objects.filter(user_id=user.pk, organisation__handles_phi=True).exists()


def confirmed_device(user: AbstractBaseUser) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).first()


def mfa_needed(user: AbstractBaseUser) -> bool:
    return mfa_required(user) or confirmed_device(user) is not None


def enrolment_device(user: AbstractBaseUser) -> TOTPDevice:
    """The user's device awaiting confirmation, made on first call; its secret is shown once
    per enrolment page until a token from it confirms it."""
    with transaction.atomic():
        device = TOTPDevice.objects.filter(user_id=user.pk, confirmed=False).first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return device


def confirm_enrolment(user: AbstractBaseUser, device: TOTPDevice, token: str) -> bool:
    with transaction.atomic():
        if not device.verify_token(token.strip()):
            return False
        TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        record_for_user("auth.mfa_enrolled", user.pk, {"device": "totp"})
    return True


class TokenThrottled(Exception):
    """Wrong codes came too fast: django-otp makes the device wait, doubling each time."""


def check_token(user: AbstractBaseUser, token: str) -> TOTPDevice | None:
    """The device the token is valid for; a wrong token is recorded. Raises ``TokenThrottled``
    while the device waits after wrong codes."""
    device = confirmed_device(user)
    if device is not None:
        allowed, _ = device.verify_is_allowed()
        if not allowed:
            raise TokenThrottled()
        if device.verify_token(token.strip()):
            return device
    record_for_user("auth.mfa_failed", user.pk, {})
    return None

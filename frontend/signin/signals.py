"""Sign-outs and lockouts in the audit log (sign-ins and failures are recorded by the audit
log app itself)."""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_out

from frontend.signin.services import record_for_user

USERNAME_MAX = 150


def _logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is None:
        return
    reason = getattr(request, "veriml_signout_reason", "signed_out")
    record_for_user("auth.logout", user.pk, {"reason": reason})


def _locked_out(sender: Any, request: Any, username: str, ip_address: str, **_: Any) -> None:
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(username=username).first()
    record_for_user(
        "auth.locked_out",
        user.pk if user else None,
        {"username": str(username)[:USERNAME_MAX], "ip_address": ip_address},
    )


def connect() -> None:
    user_logged_out.connect(_logged_out, dispatch_uid="frontend.logged_out")
    user_locked_out.connect(_locked_out, dispatch_uid="frontend.locked_out")

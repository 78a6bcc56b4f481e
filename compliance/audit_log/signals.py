"""Sign-ins and failed sign-ins, from Django's authentication signals."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_login_failed

from compliance.audit_log import record

USERNAME_MAX = 150


def _logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    record(
        "auth.login",
        actor=f"user:{user.pk}",
        organisation=None,
        target=("user", str(user.pk)),
        details={},
    )


def _login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **_: Any) -> None:
    # Django has already masked the password; only the name tried is kept.
    username = str(credentials.get("username", ""))[:USERNAME_MAX]
    record(
        "auth.login_failed",
        actor="anonymous",
        organisation=None,
        target=("user", username),
        details={},
    )


def connect() -> None:
    user_logged_in.connect(_logged_in, dispatch_uid="audit_log.logged_in")
    user_login_failed.connect(_login_failed, dispatch_uid="audit_log.login_failed")

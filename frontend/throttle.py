"""The API's request rates, applied to dashboard pages that do the API's work.

The public verify page does what ``POST /api/v1/verify`` does, so it counts against the same
throttles and the same buckets (per address for strangers, per user when signed in): switching
between the page and the API gains no one extra verifications.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request
from rest_framework.settings import api_settings


class _DashboardSession(BaseAuthentication):
    """The user Django's middleware already signed in (and whose post it already checked for
    CSRF), so the throttles key on them as the API's session authentication would."""

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        user = request._request.user
        return (user, None) if user.is_authenticated else None


def seconds_to_wait(request: HttpRequest) -> float | None:
    """None when the API's throttles let this request through; else the longest wait asked,
    as DRF's ``APIView.check_throttles`` counts it (every throttle sees every request)."""
    api_request = Request(request, authenticators=[_DashboardSession()])
    waits = [
        throttle.wait() or 0.0
        for throttle in (cls() for cls in api_settings.DEFAULT_THROTTLE_CLASSES)
        if not throttle.allow_request(api_request, None)
    ]
    return max(waits) if waits else None

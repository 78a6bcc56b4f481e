"""Automatic logoff after idle minutes (HIPAA 164.312(a)(2)(iii)).

Every request of a signed-in session counts as activity except the dashboard's own background
polls (marked ``X-VeriML-Background``), so a page left open on a running job still signs out.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

LAST_ACTIVITY = "veriml_last_activity"
SIGNED_OUT_IDLE = "veriml_signed_out_idle"
BACKGROUND_HEADER = "X-VeriML-Background"


class IdleTimeoutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = time.time()
            last = request.session.get(LAST_ACTIVITY)
            if last is not None and now - float(last) > settings.SESSION_IDLE_TIMEOUT_SECONDS:
                request.veriml_signout_reason = "idle"  # type: ignore[attr-defined]
                logout(request)
                request.session[SIGNED_OUT_IDLE] = True
            elif last is None or not request.headers.get(BACKGROUND_HEADER):
                request.session[LAST_ACTIVITY] = now
        return self.get_response(request)

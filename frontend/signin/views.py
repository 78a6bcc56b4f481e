"""Sign-in with password, then (where needed) a TOTP token; enrolment of the token app.

Between the password and the token the user is only *pending* in the session: not signed in,
so neither the dashboard nor the API (session authentication) answers for them yet.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model, login, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from frontend.access import signed_in
from frontend.middleware import SIGNED_OUT_IDLE
from frontend.signin import services

PENDING = "veriml_signin_pending"


def _next_url(request: HttpRequest, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("frontend:overview")


def _pending_user(request: HttpRequest) -> Any:
    pending = request.session.get(PENDING)
    if not pending:
        return None
    return get_user_model().objects.filter(pk=pending["user"], is_active=True).first()


def _finish(request: HttpRequest, user: Any, device: Any = None) -> HttpResponse:
    pending = request.session.pop(PENDING, None) or {}
    backend = pending.get("backend") or getattr(user, "backend", None)
    login(request, user, backend=backend)
    if device is not None:
        otp_login(request, device)
    return redirect(_next_url(request, pending.get("next")))


@never_cache
def signin(request: HttpRequest) -> HttpResponse:
    from django.contrib.auth import authenticate

    context: dict[str, Any] = {
        "next": request.POST.get("next") or request.GET.get("next", ""),
        "idle": request.session.pop(SIGNED_OUT_IDLE, False),
        "idle_minutes": settings.SESSION_IDLE_TIMEOUT_SECONDS // 60,
    }
    if request.method == "POST":
        username = request.POST.get("username", "")[:150]
        user = authenticate(request, username=username, password=request.POST.get("password", ""))
        if user is None:
            locked = getattr(request, "axes_locked_out", False)
            context["error"] = (
                "Too many failed sign-ins: this account is locked for a while."
                if locked
                else "Wrong user name or password."
            )
            context["username"] = username
            return render(request, "frontend/signin.html", context, status=429 if locked else 200)
        if not services.mfa_needed(user):
            request.session.pop(PENDING, None)
            return _finish(request, user)
        request.session[PENDING] = {
            "user": user.pk,
            "backend": user.backend,
            "next": context["next"],
        }
        if services.confirmed_device(user) is None:
            return redirect("frontend:mfa-enrol")
        return redirect("frontend:mfa")
    return render(request, "frontend/signin.html", context)


@never_cache
def mfa(request: HttpRequest) -> HttpResponse:
    user = _pending_user(request)
    if user is None:
        return redirect("frontend:signin")
    context: dict[str, Any] = {}
    if request.method == "POST":
        try:
            device = services.check_token(user, request.POST.get("token", ""))
        except services.TokenThrottled:
            context["error"] = "Too many wrong codes: wait a few seconds, then try again."
        else:
            if device is not None:
                return _finish(request, user, device)
            context["error"] = "That code is not valid; try the current one."
    return render(request, "frontend/mfa.html", context)


def _enrolment_page(request: HttpRequest, user: Any, pending: bool) -> HttpResponse:
    device = services.enrolment_device(user)
    context: dict[str, Any] = {
        "device": device,
        "secret": device.config_url.split("secret=")[1].split("&")[0],
        "pending": pending,
        "required": services.mfa_required(user),
    }
    if request.method == "POST":
        if services.confirm_enrolment(user, device, request.POST.get("token", "")):
            if pending:
                return _finish(request, user, device)
            otp_login(request, device)
            return redirect("frontend:overview")
        context["error"] = "That code is not valid; check the time on your phone and try again."
    response = render(request, "frontend/mfa_enrol.html", context)
    response["Cache-Control"] = "no-store"
    return response


@never_cache
def mfa_enrol(request: HttpRequest) -> HttpResponse:
    """Enrolment during sign-in (a PHI organisation's user without a device yet)."""
    user = _pending_user(request)
    if user is None:
        return redirect("frontend:signin")
    if services.confirmed_device(user) is not None:
        return redirect("frontend:mfa")
    return _enrolment_page(request, user, pending=True)


@never_cache
@signed_in
def account_mfa(request: HttpRequest) -> HttpResponse:
    """Optional enrolment (or replacement) for a signed-in user."""
    return _enrolment_page(request, request.user, pending=False)


@require_POST
def signout(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("frontend:signin")

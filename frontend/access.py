"""Who the signed-in user is to the dashboard: the same rights as the API (accounts.access)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from rest_framework import exceptions

from frontend.signin.services import mfa_required
from veriml.accounts.access import Caller, Right, caller_for_user
from veriml.accounts.models import Organisation
from veriml.core.api import visible_object

Row = TypeVar("Row", bound=Model)
View = Callable[..., HttpResponse]


def caller(request: HttpRequest) -> Caller:
    cached = getattr(request, "_veriml_caller", None)
    if cached is None:
        cached = caller_for_user(request.user.pk, request.user.get_username())
        request._veriml_caller = cached  # type: ignore[attr-defined]
    return cached


def signed_in(view: View) -> View:
    """Signed in, and past the second factor where the organisation requires one."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if mfa_required(request.user) and not request.user.is_verified():  # type: ignore[attr-defined]
            request.veriml_signout_reason = "mfa_missing"  # type: ignore[attr-defined]
            logout(request)
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapped


def visible(queryset: QuerySet[Row], pk: str, request: HttpRequest, right: Right, what: str) -> Row:
    """As the API: 404 for what the user cannot see at all, 403 for a missing right."""
    try:
        return visible_object(queryset, pk, caller(request), right, what)
    except exceptions.NotFound:
        raise Http404(f"No such {what}.") from None
    except exceptions.PermissionDenied as denied:
        raise PermissionDenied(str(denied.detail)) from None


def organisations_with(request: HttpRequest, right: Right) -> list[Organisation]:
    return list(Organisation.objects.filter(pk__in=caller(request).organisations_with(right)))


def chosen_organisation(request: HttpRequest, right: Right) -> Organisation:
    """The organisation a form acts for: the one named, or the only one with the right."""
    allowed = organisations_with(request, right)
    if not allowed:
        raise PermissionDenied(f"You lack the {right.value!r} right in every organisation.")
    name = request.POST.get("organisation", "")
    for organisation in allowed:
        if organisation.name == name or (not name and len(allowed) == 1):
            return organisation
    raise PermissionDenied("Choose an organisation you may act for.")


def named_organisation(request: HttpRequest, right: Right, what: str) -> Organisation:
    """The organisation a post names: 404 when the user is no part of it, as for its objects,
    and 403 when they are but lack the right."""
    who = caller(request)
    found = Organisation.objects.filter(name=request.POST.get("organisation", "")).first()
    if found is None or not who.sees(found.pk):
        raise Http404("No such organisation.")
    if not who.can(right, found.pk):
        raise PermissionDenied(f"The {what} of {found.name} need the {right.value!r} right.")
    return found

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from compliance.audit_log.models import AuditCheckpoint, AuditEntry
from frontend.access import caller, chosen_organisation, organisations_with, signed_in
from frontend.audit_check import check_chain
from veriml.accounts import services
from veriml.accounts.access import Right
from veriml.accounts.models import ApiKey, Organisation

AUDIT_PAGE = 200


def _keys_page(request: HttpRequest, **extra: Any) -> HttpResponse:
    administered = caller(request).organisations_with(Right.ADMIN)
    context = {
        "keys": ApiKey.objects.filter(organisation_id__in=administered).select_related(
            "organisation"
        ),
        "organisations": organisations_with(request, Right.ADMIN),
        "scopes": ApiKey.Scope.choices,
        **extra,
    }
    response = render(request, "frontend/keys.html", context, status=extra.get("status", 200))
    # The page may hold a new key's only showing: never keep it in a cache.
    response["Cache-Control"] = "no-store"
    return response


@never_cache
@signed_in
def api_keys(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _keys_page(request)
    organisation = chosen_organisation(request, Right.ADMIN)
    name = request.POST.get("name", "").strip()[:100]
    if not name:
        return _keys_page(request, error="Give the key a name.", status=400)
    try:
        issued = services.create_api_key(
            organisation, name, request.POST.getlist("scopes"), actor=caller(request).actor
        )
    except ValueError as error:
        return _keys_page(request, error=str(error).capitalize() + ".", status=400)
    return _keys_page(request, issued=issued)


@require_POST
@signed_in
def revoke_key(request: HttpRequest, prefix: str) -> HttpResponse:
    key = get_object_or_404(ApiKey, prefix=prefix)
    who = caller(request)
    if not who.can(Right.ADMIN, key.organisation_id):
        if who.sees(key.organisation_id):
            raise PermissionDenied("Only an owner revokes keys.")
        raise Http404("No such API key.")
    services.revoke_api_key(key, actor=who.actor)
    return redirect("frontend:keys")


@signed_in
def audit_log(request: HttpRequest) -> HttpResponse:
    """The organisation's entries and the whole chain's check (it is one chain for all)."""
    organisations = caller(request).organisations_with(Right.AUDIT)
    if not organisations:
        raise PermissionDenied("You lack the 'audit' right in every organisation.")
    entries = AuditEntry.objects.filter(organisation__in=organisations).order_by("-sequence")
    check = check_chain()
    names = dict(Organisation.objects.filter(pk__in=organisations).values_list("pk", "name"))
    context = {
        "entries": [(entry, names.get(entry.organisation, "")) for entry in entries[:AUDIT_PAGE]],
        "report": check.report,
        "incremental": check.incremental,
        "full_at": datetime.fromtimestamp(check.full_at, UTC) if check.full_at else None,
        "checkpoint": AuditCheckpoint.objects.order_by("-sequence", "-time").first(),
    }
    return render(request, "frontend/audit_log.html", context)

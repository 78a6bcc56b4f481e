"""The compliance page: each organisation's region and its policy, the PHI flag, the privacy
defaults and minimums, and the history of every privacy toggle.

Owners change the defaults and minimums here through ``compliance.privacy.services``, the
function the API's ``PATCH privacy/organisation`` calls, so both leave the same ToggleChange
rows and audit entries. Members and auditors see the page without the form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from rest_framework import serializers

from compliance.policy.regions import POLICIES
from compliance.privacy import services
from compliance.privacy.models import OrganisationPrivacy, ToggleChange
from compliance.privacy.views import OrganisationPrivacySerializer
from frontend.access import caller, named_organisation, signed_in
from frontend.views.forms import field_errors
from veriml.accounts.access import Right
from veriml.accounts.models import Organisation
from veriml.core.errors import ServiceError
from veriml.registry.models import PRIVACY_PARTS, RegisteredModel, Visibility

HISTORY = 50
SETTINGS = ("default", "minimum")
VALUES = tuple(Visibility.values)


@dataclass(frozen=True)
class PrivacyRow:
    """One part's settings as stored (what the form edits) and in effect (what jobs get)."""

    part: str
    default: str
    minimum: str
    effective_default: str
    effective_minimum: str
    # The stored default is below the minimum, so jobs and new objects get the minimum.
    held_by_minimum: bool
    # Why the minimum cannot be lowered, or "" when an owner may lower it.
    forced: str
    default_errors: list[str]
    minimum_errors: list[str]


def _forced(organisation: Organisation, part: str) -> str:
    if part in services.phi_floor(organisation):
        return f"{organisation.name} handles PHI (HIPAA): its inputs stay private."
    return ""


def _privacy_rows(
    organisation: Organisation, posted: QueryDict | None, errors: dict[str, list[str]]
) -> list[PrivacyRow]:
    stored = services.settings_of(organisation)
    defaults, minimums = services.defaults(organisation), services.minimums(organisation)

    def shown(setting: str, part: str) -> str:
        name = f"{setting}_{part}"
        value = posted.get(name) if posted is not None else None
        return str(value) if value in VALUES else str(getattr(stored, name))

    return [
        PrivacyRow(
            part=part,
            default=shown("default", part),
            minimum=shown("minimum", part) if not _forced(organisation, part) else minimums[part],
            effective_default=defaults[part],
            effective_minimum=minimums[part],
            held_by_minimum=defaults[part] != getattr(stored, f"default_{part}"),
            forced=_forced(organisation, part),
            default_errors=errors.get(f"default_{part}", []),
            minimum_errors=errors.get(f"minimum_{part}", []),
        )
        for part in PRIVACY_PARTS
    ]


def _actor_names(changes: list[ToggleChange]) -> dict[str, str]:
    """``user:<id>`` as the user's name, for people reading the history."""
    ids = {c.actor.removeprefix("user:") for c in changes if c.actor.startswith("user:")}
    users = get_user_model().objects.filter(pk__in=[i for i in ids if i.isdigit()])
    return {f"user:{user.pk}": user.get_username() for user in users}


def _section(
    request: HttpRequest,
    organisation: Organisation,
    posted: QueryDict | None = None,
    errors: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    errors = errors or {}
    history = list(
        ToggleChange.objects.filter(organisation_id=organisation.pk).order_by("-time", "-id")[
            :HISTORY
        ]
    )
    names = _actor_names(history)
    policy = POLICIES.get(organisation.region)
    return {
        "organisation": organisation,
        "policy": policy.as_dict() if policy else None,
        "can_change": caller(request).can(Right.ADMIN, organisation.pk),
        "rows": _privacy_rows(organisation, posted, errors),
        "defaults_from_policy": not OrganisationPrivacy.objects.filter(
            organisation=organisation
        ).exists(),
        "history": [(change, names.get(change.actor, change.actor)) for change in history],
        "reason": posted.get("reason", "") if posted is not None else "",
        "reason_errors": errors.get("reason", []),
        "form_errors": errors.get("form", []),
    }


def _page(
    request: HttpRequest,
    invalid: Organisation | None = None,
    errors: dict[str, list[str]] | None = None,
) -> HttpResponse:
    who = caller(request)
    organisations = Organisation.objects.filter(pk__in=who.organisations_with(Right.AUDIT))
    sections = [
        _section(request, organisation, request.POST, errors)
        if organisation == invalid
        else _section(request, organisation)
        for organisation in organisations
    ]
    context = {
        "sections": sections,
        "values": VALUES,
        "models": RegisteredModel.objects.filter(
            organisation_id__in=who.organisations_with(Right.READ)
        ).select_related("organisation"),
    }
    return render(request, "frontend/compliance.html", context, status=400 if errors else 200)


def _asked(posted: QueryDict) -> tuple[dict[str, dict[str, str]], dict[str, list[str]]]:
    """The posted settings by kind (``defaults``, ``minimums``) and the fields not valid."""
    asked: dict[str, dict[str, str]] = {f"{setting}s": {} for setting in SETTINGS}
    errors: dict[str, list[str]] = {}
    for setting in SETTINGS:
        for part in PRIVACY_PARTS:
            name = f"{setting}_{part}"
            if name not in posted:
                continue
            if posted[name] in VALUES:
                asked[f"{setting}s"][part] = posted[name]
            else:
                errors[name] = ["Choose public or private."]
    return asked, errors


def _refusal_errors(error: ServiceError) -> dict[str, list[str]]:
    parts = error.details.get("parts") if isinstance(error, services.PrivacyBelowMinimum) else None
    if parts:
        return {f"minimum_{part}": [error.message] for part in parts}
    return {"form": [error.message]}


def _saved(request: HttpRequest, organisation: Organisation, count: int) -> None:
    if count:
        noun = "change" if count == 1 else "changes"
        text = f"Saved {count} {noun} to the privacy settings of {organisation.name}."
    else:
        text = f"Nothing changed: the privacy settings of {organisation.name} were already so."
    messages.success(request, text)


@signed_in
def compliance(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _page(request)
    organisation = named_organisation(request, Right.ADMIN, "privacy settings")
    asked, errors = _asked(request.POST)
    form = OrganisationPrivacySerializer(data={"reason": request.POST.get("reason", ""), **asked})
    try:
        form.is_valid(raise_exception=True)
    except serializers.ValidationError as error:
        errors.update(field_errors(error))
    if errors:
        return _page(request, organisation, errors)
    try:
        changes = services.set_organisation_privacy(
            organisation,
            caller(request).actor,
            form.validated_data["reason"],
            new_defaults=asked["defaults"],
            new_minimums=asked["minimums"],
        )
    except ServiceError as error:
        return _page(request, organisation, _refusal_errors(error))
    _saved(request, organisation, len(changes))
    return redirect("frontend:compliance")

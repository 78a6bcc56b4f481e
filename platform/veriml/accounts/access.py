"""Who may do what: the organisations a request acts in, and its rights in each.

Rights come from API-key scopes or from membership roles:

=========  =====================  ==========================================
right      API key scope          roles
=========  =====================  ==========================================
read       read                   owner, member (models, datasets, jobs)
audit      read                   owner, member, auditor (jobs, proofs only)
submit     submit                 owner, member
admin      admin                  owner
=========  =====================  ==========================================

An :class:`~veriml.accounts.models.AuditorGrant` adds ``audit`` in the granting organisation
for the auditor organisation's members and read-scoped keys, or for one user.

Objects of an organisation the caller has no right in are answered 404 (their existence is not
revealed); a right missing in an organisation the caller can see is answered 403.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Q
from rest_framework import exceptions
from rest_framework.request import Request

from veriml.accounts.authentication import api_key_of
from veriml.accounts.models import ApiKey, AuditorGrant, Membership, Organisation


class Right(enum.StrEnum):
    READ = "read"
    AUDIT = "audit"
    SUBMIT = "submit"
    ADMIN = "admin"


SCOPE_RIGHTS: dict[str, frozenset[Right]] = {
    ApiKey.Scope.READ: frozenset({Right.READ, Right.AUDIT}),
    ApiKey.Scope.SUBMIT: frozenset({Right.SUBMIT}),
    ApiKey.Scope.ADMIN: frozenset({Right.ADMIN}),
}

ROLE_RIGHTS: dict[str, frozenset[Right]] = {
    Membership.Role.OWNER: frozenset(Right),
    Membership.Role.MEMBER: frozenset({Right.READ, Right.AUDIT, Right.SUBMIT}),
    Membership.Role.AUDITOR: frozenset({Right.AUDIT}),
}


@dataclass(frozen=True)
class Caller:
    """The rights of one request, by organisation id."""

    label: str
    rights: dict[int, frozenset[Right]] = field(default_factory=dict)
    # Who acts, as the audit log names it: "user:<id>", "api_key:<prefix>" or "anonymous".
    actor: str = "anonymous"

    def can(self, right: Right, organisation_id: int) -> bool:
        return right in self.rights.get(organisation_id, frozenset())

    def sees(self, organisation_id: int) -> bool:
        return bool(self.rights.get(organisation_id))

    def organisations_with(self, right: Right) -> list[int]:
        return sorted(org_id for org_id, rights in self.rights.items() if right in rights)


def _merge(rights: dict[int, set[Right]], organisation_id: int, added: Iterable[Right]) -> None:
    rights.setdefault(organisation_id, set()).update(added)


def _granted_to(organisation_ids: list[int], user_id: int | None) -> list[int]:
    condition = Q(auditor_organisation_id__in=organisation_ids)
    if user_id is not None:
        condition |= Q(auditor_user_id=user_id)
    return list(AuditorGrant.objects.filter(condition).values_list("organisation_id", flat=True))


def caller_for_api_key(api_key: ApiKey) -> Caller:
    rights: dict[int, set[Right]] = {}
    for scope in api_key.scopes:
        _merge(rights, api_key.organisation_id, SCOPE_RIGHTS.get(scope, frozenset()))
    if Right.AUDIT in rights.get(api_key.organisation_id, set()):
        for granting_id in _granted_to([api_key.organisation_id], None):
            _merge(rights, granting_id, {Right.AUDIT})
    return Caller(
        label=f"API key {api_key.prefix}",
        rights={org_id: frozenset(found) for org_id, found in rights.items()},
        actor=f"api_key:{api_key.prefix}",
    )


def caller_for_user(user_id: int, username: str) -> Caller:
    rights: dict[int, set[Right]] = {}
    memberships = Membership.objects.filter(user_id=user_id).values_list("organisation_id", "role")
    member_of = []
    for organisation_id, role in memberships:
        _merge(rights, organisation_id, ROLE_RIGHTS.get(role, frozenset()))
        member_of.append(organisation_id)
    for granting_id in _granted_to(member_of, user_id):
        _merge(rights, granting_id, {Right.AUDIT})
    return Caller(
        label=f"user {username}",
        rights={org_id: frozenset(found) for org_id, found in rights.items()},
        actor=f"user:{user_id}",
    )


def caller_of(request: Request) -> Caller:
    """The request's rights, computed once per request."""
    cached = getattr(request, "_veriml_caller", None)
    if cached is not None:
        return cached
    api_key = api_key_of(request)
    if api_key is not None:
        caller = caller_for_api_key(api_key)
    elif request.user and request.user.is_authenticated:
        caller = caller_for_user(request.user.pk, request.user.get_username())
    else:
        caller = Caller(label="anonymous")
    request._veriml_caller = caller  # type: ignore[attr-defined]
    return caller


def require(caller: Caller, right: Right, organisation_id: int, what: str = "object") -> None:
    """404 when the caller cannot see the organisation at all, 403 when it lacks the right."""
    if not caller.sees(organisation_id):
        raise exceptions.NotFound(f"No such {what}.")
    if not caller.can(right, organisation_id):
        raise exceptions.PermissionDenied(
            f"The {caller.label} lacks the {right.value!r} right for this {what}."
        )


def require_any(caller: Caller, right: Right) -> list[int]:
    """The organisations where the caller has ``right``; 403 when there are none."""
    organisation_ids = caller.organisations_with(right)
    if not organisation_ids:
        raise exceptions.PermissionDenied(
            f"The {caller.label} lacks the {right.value!r} right in every organisation."
        )
    return organisation_ids


def acting_organisation(caller: Caller, right: Right, requested: str | None) -> Organisation:
    """The organisation a new object belongs to.

    An API key acts for its own organisation. A signed-in user with the right in several
    organisations names one (``organisation=<name>``).
    """
    organisation_ids = require_any(caller, right)
    if requested:
        organisation = Organisation.objects.filter(name=requested).first()
        if organisation is None or not caller.sees(organisation.pk):
            raise exceptions.NotFound("No such organisation.")
        require(caller, right, organisation.pk, "organisation")
        return organisation
    if len(organisation_ids) > 1:
        raise exceptions.ValidationError(
            {"organisation": ["Name the organisation to act for: you belong to several."]}
        )
    return Organisation.objects.get(pk=organisation_ids[0])

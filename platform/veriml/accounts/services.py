"""Every change to organisations, memberships and API keys goes through these functions."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from compliance import audit_log
from veriml.accounts.models import ApiKey, AuditorGrant, Membership, Organisation

KEY_TAG = "vml"
PREFIX_LENGTH = 8
PREFIX_ALPHABET = string.ascii_lowercase + string.digits
SECRET_BYTES = 32
VALID_SCOPES = frozenset(ApiKey.Scope.values)
CALLBACK_SECRET_BYTES = 32
# A key's use is logged at most once per key and minute (per cache: all processes when the cache
# is shared): every request would make the audit log's lock a bottleneck and bury other entries.
KEY_USE_LOG_SECONDS = 60


class InvalidApiKey(Exception):
    """The presented key is malformed, unknown or wrong."""


class ExpiredApiKey(Exception):
    """The presented key was right but has expired."""


class RevokedApiKey(Exception):
    """The presented key was right but has been revoked."""


@dataclass(frozen=True)
class IssuedApiKey:
    api_key: ApiKey
    raw_key: str


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_scopes(text: str | Iterable[str]) -> list[str]:
    """``"read,submit"`` or an iterable of names, checked against the known scopes."""
    items = text.split(",") if isinstance(text, str) else list(text)
    scopes = sorted({item.strip() for item in items if item.strip()})
    unknown = [scope for scope in scopes if scope not in VALID_SCOPES]
    if unknown:
        raise ValueError(
            f"unknown scope(s) {', '.join(unknown)}; choose from {', '.join(sorted(VALID_SCOPES))}"
        )
    if not scopes:
        raise ValueError("an API key needs at least one scope")
    return scopes


def get_or_create_organisation(name: str) -> tuple[Organisation, bool]:
    name = name.strip()
    if not name:
        raise ValueError("an organisation needs a name")
    with transaction.atomic():
        return Organisation.objects.get_or_create(name=name)


def add_member(
    organisation: Organisation, user: AbstractBaseUser, role: str = Membership.Role.MEMBER
) -> Membership:
    with transaction.atomic():
        membership, _ = Membership.objects.update_or_create(
            user=user, organisation=organisation, defaults={"role": role}
        )
    return membership


def _new_prefix() -> str:
    return "".join(secrets.choice(PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))


def create_api_key(
    organisation: Organisation,
    name: str,
    scopes: Iterable[str],
    expires_at: datetime | None = None,
    actor: str = "system",
) -> IssuedApiKey:
    """A new key; the raw key is returned once here and is never stored."""
    checked_scopes = parse_scopes(scopes)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    with transaction.atomic():
        prefix = _new_prefix()
        while ApiKey.objects.filter(prefix=prefix).exists():
            prefix = _new_prefix()
        api_key = ApiKey.objects.create(
            organisation=organisation,
            name=name,
            prefix=prefix,
            secret_hash=hash_secret(secret),
            scopes=checked_scopes,
            expires_at=expires_at,
        )
        audit_log.record(
            "api_key.created",
            actor=actor,
            organisation=organisation.pk,
            target=("api_key", prefix),
            details={"name": name, "scopes": checked_scopes},
        )
    return IssuedApiKey(api_key=api_key, raw_key=f"{KEY_TAG}_{prefix}_{secret}")


def is_key_prefix(text: str) -> bool:
    return len(text) == PREFIX_LENGTH and all(char in PREFIX_ALPHABET for char in text)


def authenticate_api_key(raw_key: str, now: datetime | None = None) -> ApiKey:
    """The key a raw ``vml_<prefix>_<secret>`` string names, after checking its secret and expiry.

    Raises ``InvalidApiKey``, ``RevokedApiKey`` or ``ExpiredApiKey``; records the time of use
    on success.
    """
    tag, _, rest = raw_key.partition("_")
    prefix, _, secret = rest.partition("_")
    if tag != KEY_TAG or len(prefix) != PREFIX_LENGTH or not secret:
        raise InvalidApiKey("malformed API key")
    api_key = ApiKey.objects.select_related("organisation").filter(prefix=prefix).first()
    if api_key is None:
        # Compare anyway so an unknown prefix costs the same time as a wrong secret.
        hmac.compare_digest(hash_secret(secret), hash_secret(""))
        raise InvalidApiKey("unknown API key")
    if not hmac.compare_digest(hash_secret(secret), api_key.secret_hash):
        raise InvalidApiKey("wrong API key")
    now = now or timezone.now()
    if api_key.is_revoked:
        raise RevokedApiKey("API key has been revoked")
    if api_key.has_expired(now):
        raise ExpiredApiKey("API key has expired")
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    api_key.last_used_at = now
    _log_key_use(api_key, now)
    return api_key


def _log_key_use(api_key: ApiKey, now: datetime) -> None:
    minute = int(now.timestamp()) // KEY_USE_LOG_SECONDS
    if cache.add(f"audit:api_key_used:{api_key.prefix}:{minute}", 1, 2 * KEY_USE_LOG_SECONDS):
        audit_log.record(
            "api_key.used",
            actor=f"api_key:{api_key.prefix}",
            organisation=api_key.organisation_id,
            target=("api_key", api_key.prefix),
            details={},
        )


def revoke_api_key(api_key: ApiKey, actor: str = "system") -> ApiKey:
    """Stops the key from working, at once and for good; revoking it again changes nothing."""
    with transaction.atomic():
        locked = ApiKey.objects.select_for_update().get(pk=api_key.pk)
        if locked.revoked_at is None:
            locked.revoked_at = timezone.now()
            locked.save(update_fields=["revoked_at"])
            audit_log.record(
                "api_key.revoked",
                actor=actor,
                organisation=locked.organisation_id,
                target=("api_key", locked.prefix),
                details={},
            )
    return locked


def grant_auditor(
    organisation: Organisation,
    auditor_organisation: Organisation | None = None,
    auditor_user: AbstractBaseUser | None = None,
    actor: str = "system",
) -> tuple[AuditorGrant, bool]:
    """Lets an auditor organisation or user read ``organisation``'s jobs and proofs."""
    if (auditor_organisation is None) == (auditor_user is None):
        raise ValueError("name exactly one auditor: an organisation or a user")
    if auditor_organisation is not None and auditor_organisation.pk == organisation.pk:
        raise ValueError("an organisation already reads its own proofs")
    with transaction.atomic():
        grant, created = AuditorGrant.objects.get_or_create(
            organisation=organisation,
            auditor_organisation=auditor_organisation,
            auditor_user=auditor_user,
        )
        if created:
            audit_log.record(
                "auditor_grant.created",
                actor=actor,
                organisation=organisation.pk,
                target=("auditor_grant", str(grant.pk)),
                details=_grantee(grant),
            )
    return grant, created


def _grantee(grant: AuditorGrant) -> dict[str, int | None]:
    return {
        "auditor_organisation": grant.auditor_organisation_id,
        "auditor_user": grant.auditor_user_id,
    }


def revoke_auditor_grant(grant: AuditorGrant, actor: str = "system") -> None:
    with transaction.atomic():
        audit_log.record(
            "auditor_grant.revoked",
            actor=actor,
            organisation=grant.organisation_id,
            target=("auditor_grant", str(grant.pk)),
            details=_grantee(grant),
        )
        grant.delete()


def rotate_callback_secret(organisation: Organisation) -> str:
    """A new secret for signing the organisation's job callbacks; the old one stops working."""
    secret = f"whsec_{secrets.token_urlsafe(CALLBACK_SECRET_BYTES)}"
    with transaction.atomic():
        Organisation.objects.filter(pk=organisation.pk).update(callback_secret=secret)
    organisation.callback_secret = secret
    return secret


def callback_secret_of(organisation_id: int) -> str:
    """The organisation's callback secret, created on first use."""
    with transaction.atomic():
        organisation = Organisation.objects.select_for_update().get(pk=organisation_id)
        if organisation.callback_secret:
            return organisation.callback_secret
        return rotate_callback_secret(organisation)

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone


class Organisation(models.Model):
    name = models.CharField(max_length=200, unique=True)
    # Signs job callbacks (HMAC-SHA256). Kept readable because signing needs the secret itself;
    # set on first use and changed with ``rotate_callback_secret``.
    callback_secret = models.CharField(max_length=100, blank=True)
    # Compliance: an organisation that handles protected health information gets the HIPAA
    # controls (compliance/hipaa); its home region decides the policy of every processing
    # action and the worker queues its jobs run on (compliance/policy).
    handles_phi = models.BooleanField(default=False)
    region = models.CharField(max_length=8, default="us")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        MEMBER = "member", "Member"
        AUDITOR = "auditor", "Auditor"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organisation"], name="one_membership_per_org")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organisation} ({self.role})"


class ApiKey(models.Model):
    """A secret an organisation's programs send as ``Authorization: Bearer vml_<prefix>_<secret>``.

    Only the SHA-256 of the secret is stored; the prefix is kept in clear so a key can be found,
    shown and revoked without revealing it.
    """

    class Scope(models.TextChoices):
        READ = "read", "Read"
        SUBMIT = "submit", "Submit jobs"
        ADMIN = "admin", "Administer"

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    # Set once, by ``revoke_api_key``: from then on the key is refused, for good.
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["organisation", "name"]

    def __str__(self) -> str:
        return f"{self.name} (vml_{self.prefix}_…)"

    def has_expired(self, now: datetime | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class AuditorGrant(models.Model):
    """``organisation`` lets an outside auditor read, never change, its jobs, proofs and reports.

    The auditor is either another organisation (its members and its API keys with the ``read``
    scope) or one user.
    """

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="auditor_grants"
    )
    auditor_organisation = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="audit_access",
    )
    auditor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="audit_access",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organisation", "created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(auditor_organisation__isnull=False, auditor_user__isnull=True)
                    | models.Q(auditor_organisation__isnull=True, auditor_user__isnull=False)
                ),
                name="auditor_grant_names_one_auditor",
            ),
            models.UniqueConstraint(
                fields=["organisation", "auditor_organisation"],
                name="one_grant_per_auditor_organisation",
            ),
            models.UniqueConstraint(
                fields=["organisation", "auditor_user"], name="one_grant_per_auditor_user"
            ),
        ]

    def __str__(self) -> str:
        auditor = self.auditor_organisation or self.auditor_user
        return f"{auditor} audits {self.organisation}"

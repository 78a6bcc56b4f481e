"""Data keys, encrypted files, the PHI access log and break-glass grants."""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.utils import timezone

from compliance.audit_log.models import AppendOnly
from veriml.accounts.models import Organisation
from veriml.core.models import StoredFile


class OrganisationDataKey(models.Model):  # type: ignore[misc]
    """The organisation's AES-256 data key, only ever stored wrapped by a master key."""

    organisation = models.OneToOneField(
        Organisation, on_delete=models.CASCADE, related_name="phi_data_key"
    )
    master_key_id = models.CharField(max_length=32)
    # base64 of nonce ‖ AES-256-GCM(data key), see keys.wrap.
    wrapped_key = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    rewrapped_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"data key of {self.organisation} (under {self.master_key_id})"


class EncryptedFile(models.Model):  # type: ignore[misc]
    """Marks a stored file as ciphertext: its bytes in storage are nonce ‖ AES-256-GCM(data) under
    the organisation's data key. The file's SHA-256 (checked on every read) is the ciphertext's."""

    stored_file = models.OneToOneField(
        StoredFile, on_delete=models.CASCADE, related_name="encryption"
    )
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    algorithm = models.CharField(max_length=32, default="AES-256-GCM")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.algorithm}: {self.stored_file.storage_name}"


class BreakGlassGrant(models.Model):  # type: ignore[misc]
    """Emergency access to an organisation's PHI for one actor, with a reason, until it expires
    or is closed."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    actor = models.CharField(max_length=100)
    reason = models.TextField()
    opened_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]

    def __str__(self) -> str:
        return f"break-glass for {self.actor} in {self.organisation} until {self.expires_at}"

    def is_active(self, now: datetime | None = None) -> bool:
        moment = now or timezone.now()
        return bool(self.closed_at is None and self.opened_at <= moment < self.expires_at)


class PHIAccess(AppendOnly):
    """One access to PHI: who, what, when, why; never changed or deleted."""

    organisation_id = models.BigIntegerField(db_index=True)
    actor = models.CharField(max_length=100)
    time = models.DateTimeField(db_index=True)
    what_type = models.CharField(max_length=32)
    what_id = models.CharField(max_length=100)
    purpose = models.TextField()
    break_glass = models.BooleanField(default=False)
    break_glass_grant = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["time", "id"]
        verbose_name = "PHI access"
        verbose_name_plural = "PHI accesses"

    def __str__(self) -> str:
        flag = " (break-glass)" if self.break_glass else ""
        return f"{self.actor} read {self.what_type} {self.what_id}{flag}"

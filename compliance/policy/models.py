"""The policy log and the transfer bases organisations record."""

from __future__ import annotations

from django.db import models

from compliance.audit_log.models import AppendOnly
from veriml.accounts.models import Organisation


class Action(models.TextChoices):  # type: ignore[misc]
    UPLOAD = "upload", "Upload"
    COMPILE = "compile", "Compile"
    PROVE = "prove", "Prove"
    VERIFY = "verify", "Verify"
    DOWNLOAD = "download", "Download"
    REPORT = "report", "Report"
    TRANSFER = "transfer", "Transfer"
    ERASE = "erase", "Erase"


class Decision(models.TextChoices):  # type: ignore[misc]
    ALLOW = "allow", "Allow"
    DENY = "deny", "Deny"


class PolicyDecision(AppendOnly):
    """One decision of the policy engine, never changed or deleted. Kept as the organisation's
    name and id, not a foreign key, so the log outlives the organisation."""

    organisation_id = models.BigIntegerField(db_index=True)
    organisation_name = models.CharField(max_length=200)
    region = models.CharField(max_length=8)
    policy_version = models.CharField(max_length=32)
    action = models.CharField(max_length=16, choices=Action.choices)
    decision = models.CharField(max_length=8, choices=Decision.choices)
    reason = models.TextField()
    time = models.DateTimeField(db_index=True)
    # What the action is about, as "type:id", and where it would take data, if elsewhere.
    target = models.CharField(max_length=200, blank=True)
    target_region = models.CharField(max_length=8, blank=True)
    actor = models.CharField(max_length=100, default="system")

    class Meta:
        ordering = ["time", "id"]

    def __str__(self) -> str:
        return f"{self.decision} {self.action} for {self.organisation_name} ({self.region})"

    @property
    def allowed(self) -> bool:
        return bool(self.decision == Decision.ALLOW)


class TransferBasis(models.Model):  # type: ignore[misc]
    """A legal basis an organisation recorded for moving its data from its region to another
    (for example standard contractual clauses), beyond the region policy's own transfers."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="transfer_bases"
    )
    source_region = models.CharField(max_length=8)
    target_region = models.CharField(max_length=8)
    legal_basis = models.TextField()
    recorded_by = models.CharField(max_length=100)
    recorded_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["organisation", "target_region", "recorded_at"]

    def __str__(self) -> str:
        return f"{self.organisation} {self.source_region}->{self.target_region}"

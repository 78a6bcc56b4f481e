"""The audit log's tables. Entries and checkpoints are never changed once written: PostgreSQL
refuses UPDATE, DELETE and TRUNCATE on them with a trigger (migration 0001); on other databases
``save`` and ``delete`` refuse at the ORM level."""

from __future__ import annotations

from typing import Any

from django.db import models

from compliance.audit_log.chain import GENESIS_HASH, entry_fields


class AppendOnlyError(Exception):
    """An attempt to change or remove an audit log row."""


class AppendOnly(models.Model):  # type: ignore[misc]
    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError(f"{type(self).__name__} rows are never changed")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise AppendOnlyError(f"{type(self).__name__} rows are never deleted")


class AuditHead(models.Model):  # type: ignore[misc]
    """One row: the last sequence and hash. Writers lock it, which makes sequences gapless."""

    sequence = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS_HASH)


class AuditEntry(AppendOnly):
    sequence = models.BigIntegerField(unique=True)
    time = models.DateTimeField()
    # "user:<id>", "api_key:<prefix>", "anonymous" or "system".
    actor = models.CharField(max_length=100)
    # An id, not a foreign key: the log outlives what it names and never changes.
    organisation = models.BigIntegerField(null=True, blank=True)
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=100)
    details = models.JSONField(default=dict)
    region = models.CharField(max_length=32, null=True, blank=True)
    previous_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["sequence"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"#{self.sequence} {self.action} by {self.actor}"

    def fields(self) -> dict[str, Any]:
        return entry_fields(
            sequence=self.sequence,
            time=self.time,
            actor=self.actor,
            organisation=self.organisation,
            action=self.action,
            target_type=self.target_type,
            target_id=self.target_id,
            details=self.details,
            region=self.region,
        )


class AuditCheckpoint(AppendOnly):
    sequence = models.BigIntegerField()
    head_hash = models.CharField(max_length=64)
    time = models.DateTimeField()
    # Ed25519 signature, base64, over chain.checkpoint_message(sequence, head_hash, time).
    signature = models.CharField(max_length=100)

    class Meta:
        ordering = ["sequence", "time"]

    def __str__(self) -> str:
        return f"checkpoint at #{self.sequence}"

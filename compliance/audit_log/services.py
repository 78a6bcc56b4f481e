"""Every write to the audit log: appending entries and signing checkpoints."""

from __future__ import annotations

import base64
from typing import Any

from django.db import transaction
from django.utils import timezone

from compliance.audit_log import keys
from compliance.audit_log.chain import GENESIS_HASH, checkpoint_message, entry_hash
from compliance.audit_log.models import AuditCheckpoint, AuditEntry, AuditHead

HEAD_ID = 1


def _locked_head() -> AuditHead:
    head: AuditHead
    head, _ = AuditHead.objects.select_for_update().get_or_create(
        pk=HEAD_ID, defaults={"sequence": 0, "hash": GENESIS_HASH}
    )
    return head


def append(
    action: str,
    *,
    actor: str,
    organisation: int | None,
    target: tuple[str, str],
    details: dict[str, Any],
    region: str | None = None,
) -> AuditEntry:
    """The next entry of the chain. The head row stays locked until the surrounding transaction
    ends, so concurrent writers take consecutive sequences and a rolled-back action leaves no
    entry and no gap."""
    target_type, target_id = target
    with transaction.atomic():
        head = _locked_head()
        entry = AuditEntry(
            sequence=head.sequence + 1,
            time=timezone.now(),
            actor=actor,
            organisation=organisation,
            action=action,
            target_type=target_type,
            target_id=str(target_id),
            details=details,
            region=region,
            previous_hash=head.hash,
        )
        entry.hash = entry_hash(head.hash, entry.fields())
        entry.save()
        head.sequence, head.hash = entry.sequence, entry.hash
        head.save(update_fields=["sequence", "hash"])
    return entry


def write_checkpoint() -> AuditCheckpoint:
    """Signs the current head of the chain."""
    key = keys.signing_key()
    with transaction.atomic():
        head = _locked_head()
        now = timezone.now()
        signature = key.sign(checkpoint_message(head.sequence, head.hash, now))
        checkpoint = AuditCheckpoint(
            sequence=head.sequence,
            head_hash=head.hash,
            time=now,
            signature=base64.b64encode(signature).decode("ascii"),
        )
        checkpoint.save()
    return checkpoint

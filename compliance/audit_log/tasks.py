from __future__ import annotations

from celery import shared_task

from compliance.audit_log.services import write_checkpoint


@shared_task(name="compliance.audit_log.tasks.write_audit_checkpoint")  # type: ignore[untyped-decorator]
def write_audit_checkpoint() -> int:
    """Beat runs this every AUDIT_CHECKPOINT_SECONDS; returns the signed sequence."""
    sequence: int = write_checkpoint().sequence
    return sequence

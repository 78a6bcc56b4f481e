from __future__ import annotations

from celery import shared_task

from compliance.policy.services import enforce_retention as enforce


@shared_task(name="compliance.policy.tasks.enforce_retention")  # type: ignore[untyped-decorator]
def enforce_retention() -> int:
    """Beat runs this every RETENTION_ENFORCE_SECONDS; returns how many items were erased."""
    return len(enforce())

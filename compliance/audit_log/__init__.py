"""The tamper-evident audit log: an append-only hash chain with signed checkpoints.

``record`` is the one way anything is written to the log. See ``docs/compliance.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from compliance.audit_log.models import AuditEntry


def record(
    action: str,
    *,
    actor: str,
    organisation: int | None,
    target: tuple[str, str],
    details: dict[str, Any],
    region: str | None = None,
) -> AuditEntry:
    """Appends one entry; inside the caller's transaction when there is one."""
    from compliance.audit_log.services import append

    return append(
        action,
        actor=actor,
        organisation=organisation,
        target=target,
        details=details,
        region=region,
    )

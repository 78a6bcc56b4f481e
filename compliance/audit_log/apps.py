from __future__ import annotations

from django.apps import AppConfig


class AuditLogConfig(AppConfig):  # type: ignore[misc]
    name = "compliance.audit_log"
    label = "audit_log"
    verbose_name = "Audit log"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from compliance.audit_log import signals

        signals.connect()

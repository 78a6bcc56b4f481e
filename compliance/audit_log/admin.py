from __future__ import annotations

from typing import Any

from django.contrib import admin

from compliance.audit_log.models import AuditCheckpoint, AuditEntry


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[misc]
    """The log is append-only: the admin shows it and changes nothing."""

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["sequence", "time", "actor", "organisation", "action", "target_type"]
    list_filter = ["action"]
    search_fields = ["actor", "target_id"]


@admin.register(AuditCheckpoint)
class AuditCheckpointAdmin(ReadOnlyAdmin):
    list_display = ["sequence", "time", "head_hash"]

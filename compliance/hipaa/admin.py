from __future__ import annotations

from typing import Any

from django.contrib import admin

from compliance.hipaa.models import BreakGlassGrant, PHIAccess


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[misc]
    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(PHIAccess)
class PHIAccessAdmin(ReadOnlyAdmin):
    list_display = ["time", "actor", "what_type", "what_id", "break_glass"]
    list_filter = ["break_glass", "what_type"]


@admin.register(BreakGlassGrant)
class BreakGlassGrantAdmin(ReadOnlyAdmin):
    list_display = ["opened_at", "organisation", "actor", "expires_at", "closed_at"]

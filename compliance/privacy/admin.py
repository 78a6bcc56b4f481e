from __future__ import annotations

from typing import Any

from django.contrib import admin

from compliance.privacy.models import ToggleChange


@admin.register(ToggleChange)
class ToggleChangeAdmin(admin.ModelAdmin):  # type: ignore[misc]
    """Read-only: changes are made through the services, which record them."""

    list_display = ["time", "actor", "object_type", "object_id", "setting", "part", "new_value"]
    list_filter = ["setting", "part"]

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False

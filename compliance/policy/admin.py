from __future__ import annotations

from typing import Any

from django.contrib import admin

from compliance.policy.models import PolicyDecision, TransferBasis


@admin.register(PolicyDecision)
class PolicyDecisionAdmin(admin.ModelAdmin):  # type: ignore[misc]
    list_display = ["time", "organisation_name", "region", "action", "decision", "policy_version"]
    list_filter = ["region", "action", "decision"]
    search_fields = ["organisation_name", "target"]

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(TransferBasis)
class TransferBasisAdmin(admin.ModelAdmin):  # type: ignore[misc]
    list_display = ["organisation", "source_region", "target_region", "recorded_at", "revoked_at"]

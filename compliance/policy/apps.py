from __future__ import annotations

from django.apps import AppConfig


class PolicyConfig(AppConfig):  # type: ignore[misc]
    name = "compliance.policy"
    label = "compliance_policy"
    verbose_name = "Regional policy"
    default_auto_field = "django.db.models.BigAutoField"

from __future__ import annotations

from django.apps import AppConfig


class HipaaConfig(AppConfig):  # type: ignore[misc]
    name = "compliance.hipaa"
    label = "compliance_hipaa"
    verbose_name = "HIPAA data controls"
    default_auto_field = "django.db.models.BigAutoField"

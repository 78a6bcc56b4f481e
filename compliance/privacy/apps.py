from __future__ import annotations

from django.apps import AppConfig


class PrivacyConfig(AppConfig):  # type: ignore[misc]
    name = "compliance.privacy"
    label = "compliance_privacy"
    verbose_name = "Privacy toggles"
    default_auto_field = "django.db.models.BigAutoField"

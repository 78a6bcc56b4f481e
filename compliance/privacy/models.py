"""Organisation privacy settings, test-set input privacy and the history of every toggle."""

from __future__ import annotations

from django.db import models

from compliance.audit_log.models import AppendOnly
from veriml.accounts.models import Organisation
from veriml.registry.models import Dataset, Visibility


def _visibility(default: str = "public") -> models.CharField:
    return models.CharField(max_length=8, choices=Visibility.choices, default=default)


class OrganisationPrivacy(models.Model):  # type: ignore[misc]
    """What new models and test sets of the organisation start with (defaults) and what no
    model, test set or job of it may go below (minimums). Owners change both."""

    organisation = models.OneToOneField(
        Organisation, on_delete=models.CASCADE, related_name="privacy_settings"
    )
    default_weights = _visibility()
    default_input = _visibility()
    default_output = _visibility()
    minimum_weights = _visibility()
    minimum_input = _visibility()
    minimum_output = _visibility()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"privacy of {self.organisation}"


class DatasetPrivacy(models.Model):  # type: ignore[misc]
    """Whether a test set's samples (the audit's input) stay private in its proofs."""

    dataset = models.OneToOneField(Dataset, on_delete=models.CASCADE, related_name="privacy")
    input = _visibility()

    def __str__(self) -> str:
        return f"{self.dataset}: input {self.input}"


class ToggleChange(AppendOnly):
    """One change of one privacy toggle, or one refused request to change it (``refusal``), for
    regulatory reporting; never changed or deleted. Ids, not foreign keys: the history outlives
    what it names."""

    class Setting(models.TextChoices):  # type: ignore[misc]
        VALUE = "value", "Value of the object"
        DEFAULT = "default", "Organisation default"
        MINIMUM = "minimum", "Organisation minimum"

    organisation_id = models.BigIntegerField(db_index=True)
    actor = models.CharField(max_length=100)
    time = models.DateTimeField(db_index=True)
    object_type = models.CharField(max_length=16)
    object_id = models.CharField(max_length=64)
    setting = models.CharField(max_length=8, choices=Setting.choices, default=Setting.VALUE)
    part = models.CharField(max_length=8)
    old_value = models.CharField(max_length=8)
    new_value = models.CharField(max_length=8)
    reason = models.TextField()
    # Empty for a change made; for a change asked for and refused, why (the toggle kept
    # ``old_value``).
    refusal = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["time", "id"]

    def __str__(self) -> str:
        return (
            f"{self.object_type} {self.object_id} {self.setting} {self.part}: "
            f"{self.old_value} -> {self.new_value}"
        )

from __future__ import annotations

import uuid

from django.db import models

from veriml.accounts.models import Organisation
from veriml.core.models import BackgroundWork, StoredFile


class Visibility(models.TextChoices):
    PUBLIC = "public", "Public"
    PRIVATE = "private", "Private"


PRIVACY_PARTS = ("weights", "input", "output")


class RegisteredModel(BackgroundWork):
    """One version of an organisation's model: the uploaded ``.pt2`` and calibration set, and
    once compiled, the compiled model whose digest every proof names."""

    class Status(models.TextChoices):
        COMPILING = "compiling", "Compiling"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="models")
    name = models.CharField(max_length=200)
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.COMPILING)
    privacy_weights = models.CharField(
        max_length=8, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    privacy_input = models.CharField(
        max_length=8, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    privacy_output = models.CharField(
        max_length=8, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    # Decided at registration from the effective weights privacy and fixed for life: a hidden
    # commitment keeps the weights private in every proof, for ``proof_budget`` proofs,
    # each spending the next of its tickets (0, 1, ...; ``proofs_used`` so far). A ticket used
    # twice would reveal the weights, so tickets are only ever handed out under this row's lock
    # (veriml.proving.tickets.allocate_weight_ticket) and never given back.
    weights_hidden = models.BooleanField(default=False)
    proof_budget = models.PositiveIntegerField(null=True, blank=True)
    proofs_used = models.PositiveIntegerField(default=0)
    source = models.ForeignKey(StoredFile, on_delete=models.PROTECT, related_name="+")
    calibration = models.ForeignKey(StoredFile, on_delete=models.PROTECT, related_name="+")
    compiled = models.ForeignKey(
        StoredFile, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    digest = models.CharField(max_length=128, blank=True)
    parameters = models.BigIntegerField(null=True, blank=True)
    support = models.JSONField(default=dict, blank=True)
    fidelity = models.JSONField(default=dict, blank=True)
    # The compiler's estimate of one proof: {"prove_seconds", "peak_memory_bytes"}.
    estimate = models.JSONField(default=dict, blank=True)
    # Model card, as the provider wrote it at upload; printed in auditor reports.
    intended_use = models.TextField(blank=True)
    limitations = models.TextField(blank=True)
    created_by = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "name", "version"], name="one_model_version_per_org"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version} ({self.organisation})"

    @property
    def privacy(self) -> dict[str, str]:
        return {part: getattr(self, f"privacy_{part}") for part in PRIVACY_PARTS}

    @property
    def private_parts(self) -> list[str]:
        return [part for part, value in self.privacy.items() if value == Visibility.PRIVATE]

    @property
    def proofs_left(self) -> int | None:
        """Zero-knowledge proofs its hidden commitment still allows; None for open weights."""
        if not self.weights_hidden or self.proof_budget is None:
            return None
        return max(self.proof_budget - self.proofs_used, 0)


class Dataset(BackgroundWork):
    """A labelled test set for accuracy audits, checked by a worker before use."""

    class Status(models.TextChoices):
        VALIDATING = "validating", "Validating"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="datasets"
    )
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.VALIDATING)
    file = models.ForeignKey(StoredFile, on_delete=models.PROTECT, related_name="+")
    samples = models.PositiveIntegerField(null=True, blank=True)
    classes = models.PositiveIntegerField(null=True, blank=True)
    input_shape = models.JSONField(default=list, blank=True)
    created_by = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.organisation})"

from __future__ import annotations

import uuid

from django.db import models

from veriml.accounts.models import Organisation
from veriml.core.models import BackgroundWork, StoredFile
from veriml.registry.models import Dataset, RegisteredModel


class Job(BackgroundWork):
    """A request for one proof. Its status moves, under a row lock,
    ``queued → running → succeeded | failed | cancelled`` (or ``queued → cancelled``)."""

    class Kind(models.TextChoices):
        INFERENCE = "inference", "Inference"
        AUDIT = "audit", "Accuracy audit"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    FINAL = frozenset({Status.SUCCEEDED, Status.FAILED, Status.CANCELLED})

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="jobs")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    model = models.ForeignKey(RegisteredModel, on_delete=models.PROTECT, related_name="jobs")
    dataset = models.ForeignKey(
        Dataset, on_delete=models.PROTECT, related_name="jobs", null=True, blank=True
    )
    input = models.ForeignKey(
        StoredFile, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    proof = models.ForeignKey(
        StoredFile, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    # An audit's committed test set (.vdc), made for this job: it holds the test set's values
    # (and, for a hiding commitment, the randomness that hides them), so it is kept like the
    # test set itself, encrypted for an organisation that handles PHI.
    dataset_commitment = models.ForeignKey(
        StoredFile, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    # The committed test set's digest, which the audit proof's statement names: public, also
    # when the commitment hides the test inputs.
    dataset_digest = models.CharField(max_length=128, blank=True)
    # The privacy the proof was asked with, copied from the model at submission.
    private_parts = models.JSONField(default=list, blank=True)
    # For a model committed with hidden weights: the ticket of its commitment the latest
    # attempt's proof spent (each attempt takes a fresh one). Public: an index, not a secret.
    weight_ticket = models.PositiveIntegerField(null=True, blank=True)
    # A fresh value per job, absorbed into the proof's transcript.
    nonce = models.CharField(max_length=64)
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    request_fingerprint = models.CharField(max_length=64, blank=True)
    callback_url = models.URLField(max_length=2000, blank=True)
    # {"prove_seconds", "peak_memory_bytes"} from the compiled model, at submission.
    estimate = models.JSONField(default=dict, blank=True)
    timings = models.JSONField(default=dict, blank=True)
    statement = models.JSONField(default=dict, blank=True)
    # Only when the model's output is public: a private output never leaves the worker.
    output = models.JSONField(null=True, blank=True)
    verification = models.JSONField(default=dict, blank=True)
    created_by = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    callback_delivered_at = models.DateTimeField(null=True, blank=True)
    callback_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "idempotency_key"], name="one_job_per_idempotency_key"
            )
        ]
        indexes = [models.Index(fields=["organisation", "status", "kind", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} job {self.id} ({self.status})"

"""Rows shared by every app: files kept in Django storage, the bookkeeping of background work."""

from __future__ import annotations

import uuid

from django.db import models


class StoredFile(models.Model):
    """A file in Django storage with the SHA-256 and size it had when it was written.

    Every read goes through :mod:`veriml.core.files`, which recomputes the digest, so a file
    changed or truncated in storage is noticed instead of being proved or served.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="stored_files"
    )
    storage_name = models.CharField(max_length=500, unique=True)
    original_name = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=64)
    size = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.storage_name} ({self.size} bytes, sha256 {self.sha256[:12]}…)"


class BackgroundWork(models.Model):
    """Fields of a row that a Celery task works on: who holds it, since when, how far it got.

    A task claims the row under a row lock and receives a fresh ``attempt_token``; every later
    write of that attempt (progress, heartbeat, result) names the token, so an attempt that was
    given up for dead and replaced can no longer change the row.
    """

    attempts = models.PositiveIntegerField(default=0)
    attempt_token = models.UUIDField(null=True, blank=True, editable=False)
    worker = models.CharField(max_length=255, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    progress_stage = models.CharField(max_length=100, blank=True)
    progress_fraction = models.FloatField(default=0.0)
    progress_updated_at = models.DateTimeField(null=True, blank=True)
    prover_version = models.CharField(max_length=50, blank=True)
    device = models.CharField(max_length=20, blank=True)
    error_code = models.CharField(max_length=50, blank=True)
    error_message = models.TextField(blank=True)

    class Meta:
        abstract = True

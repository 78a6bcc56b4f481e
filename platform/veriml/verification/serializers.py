from __future__ import annotations

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from rest_framework import serializers

from veriml.core.api import StrictSerializer
from veriml.core.uploads import check_size


class VerifyRequestSerializer(StrictSerializer):
    proof = serializers.FileField(help_text="A VeriML proof file (.vmp).")
    model_digest = serializers.RegexField(
        r"^[0-9a-fA-F]{16,128}$",
        required=False,
        help_text="When given, the proof must be about the model with this digest (hex).",
    )
    dataset_digest = serializers.RegexField(
        r"^[0-9a-fA-F]{16,128}$",
        required=False,
        help_text="When given, the proof must be an accuracy audit of the committed test set "
        "with this digest (hex): the digest its owner published, also for a private audit, "
        "whose commitment hides the test inputs.",
    )

    def validate_proof(self, upload: UploadedFile) -> UploadedFile:
        check_size(upload, settings.PROOF_UPLOAD_MAX_BYTES, "proof file", "PROOF_UPLOAD_MAX_BYTES")
        return upload


class VerdictSerializer(serializers.Serializer):
    accepted = serializers.BooleanField()
    reason = serializers.CharField(
        allow_null=True,
        help_text="Why the proof was rejected, a stable code (e.g. bad_magic, wrong_model, "
        "round_sum_mismatch); null when accepted.",
    )
    detail = serializers.CharField(allow_blank=True)
    statement = serializers.DictField(
        help_text="What the proof proves, as public values. A zero-knowledge inference proof "
        "(protocol PRIVATE_INFERENCE) names its hidden parts in private; output is null when "
        "the output is private. An audit proof states dataset_digest, n, correct, accuracy "
        "and the per-class counts (classes); a private audit (protocol PRIVATE_AUDIT) states "
        "private_input true. No input value is ever stated."
    )
    soundness_bits = serializers.IntegerField(allow_null=True)
    protocol = serializers.CharField(allow_null=True)
    verify_seconds = serializers.FloatField()
    verifier_version = serializers.CharField()

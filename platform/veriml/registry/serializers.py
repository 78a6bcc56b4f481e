from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from veriml.core.api import (
    JsonObjectField,
    ProgressSerializer,
    StoredFileSerializer,
    StrictSerializer,
    WorkErrorSerializer,
    error_of,
    progress_of,
    stored_file_summary,
)
from veriml.core.uploads import (
    check_size,
    check_suffix,
    check_tensor_file,
    check_torch_export,
)
from veriml.registry.models import PRIVACY_PARTS, Dataset, RegisteredModel, Visibility

NAME_HELP = "Letters, digits, spaces and . _ - only; versions of one name are numbered 1, 2, ..."
MAX_PROOF_BUDGET = 1 << 20


class PrivacySerializer(serializers.Serializer):
    weights = serializers.ChoiceField(choices=Visibility.choices, required=False)
    input = serializers.ChoiceField(choices=Visibility.choices, required=False)
    output = serializers.ChoiceField(choices=Visibility.choices, required=False)


class PrivacyField(JsonObjectField):
    """``{"weights": "private", "input": "public", "output": "public"}``; missing parts keep
    their defaults (every part public: privacy is opt-in)."""

    def to_internal_value(self, data: Any) -> dict[str, str]:
        value = super().to_internal_value(data)
        unknown = sorted(set(value) - set(PRIVACY_PARTS))
        if unknown:
            raise serializers.ValidationError(
                f"Unknown part(s) {', '.join(unknown)}; choose from {', '.join(PRIVACY_PARTS)}."
            )
        for part, visibility in value.items():
            if visibility not in Visibility.values:
                raise serializers.ValidationError(f"{part} must be 'public' or 'private'.")
        return value


extend_schema_field(PrivacySerializer)(PrivacyField)


class ModelUploadSerializer(StrictSerializer):
    name = serializers.RegexField(
        r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$", max_length=200, help_text=NAME_HELP
    )
    file = serializers.FileField(help_text="The model as a torch.export archive (.pt2).")
    calibration = serializers.FileField(
        help_text="Calibration inputs for quantisation: .pt, .npz or .safetensors holding "
        "a tensor 'inputs' (or a bare tensor)."
    )
    privacy = PrivacyField(required=False)
    proof_budget = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_PROOF_BUDGET,
        help_text="For a model whose weights are private (its privacy, or the organisation's "
        "defaults and minimums): the number of zero-knowledge proofs its hidden commitment "
        "allows (default PRIVATE_WEIGHT_PROOFS). Each inference proof or private audit spends "
        "one; a model whose weights are too few to hide over this many proofs fails to "
        "compile with the largest budget it allows.",
    )
    intended_use = serializers.CharField(
        required=False, allow_blank=True, max_length=4000, help_text="Model card: intended use."
    )
    limitations = serializers.CharField(
        required=False, allow_blank=True, max_length=4000, help_text="Model card: limitations."
    )
    organisation = serializers.CharField(
        required=False, help_text="For signed-in users in several organisations."
    )

    def validate_file(self, upload: UploadedFile) -> UploadedFile:
        check_size(upload, settings.MODEL_UPLOAD_MAX_BYTES, "model file", "MODEL_UPLOAD_MAX_BYTES")
        check_suffix(upload, [".pt2"], "model file")
        check_torch_export(upload, "model file")
        return upload

    def validate_calibration(self, upload: UploadedFile) -> UploadedFile:
        check_size(
            upload,
            settings.CALIBRATION_UPLOAD_MAX_BYTES,
            "calibration file",
            "CALIBRATION_UPLOAD_MAX_BYTES",
        )
        check_tensor_file(upload, "calibration file")
        return upload


class ModelFilesSerializer(serializers.Serializer):
    model = StoredFileSerializer()
    calibration = StoredFileSerializer()
    compiled = StoredFileSerializer(allow_null=True, help_text="Set once the model is ready.")


class ModelSerializer(serializers.ModelSerializer):
    organisation = serializers.CharField(source="organisation.name")
    privacy = PrivacySerializer()
    proofs_left = serializers.IntegerField(
        allow_null=True,
        read_only=True,
        help_text="Zero-knowledge proofs its hidden weights' commitment still allows "
        "(proof_budget - proofs_used); null for a model whose weights are committed openly.",
    )
    progress = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()
    files = serializers.SerializerMethodField()
    compiled_at = serializers.DateTimeField(source="finished_at", allow_null=True)

    class Meta:
        model = RegisteredModel
        fields = [
            "id", "name", "version", "status", "organisation", "privacy", "weights_hidden",
            "proof_budget", "proofs_used", "proofs_left", "digest",
            "parameters", "support", "fidelity", "estimate", "intended_use", "limitations",
            "progress", "error", "files", "prover_version", "device", "created_by", "created_at",
            "compiled_at",
        ]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {
            "weights_hidden": {
                "help_text": "The weights are committed hidden (the model was registered with "
                "private weights; MLPs): every proof and private audit of it keeps them private "
                "by zero knowledge, and no response, proof or report holds a weight. Fixed at "
                "registration: a different weights privacy needs a new version."
            },
            "proof_budget": {
                "help_text": "With hidden weights: the zero-knowledge proofs the commitment "
                "allows, each spending one ticket of it; null for open weights."
            },
            "proofs_used": {
                "help_text": "With hidden weights: tickets spent so far (by proofs made, and by "
                "attempts that failed after taking one)."
            },
            "support": {
                "help_text": "The compiler's support report; private_parts lists the parts an "
                "inference proof of this model can keep private by zero knowledge (input, "
                "output, and weights when they are committed hidden), and private_reason says "
                "why when it lists none; "
                "audit_private_parts lists input when its accuracy audits can hide their test "
                "inputs (on test sets of at least audit_min_samples samples), and "
                "audit_private_reason says why when it does not."
            },
        }

    @extend_schema_field(ProgressSerializer)
    def get_progress(self, model: RegisteredModel) -> dict[str, Any]:
        return progress_of(model)

    @extend_schema_field(WorkErrorSerializer(allow_null=True))
    def get_error(self, model: RegisteredModel) -> dict[str, str] | None:
        return error_of(model)

    @extend_schema_field(ModelFilesSerializer)
    def get_files(self, model: RegisteredModel) -> dict[str, Any]:
        return {
            "model": stored_file_summary(model.source),
            "calibration": stored_file_summary(model.calibration),
            "compiled": stored_file_summary(model.compiled),
        }


class DatasetUploadSerializer(StrictSerializer):
    name = serializers.RegexField(r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$", max_length=200)
    file = serializers.FileField(
        help_text="A test set: .pt, .npz or .safetensors holding 'inputs' and 'labels', or a "
        "CSV with a 'label' column."
    )
    organisation = serializers.CharField(required=False)

    def validate_file(self, upload: UploadedFile) -> UploadedFile:
        check_size(
            upload, settings.DATASET_UPLOAD_MAX_BYTES, "test set", "DATASET_UPLOAD_MAX_BYTES"
        )
        check_tensor_file(upload, "test set", extra=[".csv"])
        return upload


class DatasetSerializer(serializers.ModelSerializer):
    organisation = serializers.CharField(source="organisation.name")
    progress = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()
    file = serializers.SerializerMethodField()
    validated_at = serializers.DateTimeField(source="finished_at", allow_null=True)

    class Meta:
        model = Dataset
        fields = [
            "id", "name", "status", "organisation", "samples", "classes", "input_shape", "file",
            "progress", "error", "created_by", "created_at", "validated_at",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(ProgressSerializer)
    def get_progress(self, dataset: Dataset) -> dict[str, Any]:
        return progress_of(dataset)

    @extend_schema_field(WorkErrorSerializer(allow_null=True))
    def get_error(self, dataset: Dataset) -> dict[str, str] | None:
        return error_of(dataset)

    @extend_schema_field(StoredFileSerializer)
    def get_file(self, dataset: Dataset) -> dict[str, Any] | None:
        return stored_file_summary(dataset.file)

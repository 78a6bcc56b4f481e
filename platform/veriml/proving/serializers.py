from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from veriml.core.api import (
    ProgressSerializer,
    StrictSerializer,
    WorkErrorSerializer,
    error_of,
    progress_of,
)
from veriml.core.uploads import check_size, check_tensor_file
from veriml.proving.callbacks import CallbackRefused, check_scheme
from veriml.proving.models import Job
from veriml.registry.models import PRIVACY_PARTS, Visibility
from veriml.registry.serializers import PrivacyField


class JobCreateSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=Job.Kind.choices)
    model = serializers.UUIDField(help_text="A ready model of the organisation.")
    input = serializers.FileField(
        required=False,
        help_text="kind=inference: one tensor (.pt, .npz or .safetensors); a leading batch "
        "dimension proves several inferences at once.",
    )
    dataset = serializers.UUIDField(required=False, help_text="kind=audit: a ready test set.")
    callback_url = serializers.URLField(
        required=False,
        max_length=2000,
        help_text="Receives a signed POST of the job's summary when the job ends.",
    )
    privacy = PrivacyField(
        required=False,
        help_text="Parts to keep private on top of the model's toggles and the organisation's "
        "minimums (a JSON object, or JSON text in a multipart form). Private parts are proved "
        "in zero-knowledge mode where the prover can hide them: the input and output of an "
        "inference job on a model whose support lists them in private_parts (MLPs today), the "
        "test inputs of an audit of such a model that is a classifier (its test set is "
        "committed hiding, afresh for the job, and the proof states only the counts), and the "
        "weights of a model registered with private weights (weights_hidden), which every job "
        "on it keeps private, each spending one proof of its budget (its audits need private "
        "test inputs); the proof and every response then hold no private value. A job with "
        "any other private part (the weights of a model committed openly, an audit's output, "
        "a part the model's proofs cannot hide) is refused with 422 "
        "zero_knowledge_unavailable, and a job on a model whose budget is spent with 422 "
        "proof_budget_spent.",
    )
    organisation = serializers.CharField(required=False)

    def validate_input(self, upload: UploadedFile) -> UploadedFile:
        check_size(upload, settings.INPUT_UPLOAD_MAX_BYTES, "input", "INPUT_UPLOAD_MAX_BYTES")
        check_tensor_file(upload, "input")
        return upload

    def validate_callback_url(self, url: str) -> str:
        try:
            check_scheme(url)
        except CallbackRefused as refused:
            raise serializers.ValidationError(str(refused).capitalize() + ".") from None
        return url

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["kind"] == Job.Kind.INFERENCE:
            if "input" not in attrs:
                raise serializers.ValidationError({"input": ["An inference job needs an input."]})
            if "dataset" in attrs:
                raise serializers.ValidationError(
                    {"dataset": ["An inference job takes an input, not a test set."]}
                )
        else:
            if "dataset" not in attrs:
                raise serializers.ValidationError({"dataset": ["An audit job needs a test set."]})
            if "input" in attrs:
                raise serializers.ValidationError(
                    {"input": ["An audit job takes a test set, not an input."]}
                )
        return attrs


class JobPrivacySerializer(serializers.Serializer):
    weights = serializers.ChoiceField(choices=Visibility.choices)
    input = serializers.ChoiceField(choices=Visibility.choices)
    output = serializers.ChoiceField(choices=Visibility.choices)


class VerificationSerializer(serializers.Serializer):
    accepted = serializers.BooleanField()
    reason = serializers.CharField(allow_null=True)
    detail = serializers.CharField(allow_blank=True)
    statement = serializers.DictField()
    soundness_bits = serializers.IntegerField(allow_null=True)


class ClassCountSerializer(serializers.Serializer):
    label = serializers.IntegerField()
    total = serializers.IntegerField(help_text="Samples of this label in the test set.")
    correct = serializers.IntegerField(help_text="Of them, those the model classified right.")


class AuditResultSerializer(serializers.Serializer):
    dataset_digest = serializers.CharField(
        help_text="The committed test set the proof names (hex): with private_input, a hiding "
        "commitment made for this job alone, which reveals nothing of the test inputs; the "
        "digest to publish and to check the proof against (POST /api/v1/verify dataset_digest)."
    )
    private_input = serializers.BooleanField(
        help_text="The test inputs (and every logit) are hidden by zero knowledge: the proof "
        "states only the counts."
    )
    private_weights = serializers.BooleanField(
        help_text="The model's weights are hidden by zero knowledge (a model committed with "
        "hidden weights)."
    )
    n = serializers.IntegerField(help_text="Samples proven.")
    correct = serializers.IntegerField()
    accuracy = serializers.FloatField()
    wilson_95 = serializers.ListField(
        child=serializers.FloatField(), help_text="95% Wilson interval of the accuracy."
    )
    classes = ClassCountSerializer(many=True)


def audit_result_of(job: Job) -> dict[str, Any] | None:
    """What an audit job's proof proves, read from the platform's verification of the stored
    proof (never the prover's own word); None until the proof is accepted."""
    verification = job.verification or {}
    statement = verification.get("statement") or {}
    if job.kind != Job.Kind.AUDIT or not verification.get("accepted"):
        return None
    if statement.get("kind") != "audit":
        return None
    return {
        "dataset_digest": statement["dataset_digest"],
        "private_input": bool(statement.get("private_input", False)),
        "private_weights": bool(statement.get("private_weights", False)),
        "n": int(statement["n"]),
        "correct": int(statement["correct"]),
        "accuracy": float(statement["accuracy"]),
        "wilson_95": [float(value) for value in statement["wilson_95"]],
        "classes": [
            {"label": int(row["label"]), "total": int(row["total"]), "correct": int(row["correct"])}
            for row in statement.get("classes") or []
        ],
    }


class ProofFileSerializer(serializers.Serializer):
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    url = serializers.CharField()


class TimingsSerializer(serializers.Serializer):
    queued_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    queue_seconds = serializers.FloatField(allow_null=True)
    run_seconds = serializers.FloatField(allow_null=True)
    prover = serializers.DictField(help_text="The prover's own timings, by stage.")


def _seconds(start: Any, end: Any) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds(), 3)


class JobSerializer(serializers.ModelSerializer):
    organisation = serializers.CharField(source="organisation.name")
    model = serializers.UUIDField(source="model_id")
    model_name = serializers.CharField(source="model.name")
    model_version = serializers.IntegerField(source="model.version")
    model_digest = serializers.CharField(source="model.digest")
    dataset = serializers.UUIDField(source="dataset_id", allow_null=True)
    progress = serializers.SerializerMethodField()
    timings = serializers.SerializerMethodField()
    verification = serializers.SerializerMethodField()
    proof = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()
    input_sha256 = serializers.SerializerMethodField()
    audit = serializers.SerializerMethodField(
        help_text="kind=audit: the committed test set's digest and the proven counts, from the "
        "verified proof; null for inference jobs and until the proof is accepted."
    )
    privacy = serializers.SerializerMethodField(
        help_text="The effective privacy the job was submitted with: the strictest of the "
        "model's toggles and hidden weights' commitment, the organisation's minimums, the test "
        "set's toggle and the request."
    )

    class Meta:
        model = Job
        fields = [
            "id", "kind", "status", "organisation", "model", "model_name", "model_version",
            "model_digest", "dataset", "dataset_digest", "input_sha256", "privacy",
            "private_parts", "weight_ticket", "progress", "estimate", "timings", "statement",
            "output", "audit", "verification", "proof", "error",
            "prover_version", "device", "attempts", "callback_url", "idempotency_key",
            "created_by", "created_at",
        ]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {
            "statement": {
                "help_text": "What the proof proves, as public values: no private value; "
                "output is null when the output is private, and private names the parts the "
                "zero-knowledge proof hides."
            },
            "output": {
                "help_text": "The model's output (inference), or null while the job runs and "
                "whenever the output is private."
            },
            "weight_ticket": {
                "help_text": "On a model committed with hidden weights: the ticket of its "
                "commitment this job's proof spent (each attempt takes a fresh one, never "
                "reused); null otherwise and until the worker allocates it. An index, not a "
                "secret."
            },
            "private_parts": {
                "help_text": "The parts the proof keeps private by zero knowledge; weights on "
                "a model committed with hidden weights, always."
            },
            "dataset_digest": {
                "help_text": "kind=audit: the digest of the test set's commitment, made by the "
                "worker for this job, which the proof's statement names (empty until the proof "
                "is made). Public, also when the commitment hides the test inputs."
            },
        }

    @extend_schema_field(JobPrivacySerializer)
    def get_privacy(self, job: Job) -> dict[str, str]:
        private = set(job.private_parts)
        return {
            part: Visibility.PRIVATE if part in private else Visibility.PUBLIC
            for part in PRIVACY_PARTS
        }

    @extend_schema_field(AuditResultSerializer(allow_null=True))
    def get_audit(self, job: Job) -> dict[str, Any] | None:
        return audit_result_of(job)

    @extend_schema_field(ProgressSerializer)
    def get_progress(self, job: Job) -> dict[str, Any]:
        return progress_of(job)

    @extend_schema_field(TimingsSerializer)
    def get_timings(self, job: Job) -> dict[str, Any]:
        return {
            "queued_at": job.created_at,
            "started_at": job.started_at,
            "finished_at": job.finished_at,
            "queue_seconds": _seconds(job.created_at, job.started_at),
            "run_seconds": _seconds(job.started_at, job.finished_at),
            "prover": job.timings,
        }

    @extend_schema_field(VerificationSerializer(allow_null=True))
    def get_verification(self, job: Job) -> dict[str, Any] | None:
        return job.verification or None

    @extend_schema_field(ProofFileSerializer(allow_null=True))
    def get_proof(self, job: Job) -> dict[str, Any] | None:
        if job.proof is None or job.status != Job.Status.SUCCEEDED:
            return None
        url = reverse("proving:job-proof", kwargs={"pk": job.pk})
        request = self.context.get("request")
        return {
            "size": job.proof.size,
            "sha256": job.proof.sha256,
            "url": request.build_absolute_uri(url) if request is not None else url,
        }

    @extend_schema_field(WorkErrorSerializer(allow_null=True))
    def get_error(self, job: Job) -> dict[str, str] | None:
        return error_of(job)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_input_sha256(self, job: Job) -> str | None:
        """None for a private input: a hash of it would let anyone who can guess the input
        confirm the guess."""
        if job.input is None or "input" in (job.private_parts or []):
            return None
        return job.input.sha256

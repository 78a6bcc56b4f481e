from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, renderers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from veriml.accounts.access import Right, acting_organisation, caller_of, require_any
from veriml.core.api import (
    choice_filter,
    choice_parameter,
    requested_organisation,
    visible_object,
)
from veriml.core.errors import ApiError
from veriml.core.files import StoredFileError, read_checked
from veriml.proving import services
from veriml.proving.models import Job
from veriml.proving.serializers import JobCreateSerializer, JobSerializer
from veriml.registry.models import Dataset, RegisteredModel

JOB_RELATED = ("organisation", "model", "dataset", "input", "proof")
IDEMPOTENCY_KEY_MAX = 255

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    "Idempotency-Key",
    str,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "Makes retries safe: a repeated request with the same key (per organisation) and the "
        "same content answers 200 with the job the first one created (201) and queues nothing; "
        "the same key with different content answers 409 idempotency_conflict."
    ),
)


def _jobs() -> QuerySet[Job]:
    return Job.objects.select_related(*JOB_RELATED)


def _idempotency_key(request: Request) -> str | None:
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        return None
    if len(key) > IDEMPOTENCY_KEY_MAX or not key.isprintable():
        raise exceptions.ValidationError(
            {"Idempotency-Key": [f"At most {IDEMPOTENCY_KEY_MAX} printable characters."]}
        )
    return key


class JobListView(generics.ListCreateAPIView):
    serializer_class = JobSerializer
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def get_queryset(self) -> QuerySet[Job]:
        organisations = require_any(caller_of(self.request), Right.AUDIT)
        jobs = _jobs().filter(organisation_id__in=organisations)
        status_filter = choice_filter(self.request, "status", Job.Status.values)
        if status_filter:
            jobs = jobs.filter(status=status_filter)
        kind_filter = choice_filter(self.request, "kind", Job.Kind.values)
        if kind_filter:
            jobs = jobs.filter(kind=kind_filter)
        return jobs

    @extend_schema(
        summary="List jobs, newest first (an auditor also sees the jobs it was granted)",
        parameters=[
            choice_parameter("status", Job.Status.values, "Only jobs in this state."),
            choice_parameter("kind", Job.Kind.values, "Only jobs of this kind."),
        ],
    )
    def get(self, request: Request) -> Response:
        return super().get(request)

    @extend_schema(
        summary="Request a proof: inference (model + input) or audit (model + test set)",
        request={
            "multipart/form-data": JobCreateSerializer,
            "application/json": JobCreateSerializer,
        },
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={
            201: JobSerializer,
            200: OpenApiResponse(JobSerializer, description="Replayed by Idempotency-Key."),
            422: OpenApiResponse(
                description="zero_knowledge_unavailable: the job's effective privacy has a "
                "private part the prover cannot hide for it (inference proofs of MLPs and CNNs can "
                "keep their input and output private, and audits of MLP and CNN classifiers "
                "their test inputs; the weights of a model registered with private weights, "
                "committed hidden, stay private in its inference proofs and in its audits with "
                "private test inputs; the weights of a model committed openly and a private audit "
                "output cannot be hidden). details: private_parts (every private part), "
                "refused_parts, hideable_parts (what this job could hide), reasons (what made "
                "each part private), private_reason (why the model's proofs cannot hide the "
                "part, when the model is the obstacle), policy_decision. "
                "proof_budget_spent: the model's hidden weights' commitment has no proof left "
                "of its budget (details: proof_budget, proofs_used, proofs_promised to jobs "
                "still waiting, policy_decision). Nothing is stored; the refusal is logged as "
                "a policy decision."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        caller = caller_of(request)
        organisation = acting_organisation(caller, Right.SUBMIT, requested_organisation(request))
        key = _idempotency_key(request)
        form = JobCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        model = self._owned(RegisteredModel.objects.all(), data["model"], organisation.pk, "model")
        dataset = None
        if "dataset" in data:
            dataset = self._owned(
                Dataset.objects.all(), data["dataset"], organisation.pk, "test set"
            )
        job, created = services.submit_job(
            organisation,
            services.JobRequest(
                kind=data["kind"],
                model=model,
                input=data.get("input"),
                dataset=dataset,
                callback_url=data.get("callback_url", ""),
                privacy=data.get("privacy"),
            ),
            idempotency_key=key,
            created_by=caller.label,
            actor=caller.actor,
        )
        job = _jobs().get(pk=job.pk)
        body = JobSerializer(job, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    def _owned(self, queryset: QuerySet[Any], pk: Any, organisation_id: int, what: str) -> Any:
        found = visible_object(queryset, pk, caller_of(self.request), Right.SUBMIT, what)
        if found.organisation_id != organisation_id:
            raise exceptions.NotFound(f"No such {what}.")
        return found


class JobDetailView(generics.GenericAPIView):
    serializer_class = JobSerializer

    @extend_schema(summary="A job: state, progress, timings, verification and errors")
    def get(self, request: Request, pk: str) -> Response:
        job = visible_object(_jobs(), pk, caller_of(request), Right.AUDIT, "job")
        return Response(JobSerializer(job, context={"request": request}).data)


class JobCancelView(APIView):
    @extend_schema(
        summary="Cancel a queued or running job",
        request=None,
        responses={200: JobSerializer},
    )
    def post(self, request: Request, pk: str) -> Response:
        caller = caller_of(request)
        job = visible_object(_jobs(), pk, caller, Right.SUBMIT, "job")
        services.cancel_job(job, actor=caller.actor)
        job = _jobs().get(pk=job.pk)
        return Response(JobSerializer(job, context={"request": request}).data)


class ProofFileRenderer(renderers.BaseRenderer):
    media_type = "application/octet-stream"
    format = "vmp"
    charset = None
    render_style = "binary"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        if isinstance(data, bytes):
            return data
        return renderers.JSONRenderer().render(data)


class JobProofView(APIView):
    renderer_classes = [renderers.JSONRenderer, ProofFileRenderer]

    @extend_schema(
        summary="Download the job's proof file (checked against its SHA-256 first)",
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            409: OpenApiResponse(description="The job has no proof (not succeeded)."),
            410: OpenApiResponse(description="The proof file was erased under retention."),
        },
    )
    def get(self, request: Request, pk: str) -> HttpResponse:
        caller = caller_of(request)
        job = visible_object(_jobs(), pk, caller, Right.AUDIT, "job")
        if job.proof is None and job.status == Job.Status.SUCCEEDED:
            raise ApiError(
                410,
                "proof_erased",
                "The proof file was deleted when its retention period ended; the job's "
                "statement and verification remain.",
            )
        if job.proof is None or job.status != Job.Status.SUCCEEDED:
            raise ApiError(409, "no_proof", f"The job has no proof: it is {job.status}.")
        try:
            data = read_checked(job.proof)
        except StoredFileError as error:
            raise ApiError(500, "integrity_error", str(error)) from None
        services.record_proof_download(job, actor=caller.actor)
        response = HttpResponse(data, content_type="application/octet-stream")
        response["Content-Disposition"] = f'attachment; filename="{job.pk}.vmp"'
        response["X-VeriML-Proof-SHA256"] = job.proof.sha256
        return response

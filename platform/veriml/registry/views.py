from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from veriml.accounts.access import Right, acting_organisation, caller_of, require_any
from veriml.core.api import (
    choice_filter,
    choice_parameter,
    query_value,
    requested_organisation,
    visible_object,
)
from veriml.registry import services
from veriml.registry.models import Dataset, RegisteredModel
from veriml.registry.serializers import (
    DatasetSerializer,
    DatasetUploadSerializer,
    ModelSerializer,
    ModelUploadSerializer,
)

MODEL_FILES = ("organisation", "source", "calibration", "compiled")


class ModelListView(generics.ListCreateAPIView):
    serializer_class = ModelSerializer
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self) -> QuerySet[RegisteredModel]:
        organisations = require_any(caller_of(self.request), Right.READ)
        models = RegisteredModel.objects.filter(organisation_id__in=organisations)
        status_filter = choice_filter(self.request, "status", RegisteredModel.Status.values)
        if status_filter:
            models = models.filter(status=status_filter)
        if name := query_value(self.request, "name"):
            models = models.filter(name=name)
        return models.select_related(*MODEL_FILES)

    @extend_schema(
        summary="List models, newest first",
        parameters=[
            choice_parameter("status", RegisteredModel.Status.values, "Only models in this state."),
            OpenApiParameter("name", str, description="Only versions of this model name."),
        ],
    )
    def get(self, request: Request) -> Response:
        return super().get(request)

    @extend_schema(
        summary="Register a model (a new version of its name) and compile it",
        request={"multipart/form-data": ModelUploadSerializer},
        responses={201: ModelSerializer},
    )
    def post(self, request: Request) -> Response:
        caller = caller_of(request)
        organisation = acting_organisation(caller, Right.SUBMIT, requested_organisation(request))
        upload = ModelUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        data = upload.validated_data
        model = services.register_model(
            organisation,
            data["name"],
            data["file"],
            data["calibration"],
            data.get("privacy"),
            created_by=caller.label,
            actor=caller.actor,
            card={field: data[field] for field in services.MODEL_CARD_FIELDS if field in data},
            proof_budget=data.get("proof_budget"),
        )
        return Response(ModelSerializer(model).data, status=status.HTTP_201_CREATED)


class ModelDetailView(generics.GenericAPIView):
    serializer_class = ModelSerializer

    @extend_schema(summary="A model: its state, digest and compile report")
    def get(self, request: Request, pk: str) -> Response:
        queryset = RegisteredModel.objects.select_related(*MODEL_FILES)
        model = visible_object(queryset, pk, caller_of(request), Right.READ, "model")
        return Response(ModelSerializer(model).data)


class DatasetListView(generics.ListCreateAPIView):
    serializer_class = DatasetSerializer
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self) -> QuerySet[Dataset]:
        organisations = require_any(caller_of(self.request), Right.READ)
        datasets = Dataset.objects.filter(organisation_id__in=organisations)
        status_filter = choice_filter(self.request, "status", Dataset.Status.values)
        if status_filter:
            datasets = datasets.filter(status=status_filter)
        return datasets.select_related("organisation", "file")

    @extend_schema(
        summary="List test sets, newest first",
        parameters=[
            choice_parameter("status", Dataset.Status.values, "Only test sets in this state.")
        ],
    )
    def get(self, request: Request) -> Response:
        return super().get(request)

    @extend_schema(
        summary="Upload a test set; a worker validates it",
        request={"multipart/form-data": DatasetUploadSerializer},
        responses={201: DatasetSerializer},
    )
    def post(self, request: Request) -> Response:
        caller = caller_of(request)
        organisation = acting_organisation(caller, Right.SUBMIT, requested_organisation(request))
        upload = DatasetUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        data = upload.validated_data
        dataset = services.upload_dataset(
            organisation, data["name"], data["file"], created_by=caller.label, actor=caller.actor
        )
        return Response(DatasetSerializer(dataset).data, status=status.HTTP_201_CREATED)


class DatasetDetailView(generics.GenericAPIView):
    serializer_class = DatasetSerializer

    @extend_schema(summary="A test set: its state, size and classes")
    def get(self, request: Request, pk: str) -> Response:
        queryset = Dataset.objects.select_related("organisation", "file")
        dataset = visible_object(queryset, pk, caller_of(request), Right.READ, "test set")
        return Response(DatasetSerializer(dataset).data)

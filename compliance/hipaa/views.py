"""HIPAA controls through the API: break-glass access, reading and erasing test sets, erasing
models, the PHI access log."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from compliance.hipaa import services
from compliance.hipaa.models import BreakGlassGrant, PHIAccess
from compliance.policy.export import parse_bound
from veriml.accounts.access import (
    Right,
    acting_organisation,
    caller_of,
    require,
    require_any,
)
from veriml.core.api import StrictSerializer, query_value, requested_organisation, visible_object
from veriml.registry.models import Dataset, RegisteredModel


class BreakGlassSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=services.REASON_MAX)
    minutes = serializers.IntegerField(min_value=1)
    organisation = serializers.CharField(required=False)


class ReasonSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=services.REASON_MAX)


def grant_record(grant: BreakGlassGrant) -> dict[str, Any]:
    return {
        "id": grant.pk,
        "organisation": grant.organisation.name,
        "actor": grant.actor,
        "reason": grant.reason,
        "opened_at": grant.opened_at,
        "expires_at": grant.expires_at,
        "closed_at": grant.closed_at,
        "active": grant.is_active(),
    }


class BreakGlassView(APIView):  # type: ignore[misc]
    @extend_schema(
        summary="Open time-boxed emergency access to the organisation's PHI (logged, flagged)",
        request=BreakGlassSerializer,
        responses={201: OpenApiTypes.OBJECT},
    )
    def post(self, request: Request) -> Response:
        caller = caller_of(request)
        organisation = acting_organisation(caller, Right.READ, requested_organisation(request))
        form = BreakGlassSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        grant = services.open_break_glass(
            organisation,
            caller.actor,
            form.validated_data["reason"],
            form.validated_data["minutes"],
        )
        return Response(grant_record(grant), status=status.HTTP_201_CREATED)


class BreakGlassCloseView(APIView):  # type: ignore[misc]
    @extend_schema(
        summary="Close a break-glass grant early",
        request=None,
        responses={200: OpenApiTypes.OBJECT},
    )
    def post(self, request: Request, pk: int) -> Response:
        caller = caller_of(request)
        grant = BreakGlassGrant.objects.select_related("organisation").filter(pk=pk).first()
        if grant is None or not caller.sees(grant.organisation_id):
            raise exceptions.NotFound("No such break-glass grant.")
        if grant.actor != caller.actor:
            require(caller, Right.ADMIN, grant.organisation_id, "break-glass grant")
        return Response(grant_record(services.close_break_glass(grant, caller.actor)))


class DatasetDownloadView(APIView):  # type: ignore[misc]
    @extend_schema(
        summary="Download a test set's data; PHI reads are logged with their purpose",
        parameters=[OpenApiParameter("purpose", str, required=True, description="Why.")],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
    )
    def get(self, request: Request, pk: str) -> HttpResponse:
        caller = caller_of(request)
        queryset = Dataset.objects.select_related("organisation", "file")
        dataset: Dataset = visible_object(queryset, pk, caller, Right.READ, "test set")
        data = services.read_dataset(dataset, caller, query_value(request, "purpose") or "")
        response = HttpResponse(data, content_type="application/octet-stream")
        name = dataset.file.original_name or f"{dataset.pk}.bin"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


class DatasetEraseView(APIView):  # type: ignore[misc]
    @extend_schema(
        summary="Delete a test set's data on request, leaving a tombstone in the audit log",
        request=ReasonSerializer,
        responses={204: None},
    )
    def post(self, request: Request, pk: str) -> Response:
        caller = caller_of(request)
        queryset = Dataset.objects.select_related("organisation", "file")
        dataset: Dataset = visible_object(queryset, pk, caller, Right.ADMIN, "test set")
        form = ReasonSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        services.erase_dataset(dataset, caller.actor, form.validated_data["reason"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class ModelEraseView(APIView):  # type: ignore[misc]
    @extend_schema(
        summary="Delete a model's files on request (its digest stays), leaving a tombstone",
        request=ReasonSerializer,
        responses={204: None},
    )
    def post(self, request: Request, pk: str) -> Response:
        caller = caller_of(request)
        queryset = RegisteredModel.objects.select_related("organisation")
        model: RegisteredModel = visible_object(queryset, pk, caller, Right.ADMIN, "model")
        form = ReasonSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        services.erase_model(model, caller.actor, form.validated_data["reason"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class PHIAccessLogView(APIView):  # type: ignore[misc]
    @extend_schema(
        summary="Every access to the organisation's PHI (owners)",
        parameters=[
            OpenApiParameter("from", str, description="ISO date or date-time, inclusive."),
            OpenApiParameter("to", str, description="ISO date (inclusive) or date-time."),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        caller = caller_of(request)
        organisation_ids = require_any(caller, Right.ADMIN)
        rows = PHIAccess.objects.filter(organisation_id__in=organisation_ids)
        try:
            start = parse_bound(query_value(request, "from"))
            end = parse_bound(query_value(request, "to"), end=True)
        except ValueError as error:
            raise exceptions.ValidationError({"from/to": [str(error)]}) from None
        if start is not None:
            rows = rows.filter(time__gte=start)
        if end is not None:
            rows = rows.filter(time__lt=end)
        return Response(
            {
                "retention_days": settings.AUDIT_RETENTION_DAYS,
                "accesses": [
                    {
                        "time": row.time,
                        "actor": row.actor,
                        "what_type": row.what_type,
                        "what_id": row.what_id,
                        "purpose": row.purpose,
                        "break_glass": row.break_glass,
                        "break_glass_grant": row.break_glass_grant,
                    }
                    for row in rows.order_by("time", "id")
                ],
            }
        )

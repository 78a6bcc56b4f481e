"""Regulators' export of the policy log, the region policies, and organisations' transfer
bases."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from compliance.policy import services
from compliance.policy.export import FORMATS, parse_bound, render
from compliance.policy.regions import POLICIES
from veriml.accounts.access import Right, acting_organisation, caller_of, require_any
from veriml.core.api import StrictSerializer, query_value, requested_organisation


class PolicyLogView(APIView):  # type: ignore[misc]
    @extend_schema(
        summary="Export the policy log for a date range (owners and admin-scoped keys)",
        parameters=[
            OpenApiParameter("from", str, description="ISO date or date-time, inclusive."),
            OpenApiParameter("to", str, description="ISO date (inclusive) or date-time."),
            OpenApiParameter("format", str, enum=list(FORMATS), description="csv (default)."),
            OpenApiParameter("organisation", str, description="One of the caller's."),
        ],
        responses={
            (200, "text/csv"): OpenApiTypes.STR,
            (200, "application/json"): OpenApiTypes.OBJECT,
        },
    )
    def get(self, request: Request) -> HttpResponse:
        caller = caller_of(request)
        organisation_ids = require_any(caller, Right.ADMIN)
        if requested_organisation(request):
            organisation_ids = [
                acting_organisation(caller, Right.ADMIN, requested_organisation(request)).pk
            ]
        output_format = query_value(request, "format") or "csv"
        if output_format not in FORMATS:
            raise exceptions.ValidationError({"format": [f"Choose one of {', '.join(FORMATS)}."]})
        bounds = {}
        for name in ("from", "to"):
            try:
                bounds[name] = parse_bound(query_value(request, name), end=name == "to")
            except ValueError as error:
                raise exceptions.ValidationError({name: [str(error)]}) from None
        rows = services.decisions_between(bounds["from"], bounds["to"], organisation_ids)
        content_type = "text/csv" if output_format == "csv" else "application/json"
        response = HttpResponse(render(rows, output_format), content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="policy-log.{output_format}"'
        return response


class RegionPoliciesView(APIView):  # type: ignore[misc]
    @extend_schema(
        summary="The current policy of every region", responses={200: OpenApiTypes.OBJECT}
    )
    def get(self, request: Request) -> Response:
        return Response({"policies": [policy.as_dict() for policy in POLICIES.values()]})


class TransferBasisSerializer(StrictSerializer):
    target_region = serializers.ChoiceField(choices=sorted(POLICIES))
    legal_basis = serializers.CharField(max_length=2000)
    organisation = serializers.CharField(required=False)


class TransferBasisView(APIView):  # type: ignore[misc]
    @extend_schema(
        summary="Record a legal basis for transfers to another region (owners)",
        request=TransferBasisSerializer,
        responses={201: OpenApiTypes.OBJECT},
    )
    def post(self, request: Request) -> Response:
        caller = caller_of(request)
        organisation = acting_organisation(caller, Right.ADMIN, requested_organisation(request))
        form = TransferBasisSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        basis = services.record_transfer_basis(
            organisation,
            form.validated_data["target_region"],
            form.validated_data["legal_basis"],
            caller.actor,
        )
        body: dict[str, Any] = {
            "id": basis.pk,
            "organisation": organisation.name,
            "source_region": basis.source_region,
            "target_region": basis.target_region,
            "legal_basis": basis.legal_basis,
            "recorded_at": basis.recorded_at,
        }
        return Response(body, status=status.HTTP_201_CREATED)

"""Privacy toggles through the API: organisation defaults and minimums, model and test-set
toggles, and the change history for regulatory reporting."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from compliance.policy.export import parse_bound
from compliance.privacy import services
from compliance.privacy.models import ToggleChange
from veriml.accounts.access import Right, acting_organisation, caller_of, require_any
from veriml.core.api import (
    JsonObjectField,
    StrictSerializer,
    query_value,
    requested_organisation,
    visible_object,
)
from veriml.registry.models import Dataset, RegisteredModel, Visibility


class OrganisationPrivacySerializer(StrictSerializer):
    defaults = JsonObjectField(required=False, help_text='{"input": "private", ...}')
    minimums = JsonObjectField(required=False, help_text='{"input": "private", ...}')
    reason = serializers.CharField(max_length=services.REASON_MAX)
    organisation = serializers.CharField(required=False)


class ModelPrivacySerializer(StrictSerializer):
    privacy = JsonObjectField(help_text='{"weights": "private", ...}')
    reason = serializers.CharField(max_length=services.REASON_MAX)


class DatasetPrivacySerializer(StrictSerializer):
    input = serializers.ChoiceField(choices=Visibility.choices)
    reason = serializers.CharField(max_length=services.REASON_MAX)


def change_record(change: ToggleChange) -> dict[str, Any]:
    return {
        "id": change.pk,
        "time": change.time,
        "actor": change.actor,
        "object_type": change.object_type,
        "object_id": change.object_id,
        "setting": change.setting,
        "part": change.part,
        "old": change.old_value,
        "new": change.new_value,
        "reason": change.reason,
        # A requested change that was refused (the toggle kept ``old``), and why.
        "refused": bool(change.refusal),
        "refusal": change.refusal,
    }


class OrganisationPrivacyView(APIView):  # type: ignore[misc]
    @extend_schema(
        summary="The organisation's privacy defaults and minimums",
        parameters=[OpenApiParameter("organisation", str, description="One of the caller's.")],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        caller = caller_of(request)
        organisation = acting_organisation(caller, Right.READ, requested_organisation(request))
        return Response(services.describe(organisation))

    @extend_schema(
        summary="Change the organisation's privacy defaults and minimums (owners)",
        request=OrganisationPrivacySerializer,
        responses={200: OpenApiTypes.OBJECT},
    )
    def patch(self, request: Request) -> Response:
        caller = caller_of(request)
        organisation = acting_organisation(caller, Right.ADMIN, requested_organisation(request))
        form = OrganisationPrivacySerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        changes = services.set_organisation_privacy(
            organisation,
            caller.actor,
            data["reason"],
            new_defaults=data.get("defaults"),
            new_minimums=data.get("minimums"),
        )
        body = services.describe(organisation)
        body["changes"] = [change_record(change) for change in changes]
        return Response(body)


class ModelPrivacyView(APIView):  # type: ignore[misc]
    @extend_schema(
        summary="Change a model's privacy toggles (not below the organisation's minimums)",
        request=ModelPrivacySerializer,
        responses={200: OpenApiTypes.OBJECT},
    )
    def patch(self, request: Request, pk: str) -> Response:
        caller = caller_of(request)
        queryset = RegisteredModel.objects.select_related("organisation")
        model: RegisteredModel = visible_object(queryset, pk, caller, Right.SUBMIT, "model")
        form = ModelPrivacySerializer(data=request.data)
        form.is_valid(raise_exception=True)
        changes = services.set_model_privacy(
            model, form.validated_data["privacy"], caller.actor, form.validated_data["reason"]
        )
        model.refresh_from_db()
        return Response(
            {
                "model": str(model.pk),
                "privacy": model.privacy,
                "changes": [change_record(change) for change in changes],
            }
        )


class DatasetPrivacyView(APIView):  # type: ignore[misc]
    @extend_schema(
        summary="A test set's input privacy",
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request, pk: str) -> Response:
        queryset = Dataset.objects.select_related("organisation")
        dataset: Dataset = visible_object(queryset, pk, caller_of(request), Right.READ, "test set")
        return Response(
            {"dataset": str(dataset.pk), "input": services.dataset_input_privacy(dataset)}
        )

    @extend_schema(
        summary="Change a test set's input privacy (not below the organisation's minimum)",
        request=DatasetPrivacySerializer,
        responses={200: OpenApiTypes.OBJECT},
    )
    def patch(self, request: Request, pk: str) -> Response:
        caller = caller_of(request)
        queryset = Dataset.objects.select_related("organisation")
        dataset: Dataset = visible_object(queryset, pk, caller, Right.SUBMIT, "test set")
        form = DatasetPrivacySerializer(data=request.data)
        form.is_valid(raise_exception=True)
        changes = services.set_dataset_privacy(
            dataset, form.validated_data["input"], caller.actor, form.validated_data["reason"]
        )
        return Response(
            {
                "dataset": str(dataset.pk),
                "input": services.dataset_input_privacy(dataset),
                "changes": [change_record(change) for change in changes],
            }
        )


class ToggleChangesView(APIView):  # type: ignore[misc]
    @extend_schema(
        summary="Every privacy toggle change, oldest first, for regulatory reporting",
        parameters=[
            OpenApiParameter("from", str, description="ISO date or date-time, inclusive."),
            OpenApiParameter("to", str, description="ISO date (inclusive) or date-time."),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        caller = caller_of(request)
        organisation_ids = require_any(caller, Right.AUDIT)
        if requested_organisation(request):
            organisation_ids = [
                acting_organisation(caller, Right.AUDIT, requested_organisation(request)).pk
            ]
        bounds = {}
        for name in ("from", "to"):
            try:
                bounds[name] = parse_bound(query_value(request, name), end=name == "to")
            except ValueError as error:
                raise exceptions.ValidationError({name: [str(error)]}) from None
        rows = services.changes_between(organisation_ids, bounds["from"], bounds["to"])
        return Response({"changes": [change_record(change) for change in rows]})

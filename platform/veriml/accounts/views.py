from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from veriml.accounts import services
from veriml.accounts.access import Right, acting_organisation, caller_of, require, require_any
from veriml.accounts.authentication import api_key_of
from veriml.accounts.models import ApiKey, AuditorGrant, Organisation
from veriml.accounts.serializers import (
    ApiKeySerializer,
    AuditorGrantCreateSerializer,
    AuditorGrantSerializer,
    CallbackSecretSerializer,
    CallerSerializer,
)
from veriml.core.api import requested_organisation
from veriml.core.errors import ApiError


class CallerView(APIView):
    @extend_schema(responses=CallerSerializer, summary="Who this request acts as")
    def get(self, request: Request) -> Response:
        api_key = api_key_of(request)
        if api_key is not None:
            caller = {
                "kind": "api_key",
                "organisation": api_key.organisation.name,
                "api_key": api_key,
                "username": None,
                "memberships": [],
            }
        else:
            caller = {
                "kind": "user",
                "organisation": None,
                "api_key": None,
                "username": request.user.get_username(),
                "memberships": request.user.memberships.select_related("organisation"),
            }
        return Response(CallerSerializer(caller).data)


class AuditorGrantListView(generics.ListCreateAPIView):
    serializer_class = AuditorGrantSerializer

    def get_queryset(self) -> QuerySet[AuditorGrant]:
        organisations = require_any(caller_of(self.request), Right.ADMIN)
        return AuditorGrant.objects.filter(organisation_id__in=organisations).select_related(
            "organisation", "auditor_organisation", "auditor_user"
        )

    @extend_schema(summary="Auditor grants the caller's organisations have made")
    def get(self, request: Request) -> Response:
        return super().get(request)

    @extend_schema(
        summary="Let an auditor (organisation or user) read this organisation's jobs and proofs",
        request=AuditorGrantCreateSerializer,
        responses={201: AuditorGrantSerializer, 200: AuditorGrantSerializer},
    )
    def post(self, request: Request) -> Response:
        caller = caller_of(request)
        organisation = acting_organisation(caller, Right.ADMIN, requested_organisation(request))
        form = AuditorGrantCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        auditor_organisation = auditor_user = None
        if name := form.validated_data.get("auditor_organisation"):
            auditor_organisation = Organisation.objects.filter(name=name).first()
            if auditor_organisation is None:
                raise exceptions.NotFound("No such auditor organisation.")
        else:
            username = form.validated_data["auditor_username"]
            auditor_user = get_user_model().objects.filter(username=username).first()
            if auditor_user is None:
                raise exceptions.NotFound("No such auditor user.")
        try:
            grant, created = services.grant_auditor(
                organisation, auditor_organisation, auditor_user, actor=caller.actor
            )
        except ValueError as error:
            raise ApiError(400, "invalid", str(error).capitalize() + ".") from None
        return Response(
            AuditorGrantSerializer(grant).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


def _row_id(pk: str) -> int | None:
    """An integer id from a URL; None (found nowhere) for anything a database column cannot
    hold."""
    if pk.isascii() and pk.isdigit() and len(pk) <= 18:
        return int(pk)
    return None


class AuditorGrantDetailView(APIView):
    @extend_schema(summary="Withdraw an auditor grant", request=None, responses={204: None})
    def delete(self, request: Request, pk: str) -> Response:
        grant = AuditorGrant.objects.filter(pk=_row_id(pk)).first()
        if grant is None:
            raise exceptions.NotFound("No such auditor grant.")
        caller = caller_of(request)
        require(caller, Right.ADMIN, grant.organisation_id, "auditor grant")
        services.revoke_auditor_grant(grant, actor=caller.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _secret_body(organisation: Organisation, secret: str) -> dict[str, str]:
    from veriml.proving.callbacks import SIGNATURE_HEADER, TIMESTAMP_HEADER

    return {
        "organisation": organisation.name,
        "secret": secret,
        "algorithm": "hmac-sha256",
        "signature_header": SIGNATURE_HEADER,
        "timestamp_header": TIMESTAMP_HEADER,
        "signed_content": "<timestamp>.<body>",
    }


ORGANISATION_PARAMETER = OpenApiParameter(
    "organisation", str, description="For signed-in users who own several organisations."
)


class CallbackSecretView(APIView):
    """The key that signs an organisation's job callbacks (admin scope or owner role)."""

    def _organisation(self, request: Request) -> Organisation:
        return acting_organisation(caller_of(request), Right.ADMIN, requested_organisation(request))

    @extend_schema(
        summary="The callback signing secret (created on first use)",
        parameters=[ORGANISATION_PARAMETER],
        responses=CallbackSecretSerializer,
    )
    def get(self, request: Request) -> Response:
        organisation = self._organisation(request)
        secret = services.callback_secret_of(organisation.pk)
        return Response(CallbackSecretSerializer(_secret_body(organisation, secret)).data)

    @extend_schema(
        summary="Replace the callback signing secret; the old one stops working",
        parameters=[ORGANISATION_PARAMETER],
        request=None,
        responses=CallbackSecretSerializer,
    )
    def post(self, request: Request) -> Response:
        organisation = self._organisation(request)
        secret = services.rotate_callback_secret(organisation)
        return Response(CallbackSecretSerializer(_secret_body(organisation, secret)).data)


class ApiKeyListView(generics.ListAPIView):
    serializer_class = ApiKeySerializer

    def get_queryset(self) -> QuerySet[ApiKey]:
        organisations = require_any(caller_of(self.request), Right.ADMIN)
        return ApiKey.objects.filter(organisation_id__in=organisations).select_related(
            "organisation"
        )

    @extend_schema(summary="The API keys of the caller's organisations (never their secrets)")
    def get(self, request: Request) -> Response:
        return super().get(request)


class ApiKeyRevokeView(APIView):
    @extend_schema(
        summary="Revoke an API key: it is refused from now on, for good",
        request=None,
        responses=ApiKeySerializer,
    )
    def post(self, request: Request, pk: str) -> Response:
        api_key = None
        if services.is_key_prefix(pk):
            api_key = ApiKey.objects.select_related("organisation").filter(prefix=pk).first()
        if api_key is None:
            raise exceptions.NotFound("No such API key.")
        caller = caller_of(request)
        require(caller, Right.ADMIN, api_key.organisation_id, "API key")
        revoked = services.revoke_api_key(api_key, actor=caller.actor)
        return Response(ApiKeySerializer(revoked).data)

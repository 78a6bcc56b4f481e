from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from veriml.accounts.authentication import api_key_of
from veriml.accounts.serializers import CallerSerializer


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

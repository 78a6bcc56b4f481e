from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import reverse as django_reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from veriml.core.health import check_all


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database, broker, storage and at least one worker all work, else 503."""
    components = check_all()
    healthy = all(component.ok for component in components.values())
    body = {
        "status": "ok" if healthy else "unavailable",
        "components": {name: component.as_dict() for name, component in components.items()},
    }
    return JsonResponse(body, status=200 if healthy else 503)


class ApiRootView(APIView):
    """Entry point of the REST API: links to what it offers."""

    permission_classes = [AllowAny]

    @extend_schema(responses={200: dict[str, str]}, summary="Links to the API's resources")
    def get(self, request: Request) -> Response:
        return Response(
            {
                "me": reverse("accounts:me", request=request),
                "models": reverse("registry:models", request=request),
                "datasets": reverse("registry:datasets", request=request),
                "jobs": reverse("proving:jobs", request=request),
                "verify": reverse("verification:verify", request=request),
                "auditor_grants": reverse("accounts:auditor-grants", request=request),
                "callback_secret": reverse("accounts:callback-secret", request=request),
                "api_keys": reverse("accounts:api-keys", request=request),
                "schema": reverse("schema", request=request),
                "docs": reverse("swagger-ui", request=request),
                "health": request.build_absolute_uri(django_reverse("healthz")),
            }
        )

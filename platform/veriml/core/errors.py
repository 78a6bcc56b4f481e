"""One shape for every error the API returns: ``{"error": {"code", "message", "details"}}``.

``code`` is a stable machine-readable word (``not_found``, ``permission_denied``, ``invalid``,
``throttled``, ``conflict``...), ``message`` a sentence for people and ``details`` whatever else
helps: the field errors of a rejected request, the seconds to wait after throttling.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import (
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the resource."
    default_code = "conflict"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The uploaded file is too large."
    default_code = "file_too_large"


class ApiError(exceptions.APIException):
    """An error with a chosen status, code and message, plus optional details."""

    def __init__(
        self, status_code: int, code: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message, code)
        self.status_code = status_code
        self.details = details or {}


_VALIDATION_MESSAGE = "The request is not valid; see details."


def _code_of(exc: exceptions.APIException) -> str:
    if isinstance(exc, exceptions.ValidationError):
        return "invalid"
    codes = exc.get_codes()
    if isinstance(codes, str):
        return codes
    return exc.default_code


def _plain(detail: Any) -> Any:
    """DRF's ErrorDetail strings and nested containers as plain JSON values."""
    if isinstance(detail, dict):
        return {key: _plain(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_plain(item) for item in detail]
    return str(detail)


def _body(exc: exceptions.APIException) -> dict[str, Any]:
    details: dict[str, Any] = dict(getattr(exc, "details", {}))
    if isinstance(exc, exceptions.ValidationError):
        message = _VALIDATION_MESSAGE
        detail = _plain(exc.detail)
        details["fields"] = detail if isinstance(detail, dict) else {"non_field_errors": detail}
    else:
        message = str(exc.detail)
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        details["retry_after_seconds"] = round(exc.wait)
    return {"error": {"code": _code_of(exc), "message": message, "details": details}}


def _refusal(exc: SuspiciousOperation) -> tuple[int, str, str]:
    """Django's refusals of a request body it will not read (too large, too many fields)."""
    if isinstance(exc, RequestDataTooBig):
        return (
            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            "request_too_large",
            "The request's form fields or body are larger than "
            f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes; send files as file parts.",
        )
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        return status.HTTP_400_BAD_REQUEST, "too_many_fields", str(exc)
    return status.HTTP_400_BAD_REQUEST, "bad_request", "The request is malformed."


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler (status codes, WWW-Authenticate, Retry-After) with VeriML's body."""
    if isinstance(exc, ServiceError):
        exc = ApiError(exc.status_code, exc.code, exc.message, exc.details)
    elif isinstance(exc, SuspiciousOperation):
        exc = ApiError(*_refusal(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or exceptions.NotFound.default_detail)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or exceptions.PermissionDenied.default_detail)
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    response.data = _body(exc)
    return response


def error_response(status_code: int, code: str, message: str, **details: Any) -> Response:
    return Response(
        {"error": {"code": code, "message": message, "details": details}}, status=status_code
    )


def _json_error(
    request: HttpRequest, status_code: int, code: str, message: str
) -> HttpResponse | None:
    if not request.path.startswith("/api/"):
        return None
    body = {"error": {"code": code, "message": message, "details": {}}}
    return JsonResponse(body, status=status_code)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's own 400 (a request refused before any view ran), in the API's shape."""
    if isinstance(exception, SuspiciousOperation):
        refusal = _refusal(exception)
    else:
        refusal = (status.HTTP_400_BAD_REQUEST, "bad_request", "The request is malformed.")
    return _json_error(request, *refusal) or defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    message = str(exception) or exceptions.PermissionDenied.default_detail
    return _json_error(request, 403, "permission_denied", message) or (
        defaults.permission_denied(request, exception)
    )


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _json_error(request, 404, "not_found", "No such resource.") or (
        defaults.page_not_found(request, exception)
    )


def server_error(request: HttpRequest) -> HttpResponse:
    return _json_error(request, 500, "internal_error", "The server failed; try again.") or (
        defaults.server_error(request)
    )


class ServiceError(Exception):
    """A request a service refuses for a reason of state (not of form): the API answers it with
    ``status_code``, ``code`` and the message."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class ServiceConflict(ServiceError):
    status_code = status.HTTP_409_CONFLICT
    code = "conflict"

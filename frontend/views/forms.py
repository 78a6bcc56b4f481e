"""Form posts of the dashboard, checked by the API's own input serializers.

A post made by the dashboard's script (``Accept: application/json``, used for upload progress)
is answered with JSON: where to go next, or the API's error shape.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from rest_framework import serializers


def wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def form_data(request: HttpRequest, fields: tuple[str, ...]) -> dict[str, Any]:
    """The named fields of the post, blank ones left out (as a client of the API would)."""
    data: dict[str, Any] = {}
    for name in fields:
        if name in request.FILES:
            data[name] = request.FILES[name]
        elif request.POST.get(name, "").strip():
            data[name] = request.POST[name].strip()
    return data


def field_errors(error: serializers.ValidationError) -> dict[str, list[str]]:
    detail = error.detail
    if not isinstance(detail, dict):
        return {"form": [str(item) for item in detail]}  # type: ignore[union-attr]
    return {
        name: [str(item) for item in (value if isinstance(value, list) else [value])]
        for name, value in detail.items()
    }


def done(request: HttpRequest, url: str) -> HttpResponse:
    if wants_json(request):
        return JsonResponse({"redirect": url})
    return redirect(url)


def refused(request: HttpRequest, errors: dict[str, list[str]], status: int = 400) -> JsonResponse:
    message = "; ".join(f"{name}: {' '.join(items)}" for name, items in errors.items())
    return JsonResponse(
        {"error": {"code": "invalid", "message": message, "details": {"fields": errors}}},
        status=status,
    )

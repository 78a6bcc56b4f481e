"""The public verification page: anyone drops a proof file and reads the verdict."""

from __future__ import annotations

import json
import math
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework import serializers

from frontend.throttle import seconds_to_wait
from frontend.views.forms import field_errors, form_data
from veriml.verification.serializers import VerifyRequestSerializer
from veriml.verification.services import verify_proof_bytes


def _throttled(request: HttpRequest, wait: float) -> HttpResponse:
    seconds = max(1, math.ceil(wait))
    response = render(request, "frontend/verify.html", {"retry_after": seconds}, status=429)
    response["Retry-After"] = str(seconds)
    return response


def verify(request: HttpRequest) -> HttpResponse:
    """Only posts are counted: reading the page costs nothing, a verification does."""
    context: dict[str, Any] = {}
    if request.method == "POST":
        wait = seconds_to_wait(request)
        if wait is not None:
            return _throttled(request, wait)
        form = VerifyRequestSerializer(data=form_data(request, ("proof", "model_digest")))
        try:
            form.is_valid(raise_exception=True)
        except serializers.ValidationError as error:
            context["errors"] = field_errors(error)
            return render(request, "frontend/verify.html", context, status=400)
        upload = form.validated_data["proof"]
        upload.seek(0)
        verdict = verify_proof_bytes(upload.read(), form.validated_data.get("model_digest"))
        context["verdict"] = verdict
        context["file_name"] = upload.name
        context["statement_json"] = json.dumps(verdict["statement"], indent=2, sort_keys=True)
    return render(request, "frontend/verify.html", context)

"""The public verification page: anyone drops a proof file and reads the verdict."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework import serializers

from frontend.views.forms import field_errors, form_data
from veriml.verification.serializers import VerifyRequestSerializer
from veriml.verification.services import verify_proof_bytes


def verify(request: HttpRequest) -> HttpResponse:
    context: dict[str, Any] = {}
    if request.method == "POST":
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

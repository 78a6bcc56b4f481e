from __future__ import annotations

import json
from typing import Any

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from rest_framework import serializers

from frontend import charts
from frontend.access import caller, chosen_organisation, organisations_with, signed_in, visible
from frontend.views.forms import done, field_errors, form_data, refused, wants_json
from veriml.accounts.access import Right
from veriml.core.errors import ServiceError
from veriml.proving.models import Job
from veriml.registry import services
from veriml.registry.models import PRIVACY_PARTS, Dataset, RegisteredModel, Visibility
from veriml.registry.serializers import DatasetUploadSerializer, ModelUploadSerializer

RECENT = 10
HISTORY = 30
MODEL_FIELDS = (
    "name", "file", "calibration", "organisation", "proof_budget", *services.MODEL_CARD_FIELDS
)  # fmt: skip


@signed_in
def overview(request: HttpRequest) -> HttpResponse:
    who = caller(request)
    readable = who.organisations_with(Right.READ)
    auditable = who.organisations_with(Right.AUDIT)
    jobs = Job.objects.filter(organisation_id__in=auditable).select_related("model", "proof")
    verified = jobs.filter(~Q(verification={})).order_by("-finished_at")
    context = {
        "models": RegisteredModel.objects.filter(organisation_id__in=readable)[:RECENT],
        "datasets": Dataset.objects.filter(organisation_id__in=readable)[:RECENT],
        "jobs": jobs[:RECENT],
        "verified": verified[:RECENT],
        "can_read": bool(readable),
    }
    return render(request, "frontend/overview.html", context)


def _upload_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    return {
        "organisations": organisations_with(request, Right.SUBMIT),
        "privacy_parts": PRIVACY_PARTS,
        "visibilities": Visibility.choices,
        **extra,
    }


def _privacy(request: HttpRequest) -> str:
    return json.dumps(
        {
            part: request.POST[f"privacy_{part}"]
            for part in PRIVACY_PARTS
            if request.POST.get(f"privacy_{part}")
        }
    )


def _models_page(request: HttpRequest, errors: dict[str, list[str]] | None = None) -> HttpResponse:
    organisations = caller(request).organisations_with(Right.READ)
    context = _upload_context(
        request,
        models=RegisteredModel.objects.filter(organisation_id__in=organisations),
        errors=errors or {},
    )
    return render(request, "frontend/models.html", context, status=400 if errors else 200)


@signed_in
def models(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _models_page(request)
    organisation = chosen_organisation(request, Right.SUBMIT)
    upload = ModelUploadSerializer(
        data={**form_data(request, MODEL_FIELDS), "privacy": _privacy(request)}
    )
    try:
        upload.is_valid(raise_exception=True)
    except serializers.ValidationError as error:
        if wants_json(request):
            return refused(request, field_errors(error))
        return _models_page(request, field_errors(error))
    data = upload.validated_data
    who = caller(request)
    try:
        model = services.register_model(
            organisation,
            data["name"],
            data["file"],
            data["calibration"],
            data.get("privacy"),
            created_by=who.label,
            actor=who.actor,
            card={field: data[field] for field in services.MODEL_CARD_FIELDS if field in data},
            proof_budget=data.get("proof_budget"),
        )
    except ServiceError as error:
        if wants_json(request):
            return refused(request, {"form": [error.message]}, error.status_code)
        return _models_page(request, {"form": [error.message]})
    return done(request, reverse("frontend:model", args=[model.pk]))


def _proof_size_history(model: RegisteredModel) -> dict[str, Any]:
    jobs = list(
        Job.objects.filter(model=model, status=Job.Status.SUCCEEDED)
        .select_related("proof")
        .order_by("-finished_at")[:HISTORY]
    )[::-1]
    seconds = [
        (str(job.pk)[:8], float(job.timings["prove_seconds"]))
        for job in jobs
        if isinstance((job.timings or {}).get("prove_seconds"), int | float)
    ]
    sizes = [(str(job.pk)[:8], job.proof.size / 1024) for job in jobs if job.proof is not None]
    return {
        "prove_chart": charts.history(seconds, "s", "Proving time per job"),
        "size_chart": charts.history(sizes, "KiB", "Proof size per job"),
        "history_jobs": jobs,
    }


@signed_in
def model(request: HttpRequest, pk: str) -> HttpResponse:
    queryset = RegisteredModel.objects.select_related("organisation", "source", "compiled")
    found = visible(queryset, pk, request, Right.READ, "model")
    context = {"model": found, **_proof_size_history(found)}
    return render(request, "frontend/model.html", context)


def _datasets_page(
    request: HttpRequest, errors: dict[str, list[str]] | None = None
) -> HttpResponse:
    organisations = caller(request).organisations_with(Right.READ)
    context = _upload_context(
        request,
        datasets=Dataset.objects.filter(organisation_id__in=organisations).select_related("file"),
        errors=errors or {},
    )
    return render(request, "frontend/datasets.html", context, status=400 if errors else 200)


@signed_in
def datasets(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _datasets_page(request)
    organisation = chosen_organisation(request, Right.SUBMIT)
    upload = DatasetUploadSerializer(data=form_data(request, ("name", "file", "organisation")))
    try:
        upload.is_valid(raise_exception=True)
    except serializers.ValidationError as error:
        if wants_json(request):
            return refused(request, field_errors(error))
        return _datasets_page(request, field_errors(error))
    who = caller(request)
    try:
        services.upload_dataset(
            organisation,
            upload.validated_data["name"],
            upload.validated_data["file"],
            created_by=who.label,
            actor=who.actor,
        )
    except ServiceError as error:
        if wants_json(request):
            return refused(request, {"form": [error.message]}, error.status_code)
        return _datasets_page(request, {"form": [error.message]})
    return done(request, reverse("frontend:datasets"))

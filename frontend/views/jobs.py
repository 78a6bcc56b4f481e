from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from rest_framework import serializers

from frontend import charts
from frontend.access import caller, chosen_organisation, organisations_with, signed_in, visible
from frontend.views.forms import done, field_errors, form_data, refused, wants_json
from veriml.accounts.access import Right
from veriml.core.errors import ServiceError
from veriml.proving import services
from veriml.proving.models import Job
from veriml.proving.serializers import JobCreateSerializer
from veriml.registry.models import Dataset, RegisteredModel

JOB_FIELDS = ("kind", "model", "dataset", "input", "organisation")
JOB_RELATED = ("organisation", "model", "dataset", "input", "proof")


def _jobs_page(request: HttpRequest, errors: dict[str, list[str]] | None = None) -> HttpResponse:
    who = caller(request)
    submitting = who.organisations_with(Right.SUBMIT)
    context = {
        "jobs": Job.objects.filter(
            organisation_id__in=who.organisations_with(Right.AUDIT)
        ).select_related("model", "dataset", "organisation")[:100],
        "organisations": organisations_with(request, Right.SUBMIT),
        "ready_models": RegisteredModel.objects.filter(
            organisation_id__in=submitting, status=RegisteredModel.Status.READY
        ),
        "ready_datasets": Dataset.objects.filter(
            organisation_id__in=submitting, status=Dataset.Status.READY
        ),
        "errors": errors or {},
    }
    return render(request, "frontend/jobs.html", context, status=400 if errors else 200)


def _owned(queryset: Any, pk: Any, request: HttpRequest, organisation_id: int, what: str) -> Any:
    found = visible(queryset, str(pk), request, Right.SUBMIT, what)
    if found.organisation_id != organisation_id:
        raise serializers.ValidationError({what: [f"Choose a {what} of the organisation."]})
    return found


@signed_in
def jobs(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _jobs_page(request)
    organisation = chosen_organisation(request, Right.SUBMIT)
    data = form_data(request, JOB_FIELDS)
    if data.get("kind") == Job.Kind.AUDIT:
        data.pop("input", None)
    else:
        data.pop("dataset", None)
    form = JobCreateSerializer(data=data)
    try:
        form.is_valid(raise_exception=True)
        valid = form.validated_data
        model = _owned(RegisteredModel.objects, valid["model"], request, organisation.pk, "model")
        dataset = None
        if "dataset" in valid:
            dataset = _owned(Dataset.objects, valid["dataset"], request, organisation.pk, "dataset")
    except serializers.ValidationError as error:
        if wants_json(request):
            return refused(request, field_errors(error))
        return _jobs_page(request, field_errors(error))
    who = caller(request)
    try:
        job, _ = services.submit_job(
            organisation,
            services.JobRequest(
                kind=valid["kind"], model=model, input=valid.get("input"), dataset=dataset
            ),
            created_by=who.label,
            actor=who.actor,
        )
    except ServiceError as error:
        if wants_json(request):
            return refused(request, {"form": [error.message]}, error.status_code)
        return _jobs_page(request, {"form": [error.message]})
    return done(request, reverse("frontend:job", args=[job.pk]))


def _audit_pictures(statement: dict[str, Any]) -> dict[str, Any]:
    if statement.get("kind") != "audit":
        return {}
    low, high = statement["wilson_95"]
    return {
        "accuracy_chart": charts.accuracy_interval(float(statement["accuracy"]), low, high),
        "class_chart": charts.class_bars(statement.get("classes") or []),
        "classes": statement.get("classes") or [],
    }


@signed_in
def job(request: HttpRequest, pk: str) -> HttpResponse:
    """Live status while the job runs; the proof page once it has succeeded."""
    found = visible(Job.objects.select_related(*JOB_RELATED), pk, request, Right.AUDIT, "job")
    statement = found.statement or {}
    context = {
        "job": found,
        "final": found.status in Job.FINAL,
        "statement_json": json.dumps(statement, indent=2, sort_keys=True),
        "timeline": charts.timeline(
            [
                ("created", found.created_at),
                ("started", found.started_at),
                ("finished", found.finished_at),
            ]
        ),
        "can_read_model": caller(request).can(Right.READ, found.organisation_id),
        "can_report": found.kind == Job.Kind.AUDIT and found.status == Job.Status.SUCCEEDED,
        **_audit_pictures(statement),
    }
    return render(request, "frontend/job.html", context)

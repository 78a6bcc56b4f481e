from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import renderers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from veriml.accounts.access import Right, caller_of
from veriml.core.api import visible_object
from veriml.proving.models import Job
from veriml.reports.pdf import render_pdf
from veriml.reports.services import build_report

REPORT_RELATED = ("organisation", "model", "dataset", "proof")
UNAVAILABLE = OpenApiResponse(description="Not a succeeded audit job, or its proof fails.")


class PdfRenderer(renderers.BaseRenderer):
    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:  # type: ignore[no-untyped-def]
        if isinstance(data, bytes):
            return data
        return renderers.JSONRenderer().render(data)


def _job(request: Request, pk: str) -> Job:
    queryset = Job.objects.select_related(*REPORT_RELATED)
    return visible_object(queryset, pk, caller_of(request), Right.AUDIT, "job")


class ReportJsonView(APIView):
    @extend_schema(
        operation_id="jobs_report_json",
        summary="The auditor report of an audit job, as JSON (re-verifies the proof)",
        responses={200: OpenApiTypes.OBJECT, 409: UNAVAILABLE},
    )
    def get(self, request: Request, pk: str) -> Response:
        job = _job(request, pk)
        return Response(build_report(job, actor=caller_of(request).actor))


class ReportPdfView(APIView):
    renderer_classes = [renderers.JSONRenderer, PdfRenderer]

    @extend_schema(
        operation_id="jobs_report_pdf",
        summary="The auditor report of an audit job, as PDF (re-verifies the proof)",
        responses={(200, "application/pdf"): OpenApiTypes.BINARY, 409: UNAVAILABLE},
    )
    def get(self, request: Request, pk: str) -> HttpResponse:
        job = _job(request, pk)
        summary = build_report(job, actor=caller_of(request).actor)
        response = HttpResponse(render_pdf(summary), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="veriml-report-{job.pk}.pdf"'
        response["X-VeriML-Report-Id"] = summary["report"]["id"]
        return response

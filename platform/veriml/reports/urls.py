from django.urls import path

from veriml.reports.views import ReportJsonView, ReportPdfView

app_name = "reports"

urlpatterns = [
    path("jobs/<str:pk>/report.pdf", ReportPdfView.as_view(), name="report-pdf"),
    path("jobs/<str:pk>/report.json", ReportJsonView.as_view(), name="report-json"),
]

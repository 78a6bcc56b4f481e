from django.urls import path

from compliance.hipaa.views import (
    BreakGlassCloseView,
    BreakGlassView,
    DatasetDownloadView,
    DatasetEraseView,
    ModelEraseView,
    PHIAccessLogView,
)

app_name = "hipaa"

urlpatterns = [
    path("phi/break-glass", BreakGlassView.as_view(), name="break-glass"),
    path("phi/break-glass/<int:pk>/close", BreakGlassCloseView.as_view(), name="break-glass-close"),
    path("phi/access-log", PHIAccessLogView.as_view(), name="access-log"),
    path("datasets/<str:pk>/download", DatasetDownloadView.as_view(), name="dataset-download"),
    path("datasets/<str:pk>/erase", DatasetEraseView.as_view(), name="dataset-erase"),
    path("models/<str:pk>/erase", ModelEraseView.as_view(), name="model-erase"),
]

from django.urls import path

from veriml.proving.views import JobCancelView, JobDetailView, JobListView, JobProofView

app_name = "proving"

urlpatterns = [
    path("jobs/", JobListView.as_view(), name="jobs"),
    path("jobs/<str:pk>/", JobDetailView.as_view(), name="job"),
    path("jobs/<str:pk>/cancel", JobCancelView.as_view(), name="job-cancel"),
    path("jobs/<str:pk>/proof", JobProofView.as_view(), name="job-proof"),
]

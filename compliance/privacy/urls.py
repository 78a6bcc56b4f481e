from django.urls import path

from compliance.privacy.views import (
    DatasetPrivacyView,
    ModelPrivacyView,
    OrganisationPrivacyView,
    ToggleChangesView,
)

app_name = "privacy"

urlpatterns = [
    path("privacy/organisation", OrganisationPrivacyView.as_view(), name="organisation"),
    path("privacy/models/<str:pk>", ModelPrivacyView.as_view(), name="model"),
    path("privacy/datasets/<str:pk>", DatasetPrivacyView.as_view(), name="dataset"),
    path("privacy/changes", ToggleChangesView.as_view(), name="changes"),
]

from django.urls import path

from veriml.accounts.views import (
    ApiKeyListView,
    ApiKeyRevokeView,
    AuditorGrantDetailView,
    AuditorGrantListView,
    CallbackSecretView,
    CallerView,
)

app_name = "accounts"

urlpatterns = [
    path("me/", CallerView.as_view(), name="me"),
    path("auditor-grants/", AuditorGrantListView.as_view(), name="auditor-grants"),
    path("auditor-grants/<str:pk>/", AuditorGrantDetailView.as_view(), name="auditor-grant"),
    path("callback-secret/", CallbackSecretView.as_view(), name="callback-secret"),
    path("api-keys/", ApiKeyListView.as_view(), name="api-keys"),
    path("api-keys/<str:pk>/revoke", ApiKeyRevokeView.as_view(), name="api-key-revoke"),
]

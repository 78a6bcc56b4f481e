from django.urls import path

from veriml.verification.views import VerifyView

app_name = "verification"

urlpatterns = [
    path("verify", VerifyView.as_view(), name="verify"),
]

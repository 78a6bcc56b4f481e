from django.urls import path

from veriml.accounts.views import CallerView

app_name = "accounts"

urlpatterns = [
    path("me/", CallerView.as_view(), name="me"),
]

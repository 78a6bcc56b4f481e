from django.urls import path

from compliance.policy.views import PolicyLogView, RegionPoliciesView, TransferBasisView

app_name = "policy"

urlpatterns = [
    path("policy-log", PolicyLogView.as_view(), name="policy-log"),
    path("policies", RegionPoliciesView.as_view(), name="policies"),
    path("transfer-bases", TransferBasisView.as_view(), name="transfer-bases"),
]

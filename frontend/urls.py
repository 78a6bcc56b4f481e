from django.urls import path

from frontend.signin import views as signin
from frontend.views import account, compliance, jobs, public, registry

app_name = "frontend"

urlpatterns = [
    path("", registry.overview, name="overview"),
    path("signin/", signin.signin, name="signin"),
    path("signin/mfa/", signin.mfa, name="mfa"),
    path("signin/mfa/enrol/", signin.mfa_enrol, name="mfa-enrol"),
    path("signout/", signin.signout, name="signout"),
    path("account/mfa/", signin.account_mfa, name="account-mfa"),
    path("models/", registry.models, name="models"),
    path("models/<str:pk>/", registry.model, name="model"),
    path("datasets/", registry.datasets, name="datasets"),
    path("jobs/", jobs.jobs, name="jobs"),
    path("jobs/<str:pk>/", jobs.job, name="job"),
    path("verify/", public.verify, name="verify"),
    path("keys/", account.api_keys, name="keys"),
    path("keys/<str:prefix>/revoke", account.revoke_key, name="key-revoke"),
    path("audit-log/", account.audit_log, name="audit-log"),
    path("compliance/", compliance.compliance, name="compliance"),
]

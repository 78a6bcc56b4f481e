from django.contrib import admin
from django.urls import include, path
from django_otp.admin import OTPAdminSite
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from veriml.core.views import ApiRootView, healthz

# HIPAA 164.312(d): the admin lets staff only in once a second factor (TOTP, enrolled at the
# dashboard's sign-in) has verified them in this session.
admin.site.__class__ = OTPAdminSite

api_v1 = [
    path("", ApiRootView.as_view(), name="api-root"),
    path("", include("veriml.accounts.urls")),
    path("", include("veriml.registry.urls")),
    path("", include("veriml.proving.urls")),
    path("", include("veriml.verification.urls")),
    path("", include("veriml.reports.urls")),
    path("audit/", include("compliance.audit_log.urls")),
    path("compliance/", include("compliance.privacy.urls")),
    path("compliance/", include("compliance.policy.urls")),
    path("compliance/", include("compliance.hipaa.urls")),
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("", include("frontend.urls")),
]

# Errors Django answers itself (an unknown URL, a body it refuses to read, a crash) keep the
# API's error shape under /api/ and Django's pages elsewhere.
handler400 = "veriml.core.errors.bad_request"
handler403 = "veriml.core.errors.permission_denied"
handler404 = "veriml.core.errors.page_not_found"
handler500 = "veriml.core.errors.server_error"

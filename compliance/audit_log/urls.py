from django.urls import path

from compliance.audit_log.views import audit_checkpoint

urlpatterns = [
    path("checkpoint", audit_checkpoint, name="audit-checkpoint"),
]

from django.apps import AppConfig


class VerificationConfig(AppConfig):
    name = "veriml.verification"
    label = "verification"
    verbose_name = "Verification"

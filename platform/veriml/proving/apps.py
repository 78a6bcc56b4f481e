from django.apps import AppConfig


class ProvingConfig(AppConfig):
    name = "veriml.proving"
    label = "proving"
    verbose_name = "Proving jobs"

from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "veriml.registry"
    label = "registry"
    verbose_name = "Model registry"

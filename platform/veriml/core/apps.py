from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "veriml.core"
    label = "core"
    verbose_name = "Core"

from django.apps import AppConfig


class FrontendConfig(AppConfig):
    name = "frontend"
    label = "frontend"
    verbose_name = "Dashboard"

    def ready(self) -> None:
        from frontend.signin import signals

        signals.connect()

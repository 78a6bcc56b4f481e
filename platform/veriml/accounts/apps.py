from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "veriml.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # Registers the API-key scheme with drf-spectacular so the schema documents it.
        from veriml.accounts import schema  # noqa: F401

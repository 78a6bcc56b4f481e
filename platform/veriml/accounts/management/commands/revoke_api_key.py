from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from veriml.accounts import services
from veriml.accounts.models import ApiKey


class Command(BaseCommand):
    help = "Revoke an API key, named by its prefix (vml_<prefix>_...): it is refused from now on."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("prefix", help="the key's prefix, or the whole key")

    def handle(self, *args: Any, **options: Any) -> None:
        text = options["prefix"].strip()
        if text.startswith(f"{services.KEY_TAG}_"):
            text = text.split("_")[1] if text.count("_") >= 2 else ""
        api_key = None
        if services.is_key_prefix(text):
            api_key = ApiKey.objects.select_related("organisation").filter(prefix=text).first()
        if api_key is None:
            raise CommandError(f"no API key has the prefix {text!r}")
        already = api_key.is_revoked
        revoked = services.revoke_api_key(api_key)
        state = "was already revoked" if already else "is revoked"
        self.stdout.write(
            f"API key {revoked.prefix} ({revoked.name}) of {revoked.organisation.name} {state} "
            f"(since {revoked.revoked_at:%Y-%m-%d %H:%M} UTC)."
        )

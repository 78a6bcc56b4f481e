from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from veriml.accounts import services


class Command(BaseCommand):
    help = (
        "Create an API key for an organisation (created if it does not exist). "
        "The key is printed once, alone on the last line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="organisation name")
        parser.add_argument("--name", default="cli", help="a label for the key (default: cli)")
        parser.add_argument(
            "--scopes",
            default="read",
            help="comma-separated scopes from read, submit, admin (default: read)",
        )
        parser.add_argument(
            "--expires-in-days",
            type=int,
            default=None,
            help="days until the key stops working (default: never)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            scopes = services.parse_scopes(options["scopes"])
            organisation, created = services.get_or_create_organisation(options["org"])
        except ValueError as error:
            raise CommandError(str(error)) from None
        days = options["expires_in_days"]
        if days is not None and days <= 0:
            raise CommandError("--expires-in-days must be positive")
        expires_at = timezone.now() + timedelta(days=days) if days is not None else None

        issued = services.create_api_key(organisation, options["name"], scopes, expires_at)

        if created:
            self.stdout.write(f"Created organisation {organisation.name}.")
        expiry = f", expires {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else ""
        self.stdout.write(
            f"API key {issued.api_key.prefix} ({', '.join(scopes)}{expiry}) for "
            f"{organisation.name}; it is shown only now:"
        )
        self.stdout.write(issued.raw_key)

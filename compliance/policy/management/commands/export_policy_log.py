from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from compliance.policy.export import FORMATS, parse_bound, render
from compliance.policy.services import decisions_between


class Command(BaseCommand):  # type: ignore[misc]
    help = (
        "Writes the policy log (every decision of the regional policy engine) between two dates "
        "as CSV or JSON, for regulators."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="start", help="ISO date or date-time (inclusive)")
        parser.add_argument("--to", dest="end", help="ISO date (inclusive) or date-time")
        parser.add_argument("--format", choices=FORMATS, default="csv")
        parser.add_argument("--organisation", type=int, help="only this organisation's id")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            start = parse_bound(options["start"])
            end = parse_bound(options["end"], end=True)
        except ValueError as error:
            raise CommandError(str(error), returncode=2) from None
        ids = [options["organisation"]] if options["organisation"] is not None else None
        self.stdout.write(render(decisions_between(start, end, ids), options["format"]), ending="")

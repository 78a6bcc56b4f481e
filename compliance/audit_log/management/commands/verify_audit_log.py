from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from compliance.audit_log import keys
from compliance.audit_log.verify import verify_log


class Command(BaseCommand):  # type: ignore[misc]
    help = (
        "Recomputes every hash of the audit log and checks every checkpoint signature; exits 1 "
        "naming the first bad entry or checkpoint."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print the report as JSON")
        parser.add_argument(
            "--public-key",
            metavar="KEY",
            help=(
                "check checkpoints against this Ed25519 public key (raw, base64) instead of the "
                "one derived from the configured signing key"
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["public_key"]:
            try:
                public = keys.parse_public_key(options["public_key"])
            except ValueError as error:
                raise CommandError(str(error), returncode=2) from None
        else:
            public = keys.public_key()
        report = verify_log(public)
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), sort_keys=True))
        elif report.ok:
            self.stdout.write(
                f"ok: {report.entries} entries up to #{report.head_sequence} "
                f"(head {report.head_hash}), {report.checkpoints} checkpoints verified"
            )
        problem = report.problem
        if problem is None:
            return
        if problem.kind == "checkpoint":
            where = f"checkpoint {problem.checkpoint_id} at sequence {problem.sequence}"
        else:
            where = f"entry {problem.sequence}"
        raise CommandError(f"{where}: {problem.reason}: {problem.detail}", returncode=1)

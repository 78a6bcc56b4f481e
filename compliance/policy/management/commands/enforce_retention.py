from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from compliance.policy.services import enforce_retention


class Command(BaseCommand):  # type: ignore[misc]
    help = (
        "Deletes test sets, models' files and job files past their region's retention period "
        "now, each with an erase decision in the policy log and a tombstone in the audit log."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        decisions = enforce_retention()
        for decision in decisions:
            self.stdout.write(f"erased {decision.target}: {decision.reason}")
        self.stdout.write(f"{len(decisions)} erased")

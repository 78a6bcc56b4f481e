from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from compliance.audit_log.services import write_checkpoint


class Command(BaseCommand):  # type: ignore[misc]
    help = "Signs the audit log's current head now."

    def handle(self, *args: Any, **options: Any) -> None:
        checkpoint = write_checkpoint()
        self.stdout.write(
            f"checkpoint {checkpoint.pk}: sequence {checkpoint.sequence}, "
            f"head {checkpoint.head_hash}"
        )

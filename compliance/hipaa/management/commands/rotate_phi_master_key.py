from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from compliance.hipaa import keys, services


class Command(BaseCommand):  # type: ignore[misc]
    help = (
        "Rewraps every organisation's PHI data key under the newest master key in "
        "PHI_MASTER_KEYS (list the new key last, keep the old ones until this has run)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            count = services.rotate_master_key()
        except keys.MasterKeyMissing as error:
            raise CommandError(str(error)) from None
        newest_id, _ = keys.newest()
        self.stdout.write(f"Rewrapped {count} data key(s) under master key {newest_id}.")

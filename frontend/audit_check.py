"""The audit-log page's check of the chain, incremental from one view to the next.

Re-hashing the whole chain on every view costs time in proportion to the log's age. The chain is
one for all organisations, so one remembered point (Django's cache) serves every viewer: the
sequence and hash the last passing check reached, and when the last full walk ran. A view
re-hashes only the entries after that point (``verify_log(since=...)``), which walks the whole
chain again when the remembered entry, or an entry a checkpoint names, no longer matches.

An alteration of another entry already covered is found by the next full walk, at most
``FULL_EVERY`` later (and at once by ``manage.py verify_audit_log``, which always walks it all).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.core.cache import cache

from compliance.audit_log import keys
from compliance.audit_log.verify import Report, Verified, verify_log

CACHE_KEY = "veriml:audit-log:verified"
FULL_EVERY = 3600.0


@dataclass(frozen=True)
class ChainCheck:
    report: Report
    # When the chain was last walked in full, as a Unix time; None when it is broken.
    full_at: float | None

    @property
    def incremental(self) -> bool:
        return self.report.since_sequence > 0


def _remembered(now: float) -> tuple[Verified | None, float | None]:
    found = cache.get(CACHE_KEY)
    if not isinstance(found, dict) or now - float(found.get("full_at", 0)) >= FULL_EVERY:
        return None, None
    return Verified(int(found["sequence"]), str(found["hash"])), float(found["full_at"])


def check_chain() -> ChainCheck:
    now = time.time()
    since, full_at = _remembered(now)
    report = verify_log(keys.public_key(), since)
    if not report.ok:
        # A broken chain is walked in full on every view until it is repaired.
        cache.delete(CACHE_KEY)
        return ChainCheck(report, None)
    if report.since_sequence == 0 or full_at is None:
        full_at = now
    remembered = {"sequence": report.head_sequence, "hash": report.head_hash, "full_at": full_at}
    cache.set(CACHE_KEY, remembered, timeout=FULL_EVERY)
    return ChainCheck(report, full_at)

"""The policy log as regulators receive it: CSV or JSON, one record per decision."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from compliance.policy.models import PolicyDecision

FORMATS = ("csv", "json")
COLUMNS = (
    "time",
    "organisation_id",
    "organisation",
    "region",
    "policy_version",
    "action",
    "decision",
    "reason",
    "target",
    "target_region",
    "actor",
)


def parse_bound(value: str | None, *, end: bool = False) -> datetime | None:
    """An ISO date or date-time; a bare date as an end bound includes that whole day.

    Raises ``ValueError`` for anything else."""
    if not value:
        return None
    try:
        day: date | None = parse_date(value)
    except ValueError:
        day = None
    if day is not None:
        moment: datetime | None = datetime.combine(
            day + timedelta(days=1) if end else day, time.min
        )
    else:
        try:
            moment = parse_datetime(value)
        except ValueError:
            moment = None
    if moment is None:
        raise ValueError(f"{value!r} is not an ISO date or date-time")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, UTC)
    found: datetime = moment
    return found


def record_of(row: PolicyDecision) -> dict[str, Any]:
    return {
        "time": row.time.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "organisation_id": row.organisation_id,
        "organisation": row.organisation_name,
        "region": row.region,
        "policy_version": row.policy_version,
        "action": row.action,
        "decision": row.decision,
        "reason": row.reason,
        "target": row.target,
        "target_region": row.target_region,
        "actor": row.actor,
    }


def render(rows: Iterable[PolicyDecision], output_format: str) -> str:
    records = [record_of(row) for row in rows]
    if output_format == "json":
        return json.dumps({"decisions": records}, indent=1, ensure_ascii=False)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return buffer.getvalue()

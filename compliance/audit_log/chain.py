"""The chain's arithmetic, with no database: what an auditor re-implements.

An entry's hash is ``SHA-256(previous_hash ‖ canonical JSON of its fields)``, where
``previous_hash`` is the 64 lowercase hex characters of the entry before it (``GENESIS_HASH``
for the first), ``‖`` is concatenation of the UTF-8 bytes, and the canonical JSON has sorted keys,
no whitespace, non-ASCII characters written as themselves, and times as ISO-8601 UTC with
microseconds (``2026-01-02T03:04:05.000006Z``). A checkpoint signs, with Ed25519, the UTF-8 bytes
of ``CHECKPOINT_TAG``, the sequence in decimal, the head hash and the time, joined by newlines.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64
CHECKPOINT_TAG = "veriml/audit-checkpoint/v1"
ENTRY_FIELDS = (
    "sequence",
    "time",
    "actor",
    "organisation",
    "action",
    "target_type",
    "target_id",
    "details",
    "region",
)


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_json(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def entry_fields(
    *,
    sequence: int,
    time: datetime,
    actor: str,
    organisation: int | None,
    action: str,
    target_type: str,
    target_id: str,
    details: dict[str, Any],
    region: str | None,
) -> dict[str, Any]:
    return {
        "sequence": sequence,
        "time": format_time(time),
        "actor": actor,
        "organisation": organisation,
        "action": action,
        "target_type": target_type,
        "target_id": target_id,
        "details": details,
        "region": region,
    }


def entry_hash(previous_hash: str, fields: dict[str, Any]) -> str:
    return hashlib.sha256(previous_hash.encode("ascii") + canonical_json(fields)).hexdigest()


def checkpoint_message(sequence: int, head_hash: str, time: datetime) -> bytes:
    return "\n".join([CHECKPOINT_TAG, str(sequence), head_hash, format_time(time)]).encode("utf-8")

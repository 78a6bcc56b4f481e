"""The public checkpoint: what an auditor needs to check the log without trusting VeriML."""

from __future__ import annotations

import base64

from django.http import HttpRequest, HttpResponse, JsonResponse

from compliance.audit_log import keys
from compliance.audit_log.chain import CHECKPOINT_TAG, GENESIS_HASH, format_time
from compliance.audit_log.models import AuditCheckpoint

RECIPE = {
    "entry_hash": (
        "hash = hex(SHA-256(UTF-8(previous_hash) || canonical_json(fields))); previous_hash of "
        f"the first entry is {GENESIS_HASH}"
    ),
    "entry_fields": [
        "sequence",
        "time",
        "actor",
        "organisation",
        "action",
        "target_type",
        "target_id",
        "details",
        "region",
    ],
    "canonical_json": (
        "sorted keys, separators ',' and ':', no whitespace, UTF-8 without escaping non-ASCII, "
        "times as ISO-8601 UTC with microseconds and a Z (2026-01-02T03:04:05.000006Z)"
    ),
    "checkpoint_message": (
        f"UTF-8 of '{CHECKPOINT_TAG}' + '\\n' + decimal sequence + '\\n' + head_hash + '\\n' + "
        "time, signed with Ed25519; signature in base64"
    ),
    "sequences": "start at 1 and increase by 1 with no gaps",
    "command": "python manage.py verify_audit_log [--json]",
}


def audit_checkpoint(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return JsonResponse({"error": "method_not_allowed", "message": "Use GET."}, status=405)
    public = keys.public_key()
    latest = AuditCheckpoint.objects.order_by("-sequence", "-time").first()
    checkpoint = None
    if latest is not None:
        checkpoint = {
            "sequence": latest.sequence,
            "head_hash": latest.head_hash,
            "time": format_time(latest.time),
            "signature": latest.signature,
        }
    return JsonResponse(
        {
            "public_key": {
                "algorithm": "Ed25519",
                "raw_base64": base64.b64encode(keys.public_key_raw(public)).decode("ascii"),
                "pem": keys.public_key_pem(public),
            },
            "checkpoint": checkpoint,
            "recipe": RECIPE,
        }
    )

"""Re-checks the whole chain and every checkpoint; reports the first problem found.

Entries are read in sequence order, streaming: each must carry the next sequence (a missing
one means a deleted row), the previous entry's hash, and a hash that recomputes from its fields.
Each checkpoint's signature must verify with the public key, and its head hash must equal the
chain's hash at its sequence (a checkpoint past the chain's end means entries were removed).

An earlier run's result can be handed back (:class:`Verified`) so that only the entries after
it are re-hashed. It is trusted only while the entry it names still hashes to the remembered
hash, every entry a checkpoint names still recomputes, and no entry up to it is missing; any
doubt, or any problem found, means a full walk, so a report's problem is always the chain's
first.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import asdict, dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from compliance.audit_log.chain import GENESIS_HASH, checkpoint_message, entry_hash
from compliance.audit_log.models import AuditCheckpoint, AuditEntry, AuditHead

CHUNK_ROWS = 2000


@dataclass(frozen=True)
class Problem:
    kind: str  # "entry" or "checkpoint"
    sequence: int
    reason: str  # sequence_gap, previous_hash_mismatch, hash_mismatch, bad_signature, ...
    detail: str
    checkpoint_id: int | None = None


@dataclass(frozen=True)
class Verified:
    """A point an earlier verification reached: its sequence and the chain's hash there."""

    sequence: int
    hash: str


GENESIS = Verified(0, GENESIS_HASH)


@dataclass
class Report:
    entries: int = 0
    checkpoints: int = 0
    head_sequence: int = 0
    head_hash: str = GENESIS_HASH
    problem: Problem | None = None
    checked_checkpoints: list[int] = field(default_factory=list)
    # Entries up to this sequence were taken from an earlier verification; 0 for a full walk.
    since_sequence: int = 0

    @property
    def ok(self) -> bool:
        return self.problem is None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        del data["checked_checkpoints"]
        del data["since_sequence"]
        return data


def _check_entry(entry: AuditEntry, sequence: int, previous: str) -> Problem | None:
    if entry.sequence != sequence:
        return Problem(
            "entry",
            sequence,
            "sequence_gap",
            f"expected entry {sequence}, found {entry.sequence}: entries are missing",
        )
    if entry.previous_hash != previous:
        return Problem(
            "entry",
            sequence,
            "previous_hash_mismatch",
            f"previous_hash {entry.previous_hash} is not the hash before it, {previous}",
        )
    recomputed = entry_hash(previous, entry.fields())
    if recomputed != entry.hash:
        return Problem(
            "entry",
            sequence,
            "hash_mismatch",
            f"stored hash {entry.hash} but its fields hash to {recomputed}: it was altered",
        )
    return None


def _walk_chain(report: Report, wanted: set[int], start: Verified = GENESIS) -> dict[int, str]:
    """Hashes at the ``wanted`` sequences after ``start``; stops at the first bad entry."""
    at: dict[int, str] = {0: GENESIS_HASH}
    sequence, previous = start.sequence, start.hash
    after = AuditEntry.objects.filter(sequence__gt=start.sequence).order_by("sequence")
    for entry in after.iterator(chunk_size=CHUNK_ROWS):
        sequence += 1
        problem = _check_entry(entry, sequence, previous)
        if problem is not None:
            report.problem = problem
            return at
        previous = entry.hash
        report.entries += 1
        if sequence in wanted:
            at[sequence] = previous
    report.head_sequence, report.head_hash = sequence, previous
    return at


def _check_checkpoint(
    checkpoint: AuditCheckpoint, hashes: dict[int, str], key: Ed25519PublicKey
) -> Problem | None:
    def problem(reason: str, detail: str) -> Problem:
        return Problem("checkpoint", checkpoint.sequence, reason, detail, checkpoint.pk)

    try:
        signature = base64.b64decode(checkpoint.signature, validate=True)
        message = checkpoint_message(checkpoint.sequence, checkpoint.head_hash, checkpoint.time)
        key.verify(signature, message)
    except (InvalidSignature, binascii.Error, ValueError):
        return problem("bad_signature", "the signature does not verify with the public key")
    expected = hashes.get(checkpoint.sequence)
    if expected is None:
        return problem("beyond_chain", "the chain ends before this checkpoint: entries removed")
    if expected != checkpoint.head_hash:
        return problem(
            "head_hash_mismatch",
            f"signed head {checkpoint.head_hash} but the chain has {expected} there",
        )
    return None


def _covered_hashes(since: Verified, checkpoints: list[AuditCheckpoint]) -> dict[int, str] | None:
    """The hashes at ``since`` and at the checkpoints before it, each entry re-hashed from its
    own fields; None when one no longer matches or an entry up to ``since`` is missing."""
    covered = {since.sequence} | {c.sequence for c in checkpoints if c.sequence <= since.sequence}
    rows = {entry.sequence: entry for entry in AuditEntry.objects.filter(sequence__in=covered)}
    if set(rows) != covered or rows[since.sequence].hash != since.hash:
        return None
    for entry in rows.values():
        if entry.hash != entry_hash(entry.previous_hash, entry.fields()):
            return None
    if AuditEntry.objects.filter(sequence__lte=since.sequence).count() != since.sequence:
        return None
    return {0: GENESIS_HASH, **{sequence: entry.hash for sequence, entry in rows.items()}}


def _check_rest(
    report: Report,
    hashes: dict[int, str],
    checkpoints: list[AuditCheckpoint],
    key: Ed25519PublicKey,
) -> Report:
    """Every checkpoint, then the head row, once the entries have been walked."""
    if report.problem is not None:
        return report
    for checkpoint in checkpoints:
        problem = _check_checkpoint(checkpoint, hashes, key)
        if problem is not None:
            report.problem = problem
            return report
        report.checkpoints += 1
    head = AuditHead.objects.filter(pk=1).first()
    if head is not None and head.sequence > report.head_sequence:
        report.problem = Problem(
            "entry",
            report.head_sequence + 1,
            "sequence_gap",
            f"the log's head is at {head.sequence} but the chain ends at "
            f"{report.head_sequence}: the last entries are missing",
        )
    return report


def _verify_after(
    since: Verified, checkpoints: list[AuditCheckpoint], key: Ed25519PublicKey
) -> Report | None:
    covered = _covered_hashes(since, checkpoints)
    if covered is None:
        return None
    report = Report(entries=since.sequence, since_sequence=since.sequence)
    report.head_sequence, report.head_hash = since.sequence, since.hash
    wanted = {checkpoint.sequence for checkpoint in checkpoints}
    hashes = {**covered, **_walk_chain(report, wanted, since)}
    return _check_rest(report, hashes, checkpoints, key)


def verify_log(key: Ed25519PublicKey, since: Verified | None = None) -> Report:
    """The whole chain's check; with ``since``, only the entries after it are re-hashed (see the
    module's docstring), and a problem found that way is re-checked by a full walk."""
    checkpoints = list(AuditCheckpoint.objects.order_by("sequence", "time"))
    if since is not None and since.sequence > 0:
        quick = _verify_after(since, checkpoints, key)
        if quick is not None and quick.ok:
            return quick
    report = Report()
    hashes = _walk_chain(report, {checkpoint.sequence for checkpoint in checkpoints})
    return _check_rest(report, hashes, checkpoints, key)

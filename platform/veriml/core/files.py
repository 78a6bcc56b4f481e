"""Files through Django storage, each written with its SHA-256 and checked against it on read.

Writers record the digest as they store; readers (:func:`read_checked`, :func:`copy_checked`)
recompute it and raise :class:`StoredFileCorrupted` on any difference, so a file altered or
truncated in storage is never proved, verified or served.

A file that ends up unused (the request that stored it failed, or the work that produced it
was cancelled or taken over) is removed again with :func:`discard_file`. A worker's result is
written with :func:`write_path` and its row saved in the same transaction as the result, so a
worker killed in between leaves no row behind.
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from django.core.files.base import ContentFile, File
from django.core.files.storage import Storage, storages
from django.db import transaction

from veriml.accounts.models import Organisation
from veriml.core.models import StoredFile

logger = logging.getLogger(__name__)

CHUNK_BYTES = 1024 * 1024
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class StoredFileError(Exception):
    """A stored file cannot be read back as it was written."""


class StoredFileMissing(StoredFileError):
    pass


class StoredFileCorrupted(StoredFileError):
    pass


def safe_original_name(name: str) -> str:
    """The last path component of an uploaded name, with unusual characters replaced."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _SAFE_NAME.sub("_", base).strip("._")
    return cleaned[:200] or "file"


def _storage() -> Storage:
    return storages["default"]


def digest_chunks(chunks: Iterable[bytes]) -> tuple[str, int]:
    hasher = hashlib.sha256()
    size = 0
    for chunk in chunks:
        hasher.update(chunk)
        size += len(chunk)
    return hasher.hexdigest(), size


def _read_chunks(handle: IO[bytes]) -> Iterable[bytes]:
    while chunk := handle.read(CHUNK_BYTES):
        yield chunk


def write_file(
    organisation: Organisation, category: str, handle: File, original_name: str = ""
) -> StoredFile:
    """Writes an open file to storage under a fresh, unguessable name; the returned row is not
    saved yet (save it, or :func:`discard_file` it)."""
    handle.seek(0)
    sha256, size = digest_chunks(handle.chunks(CHUNK_BYTES))
    handle.seek(0)
    suffix = Path(safe_original_name(original_name)).suffix.lower()[:16] if original_name else ""
    name = f"{category}/{organisation.pk}/{uuid.uuid4().hex}{suffix}"
    saved_name = _storage().save(name, handle)
    return StoredFile(
        organisation=organisation,
        storage_name=saved_name,
        original_name=safe_original_name(original_name) if original_name else "",
        sha256=sha256,
        size=size,
    )


def store_file(
    organisation: Organisation, category: str, handle: File, original_name: str = ""
) -> StoredFile:
    """Stores an open file (an upload or a local file) and records it."""
    stored = write_file(organisation, category, handle, original_name)
    try:
        with transaction.atomic():
            stored.save(force_insert=True)
    except BaseException:
        _delete_from_storage(stored.storage_name)
        raise
    return stored


def store_bytes(
    organisation: Organisation, category: str, data: bytes, original_name: str = ""
) -> StoredFile:
    return store_file(organisation, category, ContentFile(data), original_name)


def write_path(
    organisation: Organisation, category: str, path: Path, original_name: str = ""
) -> StoredFile:
    """:func:`write_file` for a local file: in storage, its row not saved yet."""
    with path.open("rb") as handle:
        return write_file(organisation, category, File(handle), original_name or path.name)


def store_path(
    organisation: Organisation, category: str, path: Path, original_name: str = ""
) -> StoredFile:
    with path.open("rb") as handle:
        return store_file(organisation, category, File(handle), original_name or path.name)


def _delete_from_storage(name: str) -> None:
    try:
        _storage().delete(name)
    except Exception:
        logger.exception("could not delete %s from storage", name)


def discard_file(stored: StoredFile | None) -> None:
    """Removes a file nothing uses after all: its row, if saved, then the file in storage.

    Called while handling another failure, so its own failures are logged, never raised.
    """
    if stored is None:
        return
    try:
        with transaction.atomic():
            StoredFile.objects.filter(pk=stored.pk).delete()
    except Exception:
        logger.exception("could not delete the row of %s", stored.storage_name)
        return
    _delete_from_storage(stored.storage_name)


def _open(stored: StoredFile) -> IO[bytes]:
    try:
        return _storage().open(stored.storage_name, "rb")
    except FileNotFoundError:
        raise StoredFileMissing(f"stored file {stored.storage_name} is missing") from None


def _check(stored: StoredFile, sha256: str, size: int) -> None:
    if size != stored.size or sha256 != stored.sha256:
        raise StoredFileCorrupted(
            f"stored file {stored.storage_name} changed since it was written: expected "
            f"{stored.size} bytes with SHA-256 {stored.sha256}, read {size} bytes with "
            f"SHA-256 {sha256}"
        )


def read_checked(stored: StoredFile) -> bytes:
    """The file's bytes, after checking them against the recorded digest."""
    with _open(stored) as handle:
        data = handle.read(stored.size + 1)
    _check(stored, hashlib.sha256(data).hexdigest(), len(data))
    # PHI is stored encrypted (compliance/hipaa): decrypted only here, and the access logged.
    from compliance.hipaa.storage import plaintext_of

    return plaintext_of(stored, data)


class PlaintextRefused(Exception):
    """A PHI file was to be copied to a local path, where its plaintext would reach a disk."""


def copy_checked(stored: StoredFile, destination: Path) -> Path:
    """Copies the file to a local path (the prover reads paths), checking its digest on the way;
    a file that fails the check is removed again. An encrypted (PHI) file is refused: a worker
    holds its plaintext in memory only (:mod:`veriml.core.workspace`)."""
    from compliance.hipaa.storage import is_encrypted

    if is_encrypted(stored):
        raise PlaintextRefused(
            f"stored file {stored.pk} holds PHI, which is never copied to a disk in plaintext"
        )
    hasher = hashlib.sha256()
    size = 0
    with _open(stored) as source, destination.open("wb") as target:
        for chunk in _read_chunks(source):
            hasher.update(chunk)
            size += len(chunk)
            target.write(chunk)
    try:
        _check(stored, hasher.hexdigest(), size)
    except StoredFileCorrupted:
        destination.unlink(missing_ok=True)
        raise
    return destination

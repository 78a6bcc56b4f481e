"""PHI at rest: files of organisations that handle PHI are encrypted before they reach storage
and decrypted, with the access logged, when they are read back.

Stored form: ``MAGIC ‖ nonce (12 bytes) ‖ AES-256-GCM(plaintext)`` under the organisation's
data key, with the organisation bound in as associated data, so a file moved to another
organisation's folder does not decrypt. The stored file's SHA-256 is the ciphertext's: storage
integrity is checked on every read before decryption, and GCM's tag checks the plaintext.

``veriml.core.files`` calls :func:`plaintext_of` on every checked read (it returns at once for
a file that is not encrypted) and refuses to copy an encrypted file to a local path; a worker
holds a PHI file's plaintext in memory only (``veriml.core.workspace``), and what it makes from
PHI (an audit's committed test set) is encrypted the same way before storage
(:func:`write_result`). So are, for every organisation, the uploaded ``.pt2`` of a model
registered with private weights and its compiled form (committed hidden), which hold the
weights (the compiled form also the randomness that hides them).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.core.files.base import ContentFile, File
from django.core.files.storage import storages
from django.db import transaction
from django.utils import timezone

from compliance import audit_log
from compliance.hipaa import keys
from compliance.hipaa.models import EncryptedFile, OrganisationDataKey, PHIAccess
from veriml.accounts.models import Organisation
from veriml.core.files import (
    StoredFileCorrupted,
    discard_file,
    store_file,
    write_file,
    write_path,
)
from veriml.core.models import StoredFile

logger = logging.getLogger(__name__)

MAGIC = b"VMLPHI1\n"
NONCE_BYTES = 12
WORKER_PURPOSE = "read by a worker to process the {what}"
# Storage folders (veriml.core.files categories) and what their files are.
CATEGORY_NAMES = {
    "datasets": "dataset",
    "inputs": "input",
    "calibration": "calibration",
    "commitments": "dataset commitment",
    "compiled": "compiled model",
    "models": "model",
}


@dataclass(frozen=True)
class Access:
    actor: str
    purpose: str
    break_glass_grant: int | None = None


_current_access: ContextVar[Access | None] = ContextVar("phi_access", default=None)


@contextmanager
def accessing(actor: str, purpose: str, break_glass_grant: int | None = None) -> Iterator[None]:
    """Names who reads PHI, and why, for the reads inside the block (a worker's reads, outside
    any such block, are logged as the system's)."""
    token = _current_access.set(Access(actor, purpose, break_glass_grant))
    try:
        yield
    finally:
        _current_access.reset(token)


def _associated_data(organisation_id: int) -> bytes:
    return f"veriml/phi-file/v1|organisation:{organisation_id}".encode()


def data_key(organisation_id: int) -> bytes:
    """The organisation's data key, made (and wrapped under the newest master key) on first
    use."""
    found = OrganisationDataKey.objects.filter(organisation_id=organisation_id).first()
    if found is None:
        with transaction.atomic():
            Organisation.objects.select_for_update().filter(pk=organisation_id).first()
            found = OrganisationDataKey.objects.filter(organisation_id=organisation_id).first()
            if found is None:
                master_id, wrapped = keys.wrap(AESGCM.generate_key(256), organisation_id)
                found = OrganisationDataKey.objects.create(
                    organisation_id=organisation_id, master_key_id=master_id, wrapped_key=wrapped
                )
    return keys.unwrap(found.wrapped_key, found.master_key_id, organisation_id)


def encrypt(organisation_id: int, plaintext: bytes) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    sealed = AESGCM(data_key(organisation_id)).encrypt(
        nonce, plaintext, _associated_data(organisation_id)
    )
    return MAGIC + nonce + sealed


def decrypt(organisation_id: int, blob: bytes) -> bytes:
    if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + NONCE_BYTES:
        raise StoredFileCorrupted("an encrypted PHI file lacks its header")
    body = blob[len(MAGIC) :]
    try:
        return AESGCM(data_key(organisation_id)).decrypt(
            body[:NONCE_BYTES], body[NONCE_BYTES:], _associated_data(organisation_id)
        )
    except InvalidTag:
        raise StoredFileCorrupted("an encrypted PHI file fails its authentication tag") from None


def store_upload(
    organisation: Organisation,
    category: str,
    handle: File,
    original_name: str = "",
    secret: bool = False,
) -> StoredFile:
    """:func:`veriml.core.files.store_file`, encrypting first when the organisation handles PHI
    or the file is ``secret`` (the ``.pt2`` of a model registered with private weights)."""
    if not (secret or organisation.handles_phi):
        return store_file(organisation, category, handle, original_name)
    handle.seek(0)
    ciphertext = encrypt(organisation.pk, handle.read())
    stored = write_file(organisation, category, ContentFile(ciphertext), original_name)
    try:
        with transaction.atomic():
            stored.save(force_insert=True)
            EncryptedFile.objects.create(stored_file=stored, organisation=organisation)
    except BaseException:
        discard_file(stored)
        raise
    return stored


@dataclass(frozen=True)
class WrittenFile:
    """A file a worker wrote to storage, its row not saved yet: :meth:`save` it in the same
    transaction as the work's result, or ``discard_file(written.stored)``."""

    stored: StoredFile
    encrypted: bool

    def save(self) -> StoredFile:
        self.stored.save(force_insert=True)
        if self.encrypted:
            EncryptedFile.objects.create(
                stored_file=self.stored, organisation_id=self.stored.organisation_id
            )
        return self.stored


def write_result(
    organisation: Organisation, category: str, path: Path, original_name: str, phi: bool = False
) -> WrittenFile:
    """:func:`veriml.core.files.write_path` for a file a worker made from an organisation's
    data, encrypted first when the organisation handles PHI or the data was PHI (``phi``). The
    plaintext is read from ``path`` (in memory for PHI, ``veriml.core.workspace``) and reaches
    storage only as ciphertext."""
    if not (phi or organisation.handles_phi):
        return WrittenFile(write_path(organisation, category, path, original_name), False)
    return write_secret(organisation, category, path, original_name)


def write_secret(
    organisation: Organisation, category: str, path: Path, original_name: str
) -> WrittenFile:
    """A secret file a worker made (read from memory), encrypted under the organisation's data
    key whether or not it handles PHI: the compiled form of a model committed with hidden
    weights, which holds the weights. Read back, it is decrypted only in memory and the access
    is logged, as for PHI."""
    ciphertext = encrypt(organisation.pk, path.read_bytes())
    stored = write_file(organisation, category, ContentFile(ciphertext), original_name)
    return WrittenFile(stored, True)


def _what(stored: StoredFile) -> str:
    category = stored.storage_name.split("/", 1)[0]
    return str(CATEGORY_NAMES.get(category, category))


def log_access(
    organisation_id: int, what_type: str, what_id: str, access: Access | None = None
) -> PHIAccess:
    """Records one access to PHI (PHI access log and audit log)."""
    access = (
        access or _current_access.get() or Access("system", WORKER_PURPOSE.format(what=what_type))
    )
    with transaction.atomic():
        row: PHIAccess = PHIAccess.objects.create(
            organisation_id=organisation_id,
            actor=access.actor,
            time=timezone.now(),
            what_type=what_type,
            what_id=what_id,
            purpose=access.purpose,
            break_glass=access.break_glass_grant is not None,
            break_glass_grant=access.break_glass_grant,
        )
        audit_log.record(
            "phi.accessed",
            actor=access.actor,
            organisation=organisation_id,
            target=(what_type, what_id),
            details={
                "purpose": access.purpose,
                "break_glass": row.break_glass,
                "break_glass_grant": access.break_glass_grant,
                "phi_access": row.pk,
            },
        )
    return row


def _encryption_of(stored: StoredFile) -> EncryptedFile | None:
    found: EncryptedFile | None = EncryptedFile.objects.filter(stored_file_id=stored.pk).first()
    return found


def plaintext_of(stored: StoredFile, data: bytes) -> bytes:
    """The plaintext of checked bytes read from storage; logs the access to PHI."""
    encryption = _encryption_of(stored)
    if encryption is None:
        return data
    plaintext = decrypt(encryption.organisation_id, data)
    log_access(encryption.organisation_id, _what(stored), str(stored.pk))
    return plaintext


def is_encrypted(stored: StoredFile) -> bool:
    """Whether the stored file is PHI ciphertext, whose plaintext must never reach a disk."""
    return _encryption_of(stored) is not None


def delete_bytes(stored: StoredFile) -> None:
    """Removes a file's bytes from storage, keeping its row (which rows of jobs still name)."""
    try:
        storages["default"].delete(stored.storage_name)
    except Exception:
        logger.exception("could not delete stored file %s", stored.pk)

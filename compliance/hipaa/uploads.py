"""PHI uploads never reach a disk in plaintext, not even the temporary one.

Django keeps a request's files in memory up to ``FILE_UPLOAD_MAX_MEMORY_SIZE`` and spools larger
ones, as they arrive, to a temporary file under ``FILE_UPLOAD_TEMP_DIR``. For a caller who acts
for an organisation that handles PHI, :class:`PHIUploadHandler` spools instead under AES-256-CTR
with a fresh key and counter that live only in this process's memory, and hands the view a file
that decrypts as it is read; :func:`compliance.hipaa.storage.store_upload` then encrypts those
bytes for storage. The spool is deleted when the request's files are closed.

The handlers may see a request before DRF has authenticated it (anything that reads the form
first, such as a middleware), when ``request.user`` does not name an API key's caller yet: the
organisation is then read from the key's prefix in the ``Authorization`` header, and a request
whose caller is not known to act only for organisations without PHI is spooled encrypted.

CTR, not GCM: the checks and the storage read the upload at arbitrary offsets (zip archives are
read from their end), and a counter mode decrypts any offset on its own. The spool needs secrecy
only; what is stored is authenticated (GCM) and its SHA-256 recorded.
"""

from __future__ import annotations

import io
import secrets
import tempfile
from typing import IO, Any

from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, algorithms, modes
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopFutureHandlers
from django.http import HttpRequest

from veriml.accounts.authentication import ApiKeyAuthentication, ApiKeyPrincipal
from veriml.accounts.models import ApiKey, Membership
from veriml.accounts.services import KEY_TAG, is_key_prefix

KEY_BYTES = 32
BLOCK_BYTES = 16
COUNTER_MODULUS = 1 << (8 * BLOCK_BYTES)
READ_BYTES = 1024 * 1024
SPOOL_SUFFIX = ".phi-upload"


def caller_handles_phi(request: HttpRequest) -> bool:
    """Whether the request's caller acts for an organisation that handles PHI: an API key of
    one, or a user with a membership in one (whichever organisation the form names)."""
    user: Any = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    if isinstance(user, ApiKeyPrincipal):
        return bool(user.organisation.handles_phi)
    phi_memberships = Membership.objects.filter(user_id=user.pk, organisation__handles_phi=True)
    return bool(phi_memberships.exists())


def _bearer_key_prefix(request: HttpRequest) -> str | None:
    """The key prefix of an ``Authorization: Bearer vml_<prefix>_<secret>`` header ("" when the
    header is a bearer token of another form), None without a bearer header."""
    keyword, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if keyword.lower() != ApiKeyAuthentication.keyword.lower():
        return None
    tag, _, rest = credentials.strip().partition("_")
    prefix = rest.partition("_")[0]
    return prefix if tag == KEY_TAG and is_key_prefix(prefix) else ""


def spool_encrypted(request: HttpRequest) -> bool:
    """Whether the request's large files are spooled encrypted: unless its caller is known to
    act for no organisation that handles PHI.

    An API key not authenticated yet is judged by the organisation its prefix names, without
    checking its secret (DRF does that next): a valid key's prefix names its own organisation,
    and a key that fails authentication only spools its own sender's bytes. A malformed or
    unknown key, and a caller not signed in, are not known: their spool is encrypted."""
    user: Any = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return caller_handles_phi(request)
    prefix = _bearer_key_prefix(request)
    if not prefix:
        return True
    found = ApiKey.objects.filter(prefix=prefix).values_list("organisation__handles_phi", flat=True)
    return bool(next(iter(found), True))


class EncryptedSpool:
    """A temporary file holding AES-256-CTR ciphertext of what is written to it."""

    def __init__(self, directory: str | None) -> None:
        self._key = secrets.token_bytes(KEY_BYTES)
        self._counter = secrets.randbelow(COUNTER_MODULUS)
        # Open for the request's lifetime: close() (when Django closes the request's files)
        # deletes it.
        self.file: IO[bytes] = tempfile.NamedTemporaryFile(  # noqa: SIM115
            suffix=SPOOL_SUFFIX, dir=directory
        )
        self._encryptor = self._cipher_at(0)
        self.size = 0

    def _cipher_at(self, offset: int) -> CipherContext:
        block, skip = divmod(offset, BLOCK_BYTES)
        counter = ((self._counter + block) % COUNTER_MODULUS).to_bytes(BLOCK_BYTES, "big")
        context = Cipher(algorithms.AES(self._key), modes.CTR(counter)).decryptor()
        context.update(bytes(skip))
        return context

    def write(self, plaintext: bytes) -> None:
        self.file.write(self._encryptor.update(plaintext))
        self.size += len(plaintext)

    def read_at(self, offset: int, length: int) -> bytes:
        length = max(0, min(length, self.size - offset))
        if length == 0:
            return b""
        self.file.seek(offset)
        return self._cipher_at(offset).update(self.file.read(length))

    def close(self) -> None:
        self.file.close()


class DecryptingReader(io.RawIOBase):
    """The plaintext of an :class:`EncryptedSpool`, readable and seekable like a file."""

    def __init__(self, spool: EncryptedSpool) -> None:
        super().__init__()
        self._spool = spool
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._spool.size}
        position = base[whence] + offset
        if position < 0:
            raise ValueError(f"negative seek position {position}")
        self._position = position
        return position

    def readinto(self, buffer: Any) -> int:
        data = self._spool.read_at(self._position, len(buffer))
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)

    def readall(self) -> bytes:
        parts = []
        while data := self._spool.read_at(self._position, READ_BYTES):
            parts.append(data)
            self._position += len(data)
        return b"".join(parts)

    def close(self) -> None:
        self._spool.close()
        super().close()


class EncryptedSpoolUploadedFile(UploadedFile):  # type: ignore[misc]
    """An upload spooled encrypted; reads give the plaintext. It has no
    ``temporary_file_path``, so storage copies its plaintext rather than moving the spool."""

    def __init__(
        self,
        name: str,
        content_type: str,
        charset: str | None,
        content_type_extra: dict[str, Any] | None,
    ) -> None:
        self.spool = EncryptedSpool(settings.FILE_UPLOAD_TEMP_DIR)
        reader = io.BufferedReader(DecryptingReader(self.spool), READ_BYTES)
        super().__init__(reader, name, content_type, 0, charset, content_type_extra)


class PHIUploadHandler(FileUploadHandler):  # type: ignore[misc]
    """Spools the files of a request encrypted unless its caller is known to handle no PHI
    (:func:`spool_encrypted`, and the module's docstring); the files of callers known to pass
    on to Django's own temporary-file handler. Placed after Django's memory handler, which keeps
    small requests in memory for everyone."""

    phi = False
    file: EncryptedSpoolUploadedFile

    def handle_raw_input(
        self,
        input_data: Any,
        META: dict[str, Any],
        content_length: int,
        boundary: bytes,
        encoding: str | None = None,
    ) -> None:
        self.phi = spool_encrypted(self.request)

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        if self.phi:
            self.file = EncryptedSpoolUploadedFile(
                self.file_name, self.content_type, self.charset, self.content_type_extra
            )
            raise StopFutureHandlers()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        if not self.phi:
            return raw_data
        self.file.spool.write(raw_data)
        return None

    def file_complete(self, file_size: int) -> UploadedFile | None:
        if not self.phi:
            return None
        self.file.spool.file.flush()
        self.file.size = file_size
        self.file.seek(0)
        return self.file

    def upload_interrupted(self) -> None:
        if self.phi and hasattr(self, "file"):
            self.file.close()

"""Master keys from settings, and AES-GCM wrapping of organisations' data keys under them.

``PHI_MASTER_KEYS`` (or ``PHI_MASTER_KEYS_FILE``) holds ``id:base64-of-32-bytes`` entries,
comma-separated, newest last: new data keys are wrapped under the newest, and
``rotate_phi_master_key`` rewraps older ones. Development and test runs without the setting
use keys generated once under ``VAR_DIR``.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

KEY_BYTES = 32
NONCE_BYTES = 12
_KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")


class MasterKeyMissing(Exception):
    """A data key is wrapped under a master key that is no longer configured."""


def parse(text: str) -> dict[str, bytes]:
    """``id:base64`` entries, in order (the last is the newest)."""
    found: dict[str, bytes] = {}
    for entry in (item.strip() for item in text.replace("\n", ",").split(",")):
        if not entry:
            continue
        key_id, _, encoded = entry.partition(":")
        if not _KEY_ID.match(key_id) or not encoded:
            raise ImproperlyConfigured("PHI_MASTER_KEYS entries are id:base64-of-32-bytes")
        try:
            key = base64.b64decode(encoded, validate=True)
        except ValueError:
            raise ImproperlyConfigured(f"PHI master key {key_id!r} is not base64") from None
        if len(key) != KEY_BYTES:
            raise ImproperlyConfigured(f"PHI master key {key_id!r} must be 32 bytes (AES-256)")
        found.pop(key_id, None)
        found[key_id] = key
    return found


def new_entry(key_id: str) -> str:
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode('ascii')}"


def _generated_text(path: Path) -> str:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(new_entry("dev-1") + "\n")
    return path.read_text().strip()


def configured_text() -> str:
    text = str(settings.PHI_MASTER_KEYS or "").strip()
    if text:
        return text
    if settings.PHI_MASTER_KEYS_GENERATE:
        return _generated_text(Path(settings.PHI_MASTER_KEYS_PATH))
    raise ImproperlyConfigured("PHI_MASTER_KEYS is not set: PHI cannot be encrypted")


def master_keys() -> dict[str, bytes]:
    keys = parse(configured_text())
    if not keys:
        raise ImproperlyConfigured("PHI_MASTER_KEYS holds no key")
    return keys


def newest() -> tuple[str, bytes]:
    key_id, key = list(master_keys().items())[-1]
    return key_id, key


def _context(organisation_id: int, master_id: str) -> bytes:
    return f"veriml/phi-data-key/v1|organisation:{organisation_id}|master:{master_id}".encode()


def wrap(data_key: bytes, organisation_id: int) -> tuple[str, str]:
    """(master key id, base64 of nonce ‖ AES-256-GCM(data key)) under the newest master key."""
    master_id, master = newest()
    nonce = secrets.token_bytes(NONCE_BYTES)
    sealed = AESGCM(master).encrypt(nonce, data_key, _context(organisation_id, master_id))
    return master_id, base64.b64encode(nonce + sealed).decode("ascii")


def unwrap(wrapped: str, master_id: str, organisation_id: int) -> bytes:
    master = master_keys().get(master_id)
    if master is None:
        raise MasterKeyMissing(f"PHI master key {master_id!r} is not configured")
    raw = base64.b64decode(wrapped)
    return AESGCM(master).decrypt(
        raw[:NONCE_BYTES], raw[NONCE_BYTES:], _context(organisation_id, master_id)
    )

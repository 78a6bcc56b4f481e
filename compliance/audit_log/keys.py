"""The Ed25519 key that signs checkpoints.

``AUDIT_SIGNING_KEY`` (or ``AUDIT_SIGNING_KEY_FILE``) holds a PEM private key or the 32-byte seed
in base64. Without one, development and test runs generate a key once and keep it under
``var/``; production refuses to sign with a key nobody chose.
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

SEED_BYTES = 32


def parse_private_key(text: str) -> Ed25519PrivateKey:
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(text.encode("ascii"), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ImproperlyConfigured("AUDIT_SIGNING_KEY must be an Ed25519 key")
        return key
    try:
        seed = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ImproperlyConfigured("AUDIT_SIGNING_KEY must be PEM or a base64 seed") from None
    if len(seed) != SEED_BYTES:
        raise ImproperlyConfigured(f"AUDIT_SIGNING_KEY's seed must be {SEED_BYTES} bytes")
    return Ed25519PrivateKey.from_private_bytes(seed)


def _generated_key(path: Path) -> str:
    """The key under ``path``, created on first use; concurrent first uses agree on one."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(pem)
    return path.read_text()


def signing_key() -> Ed25519PrivateKey:
    configured: str = settings.AUDIT_SIGNING_KEY
    if configured:
        return parse_private_key(configured)
    if not settings.AUDIT_SIGNING_KEY_GENERATE:
        raise ImproperlyConfigured(
            "AUDIT_SIGNING_KEY (or AUDIT_SIGNING_KEY_FILE) must be set to sign audit checkpoints"
        )
    return parse_private_key(_generated_key(Path(settings.AUDIT_SIGNING_KEY_PATH)))


def public_key() -> Ed25519PublicKey:
    return signing_key().public_key()


def parse_public_key(text: str) -> Ed25519PublicKey:
    """A published key: the 32 raw bytes in base64."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the public key must be base64") from None
    if len(raw) != SEED_BYTES:
        raise ValueError(f"the public key must be {SEED_BYTES} bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def public_key_raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")

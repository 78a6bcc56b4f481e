"""Checks on uploaded files before anything is stored: size, name and container format.

These are cheap checks of the first bytes; the worker that opens a file checks its content
again (the compiler for models, :mod:`provers.tensors` for test sets).
"""

from __future__ import annotations

import json
import struct
import zipfile
from collections.abc import Iterable
from pathlib import Path

from django.core.files.uploadedfile import UploadedFile
from rest_framework import serializers

from veriml.core.errors import PayloadTooLarge

ZIP_MAGIC = b"PK\x03\x04"
TENSOR_SUFFIXES = (".pt", ".npz", ".safetensors")
SAFETENSORS_MAX_HEADER = 100 * 1024 * 1024
PT2_MARKER_MAX_BYTES = 16


def describe_bytes(size: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return f"{size} bytes"


def check_size(upload: UploadedFile, limit: int, what: str, setting: str) -> None:
    if upload.size is not None and upload.size > limit:
        raise PayloadTooLarge(
            f"The {what} is {describe_bytes(upload.size)}; the limit is "
            f"{describe_bytes(limit)} ({setting})."
        )
    if not upload.size:
        raise serializers.ValidationError(f"The {what} is empty.")


def suffix_of(upload: UploadedFile) -> str:
    return Path(upload.name or "").suffix.lower()


def check_suffix(upload: UploadedFile, allowed: Iterable[str], what: str) -> str:
    suffix = suffix_of(upload)
    allowed = tuple(allowed)
    if suffix not in allowed:
        found = suffix or "a file without a suffix"
        raise serializers.ValidationError(
            f"The {what} must be a {', '.join(allowed)} file, not {found}."
        )
    return suffix


def _head(upload: UploadedFile, length: int) -> bytes:
    upload.seek(0)
    head = upload.read(length)
    upload.seek(0)
    return head


def check_zip(upload: UploadedFile, what: str) -> None:
    """torch.export archives (.pt2), torch.save files (.pt) and .npz are zip archives."""
    if _head(upload, 4) != ZIP_MAGIC:
        raise serializers.ValidationError(f"The {what} is not a zip archive.")
    upload.seek(0)
    try:
        valid = zipfile.is_zipfile(upload)
    finally:
        upload.seek(0)
    if not valid:
        raise serializers.ValidationError(f"The {what} is a damaged zip archive.")


def check_torch_export(upload: UploadedFile, what: str) -> None:
    """A ``torch.export.save`` archive: one top folder holding ``archive_format`` (``pt2``) and
    ``models/model.json``. A ``torch.save`` pickle renamed ``.pt2`` fails here; the compiler
    checks everything else, in the worker, before torch reads any of it."""
    check_zip(upload, what)
    refusal = f"The {what} is not a torch.export archive (written by torch.export.save)."
    try:
        with zipfile.ZipFile(upload) as archive:
            names = archive.namelist()
            roots = {name.split("/", 1)[0] for name in names}
            if len(roots) != 1:
                raise serializers.ValidationError(refusal)
            root = roots.pop()
            marker = archive.getinfo(f"{root}/archive_format")
            if marker.file_size > PT2_MARKER_MAX_BYTES or archive.read(marker) != b"pt2":
                raise serializers.ValidationError(refusal)
            if f"{root}/models/model.json" not in names:
                raise serializers.ValidationError(refusal)
    except (KeyError, zipfile.BadZipFile, NotImplementedError, OSError, EOFError):
        raise serializers.ValidationError(refusal) from None
    finally:
        upload.seek(0)


def check_safetensors(upload: UploadedFile, what: str) -> None:
    head = _head(upload, 8)
    if len(head) < 8:
        raise serializers.ValidationError(f"The {what} is too short for a safetensors file.")
    (header_length,) = struct.unpack("<Q", head)
    if header_length > min(SAFETENSORS_MAX_HEADER, (upload.size or 0) - 8):
        raise serializers.ValidationError(f"The {what} has an impossible safetensors header.")
    upload.seek(8)
    header = upload.read(header_length)
    upload.seek(0)
    try:
        parsed = json.loads(header)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise serializers.ValidationError(f"The {what} has an unreadable header.") from None
    if not isinstance(parsed, dict):
        raise serializers.ValidationError(f"The {what} has an unreadable header.")


def check_tensor_file(upload: UploadedFile, what: str, extra: Iterable[str] = ()) -> str:
    """A ``.pt``/``.npz``/``.safetensors`` file (or one of ``extra``) whose container is sound."""
    suffix = check_suffix(upload, (*TENSOR_SUFFIXES, *extra), what)
    if suffix in (".pt", ".npz"):
        check_zip(upload, what)
    elif suffix == ".safetensors":
        check_safetensors(upload, what)
    return suffix

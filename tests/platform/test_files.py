"""Stored files: written with their SHA-256, checked against it on every read."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.storage import storages

from veriml.core.files import (
    StoredFileCorrupted,
    StoredFileMissing,
    copy_checked,
    read_checked,
    safe_original_name,
    store_bytes,
)


def overwrite(stored, data: bytes) -> None:
    with open(storages["default"].path(stored.storage_name), "wb") as handle:
        handle.write(data)


def test_a_stored_file_reads_back_with_its_recorded_digest(alice_org):
    stored = store_bytes(alice_org, "inputs", b"tensor bytes", "x.npz")

    assert stored.sha256 == hashlib.sha256(b"tensor bytes").hexdigest()
    assert stored.size == len(b"tensor bytes")
    assert read_checked(stored) == b"tensor bytes"
    assert stored.storage_name.startswith(f"inputs/{alice_org.pk}/")
    assert stored.storage_name.endswith(".npz")


@pytest.mark.parametrize("changed", [b"tensor bytez", b"tensor byte", b"tensor bytes!"])
def test_reading_a_file_changed_in_storage_raises_a_clear_error(alice_org, changed):
    stored = store_bytes(alice_org, "inputs", b"tensor bytes")
    overwrite(stored, changed)

    with pytest.raises(StoredFileCorrupted, match="changed since it was written"):
        read_checked(stored)


def test_a_copy_that_fails_the_check_is_removed(alice_org, tmp_path):
    stored = store_bytes(alice_org, "inputs", b"tensor bytes")
    overwrite(stored, b"other bytes!")
    destination = tmp_path / "copy.npz"

    with pytest.raises(StoredFileCorrupted):
        copy_checked(stored, destination)

    assert not destination.exists()


def test_a_good_copy_is_identical(alice_org, tmp_path):
    data = bytes(range(256)) * 10_000
    stored = store_bytes(alice_org, "inputs", data)

    assert copy_checked(stored, tmp_path / "copy").read_bytes() == data


def test_a_missing_file_raises_a_clear_error(alice_org):
    stored = store_bytes(alice_org, "inputs", b"tensor bytes")
    storages["default"].delete(stored.storage_name)

    with pytest.raises(StoredFileMissing, match="missing"):
        read_checked(stored)


@pytest.mark.parametrize(
    ("uploaded", "kept"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\x\\model.pt2", "model.pt2"),
        ("résumé model (1).pt2", "r_sum_model_1_.pt2"),
        ("...", "file"),
    ],
)
def test_uploaded_names_keep_only_a_safe_last_component(uploaded, kept):
    assert safe_original_name(uploaded) == kept

"""Large uploads of a PHI organisation's caller are spooled encrypted, never in plaintext, to
the temporary folder; other callers' uploads are spooled as Django spools them."""

from __future__ import annotations

import io
import random
import zipfile
from pathlib import Path

import pytest

from compliance.hipaa import storage
from compliance.hipaa.uploads import (
    SPOOL_SUFFIX,
    DecryptingReader,
    EncryptedSpool,
    EncryptedSpoolUploadedFile,
    caller_handles_phi,
    spool_encrypted,
)
from tests.platform import factories
from tests.platform.helpers import bearer
from veriml.accounts.services import PREFIX_LENGTH
from veriml.core.files import read_checked
from veriml.registry import services as registry_services
from veriml.registry.models import Dataset

MARKER = b"7391.0486"
SPOOL_THRESHOLD = 64 * 1024


def large_csv(rows: int = 20_000) -> bytes:
    body = b"".join(b"%s,%d.25,%d\n" % (MARKER, row, row % 2) for row in range(rows))
    return b"systolic,diastolic,label\n" + body


@pytest.fixture
def spool_dir(settings, tmp_path: Path) -> Path:
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = SPOOL_THRESHOLD
    return tmp_path


@pytest.fixture
def seen_while_storing(monkeypatch, spool_dir):
    """What the temporary folder holds while the upload is being stored (the spool is open)."""
    seen: dict[str, bytes] = {}
    real = storage.store_upload

    def spy(*args, **kwargs):
        seen.update({path.name: path.read_bytes() for path in spool_dir.iterdir()})
        return real(*args, **kwargs)

    monkeypatch.setattr(registry_services.phi_storage, "store_upload", spy)
    return seen


def upload(api_client, data: bytes, **credentials):
    return api_client.post(
        "/api/v1/datasets/",
        {"name": "patients", "file": factories.upload("patients.csv", data)},
        format="multipart",
        **credentials,
    )


@pytest.mark.parametrize("caller", ["api_key", "member"])
def test_a_large_phi_upload_leaves_no_plaintext_in_the_temporary_folder(
    api_client, alice_org, bob, issue_key, media_root, spool_dir, seen_while_storing, caller
):
    alice_org.handles_phi = True
    alice_org.save(update_fields=["handles_phi"])
    data = large_csv()
    credentials = {}
    if caller == "api_key":
        credentials = bearer(issue_key("Alice Labs", scopes=("read", "submit")))
    else:
        api_client.force_authenticate(bob)

    response = upload(api_client, data, **credentials)

    assert response.status_code == 201, response.json()
    assert len(data) > 5 * SPOOL_THRESHOLD
    assert [name for name in seen_while_storing if name.endswith(SPOOL_SUFFIX)], "no spool seen"
    assert all(MARKER not in content for content in seen_while_storing.values())
    assert all(len(content) == len(data) for content in seen_while_storing.values())
    assert list(spool_dir.iterdir()) == []
    dataset = Dataset.objects.select_related("file").get(pk=response.json()["id"])
    assert (media_root / dataset.file.storage_name).read_bytes().startswith(storage.MAGIC)
    assert read_checked(dataset.file) == data


def test_a_large_upload_of_an_organisation_without_phi_is_spooled_as_django_does(
    api_client, alice_org, issue_key, seen_while_storing
):
    data = large_csv()

    response = upload(api_client, data, **bearer(issue_key("Alice Labs", ("read", "submit"))))

    # The scan above would see plaintext: here, with PHI off, it does.
    assert response.status_code == 201, response.json()
    assert any(MARKER in content for content in seen_while_storing.values())


def test_a_phi_caller_is_an_api_key_or_a_member_of_an_organisation_that_handles_phi(
    rf, alice_org, bob, charlie, issue_key
):
    alice_org.handles_phi = True
    alice_org.save(update_fields=["handles_phi"])
    request = rf.post("/")

    request.user = bob
    member = caller_handles_phi(request)
    request.user = charlie
    outsider = caller_handles_phi(request)
    del request.user
    anonymous = caller_handles_phi(request)

    assert (member, outsider, anonymous) == (True, False, False)


@pytest.mark.parametrize("phi", [True, False])
def test_an_upload_read_before_drf_authenticates_the_key_is_spooled_by_the_keys_organisation(
    rf, alice_org, issue_key, spool_dir, phi
):
    alice_org.handles_phi = phi
    alice_org.save(update_fields=["handles_phi"])
    data = large_csv()
    request = rf.post(
        "/api/v1/datasets/",
        {"name": "patients", "file": factories.upload("patients.csv", data)},
        **bearer(issue_key("Alice Labs", scopes=("read", "submit"))),
    )

    # As a middleware reading the form would: the upload handlers run while request.user names
    # no caller yet (DRF authenticates the key later, in the view).
    received = request.FILES["file"]
    [spool] = [path.read_bytes() for path in spool_dir.iterdir()]

    assert not hasattr(request, "user") and len(data) > 5 * SPOOL_THRESHOLD
    assert len(spool) == len(data)
    assert (MARKER in spool) is not phi
    assert received.read() == data
    received.close()
    assert list(spool_dir.iterdir()) == []


def test_a_request_whose_caller_is_not_known_to_handle_no_phi_is_spooled_encrypted(
    rf, alice_org, charlie, issue_key
):
    alice_org.handles_phi = True
    alice_org.save(update_fields=["handles_phi"])
    unknown_prefix = "z" * PREFIX_LENGTH
    headers = {
        "anonymous": {},
        "malformed key": bearer("vml_short_secret"),
        "other bearer token": bearer("eyJhbGciOiJIUzI1NiJ9.e30.sig"),
        "unknown key": bearer(f"vml_{unknown_prefix}_secret"),
        "key of a PHI organisation": bearer(issue_key("Alice Labs")),
        "key of an organisation without PHI": bearer(issue_key("Charlie Corp")),
    }
    signed_in = rf.post("/")
    signed_in.user = charlie

    encrypted = {name: spool_encrypted(rf.post("/", **header)) for name, header in headers.items()}

    known_without_phi = "key of an organisation without PHI"
    assert encrypted == {name: name != known_without_phi for name in headers}
    assert spool_encrypted(signed_in) is False


def test_the_spool_is_ciphertext_that_reads_back_at_any_offset(tmp_path):
    generator = random.Random(8)
    data = generator.randbytes(300_001)
    spool = EncryptedSpool(str(tmp_path))
    for start in range(0, len(data), 7_777):
        spool.write(data[start : start + 7_777])
    spool.file.flush()
    reader = io.BufferedReader(DecryptingReader(spool), 4096)

    on_disk = Path(spool.file.name).read_bytes()
    assert len(on_disk) == len(data) and on_disk != data
    for _ in range(200):
        offset, length = generator.randrange(len(data) + 10), generator.randrange(1, 20_000)
        reader.seek(offset)
        assert reader.read(length) == data[offset : offset + length]
    reader.seek(-5, io.SEEK_END)
    assert reader.read() == data[-5:]
    reader.seek(0)
    assert reader.read() == data
    with pytest.raises(ValueError):
        reader.seek(-1)
    reader.close()
    assert not Path(spool.file.name).exists()


def test_a_spooled_zip_archive_opens_through_the_decrypting_view(settings, tmp_path):
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    archive = factories.npz_bytes(inputs=list(range(50_000)))
    upload = EncryptedSpoolUploadedFile("inputs.npz", "application/zip", None, None)
    upload.spool.write(archive)
    upload.spool.file.flush()
    upload.size = len(archive)

    with zipfile.ZipFile(upload) as opened:
        names = opened.namelist()

    assert names == ["inputs.npy"]
    assert b"".join(upload.chunks()) == archive
    upload.close()

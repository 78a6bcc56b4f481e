"""A worker hands PHI to the prover from memory only: the test sets, calibration sets and inputs
it decrypts, and what the prover writes from them, never lie in its temporary folder in
plaintext.

The tasks run in this process (``Task.apply``) with the temporary folder moved to one the test
reads while the prover (a stand-in here) has the files; links are read, never followed.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest

from compliance.hipaa import storage
from compliance.hipaa.models import EncryptedFile, PHIAccess
from tests.platform import factories
from tests.platform.helpers import bearer
from veriml.core import workspace
from veriml.core.files import PlaintextRefused, copy_checked, read_checked
from veriml.proving import tasks as proving_tasks
from veriml.registry import tasks as registry_tasks
from veriml.registry.models import Dataset, RegisteredModel

MARKER = "81427.0693"
MARKER_VALUE = float(MARKER)
PHI_CSV = f"systolic,diastolic,label\n{MARKER},80.5,1\n120.25,79.5,0\n".encode()


def marked_npz(**extra: object) -> bytes:
    return factories.npz_bytes(inputs=np.full((4, 3), MARKER_VALUE, dtype=np.float32), **extra)


def plaintexts() -> list[bytes]:
    """Byte forms the marker takes in the files these tests store."""
    value = np.float32(MARKER_VALUE)
    return [MARKER.encode(), value.tobytes(), np.float64(value).tobytes()]


def on_disk(folder: Path) -> dict[str, bytes]:
    """Every entry under ``folder`` as the disk holds it: a file's bytes, a link's target."""
    found: dict[str, bytes] = {}
    for path in folder.rglob("*"):
        if path.is_symlink():
            found[str(path)] = os.readlink(path).encode()
        elif path.is_file():
            found[str(path)] = path.read_bytes()
    return found


def holds_plaintext(entries: dict[str, bytes]) -> bool:
    return any(form in content for content in entries.values() for form in plaintexts())


@pytest.fixture
def temporary_folder(monkeypatch, tmp_path: Path) -> Path:
    folder = tmp_path / "worker-tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def phi_org(alice_org):
    alice_org.handles_phi = True
    alice_org.save(update_fields=["handles_phi"])
    return alice_org


@pytest.fixture
def memory_work_dir(settings) -> Path:
    base = Path("/dev/shm")
    if not base.is_dir() or workspace.file_system_type(base) not in workspace.MEMORY_FILE_SYSTEMS:
        pytest.skip("this machine has no memory file system at /dev/shm")
    settings.PHI_WORK_DIR = str(base)
    return base


class FakeProver:
    """Stands in for ``provers.api``: records what each call read and what the disk held."""

    def __init__(self, temporary_folder: Path) -> None:
        self.temporary_folder = temporary_folder
        self.disk: dict[str, dict[str, bytes]] = {}
        self.read: dict[str, bytes] = {}
        self.paths: dict[str, Path] = {}

    def _saw(self, call: str, **paths: str) -> None:
        self.disk[call] = on_disk(self.temporary_folder)
        for name, path in paths.items():
            self.paths[name] = Path(path)
            if Path(path).exists():
                self.read[name] = Path(path).read_bytes()

    def function(self, name: str, failure_code: str):
        def check_model(source):
            self._saw(name, source=source)
            return {"supported": True}

        def compile_model(source, calibration, out, progress=None):
            self._saw(name, calibration=calibration)
            Path(out).write_bytes(b"compiled")
            return {"digest": "ab" * 32, "parameters": 12}

        def prove_inference(model, input_path, out, **_):
            self._saw(name, input=input_path)
            Path(out).write_bytes(factories.proof_bytes())
            return {"statement": {}}

        def commit_dataset(model, dataset, commitment, **_):
            self._saw(name, dataset=dataset)
            # A committed test set holds the quantised samples: PHI too.
            Path(commitment).write_bytes(b"VDC" + MARKER.encode())
            return {"digest": "d1" * 32}

        def prove_audit(model, commitment, out, **_):
            self._saw(name, commitment=commitment)
            Path(out).write_bytes(factories.proof_bytes())
            return {"statement": {}}

        return locals()[name]


@pytest.fixture
def prover(monkeypatch, temporary_folder) -> FakeProver:
    fake = FakeProver(temporary_folder)
    monkeypatch.setattr(registry_tasks, "prover_function", fake.function)
    monkeypatch.setattr(proving_tasks, "prover_function", fake.function)
    return fake


def phi_dataset(org, data: bytes, name: str) -> Dataset:
    stored = storage.store_upload(org, "datasets", factories.upload(name, data), name)
    return Dataset.objects.create(organisation=org, name="patients", file=stored)


@pytest.mark.parametrize("phi", [True, False])
def test_validating_a_test_set_leaves_no_plaintext_of_phi_in_the_workers_temporary_folder(
    monkeypatch, alice_org, temporary_folder, phi
):
    alice_org.handles_phi = phi
    alice_org.save(update_fields=["handles_phi"])
    dataset = phi_dataset(alice_org, PHI_CSV, "patients.csv")
    seen: dict[str, bytes] = {}
    real_read = registry_tasks.read_test_set

    def read_test_set(path):
        seen.update(on_disk(temporary_folder))
        return real_read(path)

    monkeypatch.setattr(registry_tasks, "read_test_set", read_test_set)

    registry_tasks.validate_dataset.apply((str(dataset.pk),))

    dataset.refresh_from_db()
    assert dataset.status == Dataset.Status.READY, dataset.error_message
    assert dataset.samples == 2
    assert seen, "the worker's temporary folder was not seen while the test set was read"
    # The control: without PHI the copy is a plain file, and the scan finds its values.
    assert holds_plaintext(seen) is not phi
    if phi:
        assert all(target.startswith(b"/proc/self/fd/") for target in seen.values())
        [access] = PHIAccess.objects.all()
        assert (access.actor, access.what_type) == ("system", "dataset")
    assert on_disk(temporary_folder) == {}


def test_compiling_a_phi_model_reads_its_encrypted_calibration_set_from_memory_only(
    api_client, phi_org, issue_key, media_root, prover
):
    calibration = marked_npz()
    response = api_client.post(
        "/api/v1/models/",
        {
            "name": "triage",
            "file": factories.model_upload(),
            "calibration": factories.upload("calibration.npz", calibration),
        },
        format="multipart",
        **bearer(issue_key("Alice Labs", scopes=("read", "submit"))),
    )
    assert response.status_code == 201, response.json()
    model = RegisteredModel.objects.get(pk=response.json()["id"])

    registry_tasks.compile_model.apply((str(model.pk),))

    model.refresh_from_db()
    assert model.status == RegisteredModel.Status.READY, model.error_message
    assert prover.read["calibration"] == calibration
    assert not holds_plaintext(prover.disk["compile_model"])
    link = prover.disk["compile_model"][str(prover.paths["calibration"])]
    assert link.startswith(b"/proc/self/fd/")
    [access] = PHIAccess.objects.all()
    assert (access.what_type, access.what_id) == ("calibration", str(model.calibration_id))


def test_a_phi_jobs_input_reaches_the_prover_from_memory_only(phi_org, prover):
    data = factories.npz_bytes(x=np.full((1, 3), MARKER_VALUE, dtype=np.float32))
    stored = storage.store_upload(phi_org, "inputs", factories.upload("x.npz", data), "x.npz")
    job = factories.job(phi_org, input=stored)

    proving_tasks.prove_inference.apply((str(job.pk),))

    assert prover.read["input"] == data
    assert not holds_plaintext(prover.disk["prove_inference"])
    assert PHIAccess.objects.get().what_type == "input"


def test_a_phi_audit_keeps_the_test_set_and_its_commitment_in_memory(
    phi_org, prover, temporary_folder, memory_work_dir, settings
):
    data = marked_npz(labels=np.arange(4) % 2)
    dataset = phi_dataset(phi_org, data, "holdout.npz")
    job = factories.job(phi_org, kind="audit", dataset=dataset, input=None)

    proving_tasks.prove_accuracy.apply((str(job.pk),))

    assert prover.read["dataset"] == data
    commitment = prover.paths["commitment"]
    assert prover.read["commitment"] == b"VDC" + MARKER.encode()
    assert workspace.file_system_type(commitment) in workspace.MEMORY_FILE_SYSTEMS
    assert memory_work_dir in commitment.parents and temporary_folder not in commitment.parents
    assert not holds_plaintext(prover.disk["commit_dataset"])
    assert not holds_plaintext(prover.disk["prove_audit"])
    assert not commitment.parent.exists()
    # Kept with the job, as ciphertext at rest under the organisation's data key.
    job.refresh_from_db()
    kept = job.dataset_commitment
    assert kept is not None and job.dataset_digest == "d1" * 32
    assert EncryptedFile.objects.filter(stored_file=kept, organisation=phi_org).exists()
    at_rest = Path(settings.MEDIA_ROOT, kept.storage_name).read_bytes()
    assert not holds_plaintext({"stored": at_rest})
    assert read_checked(kept) == b"VDC" + MARKER.encode()
    assert PHIAccess.objects.filter(what_type="dataset commitment", what_id=str(kept.pk)).exists()


def test_a_worker_that_cannot_keep_phi_off_its_disk_refuses_the_work(
    monkeypatch, phi_org, prover, temporary_folder, settings
):
    dataset = phi_dataset(phi_org, PHI_CSV, "patients.csv")
    audited = phi_dataset(phi_org, marked_npz(labels=np.arange(4) % 2), "holdout.npz")
    job = factories.job(phi_org, kind="audit", dataset=audited, input=None)
    monkeypatch.setattr(workspace, "file_system_type", lambda path: "ext4")

    proving_tasks.prove_accuracy.apply((str(job.pk),))
    monkeypatch.delattr(os, "memfd_create")
    registry_tasks.validate_dataset.apply((str(dataset.pk),))

    job.refresh_from_db()
    dataset.refresh_from_db()
    assert (job.status, job.error_code) == ("failed", "unavailable")
    assert "commit_dataset" not in prover.disk
    assert (dataset.status, dataset.error_code) == ("failed", "unavailable")
    assert "PHI" in dataset.error_message
    assert on_disk(temporary_folder) == {}


def test_a_phi_file_is_never_copied_to_a_local_path(phi_org, tmp_path):
    stored = storage.store_upload(phi_org, "datasets", factories.upload("p.csv", PHI_CSV), "p.csv")
    destination = tmp_path / "p.csv"

    with pytest.raises(PlaintextRefused):
        copy_checked(stored, destination)

    assert not destination.exists()
    assert EncryptedFile.objects.filter(stored_file=stored).exists()
    assert read_checked(stored) == PHI_CSV


def test_the_file_system_of_a_path_is_its_longest_mount_point(monkeypatch, tmp_path):
    mounts = tmp_path / "mounts"
    mounts.write_text(
        "/dev/vda / ext4 rw 0 0\n"
        "tmpfs /dev/shm tmpfs rw 0 0\n"
        "tmpfs /srv/with\\040space tmpfs rw 0 0\n"
        "/dev/vdb /srv ext4 rw 0 0\n"
    )
    monkeypatch.setattr(workspace, "MOUNTS", mounts)
    monkeypatch.setattr(workspace.os.path, "realpath", lambda path: str(path))

    kinds = [
        workspace.file_system_type(Path(path))
        for path in ("/dev/shm/veriml", "/dev/shmx", "/srv/with space/a", "/srv/with", "/")
    ]

    assert kinds == ["tmpfs", "ext4", "tmpfs", "ext4", "ext4"]

"""Rows and files for platform tests, made directly, without the prover.

A "ready" model here has a compiled file that is not a real compiled model: jobs on it run
through the real task and fail in the prover, which is what state-machine tests need. Proof
files are real ones, made by the standalone committed-sum prover.
"""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from django.core.files.uploadedfile import SimpleUploadedFile

from provers.standalone import committed_sum
from veriml.accounts.models import Organisation
from veriml.core.files import store_bytes
from veriml.proving.models import Job
from veriml.registry.models import Dataset, RegisteredModel

MODEL_DIGEST = "5e" * 32
ESTIMATE = {"prove_seconds": 12.5, "peak_memory_bytes": 2_000_000}


def organisation(name: str) -> Organisation:
    return Organisation.objects.get(name=name)


def zip_bytes(members: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in (members or {"archive/data.pkl": b"not a real export"}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def pt2_bytes(members: dict[str, bytes] | None = None) -> bytes:
    """A zip laid out as ``torch.export.save`` writes one, holding no real program: it passes
    the upload checks and the compiler refuses it."""
    return zip_bytes(
        {
            "archive/archive_format": b"pt2",
            "archive/models/model.json": b"{}",
            **(members or {}),
        }
    )


def hostile_pt2(marker: Path) -> bytes:
    """A real ``torch.export`` archive whose sample inputs are a pickle that runs a command."""
    import torch

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    program = torch.export.export(torch.nn.Linear(3, 2).eval(), (torch.randn(1, 3),))
    exported = io.BytesIO()
    torch.export.save(program, exported)
    pickled = io.BytesIO()
    with zipfile.ZipFile(pickled, "w") as archive:
        archive.writestr("model/data.pkl", pickle.dumps(Exploit(), protocol=2))
        archive.writestr("model/byteorder", "little")
    hostile = io.BytesIO()
    with (
        zipfile.ZipFile(exported) as source,
        zipfile.ZipFile(hostile, "w") as archive,
    ):
        for entry in source.infolist():
            replace = entry.filename.endswith("data/sample_inputs/model.pt")
            archive.writestr(entry.filename, pickled.getvalue() if replace else source.read(entry))
    return hostile.getvalue()


def npz_bytes(**arrays: Any) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def model_upload(name: str = "model.pt2") -> SimpleUploadedFile:
    return upload(name, pt2_bytes())


def calibration_upload() -> SimpleUploadedFile:
    return upload("calibration.npz", npz_bytes(inputs=np.zeros((4, 3), dtype=np.float32)))


def input_upload(value: float = 1.0) -> SimpleUploadedFile:
    return upload("input.npz", npz_bytes(x=np.full((1, 3), value, dtype=np.float32)))


def proof_bytes(seed: int = 3) -> bytes:
    tables = [np.arange(16, dtype=np.int64) + seed, np.arange(16, dtype=np.int64)]
    return committed_sum.prove(tables)


def ready_model(org: Organisation, name: str = "classifier", **fields: Any) -> RegisteredModel:
    version = RegisteredModel.objects.filter(organisation=org, name=name).count() + 1
    values: dict[str, Any] = {
        "organisation": org,
        "name": name,
        "version": version,
        "status": RegisteredModel.Status.READY,
        "source": store_bytes(org, "models", pt2_bytes(), "model.pt2"),
        "calibration": store_bytes(org, "calibration", npz_bytes(inputs=np.zeros(3)), "c.npz"),
        "compiled": store_bytes(org, "compiled", b"not a compiled model", "model.vmc"),
        "digest": MODEL_DIGEST,
        "parameters": 42,
        "estimate": ESTIMATE,
    }
    values.update(fields)
    return RegisteredModel.objects.create(**values)


def ready_dataset(org: Organisation, samples: int = 8) -> Dataset:
    data = npz_bytes(inputs=np.zeros((samples, 3), dtype=np.float32), labels=np.arange(samples) % 2)
    return Dataset.objects.create(
        organisation=org,
        name="holdout",
        status=Dataset.Status.READY,
        file=store_bytes(org, "datasets", data, "holdout.npz"),
        samples=samples,
        classes=2,
        input_shape=[3],
    )


def job(org: Organisation, model: RegisteredModel | None = None, **fields: Any) -> Job:
    model = model or ready_model(org)
    values: dict[str, Any] = {
        "organisation": org,
        "kind": Job.Kind.INFERENCE,
        "model": model,
        "input": store_bytes(org, "inputs", npz_bytes(x=np.ones((1, 3))), "input.npz"),
        "nonce": "00" * 32,
        "estimate": dict(model.estimate),
    }
    values.update(fields)
    return Job.objects.create(**values)


def succeeded_job(org: Organisation, **fields: Any) -> Job:
    """A job as a worker leaves it after a successful proof, with a real proof file."""
    from django.utils import timezone

    from veriml.verification.services import verify_stored_proof

    proof = store_bytes(org, "proofs", proof_bytes(), "proof.vmp")
    verdict = verify_stored_proof(proof)
    now = timezone.now()
    values: dict[str, Any] = {
        "status": Job.Status.SUCCEEDED,
        "proof": proof,
        "verification": verdict,
        "statement": verdict["statement"],
        "attempts": 1,
        "started_at": now,
        "finished_at": now,
        "progress_fraction": 1.0,
    }
    values.update(fields)
    return job(org, **values)

"""Worker tasks of the registry: compile an uploaded model, validate a test set. IDs only."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from celery import Task, shared_task
from django.conf import settings

from compliance.hipaa import storage as phi_storage
from provers import api as prover_api
from provers.tensors import TensorFileError, load_dataset
from veriml.core.files import discard_file, write_path
from veriml.core.runner import WorkSteps, run_work
from veriml.core.work import Attempt, stale_ids
from veriml.core.worker import ProgressReporter, WorkFailed, device, prover_function
from veriml.core.workspace import Workspace
from veriml.registry import services
from veriml.registry.models import Dataset, RegisteredModel

AUDIT_PROBE_MAX_SAMPLES = 1024


def private_audit_support(
    commit_dataset: Callable[..., Any], model_path: Path, report: dict[str, Any], folder: Path
) -> dict[str, Any]:
    """Whether accuracy audits of the compiled model can hide their test inputs, and from how
    many samples, as the prover itself answers: it commits synthetic test sets hiding
    (``commit_dataset(private=["input"])``), which it refuses, with its reason, for a model its
    private audits cannot prove (not an MLP classifier) or a test set too small to mask what
    the proof reveals. The set doubles in size while the refusal changes with it, then the
    smallest size accepted is found between the last two."""
    shape, output = report.get("input_shape"), report.get("output_shape")
    if not shape or not output:
        return {"audit_private_parts": [], "audit_private_reason": "no input or output shape"}
    classes = max(int(output[-1]), 1)

    def refusal(samples: int) -> str:
        dataset = folder / "probe.npz"
        inputs = np.zeros((samples, *shape), dtype=np.float32)
        np.savez(dataset, inputs=inputs, labels=np.arange(samples) % classes)
        try:
            commit_dataset(
                str(model_path), str(dataset), str(folder / "probe.vdc"), private=["input"]
            )
        except WorkFailed as refused:
            return refused.message
        return ""

    samples, reason, previous = 1, refusal(1), None
    while reason and reason != previous and samples < AUDIT_PROBE_MAX_SAMPLES:
        samples, previous = samples * 2, reason
        reason = refusal(samples)
    if reason:
        return {"audit_private_parts": [], "audit_private_reason": reason.rstrip(".")}
    refused = samples // 2
    while samples - refused > 1:
        middle = (refused + samples) // 2
        if refusal(middle):
            refused = middle
        else:
            samples = middle
    return {
        "audit_private_parts": ["input"],
        "audit_private_reason": "",
        "audit_min_samples": samples,
    }


def hidden_weights_options(model: RegisteredModel) -> dict[str, Any]:
    """What ``compile_model`` is asked for the model's weights: hidden, for its budget of
    proofs, when it was registered with private weights; nothing for open weights."""
    if not model.weights_hidden:
        return {}
    return {"private_weights": True, "proofs": model.proof_budget}


def check_weights_commitment(model: RegisteredModel, report: dict[str, Any]) -> None:
    """The compile report must say the weights were committed as the model was registered:
    a model registered with private weights never falls back to open ones."""
    if not model.weights_hidden:
        return
    parts = (report.get("support") or {}).get("private_parts") or []
    proofs = report.get("proofs")
    if report.get("private_weights") is not True or "weights" not in parts:
        raise WorkFailed(
            "compile_error", "The compiler did not commit the weights hidden, as registered."
        )
    if not isinstance(proofs, int) or proofs != model.proof_budget:
        raise WorkFailed(
            "compile_error",
            f"The compiler committed the hidden weights for {proofs} proofs, not the "
            f"{model.proof_budget} registered.",
        )


def read_test_set(path: Path) -> services.DatasetSummary:
    """Reads a test set with the prover's own reader, so a test set that validates here is one
    an audit can read; raises ``TensorFileError`` with the reason."""
    inputs, labels = load_dataset(path, max_unpacked_bytes=settings.TENSOR_FILE_MAX_UNPACKED_BYTES)
    return services.DatasetSummary(
        samples=int(labels.shape[0]),
        classes=int(np.unique(labels).size),
        input_shape=[int(size) for size in inputs.shape[1:]],
    )


@shared_task(
    bind=True,
    name="veriml.registry.tasks.compile_model",
    soft_time_limit=settings.COMPILE_SOFT_TIME_LIMIT,
    time_limit=settings.COMPILE_TIME_LIMIT,
)
def compile_model(self: Task, model_id: str) -> str:
    """Checks and compiles the model; it becomes ready with its digest and report, or failed."""

    def body(attempt: Attempt, workspace: Workspace, progress: ProgressReporter) -> bool:
        model = RegisteredModel.objects.select_related("organisation", "source", "calibration").get(
            pk=model_id
        )
        source = workspace.local_copy(model.source, "model")
        # A PHI organisation's calibration set stays in memory (veriml.core.workspace).
        calibration = workspace.local_copy(model.calibration, "calibration")
        check_model = prover_function("check_model", "compile_error")
        compile_ = prover_function("compile_model", "compile_error")
        progress("checking", 0.0)
        support = check_model(str(source))
        # A hidden commitment's file holds the weights and the randomness hiding them: it is
        # written to memory only, and stored encrypted under the organisation's data key.
        hidden = hidden_weights_options(model)
        out_path = workspace.output_path("model.vmc", secret=bool(hidden))
        report = compile_(str(source), str(calibration), str(out_path), progress=progress, **hidden)
        if not isinstance(report, dict) or not report.get("digest"):
            raise WorkFailed("compile_error", "The compiler returned no model digest.")
        check_weights_commitment(model, report)
        progress("checking private audits", 0.95)
        commit_dataset = prover_function("commit_dataset", "compile_error")
        audits = private_audit_support(commit_dataset, out_path, report, workspace.path)
        report = {**report, "support": {**(report.get("support") or support), **audits}}
        name = f"{model.name}-v{model.version}.vmc"
        if hidden:
            compiled = phi_storage.write_secret(model.organisation, "compiled", out_path, name)
        else:
            stored = write_path(model.organisation, "compiled", out_path, name)
            compiled = phi_storage.WrittenFile(stored, encrypted=False)
        try:
            held = services.complete_compile(attempt, compiled, report, support) is not None
        except BaseException:
            discard_file(compiled.stored)
            raise
        if not held:
            discard_file(compiled.stored)
        return held

    steps = WorkSteps(
        claim=lambda: services.claim_compile(model_id, prover_api.prover_version(), device()),
        progress=services.record_compile_progress,
        beat=services.compile_heartbeat,
        fail=services.fail_compile,
        soft_time_limit=settings.COMPILE_SOFT_TIME_LIMIT,
        memory_limit_mb=settings.COMPILE_MEMORY_LIMIT_MB,
    )
    return run_work(self, steps, body)


@shared_task(
    bind=True,
    name="veriml.registry.tasks.validate_dataset",
    soft_time_limit=settings.DATASET_SOFT_TIME_LIMIT,
    time_limit=settings.DATASET_TIME_LIMIT,
)
def validate_dataset(self: Task, dataset_id: str) -> str:
    """Reads the test set and records its size; it becomes ready, or failed with the reason."""

    def body(attempt: Attempt, workspace: Workspace, progress: ProgressReporter) -> bool:
        dataset = Dataset.objects.select_related("file").get(pk=dataset_id)
        progress("reading", 0.0)
        # The reader's messages name the file: name the copy as its uploader did.
        stem = Path(dataset.file.original_name).stem or "dataset"
        local = workspace.local_copy(dataset.file, stem)
        try:
            summary = read_test_set(local)
        except TensorFileError as error:
            raise WorkFailed("invalid_dataset", f"Not a usable test set: {error}.") from None
        return services.complete_validation(attempt, summary) is not None

    steps = WorkSteps(
        claim=lambda: services.claim_validation(dataset_id, prover_api.prover_version(), device()),
        progress=services.record_validation_progress,
        beat=services.validation_heartbeat,
        fail=services.fail_validation,
        soft_time_limit=settings.DATASET_SOFT_TIME_LIMIT,
        memory_limit_mb=settings.DATASET_MEMORY_LIMIT_MB,
    )
    return run_work(self, steps, body)


@shared_task(name="veriml.registry.tasks.requeue_stale_work")
def requeue_stale_work() -> int:
    """Sends the task of every compile or validation whose worker stopped beating again."""
    models = stale_ids(RegisteredModel, RegisteredModel.Status.COMPILING)
    datasets = stale_ids(Dataset, Dataset.Status.VALIDATING)
    for model_id in models:
        compile_model.delay(str(model_id))
    for dataset_id in datasets:
        validate_dataset.delay(str(dataset_id))
    return len(models) + len(datasets)

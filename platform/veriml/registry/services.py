"""Every change to registered models and test sets goes through these functions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Max

from compliance import audit_log
from compliance.hipaa import storage as phi_storage
from compliance.policy import services as policy
from compliance.policy.regions import queue_for
from compliance.privacy import services as privacy_services
from veriml.accounts.models import Organisation
from veriml.core import work
from veriml.core.errors import ServiceError
from veriml.core.files import discard_file, store_file
from veriml.core.models import StoredFile
from veriml.core.work import Attempt, Claimed
from veriml.registry.models import PRIVACY_PARTS, Dataset, RegisteredModel, Visibility

COMPILING = RegisteredModel.Status.COMPILING
MODEL_CARD_FIELDS = ("intended_use", "limitations")
VALIDATING = Dataset.Status.VALIDATING


@dataclass(frozen=True)
class DatasetSummary:
    """What validating a test set found: its samples, distinct labels and per-sample shape."""

    samples: int
    classes: int
    input_shape: list[int]


class BudgetWithoutPrivateWeights(ServiceError):
    code = "invalid"


def weights_commitment(privacy: dict[str, str], proof_budget: int | None) -> dict[str, Any]:
    """How a new model's weights are committed, fixed for its life: hidden, for a budget of
    zero-knowledge proofs (the upload's ``proof_budget``, else ``PRIVATE_WEIGHT_PROOFS``), when
    its effective weights privacy is private; openly otherwise. ``privacy`` is the effective
    privacy (``privacy_services.privacy_for_new_model``: the request, else the organisation's
    defaults, never below its minimums)."""
    if privacy["weights"] != Visibility.PRIVATE:
        if proof_budget is not None:
            raise BudgetWithoutPrivateWeights(
                "proof_budget is the number of zero-knowledge proofs of a model whose weights "
                "are private; this model's weights are public.",
                fields={"proof_budget": ["Only for a model with private weights."]},
            )
        return {"weights_hidden": False, "proof_budget": None}
    return {
        "weights_hidden": True,
        "proof_budget": proof_budget or settings.PRIVATE_WEIGHT_PROOFS,
    }


def _enqueue_compile(model_id: str, region: str) -> None:
    from veriml.registry.tasks import compile_model

    compile_model.apply_async((model_id,), queue=queue_for("compile", region))


def _enqueue_validation(dataset_id: str) -> None:
    from veriml.registry.tasks import validate_dataset

    validate_dataset.delay(dataset_id)


def register_model(
    organisation: Organisation,
    name: str,
    source: UploadedFile,
    calibration: UploadedFile,
    privacy: dict[str, str] | None = None,
    created_by: str = "",
    actor: str = "system",
    card: dict[str, str] | None = None,
    proof_budget: int | None = None,
) -> RegisteredModel:
    """Stores the files (the calibration set encrypted when the organisation handles PHI, the
    model encrypted when its weights are private), records the next version of ``name`` and
    queues its compilation.

    ``card`` holds the optional model-card texts ``intended_use`` and ``limitations``. A model
    whose weights are private is compiled with them hidden, for ``proof_budget`` proofs
    (:func:`weights_commitment`)."""
    policy.enforce(organisation, "upload", target=("model", name), actor=actor)
    policy.enforce(organisation, "compile", target=("model", name), actor=actor)
    privacy = privacy_services.privacy_for_new_model(organisation, privacy)
    commitment = weights_commitment(privacy, proof_budget)
    stored: list[StoredFile] = []
    try:
        source_name = source.name or "model.pt2"
        if commitment["weights_hidden"]:
            # Its .pt2 holds the private weights: kept encrypted like PHI.
            stored.append(
                phi_storage.store_upload(organisation, "models", source, source_name, secret=True)
            )
        else:
            stored.append(store_file(organisation, "models", source, source_name))
        # Calibration inputs are samples of the organisation's data: PHI where it handles PHI.
        stored.append(
            phi_storage.store_upload(
                organisation, "calibration", calibration, calibration.name or "calibration"
            )
        )
        with transaction.atomic():
            # Locking the organisation serialises version numbers of concurrent uploads.
            Organisation.objects.select_for_update().filter(pk=organisation.pk).first()
            latest = RegisteredModel.objects.filter(organisation=organisation, name=name).aggregate(
                latest=Max("version")
            )["latest"]
            model = RegisteredModel.objects.create(
                organisation=organisation,
                name=name,
                version=(latest or 0) + 1,
                source=stored[0],
                calibration=stored[1],
                created_by=created_by,
                **{f"privacy_{part}": privacy[part] for part in PRIVACY_PARTS},
                **{field: (card or {}).get(field, "") for field in MODEL_CARD_FIELDS},
                **commitment,
            )
            model_id = str(model.pk)
            audit_log.record(
                "model.uploaded",
                actor=actor,
                organisation=organisation.pk,
                target=("model", model_id),
                details={
                    "name": name,
                    "version": model.version,
                    "source_sha256": stored[0].sha256,
                    "calibration_sha256": stored[1].sha256,
                    "privacy": privacy,
                    **commitment,
                },
            )
            region = organisation.region
            transaction.on_commit(lambda: _enqueue_compile(model_id, region))
    except BaseException:
        for written in stored:
            discard_file(written)
        raise
    return model


def claim_compile(model_id: str, prover_version: str, device: str) -> Claimed:
    return work.claim(
        RegisteredModel,
        model_id,
        waiting=COMPILING,
        running=COMPILING,
        failed=RegisteredModel.Status.FAILED,
        prover_version=prover_version,
        device=device,
    )


def record_compile_progress(attempt: Attempt, stage: str, fraction: float) -> bool:
    return work.record_progress(RegisteredModel, attempt, COMPILING, stage, fraction)


def compile_heartbeat(attempt: Attempt) -> bool:
    return work.beat(RegisteredModel, attempt, COMPILING)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def complete_compile(
    attempt: Attempt,
    compiled: phi_storage.WrittenFile,
    report: dict[str, Any],
    support: dict[str, Any],
) -> RegisteredModel | None:
    """Records the compiled model and the compiler's report; the model becomes ready. A model
    committed with hidden weights records the budget its commitment was made for.

    ``compiled`` is written to storage but its row not saved yet: it is saved here, in the same
    transaction as the model's end, and not at all when the attempt no longer holds the model.
    """
    estimate = report.get("estimate") or {}
    fidelity = report.get("fidelity") or {}
    hidden = report.get("private_weights") is True
    with transaction.atomic():
        stored = compiled.save()
        model = work.finish(
            RegisteredModel,
            attempt,
            COMPILING,
            RegisteredModel.Status.READY,
            compiled=stored,
            digest=str(report["digest"]),
            parameters=int(report["parameters"]) if report.get("parameters") is not None else None,
            support=report.get("support") or support,
            fidelity={key: _number(value) for key, value in fidelity.items()},
            estimate={key: _number(value) for key, value in estimate.items()},
            progress_fraction=1.0,
            **({"proof_budget": int(report["proofs"])} if hidden else {}),
        )
        if model is None:
            transaction.set_rollback(True)
    return model


def fail_compile(attempt: Attempt, code: str, message: str) -> RegisteredModel | None:
    return work.finish(
        RegisteredModel,
        attempt,
        COMPILING,
        RegisteredModel.Status.FAILED,
        error_code=code,
        error_message=message,
    )


def upload_dataset(
    organisation: Organisation,
    name: str,
    upload: UploadedFile,
    created_by: str = "",
    actor: str = "system",
) -> Dataset:
    """Stores the test set (encrypted when the organisation handles PHI) and queues its
    validation."""
    policy.enforce(organisation, "upload", target=("dataset", name), actor=actor)
    stored = phi_storage.store_upload(organisation, "datasets", upload, upload.name or "dataset")
    try:
        with transaction.atomic():
            dataset = Dataset.objects.create(
                organisation=organisation, name=name, file=stored, created_by=created_by
            )
            privacy_services.start_dataset_privacy(dataset)
            dataset_id = str(dataset.pk)
            audit_log.record(
                "dataset.uploaded",
                actor=actor,
                organisation=organisation.pk,
                target=("dataset", dataset_id),
                details={"name": name, "sha256": stored.sha256},
            )
            transaction.on_commit(lambda: _enqueue_validation(dataset_id))
    except BaseException:
        discard_file(stored)
        raise
    return dataset


def claim_validation(dataset_id: str, prover_version: str, device: str) -> Claimed:
    return work.claim(
        Dataset,
        dataset_id,
        waiting=VALIDATING,
        running=VALIDATING,
        failed=Dataset.Status.FAILED,
        prover_version=prover_version,
        device=device,
    )


def record_validation_progress(attempt: Attempt, stage: str, fraction: float) -> bool:
    return work.record_progress(Dataset, attempt, VALIDATING, stage, fraction)


def validation_heartbeat(attempt: Attempt) -> bool:
    return work.beat(Dataset, attempt, VALIDATING)


def complete_validation(attempt: Attempt, summary: DatasetSummary) -> Dataset | None:
    return work.finish(
        Dataset,
        attempt,
        VALIDATING,
        Dataset.Status.READY,
        samples=summary.samples,
        classes=summary.classes,
        input_shape=summary.input_shape,
        progress_fraction=1.0,
    )


def fail_validation(attempt: Attempt, code: str, message: str) -> Dataset | None:
    return work.finish(
        Dataset, attempt, VALIDATING, Dataset.Status.FAILED, error_code=code, error_message=message
    )

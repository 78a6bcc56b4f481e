"""Every privacy decision and every change of a toggle.

``private`` is stricter than ``public``; an effective setting is the strictest of those that
apply. An organisation that handles PHI always has private inputs, whatever its owners set.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from compliance import audit_log
from compliance.policy.regions import POLICIES
from compliance.privacy.models import DatasetPrivacy, OrganisationPrivacy, ToggleChange
from veriml.accounts.models import Organisation
from veriml.core.errors import ServiceError
from veriml.registry.models import PRIVACY_PARTS, Dataset, RegisteredModel

PUBLIC = "public"
PRIVATE = "private"
RANK = {PUBLIC: 0, PRIVATE: 1}
REASON_MAX = 2000


class PrivacyBelowMinimum(ServiceError):
    status_code = 403
    code = "privacy_below_minimum"


class InvalidToggle(ServiceError):
    code = "invalid_privacy"


class WeightsCommitted(ServiceError):
    status_code = 409
    code = "weights_committed"


def strictest(values: Iterable[str | None]) -> str:
    return max((value for value in values if value), key=RANK.__getitem__, default=PUBLIC)


def _check_value(part: str, value: str) -> None:
    if part not in PRIVACY_PARTS:
        raise InvalidToggle(f"Unknown privacy part {part!r}: use {', '.join(PRIVACY_PARTS)}.")
    if value not in RANK:
        raise InvalidToggle(f"Privacy of {part} must be 'public' or 'private', not {value!r}.")


def _check_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidToggle("A privacy change needs a reason, for the regulatory record.")
    return reason[:REASON_MAX]


def phi_floor(organisation: Organisation) -> dict[str, str]:
    """What the organisation may never lower: PHI are inputs, so they stay private."""
    return {"input": PRIVATE} if organisation.handles_phi else {}


def settings_of(organisation: Organisation) -> OrganisationPrivacy:
    """The stored settings, or (unsaved) the region's privacy defaults with public minimums."""
    found: OrganisationPrivacy | None = OrganisationPrivacy.objects.filter(
        organisation=organisation
    ).first()
    if found is not None:
        return found
    policy = POLICIES.get(organisation.region)
    region_defaults = dict(policy.privacy_defaults) if policy else {}
    return OrganisationPrivacy(
        organisation=organisation,
        **{f"default_{part}": region_defaults.get(part, PUBLIC) for part in PRIVACY_PARTS},
    )


def minimums(organisation: Organisation) -> dict[str, str]:
    stored = settings_of(organisation)
    floor = phi_floor(organisation)
    return {
        part: strictest([getattr(stored, f"minimum_{part}"), floor.get(part)])
        for part in PRIVACY_PARTS
    }


def defaults(organisation: Organisation) -> dict[str, str]:
    stored = settings_of(organisation)
    lowest = minimums(organisation)
    return {
        part: strictest([getattr(stored, f"default_{part}"), lowest[part]])
        for part in PRIVACY_PARTS
    }


def _refuse_below_minimum(
    organisation: Organisation, requested: Mapping[str, str], what: str
) -> None:
    lowest = minimums(organisation)
    lowered = sorted(part for part, value in requested.items() if RANK[value] < RANK[lowest[part]])
    if lowered:
        why = " (it handles PHI)" if "input" in phi_floor(organisation) else ""
        raise PrivacyBelowMinimum(
            f"{organisation.name}{why} requires {', '.join(lowered)} to be private; "
            f"this {what} may not make {'it' if len(lowered) == 1 else 'them'} public.",
            parts=lowered,
            minimums=lowest,
        )


def _checked(requested: Mapping[str, str] | None) -> dict[str, str]:
    for part, value in (requested or {}).items():
        _check_value(part, value)
    return dict(requested or {})


def privacy_for_new_model(
    organisation: Organisation, requested: Mapping[str, str] | None
) -> dict[str, str]:
    """The toggles a new model starts with: the request, else the organisation's defaults; a
    request below a minimum is refused."""
    asked = _checked(requested)
    _refuse_below_minimum(organisation, asked, "model")
    start = defaults(organisation)
    return {part: asked.get(part, start[part]) for part in PRIVACY_PARTS}


def _dataset_toggle(dataset: Dataset) -> str | None:
    found: str | None = (
        DatasetPrivacy.objects.filter(dataset=dataset).values_list("input", flat=True).first()
    )
    return found


def dataset_input_privacy(dataset: Dataset) -> str:
    return strictest([_dataset_toggle(dataset), minimums(dataset.organisation)["input"]])


def start_dataset_privacy(dataset: Dataset, requested: str | None = None) -> DatasetPrivacy:
    """A new test set's input privacy: the request, else the organisation's default."""
    if requested is not None:
        _check_value("input", requested)
        _refuse_below_minimum(dataset.organisation, {"input": requested}, "test set")
    value = requested or defaults(dataset.organisation)["input"]
    with transaction.atomic():
        created: DatasetPrivacy = DatasetPrivacy.objects.create(dataset=dataset, input=value)
    return created


def job_privacy_reasons(
    organisation: Organisation,
    model: RegisteredModel,
    dataset: Dataset | None = None,
    requested: Mapping[str, str] | None = None,
) -> dict[str, list[str]]:
    """Per part, what makes it private in a job (an empty list: the part is public): the
    model's toggle, the organisation's minimum, the test set's input toggle, the request.
    A request below a minimum is refused; one below the model's toggle cannot lower it."""
    asked = _checked(requested)
    _refuse_below_minimum(organisation, asked, "job")
    lowest = minimums(organisation)
    phi = phi_floor(organisation)
    reasons: dict[str, list[str]] = {part: [] for part in PRIVACY_PARTS}
    if model.weights_hidden:
        # Every proof of a hidden commitment keeps the weights private, whatever is asked.
        reasons["weights"].append(f"the hidden commitment of model {model.name} v{model.version}")
    for part in PRIVACY_PARTS:
        if model.privacy[part] == PRIVATE:
            reasons[part].append(f"the toggle of model {model.name} v{model.version}")
        if lowest[part] == PRIVATE:
            why = " (it handles PHI)" if part in phi else ""
            reasons[part].append(f"the minimum of {organisation.name}{why}")
        if asked.get(part) == PRIVATE:
            reasons[part].append("the request")
    if dataset is not None and _dataset_toggle(dataset) == PRIVATE:
        reasons["input"].append(f"the toggle of test set {dataset.name}")
    return reasons


def job_privacy(
    organisation: Organisation,
    model: RegisteredModel,
    dataset: Dataset | None = None,
    requested: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """A job's effective privacy, per part: the strictest of the model's toggle, the
    organisation's minimum, the test set's input toggle and the request
    (:func:`job_privacy_reasons`)."""
    reasons = job_privacy_reasons(organisation, model, dataset, requested)
    return {part: PRIVATE if reasons[part] else PUBLIC for part in PRIVACY_PARTS}


def job_private_parts(
    organisation: Organisation,
    model: RegisteredModel,
    dataset: Dataset | None = None,
    requested: Mapping[str, str] | None = None,
) -> list[str]:
    effective = job_privacy(organisation, model, dataset, requested)
    return [part for part in PRIVACY_PARTS if effective[part] == PRIVATE]


def _record(
    organisation: Organisation,
    actor: str,
    target: tuple[str, str],
    setting: str,
    part: str,
    old: str,
    new: str,
    reason: str,
    refusal: str = "",
) -> ToggleChange:
    change: ToggleChange = ToggleChange.objects.create(
        organisation_id=organisation.pk,
        actor=actor,
        time=timezone.now(),
        object_type=target[0],
        object_id=target[1],
        setting=setting,
        part=part,
        old_value=old,
        new_value=new,
        reason=reason,
        refusal=refusal,
    )
    details: dict[str, Any] = {
        "setting": setting,
        "part": part,
        "old": old,
        "new": new,
        "reason": reason,
        "toggle_change": change.pk,
    }
    if refusal:
        details["refusal"] = refusal
    audit_log.record(
        "privacy.toggle_refused" if refusal else "privacy.toggle_changed",
        actor=actor,
        organisation=organisation.pk,
        target=target,
        details=details,
        region=organisation.region,
    )
    return change


def set_organisation_privacy(
    organisation: Organisation,
    actor: str,
    reason: str,
    new_defaults: Mapping[str, str] | None = None,
    new_minimums: Mapping[str, str] | None = None,
) -> list[ToggleChange]:
    """Changes the organisation's defaults and minimums (owners only: the caller checks).

    A minimum below the PHI floor is refused; a default below a minimum is raised to it."""
    reason = _check_reason(reason)
    asked_defaults, asked_minimums = _checked(new_defaults), _checked(new_minimums)
    floor = phi_floor(organisation)
    lowered = sorted(p for p, v in asked_minimums.items() if RANK[v] < RANK[floor.get(p, PUBLIC)])
    if lowered:
        raise PrivacyBelowMinimum(
            f"{organisation.name} handles PHI: the minimum of {', '.join(lowered)} stays private.",
            parts=lowered,
        )
    changes = []
    with transaction.atomic():
        Organisation.objects.select_for_update().filter(pk=organisation.pk).first()
        stored = settings_of(organisation)
        target = ("organisation", str(organisation.pk))
        for setting, asked in (("minimum", asked_minimums), ("default", asked_defaults)):
            for part, value in asked.items():
                old = getattr(stored, f"{setting}_{part}")
                if old != value:
                    setattr(stored, f"{setting}_{part}", value)
                    changes.append(
                        _record(organisation, actor, target, setting, part, old, value, reason)
                    )
        stored.save()
    return changes


def _weights_committed_message(model: RegisteredModel) -> str:
    how = (
        f"hidden, for {model.proof_budget} zero-knowledge proofs"
        if model.weights_hidden
        else "openly"
    )
    return (
        f"The weights of model {model.name} v{model.version} were committed {how} when it was "
        "registered, and its digest names that commitment: changing the weights toggle cannot "
        "change it. Register a new version of the model with the weights privacy you want."
    )


def _refuse_weights_change(
    model: RegisteredModel, asked: Mapping[str, str], actor: str, reason: str
) -> None:
    """A registered model's weights were committed hidden or openly once and for all: a request
    to change its weights toggle is refused, and the refusal kept in the toggle log (a
    ``ToggleChange`` with its ``refusal`` and a ``privacy.toggle_refused`` entry), in their
    own transaction so the record survives the failed request."""
    old = model.privacy_weights
    new = asked.get("weights", old)
    if new == old:
        return
    message = _weights_committed_message(model)
    target = ("model", str(model.pk))
    with transaction.atomic():
        _record(model.organisation, actor, target, "value", "weights", old, new, reason, message)
    raise WeightsCommitted(
        message, part="weights", weights_hidden=model.weights_hidden, old=old, new=new
    )


def set_model_privacy(
    model: RegisteredModel, changes: Mapping[str, str], actor: str, reason: str
) -> list[ToggleChange]:
    """Changes a model's toggles; a value below the organisation's minimum is refused, and so is
    any change of its weights toggle (:func:`_refuse_weights_change`)."""
    reason = _check_reason(reason)
    asked = _checked(changes)
    organisation = model.organisation
    _refuse_below_minimum(organisation, asked, "model")
    _refuse_weights_change(model, asked, actor, reason)
    recorded = []
    with transaction.atomic():
        locked = RegisteredModel.objects.select_for_update().get(pk=model.pk)
        target = ("model", str(locked.pk))
        for part, value in asked.items():
            old = getattr(locked, f"privacy_{part}")
            if old != value:
                setattr(locked, f"privacy_{part}", value)
                recorded.append(
                    _record(organisation, actor, target, "value", part, old, value, reason)
                )
        locked.save(update_fields=[f"privacy_{part}" for part in PRIVACY_PARTS])
    return recorded


def set_dataset_privacy(
    dataset: Dataset, value: str, actor: str, reason: str
) -> list[ToggleChange]:
    reason = _check_reason(reason)
    _check_value("input", value)
    organisation = dataset.organisation
    _refuse_below_minimum(organisation, {"input": value}, "test set")
    with transaction.atomic():
        stored, _ = DatasetPrivacy.objects.select_for_update().get_or_create(
            dataset=dataset, defaults={"input": defaults(organisation)["input"]}
        )
        if stored.input == value:
            return []
        old, stored.input = stored.input, value
        stored.save(update_fields=["input"])
        target = ("dataset", str(dataset.pk))
        return [_record(organisation, actor, target, "value", "input", old, value, reason)]


def changes_between(
    organisation_ids: list[int], start: datetime | None, end: datetime | None
) -> QuerySet[ToggleChange]:
    rows = ToggleChange.objects.filter(organisation_id__in=organisation_ids)
    if start is not None:
        rows = rows.filter(time__gte=start)
    if end is not None:
        rows = rows.filter(time__lt=end)
    return rows.order_by("time", "id")


def describe(organisation: Organisation) -> dict[str, Any]:
    return {
        "organisation": organisation.name,
        "handles_phi": organisation.handles_phi,
        "region": organisation.region,
        "defaults": defaults(organisation),
        "minimums": minimums(organisation),
    }

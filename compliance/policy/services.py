"""The policy engine: one decision per processing action, each logged twice (the policy log for
regulators' exports, the audit log for tamper evidence).

A decision is written in its own transaction before the caller acts, and a refusal is raised
only after that transaction has committed, so the record of a refused action survives the
failure of the request that asked for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction
from django.utils import timezone

from compliance import audit_log
from compliance.hipaa import services as hipaa
from compliance.policy import retention
from compliance.policy.models import Decision, PolicyDecision, TransferBasis
from compliance.policy.regions import POLICIES, RegionPolicy
from veriml.accounts.models import Organisation
from veriml.core.errors import ServiceConflict, ServiceError
from veriml.proving.models import Job
from veriml.registry.models import Dataset, RegisteredModel

ACTIONS = ("upload", "compile", "prove", "verify", "download", "report", "transfer", "erase")
STORAGE_ACTIONS = frozenset({"upload"})
PROCESSING_ACTIONS = frozenset({"compile", "prove", "verify"})


class PolicyDenied(ServiceError):
    status_code = 403
    code = "policy_denied"


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str
    policy: RegionPolicy | None


def policy_of(region: str) -> RegionPolicy | None:
    return POLICIES.get(region)


def transfer_basis(organisation: Organisation, policy: RegionPolicy, target: str) -> str | None:
    """The legal basis for moving the organisation's data from its region to ``target``: the
    region policy's own, or one the organisation recorded and has not revoked."""
    if target in policy.transfers:
        return policy.transfers[target]
    recorded = (
        TransferBasis.objects.filter(
            organisation=organisation,
            source_region=policy.region,
            target_region=target,
            revoked_at__isnull=True,
        )
        .order_by("-recorded_at")
        .first()
    )
    return recorded.legal_basis if recorded is not None else None


def _judge(organisation: Organisation, action: str, target_region: str | None) -> Verdict:
    policy = policy_of(organisation.region)
    if policy is None:
        return Verdict(False, f"No policy exists for region {organisation.region!r}.", None)
    if action == "transfer" and not target_region:
        return Verdict(False, "A transfer must name the region it goes to.", policy)
    destination = target_region or policy.region
    if destination not in POLICIES:
        return Verdict(False, f"Region {destination!r} is not served.", policy)
    if destination != policy.region:
        basis = transfer_basis(organisation, policy, destination)
        if basis is None:
            return Verdict(
                False,
                f"No transfer basis is recorded for {policy.region}->{destination}: {action} "
                f"would move the data of {policy.name} out of its residency.",
                policy,
            )
        return Verdict(True, f"Transfer {policy.region}->{destination} under: {basis}.", policy)
    if action in STORAGE_ACTIONS and destination not in policy.storage_regions:
        return Verdict(False, f"{policy.name} data may not be stored in {destination}.", policy)
    if action in PROCESSING_ACTIONS and destination not in policy.processing_regions:
        return Verdict(False, f"{policy.name} data may not be processed in {destination}.", policy)
    return Verdict(True, f"Within {policy.region}: residency of {policy.name} kept.", policy)


def _write(
    organisation: Organisation,
    action: str,
    verdict: Verdict,
    target: tuple[str, str] | None,
    target_region: str | None,
    actor: str,
) -> PolicyDecision:
    target_type, target_id = target or ("organisation", str(organisation.pk))
    with transaction.atomic():
        row: PolicyDecision = PolicyDecision.objects.create(
            organisation_id=organisation.pk,
            organisation_name=organisation.name,
            region=organisation.region,
            policy_version=verdict.policy.version if verdict.policy else "",
            action=action,
            decision=Decision.ALLOW if verdict.allowed else Decision.DENY,
            reason=verdict.reason,
            time=timezone.now(),
            target=f"{target_type}:{target_id}",
            target_region=target_region or "",
            actor=actor,
        )
        audit_log.record(
            "policy.decision",
            actor=actor,
            organisation=organisation.pk,
            target=(target_type, str(target_id)),
            details={
                "action": action,
                "decision": row.decision,
                "reason": row.reason,
                "policy_version": row.policy_version,
                "target_region": row.target_region or None,
                "policy_decision": row.pk,
            },
            region=organisation.region,
        )
    return row


def decide(
    organisation: Organisation,
    action: str,
    *,
    target_region: str | None = None,
    target: tuple[str, str] | None = None,
    actor: str = "system",
) -> PolicyDecision:
    """Decides ``action`` for the organisation under its region's current policy and records the
    decision (policy log and audit log). Never raises for a refusal: see :func:`enforce`."""
    if action not in ACTIONS:
        raise ValueError(f"unknown policy action {action!r}")
    verdict = _judge(organisation, action, target_region)
    return _write(organisation, action, verdict, target, target_region, actor)


def record_decision(
    organisation: Organisation,
    action: str,
    *,
    allowed: bool,
    reason: str,
    target: tuple[str, str] | None = None,
    actor: str = "system",
) -> PolicyDecision:
    """Records a decision taken for a reason the region rules do not judge (a retention period
    that ran out, a proof the prover cannot make) under the organisation's current policy
    version, in the same two logs as :func:`decide`."""
    if action not in ACTIONS:
        raise ValueError(f"unknown policy action {action!r}")
    verdict = Verdict(allowed, reason, policy_of(organisation.region))
    return _write(organisation, action, verdict, target, None, actor)


def enforce(
    organisation: Organisation,
    action: str,
    *,
    target_region: str | None = None,
    target: tuple[str, str] | None = None,
    actor: str = "system",
) -> PolicyDecision:
    """:func:`decide`, raising :class:`PolicyDenied` (403) on a refusal once it is recorded.

    Call it outside the caller's own transaction, or a refusal's record is rolled back with it.
    """
    row = decide(organisation, action, target_region=target_region, target=target, actor=actor)
    if not row.allowed:
        raise PolicyDenied(
            f"Regional policy {row.policy_version or '(none)'} refuses {action}: {row.reason}",
            region=row.region,
            policy_version=row.policy_version,
            action=action,
            policy_decision=row.pk,
        )
    return row


def record_transfer_basis(
    organisation: Organisation, target_region: str, legal_basis: str, actor: str
) -> TransferBasis:
    """Records the organisation's legal basis for transfers from its region to another."""
    if target_region not in POLICIES or target_region == organisation.region:
        raise ServiceError(
            f"Choose another served region than {organisation.region}: "
            f"{', '.join(sorted(set(POLICIES) - {organisation.region}))}."
        )
    legal_basis = legal_basis.strip()
    if not legal_basis:
        raise ServiceError("A transfer basis needs its legal basis in words.")
    with transaction.atomic():
        basis: TransferBasis = TransferBasis.objects.create(
            organisation=organisation,
            source_region=organisation.region,
            target_region=target_region,
            legal_basis=legal_basis,
            recorded_by=actor,
        )
        audit_log.record(
            "policy.transfer_basis_recorded",
            actor=actor,
            organisation=organisation.pk,
            target=("transfer_basis", str(basis.pk)),
            details={
                "source_region": basis.source_region,
                "target_region": target_region,
                "legal_basis": legal_basis,
            },
            region=organisation.region,
        )
    return basis


RETAINED_WHAT = {
    "dataset": "the test set",
    "model": "the model's files (its upload, calibration set and compiled model)",
    "job": "the files of the job (input, proof, committed test set)",
}


def _erase(item: retention.Expired, reason: str) -> None:
    if item.kind == "dataset":
        hipaa.erase_dataset(
            Dataset.objects.select_related("file").get(pk=item.pk), "system", reason
        )
    elif item.kind == "model":
        hipaa.erase_model(RegisteredModel.objects.get(pk=item.pk), "system", reason)
    else:
        hipaa.erase_job_files(Job.objects.get(pk=item.pk), "system", reason)


def enforce_retention(now: datetime | None = None) -> list[PolicyDecision]:
    """Deletes what is past its region's retention period (:mod:`compliance.policy.retention`)
    through the erasure path of :mod:`compliance.hipaa.services`, which leaves a tombstone in
    the audit log. Each deletion commits with an ``erase`` decision naming the policy version
    and the period; one erased meanwhile by someone else is skipped. Returns the decisions."""
    decisions = []
    for item in retention.expired(now or timezone.now()):
        policy = item.policy
        reason = (
            f"Retention under {policy.version}: {RETAINED_WHAT[item.kind]}, unused since "
            f"{item.last_used:%Y-%m-%d}, is past the {policy.retention_days}-day period of "
            f"{policy.name}; the data is deleted and a tombstone kept in the audit log."
        )
        try:
            with transaction.atomic():
                decision = record_decision(
                    item.organisation,
                    "erase",
                    allowed=True,
                    reason=reason,
                    target=(item.kind, item.pk),
                )
                _erase(item, reason)
        except (ServiceConflict, ObjectDoesNotExist):
            continue
        decisions.append(decision)
    return decisions


def decisions_between(
    start: datetime | None, end: datetime | None, organisation_ids: list[int] | None = None
) -> Any:
    """Policy decisions in ``[start, end)``, oldest first; of some organisations, or all."""
    rows = PolicyDecision.objects.all()
    if organisation_ids is not None:
        rows = rows.filter(organisation_id__in=organisation_ids)
    if start is not None:
        rows = rows.filter(time__gte=start)
    if end is not None:
        rows = rows.filter(time__lt=end)
    return rows.order_by("time", "id")

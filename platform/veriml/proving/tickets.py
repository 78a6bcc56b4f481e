"""Tickets of a hidden-weights commitment: the budget of zero-knowledge proofs a model committed
with hidden weights allows, each opening the commitment with its own ticket (0, 1, ...).

Two proofs made with one ticket would reveal the weights, so a ticket is handed out only under
the model row's lock, once, and never given back (``RegisteredModel.proofs_used`` is the next
one); see ``docs/compliance.md``, "Private weights".
"""

from __future__ import annotations

from django.db import transaction

from compliance import audit_log
from compliance.policy import services as policy
from compliance.policy.models import PolicyDecision
from veriml.accounts.models import Organisation
from veriml.core.errors import ServiceError
from veriml.core.work import Attempt
from veriml.core.worker import WorkAbandoned, WorkFailed
from veriml.proving.models import Job
from veriml.registry.models import RegisteredModel

WAITING = (Job.Status.QUEUED, Job.Status.RUNNING)


class ProofBudgetSpent(ServiceError):
    status_code = 422
    code = "proof_budget_spent"


def deny_proving(
    organisation: Organisation, model: RegisteredModel, reason: str, actor: str
) -> PolicyDecision:
    """Records a refusal to prove on ``model`` as a policy decision (the refused job's reason)."""
    return policy.record_decision(
        organisation,
        "prove",
        allowed=False,
        reason=reason,
        target=("model", str(model.pk)),
        actor=actor,
    )


def proofs_promised(model: RegisteredModel) -> int:
    """Jobs of the model waiting for a ticket of its hidden commitment: queued, or running
    without one yet."""
    waiting = Job.objects.filter(model=model, status__in=WAITING, weight_ticket=None)
    return int(waiting.count())


def refuse_spent_budget(organisation: Organisation, model: RegisteredModel, actor: str) -> None:
    """Refuses, before anything is stored, a job on a model with hidden weights whose budget
    of proofs is spent, or promised to jobs still waiting for their ticket. Advisory: two
    submissions at once may both pass, and the worker's allocation
    (:func:`allocate_weight_ticket`) is what never hands a ticket out twice."""
    budget = int(model.proof_budget or 0)
    used, promised = model.proofs_used, proofs_promised(model)
    if used + promised < budget:
        return
    message = (
        f"Model {model.name} v{model.version} is committed with hidden weights for a budget of "
        f"{budget} zero-knowledge proofs: {used} are spent and {promised} promised to jobs "
        "still waiting, so none is left for this job (a further proof of the same commitment "
        "would reveal the weights). Register a new version of the model for a new budget."
    )
    decision = deny_proving(organisation, model, message, actor)
    raise ProofBudgetSpent(
        message,
        proof_budget=budget,
        proofs_used=used,
        proofs_promised=promised,
        policy_decision=decision.pk,
    )


def allocate_weight_ticket(attempt: Attempt) -> int:
    """The ticket of the model's hidden commitment that this attempt's proof spends: the next
    unspent one, taken under the model row's lock, so two workers proving the same model at
    once, or a job re-delivered after a lost attempt, never get the same one. A ticket is spent
    once handed out, whatever becomes of the proof: a job that then fails does not give it back
    (a proof made with it may exist), which is safe; a ticket used twice would reveal the
    weights. Raises ``WorkFailed("proof_budget_spent")`` when none is left, and
    ``WorkAbandoned`` when the attempt no longer holds the job."""
    with transaction.atomic():
        job = (
            Job.objects.select_for_update()
            .filter(pk=attempt.pk, attempt_token=attempt.token, status=Job.Status.RUNNING)
            .first()
        )
        if job is None:
            raise WorkAbandoned()
        model = RegisteredModel.objects.select_for_update().get(pk=job.model_id)
        budget = int(model.proof_budget or 0)
        if not model.weights_hidden or model.proofs_used >= budget:
            raise WorkFailed(
                "proof_budget_spent",
                f"Model {model.name} v{model.version} has no zero-knowledge proof left of its "
                f"budget of {budget} (its hidden weights' commitment allows no more): register "
                "a new version of the model for a new budget.",
            )
        ticket = model.proofs_used
        model.proofs_used = ticket + 1
        model.save(update_fields=["proofs_used"])
        job.weight_ticket = ticket
        job.save(update_fields=["weight_ticket"])
        audit_log.record(
            "model.proof_ticket_spent",
            actor="system",
            organisation=model.organisation_id,
            target=("model", str(model.pk)),
            details={"job": str(job.pk), "ticket": ticket, "proof_budget": budget},
        )
    return ticket

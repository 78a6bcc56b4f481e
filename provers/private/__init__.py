"""The private mode of inference proofs and accuracy audits: weights, input and output hidden
by zero knowledge, each on request.

For MLPs (chains of Linear layers with their requantisation) on an int8 input, flattened first
when it has several axes. The weights stay public (committed, opened in the clear) unless the
model is committed hidden (:mod:`.model`), for a budget of proofs. The design and what it
reveals are in docs/zero-knowledge.md; the checks are :mod:`.relations`, the shared steps
:mod:`.protocol`.
"""

from provers.private.dataset import PrivateDataset, commit_private_dataset
from provers.private.model import HiddenModel, commit_hidden_model
from provers.private.plan import PrivatePlan
from provers.private.prover import audit_plan, prove_private, prove_private_audit
from provers.private.verifier import verify_private_audit_file, verify_private_file

__all__ = [
    "HiddenModel",
    "PrivateDataset",
    "PrivatePlan",
    "audit_plan",
    "commit_hidden_model",
    "commit_private_dataset",
    "prove_private",
    "prove_private_audit",
    "verify_private_audit_file",
    "verify_private_file",
]

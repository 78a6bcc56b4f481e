"""Inference proofs: a committed quantised model, run on a batch of int8 inputs (or token ids),
gives the stated int8 outputs, exactly per the IR's integer semantics (provers/circuit/ops.py).

Protocol (commit-and-prove; each module's docstring has its part):

* the model's weights and biases are committed once (:mod:`.model_commitment`, layout in
  :mod:`.weights`); the model digest names circuit and commitment;
* per proof the prover commits one witness table W (:mod:`.witness_layout`): every activation,
  the requantisation advice (σ, limbs of τ, r1, r2, clamp indices; :mod:`.requant`), max-pool
  differences, ReLU copies and the lookup multiplicities;
* after the statement and W are absorbed, each node gets a random point of its output; its
  identities are checked there (:mod:`.rel_requant`, :mod:`.rel_pool`), reducing to claims on
  W, on the weights and sums that three batched sumchecks (:mod:`.batched`) prove: stage A
  (matrix products per column block :mod:`.rel_matmul`, every layer's bias :mod:`.rel_bias`,
  embeddings as one-hot products with their tables :mod:`.rel_embedding`, per-channel
  multipliers, max-pool product-zero), stage B (window maps of convolutions and
  pools, :mod:`.linear_maps`), stage C (every claim on W and on the weights to one point each,
  :mod:`.batching`);
* one logUp-GKR lookup into one tagged table (:mod:`.tables`) range-checks every limb and
  binds every clamp and ReLU;
* one PCS opening settles W and the weights.

Phase 1 (this package): public inputs and outputs, weights committed (not hidden); the private
mode is designed in docs/zero-knowledge.md ("Inference proofs"). Soundness is computed from the
proof's shape (:mod:`.soundness`) and stated in the header; a batch whose lookup is too large for
100 bits is refused. ``LARGE_MODEL_PARAMETERS`` trades commit time for smaller proofs.
"""

from provers.inference.model_commitment import (
    LARGE_MODEL_PARAMETERS,
    CommittedModel,
    commit_model,
)
from provers.inference.prover import prove
from provers.inference.verifier import verify_file

__all__ = ["LARGE_MODEL_PARAMETERS", "CommittedModel", "commit_model", "prove", "verify_file"]

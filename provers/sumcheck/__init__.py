"""Sumcheck: prove Σ_{x ∈ {0,1}^n} C(f_1(x), …, f_k(x)) = H for multilinear tables f_j.

``prove``/``verify`` run as a subprotocol of an outer transcript; ``prove_standalone``/
``verify_standalone`` make their own; ``SumcheckProverState``/``SumcheckVerifierState`` are the
interactive steps both are built on. ``zk`` holds the masked (zero-knowledge) variant.
"""

from provers.sumcheck.combiners import BaseFieldCombiner, Combiner, Product, product
from provers.sumcheck.proof import SumcheckProof
from provers.sumcheck.prover import (
    SumcheckProverState,
    SumcheckResult,
    prove,
    prove_standalone,
)
from provers.sumcheck.verifier import (
    SumcheckVerifierState,
    check_final_evaluation,
    verify,
    verify_standalone,
)

__all__ = [
    "BaseFieldCombiner",
    "Combiner",
    "Product",
    "SumcheckProof",
    "SumcheckProverState",
    "SumcheckResult",
    "SumcheckVerifierState",
    "check_final_evaluation",
    "product",
    "prove",
    "prove_standalone",
    "verify",
    "verify_standalone",
]

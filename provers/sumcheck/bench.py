"""Timing of the degree-2 product sumcheck Σ f·g over 2^log_n base-field entries."""

from __future__ import annotations

import time

import numpy as np

from provers.field import base, ext
from provers.sumcheck.combiners import product
from provers.sumcheck.prover import prove_standalone
from provers.sumcheck.verifier import check_final_evaluation, verify_standalone


def benchmark_sumcheck(log_n: int, seed: int = 0) -> dict[str, float | int]:
    """Prove and verify Σ_x f(x)·g(x) for random base tables of 2^log_n entries.

    Returns ``log_n``, ``prove_seconds``, ``verify_seconds`` and ``proof_bytes``; raises if the
    proof does not verify (a benchmark of a broken prover is worthless).
    """
    rng = np.random.default_rng(seed)
    f = base.random(1 << log_n, rng)
    g = base.random(1 << log_n, rng)
    claim = ext.from_base(np.array([int(base.mul(f, g).sum()) % base.P], dtype=np.int64))[:, 0]
    start = time.perf_counter()
    result = prove_standalone([f, g], product(2), 2, claim)
    proved = time.perf_counter()
    _, expected = verify_standalone(result.proof, log_n, 2, claim)
    verified = time.perf_counter()
    check_final_evaluation(expected, ext.mul(result.final_values[0], result.final_values[1]))
    return {
        "log_n": log_n,
        "prove_seconds": proved - start,
        "verify_seconds": verified - proved,
        "proof_bytes": len(result.proof.to_bytes()),
    }


if __name__ == "__main__":
    import json
    import sys

    for size in [int(a) for a in sys.argv[1:]] or [20, 22]:
        print(json.dumps(benchmark_sumcheck(size)))

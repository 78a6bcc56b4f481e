"""Timing and size of the tensor-code PCS: ``python -m provers.commit.bench LOG_N [--hiding]``.

Prints one JSON object per size (commit, open and verify seconds, proof bytes, peak resident
memory) and a short table.
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import numpy as np

from provers.commit import pcs
from provers.field import base, ext
from provers.transcript import Transcript


def benchmark_pcs(log_n: int, hiding: bool = False, seed: int = 0) -> dict[str, float | int | bool]:
    """Commit to a random table of 2^log_n values, open it at one random point, verify."""
    rng = np.random.default_rng(seed)
    table = base.random(1 << log_n, rng)
    point = ext.random(log_n, rng)
    params = pcs.PCSParams.default()

    start = time.perf_counter()
    commitment, prover_data = pcs.commit(table, params, hiding=hiding, rng=rng)
    commit_s = time.perf_counter() - start

    start = time.perf_counter()
    values, proof = pcs.open(prover_data, [point], Transcript("veriml/pcs-bench"))
    open_s = time.perf_counter() - start
    proof_bytes = proof.to_bytes()

    start = time.perf_counter()
    requests = [(commitment, point, values[0].reshape(ext.DEGREE, 1))]
    parsed = pcs.proof_from_bytes(proof_bytes, requests)
    pcs.verify(commitment, [point], values, parsed, Transcript("veriml/pcs-bench"))
    verify_s = time.perf_counter() - start

    return {
        "log_n": log_n,
        "hiding": hiding,
        "rows": commitment.rows_per_polynomial,
        "columns": 1 << commitment.column_vars,
        "codeword_len": commitment.codeword_len,
        "queries": params.num_queries,
        "soundness_bits": round(pcs.pcs_soundness_bits(params, log_n, hiding), 1),
        "commit_s": round(commit_s, 3),
        "open_s": round(open_s, 3),
        "proof_bytes": len(proof_bytes),
        "verify_s": round(verify_s, 4),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("log_n", type=int, nargs="+")
    parser.add_argument("--hiding", action="store_true")
    args = parser.parse_args()
    results = [benchmark_pcs(n, args.hiding) for n in args.log_n]
    for result in results:
        print(json.dumps(result))
    print(f"{'log_n':>5} {'commit s':>9} {'open s':>7} {'proof KiB':>10} {'verify ms':>10}")
    for r in results:
        print(
            f"{r['log_n']:>5} {r['commit_s']:>9} {r['open_s']:>7} "
            f"{int(r['proof_bytes']) / 1024:>10.0f} {float(r['verify_s']) * 1000:>10.1f}"
        )


if __name__ == "__main__":
    main()

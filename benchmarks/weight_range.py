"""Weight range proof benchmark: ``python -m benchmarks.weight_range mlp lenet_avg vgg16``.

Each case builds its model in the IR (provers/inference/examples.py, the models of
benchmarks/inference.py), commits its weights, then proves that every weight is an int8 and
verifies the proof. Prints one JSON object per case, then a table: the commit alone, the range
proof's prove and verify seconds (wall clock, whatever cores the process gets), its size,
soundness and lookup runs, and the process's peak resident memory.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from typing import Any

from benchmarks.inference import MODELS, PARAMETERS
from provers.container import ProofFile
from provers.inference import commit_model
from provers.params import ProofParameters
from provers.weight_range import verify_file


def benchmark_weight_range(name: str) -> dict[str, Any]:
    model = MODELS[name]()
    params = PARAMETERS.get(name, ProofParameters.default())
    started = time.perf_counter()
    committed = commit_model(model, params, range_proof=False)
    commit_s = time.perf_counter() - started
    started = time.perf_counter()
    data = committed.weight_range_proof()
    prove_s = time.perf_counter() - started
    started = time.perf_counter()
    statement = verify_file(ProofFile.from_bytes(data))
    verify_s = time.perf_counter() - started
    return {
        "model": name,
        "parameters": model.parameter_count,
        "table_entries": statement["table_entries"],
        "commit_s": round(commit_s, 3),
        "prove_s": round(prove_s, 3),
        "verify_s": round(verify_s, 3),
        "proof_bytes": len(data),
        "soundness_bits": statement["soundness_bits"],
        "lookup_runs": statement["lookup_runs"],
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main(argv: list[str]) -> int:
    rows = []
    for name in argv or ["mlp", "lenet_avg"]:
        figures = benchmark_weight_range(name)
        rows.append(figures)
        print(json.dumps(figures), flush=True)
    print(
        f"{'model':<12} {'entries':>10} {'commit s':>9} {'prove s':>8} {'verify s':>9} "
        f"{'proof KiB':>10} {'bits':>5} {'runs':>5} {'RSS MiB':>8}"
    )
    for row in rows:
        print(
            f"{row['model']:<12} {row['table_entries']:>10} {row['commit_s']:>9} "
            f"{row['prove_s']:>8} {row['verify_s']:>9} {row['proof_bytes'] // 1024:>10} "
            f"{row['soundness_bits']:>5} {row['lookup_runs']:>5} {row['peak_rss_mib']:>8}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

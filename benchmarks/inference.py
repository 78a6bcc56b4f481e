"""Inference-proof benchmark: ``python -m benchmarks.inference mlp lenet_avg lenet_max vgg16``.

Each case builds its model directly in the IR (random int8 weights, calibrated requantisation;
provers/inference/examples.py), commits it, proves one batch and verifies the proof. Prints one
JSON object per case, then a table: commit, prove and verify seconds (wall clock, whatever cores
the process gets), proof bytes, soundness bits and the peak resident memory of the process.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from provers.circuit import executor
from provers.circuit.model import QuantisedModel
from provers.container import ProofFile
from provers.inference import LARGE_MODEL_PARAMETERS, commit_model, examples, prove, verify_file
from provers.params import ProofParameters

MODELS: dict[str, Callable[[], QuantisedModel]] = {
    "tiny": lambda: examples.mlp((32, 16, 8), seed=1),
    "mlp": examples.mlp,
    "lenet_avg": lambda: examples.lenet("avg"),
    "lenet_max": lambda: examples.lenet("max"),
    "residual": examples.residual_cnn,
    "vgg16": examples.vgg16,
}


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


PARAMETERS = {"vgg16": LARGE_MODEL_PARAMETERS}
"""VGG-16 uses the large-model PCS parameters (smaller proofs); the others the defaults."""


def benchmark_inference(name: str, batch: int = 1, seed: int = 0) -> dict[str, Any]:
    """Commit, prove and verify one batch of the named model; the figures as a dict."""
    model = MODELS[name]()
    params = PARAMETERS.get(name, ProofParameters.default())
    started = time.perf_counter()
    committed = commit_model(model, params)
    commit_s = time.perf_counter() - started
    inputs = np.random.default_rng(seed).integers(-128, 128, (batch, *model.input_shape))
    started = time.perf_counter()
    data = prove(committed, inputs, params=params)
    prove_s = time.perf_counter() - started
    started = time.perf_counter()
    statement = verify_file(ProofFile.from_bytes(data))
    verify_s = time.perf_counter() - started
    if statement["output"] != executor.run(model, inputs).tolist():
        raise AssertionError("the proven output differs from the executor's")
    return {
        "model": name,
        "batch": batch,
        "parameters": model.parameter_count,
        "pcs_rate": f"1/{1 << params.pcs.log_inv_rate}",
        "pcs_queries": params.pcs.num_queries,
        "commit_s": round(commit_s, 3),
        "prove_s": round(prove_s, 3),
        "verify_s": round(verify_s, 3),
        "proof_bytes": len(data),
        "soundness_bits": statement["soundness_bits"],
        "peak_rss_mib": round(_peak_mib()),
    }


def main(argv: list[str]) -> int:
    names = argv or ["mlp", "lenet_avg", "lenet_max"]
    rows = []
    for name in names:
        figures = benchmark_inference(name)
        rows.append(figures)
        print(json.dumps(figures), flush=True)
    print(
        f"{'model':<10} {'prove s':>8} {'verify s':>9} {'proof KiB':>10} {'bits':>5} {'RSS MiB':>8}"
    )
    for row in rows:
        print(
            f"{row['model']:<10} {row['prove_s']:>8} {row['verify_s']:>9} "
            f"{row['proof_bytes'] // 1024:>10} {row['soundness_bits']:>5} {row['peak_rss_mib']:>8}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Accuracy-audit benchmark: ``python -m benchmarks.audit mlp:10000 lenet_avg:10000``;
``MODEL:SAMPLES@input`` audits with the test inputs private (provers/private: MLPs, one proof
over the whole set).

Each case ``MODEL:SAMPLES[:CHUNK]`` builds its model directly in the IR (random int8 weights,
calibrated requantisation; provers/inference/examples.py), commits it, commits a test set of
random int8 inputs labelled by the model itself (with every tenth label changed, so the count
is not trivially n), proves the audit and verifies it. Prints one JSON object per case, then a
table: dataset-commit, prove and verify seconds (wall clock), samples proved per second, proof
bytes, soundness bits and the peak resident memory of the process (run one case per process
to read a case's own figure).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from typing import Any

import numpy as np

from benchmarks.inference import MODELS, PARAMETERS
from provers import audit
from provers.audit.dataset import default_chunk_samples
from provers.circuit import executor
from provers.container import ProofFile
from provers.inference import commit_model
from provers.params import ProofParameters
from provers.private import (
    audit_plan,
    commit_private_dataset,
    prove_private_audit,
    verify_private_audit_file,
)


def benchmark_audit(
    name: str, samples: int, chunk: int | None = None, private: bool = False
) -> dict[str, Any]:
    model = MODELS[name]()
    params = PARAMETERS.get(name, ProofParameters.default())
    committed = commit_model(model, params)
    rng = np.random.default_rng(0)
    inputs = rng.integers(-128, 128, (samples, *model.input_shape))
    labels = np.argmax(executor.run(model, inputs), axis=1)
    classes = int(model.output_shape()[0])
    labels[::10] = (labels[::10] + 1) % classes
    chunk = samples if private else chunk or default_chunk_samples(model, samples)
    started = time.perf_counter()
    if private:
        plan = audit_plan(committed, samples, params)
        digest = bytes.fromhex(committed.digest)
        private_set = commit_private_dataset(plan, digest, inputs, labels, params.pcs)
    else:
        dataset = audit.commit_dataset(
            model, bytes.fromhex(committed.digest), inputs, labels, classes, chunk, params.pcs
        )
    commit_s = time.perf_counter() - started
    started = time.perf_counter()
    if private:
        data = prove_private_audit(committed, private_set, params=params)
    else:
        data = audit.prove(committed, dataset, params=params)
    prove_s = time.perf_counter() - started
    started = time.perf_counter()
    checker = verify_private_audit_file if private else audit.verify_file
    statement = checker(ProofFile.from_bytes(data))
    verify_s = time.perf_counter() - started
    return {
        "model": name + ("@input" if private else ""),
        "samples": samples,
        "chunk": chunk,
        "parameters": model.parameter_count,
        "commit_dataset_s": round(commit_s, 3),
        "prove_s": round(prove_s, 3),
        "samples_per_s": round(samples / prove_s, 1),
        "verify_s": round(verify_s, 3),
        "proof_bytes": len(data),
        "soundness_bits": statement["soundness_bits"],
        "accuracy": statement["accuracy"],
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def _case(text: str) -> tuple[str, int, int | None, bool]:
    text, _, hidden = text.partition("@")
    parts = text.split(":")
    chunk = int(parts[2]) if len(parts) > 2 else None
    return parts[0], int(parts[1]) if len(parts) > 1 else 1000, chunk, hidden == "input"


def main(argv: list[str]) -> int:
    rows = []
    for text in argv or ["mlp:10000", "lenet_avg:10000"]:
        figures = benchmark_audit(*_case(text))
        rows.append(figures)
        print(json.dumps(figures), flush=True)
    print(
        f"{'model':<12} {'samples':>8} {'chunk':>6} {'prove s':>8} {'samples/s':>10} "
        f"{'verify s':>9} {'proof KiB':>10} {'bits':>5} {'RSS MiB':>8}"
    )
    for row in rows:
        print(
            f"{row['model']:<12} {row['samples']:>8} {row['chunk']:>6} {row['prove_s']:>8} "
            f"{row['samples_per_s']:>10} {row['verify_s']:>9} {row['proof_bytes'] // 1024:>10} "
            f"{row['soundness_bits']:>5} {row['peak_rss_mib']:>8}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

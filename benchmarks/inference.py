"""Inference-proof benchmark:
``python -m benchmarks.inference mlp lenet_avg lenet_max vgg16 transformer nanogpt minilm``;
``mlp@input`` (or ``@output``, ``@input,output``) proves the MLP in the private mode, and a part
list with ``weights`` (``mlp@weights,input``) commits the weights hidden first (its "commit" is
then that commitment, for a budget of 16 proofs or as many as the model allows).

Each case builds its model directly in the IR (random int8 weights, calibrated requantisation;
provers/inference/examples.py), commits it, proves one batch and verifies the proof. Prints one
JSON object per case, then a table: commit, prove and verify seconds (wall clock, whatever cores
the process gets), proof bytes, soundness bits and the peak resident memory of the process. The
commit excludes the one-time weight range proof, which ``benchmarks.weight_range`` measures.

For scale, each case also times plain float32 PyTorch inference of the same architecture and
weights on the same batch (the median of repeated forward passes, after a warm-up) and reports
prove time / inference time (a TABLE op runs as GELU there). ``transformer`` is the
nanoGPT-sized stack of :func:`provers.inference.examples.transformer`; its rows also give the
tokens per proof. Peak memory is the whole process's, taken before torch is
imported for that comparison: run one case per process to read a model's own figure.

``nanogpt`` and ``minilm`` are real models compiled from ``torch.export`` programs
(benchmarks/transformers.py): a character decoder trained in-process (the logits of the last of
64 positions) and all-MiniLM-L6-v2 (the mean-pooled embedding of a 32-token sentence). Their
rows add the fidelity of the quantised model against the float one on held-out inputs (cosine
similarity of the outputs, and top-1 agreement of the next token for nanoGPT), time the float
torch module itself, and take peak memory after torch is loaded (the compile needs it).
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
from provers.errors import ProverError
from provers.inference import LARGE_MODEL_PARAMETERS, commit_model, examples, prove, verify_file
from provers.params import ProofParameters
from provers.private import commit_hidden_model, verify_private_file
from provers.private.model import largest_budget

MODELS: dict[str, Callable[[], QuantisedModel]] = {
    "tiny": lambda: examples.mlp((32, 16, 8), seed=1),
    "mlp": examples.mlp,
    "lenet_avg": lambda: examples.lenet("avg"),
    "lenet_max": lambda: examples.lenet("max"),
    "residual": examples.residual_cnn,
    "vgg16": examples.vgg16,
    "transformer": examples.transformer,
}


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


PARAMETERS = {"vgg16": LARGE_MODEL_PARAMETERS, "minilm": LARGE_MODEL_PARAMETERS}
"""VGG-16 and MiniLM use the large-model PCS parameters (smaller proofs); the others the
defaults."""


def _compiled_case(name: str) -> Any:
    """The torch-compiled cases (imported on demand: they need torch)."""
    from benchmarks import transformers

    if name == "nanogpt_tiny":
        shape = transformers.GPTShape(layers=1, width=16, heads=2, context=8)
        return transformers.nanogpt_case(shape, steps=2, calibration=8, held_out=8)
    return {"nanogpt": transformers.nanogpt_case, "minilm": transformers.minilm_case}[name]()


COMPILED = ("nanogpt", "minilm", "nanogpt_tiny")
"""``nanogpt_tiny`` (one layer of width 16 over 8 tokens, two training steps) keeps the
compiled cases' code path in the tests."""


def torch_inference_seconds(model: QuantisedModel, inputs: np.ndarray, repeats: int = 50) -> float:
    """Median seconds of a float32 PyTorch forward pass of the IR model's architecture."""
    import torch
    import torch.nn.functional as functional

    def weight(node: Any) -> Any:
        return torch.tensor(np.asarray(node.weight), dtype=torch.float32)

    def bias(node: Any) -> Any:
        return torch.tensor(np.asarray(node.bias), dtype=torch.float32)

    def forward(x: Any) -> Any:
        values = {"input": x}
        for node in model.nodes:
            args = [values[name] for name in node.inputs]
            kind = node.kind.value
            if kind == "linear":
                out = functional.linear(args[0], weight(node), bias(node))
            elif kind == "conv2d":
                out = functional.conv2d(
                    args[0], weight(node), bias(node), node.stride, node.padding
                )
            elif kind == "maxpool2d":
                out = functional.max_pool2d(args[0], node.kernel, node.stride)
            elif kind == "avgpool2d":
                out = functional.avg_pool2d(args[0], node.kernel, node.stride)
            elif kind == "add":
                out = args[0] + args[1]
            elif kind == "relu":
                out = functional.relu(args[0])
            elif kind == "matmul":
                out = torch.matmul(args[0], args[1])
            elif kind == "matmul_t":
                out = torch.matmul(args[0], args[1].transpose(-1, -2))
            elif kind == "table":
                out = functional.gelu(args[0])
            elif kind == "softmax":
                out = torch.softmax(args[0], dim=-1)
            elif kind == "softmax_causal":
                kept = torch.ones(args[0].shape[-2:], dtype=torch.bool).tril()
                out = torch.softmax(args[0].masked_fill(~kept, float("-inf")), dim=-1)
            else:
                out = args[0].reshape(args[0].shape[0], *node.output_shape)
            if node.requant is not None and node.requant.relu:
                out = functional.relu(out)
            values[node.name] = out
        return values[model.output]

    x = torch.tensor(inputs, dtype=torch.float32)
    timings = []
    with torch.no_grad():
        forward(x)
        for _ in range(repeats):
            started = time.perf_counter()
            forward(x)
            timings.append(time.perf_counter() - started)
    return float(np.median(timings))


def benchmark_inference(name: str, batch: int = 1, seed: int = 0) -> dict[str, Any]:
    """Commit, prove and verify one batch of the named model; the figures as a dict. A name
    ``MODEL@input``, ``MODEL@output`` or ``MODEL@input,output`` proves in the private mode
    with those parts hidden (provers/private: MLPs)."""
    label = name
    name, _, hidden = name.partition("@")
    private = frozenset(part for part in hidden.split(",") if part)
    case = _compiled_case(name) if name in COMPILED else None
    model = case.model if case is not None else MODELS[name]()
    params = PARAMETERS.get(name, ProofParameters.default())
    started = time.perf_counter()
    if "weights" in private:
        committed = commit_hidden_model(model, params, min(16, largest_budget(model, params)))
    else:
        committed = commit_model(model, params, range_proof=False)
    commit_s = time.perf_counter() - started
    if case is not None:
        inputs = case.inputs[:batch]
    else:
        inputs = np.random.default_rng(seed).integers(-128, 128, (batch, *model.input_shape))
    fidelity = {} if case is None else {f"fidelity_{k}": v for k, v in case.fidelity.items()}
    started = time.perf_counter()
    try:
        data = prove(committed, inputs, params=params, private=private)
    except ProverError as error:
        if case is None:
            raise
        # A compiled model the prover refuses: its row says why, with what was measured
        # before the refusal.
        return {
            "model": label,
            "parameters": case.parameters,
            "commit_s": round(commit_s, 3),
            "tokens": _tokens(model, batch),
            "refused": str(error),
            **fidelity,
        }
    prove_s = time.perf_counter() - started
    started = time.perf_counter()
    checker = verify_private_file if private else verify_file
    statement = checker(ProofFile.from_bytes(data))
    verify_s = time.perf_counter() - started
    hidden_output = "output" in private
    if not hidden_output and statement["output"] != executor.run(model, inputs).tolist():
        raise AssertionError("the proven output differs from the executor's")
    if hidden_output and statement["output"] is not None:
        raise AssertionError("a private output appears in the statement")
    peak_mib = _peak_mib()  # before torch is imported for the comparison below
    torch_s = case.float_seconds if case is not None else torch_inference_seconds(model, inputs)
    return {
        "model": label,
        "batch": batch,
        "parameters": model.parameter_count if case is None else case.parameters,
        "pcs_rate": f"1/{1 << params.pcs.log_inv_rate}",
        "pcs_queries": params.pcs.num_queries,
        "commit_s": round(commit_s, 3),
        "prove_s": round(prove_s, 3),
        "verify_s": round(verify_s, 3),
        "proof_bytes": len(data),
        "tokens": _tokens(model, batch),
        "soundness_bits": statement["soundness_bits"],
        "peak_rss_mib": round(peak_mib),
        "torch_inference_s": torch_s,
        "prove_over_inference": round(prove_s / torch_s),
        **fidelity,
    }


def _tokens(model: QuantisedModel, batch: int) -> int | None:
    """Tokens per proof: a token-id input's length, or a (tokens, features) input's rows."""
    if model.input_vocabulary or len(model.input_shape) == 2:
        return batch * model.input_shape[0]
    return None


def main(argv: list[str]) -> int:
    names = argv or ["mlp", "lenet_avg", "lenet_max"]
    rows = []
    for name in names:
        figures = benchmark_inference(name)
        rows.append(figures)
        print(json.dumps(figures), flush=True)
    print(
        f"{'model':<17} {'prove s':>8} {'verify s':>9} {'proof KiB':>10} {'bits':>5} "
        f"{'RSS MiB':>8} {'torch ms':>9} {'prove/torch':>12} {'tokens':>7} {'cosine':>7} "
        f"{'top-1':>6}"
    )
    for row in rows:
        if "refused" in row:
            print(f"{row['model']:<17} refused: {row['refused']}")
            continue
        print(
            f"{row['model']:<17} {row['prove_s']:>8} {row['verify_s']:>9} "
            f"{row['proof_bytes'] // 1024:>10} {row['soundness_bits']:>5} {row['peak_rss_mib']:>8} "
            f"{row['torch_inference_s'] * 1000:>9.3f} {row['prove_over_inference']:>12} "
            f"{_cell(row['tokens'], '')} {_cell(row.get('fidelity_cosine_min'), '.4f')} "
            f"{_cell(row.get('fidelity_top1_agreement'), '.3f', 6)}"
        )
    return 0


def _cell(value: Any, spec: str, width: int = 7) -> str:
    return f"{'-' if value is None else format(value, spec):>{width}}"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""``veriml check``: is every op of a program supported, how big is its circuit, what will a
proof cost — answered before any quantisation or proving.

The circuit figures count one sample (batch 1) of the folded graph, the one the compiler lowers:
``multiplications`` are multiply-accumulates of linear and conv layers (what the matmul sumchecks
pay for), ``lookups`` are the table lookups of the non-linear steps (one per requantised output,
one per standalone ReLU output, one per max-pool window element — each element is range-checked
against the window's maximum). The estimate is a linear model in those counts; its constants are
deliberately pessimistic until ``make bench`` calibrates them on the reference machine.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from provers.compiler.capture import SUPPORTED_OPS, UnsupportedOp, capture
from provers.compiler.fold import fold
from provers.compiler.graph import FloatGraph, FloatKind, FloatNode
from provers.compiler.load import load_program

# Fitted to the inference benchmark (`python -m benchmarks.inference mlp lenet_max vgg16`) on
# the reference 2-core CPU machine, rounded up: measured 0.18 s / 58 MB (MLP 784-256-128-10),
# 0.53 s / 85 MB (LeNet-5), 9 s / 1.3 GB (VGG-16); the fit gives 0.23 s, 0.49 s and 16 s, so it
# errs on the slow side for large convolutional models. Weight-proportional work (the fold of
# the committed weights) is counted per parameter, the window maps per multiply-accumulate,
# the lookup argument and the witness commitment per lookup.
PROVE_SECONDS_BASE = 0.15
PROVE_SECONDS_PER_PARAMETER = 3e-7
PROVE_SECONDS_PER_MULTIPLICATION = 5e-9
PROVE_SECONDS_PER_LOOKUP = 2.5e-5
MEMORY_BYTES_BASE = 64 << 20
MEMORY_BYTES_PER_PARAMETER = 40
MEMORY_BYTES_PER_ACTIVATION = 2000


@dataclass
class SupportReport:
    supported: bool
    ops: dict[str, int]
    """Every call in the graph, by ATen operator name, with its count."""
    unsupported: list[UnsupportedOp]
    parameters: int
    input_shape: tuple[int, ...] | None
    output_shape: tuple[int, ...] | None
    circuit: dict[str, Any] | None
    """``nodes``, ``multiplications``, ``lookups``, ``largest_layer`` ({name, op,
    multiplications}); None when unsupported."""
    estimate: dict[str, float] | None
    """``prove_seconds`` and ``peak_memory_bytes`` for one sample; None when unsupported."""
    supported_ops: tuple[str, ...] = SUPPORTED_OPS

    def as_dict(self) -> dict[str, Any]:
        result = asdict(self)
        result["input_shape"] = list(self.input_shape) if self.input_shape else None
        result["output_shape"] = list(self.output_shape) if self.output_shape else None
        result["supported_ops"] = list(self.supported_ops)
        return result


def check(program: torch.export.ExportedProgram | str | os.PathLike[str]) -> SupportReport:
    """The support report of a program or of a ``.pt2`` file (refused files raise
    :class:`provers.errors.CompileError`)."""
    if not isinstance(program, torch.export.ExportedProgram):
        program = load_program(program)
    captured = capture(program)
    circuit = estimate = None
    if captured.graph is not None:
        graph = fold(captured.graph)
        circuit = circuit_size(graph)
        estimate = cost_estimate(
            circuit["multiplications"],
            circuit["lookups"],
            circuit["activations"],
            captured.parameters,
        )
    return SupportReport(
        supported=captured.graph is not None,
        ops=captured.ops,
        unsupported=captured.unsupported,
        parameters=captured.parameters,
        input_shape=captured.input_shape,
        output_shape=captured.output_shape,
        circuit=circuit,
        estimate=estimate,
    )


def circuit_size(graph: FloatGraph) -> dict[str, Any]:
    multiplications = lookups = 0
    activations = int(np.prod(graph.input_shape))
    largest: dict[str, Any] = {"name": None, "op": None, "multiplications": 0}
    for node in graph.nodes:
        node_multiplications = _multiplications(node)
        multiplications += node_multiplications
        lookups += _lookups(node)
        activations += int(np.prod(node.output_shape))
        if node_multiplications > largest["multiplications"]:
            largest = {
                "name": node.name,
                "op": node.kind.value,
                "multiplications": node_multiplications,
            }
    return {
        "nodes": len(graph.nodes),
        "multiplications": multiplications,
        "lookups": lookups,
        "activations": activations,
        "largest_layer": largest,
    }


def cost_estimate(
    multiplications: int, lookups: int, activations: int, parameters: int = 0
) -> dict[str, float]:
    seconds = (
        PROVE_SECONDS_BASE
        + PROVE_SECONDS_PER_PARAMETER * parameters
        + PROVE_SECONDS_PER_MULTIPLICATION * multiplications
        + PROVE_SECONDS_PER_LOOKUP * lookups
    )
    memory = (
        MEMORY_BYTES_BASE
        + MEMORY_BYTES_PER_PARAMETER * parameters
        + MEMORY_BYTES_PER_ACTIVATION * activations
    )
    return {"prove_seconds": round(seconds, 3), "peak_memory_bytes": float(memory)}


def _multiplications(node: FloatNode) -> int:
    if node.kind in (FloatKind.LINEAR, FloatKind.CONV2D) and node.weight is not None:
        per_output = int(np.prod(node.weight.shape[1:]))
        return per_output * int(np.prod(node.output_shape))
    if node.kind in (FloatKind.MATMUL, FloatKind.MATMUL_T):
        return node.kernel[0] * int(np.prod(node.output_shape))
    if node.kind is FloatKind.EMBEDDING and node.weight is not None:
        # The proof's sumcheck runs over the whole table, whatever the ids select.
        return int(node.weight.size)
    return 0


def _lookups(node: FloatNode) -> int:
    outputs = int(np.prod(node.output_shape))
    if node.kind is FloatKind.MAXPOOL2D:
        return outputs * node.kernel[0] * node.kernel[1]
    if node.kind is FloatKind.RESHAPE:
        return 0
    return outputs

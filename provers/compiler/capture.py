"""Capture: walk an exported program's ATen graph and build the float graph.

Parameters, buffers and constant tensors are read as float64 arrays; the one user input becomes
the value ``input``; each call goes to its handler in :mod:`provers.compiler.handlers`. An op
without a handler, or with arguments the IR cannot express, is recorded as an
:class:`UnsupportedOp` (operator, node, source line, reason); supported ops computed from it are
skipped, so one walk lists every unsupported op of a model once.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass

import torch
from torch.export.graph_signature import InputKind, OutputKind

from provers.compiler.graph import FloatGraph
from provers.compiler.handlers import HANDLERS, SUPPORTED_OPS
from provers.compiler.walk import (
    Unsupported,
    UnsupportedOp,
    Walk,
    bind,
    op_name,
    sample_shape,
    source_of,
)

__all__ = ["SUPPORTED_OPS", "Capture", "UnsupportedOp", "capture"]

_BOOKKEEPING = frozenset(
    {
        "aten.sym_size.int",
        "aten.sym_numel.default",
        "aten._assert_tensor_metadata.default",
        "aten._assert_scalar.default",
        "aten.sym_constrain_range_for_size.default",
    }
)
"""Shape bookkeeping that produces no tensor; skipped."""


@dataclass
class Capture:
    """What one walk over a program found."""

    ops: dict[str, int]
    unsupported: list[UnsupportedOp]
    parameters: int
    input_shape: tuple[int, ...] | None
    output_shape: tuple[int, ...] | None
    graph: FloatGraph | None
    """The float graph; None when anything is unsupported."""


def capture(program: torch.export.ExportedProgram) -> Capture:
    walk = Walk(program)
    ops: dict[str, int] = {}
    unsupported: list[UnsupportedOp] = []
    parameters, input_node = _read_placeholders(walk, unsupported)
    output_value: str | None = None
    output_shape: tuple[int, ...] | None = None
    for node in program.graph.nodes:
        if node.op == "call_function":
            name = op_name(node.target)
            ops[name] = ops.get(name, 0) + 1
            _visit(walk, node, name, unsupported)
        elif node.op == "output":
            output_value, output_shape = _read_output(walk, node, unsupported)
        elif node.op != "placeholder":
            unsupported.append(UnsupportedOp(node.op, node.name, source_of(node), "not an op"))
    input_shape = _shape_or_none(input_node)
    graph = None
    if not unsupported and input_shape is not None and output_value is not None:
        graph = FloatGraph(input_shape, tuple(walk.nodes), output_value)
    return Capture(ops, unsupported, parameters, input_shape, output_shape, graph)


def _visit(walk: Walk, node: torch.fx.Node, name: str, unsupported: list[UnsupportedOp]) -> None:
    if name in _BOOKKEEPING or (
        getattr(node.target, "__module__", None) in ("_operator", "operator")
        and node.target is not operator.getitem
        and not isinstance(node.meta.get("val"), torch.Tensor)
    ):
        return
    handler = HANDLERS.get(name)
    # A supported op reading an unsupported one's output is skipped silently (its arguments are
    # unknown); an unsupported op is always reported, so one pass lists them all.
    if handler is not None and any(arg.name in walk.poisoned for arg in node.all_input_nodes):
        walk.poisoned.add(node.name)
        return
    try:
        if handler is None:
            raise Unsupported("this operator is not supported")
        handler(walk, node, bind(node))
    except Unsupported as error:
        walk.poisoned.add(node.name)
        unsupported.append(UnsupportedOp(name, node.name, source_of(node), str(error)))


def _read_placeholders(
    walk: Walk, unsupported: list[UnsupportedOp]
) -> tuple[int, torch.fx.Node | None]:
    program = walk.program
    by_name = {node.name: node for node in program.graph.nodes if node.op == "placeholder"}
    parameters = 0
    input_node = None
    for spec in program.graph_signature.input_specs:
        name = str(getattr(spec.arg, "name", ""))
        if spec.kind is InputKind.USER_INPUT and name in by_name and input_node is None:
            input_node = by_name[name]
            walk.values[name] = "input"
        elif spec.kind is InputKind.USER_INPUT:
            unsupported.append(UnsupportedOp("input", str(name), "", "a second model input"))
        elif spec.kind in (InputKind.PARAMETER, InputKind.BUFFER, InputKind.CONSTANT_TENSOR):
            tensor = _lifted_tensor(program, spec.target)
            if tensor is None:
                unsupported.append(UnsupportedOp("input", str(name), "", "not a tensor"))
                continue
            walk.constants[str(name)] = tensor.detach().to(torch.float64).numpy().copy()
            if spec.kind is InputKind.PARAMETER:
                parameters += int(tensor.numel())
        else:
            unsupported.append(
                UnsupportedOp(
                    "input", str(name), "", f"{spec.kind.name.lower()} inputs are not supported"
                )
            )
    if input_node is None:
        unsupported.append(UnsupportedOp("input", "", "", "the model needs one tensor input"))
    return parameters, input_node


def _lifted_tensor(
    program: torch.export.ExportedProgram, target: str | None
) -> torch.Tensor | None:
    value = program.state_dict.get(str(target), program.constants.get(str(target)))
    return value if isinstance(value, torch.Tensor) else None


def _read_output(
    walk: Walk, node: torch.fx.Node, unsupported: list[UnsupportedOp]
) -> tuple[str | None, tuple[int, ...] | None]:
    specs = walk.program.graph_signature.output_specs
    if any(spec.kind is not OutputKind.USER_OUTPUT for spec in specs):
        reason = "the model updates buffers (batch norm in training mode? call model.eval())"
        unsupported.append(UnsupportedOp("output", node.name, "", reason))
        return None, None
    results = node.args[0] if isinstance(node.args[0], (list, tuple)) else (node.args[0],)
    if len(results) != 1 or not isinstance(results[0], torch.fx.Node):
        unsupported.append(UnsupportedOp("output", node.name, "", "the model needs one output"))
        return None, None
    result = results[0]
    if result.name in walk.poisoned:
        return None, None
    if walk.values.get(result.name, "input") == "input":
        unsupported.append(
            UnsupportedOp("output", node.name, "", "the output must be computed from the input")
        )
        return None, None
    try:
        return walk.values[result.name], sample_shape(result)
    except Unsupported as error:
        unsupported.append(UnsupportedOp("output", node.name, "", str(error)))
        return None, None


def _shape_or_none(node: torch.fx.Node | None) -> tuple[int, ...] | None:
    if node is None:
        return None
    try:
        return sample_shape(node)
    except Unsupported:
        return None

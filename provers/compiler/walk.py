"""The state of one walk over an exported graph, and the helpers every op handler shares.

A :class:`Walk` maps each fx node to what it became: a float-graph value (an activation), a
constant array (a parameter, or a transposed one), or the members of a multi-output op. Handlers
read their node's arguments through :func:`bind` (schema names, defaults filled in) and raise
:class:`Unsupported` with a reason when the IR cannot express the node.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from provers.compiler.graph import FloatKind, FloatNode

_FRAME = re.compile(r'^\s*File "(.+)", line (\d+), in (.+)$')
_TORCH_DIR = str(Path(torch.__file__).resolve().parent)


@dataclass(frozen=True)
class UnsupportedOp:
    op: str
    node: str
    source: str
    reason: str

    def describe(self) -> str:
        where = f", {self.source}" if self.source else ""
        return f"{self.op} (node {self.node!r}{where}): {self.reason}"


class Unsupported(Exception):
    """Raised by a handler: the node cannot be expressed in the IR, for the given reason."""


@dataclass
class Walk:
    """What each fx node seen so far became, and the float nodes built."""

    program: torch.export.ExportedProgram
    values: dict[str, str] = field(default_factory=dict)
    """fx node name → float-graph value name."""
    constants: dict[str, np.ndarray] = field(default_factory=dict)
    tuples: dict[str, list[str | None]] = field(default_factory=dict)
    """Multi-output nodes: the value name of each output, None for outputs we cannot use."""
    poisoned: set[str] = field(default_factory=set)
    transposed: dict[str, str] = field(default_factory=dict)
    """fx node name → the value whose last two axes it swaps; only a matrix product reads it
    (as MATMUL_T), so no node ever materialises a transposed activation."""
    nodes: list[FloatNode] = field(default_factory=list)
    names: set[str] = field(default_factory=lambda: {"input"})
    unbatched: set[str] = field(default_factory=set)
    """fx nodes computed from constants alone (a position embedding): the activation holds them
    for every sample, and their traced shape has no batch dimension."""

    def activation(self, argument: Any, what: str = "input", unbatched: bool = False) -> str:
        """The value an argument became; ``unbatched``: the reader (an add) also takes a
        constant-id embedding, the same for every sample."""
        if not isinstance(argument, torch.fx.Node):
            raise Unsupported(f"its {what} must be a tensor computed by the model")
        if argument.name in self.unbatched and not unbatched:
            raise Unsupported(
                f"its {what} is a constant-id embedding (positions), which only an add to an "
                "activation may read"
            )
        if argument.name in self.constants:
            raise Unsupported(f"its {what} is a constant tensor, not an activation")
        if argument.name in self.transposed:
            raise Unsupported(
                f"its {what} is a transposed activation, which only a matrix product may read "
                "as its second operand (x @ y.transpose(-2, -1))"
            )
        if argument.name not in self.values:
            raise Unsupported(f"its {what} is not a single tensor")
        return self.values[argument.name]

    def constant(self, argument: Any, what: str) -> np.ndarray:
        if not isinstance(argument, torch.fx.Node) or argument.name not in self.constants:
            raise Unsupported(f"its {what} must be a parameter or constant (a learned weight)")
        return self.constants[argument.name]

    def add(self, node: torch.fx.Node, float_node: FloatNode) -> None:
        self.nodes.append(float_node)
        self.values[node.name] = float_node.name

    def unique_name(self, name: str) -> str:
        candidate, suffix = name, 1
        while candidate in self.names:
            candidate, suffix = f"{name}_{suffix}", suffix + 1
        self.names.add(candidate)
        return candidate

    def shape_of(self, argument: Any) -> tuple[int, ...]:
        """One sample's shape of a tensor argument."""
        if not isinstance(argument, torch.fx.Node):
            raise Unsupported("its input is not a tensor")
        if argument.name in self.unbatched:
            return full_shape(argument)
        return sample_shape(argument)


Handler = Callable[[Walk, torch.fx.Node, dict[str, Any]], None]


def op_name(target: Any) -> str:
    if isinstance(target, torch._ops.OpOverload):
        return str(target)
    module = getattr(target, "__module__", None) or ""
    return f"{module}.{getattr(target, '__name__', str(target))}".lstrip(".")


def source_of(node: torch.fx.Node) -> str:
    """``file.py:line`` of the model code that made the node: the innermost frame outside torch."""
    trace = node.meta.get("stack_trace") or ""
    frames = [match for line in trace.splitlines() if (match := _FRAME.match(line))]
    if not frames:
        return ""
    outside = [frame for frame in frames if not frame.group(1).startswith(_TORCH_DIR)]
    # With no model frame (an nn.Sequential), the outermost torch frame is the most telling.
    chosen = outside[-1] if outside else frames[0]
    return f"{Path(chosen.group(1)).name}:{chosen.group(2)}"


def sample_shape(node: torch.fx.Node) -> tuple[int, ...]:
    """One sample's shape of a tensor node: its traced shape without the batch dimension."""
    value = node.meta.get("val")
    if not isinstance(value, torch.Tensor) or value.dim() < 1:
        raise Unsupported(f"{node.name} is not a batched tensor")
    dims = tuple(value.shape[1:])
    if not all(isinstance(dim, int) for dim in dims):
        raise Unsupported("only the batch dimension may be dynamic")
    return tuple(int(dim) for dim in dims)


def full_shape(node: torch.fx.Node) -> tuple[int, ...]:
    """The whole traced shape of a tensor node with no batch dimension."""
    value = node.meta.get("val")
    if not isinstance(value, torch.Tensor) or not all(isinstance(d, int) for d in value.shape):
        raise Unsupported(f"{node.name} is not a tensor of a static shape")
    return tuple(int(dim) for dim in value.shape)


def batch_dim(node: torch.fx.Node) -> str:
    value = node.meta.get("val")
    if not isinstance(value, torch.Tensor) or value.dim() < 1:
        raise Unsupported(f"{node.name} is not a batched tensor")
    return str(value.shape[0])


def bind(node: torch.fx.Node) -> dict[str, Any]:
    """The node's arguments by schema name, defaults filled in."""
    target = node.target
    if not isinstance(target, torch._ops.OpOverload):
        return {f"arg{i}": value for i, value in enumerate(node.args)} | dict(node.kwargs)
    bound: dict[str, Any] = {}
    for index, argument in enumerate(target._schema.arguments):
        if index < len(node.args):
            bound[argument.name] = node.args[index]
        elif argument.name in node.kwargs:
            bound[argument.name] = node.kwargs[argument.name]
        elif argument.has_default_value():
            bound[argument.name] = argument.default_value
        else:
            bound[argument.name] = None
    return bound


def pair(value: Any, what: str, default: int | None = None) -> tuple[int, int]:
    """A 2-d window parameter given as an int, a 1- or 2-list, or (for stride) empty."""
    if isinstance(value, int):
        return (value, value)
    values = list(value or [])
    if not values and default is not None:
        return (default, default)
    if len(values) == 1:
        values = values * 2
    if len(values) != 2 or not all(isinstance(v, int) for v in values):
        raise Unsupported(f"{what} {value!r} is not a 2-d window parameter")
    return (int(values[0]), int(values[1]))


def add_node(
    walk: Walk, node: torch.fx.Node, kind: FloatKind, inputs: tuple[str, ...], **fields: Any
) -> None:
    name = walk.unique_name(node.name)
    float_node = FloatNode(name, kind, inputs, sample_shape(node), source=describe(node), **fields)
    walk.add(node, float_node)


def describe(node: torch.fx.Node) -> str:
    where = source_of(node)
    return f"{op_name(node.target)} at {where}" if where else op_name(node.target)

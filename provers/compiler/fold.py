"""Graph passes before quantisation: fold batch norms, fuse ReLUs.

A batch norm in eval mode is the per-channel affine map y = a·x + c (a = γ/√(σ²+ε),
c = β − μ·a). After a conv or linear read by nothing else it folds into that layer's weights
and bias (W' = a·W, b' = a·b + c), so it costs nothing; anywhere else it becomes a diagonal
1×1 conv (or a diagonal linear on feature vectors), the one IR op that applies a per-channel
scale.

A ReLU right after an op that requantises (linear, conv, avg-pool, add), and read by nothing
else, becomes that requantisation's lower clamp (``Requant.relu``): the IR then needs no
separate ReLU node, and the output scale is chosen for the non-negative range only.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from provers.compiler.graph import REQUANTISED_KINDS, FloatGraph, FloatKind, FloatNode


def fold(graph: FloatGraph) -> FloatGraph:
    return fuse_relus(fold_batch_norms(graph))


def fold_batch_norms(graph: FloatGraph) -> FloatGraph:
    users = graph.users()
    nodes: dict[str, FloatNode] = {}
    renamed: dict[str, str] = {}
    for node in graph.nodes:
        node = _renamed_inputs(node, renamed)
        if node.kind is not FloatKind.BATCHNORM:
            nodes[node.name] = node
            continue
        producer = nodes.get(node.inputs[0])
        if (
            producer is not None
            and producer.kind in (FloatKind.LINEAR, FloatKind.CONV2D)
            and not producer.relu
            and users[producer.name] == [node.name]
        ):
            nodes[producer.name] = _fold_into(producer, node)
            renamed[node.name] = producer.name
        else:
            nodes[node.name] = _diagonal_layer(node)
    return _rebuilt(graph, list(nodes.values()), renamed)


def fuse_relus(graph: FloatGraph) -> FloatGraph:
    users = graph.users()
    nodes: dict[str, FloatNode] = {}
    renamed: dict[str, str] = {}
    for node in graph.nodes:
        node = _renamed_inputs(node, renamed)
        producer = nodes.get(node.inputs[0]) if node.kind is FloatKind.RELU else None
        if producer is not None and (producer.relu or producer.kind is FloatKind.RELU):
            renamed[node.name] = producer.name  # already non-negative
        elif (
            producer is not None
            and producer.kind in REQUANTISED_KINDS
            and users[producer.name] == [node.name]
        ):
            nodes[producer.name] = dataclasses.replace(
                producer, relu=True, source=f"{producer.source} + relu"
            )
            renamed[node.name] = producer.name
        else:
            nodes[node.name] = node
    return _rebuilt(graph, list(nodes.values()), renamed)


def _fold_into(layer: FloatNode, norm: FloatNode) -> FloatNode:
    factor = np.asarray(norm.weight, dtype=np.float64)
    offset = np.asarray(norm.bias, dtype=np.float64)
    weight = np.asarray(layer.weight, dtype=np.float64)
    scaled = weight * factor.reshape((-1,) + (1,) * (weight.ndim - 1))
    bias = np.asarray(layer.bias, dtype=np.float64) * factor + offset
    return dataclasses.replace(
        layer, weight=scaled, bias=bias, source=f"{layer.source} + {norm.source}"
    )


def _diagonal_layer(norm: FloatNode) -> FloatNode:
    factor = np.asarray(norm.weight, dtype=np.float64)
    diagonal = np.diag(factor)
    if len(norm.output_shape) == 1:
        return dataclasses.replace(norm, kind=FloatKind.LINEAR, weight=diagonal)
    return dataclasses.replace(
        norm, kind=FloatKind.CONV2D, weight=diagonal[:, :, None, None], kernel=(1, 1)
    )


def _renamed_inputs(node: FloatNode, renamed: dict[str, str]) -> FloatNode:
    inputs = tuple(renamed.get(name, name) for name in node.inputs)
    return node if inputs == node.inputs else dataclasses.replace(node, inputs=inputs)


def _rebuilt(graph: FloatGraph, nodes: list[FloatNode], renamed: dict[str, str]) -> FloatGraph:
    output = renamed.get(graph.output, graph.output)
    return dataclasses.replace(graph, nodes=tuple(nodes), output=output)

"""The IR's reference executor against direct definitions, and its validation."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from provers.circuit import executor
from provers.circuit.model import ModelError, QuantisedModel
from provers.circuit.ops import Node, OpKind, Requant


def conv_node(rng: np.random.Generator, stride: int = 1, padding: int = 1) -> Node:
    weight = rng.integers(-128, 128, (4, 3, 3, 3))
    out = (8 + 2 * padding - 3) // stride + 1
    return Node(
        "conv",
        OpKind.CONV2D,
        ("input",),
        (4, out, out),
        0.05,
        weight=weight,
        bias=rng.integers(-1000, 1000, 4),
        requant=Requant(6, (301, 77, 1000, 12), 16, True),
        stride=(stride, stride),
        padding=(padding, padding),
        kernel=(3, 3),
    )


def naive_conv(x: np.ndarray, node: Node) -> np.ndarray:
    assert node.weight is not None and node.bias is not None
    n, c, h, w = x.shape
    ph, pw = node.padding
    sh, sw = node.stride
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    out_c, out_h, out_w = node.output_shape
    acc = np.zeros((n, out_c, out_h, out_w), dtype=np.int64)
    for o in range(out_c):
        for i in range(out_h):
            for j in range(out_w):
                window = padded[:, :, i * sh : i * sh + 3, j * sw : j * sw + 3]
                acc[:, o, i, j] = (window * node.weight[o]).sum(axis=(1, 2, 3)) + node.bias[o]
    return acc


def python_requant(acc: int, requant: Requant, channel: int) -> int:
    m = requant.multipliers[channel if len(requant.multipliers) > 1 else 0]
    t = acc if requant.shift1 == 0 else (acc + 2 ** (requant.shift1 - 1)) // 2**requant.shift1
    u = t * m if requant.shift2 == 0 else (t * m + 2 ** (requant.shift2 - 1)) // 2**requant.shift2
    return max(requant.lower, min(127, u))


@pytest.mark.parametrize(("stride", "padding"), [(1, 1), (2, 0), (2, 1)])
def test_convolution_matches_the_direct_definition(stride: int, padding: int) -> None:
    rng = np.random.default_rng(stride * 10 + padding)
    node = conv_node(rng, stride, padding)
    x = rng.integers(-128, 128, (2, 3, 8, 8))
    acc = executor.accumulator(node, [x])
    assert acc is not None
    assert np.array_equal(acc, naive_conv(x, node))
    y = executor.run_node(node, [x])
    assert node.requant is not None
    for index in [(0, 0, 0, 0), (1, 3, 2, 1), (0, 2, 1, 1)]:
        assert y[index] == python_requant(int(acc[index]), node.requant, index[1])


def test_requantisation_rounds_half_up_and_clamps() -> None:
    requant = Requant(2, (3,), 1, False)
    acc = np.array([[-1000, -3, -2, -1, 0, 1, 2, 5, 1000]])
    got = executor.requantise(acc, requant, channel_axis=1)
    assert got.tolist() == [[python_requant(int(a), requant, 0) for a in acc[0]]]
    assert got.min() == -128 and got.max() == 127


def small_model(rng: np.random.Generator) -> QuantisedModel:
    fc1 = Node(
        "fc1",
        OpKind.LINEAR,
        ("input",),
        (16,),
        0.1,
        weight=rng.integers(-128, 128, (16, 12)),
        bias=rng.integers(-500, 500, 16),
        requant=Requant(4, tuple(int(m) for m in rng.integers(1, 1 << 15, 16)), 18, True),
    )
    fc2 = Node(
        "fc2",
        OpKind.LINEAR,
        ("fc1",),
        (5,),
        0.1,
        weight=rng.integers(-128, 128, (5, 16)),
        bias=rng.integers(-500, 500, 5),
        requant=Requant(4, (20000,), 18, False),
    )
    return QuantisedModel((12,), 0.05, (fc1, fc2), "fc2")


def test_a_valid_model_runs_and_its_digest_depends_on_every_constant() -> None:
    rng = np.random.default_rng(1)
    model = small_model(rng)
    model.validate()
    out = executor.run(model, rng.integers(-128, 128, (3, 12)))
    assert out.shape == (3, 5) and out.min() >= -128 and out.max() <= 127
    fc2 = model.nodes[1]
    assert fc2.requant is not None
    changed = dataclasses.replace(fc2, requant=dataclasses.replace(fc2.requant, shift2=19))
    other = dataclasses.replace(model, nodes=(model.nodes[0], changed))
    assert other.circuit_digest != model.circuit_digest


def test_validation_refuses_a_shift_too_small_for_the_worst_case_input() -> None:
    rng = np.random.default_rng(2)
    model = small_model(rng)
    fc1 = model.nodes[0]
    assert fc1.requant is not None
    weak = dataclasses.replace(fc1, requant=dataclasses.replace(fc1.requant, shift1=0))
    with pytest.raises(ModelError, match="shift1"):
        dataclasses.replace(model, nodes=(weak, model.nodes[1])).validate()


def test_validation_refuses_mismatched_shapes_and_unknown_inputs() -> None:
    rng = np.random.default_rng(3)
    model = small_model(rng)
    wrong = dataclasses.replace(model.nodes[1], inputs=("nowhere",))
    with pytest.raises(ModelError, match="not computed"):
        dataclasses.replace(model, nodes=(model.nodes[0], wrong)).validate()
    bad_shape = dataclasses.replace(model.nodes[1], output_shape=(6,))
    with pytest.raises(ModelError, match="output shape"):
        dataclasses.replace(model, nodes=(model.nodes[0], bad_shape)).validate()


def test_pooling_add_relu_and_reshape() -> None:
    x = np.arange(-8, 8).reshape(1, 1, 4, 4)
    pool = Node("p", OpKind.MAXPOOL2D, ("input",), (1, 2, 2), 1.0, kernel=(2, 2), stride=(2, 2))
    assert executor.run_node(pool, [x]).tolist() == [[[[-3, -1], [5, 7]]]]
    avg = Node(
        "a",
        OpKind.AVGPOOL2D,
        ("input",),
        (1, 2, 2),
        1.0,
        kernel=(2, 2),
        stride=(2, 2),
        requant=Requant(0, (1 << 14,), 16, False),
    )
    assert executor.run_node(avg, [x]).tolist() == [[[[-5, -3], [3, 5]]]]
    add = Node(
        "s",
        OpKind.ADD,
        ("input", "input"),
        (1, 4, 4),
        1.0,
        requant=Requant(0, (1,), 1, False),
        add_multipliers=(1, 1),
    )
    assert np.array_equal(executor.run_node(add, [x, x]), x)
    relu = Node("r", OpKind.RELU, ("input",), (1, 4, 4), 1.0)
    assert executor.run_node(relu, [x]).min() == 0
    flat = Node("f", OpKind.RESHAPE, ("input",), (16,), 1.0)
    assert executor.run_node(flat, [x]).shape == (1, 16)

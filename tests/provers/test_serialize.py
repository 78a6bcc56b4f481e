"""Model and circuit bytes: round trips, canonical form, and hostile bytes refused cleanly."""

from __future__ import annotations

import dataclasses
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provers.circuit import executor
from provers.circuit.model import ModelError, QuantisedModel
from provers.circuit.ops import Node, OpKind, Requant
from provers.circuit.serialize import circuit_from_bytes, model_from_bytes, model_to_bytes


def every_op_model(seed: int = 0) -> QuantisedModel:
    """A valid model using every op kind once."""
    rng = np.random.default_rng(seed)
    conv = Node(
        "conv",
        OpKind.CONV2D,
        ("input",),
        (4, 6, 6),
        0.05,
        weight=rng.integers(-127, 128, (4, 2, 3, 3)),
        bias=rng.integers(-500, 500, 4),
        requant=Requant(5, (301, 77, 1000, 12), 16, True),
        padding=(1, 1),
        kernel=(3, 3),
        source="aten.conv2d.default at model.py:3",
    )
    pool = Node("pool", OpKind.MAXPOOL2D, ("conv",), (4, 3, 3), 0.05, kernel=(2, 2), stride=(2, 2))
    average = Node(
        "average",
        OpKind.AVGPOOL2D,
        ("conv",),
        (4, 3, 3),
        0.05,
        kernel=(2, 2),
        stride=(2, 2),
        requant=Requant(0, (1 << 14,), 16, False),
    )
    add = Node(
        "add",
        OpKind.ADD,
        ("pool", "average"),
        (4, 3, 3),
        0.1,
        requant=Requant(8, (20000,), 15, False),
        add_multipliers=(1 << 14, 9000),
    )
    relu = Node("relu", OpKind.RELU, ("add",), (4, 3, 3), 0.1)
    flat = Node("flat", OpKind.RESHAPE, ("relu",), (36,), 0.1)
    linear = Node(
        "linear",
        OpKind.LINEAR,
        ("flat",),
        (3,),
        0.2,
        weight=rng.integers(-127, 128, (3, 36)),
        bias=rng.integers(-(1 << 20), 1 << 20, 3),
        requant=Requant(6, (12345, 23456, 345), 17, False),
        source="aten.linear.default at model.py:9 — ünïcode",
    )
    nodes = (conv, pool, average, add, relu, flat, linear)
    return QuantisedModel((2, 6, 6), 0.02, nodes, "linear", labels=("cat", "dog", "émeu"))


def test_a_model_round_trips_with_its_weights_and_sources() -> None:
    model = every_op_model()
    data = model_to_bytes(model)
    again = model_from_bytes(data)
    assert again.circuit_digest == model.circuit_digest
    assert model_to_bytes(again) == data
    for original, read in zip(model.nodes, again.nodes, strict=True):
        assert read.source == original.source
        if original.weight is not None:
            assert read.weight is not None and read.bias is not None
            assert np.array_equal(read.weight, original.weight)
            assert np.array_equal(read.bias, np.asarray(original.bias))
    x = np.random.default_rng(1).integers(-128, 128, (3, 2, 6, 6))
    assert np.array_equal(executor.run(again, x), executor.run(model, x))


def test_a_compiled_model_round_trips() -> None:
    torch = pytest.importorskip("torch")
    from provers.compiler import compile_program

    module = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    program = torch.export.export(module.eval(), (torch.randn(2, 5),))
    model = compile_program(program, np.random.default_rng(0).standard_normal((16, 5))).model
    again = model_from_bytes(model_to_bytes(model))
    assert again.circuit_digest == model.circuit_digest
    assert [node.source for node in again.nodes] == [node.source for node in model.nodes]


def test_the_bare_circuit_keeps_shapes_and_digest_but_no_weights() -> None:
    model = every_op_model()
    circuit = circuit_from_bytes(model.circuit_bytes())
    assert circuit.circuit_digest == model.circuit_digest
    assert circuit.parameter_count == model.parameter_count
    linear = circuit.node("linear")
    assert linear.weight is None and linear.bias is None
    assert linear.weight_dims == (3, 36) and linear.bias_dims == (3,)
    assert linear.requant == model.node("linear").requant
    circuit.validate(require_weights=False)
    with pytest.raises(ModelError, match="weights missing"):
        circuit.validate()
    with pytest.raises(ValueError, match="without weights"):
        executor.run(circuit, np.zeros((1, 2, 6, 6), dtype=np.int64))


def test_every_truncation_is_refused() -> None:
    data = model_to_bytes(every_op_model())
    circuit = every_op_model().circuit_bytes()
    for length in range(len(data)):
        with pytest.raises(ModelError):
            model_from_bytes(data[:length])
    for length in range(len(circuit)):
        with pytest.raises(ModelError):
            circuit_from_bytes(circuit[:length])


def test_trailing_bytes_magic_and_version_are_checked() -> None:
    data = model_to_bytes(every_op_model())
    with pytest.raises(ModelError, match="after the end"):
        model_from_bytes(data + b"\x00")
    with pytest.raises(ModelError, match="bad magic"):
        model_from_bytes(b"XXXX" + data[4:])
    with pytest.raises(ModelError, match="version 2"):
        model_from_bytes(data[:4] + struct.pack("<H", 2) + data[6:])
    with pytest.raises(ModelError, match="bad domain"):
        circuit_from_bytes(b"veriml/circuit/v9" + every_op_model().circuit_bytes()[17:])


def test_huge_counts_are_refused_before_any_allocation() -> None:
    circuit = every_op_model().circuit_bytes()
    domain = len(b"veriml/circuit/v1")
    with pytest.raises(ModelError, match="values, expected at most"):
        circuit_from_bytes(circuit[:domain] + struct.pack("<I", 0xFFFFFFFF) + circuit[domain + 4 :])
    huge_node_count = bytearray(circuit)
    # domain, the input shape (count and three i64), the input scale, the output's name
    count_at = domain + 4 + 3 * 8 + 8 + 4 + len("linear")
    assert struct.unpack_from("<I", circuit, count_at) == (7,)
    struct.pack_into("<I", huge_node_count, count_at, 0xFFFFFFFF)
    with pytest.raises(ModelError, match="4294967295 nodes, at most"):
        circuit_from_bytes(bytes(huge_node_count))


def test_a_model_whose_weights_leave_int8_cannot_be_written() -> None:
    model = every_op_model()
    linear = model.node("linear")
    assert linear.weight is not None
    wide = dataclasses.replace(linear, weight=linear.weight * 2)
    with pytest.raises(ModelError, match="weights outside"):
        model_to_bytes(dataclasses.replace(model, nodes=(*model.nodes[:-1], wide)))


def test_non_canonical_encodings_are_refused() -> None:
    circuit = bytearray(every_op_model().circuit_bytes())
    relu_flag = circuit.rindex(struct.pack("<3q", 6, 17, 0))
    struct.pack_into("<q", circuit, relu_flag + 16, 2)
    with pytest.raises(ModelError, match="relu flag 2"):
        circuit_from_bytes(bytes(circuit))
    negative_scale = bytearray(every_op_model().circuit_bytes())
    at = negative_scale.index(struct.pack("<d", 0.02))
    struct.pack_into("<d", negative_scale, at, float("nan"))
    with pytest.raises(ModelError, match="positive finite"):
        circuit_from_bytes(bytes(negative_scale))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_bytes_give_a_model_error_or_an_equally_canonical_model(
    data: st.DataObject,
) -> None:
    original = model_to_bytes(every_op_model())
    mutated = bytearray(original)
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(mutated) - 1))
        mutated[position] = data.draw(st.integers(0, 255))
    try:
        model = model_from_bytes(bytes(mutated))
    except ModelError:
        return
    assert model_to_bytes(model) == bytes(mutated)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=512))
def test_arbitrary_bytes_only_ever_raise_model_error(data: bytes) -> None:
    for reader in (model_from_bytes, circuit_from_bytes):
        with pytest.raises(ModelError):
            reader(data)

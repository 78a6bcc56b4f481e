"""Elementwise functions by lookup table (TABLE: GELU, SiLU, sigmoid, tanh): the quantised
table against torch, a trained GELU network on real data, honest proofs, the IR's checks, and
the rejection of an output off its table."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

from provers.circuit import executor
from provers.circuit.model import ModelError, QuantisedModel
from provers.circuit.ops import Node, OpKind
from provers.circuit.serialize import circuit_from_bytes
from provers.compiler.lower import compile_program, quantise_input
from provers.container import ProofFile
from provers.errors import Reject
from provers.inference import commit_model, prove, verify_file
from tests.provers.cheating import reason, skip_lookup_checks
from tests.provers.test_compiler_models import digits_split, train_classifier

FUNCTIONS: dict[str, nn.Module] = {
    "gelu": nn.GELU(),
    "gelu_tanh": nn.GELU(approximate="tanh"),
    "silu": nn.SiLU(),
    "sigmoid": nn.Sigmoid(),
    "tanh": nn.Tanh(),
}


def _compile(module: nn.Module, inputs: torch.Tensor) -> QuantisedModel:
    program = torch.export.export(module.eval(), (inputs[:2],))
    return compile_program(program, inputs.numpy().astype(np.float64)).model


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_a_table_op_tracks_its_float_function_within_quantisation_error(name: str) -> None:
    torch.manual_seed(0)
    inputs = torch.randn(256, 12) * 2
    model = _compile(nn.Sequential(FUNCTIONS[name]), inputs)
    node = model.nodes[0]
    assert node.kind is OpKind.TABLE
    quantised = quantise_input(model, inputs.numpy())
    real = executor.run(model, quantised) * node.scale
    with torch.no_grad():
        reference = FUNCTIONS[name](torch.from_numpy(quantised * model.input_scale)).numpy()
    # The table rounds f(x) to the output's step: half a step, for every int8 input.
    assert np.abs(real - reference).max() <= node.scale / 2 + 1e-9


def test_a_trained_gelu_mlp_keeps_its_predictions_and_proves() -> None:
    train_x, train_y, test_x, test_y = digits_split()
    torch.manual_seed(0)
    module = nn.Sequential(
        nn.Linear(64, 64), nn.GELU(), nn.Linear(64, 32), nn.SiLU(), nn.Linear(32, 10)
    )
    train_classifier(module, train_x, train_y)
    model = _compile(module, torch.from_numpy(train_x))
    assert [node.kind for node in model.nodes].count(OpKind.TABLE) == 2
    quantised_inputs = quantise_input(model, test_x)
    quantised = executor.run(model, quantised_inputs).argmax(axis=1)
    with torch.no_grad():
        floating = module(torch.from_numpy(test_x)).argmax(dim=1).numpy()
    assert np.mean(floating == test_y) >= 0.9
    assert np.mean(quantised == floating) >= 0.98
    data = prove(commit_model(model), quantised_inputs[:3], nonce=b"gelu")
    statement = verify_file(ProofFile.from_bytes(data))
    assert statement["output"] == executor.run(model, quantised_inputs[:3]).tolist()


def _table_model() -> QuantisedModel:
    torch.manual_seed(2)
    module = nn.Sequential(nn.Linear(10, 16), nn.GELU(), nn.Linear(16, 4))
    return _compile(module, torch.randn(64, 10))


def test_the_bare_circuit_states_the_table() -> None:
    model = _table_model()
    bare = circuit_from_bytes(model.circuit_bytes())
    assert bare.nodes[1].table == model.nodes[1].table
    changed = list(model.nodes[1].table)
    changed[200] = changed[200] - 1 if changed[200] > -128 else 1
    nodes = (model.nodes[0], dataclasses.replace(model.nodes[1], table=tuple(changed)))
    other = dataclasses.replace(model, nodes=(*nodes, *model.nodes[2:]))
    assert other.circuit_digest != model.circuit_digest


@pytest.mark.parametrize(
    ("table", "message"),
    [((0,) * 255, "256 int8 outputs"), ((0,) * 255 + (128,), "256 int8 outputs")],
)
def test_the_ir_refuses_a_malformed_table(table: tuple[int, ...], message: str) -> None:
    node = Node("f", OpKind.TABLE, ("input",), (3,), 0.1, table=table)
    with pytest.raises(ModelError, match=message):
        QuantisedModel((3,), 0.1, (node,), "f").validate()


def test_the_ir_refuses_a_table_on_another_op() -> None:
    node = Node("r", OpKind.RELU, ("input",), (3,), 0.1, table=(0,) * 256)
    with pytest.raises(ModelError, match="only a table op"):
        QuantisedModel((3,), 0.1, (node,), "r").validate()


def test_a_prover_whose_gelu_output_is_off_its_table_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The cheater moves one GELU output by one unit, counts multiplicities over the rows the
    table does hold, and skips its own check that the lookup balances."""
    model = _table_model()
    committed = commit_model(model)
    table_node = model.nodes[1]
    honest_run = executor.run_node

    def cheating_run(node: Node, values: list[np.ndarray]) -> np.ndarray:
        out = honest_run(node, values)
        if node.name == table_node.name:
            out = np.array(out, copy=True)
            out.flat[0] = out.flat[0] + 1 if out.flat[0] < 127 else 126
        return out

    monkeypatch.setattr(executor, "run_node", cheating_run)
    skip_lookup_checks(monkeypatch)
    inputs = np.random.default_rng(5).integers(-128, 128, (1, *model.input_shape))
    forged = prove(committed, inputs, nonce=b"cheat")
    monkeypatch.undo()
    assert reason(forged) is Reject.LOOKUP_SUM_MISMATCH


@pytest.mark.parametrize("batch", [1, 3])
def test_a_function_whose_value_at_zero_is_not_zero_proves(batch: int) -> None:
    """sigmoid(0) = 1/2: padded entries look up the block's row 0, not f(0)."""
    torch.manual_seed(4)
    module = nn.Sequential(nn.Linear(6, 5), nn.Sigmoid(), nn.Linear(5, 3))
    model = _compile(module, torch.randn(64, 6))
    assert model.nodes[1].table[128] != 0
    inputs = np.random.default_rng(batch).integers(-128, 128, (batch, *model.input_shape))
    statement = verify_file(ProofFile.from_bytes(prove(commit_model(model), inputs)))
    assert statement["output"] == executor.run(model, inputs).tolist()

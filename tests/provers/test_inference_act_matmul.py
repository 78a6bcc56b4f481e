"""Products of two activations (MATMUL, MATMUL_T): the integer semantics against torch, honest
proofs with public and committed operands, the IR's checks, and the rejections of a proof whose
product was changed."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

from provers.circuit import executor
from provers.circuit.model import ModelError, QuantisedModel
from provers.circuit.ops import Node, OpKind
from provers.circuit.serialize import circuit_from_bytes
from provers.compiler.lower import compile_program, quantise_input
from provers.compiler.support import check
from provers.container import ProofFile
from provers.errors import CompileError, Reject
from provers.inference import CommittedModel, commit_model, examples, prove, verify_file
from provers.inference.examples import ModelBuilder
from tests.provers.cheating import (
    bump_stage_a_final,
    reason,
    skip_claimed_sum_checks,
    with_body,
    with_output_changed,
)


def _int8(shape: tuple[int, ...], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(-128, 128, shape)


def heads_model(seed: int = 0) -> QuantisedModel:
    """Both operands committed, a leading head axis, and both product kinds."""
    builder = ModelBuilder((2, 5, 6), seed)
    builder.relu()
    queries = builder.last
    scores = builder.matmul(queries, queries, transposed=True, relu=True)
    builder.matmul(scores, queries)
    builder.flatten()
    builder.linear(4, relu=False)
    return builder.build()


_COMMITTED: dict[str, CommittedModel] = {}


def committed(name: str) -> CommittedModel:
    if name not in _COMMITTED:
        model = examples.attention_block() if name == "attention" else heads_model()
        _COMMITTED[name] = commit_model(model)
    return _COMMITTED[name]


@pytest.mark.parametrize("transposed", [False, True])
def test_the_accumulator_is_torchs_integer_matrix_product(transposed: bool) -> None:
    a, b = _int8((3, 2, 5, 7), 1), _int8((3, 2, 7, 4) if not transposed else (3, 2, 4, 7), 2)
    kind = OpKind.MATMUL_T if transposed else OpKind.MATMUL
    node = Node("p", kind, ("a", "b"), (2, 5, 4), 0.1, kernel=(7, 1))
    acc = executor.accumulator(node, [a, b])
    other = torch.from_numpy(b).transpose(-1, -2) if transposed else torch.from_numpy(b)
    expected = torch.matmul(torch.from_numpy(a), other).numpy()
    assert acc is not None
    np.testing.assert_array_equal(acc, expected)


def test_the_requantised_product_rounds_the_real_product_to_within_one_unit() -> None:
    model = examples.attention_block()
    x = _int8((4, *model.input_shape), 3)
    node = model.nodes[0]
    assert node.requant is not None
    acc = executor.accumulator(node, [x, x])
    assert acc is not None
    r = node.requant
    real = acc * r.multipliers[0] / 2 ** (r.shift1 + r.shift2)
    expected = np.clip(np.round(real), r.lower, 127)
    y = executor.run_node(node, [x, x])
    assert np.abs(y - expected).max() <= 1


@pytest.mark.parametrize(("name", "batch"), [("attention", 1), ("attention", 3), ("heads", 2)])
def test_an_honest_proof_of_activation_products_verifies(name: str, batch: int) -> None:
    model = committed(name)
    inputs = _int8((batch, *model.model.input_shape), batch)
    data = prove(model, inputs, nonce=b"products")
    statement = verify_file(ProofFile.from_bytes(data))
    assert statement["output"] == executor.run(model.model, inputs).tolist()
    assert statement["soundness_bits"] >= 100


def test_the_bare_circuit_keeps_the_product_kinds_and_digest() -> None:
    model = heads_model()
    bare = circuit_from_bytes(model.circuit_bytes())
    assert [node.kind for node in bare.nodes] == [node.kind for node in model.nodes]
    assert bare.circuit_digest == model.circuit_digest


def _product_node(**changes: object) -> QuantisedModel:
    model = examples.attention_block()
    nodes = (dataclasses.replace(model.nodes[0], **changes), *model.nodes[1:])
    return dataclasses.replace(model, nodes=nodes)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"kernel": (5, 1)}, "matmul_t of shapes"),
        ({"output_shape": (8, 9)}, "output shape"),
        ({"inputs": ("input",)}, "takes 2 inputs"),
        ({"kind": OpKind.MATMUL}, "of shapes"),
    ],
)
def test_the_ir_refuses_a_malformed_product(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ModelError, match=message):
        _product_node(**changes).validate()


def test_the_ir_refuses_a_product_whose_worst_case_overflows_its_shift() -> None:
    model = examples.attention_block()
    node = model.nodes[0]
    assert node.requant is not None
    small = dataclasses.replace(node.requant, shift1=node.requant.shift1 - 2)
    with pytest.raises(ModelError, match="need shift1"):
        _product_node(requant=small).validate()


@pytest.fixture(scope="module")
def honest() -> bytes:
    model = committed("heads")
    return prove(model, _int8((2, *model.model.input_shape), 11), nonce=b"tamper")


def test_verify_rejects_a_changed_operand_claim_of_a_product(honest: bytes) -> None:
    """Stage A's first final values are the products' claims on their committed operands."""
    forged = with_body(honest, lambda p: bump_stage_a_final(p, 0, 0))
    assert reason(forged) is Reject.FINAL_EVALUATION_MISMATCH


def test_verify_rejects_a_changed_output_of_a_product_model(honest: bytes) -> None:
    assert reason(with_output_changed(honest)) is Reject.OUTPUT_MISMATCH


def test_a_prover_that_changes_one_attention_score_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The cheater computes every later value from a score one unit off and skips its own
    claimed-sum check; the product's sumcheck no longer adds up."""
    model = committed("heads")
    scores = model.model.nodes[1]
    assert scores.kind is OpKind.MATMUL_T
    honest_accumulator = executor.accumulator

    def cheating_accumulator(node: Node, values: list[np.ndarray]) -> np.ndarray | None:
        acc = honest_accumulator(node, values)
        if node.name == scores.name and acc is not None:
            acc = np.array(acc, copy=True)
            acc.flat[3] += 1 << node.requant.shift1  # type: ignore[union-attr]
        return acc

    monkeypatch.setattr(executor, "accumulator", cheating_accumulator)
    skip_claimed_sum_checks(monkeypatch)
    inputs = _int8((2, *model.model.input_shape), 11)
    forged = prove(model, inputs, nonce=b"cheat")
    monkeypatch.undo()
    assert reason(forged) in (Reject.ROUND_SUM_MISMATCH, Reject.FINAL_EVALUATION_MISMATCH)


class _Head(torch.nn.Module):
    """An attention head's two activation products, with a ReLU in place of the softmax."""

    def __init__(self, batched: bool = False) -> None:
        super().__init__()
        self.batched = batched
        self.out = torch.nn.Linear(8 * 16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.batched:
            scores = torch.relu(torch.bmm(x, x.transpose(1, 2)))
            mixed = torch.bmm(scores, x)
        else:
            scores = torch.relu(x @ x.transpose(-2, -1))
            mixed = scores @ x
        return self.out(torch.flatten(mixed, 1))


def _compiled(module: torch.nn.Module, samples: int = 96) -> tuple[Any, torch.Tensor]:
    torch.manual_seed(0)
    inputs = torch.randn(samples, 8, 16)
    program = torch.export.export(module.eval(), (inputs[:2],))
    return compile_program(program, inputs[: samples // 2].numpy()), inputs[samples // 2 :]


@pytest.mark.parametrize("batched", [False, True])
def test_a_torch_attention_head_compiles_to_products_and_proves(batched: bool) -> None:
    torch.manual_seed(1)
    module = _Head(batched)
    result, held_out = _compiled(module)
    kinds = [node.kind for node in result.model.nodes]
    assert kinds[:2] == [OpKind.MATMUL_T, OpKind.MATMUL]
    assert result.model.nodes[0].requant is not None and result.model.nodes[0].requant.relu
    quantised = quantise_input(result.model, held_out.numpy())
    with torch.no_grad():
        expected = module(held_out).argmax(dim=1).numpy()
    predicted = executor.run(result.model, quantised).argmax(axis=1)
    assert (predicted == expected).mean() >= 0.9
    model = commit_model(result.model)
    data = prove(model, quantised[:2], nonce=b"compiled head")
    statement = verify_file(ProofFile.from_bytes(data))
    assert statement["output"] == executor.run(result.model, quantised[:2]).tolist()


def test_a_compiled_product_tracks_the_float_product_within_quantisation_error() -> None:
    class Product(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x @ x.transpose(-2, -1)

    result, held_out = _compiled(Product())
    quantised = quantise_input(result.model, held_out.numpy())
    node = result.model.nodes[0]
    real = executor.run(result.model, quantised) * node.scale
    with torch.no_grad():
        reference = Product()(held_out).numpy()
    # Input rounding (half a step of each operand) and output rounding bound the error.
    error = np.abs(real - reference).max() / np.abs(reference).max()
    assert error < 0.05


@pytest.mark.parametrize(
    ("forward", "shape", "reason"),
    [
        (lambda x: x.transpose(-2, -1).relu(), (8, 16), "transposed activation"),
        (lambda x: x.transpose(-2, -1) @ x, (8, 16), "transposed activation"),
        (lambda x: x.transpose(1, 2) @ x, (8, 8, 8), "last two axes"),
        (lambda x: x @ x[:, :1].transpose(-2, -1).expand(-1, 16, 8), (8, 16), "not supported"),
    ],
)
def test_unsupported_uses_of_a_transpose_get_a_clear_error(
    forward: Callable[[torch.Tensor], torch.Tensor], shape: tuple[int, ...], reason: str
) -> None:
    class Bad(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return forward(x)

    program = torch.export.export(Bad(), (torch.randn(2, *shape),))
    with pytest.raises(CompileError, match=reason):
        compile_program(program, np.random.default_rng(0).normal(size=(4, *shape)))


def test_check_counts_the_products_multiplications() -> None:
    program = torch.export.export(_Head().eval(), (torch.randn(2, 8, 16),))
    report = check(program)
    assert report.supported
    assert report.circuit is not None
    # Q·Kᵀ: 8·8 outputs of 16 products; S·V: 8·16 outputs of 8; the read-out: 10·128.
    assert report.circuit["multiplications"] == 8 * 8 * 16 + 8 * 16 * 8 + 10 * 128

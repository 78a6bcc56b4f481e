"""Token-wise Linear layers (a Linear on samples of several axes acts on the last one, with one
requantisation multiplier per output feature) and a transformer block built from them: the
integer semantics against torch, the compiled block's fidelity, honest proofs, rejections."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from provers.circuit import executor
from provers.circuit.model import QuantisedModel
from provers.circuit.ops import OpKind
from provers.compiler.lower import compile_program, quantise_input
from provers.container import ProofFile
from provers.errors import Reject
from provers.inference import CommittedModel, commit_model, prove, verify_file
from tests.provers.cheating import bump_stage_a_final, reason, with_body, with_output_changed

TOKENS, WIDTH = 8, 16


class Block(nn.Module):
    """Attention (with a ReLU in place of the softmax) and a GELU feed-forward, both residual,
    then a linear read-out of the flattened tokens."""

    def __init__(self) -> None:
        super().__init__()
        self.q, self.k, self.v = (nn.Linear(WIDTH, WIDTH) for _ in range(3))
        self.o = nn.Linear(WIDTH, WIDTH)
        self.up, self.down = nn.Linear(WIDTH, 2 * WIDTH), nn.Linear(2 * WIDTH, WIDTH)
        self.head = nn.Linear(TOKENS * WIDTH, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scores = torch.relu(self.q(x) @ self.k(x).transpose(-2, -1))
        h = x + self.o(scores @ self.v(x))
        h = h + self.down(nn.functional.gelu(self.up(h)))
        return self.head(torch.flatten(h, 1))


@pytest.fixture(scope="module")
def compiled() -> tuple[nn.Module, QuantisedModel, torch.Tensor]:
    torch.manual_seed(0)
    module = Block().eval()
    inputs = torch.randn(160, TOKENS, WIDTH)
    program = torch.export.export(module, (inputs[:2],))
    result = compile_program(program, inputs[:96].numpy())
    return module, result.model, inputs[96:]


@pytest.fixture(scope="module")
def committed(compiled: tuple[nn.Module, QuantisedModel, torch.Tensor]) -> CommittedModel:
    return commit_model(compiled[1])


def test_a_token_wise_linear_is_torchs_linear_on_the_last_axis() -> None:
    torch.manual_seed(3)
    layer = nn.Linear(WIDTH, 6).eval()
    inputs = torch.randn(32, TOKENS, WIDTH)
    program = torch.export.export(nn.Sequential(layer), (inputs[:2],))
    model = compile_program(program, inputs.numpy()).model
    node = model.nodes[0]
    assert node.kind is OpKind.LINEAR and node.output_shape == (TOKENS, 6)
    quantised = quantise_input(model, inputs.numpy())
    acc = executor.accumulator(node, [quantised])
    assert node.weight is not None and node.bias is not None
    x = torch.from_numpy(np.asarray(quantised, dtype=np.int64))
    expected = x @ torch.from_numpy(node.weight.astype(np.int64)).T
    np.testing.assert_array_equal(acc, expected.numpy() + node.bias)
    assert node.requant is not None and len(set(node.requant.multipliers)) > 1
    real = executor.run(model, quantised) * node.scale
    with torch.no_grad():
        reference = layer(torch.from_numpy(quantised * model.input_scale).float()).numpy()
    assert np.abs(real - reference).max() <= 0.05 * np.abs(reference).max()


def test_the_compiled_block_keeps_its_float_predictions(
    compiled: tuple[nn.Module, QuantisedModel, torch.Tensor],
) -> None:
    module, model, held_out = compiled
    kinds = [node.kind for node in model.nodes]
    assert kinds.count(OpKind.LINEAR) == 7 and OpKind.TABLE in kinds
    assert OpKind.MATMUL_T in kinds and OpKind.MATMUL in kinds
    quantised = executor.run(model, quantise_input(model, held_out.numpy())).argmax(axis=1)
    with torch.no_grad():
        floating = module(held_out).argmax(dim=1).numpy()
    assert np.mean(quantised == floating) >= 0.85


@pytest.mark.parametrize("batch", [1, 3])
def test_an_honest_proof_of_the_block_verifies(
    compiled: tuple[nn.Module, QuantisedModel, torch.Tensor],
    committed: CommittedModel,
    batch: int,
) -> None:
    _, model, held_out = compiled
    inputs = quantise_input(model, held_out[:batch].numpy())
    statement = verify_file(ProofFile.from_bytes(prove(committed, inputs, nonce=b"block")))
    assert statement["output"] == executor.run(model, inputs).tolist()
    assert statement["soundness_bits"] >= 100


@pytest.fixture(scope="module")
def honest(
    compiled: tuple[nn.Module, QuantisedModel, torch.Tensor], committed: CommittedModel
) -> bytes:
    _, model, held_out = compiled
    return prove(committed, quantise_input(model, held_out[:2].numpy()), nonce=b"tamper")


@pytest.mark.parametrize("column", [0, 1, 2, -1])
def test_verify_rejects_a_changed_claim_of_the_blocks_stage_a(honest: bytes, column: int) -> None:
    forged = with_body(honest, lambda p: bump_stage_a_final(p, 1, column))
    assert reason(forged) is Reject.FINAL_EVALUATION_MISMATCH


def test_verify_rejects_a_changed_output_of_the_block(honest: bytes) -> None:
    assert reason(with_output_changed(honest)) is Reject.OUTPUT_MISMATCH

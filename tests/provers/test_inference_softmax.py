"""SOFTMAX over the last axis: the integer semantics against torch, an attention block with the
1/√d scaling compiled and proven, the IR's and the compiler's refusals, and the rejection of
proofs whose normalisation or maximum was changed."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from provers.circuit import executor
from provers.circuit.model import ModelError, QuantisedModel
from provers.circuit.ops import SOFTMAX_SCALE, Node, OpKind
from provers.compiler.lower import compile_program, quantise_input
from provers.container import ProofFile
from provers.errors import CompileError, Reject
from provers.inference import CommittedModel, commit_model, prove, rel_softmax, verify_file
from provers.inference import witness as witness_module
from provers.inference.plan import softmax_limbs
from tests.provers.cheating import reason, skip_claimed_sum_checks, skip_lookup_checks

TOKENS, WIDTH = 8, 16


class Attention(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.q, self.k, self.v = (nn.Linear(WIDTH, WIDTH) for _ in range(3))
        self.o = nn.Linear(WIDTH, WIDTH)
        self.head = nn.Linear(TOKENS * WIDTH, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scores = self.q(x) @ self.k(x).transpose(-2, -1) / WIDTH**0.5
        h = x + self.o(torch.softmax(scores, dim=-1) @ self.v(x))
        return self.head(torch.flatten(h, 1))


def _compile(module: nn.Module, inputs: torch.Tensor) -> QuantisedModel:
    program = torch.export.export(module.eval(), (inputs[:2],))
    return compile_program(program, inputs.numpy().astype(np.float64)).model


@pytest.fixture(scope="module")
def attention() -> tuple[nn.Module, QuantisedModel, torch.Tensor]:
    torch.manual_seed(0)
    module = Attention().eval()
    inputs = torch.randn(160, TOKENS, WIDTH)
    return module, _compile(module, inputs[:96]), inputs[96:]


@pytest.fixture(scope="module")
def committed(attention: tuple[nn.Module, QuantisedModel, torch.Tensor]) -> CommittedModel:
    return commit_model(attention[1])


@pytest.mark.parametrize("entries", [3, 8, 50])
def test_softmax_matches_torch_within_one_output_step(entries: int) -> None:
    torch.manual_seed(entries)
    inputs = torch.randn(64, 4, entries) * 3
    model = _compile(nn.Softmax(dim=-1), inputs)
    node = model.nodes[0]
    assert node.kind is OpKind.SOFTMAX and node.scale == SOFTMAX_SCALE
    quantised = quantise_input(model, inputs.numpy())
    real = executor.run(model, quantised) * SOFTMAX_SCALE
    reference = torch.softmax(torch.from_numpy(quantised * model.input_scale), dim=-1).numpy()
    assert np.abs(real - reference).max() <= 1.5 * SOFTMAX_SCALE


def test_the_attention_block_keeps_its_predictions(
    attention: tuple[nn.Module, QuantisedModel, torch.Tensor],
) -> None:
    module, model, held_out = attention
    assert [node.kind for node in model.nodes].count(OpKind.SOFTMAX) == 1
    predicted = executor.run(model, quantise_input(model, held_out.numpy())).argmax(axis=1)
    with torch.no_grad():
        expected = module(held_out).argmax(dim=1).numpy()
    assert np.mean(predicted == expected) >= 0.9


@pytest.mark.parametrize("batch", [1, 3])
def test_an_honest_proof_of_a_softmax_attention_verifies(
    attention: tuple[nn.Module, QuantisedModel, torch.Tensor],
    committed: CommittedModel,
    batch: int,
) -> None:
    _, model, held_out = attention
    inputs = quantise_input(model, held_out[:batch].numpy())
    statement = verify_file(ProofFile.from_bytes(prove(committed, inputs, nonce=b"softmax")))
    assert statement["output"] == executor.run(model, inputs).tolist()
    assert statement["soundness_bits"] >= 100


def _softmax_node(**changes: object) -> QuantisedModel:
    table = (0, *range(300, 44, -1))
    node = Node("s", OpKind.SOFTMAX, ("input",), (4, 6), SOFTMAX_SCALE, table=table)
    node = dataclasses.replace(node, **changes)
    return QuantisedModel((4, 6), 0.1, (node,), "s")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"table": (1, *range(300, 44, -1))}, "0 then"),
        ({"table": (0, *range(44, 300))}, "must not increase"),
        ({"table": (0,) * 257}, "0 then ≥ 1"),
        ({"output_shape": (4, 6000), "table": (0, *range(1 << 16, (1 << 16) - 256, -1))}, "rows"),
    ],
)
def test_the_ir_refuses_a_malformed_softmax(changes: dict[str, object], message: str) -> None:
    model = _softmax_node(**changes)
    if "output_shape" in changes:
        model = dataclasses.replace(model, input_shape=(4, 6000))
    with pytest.raises(ModelError, match=message):
        model.validate()


def test_the_ir_accepts_the_reference_softmax() -> None:
    _softmax_node().validate()


@pytest.mark.parametrize(
    ("forward", "reason"),
    [
        (lambda x: torch.softmax(x, dim=1), "axis other than the last"),
        (lambda x: x * -2.0, "number ≤ 0"),
        (lambda x: x * x, "product or quotient of activations"),
    ],
)
def test_unsupported_softmax_and_scaling_get_a_clear_error(
    forward: Callable[[torch.Tensor], torch.Tensor], reason: str
) -> None:
    class Bad(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return forward(x)

    program = torch.export.export(Bad(), (torch.randn(2, TOKENS, WIDTH),))
    with pytest.raises(CompileError, match=reason):
        compile_program(program, np.random.default_rng(0).normal(size=(4, TOKENS, WIDTH)))


def _inputs(attention: tuple[nn.Module, QuantisedModel, torch.Tensor]) -> np.ndarray:
    _, model, held_out = attention
    return quantise_input(model, held_out[:2].numpy())


def test_a_proof_whose_softmax_normalisation_is_off_by_one_is_rejected(
    attention: tuple[nn.Module, QuantisedModel, torch.Tensor],
    committed: CommittedModel,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The cheater raises one probability by one step (everything downstream follows it) and
    skips its own identity checks."""
    honest_parts = executor.softmax_parts

    def cheating_parts(node: Node, x: np.ndarray) -> dict[str, np.ndarray]:
        parts = dict(honest_parts(node, x))
        y = np.array(parts["y"], copy=True)
        y.flat[5] += 1
        parts["y"] = y
        return parts

    monkeypatch.setattr(executor, "softmax_parts", cheating_parts)
    monkeypatch.setattr(rel_softmax, "reject_identity", lambda ok, detail: None)
    forged = prove(committed, _inputs(attention), nonce=b"cheat")
    monkeypatch.undo()
    assert reason(forged) is Reject.IDENTITY_MISMATCH


def test_a_proof_that_states_a_wrong_row_maximum_is_rejected(
    attention: tuple[nn.Module, QuantisedModel, torch.Tensor],
    committed: CommittedModel,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    honest_max = rel_softmax.SoftmaxRelation._max_value

    def shifted_max(self: Any, res: Any) -> np.ndarray:
        value = np.array(honest_max(self, res), copy=True)
        value[0] = (value[0] + 1) % (15 * (1 << 27) + 1)
        return value

    monkeypatch.setattr(rel_softmax.SoftmaxRelation, "_max_value", shifted_max)
    monkeypatch.setattr(rel_softmax, "reject_identity", lambda ok, detail: None)
    skip_claimed_sum_checks(monkeypatch)
    forged = prove(committed, _inputs(attention), nonce=b"cheat")
    monkeypatch.undo()
    assert reason(forged) is Reject.IDENTITY_MISMATCH


def test_a_prover_that_normalises_by_a_smaller_entry_than_the_maximum_is_caught(
    attention: tuple[nn.Module, QuantisedModel, torch.Tensor],
    committed: CommittedModel,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The cheater takes the row's smallest entry as its maximum: every step is consistent
    except that some m − x is negative, which the range lookup refuses."""
    honest_advice = witness_module.softmax_advice

    def cheating_advice(node: Node, x: np.ndarray, limb_bits: int) -> dict[str, np.ndarray]:
        table = np.asarray(node.table, dtype=np.int64)
        low = x.min(axis=-1, keepdims=True)
        d = 1 + low - x
        e = table[np.clip(d, 0, 256)]
        z = e.sum(axis=-1, keepdims=True)
        y = (254 * e + z) // (2 * z)
        q = 254 * e + z - 2 * z * y
        advice = dict(honest_advice(node, x, limb_bits))
        advice.update(d=d, g=d - 1, e=e, z=z[..., 0], y=y)
        widths = tuple(w for name, w in softmax_limbs(node, limb_bits) if name[0] == "q")
        for prefix, values in (("q", q), ("w", 2 * z - 1 - q)):
            for j, limb in enumerate(witness_module._limbs(values, widths)):
                advice[f"{prefix}{j}"] = limb
        advice["h"] = (np.arange(x.shape[-1]) == np.argmin(x, axis=-1)[..., None]).astype(int)
        return advice

    def cheating_run(node: Node, values: list[np.ndarray]) -> np.ndarray:
        if node.kind is OpKind.SOFTMAX:
            return cheating_advice(node, values[0], 12)["y"]
        return honest_run(node, values)

    honest_run = executor.run_node
    monkeypatch.setattr(witness_module, "softmax_advice", cheating_advice)
    monkeypatch.setattr(executor, "run_node", cheating_run)
    skip_lookup_checks(monkeypatch)
    monkeypatch.setattr(rel_softmax, "reject_identity", lambda ok, detail: None)
    forged = prove(committed, _inputs(attention), nonce=b"cheat")
    monkeypatch.undo()
    assert reason(forged) is Reject.LOOKUP_SUM_MISMATCH


class Decoder(nn.Module):
    """A decoder block as torch writes it: scaled_dot_product_attention, causal or not."""

    def __init__(self, causal: bool) -> None:
        super().__init__()
        self.causal = causal
        self.q, self.k, self.v = (nn.Linear(WIDTH, WIDTH) for _ in range(3))
        self.up, self.down = nn.Linear(WIDTH, 4 * WIDTH), nn.Linear(4 * WIDTH, WIDTH)
        self.head = nn.Linear(WIDTH, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        attended = nn.functional.scaled_dot_product_attention(
            self.q(x), self.k(x), self.v(x), is_causal=self.causal
        )
        h = x + attended
        h = h + self.down(nn.functional.gelu(self.up(h)))
        return self.head(h)


def test_a_causal_softmax_matches_torchs_masked_softmax() -> None:
    torch.manual_seed(5)
    module = Decoder(causal=True).eval()
    inputs = torch.randn(64, TOKENS, WIDTH)
    model = _compile(module, inputs)
    causal = [node for node in model.nodes if node.kind is OpKind.SOFTMAX_CAUSAL]
    assert len(causal) == 1
    node = causal[0]
    values = executor.execute(model, quantise_input(model, inputs.numpy()))
    scores = values[node.inputs[0]] * model.node(node.inputs[0]).scale
    probabilities = values[node.name] * SOFTMAX_SCALE
    kept = torch.ones(TOKENS, TOKENS, dtype=torch.bool).tril()
    reference = torch.softmax(
        torch.from_numpy(scores).masked_fill(~kept, float("-inf")), dim=-1
    ).numpy()
    assert np.all(probabilities[..., ~kept.numpy()] == 0)
    assert np.abs(probabilities - reference).max() <= 1.5 * SOFTMAX_SCALE


@pytest.mark.parametrize(("causal", "batch"), [(True, 1), (True, 3), (False, 2)])
def test_a_compiled_decoder_block_keeps_its_predictions_and_proves(
    causal: bool, batch: int
) -> None:
    torch.manual_seed(6)
    module = Decoder(causal).eval()
    inputs = torch.randn(160, TOKENS, WIDTH)
    model = _compile(module, inputs[:96])
    quantised = quantise_input(model, inputs[96:].numpy())
    with torch.no_grad():
        expected = module(inputs[96:]).argmax(dim=-1).numpy()
    assert np.mean(executor.run(model, quantised).argmax(axis=-1) == expected) >= 0.9
    data = prove(commit_model(model), quantised[:batch], nonce=b"decoder")
    statement = verify_file(ProofFile.from_bytes(data))
    assert statement["output"] == executor.run(model, quantised[:batch]).tolist()


def test_a_prover_that_lets_later_tokens_into_a_causal_softmax_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The cheater computes the causal node as a full softmax (later tokens leak into each
    row) and skips its own identity checks; the verifier's mask disagrees."""
    torch.manual_seed(7)
    model = _compile(Decoder(causal=True), torch.randn(64, TOKENS, WIDTH))
    committed_model = commit_model(model)
    inputs = np.random.default_rng(8).integers(-128, 128, (2, *model.input_shape))
    monkeypatch.setattr(executor, "causal_mask", lambda shape: np.ones(shape, dtype=bool))
    monkeypatch.setattr(rel_softmax, "reject_identity", lambda ok, detail: None)
    skip_claimed_sum_checks(monkeypatch)
    forged = prove(committed_model, inputs, nonce=b"cheat")
    monkeypatch.undo()
    assert reason(forged) is Reject.IDENTITY_MISMATCH


def test_the_ir_refuses_a_causal_softmax_over_rows_of_another_length() -> None:
    model = _softmax_node(kind=OpKind.SOFTMAX_CAUSAL)
    with pytest.raises(ModelError, match=r"\(…, T, T\)"):
        model.validate()


def test_attention_with_an_explicit_mask_gets_a_clear_error() -> None:
    class Masked(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("mask", torch.ones(TOKENS, TOKENS, dtype=torch.bool))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return nn.functional.scaled_dot_product_attention(x, x, x, attn_mask=self.mask)

    program = torch.export.export(Masked(), (torch.randn(2, TOKENS, WIDTH),))
    with pytest.raises(CompileError, match="explicit mask"):
        compile_program(program, np.random.default_rng(0).normal(size=(4, TOKENS, WIDTH)))

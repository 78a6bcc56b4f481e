"""The transformer models of benchmarks/transformers.py, compiled from torch.export: token
selection and mean pooling against torch, a small decoder and a small encoder proved end to
end, MiniLM-L6's weights against plain torch ops, and (slow) MiniLM's fidelity and proof."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from benchmarks import transformers
from provers.circuit import executor
from provers.circuit.ops import OpKind
from provers.compiler.lower import compile_program, quantise_input
from provers.container import ProofFile
from provers.errors import CompileError
from provers.inference import commit_model, prove, verify_file

TOKENS, WIDTH = 8, 16


class Pick(nn.Module):
    def __init__(self, index: int) -> None:
        super().__init__()
        self.index = index
        self.up = nn.Linear(WIDTH, WIDTH)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up(x)[:, self.index]


class MeanPool(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.up = nn.Linear(WIDTH, WIDTH)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up(x).mean(dim=1)


def _compiled(module: nn.Module, inputs: torch.Tensor):  # type: ignore[no-untyped-def]
    program = torch.export.export(module.eval(), (inputs[:2],))
    return compile_program(program, inputs.numpy().astype(np.float64)).model


@pytest.mark.parametrize("index", [-1, 0, 3])
def test_selecting_a_token_gives_exactly_that_row(index: int) -> None:
    torch.manual_seed(0)
    inputs = torch.randn(32, TOKENS, WIDTH)
    model = _compiled(Pick(index), inputs)
    assert [node.kind for node in model.nodes].count(OpKind.CONV2D) == 1
    values = executor.execute(model, quantise_input(model, inputs.numpy()))
    rows = values[model.nodes[0].name] * model.nodes[0].scale
    picked = values[model.output] * model.node(model.output).scale
    assert model.node(model.output).output_shape == (WIDTH,)
    # A finer output scale may round a row's value, never by more than half its step.
    step = model.node(model.output).scale
    assert np.abs(picked - rows[:, index]).max() <= step / 2 + 1e-12


def test_mean_pooling_over_tokens_matches_torch() -> None:
    torch.manual_seed(1)
    module = MeanPool().eval()
    inputs = torch.randn(32, TOKENS, WIDTH)
    model = _compiled(module, inputs)
    assert OpKind.AVGPOOL2D in [node.kind for node in model.nodes]
    got = (
        executor.run(model, quantise_input(model, inputs.numpy())) * model.node(model.output).scale
    )
    with torch.no_grad():
        expected = module(inputs).numpy()
    assert got.shape == expected.shape == (32, WIDTH)
    assert np.abs(got - expected).max() <= 0.03 * np.abs(expected).max()


def test_selecting_along_the_feature_axis_is_refused() -> None:
    class Feature(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return nn.functional.relu(x)[:, :, 2]

    program = torch.export.export(Feature(), (torch.randn(2, TOKENS, WIDTH),))
    with pytest.raises(CompileError, match="select"):
        compile_program(program, np.random.default_rng(0).normal(size=(4, TOKENS, WIDTH)))


def test_a_selected_constant_is_its_slice() -> None:
    class Stacked(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weights = nn.Parameter(torch.randn(3, 4, WIDTH))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return nn.functional.linear(x, self.weights[1])

    torch.manual_seed(5)
    module = Stacked().eval()
    inputs = torch.randn(32, TOKENS, WIDTH)
    model = _compiled(module, inputs)
    node = model.nodes[0]
    assert node.kind is OpKind.LINEAR and node.output_shape == (TOKENS, 4)
    got = executor.run(model, quantise_input(model, inputs.numpy())) * node.scale
    with torch.no_grad():
        expected = module(inputs).numpy()
    assert np.abs(got - expected).max() <= 0.05 * np.abs(expected).max()


def _prove_and_check(model, inputs: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    statement = verify_file(ProofFile.from_bytes(prove(commit_model(model), inputs, b"models")))
    assert statement["output"] == executor.run(model, inputs).tolist()
    assert statement["soundness_bits"] >= 100


def test_a_small_decoder_keeps_its_last_logits_and_proves() -> None:
    shape = transformers.GPTShape(vocab=13, layers=2, width=WIDTH, heads=2, context=TOKENS)
    torch.manual_seed(2)
    decoder = transformers.NanoGPT(shape).eval()
    program = transformers.LastLogits(decoder).eval()
    ids = torch.randint(0, shape.vocab, (96, TOKENS))
    with torch.no_grad():
        expected = program(ids[64:]).double().numpy()
    model = transformers.compile_module(program, ids[:64])
    kinds = [node.kind for node in model.nodes]
    assert kinds.count(OpKind.SOFTMAX_CAUSAL) == 4 and kinds.count(OpKind.LAYERNORM) == 5
    assert kinds.count(OpKind.EMBEDDING) == 2
    assert model.node(model.output).output_shape == (shape.vocab,)
    fidelity = transformers.agreement(expected, transformers.quantised_outputs(model, ids[64:]))
    assert fidelity["cosine_min"] >= 0.95
    _prove_and_check(model, quantise_input(model, ids[64:65].numpy()))


def _small_encoder() -> transformers.MiniLM:
    shape = transformers.BertShape(
        vocab=40, layers=1, width=WIDTH, heads=2, hidden=2 * WIDTH, positions=TOKENS
    )
    torch.manual_seed(3)
    encoder = transformers.MiniLM(shape)
    with torch.no_grad():
        for module in encoder.modules():
            if isinstance(module, nn.LayerNorm):
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_(0, 0.1)
    return encoder.eval()


def test_a_small_encoder_keeps_its_pooled_embedding_and_proves() -> None:
    encoder = _small_encoder()
    program = transformers.Pooled(encoder, TOKENS).eval()
    ids = torch.randint(0, 40, (96, TOKENS))
    with torch.no_grad():
        expected = program(ids[64:]).double().numpy()
    model = transformers.compile_module(program, ids[:64])
    kinds = [node.kind for node in model.nodes]
    assert OpKind.SOFTMAX in kinds and kinds.count(OpKind.EMBEDDING) == 3
    assert model.node(model.output).output_shape == (WIDTH,)
    fidelity = transformers.agreement(expected, transformers.quantised_outputs(model, ids[64:]))
    assert fidelity["cosine_min"] >= 0.95
    _prove_and_check(model, quantise_input(model, ids[64:66].numpy()))


def test_head_by_head_attention_is_the_fused_attention() -> None:
    torch.manual_seed(4)
    attention = transformers.HeadAttention(WIDTH, 4, causal=True)
    x = torch.randn(3, TOKENS, WIDTH)
    with torch.no_grad():
        fused = attention.train()(x)
        by_head = attention.eval()(x)
    torch.testing.assert_close(by_head, fused)


def test_minilm_loads_its_shipped_weights_and_matches_plain_torch() -> None:
    state = transformers.minilm_state()
    model = transformers.load_minilm(state)
    assert model.shape == transformers.BertShape()
    assert sum(parameter.numel() for parameter in model.parameters()) == 22_565_376
    ids, mask = transformers.token_ids(transformers.SENTENCES)
    assert ids.shape == (len(transformers.SENTENCES), 32) and bool(mask.all())
    assert ids[0, 0] == 101  # [CLS]
    with torch.no_grad():
        got = model(ids)
        expected = transformers.reference_embedding(state, ids)
        masked = transformers.masked_embedding(model, ids, mask)
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)
    # The sample sentences fill all 32 tokens, so no padding changes their embedding.
    torch.testing.assert_close(got, masked, atol=1e-4, rtol=1e-4)


def test_the_nanogpt_benchmark_runs_at_a_tiny_size() -> None:
    from benchmarks.inference import benchmark_inference

    figures = benchmark_inference("nanogpt_tiny")
    assert figures["tokens"] == 8 and figures["soundness_bits"] >= 100
    assert 0 < figures["fidelity_cosine_min"] <= 1 + 1e-9
    assert 0 <= figures["fidelity_top1_agreement"] <= 1


@pytest.fixture(scope="module")
def minilm() -> transformers.CompiledCase:
    return transformers.minilm_case()


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="int8 activations with one scale per tensor: the [CLS] token's residual stream "
    "holds one value near 200 (feature 99) against a few units elsewhere, so every LayerNorm "
    "input keeps about 3 bits; the pooled cosine is far below 0.99",
)
def test_minilm_keeps_its_pooled_embeddings(minilm: transformers.CompiledCase) -> None:
    assert minilm.fidelity["float_vs_masked_cosine_min"] >= 0.9999
    assert minilm.fidelity["cosine_min"] >= 0.99


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_minilm_proves_a_32_token_sentence(minilm: transformers.CompiledCase) -> None:
    """About 2^25.6 lookup rows at 32 tokens: the plan runs the lookup twice (one run alone
    would give 98.4 bits). Large-model parameters, as in ``make bench``."""
    from provers.inference import LARGE_MODEL_PARAMETERS

    committed = commit_model(minilm.model, LARGE_MODEL_PARAMETERS)
    data = prove(committed, minilm.inputs, b"models", params=LARGE_MODEL_PARAMETERS)
    statement = verify_file(ProofFile.from_bytes(data))
    assert statement["output"] == executor.run(minilm.model, minilm.inputs).tolist()
    assert statement["soundness_bits"] >= 100

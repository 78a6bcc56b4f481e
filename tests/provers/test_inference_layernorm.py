"""LAYERNORM over the last axis: the integer semantics against torch (γ of every sign too), a
Linear → LayerNorm → Linear block compiled and proven, the IR's refusals, and the rejection of
proofs whose square root, mean, variance or signs were changed."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import pytest
import torch
from torch import nn

from provers.circuit import executor
from provers.circuit.model import ModelError, QuantisedModel
from provers.circuit.ops import Node, OpKind, Requant
from provers.circuit.serialize import circuit_from_bytes
from provers.compiler.lower import compile_program, quantise_input
from provers.container import ProofFile
from provers.errors import ProverError, Reject, VerificationError
from provers.inference import CommittedModel, commit_model, prove, rel_layernorm, verify_file
from provers.inference import witness as witness_module
from tests.provers.cheating import reason, skip_claimed_sum_checks

TOKENS, FEATURES, WIDTH = 6, 12, 24


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.up = nn.Linear(FEATURES, WIDTH)
        self.norm = nn.LayerNorm(WIDTH)
        self.head = nn.Linear(WIDTH, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.norm(self.up(x)))


def _compile(module: nn.Module, inputs: torch.Tensor) -> QuantisedModel:
    program = torch.export.export(module.eval(), (inputs[:2],))
    return compile_program(program, inputs.numpy().astype(np.float64)).model


def _affine(norm: nn.LayerNorm, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    entries = norm.weight.shape[0]
    with torch.no_grad():
        norm.weight.copy_(torch.rand(entries, generator=generator) * 1.5 + 0.2)
        norm.bias.copy_(torch.randn(entries, generator=generator) * 0.5)


@pytest.fixture(scope="module")
def block() -> tuple[nn.Module, QuantisedModel, torch.Tensor]:
    torch.manual_seed(0)
    module = Block().eval()
    _affine(module.norm, 1)
    inputs = torch.randn(160, TOKENS, FEATURES)
    return module, _compile(module, inputs[:96]), inputs[96:]


@pytest.fixture(scope="module")
def committed(block: tuple[nn.Module, QuantisedModel, torch.Tensor]) -> CommittedModel:
    return commit_model(block[1])


@pytest.mark.parametrize(("entries", "scale"), [(384, 1.0), (17, 5.0), (64, 0.1), (64, 30.0)])
def test_layernorm_matches_torch_within_two_output_steps(entries: int, scale: float) -> None:
    torch.manual_seed(entries)
    norm = nn.LayerNorm(entries)
    _affine(norm, entries)
    inputs = (torch.randn(64, 4, entries) + torch.randn(64, 4, 1)) * scale
    model = _compile(norm, inputs)
    node = model.nodes[0]
    assert node.kind is OpKind.LAYERNORM
    quantised = quantise_input(model, inputs.numpy())
    real = executor.run(model, quantised) * node.scale
    with torch.no_grad():
        reference = nn.functional.layer_norm(
            torch.from_numpy(quantised * model.input_scale),
            (entries,),
            norm.weight.double(),
            norm.bias.double(),
            norm.eps,
        ).numpy()
    assert np.abs(real - reference).max() <= 2 * node.scale


def test_the_block_keeps_its_predictions_and_its_circuit_round_trips(
    block: tuple[nn.Module, QuantisedModel, torch.Tensor],
) -> None:
    module, model, held_out = block
    assert [node.kind for node in model.nodes].count(OpKind.LAYERNORM) == 1
    predicted = executor.run(model, quantise_input(model, held_out.numpy())).argmax(axis=-1)
    with torch.no_grad():
        expected = module(held_out).argmax(dim=-1).numpy()
    assert np.mean(predicted == expected) >= 0.9
    circuit = circuit_from_bytes(model.circuit_bytes())
    circuit.validate(require_weights=False)
    assert circuit.circuit_bytes() == model.circuit_bytes()


@pytest.mark.parametrize("batch", [1, 3])
def test_an_honest_proof_of_a_layernorm_block_verifies(
    block: tuple[nn.Module, QuantisedModel, torch.Tensor],
    committed: CommittedModel,
    batch: int,
) -> None:
    _, model, held_out = block
    inputs = quantise_input(model, held_out[:batch].numpy())
    statement = verify_file(ProofFile.from_bytes(prove(committed, inputs, nonce=b"layernorm")))
    assert statement["output"] == executor.run(model, inputs).tolist()
    assert statement["soundness_bits"] >= 100


@pytest.mark.parametrize(("shape", "batch"), [((5, 20), 1), ((20,), 3)])
def test_a_layernorm_of_the_public_input_proves(shape: tuple[int, ...], batch: int) -> None:
    torch.manual_seed(2)
    module = nn.Sequential(nn.LayerNorm(shape[-1]), nn.Linear(shape[-1], 4)).eval()
    _affine(module[0], 3)
    inputs = torch.randn(64, *shape) * 3
    model = _compile(module, inputs)
    quantised = quantise_input(model, inputs[:batch].numpy())
    statement = verify_file(ProofFile.from_bytes(prove(commit_model(model), quantised, b"ln")))
    assert statement["output"] == executor.run(model, quantised).tolist()


def test_a_layernorm_over_a_single_row_is_refused() -> None:
    torch.manual_seed(2)
    module = nn.Sequential(nn.LayerNorm(20), nn.Linear(20, 4)).eval()
    inputs = torch.randn(64, 20)
    model = _compile(module, inputs)
    with pytest.raises(ProverError, match="single row"):
        prove(commit_model(model), quantise_input(model, inputs[:1].numpy()), nonce=b"ln")


def _layernorm_node(**changes: object) -> QuantisedModel:
    table = (3, 15, 10, 40, *range(-8, 8))
    requant = Requant(6, (9000,) * 16, 20, False)
    node = Node("n", OpKind.LAYERNORM, ("input",), (4, 16), 0.05, requant=requant, table=table)
    return QuantisedModel((4, 16), 0.1, (dataclasses.replace(node, **changes),), "n")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ((3, 15, 10, 40, *range(-8, 7)), "16 offsets"),
        ((3, 15, 11, 40, *range(-8, 8)), r"1 ≤ K ≤ 10"),
        ((3, 16, 10, 40, *range(-8, 8)), r"b ≤ 15"),
        ((3, 15, 10, -1, *range(-8, 8)), "E ≥ 0"),
        ((5, 15, 10, 40, *range(-8, 8)), "overflow V"),
        ((3, 15, 10, 1 << 29, *range(-8, 8)), "overflow V"),
        ((3, 12, 10, 40, *range(-8, 8)), "Q ≥ 2"),
        ((3, 15, 10, 40, 1 << 25, *range(-7, 8)), "offsets beyond"),
        ((3, 15, 10, 40, 1 << 24, *range(-7, 8)), "accumulators up to"),
    ],
)
def test_the_ir_refuses_out_of_bound_layernorm_constants(
    table: tuple[int, ...], message: str
) -> None:
    with pytest.raises(ModelError, match=message):
        _layernorm_node(table=table).validate()


def test_the_ir_accepts_the_reference_layernorm() -> None:
    _layernorm_node().validate()


def _signed_affine(norm: nn.LayerNorm, seed: int) -> None:
    """γ of every sign: a third negative, two channels exactly 0."""
    _affine(norm, seed)
    generator = torch.Generator().manual_seed(seed + 1)
    entries = norm.weight.shape[0]
    with torch.no_grad():
        flip = torch.rand(entries, generator=generator) < 0.35
        norm.weight[flip] = -norm.weight[flip]
        norm.weight[1] = 0.0
        norm.weight[entries - 2] = 0.0


@pytest.mark.parametrize("entries", [24, 65])
def test_a_layernorm_with_weights_of_every_sign_matches_torch(entries: int) -> None:
    torch.manual_seed(entries)
    norm = nn.LayerNorm(entries)
    _signed_affine(norm, entries)
    inputs = torch.randn(64, 4, entries) * 2 + torch.randn(64, 4, 1)
    model = _compile(norm, inputs)
    node = model.nodes[0]
    signs = node.layernorm_signs
    assert node.kind is OpKind.LAYERNORM and -1 in signs and signs[1] == 0
    quantised = quantise_input(model, inputs.numpy())
    real = executor.run(model, quantised) * node.scale
    with torch.no_grad():
        reference = nn.functional.layer_norm(
            torch.from_numpy(quantised * model.input_scale),
            (entries,),
            norm.weight.double(),
            norm.bias.double(),
            norm.eps,
        ).numpy()
    # As with γ > 0, up to about two steps (the floor of R; here a row near the clamp).
    assert np.abs(real - reference).max() <= 2.5 * node.scale
    # A γ = 0 channel is its quantised β on every row.
    expected = np.round(norm.bias[1].item() / node.scale)
    assert np.abs(real[..., 1] / node.scale - expected).max() <= 1


def test_a_layernorm_with_weights_of_every_sign_proves() -> None:
    torch.manual_seed(4)
    module = nn.Sequential(nn.Linear(FEATURES, WIDTH), nn.LayerNorm(WIDTH), nn.Linear(WIDTH, 3))
    _signed_affine(module[1], 4)
    inputs = torch.randn(96, TOKENS, FEATURES)
    model = _compile(module.eval(), inputs)
    circuit = circuit_from_bytes(model.circuit_bytes())
    assert circuit.circuit_bytes() == model.circuit_bytes()
    quantised = quantise_input(model, inputs[:2].numpy())
    statement = verify_file(ProofFile.from_bytes(prove(commit_model(model), quantised, b"sg")))
    assert statement["output"] == executor.run(model, quantised).tolist()


@pytest.mark.parametrize(
    ("signs", "message"),
    [((1,) * 16, "not all 1"), ((2,) + (1,) * 15, "signs must lie"), ((0,) * 15, "offsets")],
)
def test_the_ir_refuses_malformed_layernorm_signs(signs: tuple[int, ...], message: str) -> None:
    table = (3, 15, 10, 40, *range(-8, 8), *signs)
    with pytest.raises(ModelError, match=message):
        _layernorm_node(table=table).validate()


# --- cheating provers -----------------------------------------------------------------------


def _cheating_parts(
    mu_step: int = 0, root_step: int = 0, variance_step: int = 0
) -> Callable[[Node, np.ndarray], dict[str, np.ndarray]]:
    """layernorm_parts with one value moved by a step and everything after it recomputed from
    the moved value, so only the step's own relation can notice."""

    def parts(node: Node, x: np.ndarray) -> dict[str, np.ndarray]:
        a, b, k, e = node.layernorm_constants
        entries, full = x.shape[-1], 1 << (2 * k)
        s = x.sum(axis=-1)
        numerator = (s << (a + 1)) + entries
        mu = numerator // (2 * entries) + mu_step
        c = (x << a) - mu[..., None]
        v = (c * c).sum(axis=-1) + variance_step
        q_minus_1 = (v + e) >> b
        q = q_minus_1 + 1
        r = np.floor(np.sqrt(full / q)).astype(np.int64) + root_step
        return {
            "mu": mu,
            "r_mu": numerator - 2 * entries * mu,
            "c": c,
            "v": v,
            "q_minus_1": q_minus_1,
            "r_b": v + e - (q_minus_1 << b),
            "r": r,
            "below": full - r * r * q,
            "above": (r + 1) * (r + 1) * q - full - 1,
            "acc": c * r[..., None] + np.asarray(node.layernorm_offsets, dtype=np.int64),
        }

    return parts


def _forge(
    committed: CommittedModel,
    inputs: np.ndarray,
    monkeypatch: pytest.MonkeyPatch,
    **steps: int,
) -> bytes:
    monkeypatch.setattr(executor, "layernorm_parts", _cheating_parts(**steps))
    monkeypatch.setattr(witness_module, "check_range", lambda what, values, bits: None)
    monkeypatch.setattr(rel_layernorm, "reject_identity", lambda ok, detail: None)
    skip_claimed_sum_checks(monkeypatch)
    forged = prove(committed, inputs, nonce=b"cheat")
    monkeypatch.undo()
    return forged


def _rejection(data: bytes) -> VerificationError:
    with pytest.raises(VerificationError) as caught:
        verify_file(ProofFile.from_bytes(data))
    return caught.value


def _inputs(block: tuple[nn.Module, QuantisedModel, torch.Tensor]) -> np.ndarray:
    _, model, held_out = block
    return quantise_input(model, held_out[:2].numpy())


def test_a_proof_whose_layernorm_root_is_off_by_one_is_rejected(
    block: tuple[nn.Module, QuantisedModel, torch.Tensor],
    committed: CommittedModel,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """R + 1 with every downstream value consistent: (R+1)²·Q > C, so the slack C − R²·Q is
    negative and no range-checked limbs sum to it."""
    error = _rejection(_forge(committed, _inputs(block), monkeypatch, root_step=1))
    assert error.reason in (Reject.IDENTITY_MISMATCH, Reject.LOOKUP_SUM_MISMATCH)
    assert "C − R²·Q" in str(error)


def test_a_proof_with_a_wrong_layernorm_mean_is_rejected(
    block: tuple[nn.Module, QuantisedModel, torch.Tensor],
    committed: CommittedModel,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    error = _rejection(_forge(committed, _inputs(block), monkeypatch, mu_step=1))
    assert error.reason is Reject.IDENTITY_MISMATCH
    assert "2D·μ + r_μ" in str(error)


def test_a_proof_with_a_wrong_layernorm_variance_is_rejected(
    block: tuple[nn.Module, QuantisedModel, torch.Tensor],
    committed: CommittedModel,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """V + 1 (and Q, R, acc from it): the sumcheck of Σ_j c_j² = V starts from a false sum."""
    assert reason(_forge(committed, _inputs(block), monkeypatch, variance_step=1)) is (
        Reject.ROUND_SUM_MISMATCH
    )


def test_a_proof_that_ignores_the_layernorm_signs_is_rejected(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """acc = c·R + B where the circuit says σ·c·R + B (every γ taken as positive): the
    requantised output follows the wrong acc and acc(ρ) = CR + B fails at the random point."""
    torch.manual_seed(5)
    norm = nn.LayerNorm(WIDTH)
    _signed_affine(norm, 5)
    module = nn.Sequential(nn.Linear(FEATURES, WIDTH), norm, nn.Linear(WIDTH, 3)).eval()
    inputs = torch.randn(96, TOKENS, FEATURES)
    model = _compile(module, inputs)
    committed = commit_model(model)
    honest_parts = executor.layernorm_parts

    def unsigned(node: Node, x: np.ndarray) -> dict[str, np.ndarray]:
        parts = honest_parts(node, x)
        offsets = np.asarray(node.layernorm_offsets, dtype=np.int64)
        parts["acc"] = parts["c"] * parts["r"][..., None] + offsets
        return parts

    monkeypatch.setattr(executor, "layernorm_parts", unsigned)
    monkeypatch.setattr(rel_layernorm, "reject_identity", lambda ok, detail: None)
    forged = prove(committed, quantise_input(model, inputs[:2].numpy()), nonce=b"signs")
    monkeypatch.undo()
    error = _rejection(forged)
    assert error.reason is Reject.IDENTITY_MISMATCH
    assert "acc = σ·c·R + B" in str(error)

"""RMSNORM over the last axis (LayerNorm without the mean): the integer semantics against torch
(γ of every sign), blocks exported with torch.export compiled and proven, the IR's bound, and
cheating provers whose square root or mean square is off by one, each rejected."""

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
from provers.errors import Reject, VerificationError
from provers.inference import CommittedModel, commit_model, prove, rel_layernorm, verify_file
from provers.inference import witness as witness_module
from tests.provers.cheating import reason, skip_claimed_sum_checks

TOKENS, FEATURES, WIDTH = 6, 12, 24


def _compile(module: nn.Module, inputs: torch.Tensor) -> QuantisedModel:
    program = torch.export.export(module.eval(), (inputs[:2],))
    return compile_program(program, inputs.numpy().astype(np.float64)).model


def _weights(norm: nn.RMSNorm, seed: int, signs: bool = True) -> None:
    generator = torch.Generator().manual_seed(seed)
    entries = norm.weight.shape[0]
    with torch.no_grad():
        norm.weight.copy_(torch.rand(entries, generator=generator) * 1.5 + 0.2)
        if signs:
            flip = torch.rand(entries, generator=generator) < 0.3
            norm.weight[flip] = -norm.weight[flip]
            norm.weight[0] = 0.0


@pytest.mark.parametrize(
    ("entries", "scale", "signs"), [(384, 1.0, False), (17, 5.0, True), (64, 0.1, True)]
)
def test_rmsnorm_matches_torch_within_three_output_steps(
    entries: int, scale: float, signs: bool
) -> None:
    torch.manual_seed(entries)
    norm = nn.RMSNorm(entries, eps=1e-6)
    _weights(norm, entries, signs)
    inputs = (torch.randn(64, 4, entries) + torch.randn(64, 4, 1)) * scale
    model = _compile(norm, inputs)
    node = model.nodes[0]
    assert node.kind is OpKind.RMSNORM
    assert (len(node.table) > 4 + entries) == signs
    quantised = quantise_input(model, inputs.numpy())
    real = executor.run(model, quantised) * node.scale
    with torch.no_grad():
        reference = nn.functional.rms_norm(
            torch.from_numpy(quantised * model.input_scale), (entries,), norm.weight.double(), 1e-6
        ).numpy()
    # R = ⌊√(C/Q)⌋ rounds down by up to one part in R (R ≈ 20–40 on such rows): the error is
    # mostly that bias, about 2.5 steps at the largest outputs, as for LayerNorm.
    assert np.abs(real - reference).max() <= 3 * node.scale


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.up = nn.Linear(FEATURES, WIDTH)
        self.norm = nn.RMSNorm(WIDTH)
        self.head = nn.Linear(WIDTH, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.norm(self.up(x)))


@pytest.fixture(scope="module")
def block() -> tuple[QuantisedModel, torch.Tensor]:
    torch.manual_seed(0)
    module = Block().eval()
    _weights(module.norm, 1)
    inputs = torch.randn(128, TOKENS, FEATURES)
    return _compile(module, inputs[:96]), inputs[96:]


@pytest.fixture(scope="module")
def committed(block: tuple[QuantisedModel, torch.Tensor]) -> CommittedModel:
    return commit_model(block[0])


def _inputs(block: tuple[QuantisedModel, torch.Tensor], batch: int = 2) -> np.ndarray:
    model, held_out = block
    return quantise_input(model, held_out[:batch].numpy())


@pytest.mark.parametrize("batch", [1, 3])
def test_an_honest_proof_of_an_rmsnorm_block_verifies(
    block: tuple[QuantisedModel, torch.Tensor], committed: CommittedModel, batch: int
) -> None:
    model, _ = block
    circuit = circuit_from_bytes(model.circuit_bytes())
    assert circuit.circuit_bytes() == model.circuit_bytes()
    assert [n.kind for n in circuit.nodes].count(OpKind.RMSNORM) == 1
    inputs = _inputs(block, batch)
    statement = verify_file(ProofFile.from_bytes(prove(committed, inputs, nonce=b"rms")))
    assert statement["output"] == executor.run(model, inputs).tolist()
    assert statement["soundness_bits"] >= 100


def test_an_rmsnorm_of_the_public_input_proves() -> None:
    torch.manual_seed(2)
    module = nn.Sequential(nn.RMSNorm(20), nn.Linear(20, 4)).eval()
    _weights(module[0], 3)
    inputs = torch.randn(64, 5, 20) * 3
    model = _compile(module, inputs)
    quantised = quantise_input(model, inputs[:1].numpy())
    statement = verify_file(ProofFile.from_bytes(prove(commit_model(model), quantised, b"rms")))
    assert statement["output"] == executor.run(model, quantised).tolist()


def test_an_embedding_then_rmsnorm_proves() -> None:
    torch.manual_seed(3)
    module = nn.Sequential(nn.Embedding(40, 16), nn.RMSNorm(16), nn.Linear(16, 3)).eval()
    _weights(module[1], 4)
    ids = torch.randint(0, 40, (64, TOKENS), generator=torch.Generator().manual_seed(5))
    model = _compile(module, ids)
    assert [n.kind for n in model.nodes][:2] == [OpKind.EMBEDDING, OpKind.RMSNORM]
    statement = verify_file(ProofFile.from_bytes(prove(commit_model(model), ids[:2].numpy(), b"e")))
    assert statement["output"] == executor.run(model, ids[:2].numpy()).tolist()


def _rms_node(kind: OpKind, a: int) -> QuantisedModel:
    table = (a, 15, 10, 40, *([0] * 16))
    requant = Requant(6, (9000,) * 16, 20, False)
    node = Node("n", kind, ("input",), (4, 16), 0.05, requant=requant, table=table)
    return QuantisedModel((4, 16), 0.1, (dataclasses.replace(node),), "n")


def test_an_rmsnorm_has_the_tighter_variance_bound() -> None:
    """|c| = 2^a·|x| ≤ 2^(a+7) without a mean: a = 5 over 16 entries fits an RMSNORM's bound
    (V < 2^29) but not a LAYERNORM's."""
    _rms_node(OpKind.RMSNORM, 5).validate()
    with pytest.raises(ModelError, match="overflow V"):
        _rms_node(OpKind.LAYERNORM, 5).validate()
    with pytest.raises(ModelError, match="overflow V"):
        _rms_node(OpKind.RMSNORM, 6).validate()


# --- cheating provers -------------------------------------------------------------------------


def _cheating_parts(
    root_step: int = 0, variance_step: int = 0
) -> Callable[[Node, np.ndarray], dict[str, np.ndarray]]:
    """layernorm_parts of an RMSNORM with R or V moved by a step and everything after it
    recomputed from the moved value, so only that step's relation can notice."""
    honest = executor.layernorm_parts

    def parts(node: Node, x: np.ndarray) -> dict[str, np.ndarray]:
        out = honest(node, x)
        _, b, k, e = node.layernorm_constants
        full = 1 << (2 * k)
        v = out["v"] + variance_step
        q_minus_1 = (v + e) >> b
        q = q_minus_1 + 1
        r = np.floor(np.sqrt(full / q)).astype(np.int64) + root_step
        signs = np.asarray(node.layernorm_signs, dtype=np.int64)
        offsets = np.asarray(node.layernorm_offsets, dtype=np.int64)
        out.update(
            v=v,
            q_minus_1=q_minus_1,
            r_b=v + e - (q_minus_1 << b),
            r=r,
            below=full - r * r * q,
            above=(r + 1) * (r + 1) * q - full - 1,
            acc=signs * out["c"] * r[..., None] + offsets,
        )
        return out

    return parts


def _forge(
    committed: CommittedModel, inputs: np.ndarray, mp: pytest.MonkeyPatch, **steps: int
) -> bytes:
    mp.setattr(executor, "layernorm_parts", _cheating_parts(**steps))
    mp.setattr(witness_module, "check_range", lambda what, values, bits: None)
    mp.setattr(rel_layernorm, "reject_identity", lambda ok, detail: None)
    skip_claimed_sum_checks(mp)
    forged = prove(committed, inputs, nonce=b"cheat")
    mp.undo()
    return forged


def test_a_proof_whose_rms_root_is_off_by_one_is_rejected(
    block: tuple[QuantisedModel, torch.Tensor],
    committed: CommittedModel,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """R + 1 with every later value consistent: the slack C − R²·Q is negative, and no
    range-checked limbs sum to it."""
    with pytest.raises(VerificationError) as caught:
        verify_file(
            ProofFile.from_bytes(_forge(committed, _inputs(block), monkeypatch, root_step=1))
        )
    assert caught.value.reason in (Reject.IDENTITY_MISMATCH, Reject.LOOKUP_SUM_MISMATCH)
    assert "C − R²·Q" in str(caught.value)


def test_a_proof_whose_rms_root_is_one_too_small_is_rejected(
    block: tuple[QuantisedModel, torch.Tensor],
    committed: CommittedModel,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """R − 1: now (R+1)²·Q ≤ C, so the other slack (R+1)²·Q − C − 1 is negative."""
    with pytest.raises(VerificationError) as caught:
        verify_file(
            ProofFile.from_bytes(_forge(committed, _inputs(block), monkeypatch, root_step=-1))
        )
    assert caught.value.reason in (Reject.IDENTITY_MISMATCH, Reject.LOOKUP_SUM_MISMATCH)
    assert "(R+1)²·Q − C − 1" in str(caught.value)


def test_a_proof_with_a_wrong_mean_square_is_rejected(
    block: tuple[QuantisedModel, torch.Tensor],
    committed: CommittedModel,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """V + 1 (and Q, R, acc from it): the sumcheck of Σ_j c_j² = V starts from a false sum."""
    forged = _forge(committed, _inputs(block), monkeypatch, variance_step=1)
    assert reason(forged) is Reject.ROUND_SUM_MISMATCH

"""EMBEDDING: token and position embeddings against torch, a token-id model exported with
torch.export (token + position embedding → LayerNorm → Linear) compiled, proven and verified
(also through the API's files), the IR's refusals, hostile ids, and a tamper table of cheating
provers and edited statements, each rejected with its own reason."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from provers import api
from provers.circuit import executor
from provers.circuit.model import ModelError, QuantisedModel
from provers.circuit.ops import Node, OpKind, Requant
from provers.circuit.serialize import circuit_from_bytes, model_from_bytes, model_to_bytes
from provers.compiler.lower import compile_program, quantise_input
from provers.container import ProofFile
from provers.errors import CompileError, ProverError, Reject, VerificationError
from provers.inference import CommittedModel, commit_model, prove, verify_file
from provers.inference import prover as prover_module
from provers.inference.statement import read_statement
from tests.provers.cheating import bump_stage_a_final, skip_claimed_sum_checks, with_body

VOCABULARY, TOKENS, WIDTH, CLASSES = 50, 6, 16, 4


class TinyEncoder(nn.Module):
    """Token ids → token + position embeddings → LayerNorm → Linear over each token."""

    def __init__(self) -> None:
        super().__init__()
        self.tok = nn.Embedding(VOCABULARY, WIDTH)
        self.pos = nn.Embedding(TOKENS, WIDTH)
        self.norm = nn.LayerNorm(WIDTH)
        self.head = nn.Linear(WIDTH, CLASSES)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(ids.shape[1], device=ids.device)
        return self.head(self.norm(self.tok(ids) + self.pos(positions)))


def _ids(count: int, seed: int) -> torch.Tensor:
    return torch.randint(
        0, VOCABULARY, (count, TOKENS), generator=torch.Generator().manual_seed(seed)
    )


def _export(module: nn.Module) -> torch.export.ExportedProgram:
    return torch.export.export(module.eval(), (_ids(2, 0),))


@pytest.fixture(scope="module")
def encoder() -> tuple[nn.Module, QuantisedModel]:
    torch.manual_seed(0)
    module = TinyEncoder().eval()
    with torch.no_grad():
        module.norm.weight.copy_(torch.rand(WIDTH) + 0.5)
        module.norm.weight[2] = -0.7
        module.norm.bias.copy_(torch.randn(WIDTH) * 0.3)
    return module, compile_program(_export(module), _ids(128, 1).numpy()).model


@pytest.fixture(scope="module")
def committed(encoder: tuple[nn.Module, QuantisedModel]) -> CommittedModel:
    return commit_model(encoder[1])


@pytest.fixture(scope="module")
def honest(committed: CommittedModel) -> bytes:
    return prove(committed, _ids(2, 5).numpy(), nonce=b"embedding")


# --- against torch ----------------------------------------------------------------------------


class Lookup(nn.Module):
    def __init__(self, positions: bool) -> None:
        super().__init__()
        self.tok = nn.Embedding(VOCABULARY, WIDTH)
        self.pos = nn.Embedding(TOKENS, WIDTH) if positions else None

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        out = self.tok(ids)
        if self.pos is not None:
            out = out + self.pos(torch.arange(ids.shape[1]))
        return out


def test_a_token_embedding_selects_the_quantised_rows() -> None:
    torch.manual_seed(1)
    module = Lookup(positions=False).eval()
    model = compile_program(_export(module), _ids(32, 2).numpy()).model
    node = model.nodes[0]
    assert [n.kind for n in model.nodes] == [OpKind.EMBEDDING] and model.input_vocabulary == 50
    ids = _ids(8, 3).numpy()
    real = executor.run(model, quantise_input(model, ids)) * node.scale
    with torch.no_grad():
        reference = module(torch.from_numpy(ids)).numpy()
    assert np.abs(real - reference).max() <= node.scale / 2 + 1e-9


def test_token_plus_position_embeddings_match_torch_within_two_output_steps() -> None:
    torch.manual_seed(2)
    module = Lookup(positions=True).eval()
    model = compile_program(_export(module), _ids(64, 4).numpy()).model
    kinds = [n.kind for n in model.nodes]
    assert kinds == [OpKind.EMBEDDING, OpKind.EMBEDDING, OpKind.ADD]
    assert model.nodes[1].table == tuple(range(TOKENS))
    ids = _ids(16, 5).numpy()
    real = executor.run(model, quantise_input(model, ids)) * model.nodes[2].scale
    with torch.no_grad():
        reference = module(torch.from_numpy(ids)).numpy()
    assert np.abs(real - reference).max() <= 2 * model.nodes[2].scale


def test_the_encoder_keeps_its_predictions_and_its_circuit_round_trips(
    encoder: tuple[nn.Module, QuantisedModel],
) -> None:
    module, model = encoder
    ids = _ids(64, 6)
    predicted = executor.run(model, quantise_input(model, ids.numpy())).argmax(axis=-1)
    with torch.no_grad():
        expected = module(ids).argmax(dim=-1).numpy()
    assert np.mean(predicted == expected) >= 0.9
    circuit = circuit_from_bytes(model.circuit_bytes())
    assert circuit.circuit_bytes() == model.circuit_bytes()
    assert circuit.input_vocabulary == VOCABULARY
    assert model_from_bytes(model_to_bytes(model)).circuit_bytes() == model.circuit_bytes()


# --- proofs -----------------------------------------------------------------------------------


@pytest.mark.parametrize("batch", [1, 3])
def test_an_honest_proof_of_the_exported_encoder_verifies(
    encoder: tuple[nn.Module, QuantisedModel], committed: CommittedModel, batch: int
) -> None:
    ids = _ids(batch, 7 + batch).numpy()
    statement = verify_file(ProofFile.from_bytes(prove(committed, ids, nonce=b"encoder")))
    assert statement["output"] == executor.run(encoder[1], ids).tolist()
    assert statement["input_shape"] == [TOKENS]
    assert statement["soundness_bits"] >= 100


def test_the_statement_carries_the_ids(honest: bytes) -> None:
    statement, model = read_statement(ProofFile.from_bytes(honest).statement)
    assert statement.input_vocabulary == VOCABULARY
    assert statement.inputs.tolist() == _ids(2, 5).tolist()
    assert model.input_vocabulary == VOCABULARY


def test_a_model_of_embeddings_alone_proves() -> None:
    """No LINEAR at all: the weight table holds the two embedding tables and an empty bias."""
    torch.manual_seed(3)
    model = compile_program(_export(Lookup(positions=True)), _ids(32, 8).numpy()).model
    ids = _ids(2, 9).numpy()
    statement = verify_file(ProofFile.from_bytes(prove(commit_model(model), ids, b"lookup")))
    assert statement["output"] == executor.run(model, ids).tolist()


def test_a_large_vocabulary_is_cut_into_column_blocks_and_proves() -> None:
    """V = 2^12 + 2^10 + 5: three blocks of the transposed table, each a stage-A term."""
    vocabulary = (1 << 12) + (1 << 10) + 5
    rng = np.random.default_rng(0)
    table = rng.integers(-127, 128, (vocabulary, 8))
    node = Node("tok", OpKind.EMBEDDING, ("input",), (TOKENS, 8), 0.02, weight=table)
    relu = Node("relu", OpKind.RELU, ("tok",), (TOKENS, 8), 0.02)
    committed = commit_model(QuantisedModel((TOKENS,), 1.0, (node, relu), "relu"))
    assert len(committed.layout.layer("tok").blocks) == 3
    ids = np.array([[0, vocabulary - 1, 4096, 5119, 5120, 17], [3] * TOKENS])
    statement = verify_file(ProofFile.from_bytes(prove(committed, ids, b"blocks")))
    assert statement["output"] == np.maximum(table[ids], 0).tolist()


def test_embeddings_alone_are_refused_with_a_clear_error() -> None:
    node = Node("tok", OpKind.EMBEDDING, ("input",), (TOKENS, 8), 0.02, weight=np.ones((9, 8)))
    committed = commit_model(QuantisedModel((TOKENS,), 1.0, (node,), "tok"))
    with pytest.raises(ProverError, match="looks nothing up"):
        prove(committed, np.zeros((2, TOKENS), dtype=np.int64), b"alone")


def test_the_api_compiles_and_proves_from_files_of_ids(
    encoder: tuple[nn.Module, QuantisedModel], tmp_path: Path
) -> None:
    module, _ = encoder
    torch.export.save(_export(module), tmp_path / "encoder.pt2")
    np.savez(tmp_path / "calibration.npz", inputs=_ids(64, 10).numpy())
    np.savez(tmp_path / "input.npz", inputs=_ids(1, 11).numpy()[0])
    compiled = api.compile_model(
        tmp_path / "encoder.pt2", tmp_path / "calibration.npz", tmp_path / "encoder.vmc"
    )
    assert compiled["input_shape"] == [TOKENS]
    result = api.prove_inference(tmp_path / "encoder.vmc", tmp_path / "input.npz", tmp_path / "p")
    checked = api.verify((tmp_path / "p").read_bytes(), expected_model_digest=compiled["digest"])
    assert checked.accepted and result["output"] == checked.statement["output"]
    np.savez(tmp_path / "bad.npz", inputs=np.full(TOKENS, VOCABULARY, dtype=np.int64))
    with pytest.raises(CompileError, match=r"vocabulary is \[0, 50\)"):
        api.prove_inference(tmp_path / "encoder.vmc", tmp_path / "bad.npz", tmp_path / "q")


# --- hostile ids ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        (np.full((1, TOKENS), VOCABULARY), r"token ids must lie in \[0, 50\)"),
        (np.full((1, TOKENS), -1), r"token ids must lie in \[0, 50\)"),
        (np.full((1, TOKENS), 1.5), "integers"),
        (np.full((1, TOKENS), np.nan), "integers"),
        (np.zeros((1, TOKENS + 1), dtype=np.int64), "shape"),
    ],
)
def test_the_prover_refuses_malformed_ids_with_a_clear_error(
    committed: CommittedModel, ids: np.ndarray, message: str
) -> None:
    with pytest.raises(ProverError, match=message):
        prove(committed, ids, nonce=b"bad")


@pytest.mark.parametrize(
    ("ids", "message"),
    [(np.full((1, TOKENS), 50.0), "vocabulary"), (np.full((1, TOKENS), 0.5), "integers")],
)
def test_quantise_input_refuses_ids_outside_the_vocabulary(
    encoder: tuple[nn.Module, QuantisedModel], ids: np.ndarray, message: str
) -> None:
    with pytest.raises(CompileError, match=message):
        quantise_input(encoder[1], ids)


def _with_statement(honest: bytes, change: Callable[[Any], Any]) -> bytes:
    proof_file = ProofFile.from_bytes(honest)
    statement, _ = read_statement(proof_file.statement)
    return dataclasses.replace(proof_file, statement=change(statement)).to_bytes()


def _with_input_bytes(honest: bytes, payload: bytes) -> bytes:
    """The statement with its input blob replaced by raw bytes (possibly of another length)."""
    proof_file = ProofFile.from_bytes(honest)
    statement, _ = read_statement(proof_file.statement)
    original = np.asarray(statement.inputs, dtype="<u4").tobytes()
    data = proof_file.statement
    start = data.index(original) - 4
    forged = data[:start] + len(payload).to_bytes(4, "little") + payload
    forged += data[start + 4 + len(original) :]
    return dataclasses.replace(proof_file, statement=forged).to_bytes()


def _out_of_range(honest: bytes, value: int) -> bytes:
    ids = np.asarray(read_statement(ProofFile.from_bytes(honest).statement)[0].inputs).copy()
    ids.flat[3] = value
    return _with_input_bytes(honest, ids.astype("<u4").tobytes())


def _changed_id(honest: bytes) -> bytes:
    def change(statement: Any) -> Any:
        inputs = np.array(statement.inputs, copy=True)
        inputs[0, 1] = (inputs[0, 1] + 1) % VOCABULARY
        return dataclasses.replace(statement, inputs=inputs).to_bytes()

    return _with_statement(honest, change)


# --- cheating provers -------------------------------------------------------------------------


def _forge_wrong_row(committed: CommittedModel, monkeypatch: pytest.MonkeyPatch) -> bytes:
    """The token embedding's output takes another row for one token; everything after it is
    computed from that output, so only the embedding's own relation can notice."""
    honest_run = executor.run_node

    def wrong_row(node: Node, values: list[np.ndarray]) -> np.ndarray:
        out = honest_run(node, values)
        if node.kind is OpKind.EMBEDDING and not node.constant_ids:
            out = out.copy()
            out[0, 2] = np.asarray(node.weight)[(values[0][0, 2] + 1) % VOCABULARY]
        return out

    monkeypatch.setattr(executor, "run_node", wrong_row)
    skip_claimed_sum_checks(monkeypatch)
    forged = prove(committed, _ids(2, 5).numpy(), nonce=b"cheat")
    monkeypatch.undo()
    return forged


def _forge_other_ids(committed: CommittedModel, monkeypatch: pytest.MonkeyPatch) -> bytes:
    """The witness is computed on other ids than the statement names (one id changed)."""
    honest_build = prover_module.build_witness

    def build(plan: Any, inputs: np.ndarray) -> Any:
        other = np.array(inputs, copy=True)
        other[1, 4] = (other[1, 4] + 7) % VOCABULARY
        return honest_build(plan, other)

    monkeypatch.setattr(prover_module, "build_witness", build)
    skip_claimed_sum_checks(monkeypatch)
    forged = prove(committed, _ids(2, 5).numpy(), nonce=b"cheat")
    monkeypatch.undo()
    return forged


TAMPERS: dict[str, tuple[Callable[..., bytes], set[Reject], str]] = {
    "wrong_embedding_row": (
        lambda honest, committed, mp: _forge_wrong_row(committed, mp),
        {Reject.ROUND_SUM_MISMATCH},
        "",
    ),
    "witness_of_other_ids": (
        lambda honest, committed, mp: _forge_other_ids(committed, mp),
        {Reject.ROUND_SUM_MISMATCH},
        "",
    ),
    "id_changed_in_the_statement": (
        lambda honest, committed, mp: _changed_id(honest),
        {Reject.OUTPUT_MISMATCH, Reject.IDENTITY_MISMATCH, Reject.ROUND_SUM_MISMATCH},
        "",
    ),
    "id_equal_to_the_vocabulary": (
        lambda honest, committed, mp: _out_of_range(honest, VOCABULARY),
        {Reject.STATEMENT_MISMATCH},
        r"token id 50 at \(0, 3\) outside \[0, 50\)",
    ),
    "id_of_2_to_the_32_minus_1": (
        lambda honest, committed, mp: _out_of_range(honest, (1 << 32) - 1),
        {Reject.STATEMENT_MISMATCH},
        "outside",
    ),
    "ids_blob_truncated": (
        lambda honest, committed, mp: _with_input_bytes(honest, b"\x01\x00\x00"),
        {Reject.STATEMENT_MISMATCH},
        "token ids of 4 bytes",
    ),
    "ids_as_int8_bytes": (
        lambda honest, committed, mp: _with_input_bytes(honest, bytes(2 * TOKENS)),
        {Reject.STATEMENT_MISMATCH},
        "token ids of 4 bytes",
    ),
    "wrong_table_claim": (
        # Column 0 of stage A: the token embedding's first block's claim on its table.
        lambda honest, committed, mp: with_body(honest, lambda p: bump_stage_a_final(p, 0, 0)),
        {Reject.FINAL_EVALUATION_MISMATCH},
        "",
    ),
}


@pytest.mark.parametrize("case", sorted(TAMPERS))
def test_a_tampered_embedding_proof_is_rejected(
    case: str,
    honest: bytes,
    committed: CommittedModel,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make, reasons, detail = TAMPERS[case]
    data = make(honest, committed, monkeypatch)
    with pytest.raises(VerificationError) as caught:
        verify_file(ProofFile.from_bytes(data))
    assert caught.value.reason in reasons, caught.value
    assert re.search(detail, str(caught.value)), caught.value


def test_the_honest_proof_of_the_tamper_table_verifies(honest: bytes) -> None:
    assert verify_file(ProofFile.from_bytes(honest))["batch"] == 2


# --- the IR ---------------------------------------------------------------------------------


def _embedding_model(*extra: Node, **changes: object) -> QuantisedModel:
    table = np.arange(-64, 64).reshape(16, 8) % 127
    node = Node("tok", OpKind.EMBEDDING, ("input",), (TOKENS, 8), 0.02, weight=table)
    node = dataclasses.replace(node, **changes)
    output = extra[-1].name if extra else "tok"
    return QuantisedModel((TOKENS,), 1.0, (node, *extra), output)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"table": (0, 1, 2, 3, 4, 16)}, r"constant ids outside \[0, 16\)"),
        ({"table": (0, 1, 2)}, "3 constant ids for 6 output rows"),
        ({"requant": Requant(0, (1,), 0, False)}, "no bias and no requantisation"),
        ({"weight": np.full((16, 8), 200)}, "embedding table outside"),
        ({"output_shape": (TOKENS, 9)}, "output shape"),
        ({"inputs": ("other",)}, "not computed before it"),
    ],
)
def test_the_ir_refuses_malformed_embeddings(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ModelError, match=message):
        _embedding_model(**changes).validate()


def test_the_ir_refuses_other_readers_of_token_ids() -> None:
    relu = Node("relu", OpKind.RELU, ("input",), (TOKENS,), 1.0)
    with pytest.raises(ModelError, match="reads the input, which holds token ids"):
        _embedding_model(relu).validate()


def test_the_ir_refuses_two_vocabularies_on_one_input() -> None:
    other = Node("tok2", OpKind.EMBEDDING, ("input",), (TOKENS, 8), 0.02, weight=np.ones((9, 8)))
    with pytest.raises(ModelError, match="embeddings of 16 and 9 ids"):
        _embedding_model(other).validate()


def test_int8_models_keep_their_circuit_bytes() -> None:
    """A model without embeddings encodes no id field: its circuit bytes, and so its digest,
    are what they were (the fixture digests of tests/provers/test_proof_files.py also pin
    this)."""
    node = Node("relu", OpKind.RELU, ("input",), (4,), 0.1)
    model = QuantisedModel((4,), 0.1, (node,), "relu")
    assert model.input_vocabulary == 0
    assert b"embedding" not in model.circuit_bytes()

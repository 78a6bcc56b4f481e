"""Inference proofs: honest round trips against the reference executor, the model file, the
API surface, prover/verifier agreement and the honest prover's refusals."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from provers import api
from provers.circuit import executor
from provers.circuit.model import ModelError, QuantisedModel
from provers.circuit.ops import Requant
from provers.container import ProofFile
from provers.errors import ProverError, VerificationError
from provers.inference import CommittedModel, commit_model, examples, prove, verify_file
from provers.inference.layout import UnsupportedCircuit
from provers.inference.plan import ProofPlan
from provers.inference.proof import InferenceProof
from provers.inference.statement import read_statement
from provers.transcript import Transcript

MODELS = {
    "mlp": lambda: examples.mlp((48, 24, 10), seed=1),
    "mlp-784-256-128-10": lambda: examples.mlp(),
    "lenet-avg": lambda: examples.lenet("avg"),
    "lenet-max": lambda: examples.lenet("max"),
    "residual": lambda: examples.residual_cnn(),
}
_COMMITTED: dict[str, CommittedModel] = {}


def committed(name: str) -> CommittedModel:
    if name not in _COMMITTED:
        _COMMITTED[name] = commit_model(MODELS[name]())
    return _COMMITTED[name]


def inputs_for(model: QuantisedModel, batch: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(-128, 128, (batch, *model.input_shape))


def round_trip(name: str, batch: int) -> None:
    model = committed(name)
    inputs = inputs_for(model.model, batch, seed=batch)
    data = prove(model, inputs, nonce=b"round trip")
    statement = verify_file(ProofFile.from_bytes(data))
    assert statement["output"] == executor.run(model.model, inputs).tolist()
    assert statement["model_digest"] == model.digest
    assert statement["batch"] == batch
    assert statement["nonce"] == b"round trip".hex()
    assert statement["soundness_bits"] >= 100


@pytest.mark.parametrize(
    ("name", "batch"),
    [
        ("mlp", 1),
        ("mlp", 3),
        ("mlp-784-256-128-10", 1),
        ("residual", 1),
        ("residual", 3),
        ("lenet-avg", 1),
        ("lenet-max", 1),
    ],
)
def test_an_honest_proof_verifies_and_states_the_executors_output(name: str, batch: int) -> None:
    round_trip(name, batch)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "batch"),
    [("mlp-784-256-128-10", 3), ("lenet-avg", 3), ("lenet-max", 3), ("residual", 5)],
)
def test_larger_batches_verify(name: str, batch: int) -> None:
    round_trip(name, batch)


def test_the_api_accepts_the_right_model_and_names_a_wrong_one() -> None:
    model, other = committed("mlp"), commit_model(examples.mlp((48, 24, 10), seed=2))
    data = prove(model, inputs_for(model.model, 1))
    assert api.verify(data, expected_model_digest=model.digest).accepted
    result = api.verify(data, expected_model_digest=other.digest)
    assert not result.accepted and result.reason == "wrong_model"


def test_prover_and_verifier_draw_the_same_challenges(monkeypatch: pytest.MonkeyPatch) -> None:
    drawn: list[list[tuple[str, bytes]]] = [[]]
    original = Transcript.challenge_exts

    def recording(self: Transcript, label: str, n: int) -> np.ndarray:
        value = original(self, label, n)
        drawn[-1].append((label, value.tobytes()))
        return value

    monkeypatch.setattr(Transcript, "challenge_exts", recording)
    model = committed("residual")
    data = prove(model, inputs_for(model.model, 1))
    drawn.append([])
    verify_file(ProofFile.from_bytes(data))
    assert len(drawn[0]) > 50
    assert drawn[0] == drawn[1]


def test_the_proof_body_encoding_round_trips() -> None:
    model = committed("residual")
    proof_file = ProofFile.from_bytes(prove(model, inputs_for(model.model, 2)))
    statement, _ = read_statement(proof_file.statement)
    proof = InferenceProof.from_bytes(proof_file.body, statement.weight_commitment)
    assert proof.to_bytes() == proof_file.body


def test_a_random_nonce_makes_every_proof_different() -> None:
    model = committed("mlp")
    inputs = inputs_for(model.model, 1)
    first, second = prove(model, inputs), prove(model, inputs)
    assert first != second
    assert ProofFile.from_bytes(first).statement != ProofFile.from_bytes(second).statement


def test_the_model_file_round_trips_and_proves_without_recommitting() -> None:
    model = committed("residual")
    loaded = CommittedModel.from_bytes(model.to_bytes())
    assert loaded.digest == model.digest
    assert loaded.commitment == model.commitment
    data = prove(loaded, inputs_for(loaded.model, 1))
    assert verify_file(ProofFile.from_bytes(data))["model_digest"] == model.digest


@pytest.mark.parametrize("where", ["magic", "truncated", "extended", "codeword"])
def test_a_damaged_model_file_is_refused(where: str) -> None:
    data = bytearray(committed("residual").to_bytes())
    if where == "magic":
        data[0] ^= 1
    elif where == "truncated":
        data = data[:-5]
    elif where == "extended":
        data += b"\x00"
    else:
        data[-32 * 64 - 100] ^= 0xFF
    with pytest.raises(ModelError):
        CommittedModel.from_bytes(bytes(data))


def test_the_honest_prover_refuses_to_claim_another_output() -> None:
    model = committed("mlp")
    inputs = inputs_for(model.model, 2)
    wrong = executor.run(model.model, inputs).copy()
    wrong[1, 3] = (wrong[1, 3] + 1) if wrong[1, 3] < 127 else 126
    with pytest.raises(ProverError, match="claimed output"):
        prove(model, inputs, claimed_outputs=wrong)


def test_a_requantisation_outside_the_sound_range_is_refused() -> None:
    model = examples.mlp((16, 8), seed=3)
    node = model.nodes[0]
    assert node.requant is not None
    too_far = dataclasses.replace(node, requant=dataclasses.replace(node.requant, shift2=35))
    bad = dataclasses.replace(model, nodes=(too_far,))
    # The IR's own validation refuses it before any commitment, and the prover's planner
    # refuses it independently.
    with pytest.raises(UnsupportedCircuit, match="shift2"):
        ProofPlan(bad, 1, 8)
    with pytest.raises(ModelError, match="shift"):
        commit_model(bad)


def test_a_single_multiplier_needs_no_multiplier_sumcheck() -> None:
    model = examples.mlp((16, 8), seed=4)
    node = model.nodes[0]
    assert node.requant is not None
    single = Requant(node.requant.shift1, (20000,), node.requant.shift2, True)
    changed = dataclasses.replace(model, nodes=(dataclasses.replace(node, requant=single),))
    round_model = commit_model(changed)
    inputs = inputs_for(changed, 2)
    statement = verify_file(ProofFile.from_bytes(prove(round_model, inputs)))
    assert statement["output"] == executor.run(changed, inputs).tolist()


def test_proofs_only_decode_from_their_own_bytes() -> None:
    model = committed("mlp")
    data = prove(model, inputs_for(model.model, 1))
    for cut in (1, 100, len(data) // 2):
        with pytest.raises(VerificationError):
            verify_file(ProofFile.from_bytes(data[:-cut]))


def test_the_inference_benchmark_runs_at_a_tiny_size() -> None:
    from benchmarks.inference import benchmark_inference

    figures = benchmark_inference("tiny")
    assert figures["soundness_bits"] >= 100 and figures["proof_bytes"] > 0


def test_private_weights_are_refused_until_the_opening_budget_commitment_exists() -> None:
    model = committed("mlp")
    with pytest.raises(ProverError, match="private weights"):
        prove(model, inputs_for(model.model, 1), private=frozenset({"weights"}))


def test_a_private_input_goes_through_the_private_mode() -> None:
    from provers.container import Protocol

    model = committed("mlp")
    data = prove(model, inputs_for(model.model, 1), private=frozenset({"input"}))
    assert ProofFile.from_bytes(data).protocol is Protocol.PRIVATE_INFERENCE


def test_a_convolution_cut_into_column_blocks_proves() -> None:
    from provers.inference.examples import ModelBuilder
    from provers.inference.weights import weight_layout

    builder = ModelBuilder((64, 4, 4), seed=9)
    builder.conv(256, 3, padding=1)
    builder.flatten()
    builder.linear(5, relu=False)
    model = builder.build()
    assert len(weight_layout(model).layers[0].blocks) == 2
    committed_model = commit_model(model)
    inputs = inputs_for(model, 1)
    statement = verify_file(ProofFile.from_bytes(prove(committed_model, inputs)))
    assert statement["output"] == executor.run(model, inputs).tolist()


def test_a_plan_whose_one_lookup_run_is_too_weak_runs_it_twice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A model with many lookup rows (MiniLM: 2^25.6) gets a second lookup run with fresh
    challenges; the same rule, forced on a small model, gives a two-run proof that verifies,
    and a verifier expecting one run refuses it."""
    from provers.inference import plan as plan_module
    from provers.inference.proof import InferenceProof

    model = committed("mlp")
    x = inputs_for(model.model, 1)
    monkeypatch.setattr(plan_module, "ONE_RUN_MIN_BITS", 1000)
    data = prove(model, x)
    proof_file = ProofFile.from_bytes(data)
    statement = verify_file(proof_file)
    assert statement["output"] == executor.run(model.model, x).tolist()
    from provers.inference.statement import read_statement

    weights = read_statement(proof_file.statement)[0].weight_commitment
    body = InferenceProof.from_bytes(proof_file.body, weights, extra_runs=1)
    assert len(body.extra_lookups) == 1
    monkeypatch.setattr(plan_module, "ONE_RUN_MIN_BITS", 101)
    with pytest.raises(VerificationError):
        verify_file(proof_file)

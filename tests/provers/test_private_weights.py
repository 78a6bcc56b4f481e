"""Private weights: a model committed hidden for a budget of proofs, and proofs that keep its
weights private (alone or with the input, the output, or both; and in accuracy audits)."""

from __future__ import annotations

import dataclasses
from functools import lru_cache

import numpy as np
import pytest

from provers.circuit import executor
from provers.circuit.model import ModelError
from provers.container import ProofFile
from provers.errors import ProverError, Reject, VerificationError
from provers.field import base, ext
from provers.inference import commit_model, examples
from provers.poly import multilinear
from provers.private import (
    audit_plan,
    commit_private_dataset,
    prove_private,
    prove_private_audit,
    verify_private_audit_file,
    verify_private_file,
)
from provers.private import protocol as private_protocol
from provers.private.model import HiddenModel, commit_hidden_model
from provers.private.proof import PrivateProof
from provers.private.statement import read_private_statement
from tests.provers.test_private_inference import _decoded, _plus_one, _rank_mod_p

P = base.P
WEIGHTS = frozenset({"weights"})
MODES = {
    "weights": WEIGHTS,
    "weights+input": WEIGHTS | {"input"},
    "weights+output": WEIGHTS | {"output"},
    "all": WEIGHTS | {"input", "output"},
}
TICKETS = 4


def hidden(seed: int = 1, tickets: int = TICKETS) -> HiddenModel:
    model = examples.mlp((32, 16, 8), seed=seed)
    return commit_hidden_model(model, tickets=tickets, rng=np.random.default_rng(seed))


def inputs(seed: int, batch: int = 2) -> np.ndarray:
    return np.random.default_rng(seed).integers(-128, 128, (batch, 32))


@lru_cache(maxsize=1)
def honest() -> tuple[bytes, HiddenModel]:
    committed = hidden()
    return prove_private(committed, inputs(3), WEIGHTS, rng=np.random.default_rng(5)), committed


def rejection(data: bytes) -> VerificationError:
    with pytest.raises(VerificationError) as caught:
        verify_private_file(ProofFile.from_bytes(data))
    return caught.value


@pytest.mark.parametrize("mode", sorted(MODES))
def test_each_privacy_mode_with_private_weights_round_trips(mode: str) -> None:
    committed, x = hidden(), inputs(11)
    public = verify_private_file(ProofFile.from_bytes(prove_private(committed, x, MODES[mode])))
    assert public["model_digest"] == committed.digest
    assert public["private"] == [p for p in ("weights", "input", "output") if p in MODES[mode]]
    expected = executor.run(committed.model, x).tolist()
    assert public["output"] == (None if "output" in MODES[mode] else expected)


@pytest.mark.timeout(300)
def test_the_mlp_benchmark_model_proves_with_private_weights() -> None:
    model = examples.mlp((784, 256, 128, 10), seed=2)
    committed = commit_hidden_model(model, tickets=16)
    x = np.random.default_rng(1).integers(-128, 128, (1, 784))
    data = prove_private(committed, x, WEIGHTS | {"input"})
    public = verify_private_file(ProofFile.from_bytes(data))
    assert public["output"] == executor.run(model, x).tolist()
    assert public["soundness_bits"] >= 100
    assert committed.digest != commit_model(model).digest


def test_a_hidden_models_digest_differs_from_its_public_one_and_each_kind_keeps_its_own() -> None:
    committed = hidden()
    public = commit_model(committed.model)
    assert committed.digest != public.digest
    with pytest.raises(ProverError, match="committed hidden"):
        prove_private(committed, inputs(1), frozenset({"input"}))
    with pytest.raises(ProverError, match="hidden weights"):
        prove_private(public, inputs(1), WEIGHTS)


def test_the_budget_of_proofs_is_kept_and_then_refused() -> None:
    committed = hidden(tickets=2)
    for seed in range(2):
        verify_private_file(ProofFile.from_bytes(prove_private(committed, inputs(seed), WEIGHTS)))
    assert committed.proofs_left == 0
    with pytest.raises(ProverError, match="served all 2 proofs"):
        prove_private(committed, inputs(9), WEIGHTS)


def test_a_budget_the_weight_table_cannot_hide_is_refused_before_committing() -> None:
    with pytest.raises(ProverError, match="too few to hide its values over 40 proofs"):
        hidden(tickets=40)


def test_a_model_the_private_mode_cannot_prove_is_refused_before_committing() -> None:
    with pytest.raises(ProverError, match="private weights: the private mode proves MLPs"):
        commit_hidden_model(examples.residual_cnn(), tickets=2)


def test_a_hidden_model_file_round_trips_with_its_spent_tickets() -> None:
    committed = hidden(tickets=3)
    prove_private(committed, inputs(2), WEIGHTS)
    loaded = HiddenModel.from_bytes(committed.to_bytes())
    assert loaded.digest == committed.digest and loaded.proofs_left == 2
    data = prove_private(loaded, inputs(4), WEIGHTS | {"output"})
    verify_private_file(ProofFile.from_bytes(data))
    blob = bytearray(committed.to_bytes())
    for cut in (3, 40, len(blob) // 2):
        with pytest.raises(ModelError):
            HiddenModel.from_bytes(bytes(blob[:cut]))
    noise_at = blob.find(np.asarray(committed.noise[:4], "<u4").tobytes())
    blob[noise_at] ^= 1
    with pytest.raises(ModelError):
        HiddenModel.from_bytes(bytes(blob))


# ---- wrong statements and cheating provers ----


def _statement_bytes(data: bytes, **changes: object) -> bytes:
    proof_file = ProofFile.from_bytes(data)
    statement, _ = read_private_statement(proof_file.statement)
    changed = dataclasses.replace(statement, **changes)
    return dataclasses.replace(proof_file, statement=changed.to_bytes()).to_bytes()


def test_a_changed_output_is_rejected() -> None:
    data, committed = honest()
    outputs = executor.run(committed.model, inputs(3))
    outputs[0, 0] = 0 if outputs[0, 0] else 1
    assert rejection(_statement_bytes(data, outputs=outputs)).reason is Reject.ROUND_SUM_MISMATCH


def test_a_proof_relabelled_as_another_hidden_models_is_rejected() -> None:
    data, _ = honest()
    other = hidden(seed=2)
    relabelled = _statement_bytes(
        data, digest=bytes.fromhex(other.digest), weight_commitment=other.commitment
    )
    assert rejection(relabelled).reason in {Reject.ROUND_SUM_MISMATCH, Reject.STATEMENT_MISMATCH}
    digest_only = _statement_bytes(data, digest=bytes.fromhex(other.digest))
    assert rejection(digest_only).reason is Reject.STATEMENT_MISMATCH


def test_a_proof_checked_against_another_models_digest_is_rejected() -> None:
    from provers import api

    data, committed = honest()
    result = api.verify(data, expected_model_digest=commit_model(committed.model).digest)
    assert not result.accepted and result.reason == Reject.WRONG_MODEL.value
    assert api.verify(data, expected_model_digest=committed.digest).accepted


def test_weights_changed_after_the_commitment_are_rejected() -> None:
    """A prover that proves with other weights than it committed (one weight + 1, the
    executor and every table following the change): the hidden model's opening at stage C's
    point disagrees with the value the relations reduced to."""
    committed = hidden()
    weight = np.asarray(committed.model.node("fc0").weight)
    weight[0, 0] = weight[0, 0] + 1 if weight[0, 0] < 127 else 126
    data = prove_private(committed, inputs(5), WEIGHTS)
    assert rejection(data).reason is Reject.EVALUATION_MISMATCH


# ---- the tamper table of the new fields ----


def _bias_final(proof: PrivateProof) -> PrivateProof:
    """The first bias term's value: after layer 0's matrix-product term (one final value)."""
    return dataclasses.replace(proof, relation_finals=_plus_one(proof.relation_finals, (0, 1)))


def _model_rows(proof: PrivateProof) -> PrivateProof:
    trees = list(proof.opening.trees)
    tree = trees[2]
    trees[2] = dataclasses.replace(tree, evaluation_rows=_plus_one(tree.evaluation_rows, (0, 0, 2)))
    return dataclasses.replace(
        proof, opening=dataclasses.replace(proof.opening, trees=tuple(trees))
    )


def _model_columns(proof: PrivateProof) -> PrivateProof:
    trees = list(proof.opening.trees)
    trees[2] = dataclasses.replace(trees[2], columns=_plus_one(trees[2].columns, (0, 0)))
    return dataclasses.replace(
        proof, opening=dataclasses.replace(proof.opening, trees=tuple(trees))
    )


TAMPER = {
    "model_value": (
        lambda proof: dataclasses.replace(proof, model_value=_plus_one(proof.model_value, (1,))),
        Reject.FINAL_EVALUATION_MISMATCH,
    ),
    "relation_finals.bias": (_bias_final, Reject.FINAL_EVALUATION_MISMATCH),
    "opening.model_rows": (_model_rows, Reject.EVALUATION_MISMATCH),
    "opening.model_columns": (_model_columns, Reject.MERKLE_PATH_INVALID),
    "biases.added": (
        lambda proof: dataclasses.replace(proof, biases=np.zeros((4, 1), np.int64)),
        Reject.LENGTH_OUT_OF_BOUNDS,
    ),
}


@pytest.mark.parametrize("name", sorted(TAMPER))
def test_tamper_table(name: str) -> None:
    data, _ = honest()
    proof_file, proof, params = _decoded(data)
    edit, expected = TAMPER[name]
    body = edit(proof).to_bytes(params.pcs)  # type: ignore[attr-defined]
    error = rejection(dataclasses.replace(proof_file, body=body).to_bytes())
    assert error.reason is expected, error


def test_the_weights_privacy_flag_must_match_the_commitment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from provers.private import statement as statement_module

    data, _ = honest()
    proof_file = ProofFile.from_bytes(data)
    parsed, _ = read_private_statement(proof_file.statement)
    monkeypatch.setattr(statement_module, "PRIVATE_WEIGHTS", 0)
    unflagged = dataclasses.replace(parsed, private_output=True).to_bytes()
    monkeypatch.undo()
    error = rejection(dataclasses.replace(proof_file, statement=unflagged).to_bytes())
    assert error.reason is Reject.STATEMENT_MISMATCH
    assert "privacy flag" in error.detail


def test_hostile_bytes_only_raise_verification_errors() -> None:
    data, _ = honest()
    rng = np.random.default_rng(9)
    cases = [data[:cut] for cut in (0, 10, len(data) // 3, len(data) - 1)]
    for _ in range(20):
        position = int(rng.integers(len(data)))
        cases.append(data[:position] + bytes([data[position] ^ 0x41]) + data[position + 1 :])
    for case in cases:
        with pytest.raises(VerificationError):
            verify_private_file(ProofFile.from_bytes(case))


# ---- zero knowledge of the weights, over the whole budget ----


def _distinct(claims: list) -> list:
    """Claims at distinct points (terms of one size share the sumcheck's point, so the bias
    terms of one proof claim one value twice)."""
    seen = {(c.zeta.tobytes(), c.offset, c.local.tobytes()): c for c in claims}
    return list(seen.values())


def _model_claim_rows(claims: list, size: int) -> np.ndarray:
    """Each claim's linear map from T′ (ζ·eq(point, ·)), four base-field rows per claim."""
    rows = []
    for claim in claims:
        coefficients = np.zeros((4, size), dtype=np.int64)
        eq = multilinear.eq_table(claim.local)
        coefficients[:, claim.offset : claim.offset + eq.shape[1]] = ext.mul(eq, claim.zeta)
        rows.extend(coefficients)
    return np.stack(rows)


def test_every_value_revealed_of_the_weights_over_the_budget_is_masked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Over every proof a hidden model serves, the values the verifier sees of the doubled
    weight table are (1 − ζ)·T(p) + ζ·T′(p): jointly uniform whatever T holds when the map
    from T′ to them has full rank. Checked on all four proofs of one commitment, stage C's
    points included; the control shows the same map over more claims than T′ has entries
    cannot be of full rank (the bound the budget check enforces)."""
    committed = hidden()
    captured: list = []
    honest_draw = private_protocol.draw_claim_weights

    def draw(transcript: object, claims: list, label: str = "claims") -> np.ndarray:
        if label == "model_claims":
            captured.extend(claims)
        return honest_draw(transcript, claims, label)  # type: ignore[arg-type]

    proofs = [prove_private(committed, inputs(20 + i), WEIGHTS) for i in range(TICKETS)]
    monkeypatch.setattr(private_protocol, "draw_claim_weights", draw)
    for data in proofs:
        verify_private_file(ProofFile.from_bytes(data))
    size = 1 << committed.layout.log_size
    claims = _distinct(captured)
    matrix = _model_claim_rows(claims, size)
    assert matrix.shape[0] == 4 * TICKETS * 3
    assert _rank_mod_p(matrix) == matrix.shape[0]
    rng = np.random.default_rng(3)
    extra = [
        private_protocol.WitnessClaim(
            ext.random((1,), rng)[:, 0], 0, ext.random((committed.layout.log_size,), rng), None
        )
        for _ in range(size // 4 + 1 - len(claims))
    ]
    leaky = np.concatenate([matrix, _model_claim_rows(extra, size)])
    assert _rank_mod_p(leaky) < leaky.shape[0]


# ---- accuracy audits with private weights and private test inputs ----


def test_an_audit_keeps_the_weights_and_the_test_inputs_private() -> None:
    committed = commit_hidden_model(
        examples.mlp((32, 16, 8), seed=1), tickets=2, rng=np.random.default_rng(1)
    )
    rng = np.random.default_rng(0)
    x = rng.integers(-128, 128, (40, 32))
    labels = np.argmax(executor.run(committed.model, x), axis=1)
    labels[::3] = rng.integers(0, 8, labels[::3].shape)
    plan = audit_plan(committed, 40)
    digest = bytes.fromhex(committed.digest)
    dataset = commit_private_dataset(plan, digest, x, labels, committed.commitment.params)
    public = verify_private_audit_file(
        ProofFile.from_bytes(prove_private_audit(committed, dataset))
    )
    predictions = np.argmax(executor.run(committed.model, x), axis=1)
    assert public["correct"] == int(np.sum(predictions == labels))
    assert public["n"] == 40

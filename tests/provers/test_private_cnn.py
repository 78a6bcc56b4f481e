"""The private mode on CNNs: LeNet-5 with average and max pooling, its convolutions' window
stage, the pools' relations, and what the proofs reveal."""

from __future__ import annotations

import dataclasses
from functools import lru_cache

import numpy as np
import pytest

from provers.circuit import executor
from provers.container import ProofFile
from provers.errors import Reject, VerificationError
from provers.field import base, ext
from provers.inference import commit_model, examples
from provers.inference.model_commitment import CommittedModel
from provers.poly import multilinear
from provers.private import (
    audit_plan,
    commit_hidden_model,
    commit_private_dataset,
    prove_private,
    prove_private_audit,
    verify_private_audit_file,
    verify_private_file,
)
from provers.private import protocol as private_protocol
from provers.private.plan import PrivatePlan
from provers.private.proof import PrivateProof
from tests.provers.test_private_inference import (
    _cheat,
    _decoded,
    _plus_one,
    _rank_mod_p,
    _vector,
)

P = base.P
MODES = {
    "input": frozenset({"input"}),
    "output": frozenset({"output"}),
    "input+output": frozenset({"input", "output"}),
}


@lru_cache(maxsize=2)
def lenet(pool: str) -> CommittedModel:
    return commit_model(examples.lenet(pool), range_proof=False)


def images(seed: int, batch: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).integers(-128, 128, (batch, 1, 28, 28))


@lru_cache(maxsize=2)
def honest(pool: str) -> bytes:
    return prove_private(lenet(pool), images(3), MODES["input"], rng=np.random.default_rng(5))


def rejection(data: bytes) -> VerificationError:
    with pytest.raises(VerificationError) as caught:
        verify_private_file(ProofFile.from_bytes(data))
    return caught.value


@pytest.mark.timeout(300)
@pytest.mark.parametrize("pool", ["avg", "max"])
@pytest.mark.parametrize("mode", sorted(MODES))
def test_lenet_round_trips_in_each_privacy_mode(pool: str, mode: str) -> None:
    committed, x = lenet(pool), images(11)
    data = prove_private(committed, x, MODES[mode])
    public = verify_private_file(ProofFile.from_bytes(data))
    assert public["soundness_bits"] >= 100
    expected = executor.run(committed.model, x).tolist()
    assert public["output"] == (None if "output" in mode else expected)


@pytest.mark.timeout(300)
def test_lenet_with_hidden_weights_and_a_batch_proves() -> None:
    model = examples.lenet("max")
    committed = commit_hidden_model(model, tickets=2, rng=np.random.default_rng(1))
    x = images(4, batch=2)
    data = prove_private(committed, x, frozenset({"weights", "input"}))
    public = verify_private_file(ProofFile.from_bytes(data))
    assert public["private"] == ["weights", "input"]
    assert public["output"] == executor.run(model, x).tolist()


@pytest.mark.timeout(300)
def test_a_private_audit_of_a_cnn_counts_what_the_executor_counts() -> None:
    committed = lenet("avg")
    rng = np.random.default_rng(2)
    x = rng.integers(-128, 128, (8, 1, 28, 28))
    labels = np.argmax(executor.run(committed.model, x), axis=1)
    labels[::3] = rng.integers(0, 10, labels[::3].shape)
    plan = audit_plan(committed, 8)
    digest = bytes.fromhex(committed.digest)
    dataset = commit_private_dataset(plan, digest, x, labels, committed.commitment.params)
    public = verify_private_audit_file(
        ProofFile.from_bytes(prove_private_audit(committed, dataset))
    )
    predictions = np.argmax(executor.run(committed.model, x), axis=1)
    assert public["correct"] == int(np.sum(predictions == labels)) and public["n"] == 8


def test_the_proof_bytes_hold_no_private_image() -> None:
    data = honest("max")
    x = images(3)
    for row in range(4, 20, 5):
        assert x[0, 0, row].astype(np.int8).tobytes() not in data
    verify_private_file(ProofFile.from_bytes(data))


# ---- cheating provers ----


def _layer(plan: PrivatePlan, kind: str) -> str:
    return next(layer.node for layer in plan.layers if layer.kind.value == kind)


def _cheat_on(monkeypatch: pytest.MonkeyPatch, pool: str, edit: object) -> VerificationError:
    data = _cheat(monkeypatch, edit, lenet(pool), images(3))  # type: ignore[arg-type]
    monkeypatch.undo()
    return rejection(data)


@pytest.mark.parametrize("pool", ["avg", "max"])
def test_a_convolutions_wrong_rounding_limb_is_rejected(
    pool: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def edit(plan: PrivatePlan, table: np.ndarray) -> None:
        limb = _vector(plan, _layer(plan, "conv2d"), "r1_0", table)
        limb[0] = (limb[0] + 1) % P

    error = _cheat_on(monkeypatch, pool, edit)
    assert error.reason is Reject.ROUND_SUM_MISMATCH and "relations" in error.detail


def test_an_average_pools_wrong_window_sum_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pool's t (its window sum, the shift before rounding being 0) one larger in one
    entry, still within its limb's range: identity (1) against the window term fails."""

    def edit(plan: PrivatePlan, table: np.ndarray) -> None:
        limb = _vector(plan, _layer(plan, "avgpool2d"), "tau0", table)
        entry = int(np.flatnonzero((limb > 0) & (limb < 200))[0])
        limb[entry] += 1

    error = _cheat_on(monkeypatch, "avg", edit)
    assert error.reason is Reject.ROUND_SUM_MISMATCH and "relations" in error.detail


def test_a_max_pool_output_above_every_window_entry_is_rejected(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At a padded output position every d_k and y are 0: the cheat sets y = 1 and every
    d_k = 1, so each tie y − d_k = X_k = 0 and each range check hold, and no later layer reads
    the position; only the product check Π d_k = 0 fails."""

    def edit(plan: PrivatePlan, table: np.ndarray) -> None:
        name = _layer(plan, "maxpool2d")
        layer = plan.layer(name)
        padded = layer.layout.padded_shape
        position = np.ravel_multi_index((0, 0, padded[2] - 1, 0), padded)
        _vector(plan, name, "y", table)[position] = 1
        for k in range(layer.offsets):
            _vector(plan, name, f"d{k}", table)[position] = 1

    error = _cheat_on(monkeypatch, "max", edit)
    assert error.reason is Reject.ROUND_SUM_MISMATCH and "relations" in error.detail


def test_a_window_difference_not_tied_to_the_input_is_rejected(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One d_0 one larger where another offset holds the maximum: the product and range
    checks hold, the tie of offset 0 to the input does not."""

    def edit(plan: PrivatePlan, table: np.ndarray) -> None:
        name = _layer(plan, "maxpool2d")
        layer = plan.layer(name)
        first = _vector(plan, name, "d0", table)
        others = [_vector(plan, name, f"d{k}", table) for k in range(1, layer.offsets)]
        zero_elsewhere = np.any([o == 0 for o in others], axis=0)
        candidates = np.flatnonzero(zero_elsewhere & (first > 0) & (first < 200))
        first[candidates[0]] += 1

    error = _cheat_on(monkeypatch, "max", edit)
    assert error.reason is Reject.ROUND_SUM_MISMATCH and "relations" in error.detail


# ---- the window stage's fields ----


def _windows_rounds(proof: PrivateProof) -> PrivateProof:
    from provers.sumcheck.proof import SumcheckProof

    assert proof.windows is not None
    rounds = SumcheckProof(_plus_one(proof.windows.sumcheck.round_polys, (1, 0, 1)))
    windows = dataclasses.replace(proof.windows, sumcheck=rounds)
    return dataclasses.replace(proof, windows=windows)


TAMPER = {
    "windows.rounds": (_windows_rounds, Reject.ROUND_SUM_MISMATCH),
    "window_finals": (
        lambda proof: dataclasses.replace(
            proof, window_finals=_plus_one(proof.window_finals, (0, 0))
        ),
        Reject.FINAL_EVALUATION_MISMATCH,
    ),
    "relation_finals.patch": (
        lambda proof: dataclasses.replace(
            proof, relation_finals=_plus_one(proof.relation_finals, (2, 1))
        ),
        Reject.FINAL_EVALUATION_MISMATCH,
    ),
}


@pytest.mark.parametrize("name", sorted(TAMPER))
def test_tamper_table(name: str) -> None:
    proof_file, proof, params = _decoded(honest("max"))
    edit, expected = TAMPER[name]
    body = edit(proof).to_bytes(params.pcs)  # type: ignore[attr-defined,operator]
    error = rejection(dataclasses.replace(proof_file, body=body).to_bytes())
    assert error.reason is expected, error


def test_hostile_bytes_only_raise_verification_errors() -> None:
    data = honest("avg")
    rng = np.random.default_rng(9)
    cases = [data[:cut] for cut in (0, 10, len(data) // 3, len(data) - 1)]
    for _ in range(12):
        position = int(rng.integers(len(data)))
        cases.append(data[:position] + bytes([data[position] ^ 0x41]) + data[position + 1 :])
    for case in cases:
        with pytest.raises(VerificationError):
            verify_private_file(ProofFile.from_bytes(case))


# ---- zero knowledge ----


@pytest.mark.parametrize("pool", ["avg", "max"])
def test_every_revealed_witness_value_is_a_full_rank_image_of_the_random_half(
    pool: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As for MLPs (tests/provers/test_private_inference.py), with the convolutions' window
    stage and the pools' window terms: the claims on each slot — the slots are disjoint, so the
    map is block-diagonal — have full rank over the slot's random half."""
    captured: list = []
    honest_draw = private_protocol.draw_claim_weights

    def draw(transcript: object, claims: list, label: str = "claims") -> np.ndarray:
        if label == "claims":
            captured.extend(claims)
        return honest_draw(transcript, claims, label)  # type: ignore[arg-type]

    data = honest(pool)
    monkeypatch.setattr(private_protocol, "draw_claim_weights", draw)
    verify_private_file(ProofFile.from_bytes(data))
    distinct = {(c.zeta.tobytes(), c.offset, c.local.tobytes()): c for c in captured}
    by_slot: dict[int, list] = {}
    for claim in distinct.values():
        by_slot.setdefault(claim.offset, []).append(claim)
    assert len(by_slot) > 20
    for offset, claims in by_slot.items():
        width = 1 << claims[0].local.shape[1]
        rows = []
        for claim in claims:
            eq = multilinear.eq_table(claim.local)
            rows.extend(np.asarray(ext.mul(eq, claim.zeta)).reshape(4, width))
        matrix = np.stack(rows)
        assert _rank_mod_p(matrix) == matrix.shape[0], offset

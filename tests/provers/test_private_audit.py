"""Accuracy audits with private test inputs (provers/private, ``prove_private_audit``): the
hospital scenario end to end through the API, the proven counts equal the integer executor's,
no test input value in the proof bytes, and a tamper table over the statement and the fields
an audit adds to the private proof."""

from __future__ import annotations

import csv
import dataclasses
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from provers import api
from provers.audit.statement import read_statement
from provers.circuit import executor
from provers.container import ProofFile
from provers.errors import ProverError, Reject, VerificationError
from provers.field import base
from provers.inference import commit_model, examples
from provers.inference.model_commitment import CommittedModel
from provers.private import (
    PrivateDataset,
    audit_plan,
    commit_private_dataset,
    prove_private_audit,
    verify_private_audit_file,
)

P = base.P
CLASSES = 8
SAMPLES = 40


@lru_cache(maxsize=2)
def committed(seed: int = 1) -> CommittedModel:
    return commit_model(examples.mlp((32, 16, CLASSES), seed=seed))


@lru_cache(maxsize=1)
def audit_set() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.integers(-128, 128, (SAMPLES, 32))
    labels = np.argmax(executor.run(committed().model, x), axis=1)
    labels[::3] = rng.integers(0, CLASSES, labels[::3].shape)
    return x, labels


def commit(x: np.ndarray, labels: np.ndarray, rng: np.random.Generator | None = None) -> object:
    model = committed()
    plan = audit_plan(model, x.shape[0])
    digest = bytes.fromhex(model.digest)
    return commit_private_dataset(plan, digest, x, labels, model.commitment.params, rng)


@lru_cache(maxsize=1)
def honest() -> bytes:
    x, labels = audit_set()
    dataset = commit(x, labels, np.random.default_rng(4))
    return prove_private_audit(committed(), dataset, nonce=b"audit", rng=np.random.default_rng(5))


def reason(data: bytes) -> Reject:
    with pytest.raises(VerificationError) as caught:
        verify_private_audit_file(ProofFile.from_bytes(data))
    return caught.value.reason


def test_the_proven_counts_are_the_integer_executors() -> None:
    x, labels = audit_set()
    public = verify_private_audit_file(ProofFile.from_bytes(honest()))
    predicted = np.argmax(executor.run(committed().model, x), axis=1)
    assert public["correct"] == int((predicted == labels).sum())
    assert public["n"] == SAMPLES and public["private_input"] is True
    for row in public["classes"]:
        c = row["label"]
        assert row["total"] == int((labels == c).sum())
        assert row["correct"] == int(((labels == c) & (predicted == c)).sum())
    assert public["soundness_bits"] >= 100


def test_the_proof_bytes_hold_no_test_input_values() -> None:
    x, _ = audit_set()
    data = honest()
    for row in x[:10]:
        assert row.astype(np.int8).tobytes()[:12] not in data
        assert (row % P).astype("<u4").tobytes()[:24] not in data


def test_a_false_count_is_refused_by_the_prover(monkeypatch: pytest.MonkeyPatch) -> None:
    """The prover's own group check refuses counts that are not the executor's."""
    from provers.private import prover as private_prover

    x, labels = audit_set()
    honest_counts = private_prover.counts

    def wrong(logits: np.ndarray, labels: np.ndarray, classes: int) -> tuple:
        totals, hits = honest_counts(logits, labels, classes)
        hits = hits.copy()
        hits[0] += 1
        return totals, hits

    monkeypatch.setattr(private_prover, "counts", wrong)
    with pytest.raises(ProverError, match="group"):
        prove_private_audit(committed(), commit(x, labels))


def _with_statement(**changes: object) -> bytes:
    proof_file = ProofFile.from_bytes(honest())
    statement, _ = read_statement(proof_file.statement)
    changed = dataclasses.replace(statement, **changes)
    return dataclasses.replace(proof_file, statement=changed.to_bytes()).to_bytes()


def _statement() -> object:
    return read_statement(ProofFile.from_bytes(honest()).statement)[0]


def test_a_changed_correct_count_is_rejected() -> None:
    statement = _statement()
    hits = statement.hits.copy()  # type: ignore[attr-defined]
    totals = statement.totals  # type: ignore[attr-defined]
    index = int(np.argmax(hits < totals))
    hits[index] += 1
    assert reason(_with_statement(hits=hits)) is Reject.ROUND_SUM_MISMATCH


def test_a_changed_per_class_total_is_rejected() -> None:
    statement = _statement()
    totals = statement.totals.copy()  # type: ignore[attr-defined]
    donor = int(np.argmax(totals > statement.hits))  # type: ignore[attr-defined]
    totals[donor] -= 1
    totals[(donor + 1) % CLASSES] += 1
    assert reason(_with_statement(totals=totals)) is Reject.ROUND_SUM_MISMATCH


def test_a_changed_sample_count_is_rejected() -> None:
    statement = _statement()
    totals = statement.totals.copy()  # type: ignore[attr-defined]
    totals[int(np.argmax(totals))] += 1
    data = _with_statement(n=SAMPLES + 1, chunk_samples=SAMPLES + 1, totals=totals)
    assert reason(data) in (Reject.WRONG_DATASET, Reject.LENGTH_OUT_OF_BOUNDS, Reject.MALFORMED)


def test_another_datasets_digest_is_rejected() -> None:
    assert reason(_with_statement(dataset_digest=bytes(32))) is Reject.WRONG_DATASET


def test_another_models_digest_is_rejected() -> None:
    other = committed(2)
    data = _with_statement(
        model_digest=bytes.fromhex(other.digest),
        circuit=other.model.circuit_bytes(),
        weight_commitment=other.commitment,
    )
    assert reason(data) in (Reject.WRONG_DATASET, Reject.ROUND_SUM_MISMATCH)


def test_a_changed_data_table_value_or_commitment_is_rejected() -> None:
    from provers.inference.soundness import read_parameters
    from provers.private.plan import PrivatePlan
    from provers.private.proof import PrivateProof
    from provers.private.relations import terms_of
    from provers.private.verifier import _shape

    proof_file = ProofFile.from_bytes(honest())
    statement, model = read_statement(proof_file.statement)
    params = read_parameters(proof_file.parameters)
    plan = PrivatePlan(model, statement.n, True, False, 8, params.pcs, statement.classes)
    shape = _shape(plan, terms_of(plan))
    proof = PrivateProof.from_bytes(proof_file.body, shape, params.pcs, statement.weight_commitment)
    assert proof.data_value is not None and proof.data_commitment is not None
    value = proof.data_value.copy()
    value[0] = (value[0] + 1) % P
    bumped = dataclasses.replace(proof, data_value=value)
    body = bumped.to_bytes(params.pcs)
    data = dataclasses.replace(proof_file, body=body).to_bytes()
    assert reason(data) is Reject.FINAL_EVALUATION_MISMATCH
    root = bytes([proof.data_commitment.root[0] ^ 1]) + proof.data_commitment.root[1:]
    moved = dataclasses.replace(
        proof, data_commitment=dataclasses.replace(proof.data_commitment, root=root)
    )
    data = dataclasses.replace(proof_file, body=moved.to_bytes(params.pcs)).to_bytes()
    assert reason(data) is Reject.WRONG_DATASET


def test_hostile_bytes_only_raise_verification_errors() -> None:
    data = honest()
    rng = np.random.default_rng(3)
    for _ in range(12):
        position = int(rng.integers(len(data)))
        case = data[:position] + bytes([data[position] ^ 0x21]) + data[position + 1 :]
        with pytest.raises(VerificationError):
            verify_private_audit_file(ProofFile.from_bytes(case))


def test_the_hospital_scenario_with_private_patient_records(tmp_path: Path) -> None:
    """A breast-cancer classifier trained here, audited through the API with the patients'
    records private: the proven accuracy is the integer executor's, within one point of the
    float model's, and no record value is in the proof."""
    torch = pytest.importorskip("torch")
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    from provers.compiler import quantise_input

    data = sklearn_datasets.load_breast_cancer()
    raw = data.data.astype(np.float32)
    standard = ((raw - raw.mean(axis=0)) / raw.std(axis=0)).astype(np.float32)
    order = np.random.default_rng(0).permutation(len(standard))
    train, test = order[:340], order[340:]
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(30, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    optimiser = torch.optim.Adam(module.parameters(), lr=1e-2)
    features = torch.from_numpy(standard[train])
    targets = torch.from_numpy(data.target[train].astype(np.int64))
    for _ in range(200):
        optimiser.zero_grad()
        torch.nn.functional.cross_entropy(module(features), targets).backward()
        optimiser.step()
    module = module.eval()
    pt2 = tmp_path / "model.pt2"
    torch.export.save(torch.export.export(module, (torch.randn(2, 30),)), pt2)
    np.savez(tmp_path / "calibration.npz", inputs=standard[train])
    vmc = tmp_path / "model.vmc"
    compiled = api.compile_model(pt2, tmp_path / "calibration.npz", vmc)
    table = tmp_path / "patients.csv"
    test_x, test_y = standard[test], data.target[test].astype(np.int64)
    with table.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*data.feature_names, "label"])
        for row, label in zip(test_x, test_y, strict=True):
            writer.writerow([*(f"{v:.7g}" for v in row), int(label)])
    # The hospital commits its records first and publishes the digest; the audit names it.
    vdc = tmp_path / "patients.vdc"
    published = api.commit_dataset(vmc, table, vdc, private=["input"])
    assert published["private_input"] and published["samples"] == len(test_y)
    result = api.prove_audit(vmc, vdc, tmp_path / "audit.vmp", private=["input"], nonce=b"h")
    assert result["statement"]["dataset_digest"] == published["digest"]
    model = api.load_compiled_model(vmc).model
    csv_inputs = np.loadtxt(table, delimiter=",", skiprows=1, dtype=np.float32)[:, :-1]
    quantised = quantise_input(model, csv_inputs)
    integer = float(np.mean(np.argmax(executor.run(model, quantised), axis=1) == test_y))
    with torch.no_grad():
        floating = float(np.mean(module(torch.from_numpy(test_x)).argmax(1).numpy() == test_y))
    assert result["accuracy"] == integer
    assert abs(result["accuracy"] - floating) <= 0.01
    proof = (tmp_path / "audit.vmp").read_bytes()
    for row in np.asarray(quantised)[:20]:
        assert np.asarray(row, np.int64).astype(np.int8).tobytes()[:12] not in proof
    check = api.verify(
        proof,
        expected_model_digest=compiled["digest"],
        expected_dataset_digest=published["digest"],
    )
    assert check.accepted and check.statement["private_input"] is True
    assert check.protocol == "private_audit"
    assert not api.verify(proof, expected_dataset_digest="00" * 32).accepted
    # The same through the command line, in one step.
    from provers import cli

    out = tmp_path / "cli.vmp"
    assert cli.main(["audit", str(vmc), str(table), "-o", str(out), "--private", "input"]) == 0
    assert cli.main(["verify", str(out), "--model", compiled["digest"]]) == 0


def _claim_rows(claims: list, size: int) -> np.ndarray:
    from provers.field import ext
    from provers.poly import multilinear

    distinct = {(c.zeta.tobytes(), c.offset, c.local.tobytes()): c for c in claims}
    rows = []
    for claim in distinct.values():
        coefficients = np.zeros((4, size), dtype=np.int64)
        eq = multilinear.eq_table(claim.local)
        coefficients[:, claim.offset : claim.offset + eq.shape[1]] = ext.mul(eq, claim.zeta)
        rows.extend(coefficients)
    matrix = np.stack(rows)
    return matrix[:, matrix.any(axis=0)]


def test_every_revealed_value_of_the_witness_and_the_test_set_is_masked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The revealed values of W2 (the argmax vectors, the logit columns, the counts'
    products included) and of the test set's table are full-rank linear images of their
    random halves (tests/provers/test_private_inference.py explains the condition)."""
    from provers.private import protocol as private_protocol
    from provers.private.plan import PrivatePlan
    from tests.provers.test_private_inference import _rank_mod_p

    captured: dict[str, list] = {}
    honest_draw = private_protocol.draw_claim_weights

    def draw(transcript: object, claims: list, label: str = "claims") -> np.ndarray:
        captured[label] = list(claims)
        return honest_draw(transcript, claims, label)  # type: ignore[arg-type]

    x, labels = audit_set()
    small = prove_private_audit(committed(), commit(x[:16], labels[:16]))
    monkeypatch.setattr(private_protocol, "draw_claim_weights", draw)
    verify_private_audit_file(ProofFile.from_bytes(small))
    plan = PrivatePlan(committed().model, 16, True, False, classes=CLASSES)
    witness = _claim_rows(captured["claims"], plan.witness_size)
    data = _claim_rows(captured["data_claims"], 1 << plan.data_log)
    assert _rank_mod_p(witness) == witness.shape[0] >= 4 * 30
    assert _rank_mod_p(data) == data.shape[0]


def test_a_committed_test_set_round_trips_through_its_file_and_is_checked() -> None:
    x, labels = audit_set()
    dataset = commit(x, labels)
    plan = audit_plan(committed(), SAMPLES)
    digest = bytes.fromhex(committed().digest)
    again = PrivateDataset.from_bytes(dataset.to_bytes(), plan, digest)  # type: ignore[attr-defined]
    assert again.digest == dataset.digest  # type: ignore[attr-defined]
    assert np.array_equal(again.inputs(plan), x) and np.array_equal(again.labels(plan), labels)
    data = bytearray(dataset.to_bytes())  # type: ignore[attr-defined]
    data[-40] ^= 1
    with pytest.raises(ProverError):
        PrivateDataset.from_bytes(bytes(data), plan, digest)
    with pytest.raises(ProverError):
        PrivateDataset.from_bytes(b"junk", plan, digest)
    with pytest.raises(ProverError, match="another model"):
        PrivateDataset.from_bytes(dataset.to_bytes(), plan, bytes(32))  # type: ignore[attr-defined]


def test_a_committed_test_set_is_opened_once() -> None:
    x, labels = audit_set()
    dataset = commit(x[:16], labels[:16])
    prove_private_audit(committed(), dataset)
    with pytest.raises((ProverError, ValueError)):
        prove_private_audit(committed(), dataset)


def test_a_private_proof_under_the_soundness_floor_is_refused_before_any_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from provers.private import prover as private_prover

    monkeypatch.setattr(private_prover, "private_bits", lambda plan, params, weights: 99.0)
    with pytest.raises(ProverError, match="99.0 bits"):
        audit_plan(committed(), SAMPLES)


def test_the_audit_benchmark_runs_in_the_private_mode() -> None:
    from benchmarks.audit import benchmark_audit

    figures = benchmark_audit("tiny", 16, private=True)
    assert figures["model"] == "tiny@input" and figures["soundness_bits"] >= 100

"""Accuracy-audit proofs: honest round trips, the argmax rule, chunking, and the tamper table
(every statement field and every proof field, each case named and seeded, each with its own
rejection reason)."""

from __future__ import annotations

import dataclasses
import tracemalloc
from collections.abc import Callable

import numpy as np
import pytest

from provers import api, audit
from provers.audit.argmax import counts, predictions
from provers.audit.dataset import WITNESS_BUDGET_LOG, default_chunk_samples
from provers.audit.proof import AuditProof
from provers.audit.statement import AuditStatement, read_statement
from provers.circuit import executor
from provers.commit.pcs import OpeningProof
from provers.container import ProofFile, Protocol
from provers.errors import ProverError, Reject
from provers.field import base
from provers.inference import commit_model, examples
from provers.inference.model_commitment import CommittedModel
from provers.inference.plan import ProofPlan
from provers.inference.proof import StageProof
from provers.params import ProofParameters
from provers.sumcheck.proof import SumcheckProof

CLASSES = 5
SAMPLES = 37


@pytest.fixture(scope="module")
def model() -> CommittedModel:
    return commit_model(examples.mlp((20, 16, CLASSES), seed=1))


@pytest.fixture(scope="module")
def data(model: CommittedModel) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    inputs = rng.integers(-128, 128, (SAMPLES, 20))
    labels = predictions(executor.run(model.model, inputs))
    labels[:12] = rng.integers(0, CLASSES, 12)
    return inputs, labels


def commit(
    model: CommittedModel, inputs: np.ndarray, labels: np.ndarray, chunk: int
) -> audit.DatasetCommitment:
    params = ProofParameters.default().pcs
    digest = bytes.fromhex(model.digest)
    return audit.commit_dataset(model.model, digest, inputs, labels, CLASSES, chunk, params)


@pytest.fixture(scope="module")
def dataset(model: CommittedModel, data: tuple[np.ndarray, np.ndarray]) -> audit.DatasetCommitment:
    return commit(model, *data, chunk=16)


@pytest.fixture(scope="module")
def honest(model: CommittedModel, dataset: audit.DatasetCommitment) -> bytes:
    return audit.prove(model, dataset, nonce=b"audit-tamper")


def test_the_proven_counts_are_the_integer_executors(
    honest: bytes, model: CommittedModel, data: tuple[np.ndarray, np.ndarray]
) -> None:
    inputs, labels = data
    result = api.verify(honest, expected_model_digest=model.digest)
    assert result.accepted, result.detail
    totals, hits = counts(executor.run(model.model, inputs), labels, CLASSES)
    statement = result.statement
    assert statement["n"] == SAMPLES
    assert statement["correct"] == int(hits.sum())
    assert [row["total"] for row in statement["classes"]] == totals.tolist()
    assert [row["correct"] for row in statement["classes"]] == hits.tolist()
    assert statement["chunks"] == 3
    low, high = statement["wilson_95"]
    assert low < statement["accuracy"] < high
    assert result.soundness_bits >= 100


def test_chunked_and_unchunked_proofs_state_the_same_counts(
    honest: bytes, model: CommittedModel, data: tuple[np.ndarray, np.ndarray]
) -> None:
    whole = audit.prove(model, commit(model, *data, chunk=64), nonce=b"one")
    one = api.verify(whole).statement
    three = api.verify(honest).statement
    assert (one["chunks"], three["chunks"]) == (1, 3)
    for key in ("n", "correct", "classes"):
        assert one[key] == three[key]


def test_ties_go_to_the_lowest_index(model: CommittedModel) -> None:
    # Class 1 duplicates class 0's row: every sample ties between them, so class 1 is never
    # predicted, and a sample labelled 1 is never counted correct.
    last = model.model.nodes[-1]
    assert last.weight is not None and last.bias is not None and last.requant is not None
    weight = np.array(last.weight, copy=True)
    bias = np.array(last.bias, copy=True)
    weight[1], bias[1] = weight[0], bias[0]
    multipliers = list(last.requant.multipliers)
    if len(multipliers) > 1:
        multipliers[1] = multipliers[0]
    requant = dataclasses.replace(last.requant, multipliers=tuple(multipliers))
    tied = dataclasses.replace(last, weight=weight, bias=bias, requant=requant)
    nodes = (*model.model.nodes[:-1], tied)
    committed = commit_model(dataclasses.replace(model.model, nodes=nodes))
    rng = np.random.default_rng(5)
    inputs = rng.integers(-128, 128, (16, 20))
    logits = executor.run(committed.model, inputs)
    assert np.array_equal(logits[:, 0], logits[:, 1])
    labels = np.ones(16, dtype=np.int64)
    labels[:8] = 0
    params = ProofParameters.default().pcs
    dataset = audit.commit_dataset(
        committed.model, bytes.fromhex(committed.digest), inputs, labels, CLASSES, 16, params
    )
    statement = api.verify(audit.prove(committed, dataset, nonce=b"ties")).statement
    by_label = {row["label"]: row for row in statement["classes"]}
    assert by_label[1] == {"label": 1, "total": 8, "correct": 0}
    assert by_label[0]["correct"] == int((predictions(logits[:8]) == 0).sum())


def test_a_chunked_run_holds_one_chunk_at_a_time(
    model: CommittedModel, data: tuple[np.ndarray, np.ndarray]
) -> None:
    rng = np.random.default_rng(11)
    inputs = rng.integers(-128, 128, (256, 20))
    labels = rng.integers(0, CLASSES, 256)

    def peak(chunk: int) -> int:
        dataset = commit(model, inputs, labels, chunk)
        tracemalloc.start()
        audit.prove(model, dataset, nonce=b"memory")
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    whole, chunked = peak(256), peak(32)
    assert chunked < whole / 2, (whole, chunked)


def test_private_inputs_are_refused_until_zero_knowledge_exists(
    model: CommittedModel, dataset: audit.DatasetCommitment
) -> None:
    with pytest.raises(ProverError, match="zero-knowledge"):
        audit.prove(model, dataset, private=frozenset({"input"}))


def test_labels_outside_the_classes_are_refused(
    model: CommittedModel, data: tuple[np.ndarray, np.ndarray]
) -> None:
    inputs, labels = data
    bad = labels.copy()
    bad[4] = CLASSES
    with pytest.raises(audit.DatasetError, match="label 5 of sample 4"):
        commit(model, inputs, bad, 16)


def test_an_edited_committed_test_set_is_refused(
    model: CommittedModel, dataset: audit.DatasetCommitment
) -> None:
    edited = audit.DatasetCommitment.from_bytes(
        dataset.to_bytes(), model.model, bytes.fromhex(model.digest)
    )
    edited.labels[0] = (edited.labels[0] + 1) % CLASSES
    with pytest.raises(audit.DatasetError, match="does not match its commitment"):
        audit.prove(model, edited)


# --- tamper table ------------------------------------------------------------------------


def _parts(data: bytes) -> tuple[ProofFile, AuditStatement, AuditProof]:
    file = ProofFile.from_bytes(data)
    statement, _ = read_statement(file.statement)
    body = AuditProof.from_bytes(
        file.body, statement.classes, len(body_chunks(statement)), statement.weight_commitment
    )
    return file, statement, body


def body_chunks(statement: AuditStatement) -> list[int]:
    return list(range(0, statement.n, statement.chunk_samples))


def _file(file: ProofFile, statement: AuditStatement, body: AuditProof) -> bytes:
    return ProofFile(
        Protocol.AUDIT, file.parameters, file.soundness_bits, statement.to_bytes(), body.to_bytes()
    ).to_bytes()


def _bump(values: np.ndarray, index: tuple[int, ...]) -> np.ndarray:
    out = np.array(values, copy=True)
    out[index] = (out[index] + 1) % base.P
    return out


def _chunk(proof: AuditProof, index: int, **changes: object) -> AuditProof:
    chunks = list(proof.chunks)
    chunks[index] = dataclasses.replace(chunks[index], **changes)
    return AuditProof(chunks)


def _inner(body: AuditProof, index: int, **changes: object) -> AuditProof:
    inner = dataclasses.replace(body.chunks[index].body, **changes)
    return _chunk(body, index, body=inner)


def _stage_change(body: AuditProof, index: int, which: str, **changes: object) -> AuditProof:
    stage: StageProof = getattr(body.chunks[index].body, which)
    return _inner(body, index, **{which: dataclasses.replace(stage, **changes)})


def _round_bump(body: AuditProof, index: int, which: str) -> AuditProof:
    stage: StageProof = getattr(body.chunks[index].body, which)
    polys = _bump(stage.sumcheck.round_polys, (0, 0, 0))
    return _stage_change(body, index, which, sumcheck=SumcheckProof(polys))


def _opening_bump(body: AuditProof, index: int, tree: int) -> AuditProof:
    opening = body.chunks[index].body.opening
    trees = list(opening.trees)
    rows = _bump(trees[tree].evaluation_rows, (0, 0, 0))
    trees[tree] = dataclasses.replace(trees[tree], evaluation_rows=rows)
    return _inner(body, index, opening=OpeningProof(opening.commitments_digest, tuple(trees)))


def _counts_change(
    statement: AuditStatement, body: AuditProof, field: str, chunk: int, label: int, delta: int
) -> tuple[AuditStatement, AuditProof]:
    """Change one chunk's count and the statement's the same way: consistent numbers that the
    proof itself must refuse."""
    values = np.array(getattr(body.chunks[chunk], field), copy=True)
    values[label] += delta
    stated = np.array(getattr(statement, field), copy=True)
    stated[label] += delta
    return dataclasses.replace(statement, **{field: stated}), _chunk(body, chunk, **{field: values})


StatementTamper = Callable[[AuditStatement, AuditProof], tuple[AuditStatement, AuditProof]]


def _swap_totals(statement: AuditStatement, body: AuditProof) -> tuple[AuditStatement, AuditProof]:
    totals = np.array(statement.totals, copy=True)
    totals[1], totals[2] = totals[1] + 1, totals[2] - 1
    return dataclasses.replace(statement, totals=totals), body


def _spare_label(chunk: object) -> int:
    """A label with a sample that is not counted correct (so one correct more still fits)."""
    totals, hits = chunk.totals, chunk.hits  # type: ignore[attr-defined]
    return int(np.flatnonzero(totals > hits)[0])


def _forged_hit(statement: AuditStatement, body: AuditProof) -> tuple[AuditStatement, AuditProof]:
    return _counts_change(statement, body, "hits", 0, _spare_label(body.chunks[0]), 1)


def _moved_label(statement: AuditStatement, body: AuditProof) -> tuple[AuditStatement, AuditProof]:
    source = _spare_label(body.chunks[0])
    target = (source + 1) % statement.classes
    statement, body = _counts_change(statement, body, "totals", 0, source, -1)
    return _counts_change(statement, body, "totals", 0, target, 1)


STATEMENT_CASES: dict[str, tuple[StatementTamper, Reject]] = {
    "changed_correct_count": (
        lambda s, b: (dataclasses.replace(s, hits=_plus(s.hits, 2)), b),
        Reject.STATEMENT_MISMATCH,
    ),
    "changed_per_class_count": (_swap_totals, Reject.STATEMENT_MISMATCH),
    "changed_n": (lambda s, b: (dataclasses.replace(s, n=s.n + 1), b), Reject.STATEMENT_MISMATCH),
    "changed_chunk_size": (
        lambda s, b: (dataclasses.replace(s, chunk_samples=32), b),
        Reject.LENGTH_OUT_OF_BOUNDS,
    ),
    "another_dataset_digest": (
        lambda s, b: (dataclasses.replace(s, dataset_digest=bytes(32)), b),
        Reject.STATEMENT_MISMATCH,
    ),
    "another_model_digest": (
        lambda s, b: (dataclasses.replace(s, model_digest=bytes(32)), b),
        Reject.STATEMENT_MISMATCH,
    ),
    "changed_nonce": (
        lambda s, b: (dataclasses.replace(s, nonce=b"other"), b),
        Reject.ROUND_SUM_MISMATCH,
    ),
    "forged_correct_count_in_chunk_and_statement": (_forged_hit, Reject.ROUND_SUM_MISMATCH),
    "label_moved_between_classes_in_chunk_and_statement": (
        _moved_label,
        Reject.ROUND_SUM_MISMATCH,
    ),
}


def _plus(values: np.ndarray, label: int) -> np.ndarray:
    out = np.array(values, copy=True)
    out[label] += 1
    return out


@pytest.mark.parametrize("case", sorted(STATEMENT_CASES))
def test_audit_statement_tamper_is_rejected(case: str, honest: bytes) -> None:
    tamper, reason = STATEMENT_CASES[case]
    file, statement, body = _parts(honest)
    result = api.verify(_file(file, *tamper(statement, body)))
    assert not result.accepted
    assert result.reason == reason.value, result.detail


BodyTamper = Callable[[AuditProof], AuditProof]


def _other_data_commitment(body: AuditProof) -> AuditProof:
    return _chunk(body, 0, data_commitment=body.chunks[1].data_commitment)


BODY_CASES: dict[str, tuple[BodyTamper, Reject]] = {
    "dropped_chunk": (lambda b: AuditProof(b.chunks[:-1]), Reject.LENGTH_OUT_OF_BOUNDS),
    "duplicated_chunk": (
        lambda b: AuditProof([*b.chunks[:-1], b.chunks[0]]),
        Reject.STATEMENT_MISMATCH,
    ),
    "swapped_chunks": (
        lambda b: AuditProof([b.chunks[1], b.chunks[0], *b.chunks[2:]]),
        Reject.STATEMENT_MISMATCH,
    ),
    "another_chunk_data_commitment": (_other_data_commitment, Reject.STATEMENT_MISMATCH),
    "limb_bits": (
        lambda b: _chunk(b, 0, limb_bits=b.chunks[0].limb_bits + 1),
        Reject.PARAMETER_MISMATCH,
    ),
    "witness_commitment": (
        lambda b: _inner(
            b,
            1,
            witness_commitment=dataclasses.replace(
                b.chunks[1].body.witness_commitment, root=bytes(32)
            ),
        ),
        Reject.ROUND_SUM_MISMATCH,
    ),
    "stage0_value": (
        lambda b: _inner(b, 0, stage0=_bump(b.chunks[0].body.stage0, (0, 3))),
        Reject.IDENTITY_MISMATCH,
    ),
    "stage0_label_value": (
        # Stage-0 values: per class index, h, y, z, then m and the label (argmax first).
        lambda b: _inner(b, 2, stage0=_bump(b.chunks[2].body.stage0, (1, 4 * CLASSES + 1))),
        Reject.IDENTITY_MISMATCH,
    ),
    "stage0_node_value": (
        lambda b: _inner(b, 2, stage0=_bump(b.chunks[2].body.stage0, (1, -1))),
        Reject.ROUND_SUM_MISMATCH,
    ),
    "stage_a_round": (lambda b: _round_bump(b, 0, "stage_a"), Reject.ROUND_SUM_MISMATCH),
    "stage_a_final": (
        lambda b: _stage_change(
            b, 1, "stage_a", finals=_bump(b.chunks[1].body.stage_a.finals, (0, -1))
        ),
        Reject.FINAL_EVALUATION_MISMATCH,
    ),
    "stage_b_or_c_round": (lambda b: _round_bump(b, 2, "stage_c"), Reject.ROUND_SUM_MISMATCH),
    "stage_c_data_final": (
        lambda b: _stage_change(
            b, 0, "stage_c", finals=_bump(b.chunks[0].body.stage_c.finals, (0, 2))
        ),
        Reject.FINAL_EVALUATION_MISMATCH,
    ),
    "dropped_second_lookup_run": (
        lambda b: _chunk(b, 0, extra_lookups=()),
        Reject.LENGTH_OUT_OF_BOUNDS,
    ),
    "first_lookup_run_repeated": (
        lambda b: _chunk(b, 1, extra_lookups=(b.chunks[1].body.lookup,)),
        Reject.ROUND_SUM_MISMATCH,
    ),
    "opening_witness_row": (lambda b: _opening_bump(b, 0, 0), Reject.EVALUATION_MISMATCH),
    "opening_data_row": (lambda b: _opening_bump(b, 1, 2), Reject.EVALUATION_MISMATCH),
}


@pytest.mark.parametrize("case", sorted(BODY_CASES))
def test_audit_proof_tamper_is_rejected(case: str, honest: bytes) -> None:
    tamper, reason = BODY_CASES[case]
    file, statement, body = _parts(honest)
    result = api.verify(_file(file, statement, tamper(body)))
    assert not result.accepted
    assert result.reason == reason.value, result.detail


def test_truncated_and_extended_audit_proofs_are_unreadable(honest: bytes) -> None:
    for data in (honest[:-7], honest + b"\0", honest[: len(honest) // 2]):
        result = api.verify(data)
        assert not result.accepted and result.unreadable, result.reason


def test_a_proof_for_another_test_set_is_refused(
    honest: bytes, model: CommittedModel, data: tuple[np.ndarray, np.ndarray]
) -> None:
    inputs, labels = data
    expected = commit(model, inputs, labels, 16).digest.hex()
    assert api.verify(honest, expected_dataset_digest=expected).accepted
    dropped = commit(model, inputs[1:], labels[1:], 16).digest.hex()
    duplicated = commit(
        model, np.concatenate([inputs, inputs[:1]]), np.concatenate([labels, labels[:1]]), 16
    ).digest.hex()
    swapped = labels.copy()
    swapped[3] = (swapped[3] + 1) % CLASSES
    relabelled = commit(model, inputs, swapped, 16).digest.hex()
    for other in (dropped, duplicated, relabelled):
        result = api.verify(honest, expected_dataset_digest=other)
        assert result.reason == Reject.WRONG_DATASET.value
    assert api.verify(honest, expected_model_digest="00" * 32).reason == "wrong_model"


def test_a_prover_that_swaps_a_label_is_caught(
    model: CommittedModel, dataset: audit.DatasetCommitment, monkeypatch: pytest.MonkeyPatch
) -> None:
    from provers.audit import prover as audit_prover

    honest_vectors = audit_prover.argmax_vectors

    def swapped(plan: object, logits: np.ndarray, labels: np.ndarray) -> object:
        labels = labels.copy()
        labels[0] = (labels[0] + 1) % CLASSES
        return honest_vectors(plan, logits, labels)  # type: ignore[arg-type]

    from provers.audit import argmax as argmax_module

    monkeypatch.setattr(audit_prover, "argmax_vectors", swapped)
    monkeypatch.setattr(audit_prover, "counts", _counts_of_swapped)
    # The prover checks the identities too; this one skips them to get a proof out at all.
    monkeypatch.setattr(argmax_module, "reject_identity", lambda ok, detail: None)
    forged = audit.prove(model, dataset, nonce=b"swap")
    monkeypatch.undo()
    result = api.verify(forged)
    assert not result.accepted
    assert result.reason == Reject.IDENTITY_MISMATCH.value, result.detail


def _counts_of_swapped(logits: np.ndarray, labels: np.ndarray, classes: int) -> tuple:
    labels = labels.copy()
    labels[0] = (labels[0] + 1) % classes
    return counts(logits, labels, classes)


def test_a_prover_that_claims_another_prediction_is_caught(
    model: CommittedModel, dataset: audit.DatasetCommitment, monkeypatch: pytest.MonkeyPatch
) -> None:
    from provers.audit import argmax as argmax_module

    honest_predictions = argmax_module.predictions

    def flattering(logits: np.ndarray) -> np.ndarray:
        out = honest_predictions(logits)
        return (out + 1) % CLASSES

    monkeypatch.setattr(argmax_module, "predictions", flattering)
    with pytest.raises(ProverError):
        # An honest prover refuses: the differences go negative.
        audit.prove(model, dataset, nonce=b"flatter")


@pytest.mark.parametrize("seed", range(12))
def test_random_byte_damage_is_always_a_verification_error(seed: int, honest: bytes) -> None:
    rng = np.random.default_rng(seed)
    damaged = bytearray(honest)
    for position in rng.integers(0, len(damaged), 3):
        damaged[position] ^= int(rng.integers(1, 256))
    result = api.verify(bytes(damaged))
    assert not result.accepted and result.reason is not None


def test_the_default_chunk_keeps_a_cnns_witness_within_the_memory_budget() -> None:
    lenet, mlp = examples.lenet("avg"), examples.mlp()
    chunk = default_chunk_samples(lenet, 10_000)
    assert chunk < default_chunk_samples(mlp, 10_000)
    plan = ProofPlan(lenet, chunk, 12, ProofParameters.default().pcs, 10)
    assert plan.witness.log_size <= WITNESS_BUDGET_LOG
    doubled = ProofPlan(lenet, 2 * chunk, 12, ProofParameters.default().pcs, 10)
    assert doubled.witness.log_size > WITNESS_BUDGET_LOG

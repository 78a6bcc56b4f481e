"""Weight range proofs: every entry of every weight block of a committed model is an int8."""

from __future__ import annotations

import dataclasses
import json
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from provers import api, cli
from provers.circuit.model import ModelError, QuantisedModel
from provers.commit import pcs
from provers.container import ProofFile, Protocol
from provers.errors import CompileError, ProverError, Reject, VerificationError
from provers.field import base
from provers.inference import CommittedModel, commit_model, examples
from provers.inference.weights import weight_layout, weight_table
from provers.lookup import prover as lookup_prover
from provers.params import ProofParameters
from provers.poly import multilinear
from provers.standalone.common import read_parameters, write_parameters
from provers.weight_range import biases_bounded, verify_file
from provers.weight_range import prover as range_prover
from provers.weight_range import verifier as range_verifier
from provers.weight_range.proof import RunProof, WeightRangeProof
from provers.weight_range.protocol import multiplicity_column_vars
from provers.weight_range.soundness import lookup_runs, proof_bits
from provers.weight_range.statement import Statement, derived_layout, read_statement
from tests.provers.cheating import skip_claimed_sum_checks

P = base.P


@pytest.fixture(scope="module")
def small() -> CommittedModel:
    """2^10 table entries in rows of 2^7: three rounds of the row sumcheck."""
    return commit_model(examples.mlp((32, 16, 8), seed=1))


@pytest.fixture(scope="module")
def other() -> CommittedModel:
    """Another model of the same shape (other weights, so another digest)."""
    return commit_model(examples.mlp((32, 16, 8), seed=2))


@pytest.fixture(scope="module")
def honest(small: CommittedModel) -> bytes:
    return small.weight_range_proof()


def _rejection(data: bytes, digest: str | None = None) -> tuple[str | None, str]:
    result = api.verify(data, expected_model_digest=digest)
    assert not result.accepted
    return result.reason, result.detail


def _decode(data: bytes) -> tuple[ProofFile, WeightRangeProof]:
    proof_file = ProofFile.from_bytes(data)
    statement, model = read_statement(proof_file.statement)
    _, regions = derived_layout(model, statement.weight_commitment.params)
    params = read_parameters(proof_file.parameters)
    runs = lookup_runs(
        params, regions.num_vars, regions.column_vars, multiplicity_column_vars(params)
    )
    assert runs is not None
    body = WeightRangeProof.from_bytes(
        proof_file.body, statement.weight_commitment, runs, regions.row_vars, lambda _: None
    )
    return proof_file, body


# --- honest proofs -------------------------------------------------------------------------


def test_the_mlp_round_trips_through_the_api(small: CommittedModel, tmp_path: Path) -> None:
    vmc = tmp_path / "model.vmc"
    vmc.write_bytes(small.to_bytes())
    data = api.weight_range_proof(vmc)
    result = api.verify(data, expected_model_digest=small.digest)
    assert result.accepted, result.detail
    assert result.protocol == "weight_range"
    statement = result.statement
    assert statement["model_digest"] == small.digest
    assert statement["weight_entries"] == 16 * 32 + 8 * 16
    assert statement["biases_bounded"] is True
    assert result.soundness_bits is not None and result.soundness_bits >= 100
    summary = api.inspect(data)
    assert summary["model_digest"] == small.digest
    assert summary["weight_blocks"] == 2 and summary["total_bytes"] == len(data)


def test_a_conv_model_round_trips_through_the_api_and_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    committed = commit_model(examples.lenet("avg"))
    vmc, proof = tmp_path / "lenet.vmc", tmp_path / "range.vmp"
    vmc.write_bytes(committed.to_bytes())
    proof.write_bytes(api.weight_range_proof(vmc))
    assert cli.main(["verify", str(proof), "--model", committed.digest]) == 0
    assert f"the weights of model {committed.digest} are proven int8" in capsys.readouterr().out
    assert cli.main(["verify", str(proof), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["statement"]["kind"] == "weight range"
    blocks = sum(len(layer.blocks) for layer in committed.layout.layers)
    assert report["statement"]["weight_blocks"] == blocks
    assert cli.main(["verify", str(proof), "--model", "ab" * 32]) == 1
    assert "wrong_model" in capsys.readouterr().out
    assert cli.main(["inspect", str(proof)]) == 0
    assert committed.digest in capsys.readouterr().out
    (tmp_path / "junk.vmp").write_bytes(b"not a proof")
    assert cli.main(["verify", str(tmp_path / "junk.vmp")]) == 2


def test_veriml_compile_writes_a_range_proof_the_cli_verifies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    torch = pytest.importorskip("torch")
    torch.manual_seed(5)
    network = torch.nn.Sequential(
        torch.nn.Linear(12, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3)
    ).eval()
    pt2 = tmp_path / "net.pt2"
    torch.export.save(torch.export.export(network, (torch.randn(1, 12),)), str(pt2))
    calibration = tmp_path / "calibration.npz"
    np.savez(calibration, inputs=np.random.default_rng(1).normal(size=(16, 12)).astype("f4"))
    vmc, proof = tmp_path / "net.vmc", tmp_path / "range.vmp"
    command = ["compile", str(pt2), "--calibration", str(calibration), "-o", str(vmc)]
    assert cli.main([*command, "--range-proof", str(proof)]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    digest = printed[-1].split()[-1]
    assert any(str(proof) in line and "int8" in line for line in printed)
    assert proof.read_bytes() == api.weight_range_proof(vmc)
    assert cli.main(["verify", str(proof), "--model", digest]) == 0
    assert f"the weights of model {digest} are proven int8" in capsys.readouterr().out


def test_the_sel_extension_is_evaluated_from_block_prefixes(small: CommittedModel) -> None:
    lenet = commit_model(examples.lenet("max"), range_proof=False)
    rng = np.random.default_rng(11)
    for committed in (small, lenet):
        _, regions = derived_layout(committed.model, committed.commitment.params)
        point = base.random((4, regions.row_vars), rng)
        brute = multilinear.evaluate(regions.row_mask(), point)
        assert np.array_equal(regions.evaluate(point), brute)


def test_the_stated_soundness_is_computed_from_the_shape(
    small: CommittedModel, honest: bytes
) -> None:
    params = ProofParameters.default()
    columns = multiplicity_column_vars(params)
    layout = small.layout
    expected = proof_bits(params, layout.log_size, layout.column_log, columns, 1)
    assert ProofFile.from_bytes(honest).soundness_bits == int(expected) >= 100
    assert lookup_runs(params, 18, 11, columns) == 1
    assert proof_bits(params, 24, 14, columns, 1) < 100
    assert lookup_runs(params, 24, 14, columns) == 2


def test_a_proof_of_two_lookup_runs_round_trips(
    small: CommittedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(range_prover, "lookup_runs", lambda *arguments: 2)
    data = range_prover.prove(small)
    with pytest.raises(VerificationError) as caught:
        verify_file(ProofFile.from_bytes(data))
    # The verifier reads one run, then the second run's bytes as the opening.
    assert caught.value.reason in {Reject.LENGTH_OUT_OF_BOUNDS, Reject.TRUNCATED}
    monkeypatch.setattr(range_verifier, "lookup_runs", lambda *arguments: 2)
    assert verify_file(ProofFile.from_bytes(data))["lookup_runs"] == 2


def test_the_benchmark_runs_at_a_tiny_size() -> None:
    from benchmarks.weight_range import benchmark_weight_range

    figures = benchmark_weight_range("tiny")
    assert figures["proof_bytes"] > 0 and figures["soundness_bits"] >= 100
    assert figures["prove_s"] > 0 and figures["lookup_runs"] == 1


# --- weights that are not int8 -------------------------------------------------------------


def _commit_table(model: QuantisedModel, change: Callable[[np.ndarray, Any], None]) -> Any:
    """A commitment to the model's weight table after ``change(table, layout)``, built
    directly (the quantiser and the model's validation never see it)."""
    layout = weight_layout(model)
    table = weight_table(model, layout)
    change(table, layout)
    commitment, data = pcs.commit(table % P, row_vars=layout.row_log)
    return CommittedModel(model, layout, commitment, data)


def _set_weight(value: int) -> Callable[[np.ndarray, Any], None]:
    def change(table: np.ndarray, layout: Any) -> None:
        block = layout.layers[-1].blocks[0]
        index = np.random.default_rng(value & 0xFFFF).integers(0, 1 << block.log_size)
        table[block.offset + int(index)] = value

    return change


def _set_padding(table: np.ndarray, layout: Any) -> None:
    layer = layout.layers[0]
    block = layer.blocks[0]
    first_padded_row = layer.out_channels << block.cols_log
    assert first_padded_row < 1 << block.log_size
    table[block.offset + first_padded_row] = -129


OUT_OF_RANGE = {"128": 128, "minus_129": -129, "large_field_element": 1 << 30}
PADDED = examples.mlp((30, 12, 5), seed=3)
"""12 outputs padded to 16 rows: its first block has padding."""


@pytest.mark.parametrize("case", sorted(OUT_OF_RANGE))
def test_the_prover_refuses_a_weight_outside_int8(case: str) -> None:
    committed = _commit_table(PADDED, _set_weight(OUT_OF_RANGE[case]))
    with pytest.raises(ProverError, match="not an int8"):
        committed.weight_range_proof()


def test_the_prover_refuses_padding_outside_int8() -> None:
    committed = _commit_table(PADDED, _set_padding)
    with pytest.raises(ProverError, match="entry .* is -129, not an int8"):
        committed.weight_range_proof()


def test_a_bias_is_not_range_checked() -> None:
    def change(table: np.ndarray, layout: Any) -> None:
        table[layout.layers[0].bias_offset] = 100_000

    committed = _commit_table(PADDED, change)
    assert verify_file(ProofFile.from_bytes(committed.weight_range_proof()))["weight_blocks"]


def _tolerant_counts(statement: Any, lookups: list[list[np.ndarray]]) -> np.ndarray:
    """Multiplicities as if every looked-up value were in [0, 256): the others are counted as
    the row they would be clipped to."""
    values = base.to_signed(np.asarray(lookups[0][0]))
    clipped = np.clip(values, 0, 255) % P
    return np.bincount(clipped, minlength=statement.table.size).astype(np.int64)


@pytest.mark.parametrize("case", sorted(OUT_OF_RANGE))
def test_a_forged_proof_with_in_range_multiplicities_is_rejected(
    case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    committed = _commit_table(PADDED, _set_weight(OUT_OF_RANGE[case]))
    monkeypatch.setattr(range_prover, "_check_int8", lambda *arguments: None)
    monkeypatch.setattr(range_prover, "compute_multiplicities", _tolerant_counts)
    monkeypatch.setattr(lookup_prover, "_check_roots", lambda *arguments: None)
    forged = committed.weight_range_proof()
    assert _rejection(forged)[0] == Reject.LOOKUP_SUM_MISMATCH.value


def test_a_forged_proof_that_looks_up_clipped_weights_is_rejected(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The lookup then holds, but its claim on a is not sel·T + 128 of the committed T."""
    committed = _commit_table(PADDED, _set_weight(128))
    honest_vector = range_prover.looked_up_vector

    def clipped(table: np.ndarray, regions: Any) -> np.ndarray:
        vector = honest_vector(table, regions)
        return np.where(vector < 256, vector, 255)

    monkeypatch.setattr(range_prover, "_check_int8", lambda *arguments: None)
    monkeypatch.setattr(range_prover, "looked_up_vector", clipped)
    with pytest.raises(ProverError, match="claimed sum"):
        range_prover.prove(committed)
    skip_claimed_sum_checks(monkeypatch)
    reason, detail = _rejection(range_prover.prove(committed))
    assert reason == Reject.ROUND_SUM_MISMATCH.value and "rows/0" in detail


# --- the tamper table ----------------------------------------------------------------------


def _bump(array: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    bumped = np.array(array, dtype=np.int64, copy=True)
    index = int(rng.integers(0, bumped.size))
    bumped.flat[index] = (bumped.flat[index] + 1 + int(rng.integers(0, 1000))) % P
    return bumped


def _with_statement(data: bytes, **changes: Any) -> bytes:
    proof_file = ProofFile.from_bytes(data)
    statement, _ = read_statement(proof_file.statement)
    changed = dataclasses.replace(statement, **changes)
    return dataclasses.replace(proof_file, statement=changed.to_bytes()).to_bytes()


def _with_body(data: bytes, change: Callable[[WeightRangeProof], WeightRangeProof]) -> bytes:
    proof_file, body = _decode(data)
    return dataclasses.replace(proof_file, body=change(body).to_bytes()).to_bytes()


def _with_run(data: bytes, change: Callable[[RunProof], RunProof]) -> bytes:
    return _with_body(
        data, lambda body: dataclasses.replace(body, runs=(change(body.runs[0]), *body.runs[1:]))
    )


def _with_lookup(data: bytes, change: Callable[[Any], Any]) -> bytes:
    return _with_run(data, lambda run: dataclasses.replace(run, lookup=change(run.lookup)))


def _with_tree(data: bytes, which: str, change: Callable[[Any], Any]) -> bytes:
    return _with_lookup(
        data, lambda lookup: dataclasses.replace(lookup, **{which: change(getattr(lookup, which))})
    )


def _with_layer(
    data: bytes, which: str, rng: np.random.Generator, change: Callable[[Any], Any]
) -> bytes:
    def edit(tree: Any) -> Any:
        index = int(rng.integers(1, len(tree.layers)))
        layers = list(tree.layers)
        layers[index] = change(layers[index])
        return dataclasses.replace(tree, layers=tuple(layers))

    return _with_tree(data, which, edit)


def _with_opening(data: bytes, tree: int, **changes: Callable[[Any], Any]) -> bytes:
    def edit(body: WeightRangeProof) -> WeightRangeProof:
        trees = list(body.opening.trees)
        values = {name: change(getattr(trees[tree], name)) for name, change in changes.items()}
        trees[tree] = dataclasses.replace(trees[tree], **values)
        return dataclasses.replace(body, opening=dataclasses.replace(body.opening, trees=trees))

    return _with_body(data, edit)


def _flip_statement_digest(data: bytes, rng: np.random.Generator) -> bytes:
    proof_file = ProofFile.from_bytes(data)
    encoded = bytearray(data)
    encoded[data.index(proof_file.digest) + int(rng.integers(0, 32))] ^= 1
    return bytes(encoded)


def _with_parameters(data: bytes, params: ProofParameters) -> bytes:
    proof_file = ProofFile.from_bytes(data)
    return dataclasses.replace(proof_file, parameters=write_parameters(params)).to_bytes()


def _other_circuit(data: bytes, rng: np.random.Generator) -> bytes:
    return _with_statement(data, circuit=examples.mlp((32, 16, 4), seed=1).circuit_bytes())


def _other_root(data: bytes, rng: np.random.Generator) -> bytes:
    statement, _ = read_statement(ProofFile.from_bytes(data).statement)
    root = bytearray(statement.weight_commitment.root)
    root[int(rng.integers(0, 32))] ^= 1
    commitment = dataclasses.replace(statement.weight_commitment, root=bytes(root))
    return _with_statement(data, weight_commitment=commitment)


def _multiplicity_root(data: bytes, rng: np.random.Generator) -> bytes:
    def edit(body: WeightRangeProof) -> WeightRangeProof:
        root = bytearray(body.multiplicity_commitment.root)
        root[int(rng.integers(0, 32))] ^= 1
        commitment = dataclasses.replace(body.multiplicity_commitment, root=bytes(root))
        return dataclasses.replace(body, multiplicity_commitment=commitment)

    return _with_body(data, edit)


def _multiplicity_shape(data: bytes, rng: np.random.Generator) -> bytes:
    def edit(body: WeightRangeProof) -> WeightRangeProof:
        commitment = body.multiplicity_commitment
        wider = dataclasses.replace(commitment, row_vars=commitment.row_vars + 1)
        return dataclasses.replace(body, multiplicity_commitment=wider)

    return _with_body(data, edit)


def _zero_denominator(root: np.ndarray) -> np.ndarray:
    zeroed = np.array(root, copy=True)
    zeroed[:, 1] = 0
    return zeroed


def _not_canonical(value: np.ndarray) -> np.ndarray:
    return np.array([P, 0, 0, 0], dtype=np.int64)


Tamper = Callable[[bytes, np.random.Generator], bytes]

TAMPER_CASES: dict[str, tuple[Tamper, Reject, str]] = {
    "statement_digest": (_flip_statement_digest, Reject.STATEMENT_MISMATCH, "digest"),
    "stated_soundness": (
        lambda d, rng: dataclasses.replace(
            ProofFile.from_bytes(d), soundness_bits=ProofFile.from_bytes(d).soundness_bits + 1
        ).to_bytes(),
        Reject.PARAMETER_MISMATCH,
        "header states",
    ),
    "parameters_fewer_queries": (
        lambda d, rng: _with_parameters(
            d, ProofParameters(pcs=dataclasses.replace(pcs.PCSParams(), num_queries=200))
        ),
        Reject.PARAMETER_MISMATCH,
        "other parameters",
    ),
    "parameters_weaker_minimum": (
        lambda d, rng: _with_parameters(d, ProofParameters(min_soundness_bits=80)),
        Reject.INSUFFICIENT_SOUNDNESS,
        "only 80 bits",
    ),
    "model_digest": (
        lambda d, rng: _with_statement(d, digest=bytes(rng.integers(0, 256, 32, dtype=np.uint8))),
        Reject.STATEMENT_MISMATCH,
        "does not name",
    ),
    "circuit": (_other_circuit, Reject.STATEMENT_MISMATCH, "does not name"),
    "weight_commitment_root": (_other_root, Reject.STATEMENT_MISMATCH, "does not name"),
    "multiplicity_commitment_root": (
        _multiplicity_root,
        Reject.ROUND_SUM_MISMATCH,
        "lookup/witness/layer",
    ),
    "multiplicity_commitment_shape": (
        _multiplicity_shape,
        Reject.PARAMETER_MISMATCH,
        "multiplicity commitment",
    ),
    "witness_root": (
        lambda d, rng: _with_tree(
            d, "witness_tree", lambda t: dataclasses.replace(t, root=_bump(t.root, rng))
        ),
        Reject.LOOKUP_SUM_MISMATCH,
        "differs",
    ),
    "table_root_denominator": (
        lambda d, rng: _with_tree(
            d, "table_tree", lambda t: dataclasses.replace(t, root=_zero_denominator(t.root))
        ),
        Reject.LOOKUP_DENOMINATOR_ZERO,
        "zero",
    ),
    "witness_layer_claims": (
        lambda d, rng: _with_layer(
            d,
            "witness_tree",
            rng,
            lambda layer: dataclasses.replace(layer, child_claims=_bump(layer.child_claims, rng)),
        ),
        Reject.LOOKUP_LAYER_MISMATCH,
        "child claims",
    ),
    "table_layer_round": (
        lambda d, rng: _with_layer(
            d,
            "table_tree",
            rng,
            lambda layer: dataclasses.replace(
                layer,
                sumcheck=dataclasses.replace(
                    layer.sumcheck, round_polys=_bump(layer.sumcheck.round_polys, rng)
                ),
            ),
        ),
        Reject.ROUND_SUM_MISMATCH,
        "lookup/table/layer",
    ),
    "witness_evaluation": (
        lambda d, rng: _with_lookup(
            d,
            lambda lookup: dataclasses.replace(
                lookup, witness_evaluations=_bump(lookup.witness_evaluations, rng)
            ),
        ),
        Reject.FINAL_EVALUATION_MISMATCH,
        "witness tree",
    ),
    "multiplicity_evaluation": (
        lambda d, rng: _with_lookup(
            d,
            lambda lookup: dataclasses.replace(
                lookup, multiplicity_evaluation=_bump(lookup.multiplicity_evaluation, rng)
            ),
        ),
        Reject.FINAL_EVALUATION_MISMATCH,
        "table tree",
    ),
    "row_sumcheck_round": (
        lambda d, rng: _with_run(
            d,
            lambda run: dataclasses.replace(
                run,
                rows=dataclasses.replace(run.rows, round_polys=_bump(run.rows.round_polys, rng)),
            ),
        ),
        Reject.ROUND_SUM_MISMATCH,
        "rows/0",
    ),
    "table_value": (
        lambda d, rng: _with_run(
            d, lambda run: dataclasses.replace(run, table_value=_bump(run.table_value, rng))
        ),
        Reject.FINAL_EVALUATION_MISMATCH,
        "row sumcheck 0",
    ),
    "table_value_not_canonical": (
        lambda d, rng: _with_run(
            d, lambda run: dataclasses.replace(run, table_value=_not_canonical(run.table_value))
        ),
        Reject.NON_CANONICAL_FIELD_ELEMENT,
        "table value",
    ),
    "opening_commitments_digest": (
        lambda d, rng: _with_body(
            d,
            lambda body: dataclasses.replace(
                body, opening=dataclasses.replace(body.opening, commitments_digest=bytes(32))
            ),
        ),
        Reject.COMMITMENT_MISMATCH,
        "other commitments",
    ),
    "opening_evaluation_row": (
        lambda d, rng: _with_opening(d, 0, evaluation_rows=lambda rows: _bump(rows, rng)),
        Reject.EVALUATION_MISMATCH,
        "",
    ),
    "opening_proximity_row": (
        lambda d, rng: _with_opening(d, 1, proximity_row=lambda row: _bump(row, rng)),
        Reject.PROXIMITY_CHECK_FAILED,
        "",
    ),
    "opening_column": (
        lambda d, rng: _with_opening(d, 0, columns=lambda columns: _bump(columns, rng)),
        Reject.MERKLE_PATH_INVALID,
        "",
    ),
    "body_truncated": (
        lambda d, rng: dataclasses.replace(
            ProofFile.from_bytes(d),
            body=ProofFile.from_bytes(d).body[: -int(rng.integers(1, 64))],
        ).to_bytes(),
        Reject.TRUNCATED,
        "",
    ),
    "body_extended": (
        lambda d, rng: dataclasses.replace(
            ProofFile.from_bytes(d), body=ProofFile.from_bytes(d).body + b"\x00"
        ).to_bytes(),
        Reject.TRAILING_BYTES,
        "weight range proof",
    ),
}


@pytest.mark.parametrize("case", sorted(TAMPER_CASES))
def test_the_tamper_table(honest: bytes, case: str) -> None:
    tamper, reason, fragment = TAMPER_CASES[case]
    rng = np.random.default_rng(zlib.crc32(case.encode()))
    tampered = tamper(honest, rng)
    assert tampered != honest
    got, detail = _rejection(tampered)
    assert got == reason.value, detail
    assert fragment in detail


def test_hostile_bytes_are_rejected_without_a_crash(honest: bytes) -> None:
    rng = np.random.default_rng(2024)
    body_start = len(honest) - len(ProofFile.from_bytes(honest).body)
    candidates = [honest[: int(cut)] for cut in rng.integers(0, len(honest), 24)]
    candidates += [honest + bytes(rng.integers(0, 256, int(n), dtype=np.uint8)) for n in (1, 9)]
    candidates += [bytes(rng.integers(0, 256, int(n), dtype=np.uint8)) for n in (0, 7, 5000)]
    for position in rng.integers(body_start, len(honest), 64):
        flipped = bytearray(honest)
        flipped[int(position)] ^= 1 << int(rng.integers(0, 8))
        candidates.append(bytes(flipped))
    shell = ProofFile.from_bytes(honest)
    for length in (0, 40, 4000):
        body = bytes(rng.integers(0, 256, length, dtype=np.uint8))
        candidates.append(dataclasses.replace(shell, body=body).to_bytes())
    reasons = {reason.value for reason in Reject}
    for candidate in candidates:
        result = api.verify(candidate)
        assert not result.accepted and result.reason in reasons


# --- the wrong statement -------------------------------------------------------------------


def test_a_proof_checked_against_another_models_digest_is_rejected(
    honest: bytes, other: CommittedModel
) -> None:
    assert _rejection(honest, other.digest)[0] == Reject.WRONG_MODEL.value


def test_a_proof_of_one_model_relabelled_as_another_is_rejected(
    honest: bytes, other: CommittedModel
) -> None:
    statement = Statement(
        bytes.fromhex(other.digest), other.model.circuit_bytes(), other.commitment
    )
    relabelled = dataclasses.replace(ProofFile.from_bytes(honest), statement=statement.to_bytes())
    # Another commitment in the transcript: the lookup's first layer sumcheck no longer sums.
    reason, detail = _rejection(relabelled.to_bytes(), other.digest)
    assert reason == Reject.ROUND_SUM_MISMATCH.value and "lookup/witness/layer" in detail
    as_lookup = dataclasses.replace(ProofFile.from_bytes(honest), protocol=Protocol.LOOKUP)
    assert not api.verify(as_lookup.to_bytes()).accepted


# --- the .vmc file -------------------------------------------------------------------------


def test_the_vmc_file_keeps_the_range_proof(small: CommittedModel, tmp_path: Path) -> None:
    loaded = CommittedModel.from_bytes(small.to_bytes())
    assert loaded.range_proof == small.range_proof
    assert loaded.to_bytes() == small.to_bytes()
    deferred = commit_model(small.model, range_proof=False)
    assert deferred.range_proof is None
    assert CommittedModel.from_bytes(deferred.to_bytes()).range_proof == deferred.range_proof
    assert api.verify(deferred.weight_range_proof(), small.digest).accepted


def test_an_old_vmc_file_gives_a_clear_error(small: CommittedModel, tmp_path: Path) -> None:
    old = bytearray(small.to_bytes())
    old[4:6] = struct.pack("<H", 1)
    with pytest.raises(ModelError, match="version-1 .* compile the model again"):
        CommittedModel.from_bytes(bytes(old))
    (tmp_path / "old.vmc").write_bytes(bytes(old))
    with pytest.raises(CompileError, match="compile the model again"):
        api.weight_range_proof(tmp_path / "old.vmc")


def test_a_vmc_file_with_another_models_range_proof_is_refused(
    small: CommittedModel, other: CommittedModel
) -> None:
    swapped = dataclasses.replace(small, range_proof=other.weight_range_proof())
    with pytest.raises(ModelError, match="not about this model"):
        CommittedModel.from_bytes(swapped.to_bytes())


# --- biases --------------------------------------------------------------------------------


def test_the_bias_bound_holds_for_the_example_models_and_fails_for_huge_layers(
    small: CommittedModel,
) -> None:
    for model in (examples.lenet("avg"), examples.vgg16(width=8)):
        assert biases_bounded(model, weight_layout(model))
    layout = small.layout
    wide = dataclasses.replace(layout.layers[0], feature_log=16)
    huge = dataclasses.replace(layout, layers=(wide, *layout.layers[1:]))
    assert not biases_bounded(small.model, huge)

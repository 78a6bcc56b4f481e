"""Zero-knowledge weight range proofs of hidden models (provers/weight_range/hidden): honest
round trips, weights outside int8, a seeded tamper table with one named case per proof field,
hostile bytes, wrong statements, the zero-knowledge checks (rank over the whole budget, and a
χ² comparison of two weight tables with an unmasked control) and the .vmc round trip."""

from __future__ import annotations

import dataclasses
import struct
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from provers import api, cli
from provers.circuit.model import ModelError, QuantisedModel
from provers.commit import pcs
from provers.commit.pcs import Commitment
from provers.container import ProofFile, Protocol
from provers.errors import ProverError, Reject, VerificationError
from provers.field import base, ext
from provers.inference import commit_model, examples
from provers.lookup import zk as lookup_zk
from provers.poly import multilinear
from provers.private import protocol as private_protocol
from provers.private import prove_private
from provers.private.model import HiddenModel, commit_hidden_model, largest_budget
from provers.standalone.common import read_parameters, write_parameters
from provers.sumcheck.proof import SumcheckProof
from provers.sumcheck.zk import ZkSumcheckProof
from provers.weight_range import hidden as range_hidden
from provers.weight_range.hidden import prover as hidden_prover
from provers.weight_range.hidden.proof import HiddenRangeProof
from provers.weight_range.hidden.protocol import lookup_statement, tie_vars
from provers.weight_range.prover import looked_up_vector
from provers.weight_range.statement import derived_layout, read_statement, regions_of
from tests.provers.cheating import skip_claimed_sum_checks
from tests.provers.distributions import CHI_SQUARE_3_DOF_0_1_PERCENT, chi_square
from tests.provers.test_private_inference import _rank_mod_p

P = base.P
TICKETS = 4
WEIGHTS = frozenset({"weights"})


def small_model(seed: int = 1) -> QuantisedModel:
    return examples.mlp((32, 16, 8), seed=seed)


@lru_cache(maxsize=2)
def hidden(seed: int = 1) -> HiddenModel:
    """2^10 table entries in rows of 2^7; a budget of four proofs (five tickets)."""
    return commit_hidden_model(small_model(seed), tickets=TICKETS, rng=np.random.default_rng(seed))


def honest() -> bytes:
    return hidden().weight_range_proof()


def rejection(data: bytes) -> VerificationError:
    with pytest.raises(VerificationError) as caught:
        range_hidden.verify_file(ProofFile.from_bytes(data))
    return caught.value


# --- honest proofs -------------------------------------------------------------------------


def test_a_hidden_models_range_proof_round_trips_through_the_api_and_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    committed = hidden()
    vmc, proof = tmp_path / "model.vmc", tmp_path / "range.vmp"
    vmc.write_bytes(committed.to_bytes())
    data = api.weight_range_proof(vmc)
    assert data == honest()
    result = api.verify(data, expected_model_digest=committed.digest)
    assert result.accepted, result.detail
    assert result.protocol == "weight_range_hidden"
    statement = result.statement
    assert statement["model_digest"] == committed.digest
    assert statement["weights_hidden"] is True and statement["biases_bounded"] is True
    assert statement["weight_entries"] == 16 * 32 + 8 * 16
    assert result.soundness_bits is not None and result.soundness_bits >= 100
    summary = api.inspect(data)
    assert summary["model_digest"] == committed.digest and summary["weights_hidden"] is True
    proof.write_bytes(data)
    assert cli.main(["verify", str(proof), "--model", committed.digest]) == 0
    assert f"the weights of model {committed.digest} are proven int8" in capsys.readouterr().out
    assert cli.main(["verify", str(proof), "--model", "ab" * 32]) == 1
    assert "wrong_model" in capsys.readouterr().out
    assert cli.main(["inspect", str(proof)]) == 0
    assert committed.digest in capsys.readouterr().out


def test_the_range_proof_takes_the_extra_ticket_and_the_budget_stays_the_users() -> None:
    committed = hidden()
    assert committed.commitment.tickets == TICKETS + 1
    assert committed.tickets == TICKETS and committed.proofs_left == TICKETS
    assert committed.used_tickets == {committed.range_ticket} == {TICKETS}
    opening = _decoded(honest())[1].opening
    assert opening.trees[2].ticket == TICKETS


@pytest.mark.timeout(120)
def test_the_mlp_benchmark_model_is_proven_int8_when_committed_hidden() -> None:
    model = examples.mlp((784, 256, 128, 10), seed=2)
    started = time.perf_counter()
    committed = commit_hidden_model(model, tickets=16)
    commit_seconds = time.perf_counter() - started
    data = committed.weight_range_proof()
    result = api.verify(data, expected_model_digest=committed.digest)
    assert result.accepted, result.detail
    assert result.statement["weight_entries"] == 784 * 256 + 256 * 128 + 128 * 16
    assert result.soundness_bits is not None and result.soundness_bits >= 100
    assert committed.proofs_left == 16
    print(
        f"784-256-128-10, B = 16: commit and prove {commit_seconds:.2f} s, verify "
        f"{result.verify_seconds:.2f} s, {len(data)} bytes, {result.soundness_bits} bits"
    )


def test_a_budget_the_weights_cannot_hide_with_the_range_proof_is_refused() -> None:
    model = small_model()
    limit = largest_budget(model)
    with pytest.raises(ProverError, match=f"at most {limit} proofs"):
        commit_hidden_model(model, tickets=limit + 1)
    assert commit_hidden_model(model, tickets=limit).proofs_left == limit


# --- weights outside int8 ------------------------------------------------------------------


def _doctored(monkeypatch: pytest.MonkeyPatch, value: int = 200) -> QuantisedModel:
    """A model with one weight outside int8, past the quantiser's and validate's checks."""
    model = small_model(3)
    np.asarray(model.node("fc0").weight)[0, 0] = value
    monkeypatch.setattr(QuantisedModel, "validate", lambda *arguments, **keywords: None)
    return model


def test_the_honest_prover_refuses_a_weight_outside_int8(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ProverError, match="is 200, not an int8"):
        commit_hidden_model(_doctored(monkeypatch), tickets=2, rng=np.random.default_rng(3))


def _tolerant_counts(statement: lookup_zk.ZkLookupStatement, rows: list[np.ndarray]) -> Any:
    """Multiplicities that count a looked-up value outside [0, 256) as row 0."""
    column = np.asarray(rows[0])
    return lookup_zk.witness_multiplicities(statement, [np.where(column < 256, column, 0)])


def test_a_prover_that_fakes_the_multiplicities_is_rejected(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The stray weight counted as row 0: every helper column is computed from the real
    column, so the lookup's sum is false."""
    model = _doctored(monkeypatch)
    monkeypatch.setattr(hidden_prover, "check_int8", lambda *arguments: None)
    monkeypatch.setattr(hidden_prover, "witness_multiplicities", _tolerant_counts)
    skip_claimed_sum_checks(monkeypatch)
    committed = commit_hidden_model(model, tickets=2, rng=np.random.default_rng(4))
    error = rejection(committed.weight_range_proof())
    assert error.reason is Reject.ROUND_SUM_MISMATCH
    assert error.detail.startswith("zk_lookup/")


def test_a_prover_that_looks_up_another_column_than_the_committed_one_is_rejected(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The lookup run honestly on the column with the stray weight clamped to 127, M2 keeping
    200: the lookup holds, and the tie to M2 fails."""
    model = _doctored(monkeypatch)
    honest_column = hidden_prover.looked_up_column

    def clamped(*arguments: Any) -> np.ndarray:
        column = np.array(honest_column(*arguments), copy=True)
        half = column.shape[0] // 2
        column[:half] = np.minimum(column[:half], 255)
        return column

    def clamped_counts(statement: lookup_zk.ZkLookupStatement, rows: list[np.ndarray]) -> Any:
        return lookup_zk.witness_multiplicities(statement, [np.minimum(rows[0], 255)])

    monkeypatch.setattr(hidden_prover, "check_int8", lambda *arguments: None)
    monkeypatch.setattr(hidden_prover, "looked_up_column", clamped)
    monkeypatch.setattr(hidden_prover, "witness_multiplicities", clamped_counts)
    skip_claimed_sum_checks(monkeypatch)
    committed = commit_hidden_model(model, tickets=2, rng=np.random.default_rng(5))
    error = rejection(committed.weight_range_proof())
    assert error.reason is Reject.ROUND_SUM_MISMATCH
    assert error.detail.startswith("tie/")


# --- the tamper table ----------------------------------------------------------------------


def _decoded(data: bytes) -> tuple[ProofFile, HiddenRangeProof, Any]:
    proof_file = ProofFile.from_bytes(data)
    statement, model = read_statement(proof_file.statement)
    _, regions = derived_layout(model, statement.weight_commitment.params)
    params = read_parameters(proof_file.parameters)
    proof = HiddenRangeProof.from_bytes(
        proof_file.body,
        lookup_statement(regions.num_vars),
        tie_vars(regions),
        params.pcs,
        statement.weight_commitment,
    )
    return proof_file, proof, params


def _plus_one(values: np.ndarray, index: tuple[int, ...]) -> np.ndarray:
    out = np.array(values, dtype=np.int64, copy=True)
    out[index] = (out[index] + 1) % P
    return out


def _rounds(sumcheck: ZkSumcheckProof, index: tuple[int, ...]) -> ZkSumcheckProof:
    polys = _plus_one(sumcheck.sumcheck.round_polys, index)
    return dataclasses.replace(sumcheck, sumcheck=SumcheckProof(polys))


def _tree(proof: HiddenRangeProof, tree: int, **changes: Any) -> HiddenRangeProof:
    trees = list(proof.opening.trees)
    trees[tree] = dataclasses.replace(trees[tree], **changes)
    opening = dataclasses.replace(proof.opening, trees=tuple(trees))
    return dataclasses.replace(proof, opening=opening)


def _root(commitment: Commitment) -> Commitment:
    root = bytes([commitment.root[0] ^ 1]) + commitment.root[1:]
    return dataclasses.replace(commitment, root=root)


Edit = Callable[[HiddenRangeProof], HiddenRangeProof]
TAMPER: dict[str, tuple[Edit, Reject]] = {
    "multiplicity_commitment.root": (
        lambda p: dataclasses.replace(p, multiplicity_commitment=_root(p.multiplicity_commitment)),
        Reject.ROUND_SUM_MISMATCH,
    ),
    "helper_commitment.root": (
        lambda p: dataclasses.replace(p, helper_commitment=_root(p.helper_commitment)),
        Reject.ROUND_SUM_MISMATCH,
    ),
    "lookup.round": (
        lambda p: dataclasses.replace(p, lookup=_rounds(p.lookup, (2, 1, 0))),
        Reject.ROUND_SUM_MISMATCH,
    ),
    "lookup.mask_sum": (
        lambda p: dataclasses.replace(
            p, lookup=dataclasses.replace(p.lookup, mask_sum=_plus_one(p.lookup.mask_sum, (0,)))
        ),
        Reject.ROUND_SUM_MISMATCH,
    ),
    "lookup.mask_values": (
        lambda p: dataclasses.replace(
            p,
            lookup=dataclasses.replace(
                p.lookup, mask_values=_plus_one(p.lookup.mask_values, (1, 3))
            ),
        ),
        Reject.EVALUATION_MISMATCH,
    ),
    "finals.looked_up": (
        lambda p: dataclasses.replace(p, finals=_plus_one(p.finals, (0, 0))),
        Reject.FINAL_EVALUATION_MISMATCH,
    ),
    "finals.multiplicity": (
        lambda p: dataclasses.replace(p, finals=_plus_one(p.finals, (2, 1))),
        Reject.FINAL_EVALUATION_MISMATCH,
    ),
    "finals.helper": (
        lambda p: dataclasses.replace(p, finals=_plus_one(p.finals, (3, 7))),
        Reject.FINAL_EVALUATION_MISMATCH,
    ),
    "tie.round": (
        lambda p: dataclasses.replace(p, tie=_rounds(p.tie, (1, 0, 2))),
        Reject.ROUND_SUM_MISMATCH,
    ),
    "tie.mask_sum": (
        lambda p: dataclasses.replace(
            p, tie=dataclasses.replace(p.tie, mask_sum=_plus_one(p.tie.mask_sum, (2,)))
        ),
        Reject.ROUND_SUM_MISMATCH,
    ),
    "model_value": (
        lambda p: dataclasses.replace(p, model_value=_plus_one(p.model_value, (1,))),
        Reject.FINAL_EVALUATION_MISMATCH,
    ),
    "opening.multiplicity_rows": (
        lambda p: _tree(
            p, 0, evaluation_rows=_plus_one(p.opening.trees[0].evaluation_rows, (0, 0, 1))
        ),
        Reject.EVALUATION_MISMATCH,
    ),
    "opening.model_rows": (
        lambda p: _tree(
            p, 2, evaluation_rows=_plus_one(p.opening.trees[2].evaluation_rows, (0, 0, 2))
        ),
        Reject.EVALUATION_MISMATCH,
    ),
    "opening.model_proximity": (
        lambda p: _tree(p, 2, proximity_row=_plus_one(p.opening.trees[2].proximity_row, (1, 5))),
        Reject.MERKLE_PATH_INVALID,
    ),
    "opening.model_columns": (
        lambda p: _tree(p, 2, columns=_plus_one(p.opening.trees[2].columns, (0, 0))),
        Reject.MERKLE_PATH_INVALID,
    ),
    "opening.model_ticket": (
        lambda p: _tree(p, 2, ticket=0),
        Reject.EVALUATION_MISMATCH,
    ),
}


@pytest.mark.parametrize("name", sorted(TAMPER))
def test_tamper_table(name: str) -> None:
    proof_file, proof, params = _decoded(honest())
    edit, expected = TAMPER[name]
    body = edit(proof).to_bytes(params.pcs)
    error = rejection(dataclasses.replace(proof_file, body=body).to_bytes())
    assert error.reason is expected, error


def _multiplicity_commitment_for_two_openings(proof: HiddenRangeProof) -> HiddenRangeProof:
    commitment = dataclasses.replace(proof.multiplicity_commitment, tickets=2)
    return dataclasses.replace(proof, multiplicity_commitment=commitment)


BYTE_CASES: dict[str, tuple[Callable[[ProofFile], bytes], Reject]] = {
    "body.truncated": (
        lambda f: dataclasses.replace(f, body=f.body[:-1]).to_bytes(),
        Reject.TRUNCATED,
    ),
    "body.extended": (
        lambda f: dataclasses.replace(f, body=f.body + b"\0").to_bytes(),
        Reject.TRAILING_BYTES,
    ),
    "header.soundness_bits": (
        lambda f: dataclasses.replace(f, soundness_bits=f.soundness_bits + 1).to_bytes(),
        Reject.PARAMETER_MISMATCH,
    ),
    "parameters.other_queries": (
        lambda f: dataclasses.replace(
            f,
            parameters=write_parameters(
                dataclasses.replace(
                    read_parameters(f.parameters),
                    pcs=dataclasses.replace(read_parameters(f.parameters).pcs, num_queries=200),
                )
            ),
        ).to_bytes(),
        Reject.PARAMETER_MISMATCH,
    ),
}


@pytest.mark.parametrize("name", sorted(BYTE_CASES))
def test_tamper_table_of_the_file(name: str) -> None:
    edit, expected = BYTE_CASES[name]
    error = rejection(edit(ProofFile.from_bytes(honest())))
    assert error.reason is expected, error


def test_a_multiplicity_commitment_for_more_openings_is_rejected() -> None:
    proof_file, proof, params = _decoded(honest())
    body = _multiplicity_commitment_for_two_openings(proof).to_bytes(params.pcs)
    error = rejection(dataclasses.replace(proof_file, body=body).to_bytes())
    assert error.reason is Reject.PARAMETER_MISMATCH


def test_hostile_bytes_only_raise_verification_errors() -> None:
    data = honest()
    rng = np.random.default_rng(9)
    cases = [data[:cut] for cut in (0, 10, len(data) // 3, len(data) - 1)]
    for _ in range(24):
        position = int(rng.integers(len(data)))
        cases.append(data[:position] + bytes([data[position] ^ 0x41]) + data[position + 1 :])
    for case in cases:
        with pytest.raises(VerificationError):
            range_hidden.verify_file(ProofFile.from_bytes(case))
        assert not api.verify(case).accepted


# --- wrong statements ----------------------------------------------------------------------


def _restated(data: bytes, **changes: Any) -> bytes:
    proof_file = ProofFile.from_bytes(data)
    statement, _ = read_statement(proof_file.statement)
    changed = dataclasses.replace(statement, **changes)
    return dataclasses.replace(proof_file, statement=changed.to_bytes()).to_bytes()


def test_a_proof_checked_against_another_models_digest_is_rejected() -> None:
    result = api.verify(honest(), expected_model_digest=hidden(2).digest)
    assert not result.accepted and result.reason == Reject.WRONG_MODEL.value
    assert api.verify(honest(), expected_model_digest=hidden().digest).accepted


def test_a_proof_relabelled_as_another_hidden_models_is_rejected() -> None:
    other = hidden(2)
    relabelled = _restated(
        honest(),
        digest=bytes.fromhex(other.digest),
        circuit=other.model.circuit_bytes(),
        weight_commitment=other.commitment,
    )
    assert rejection(relabelled).reason is Reject.ROUND_SUM_MISMATCH
    digest_only = _restated(honest(), digest=bytes.fromhex(other.digest))
    assert rejection(digest_only).reason is Reject.STATEMENT_MISMATCH


def test_a_public_commitment_in_the_statement_is_rejected() -> None:
    public = commit_model(small_model(), range_proof=False)
    restated = _restated(
        honest(), digest=bytes.fromhex(public.digest), weight_commitment=public.commitment
    )
    assert rejection(restated).reason is Reject.STATEMENT_MISMATCH


def test_a_hidden_proof_passed_off_as_a_public_range_proof_is_rejected() -> None:
    proof_file = ProofFile.from_bytes(honest())
    relabelled = dataclasses.replace(proof_file, protocol=Protocol.WEIGHT_RANGE).to_bytes()
    result = api.verify(relabelled)
    assert not result.accepted and result.reason == Reject.STATEMENT_MISMATCH.value


# --- zero knowledge ------------------------------------------------------------------------


def _rows_at(zeta: np.ndarray, point: np.ndarray, size: int, offset: int = 0) -> np.ndarray:
    """The four base-field rows of T′ ↦ ζ·(T′ restricted to a region)(point)."""
    rows = np.zeros((ext.DEGREE, size), dtype=np.int64)
    eq = multilinear.eq_table(point)
    rows[:, offset : offset + eq.shape[1]] = ext.mul(eq, zeta)
    return rows


def test_every_value_revealed_of_the_weights_by_the_range_proof_and_the_budget_is_masked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The range proof's two values of M2 (A2 at r', μ at the opening) and every value of M2
    the budget's four proofs reveal are (a function of T) + (a linear map of T′): they are
    jointly uniform whatever T holds when that map has full rank. The control: the looked-up
    column's real half at r', which the doubling hides, has no T′ part at all."""
    committed = commit_hidden_model(small_model(), tickets=TICKETS, rng=np.random.default_rng(8))
    size = 1 << committed.layout.log_size
    regions = regions_of(committed.layout)
    revealed = range_hidden.revealed_points(ProofFile.from_bytes(committed.weight_range_proof()))
    lookup = revealed.lookup
    selector = regions.entry_mask().astype(np.int64)
    a2_rows = ext.mul_base(
        ext.mul(
            multilinear.eq_table(np.concatenate([lookup.high, lookup.low], axis=1)),
            ext.mul(lookup.zeta, lookup.padding_weight),
        ),
        selector,
    )
    rows = [a2_rows]
    proofs = [
        prove_private(
            committed, np.random.default_rng(30 + i).integers(-128, 128, (2, 32)), WEIGHTS
        )
        for i in range(TICKETS)
    ]
    assert committed.proofs_left == 0
    honest_draw = private_protocol.draw_claim_weights
    honest_batch_verify = pcs.batch_verify
    openings: list[np.ndarray] = [revealed.model]

    def draw(transcript: Any, claims: list, label: str = "claims") -> np.ndarray:
        if label == "model_claims":
            seen = {(c.zeta.tobytes(), c.offset, c.local.tobytes()): c for c in claims}
            rows.extend(_rows_at(c.zeta, c.local, size, c.offset) for c in seen.values())
        return honest_draw(transcript, claims, label)

    def batch_verify(requests: list, *arguments: Any) -> None:
        for commitment, point, _ in requests:
            if commitment.to_bytes() == committed.commitment.to_bytes():
                openings.append(point)
        honest_batch_verify(requests, *arguments)

    monkeypatch.setattr(private_protocol, "draw_claim_weights", draw)
    monkeypatch.setattr(pcs, "batch_verify", batch_verify)
    from provers.private import verify_private_file

    for data in proofs:
        verify_private_file(ProofFile.from_bytes(data))
    assert len(openings) == 1 + TICKETS
    rows.extend(_rows_at(point[:, 0], point[:, 1:], size) for point in openings)
    matrix = np.concatenate(rows)
    assert matrix.shape[0] >= 4 * (2 + 2 * TICKETS)
    assert _rank_mod_p(matrix) == matrix.shape[0]
    unmasked = _rows_at(ext.zero(), lookup.high, size)
    control = np.concatenate([matrix, unmasked])
    assert _rank_mod_p(control) < control.shape[0]


def _constant_weights(value: int) -> QuantisedModel:
    model = small_model()
    for name in ("fc0", "fc1"):
        np.asarray(model.node(name).weight)[...] = value
    return model


RUNS = 10


@lru_cache(maxsize=2)
def _proofs(value: int) -> tuple[tuple[HiddenRangeProof, Any], ...]:
    out = []
    model = _constant_weights(value)
    for run in range(RUNS):
        committed = commit_hidden_model(
            model, tickets=1, rng=np.random.default_rng(1000 * value + run)
        )
        data = committed.weight_range_proof()
        points = range_hidden.revealed_points(ProofFile.from_bytes(data))
        out.append((_decoded(data)[1], (committed, points)))
    return tuple(out)


def _revealed_low_bits(value: int) -> np.ndarray:
    """The low two bits of every final, of μ and of every masked round coefficient."""
    parts = []
    for proof, _ in _proofs(value):
        parts += [
            proof.finals.reshape(-1),
            proof.model_value.reshape(-1),
            proof.lookup.sumcheck.round_polys.reshape(-1),
            proof.tie.sumcheck.round_polys.reshape(-1),
        ]
    return np.concatenate(parts) & 3


def _unmasked_low_bits(value: int) -> np.ndarray:
    """The control: the looked-up column's real half a = sel·T + 128 at each proof's r'."""
    parts = []
    for _, (committed, points) in _proofs(value):
        regions = regions_of(committed.layout)
        column = looked_up_vector(committed.weights, regions)
        point = np.concatenate([points.lookup.high, points.lookup.low], axis=1)
        parts.append(multilinear.evaluate(column, point))
    return np.concatenate(parts) & 3


def test_two_weight_tables_reveal_alike_values() -> None:
    statistic = chi_square(_revealed_low_bits(0), _revealed_low_bits(5))
    assert statistic < CHI_SQUARE_3_DOF_0_1_PERCENT


def test_the_same_statistic_separates_the_tables_without_the_doubled_half() -> None:
    statistic = chi_square(_unmasked_low_bits(0), _unmasked_low_bits(5))
    assert statistic > CHI_SQUARE_3_DOF_0_1_PERCENT


# --- the .vmc ------------------------------------------------------------------------------


def test_the_vmc_round_trip_keeps_the_proof_and_the_ticket_it_spent() -> None:
    committed = commit_hidden_model(small_model(), tickets=2, rng=np.random.default_rng(6))
    loaded = HiddenModel.from_bytes(committed.to_bytes())
    assert loaded.weight_range_proof() == committed.weight_range_proof()
    assert loaded.used_tickets == {2} and loaded.proofs_left == 2
    assert api.verify(loaded.weight_range_proof(), expected_model_digest=loaded.digest).accepted
    prove_private(loaded, np.random.default_rng(2).integers(-128, 128, (1, 32)), WEIGHTS)
    again = HiddenModel.from_bytes(loaded.to_bytes())
    assert again.used_tickets == {0, 2} and again.proofs_left == 1

    unspent = HiddenModel.from_bytes(committed.to_bytes())
    unspent.prover_data.used_tickets = set()
    with pytest.raises(ModelError, match="not recorded as spent"):
        HiddenModel.from_bytes(unspent.to_bytes())
    other = commit_hidden_model(small_model(2), tickets=2, rng=np.random.default_rng(7))
    swapped = dataclasses.replace(committed, range_proof=other.weight_range_proof())
    with pytest.raises(ModelError, match="not about this model"):
        HiddenModel.from_bytes(swapped.to_bytes())
    blob = committed.to_bytes()
    with pytest.raises(ModelError, match="version-1"):
        HiddenModel.from_bytes(blob[:4] + struct.pack("<H", 1) + blob[6:])


def test_an_opened_commitment_is_refused_a_second_range_proof() -> None:
    committed = commit_hidden_model(small_model(), tickets=2, rng=np.random.default_rng(9))
    with pytest.raises(ProverError, match="opened already"):
        range_hidden.prove(committed)
    assert committed.used_tickets == {2}

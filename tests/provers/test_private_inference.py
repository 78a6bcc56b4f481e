"""The private mode of inference proofs (provers/private): round trips in each privacy mode,
no private value in the proof bytes, wrong statements, cheating provers, a seeded tamper table
with one case per proof field, hostile bytes, and the revealed values of two different private
inputs compared (χ²) with the unmasked control."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import lru_cache

import numpy as np
import pytest

from provers.circuit import executor
from provers.commit.pcs import OpeningProof
from provers.container import ProofFile
from provers.errors import ProverError, Reject, VerificationError
from provers.field import base
from provers.inference import commit_model, examples
from provers.inference.model_commitment import CommittedModel
from provers.inference.soundness import read_parameters
from provers.lookup.statement import LookupStatement
from provers.poly import multilinear
from provers.private import prove_private, verify_private_file
from provers.private import prover as private_prover
from provers.private import verifier as private_verifier
from provers.private.plan import PrivatePlan
from provers.private.proof import PrivateProof
from provers.private.statement import read_private_statement
from provers.sumcheck.proof import SumcheckProof
from provers.sumcheck.zk import ZkSumcheckProof
from tests.provers.cheating import skip_claimed_sum_checks
from tests.provers.distributions import chi_square

P = base.P
INPUT = frozenset({"input"})
OUTPUT = frozenset({"output"})
BOTH = frozenset({"input", "output"})


@lru_cache(maxsize=2)
def committed(seed: int = 1) -> CommittedModel:
    return commit_model(examples.mlp((32, 16, 8), seed=seed))


def inputs(seed: int, batch: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).integers(-128, 128, (batch, 32))


@lru_cache(maxsize=4)
def honest(private: frozenset[str] = INPUT) -> bytes:
    return prove_private(committed(), inputs(3, 2), private, rng=np.random.default_rng(5))


def rejection(data: bytes) -> VerificationError:
    with pytest.raises(VerificationError) as caught:
        verify_private_file(ProofFile.from_bytes(data))
    return caught.value


def reason(data: bytes) -> Reject:
    return rejection(data).reason


@pytest.mark.parametrize("private", [INPUT, OUTPUT, BOTH], ids=["input", "output", "both"])
@pytest.mark.parametrize("batch", [1, 3])
def test_each_privacy_mode_round_trips(private: frozenset[str], batch: int) -> None:
    model = committed()
    x = inputs(batch, batch)
    data = prove_private(model, x, private)
    public = verify_private_file(ProofFile.from_bytes(data))
    assert public["model_digest"] == model.digest
    assert sorted(public["private"]) == sorted(private)
    expected = executor.run(model.model, x).tolist()
    assert public["output"] == (None if "output" in private else expected)
    assert public["soundness_bits"] >= 100


def test_the_mlp_benchmark_model_proves_privately() -> None:
    model = commit_model(examples.mlp())
    x = np.random.default_rng(0).integers(-128, 128, (1, 784))
    public = verify_private_file(ProofFile.from_bytes(prove_private(model, x, INPUT)))
    assert public["output"] == executor.run(model.model, x).tolist()


def _windows(values: np.ndarray, width: int) -> list[bytes]:
    """Every run of ``width`` consecutive input values, as int8 bytes and as u32 field words."""
    flat = np.asarray(values, np.int64).reshape(-1)
    out = []
    for start in range(0, flat.shape[0] - width + 1, width):
        run = flat[start : start + width]
        out.append(run.astype(np.int8).tobytes())
        out.append((run % P).astype("<u4").tobytes())
    return out


def test_the_proof_bytes_hold_no_private_input_values() -> None:
    x = inputs(3, 2)
    private = honest(INPUT)
    assert not any(window in private for window in _windows(x, 8))
    public = honest(OUTPUT)
    assert any(window in public for window in _windows(x, 8)), "the control finds the input"


def test_the_proof_bytes_hold_no_private_output_values() -> None:
    outputs = executor.run(committed().model, inputs(3, 2))
    private = honest(BOTH)
    assert not any(window in private for window in _windows(outputs, 8))
    assert any(window in honest(INPUT) for window in _windows(outputs, 8))


# ---- wrong statements ----


def _with_statement(data: bytes, **changes: object) -> bytes:
    proof_file = ProofFile.from_bytes(data)
    statement, _ = read_private_statement(proof_file.statement)
    changed = dataclasses.replace(statement, **changes)
    return dataclasses.replace(proof_file, statement=changed.to_bytes()).to_bytes()


def test_a_changed_public_output_is_rejected() -> None:
    data = honest(INPUT)
    statement, _ = read_private_statement(ProofFile.from_bytes(data).statement)
    assert statement.outputs is not None
    outputs = statement.outputs.copy()
    outputs[0, 0] = outputs[0, 0] + 1 if outputs[0, 0] < 127 else 126
    assert reason(_with_statement(data, outputs=outputs)) is Reject.ROUND_SUM_MISMATCH


def test_a_changed_public_input_is_rejected() -> None:
    data = honest(OUTPUT)
    statement, _ = read_private_statement(ProofFile.from_bytes(data).statement)
    assert statement.inputs is not None
    x = statement.inputs.copy()
    x[1, 5] = x[1, 5] + 1 if x[1, 5] < 127 else 126
    assert reason(_with_statement(data, inputs=x)) is Reject.ROUND_SUM_MISMATCH


def test_a_changed_nonce_is_rejected() -> None:
    assert reason(_with_statement(honest(INPUT), nonce=b"other")) is Reject.ROUND_SUM_MISMATCH


def test_a_proof_relabelled_as_another_models_is_rejected() -> None:
    other = committed(2)
    data = _with_statement(
        honest(INPUT),
        digest=bytes.fromhex(other.digest),
        circuit=other.model.circuit_bytes(),
        weight_commitment=other.commitment,
    )
    assert reason(data) is Reject.ROUND_SUM_MISMATCH


def test_a_digest_that_names_another_model_is_rejected() -> None:
    other = committed(2)
    data = _with_statement(honest(INPUT), digest=bytes.fromhex(other.digest))
    assert reason(data) is Reject.STATEMENT_MISMATCH


def test_a_private_part_with_values_is_rejected() -> None:
    data = _with_statement(honest(INPUT), inputs=inputs(3, 2))
    assert reason(data) is Reject.STATEMENT_MISMATCH


def test_unsupported_models_and_private_weights_of_an_open_commitment_are_refused_clearly() -> None:
    with pytest.raises(ProverError, match="need a model committed with hidden weights"):
        prove_private(committed(), inputs(1), frozenset({"weights"}))
    residual = commit_model(examples.residual_cnn())
    with pytest.raises(ProverError, match="MLPs and CNNs .* is add"):
        prove_private(residual, np.zeros((1, *residual.model.input_shape), np.int64), INPUT)


# ---- cheating provers ----


def _cheat(
    monkeypatch: pytest.MonkeyPatch,
    edit: Callable[[PrivatePlan, np.ndarray], object],
    model: CommittedModel | None = None,
    x: np.ndarray | None = None,
) -> bytes:
    """A prover that changes its witness after building it, skips the checks that would
    refuse, and counts only the lookup rows the table holds (the MLP on two inputs unless
    ``model`` and ``x`` are given)."""
    honest_build = private_prover.build_witness

    def build(plan: PrivatePlan, x: np.ndarray, rng: object) -> object:
        witness, outputs = honest_build(plan, x, rng)  # type: ignore[arg-type]
        changed = edit(plan, witness.real)
        if isinstance(changed, np.ndarray):
            outputs = changed
        columns = private_prover.lookup_columns(plan, witness.real)
        statement = LookupStatement(plan.table.lookup_table(), 1, plan.lookup_log)
        counts = _tolerant_counts()(statement, [columns])
        witness.real[: 1 << plan.lookup_log] = 0
        witness.real[: counts.shape[0]] = counts
        return witness, outputs

    monkeypatch.setattr(private_prover, "build_witness", build)
    skip_claimed_sum_checks(monkeypatch)
    monkeypatch.setattr(private_prover.batched_zk, "ext", _trusting_ext())
    monkeypatch.setattr(private_prover, "compute_multiplicities", _tolerant_counts())
    model = committed() if model is None else model
    x = inputs(3, 2) if x is None else x
    return prove_private(model, x, INPUT, rng=np.random.default_rng(5))


def _trusting_ext() -> object:
    import types

    from provers.field import ext

    trusting = types.SimpleNamespace(**vars(ext))
    trusting.equal = lambda a, b: True
    return trusting


def _tolerant_counts() -> Callable:
    from provers.lookup.multiplicities import compute_multiplicities as honest_counts

    def counts(statement: object, lookups: list[list[np.ndarray]]) -> np.ndarray:
        table = statement.table  # type: ignore[attr-defined]
        rows = {tuple(int(c) for c in row) for row in zip(*table.column_values(), strict=True)}
        kept = []
        for lookup in lookups:
            inside = np.array(
                [tuple(int(v) for v in row) in rows for row in zip(*lookup, strict=True)]
            )
            kept.append([np.where(inside, column, 0) for column in lookup])
        return honest_counts(statement, kept)  # type: ignore[arg-type]

    return counts


def _vector(plan: PrivatePlan, node: str, vector: str, table: np.ndarray) -> np.ndarray:
    offset = plan.offsets[(node, vector)]
    return table[offset : offset + plan.slot_size((node, vector))]


def test_a_wrong_rounding_limb_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    def edit(plan: PrivatePlan, table: np.ndarray) -> None:
        limb = _vector(plan, plan.layers[0].node, "r1_0", table)
        limb[0] = (limb[0] + 1) % P

    data = _cheat(monkeypatch, edit)
    monkeypatch.undo()
    error = rejection(data)
    assert error.reason is Reject.ROUND_SUM_MISMATCH and error.detail.startswith("relations")


def test_a_limb_outside_its_range_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    """τ kept, but written as limb 0 = v + 2^8 and limb 1 = w − 1: the identities hold, the
    range lookup does not."""

    def edit(plan: PrivatePlan, table: np.ndarray) -> None:
        layer = plan.layers[0]
        widths = layer.requant.tau_limbs
        assert len(widths) >= 2
        low, high = (_vector(plan, layer.node, f"tau{j}", table) for j in (0, 1))
        index = int(np.argmax(high > 0))
        assert high[index] > 0
        low[index] += 1 << widths[0]
        high[index] -= 1

    data = _cheat(monkeypatch, edit)
    monkeypatch.undo()
    error = rejection(data)
    assert error.reason is Reject.ROUND_SUM_MISMATCH and error.detail.startswith("zk_lookup")


def test_an_output_the_model_does_not_compute_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    """The statement and the committed y both carry y + 1 in one entry: the output check
    holds, the clamp lookup binding y to u does not."""

    def edit(plan: PrivatePlan, table: np.ndarray) -> np.ndarray:
        y = _vector(plan, plan.layers[-1].node, "y", table)
        outputs = executor.run(committed().model, inputs(3, 2))
        outputs[0, 0] = outputs[0, 0] + 1 if outputs[0, 0] < 127 else 126
        y[0] = outputs[0, 0] % P
        return outputs

    data = _cheat(monkeypatch, edit)
    monkeypatch.undo()
    error = rejection(data)
    assert error.reason is Reject.ROUND_SUM_MISMATCH and error.detail.startswith("zk_lookup")


# ---- the tamper table ----


def _decoded(data: bytes) -> tuple[ProofFile, PrivateProof, object]:
    proof_file = ProofFile.from_bytes(data)
    statement, model = read_private_statement(proof_file.statement)
    params = read_parameters(proof_file.parameters)
    plan = PrivatePlan(
        model,
        statement.batch,
        statement.private_input,
        not statement.private_output,
        8,
        params.pcs,
        private_weights=statement.private_weights,
    )
    terms = private_verifier.terms_of(plan)
    shape = private_verifier._shape(plan, terms)
    proof = PrivateProof.from_bytes(proof_file.body, shape, params.pcs, statement.weight_commitment)
    return proof_file, proof, params


def _plus_one(values: np.ndarray, index: tuple[int, ...]) -> np.ndarray:
    out = np.array(values, dtype=np.int64, copy=True)
    out[index] = (out[index] + 1) % P
    return out


def _flip(data: bytes) -> bytes:
    return bytes([data[0] ^ 1]) + data[1:]


def _root(field: str) -> Callable[[PrivateProof], PrivateProof]:
    def edit(proof: PrivateProof) -> PrivateProof:
        commitment = getattr(proof, field)
        changed = dataclasses.replace(commitment, root=_flip(commitment.root))
        return dataclasses.replace(proof, **{field: changed})

    return edit


def _array(field: str, index: tuple[int, ...]) -> Callable[[PrivateProof], PrivateProof]:
    def edit(proof: PrivateProof) -> PrivateProof:
        return dataclasses.replace(proof, **{field: _plus_one(getattr(proof, field), index)})

    return edit


def _rounds(field: str) -> Callable[[PrivateProof], PrivateProof]:
    def edit(proof: PrivateProof) -> PrivateProof:
        sumcheck: ZkSumcheckProof = getattr(proof, field)
        rounds = SumcheckProof(_plus_one(sumcheck.sumcheck.round_polys, (1, 0, 1)))
        return dataclasses.replace(proof, **{field: dataclasses.replace(sumcheck, sumcheck=rounds)})

    return edit


def _opening(tree: int, part: str) -> Callable[[PrivateProof], PrivateProof]:
    def edit(proof: PrivateProof) -> PrivateProof:
        opening: OpeningProof = proof.opening
        trees = list(opening.trees)
        changed = {
            "columns": lambda t: _plus_one(t.columns, (0, 0)),
            "proximity_row": lambda t: _plus_one(t.proximity_row, (0, 1)),
            "evaluation_rows": lambda t: _plus_one(t.evaluation_rows, (0, 0, 2)),
        }[part](trees[tree])
        trees[tree] = dataclasses.replace(trees[tree], **{part: changed})
        return dataclasses.replace(proof, opening=dataclasses.replace(opening, trees=tuple(trees)))

    return edit


TAMPER: dict[str, tuple[Callable[[PrivateProof], PrivateProof], Reject]] = {
    "witness_commitment.root": (_root("witness_commitment"), Reject.ROUND_SUM_MISMATCH),
    "biases": (_array("biases", (0, 1)), Reject.ROUND_SUM_MISMATCH),
    "relations.rounds": (_rounds("relations"), Reject.ROUND_SUM_MISMATCH),
    "relation_finals": (_array("relation_finals", (2, 4)), Reject.FINAL_EVALUATION_MISMATCH),
    "lookup_helpers.root": (_root("lookup_helpers"), Reject.ROUND_SUM_MISMATCH),
    "lookup.rounds": (_rounds("lookup"), Reject.ROUND_SUM_MISMATCH),
    "lookup_finals": (_array("lookup_finals", (3, 0)), Reject.FINAL_EVALUATION_MISMATCH),
    "claims.rounds": (_rounds("claims"), Reject.ROUND_SUM_MISMATCH),
    "witness_value": (_array("witness_value", (1,)), Reject.FINAL_EVALUATION_MISMATCH),
    "opening.witness_columns": (_opening(0, "columns"), Reject.MERKLE_PATH_INVALID),
    "opening.helper_rows": (_opening(1, "evaluation_rows"), Reject.EVALUATION_MISMATCH),
    "opening.weight_rows": (_opening(2, "evaluation_rows"), Reject.EVALUATION_MISMATCH),
}


@pytest.mark.parametrize("name", sorted(TAMPER))
def test_tamper_table(name: str) -> None:
    proof_file, proof, params = _decoded(honest(INPUT))
    edit, expected = TAMPER[name]
    body = edit(proof).to_bytes(params.pcs)  # type: ignore[attr-defined]
    assert reason(dataclasses.replace(proof_file, body=body).to_bytes()) is expected


def test_the_tamper_table_names_every_proof_field() -> None:
    """Every field an inference proof carries (an audit's data table fields are tampered in
    tests/provers/test_private_audit.py, the hidden weights' value in
    tests/provers/test_private_weights.py, a convolution's window stage in
    tests/provers/test_private_cnn.py)."""
    fields = {f.name for f in dataclasses.fields(PrivateProof)} - {
        "data_commitment",
        "data_value",
        "model_value",
        "windows",
        "window_finals",
    }
    assert fields == {name.split(".")[0] for name in TAMPER}


def test_hostile_bytes_only_raise_verification_errors() -> None:
    data = honest(INPUT)
    rng = np.random.default_rng(9)
    cases = [data[:cut] for cut in (0, 10, len(data) // 3, len(data) - 1)]
    for _ in range(25):
        position = int(rng.integers(len(data)))
        cases.append(data[:position] + bytes([data[position] ^ 0x41]) + data[position + 1 :])
    for case in cases:
        with pytest.raises(VerificationError):
            verify_private_file(ProofFile.from_bytes(case))


# ---- zero knowledge ----


def _revealed(x: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The low two bits of every revealed value of W, and the control: W's own values at the
    same claim points (what the doubling hides)."""
    data = prove_private(committed(), x, INPUT, rng=np.random.default_rng(seed))
    _, proof, _ = _decoded(data)
    revealed = np.concatenate([proof.relation_finals.reshape(-1), proof.lookup_finals.reshape(-1)])
    return revealed & 3, proof.witness_value & 3


def test_two_private_inputs_reveal_alike_values() -> None:
    zeros, extremes = np.zeros((2, 32), np.int64), np.full((2, 32), 127, np.int64)
    first = np.concatenate([_revealed(zeros, s)[0] for s in range(8)])
    second = np.concatenate([_revealed(extremes, 50 + s)[0] for s in range(8)])
    assert chi_square(first, second) < 16.3


def test_the_same_statistic_separates_the_inputs_on_the_unmasked_half() -> None:
    """The control: the input's own MLE at random points, which a proof without the random
    half would reveal, tells an all-zero input from another at once."""
    rng = np.random.default_rng(4)
    layout = PrivatePlan(committed().model, 2, True, True).input_layout
    zeros = layout.embed(np.zeros((2, 32), np.int64)) % P
    other = layout.embed(np.full((2, 32), 127, np.int64)) % P
    from provers.field import ext

    def values(table: np.ndarray) -> np.ndarray:
        points = [ext.random((layout.log_size,), rng).reshape(4, -1) for _ in range(40)]
        return np.concatenate([multilinear.evaluate(table, p) for p in points]) & 3

    assert chi_square(values(zeros), values(other)) > 16.3


def _rank_mod_p(rows: np.ndarray) -> int:
    """Rank over F_p by elimination on int64 rows (products below 2^62)."""
    matrix = rows % P
    rank = 0
    for column in range(matrix.shape[1]):
        if rank == matrix.shape[0]:
            break
        candidates = np.nonzero(matrix[rank:, column])[0]
        if candidates.size == 0:
            continue
        pivot = rank + int(candidates[0])
        matrix[[rank, pivot]] = matrix[[pivot, rank]]
        inverse = pow(int(matrix[rank, column]), P - 2, P)
        matrix[rank] = matrix[rank] * inverse % P
        others = np.nonzero(matrix[:, column])[0]
        others = others[others != rank]
        factors = matrix[others, column][:, None]
        matrix[others] = (matrix[others] - factors * matrix[rank] % P) % P
        rank += 1
    return rank


@pytest.mark.parametrize("private", [INPUT, BOTH], ids=["input", "both"])
def test_every_revealed_witness_value_is_a_full_rank_image_of_the_random_half(
    private: frozenset[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each value the verifier sees of W2 is (1 − ζ)·(a function of W) + ζ·(a linear function
    of W′). If the linear map from W′ to all of them has full rank, they are jointly uniform
    whatever W holds: the zero-knowledge condition on the claims, checked on a real proof
    (the input and the smallest layer, 8 outputs of one sample, included)."""
    from provers.private import protocol as private_protocol

    data = prove_private(committed(), inputs(7, 1), private)
    captured: list[list[private_protocol.WitnessClaim]] = []
    honest_draw = private_protocol.draw_claim_weights

    def draw(transcript: object, claims: list[private_protocol.WitnessClaim]) -> np.ndarray:
        captured.append(list(claims))
        return honest_draw(transcript, claims)  # type: ignore[arg-type]

    monkeypatch.setattr(private_protocol, "draw_claim_weights", draw)
    verify_private_file(ProofFile.from_bytes(data))
    proof_file = ProofFile.from_bytes(data)
    statement, model = read_private_statement(proof_file.statement)
    plan = PrivatePlan(model, 1, statement.private_input, not statement.private_output)
    distinct = {
        (claim.zeta.tobytes(), claim.offset, claim.local.tobytes()): claim for claim in captured[0]
    }
    rows = []
    for claim in distinct.values():
        coefficients = np.zeros((4, plan.witness_size), dtype=np.int64)
        eq = multilinear.eq_table(claim.local)
        from provers.field import ext

        scaled = ext.mul(eq, claim.zeta)
        coefficients[:, claim.offset : claim.offset + eq.shape[1]] = scaled
        rows.extend(coefficients)
    matrix = np.stack(rows)
    assert matrix.shape[0] >= 4 * 20
    assert _rank_mod_p(matrix) == matrix.shape[0]
    # The control: three more values of the 8-entry output vector would need 12 dimensions of
    # its random half on top of those already used; the same check finds the map rank-deficient.
    rng = np.random.default_rng(2)
    last = plan.layers[-1]
    offset = plan.offsets[(last.node, "y")]
    extra = []
    for _ in range(3):
        from provers.field import ext

        local = private_protocol.vector_local(
            plan, (last.node, "y"), ext.random((last.log_size,), rng).reshape(4, -1)
        )
        coefficients = np.zeros((4, plan.witness_size), dtype=np.int64)
        eq = multilinear.eq_table(local)
        coefficients[:, offset : offset + eq.shape[1]] = ext.mul(eq, ext.random((1,), rng)[:, 0])
        extra.extend(coefficients)
    leaky = np.concatenate([matrix, np.stack(extra)])
    assert _rank_mod_p(leaky) < leaky.shape[0]


def test_every_vector_has_a_slot_and_a_lookup_segment_of_its_own_size() -> None:
    plan = PrivatePlan(
        commit_model(examples.mlp((784, 256, 128, 10), seed=2)).model, 64, True, True
    )
    regions = [(0, 1 << plan.lookup_log)]
    for key in plan.slots:
        size = plan.slot_size(key)
        assert size == max(16, 1 << plan.vector_log(key))
        assert plan.offsets[key] % size == 0
        regions.append((plan.offsets[key], plan.offsets[key] + size))
    rows = []
    for segment in plan.segments:
        assert {plan.slot_size(slot) for slot in segment.slots} == {1 << segment.log}
        assert segment.offset % (1 << segment.log) == 0
        rows.append((segment.offset, segment.offset + (1 << segment.log)))
    for spans in (regions, rows):
        spans.sort()
        assert all(end <= start for (_, end), (start, _) in zip(spans, spans[1:], strict=False))
    assert rows[-1][1] <= 1 << plan.lookup_log
    assert plan.witness_size < 2 * sum(end - start for start, end in regions)


def test_vectors_too_small_to_mask_their_revealed_values_are_refused() -> None:
    tiny = commit_model(examples.mlp((16, 8, 2), seed=3))
    with pytest.raises(ProverError, match="larger batch"):
        prove_private(tiny, np.zeros((1, 16), np.int64), INPUT)
    x = np.random.default_rng(1).integers(-128, 128, (8, 16))
    public = verify_private_file(ProofFile.from_bytes(prove_private(tiny, x, INPUT)))
    assert public["output"] == executor.run(tiny.model, x).tolist()


def test_an_mlp_that_flattens_an_image_proves_privately() -> None:
    """torch's Flatten → Linear → ReLU → Linear on 1×8×8 images (the digits shape): the input
    keeps its padded multi-axis layout, which the first layer's weight columns follow."""
    torch = pytest.importorskip("torch")
    from provers import compiler

    torch.manual_seed(0)
    module = torch.nn.Sequential(
        torch.nn.Flatten(),
        torch.nn.Linear(64, 24),
        torch.nn.ReLU(),
        torch.nn.Linear(24, 10),
    ).eval()
    program = torch.export.export(module, (torch.randn(1, 1, 8, 8),))
    calibration = np.random.default_rng(2).normal(size=(32, 1, 8, 8)).astype(np.float32)
    model = compiler.compile_program(program, calibration).model
    assert any(node.kind.value == "reshape" for node in model.nodes)
    committed_model = commit_model(model)
    x = np.random.default_rng(3).integers(-128, 128, (2, 1, 8, 8))
    for private in (INPUT, BOTH):
        data = prove_private(committed_model, x, private)
        public = verify_private_file(ProofFile.from_bytes(data))
        expected = None if "output" in private else executor.run(model, x).tolist()
        assert public["output"] == expected

"""Tamper tables of inference proofs: every proof field and every statement field, each case
seeded and named, each expecting its own rejection reason."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import pytest

from provers import api
from provers.commit.merkle import MerkleProof
from provers.commit.pcs import OpeningProof, TreeOpening
from provers.container import ProofFile, Protocol
from provers.errors import ProverError, Reject, VerificationError
from provers.field import base
from provers.inference import commit_model, examples, prove, verify_file
from provers.inference.model_commitment import CommittedModel
from provers.inference.proof import InferenceProof, StageProof
from provers.inference.statement import Statement, read_statement
from provers.lookup.proof import LayerProof, LookupProof, TreeProof
from provers.sumcheck.proof import SumcheckProof

Tamper = Callable[[InferenceProof], InferenceProof]


@pytest.fixture(scope="module")
def model() -> CommittedModel:
    return commit_model(examples.residual_cnn())


@pytest.fixture(scope="module")
def honest(model: CommittedModel) -> bytes:
    inputs = np.random.default_rng(7).integers(-128, 128, (2, *model.model.input_shape))
    return prove(model, inputs, nonce=b"tamper")


def _bump(values: np.ndarray, index: tuple[int, ...]) -> np.ndarray:
    out = np.array(values, copy=True)
    out[index] = (out[index] + 1) % base.P
    return out


def _stage(stage: StageProof, **changes: object) -> StageProof:
    return dataclasses.replace(stage, **changes)


def _rounds(stage: StageProof, polys: np.ndarray) -> StageProof:
    return _stage(stage, sumcheck=SumcheckProof(polys))


def _swap_rounds(stage: StageProof) -> StageProof:
    polys = np.array(stage.sumcheck.round_polys, copy=True)
    polys[[0, 1]] = polys[[1, 0]]
    return _rounds(stage, polys)


def _lookup_tree(proof: InferenceProof, which: str, tree: TreeProof) -> InferenceProof:
    lookup = dataclasses.replace(proof.lookup, **{which: tree})
    return dataclasses.replace(proof, lookup=lookup)


def _lookup_layer(
    proof: InferenceProof, which: str, index: int, layer: LayerProof
) -> InferenceProof:
    tree: TreeProof = getattr(proof.lookup, which)
    layers = list(tree.layers)
    layers[index] = layer
    return _lookup_tree(proof, which, dataclasses.replace(tree, layers=tuple(layers)))


def _opening_tree(proof: InferenceProof, index: int, **changes: object) -> InferenceProof:
    trees = list(proof.opening.trees)
    trees[index] = dataclasses.replace(trees[index], **changes)
    opening = OpeningProof(proof.opening.commitments_digest, tuple(trees))
    return dataclasses.replace(proof, opening=opening)


def _lookup_values(proof: InferenceProof, **changes: object) -> InferenceProof:
    lookup: LookupProof = dataclasses.replace(proof.lookup, **changes)
    return dataclasses.replace(proof, lookup=lookup)


def _sibling(tree: TreeOpening) -> MerkleProof:
    siblings = list(tree.merkle_proof.siblings)
    siblings[0] = bytes([siblings[0][0] ^ 1]) + siblings[0][1:]
    return MerkleProof(tuple(siblings))


PROOF_CASES: dict[str, tuple[Tamper, Reject]] = {
    "witness commitment root": (
        lambda p: dataclasses.replace(
            p, witness_commitment=dataclasses.replace(p.witness_commitment, root=bytes(32))
        ),
        Reject.OUTPUT_MISMATCH,
    ),
    "stage 0 output value": (
        lambda p: dataclasses.replace(p, stage0=_bump(p.stage0, (0, 0))),
        Reject.OUTPUT_MISMATCH,
    ),
    "stage 0 advice value": (
        lambda p: dataclasses.replace(p, stage0=_bump(p.stage0, (1, 3))),
        Reject.ROUND_SUM_MISMATCH,
    ),
    "stage 0 value dropped": (
        lambda p: dataclasses.replace(p, stage0=p.stage0[:, :-1]),
        Reject.LENGTH_OUT_OF_BOUNDS,
    ),
    "lookup witness root": (
        lambda p: _lookup_tree(
            p,
            "witness_tree",
            dataclasses.replace(
                p.lookup.witness_tree, root=_bump(p.lookup.witness_tree.root, (0, 0))
            ),
        ),
        Reject.LOOKUP_SUM_MISMATCH,
    ),
    "lookup table root": (
        lambda p: _lookup_tree(
            p,
            "table_tree",
            dataclasses.replace(p.lookup.table_tree, root=_bump(p.lookup.table_tree.root, (2, 1))),
        ),
        Reject.LOOKUP_SUM_MISMATCH,
    ),
    "lookup layer claims": (
        lambda p: _lookup_layer(
            p,
            "witness_tree",
            3,
            dataclasses.replace(
                p.lookup.witness_tree.layers[3],
                child_claims=_bump(p.lookup.witness_tree.layers[3].child_claims, (0, 2)),
            ),
        ),
        Reject.LOOKUP_LAYER_MISMATCH,
    ),
    "lookup layer round": (
        lambda p: _lookup_layer(
            p,
            "table_tree",
            4,
            dataclasses.replace(
                p.lookup.table_tree.layers[4],
                sumcheck=SumcheckProof(
                    _bump(p.lookup.table_tree.layers[4].sumcheck.round_polys, (1, 0, 1))
                ),
            ),
        ),
        Reject.ROUND_SUM_MISMATCH,
    ),
    "lookup witness evaluation": (
        lambda p: _lookup_values(
            p, witness_evaluations=_bump(p.lookup.witness_evaluations, (0, 1))
        ),
        Reject.FINAL_EVALUATION_MISMATCH,
    ),
    "lookup multiplicity evaluation": (
        lambda p: _lookup_values(
            p, multiplicity_evaluation=_bump(p.lookup.multiplicity_evaluation, (3,))
        ),
        Reject.FINAL_EVALUATION_MISMATCH,
    ),
    "stage A round value": (
        lambda p: dataclasses.replace(
            p, stage_a=_rounds(p.stage_a, _bump(p.stage_a.sumcheck.round_polys, (2, 0, 0)))
        ),
        Reject.ROUND_SUM_MISMATCH,
    ),
    "stage A rounds swapped": (
        lambda p: dataclasses.replace(p, stage_a=_swap_rounds(p.stage_a)),
        Reject.ROUND_SUM_MISMATCH,
    ),
    "stage A round dropped": (
        lambda p: dataclasses.replace(
            p,
            stage_a=StageProof(
                p.stage_a.num_vars - 1,
                p.stage_a.degree,
                SumcheckProof(p.stage_a.sumcheck.round_polys[:-1]),
                p.stage_a.finals,
            ),
        ),
        Reject.ROUND_COUNT_MISMATCH,
    ),
    "stage A degree raised": (
        lambda p: dataclasses.replace(
            p,
            stage_a=StageProof(
                p.stage_a.num_vars,
                p.stage_a.degree + 1,
                SumcheckProof(
                    np.concatenate(
                        [p.stage_a.sumcheck.round_polys, p.stage_a.sumcheck.round_polys[:, :, -1:]],
                        axis=2,
                    )
                ),
                p.stage_a.finals,
            ),
        ),
        Reject.ROUND_DEGREE_MISMATCH,
    ),
    "stage A final value": (
        lambda p: dataclasses.replace(
            p, stage_a=_stage(p.stage_a, finals=_bump(p.stage_a.finals, (0, 1)))
        ),
        Reject.FINAL_EVALUATION_MISMATCH,
    ),
    "stage A final extended": (
        lambda p: dataclasses.replace(
            p, stage_a=_stage(p.stage_a, finals=np.concatenate([p.stage_a.finals] * 2, axis=1))
        ),
        Reject.LENGTH_OUT_OF_BOUNDS,
    ),
    "stage B round value": (
        lambda p: dataclasses.replace(
            p, stage_b=_rounds(p.stage_b, _bump(p.stage_b.sumcheck.round_polys, (0, 1, 2)))
        ),
        Reject.ROUND_SUM_MISMATCH,
    ),
    "stage B final value": (
        lambda p: dataclasses.replace(
            p, stage_b=_stage(p.stage_b, finals=_bump(p.stage_b.finals, (1, 0)))
        ),
        Reject.FINAL_EVALUATION_MISMATCH,
    ),
    "stage C round value": (
        lambda p: dataclasses.replace(
            p, stage_c=_rounds(p.stage_c, _bump(p.stage_c.sumcheck.round_polys, (5, 3, 1)))
        ),
        Reject.ROUND_SUM_MISMATCH,
    ),
    "stage C witness value": (
        lambda p: dataclasses.replace(
            p, stage_c=_stage(p.stage_c, finals=_bump(p.stage_c.finals, (0, 0)))
        ),
        Reject.FINAL_EVALUATION_MISMATCH,
    ),
    "stage C weight value": (
        lambda p: dataclasses.replace(
            p, stage_c=_stage(p.stage_c, finals=_bump(p.stage_c.finals, (2, 1)))
        ),
        Reject.FINAL_EVALUATION_MISMATCH,
    ),
    "opening commitments digest": (
        lambda p: dataclasses.replace(p, opening=OpeningProof(bytes(32), p.opening.trees)),
        Reject.COMMITMENT_MISMATCH,
    ),
    "opening witness evaluation row": (
        lambda p: _opening_tree(
            p, 0, evaluation_rows=_bump(p.opening.trees[0].evaluation_rows, (0, 0, 5))
        ),
        Reject.EVALUATION_MISMATCH,
    ),
    "opening weight evaluation row": (
        lambda p: _opening_tree(
            p, 1, evaluation_rows=_bump(p.opening.trees[1].evaluation_rows, (0, 1, 0))
        ),
        Reject.EVALUATION_MISMATCH,
    ),
    "opening proximity row": (
        lambda p: _opening_tree(
            p, 0, proximity_row=_bump(p.opening.trees[0].proximity_row, (0, 3))
        ),
        Reject.MERKLE_PATH_INVALID,
    ),
    "opening weight column": (
        lambda p: _opening_tree(p, 1, columns=_bump(p.opening.trees[1].columns, (4, 0))),
        Reject.MERKLE_PATH_INVALID,
    ),
    "opening merkle sibling": (
        lambda p: _opening_tree(p, 0, merkle_proof=_sibling(p.opening.trees[0])),
        Reject.MERKLE_PATH_INVALID,
    ),
}


def _file(honest: bytes) -> tuple[ProofFile, Statement, InferenceProof]:
    proof_file = ProofFile.from_bytes(honest)
    statement, _ = read_statement(proof_file.statement)
    return (
        proof_file,
        statement,
        InferenceProof.from_bytes(proof_file.body, statement.weight_commitment),
    )


def _reason(data: bytes) -> Reject:
    with pytest.raises(VerificationError) as caught:
        verify_file(ProofFile.from_bytes(data))
    return caught.value.reason


@pytest.mark.parametrize("case", sorted(PROOF_CASES))
def test_verify_rejects_a_tampered_proof_field(case: str, honest: bytes) -> None:
    tamper, expected = PROOF_CASES[case]
    proof_file, _, proof = _file(honest)
    body = tamper(proof).to_bytes()
    forged = dataclasses.replace(proof_file, body=body).to_bytes()
    assert _reason(forged) is expected


def _with_statement(honest: bytes, statement: Statement) -> bytes:
    proof_file = ProofFile.from_bytes(honest)
    return dataclasses.replace(proof_file, statement=statement.to_bytes()).to_bytes()


def _flip(values: np.ndarray) -> np.ndarray:
    out = np.array(values, copy=True)
    out.flat[0] = out.flat[0] + 1 if out.flat[0] < 127 else 126
    return out


STATEMENT_CASES: dict[str, tuple[Callable[[Statement], Statement], Reject]] = {
    "output": (lambda s: dataclasses.replace(s, outputs=_flip(s.outputs)), Reject.OUTPUT_MISMATCH),
    "input": (lambda s: dataclasses.replace(s, inputs=_flip(s.inputs)), Reject.OUTPUT_MISMATCH),
    "nonce": (lambda s: dataclasses.replace(s, nonce=b"other"), Reject.OUTPUT_MISMATCH),
    "model digest": (lambda s: dataclasses.replace(s, digest=bytes(32)), Reject.STATEMENT_MISMATCH),
    "batch": (lambda s: dataclasses.replace(s, batch=3), Reject.STATEMENT_MISMATCH),
    "limb width": (lambda s: dataclasses.replace(s, limb_bits=40), Reject.UNSUPPORTED_CIRCUIT),
    "circuit": (
        lambda s: dataclasses.replace(s, circuit=s.circuit[:-1] + b"\x01"),
        Reject.STATEMENT_MISMATCH,
    ),
}


@pytest.mark.parametrize("case", sorted(STATEMENT_CASES))
def test_verify_rejects_a_changed_statement(case: str, honest: bytes) -> None:
    change, expected = STATEMENT_CASES[case]
    _, statement, _ = _file(honest)
    assert _reason(_with_statement(honest, change(statement))) is expected


def _negated_weights(model: CommittedModel) -> CommittedModel:
    """The same circuit with every weight negated (no larger worst-case bounds): another model."""
    nodes = tuple(
        dataclasses.replace(node, weight=np.clip(-np.asarray(node.weight), -128, 127))
        if node.weight is not None
        else node
        for node in model.model.nodes
    )
    return commit_model(dataclasses.replace(model.model, nodes=nodes))


def test_a_proof_relabelled_as_another_model_is_rejected(
    model: CommittedModel, honest: bytes
) -> None:
    other = _negated_weights(model)
    assert other.model.circuit_digest == model.model.circuit_digest
    _, statement, _ = _file(honest)
    relabelled = dataclasses.replace(
        statement,
        digest=bytes.fromhex(other.digest),
        circuit=other.model.circuit_bytes(),
        weight_commitment=other.commitment,
    )
    assert _reason(_with_statement(honest, relabelled)) is Reject.OUTPUT_MISMATCH
    result = api.verify(honest, expected_model_digest=other.digest)
    assert result.reason == Reject.WRONG_MODEL.value


def test_weights_changed_after_commitment_cannot_be_proven(model: CommittedModel) -> None:
    node = model.model.nodes[0]
    assert node.weight is not None
    weight = np.array(node.weight, copy=True)
    weight.flat[17] = 5 if weight.flat[17] != 5 else 6
    changed = dataclasses.replace(node, weight=weight)
    cheat_model = dataclasses.replace(model.model, nodes=(changed, *model.model.nodes[1:]))
    cheater = CommittedModel(cheat_model, model.layout, model.commitment, model.prover_data)
    inputs = np.random.default_rng(3).integers(-128, 128, (1, *cheat_model.input_shape))
    try:
        data = prove(cheater, inputs)
    except ProverError:
        return
    assert _reason(data) is Reject.EVALUATION_MISMATCH


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("soundness bits", Reject.PARAMETER_MISMATCH),
        ("body truncated", Reject.TRUNCATED),
        ("body extended", Reject.TRAILING_BYTES),
        # An inference statement read as an audit's: its fields are out of the audit's bounds.
        ("protocol relabelled as audit", Reject.LENGTH_OUT_OF_BOUNDS),
    ],
)
def test_verify_rejects_a_tampered_header(case: str, expected: Reject, honest: bytes) -> None:
    proof_file = ProofFile.from_bytes(honest)
    if case == "soundness bits":
        forged = dataclasses.replace(proof_file, soundness_bits=proof_file.soundness_bits + 1)
    elif case == "body truncated":
        forged = dataclasses.replace(proof_file, body=proof_file.body[:-7])
    elif case == "body extended":
        forged = dataclasses.replace(proof_file, body=proof_file.body + b"\x00")
    else:
        forged = dataclasses.replace(proof_file, protocol=Protocol.AUDIT)
    result = api.verify(forged.to_bytes())
    assert not result.accepted and result.reason == expected.value


@pytest.mark.parametrize("seed", range(12))
def test_random_byte_damage_is_always_a_verification_error(seed: int, honest: bytes) -> None:
    rng = np.random.default_rng(seed)
    data = bytearray(honest)
    for position in rng.integers(0, len(data), 3):
        data[position] ^= int(rng.integers(1, 256))
    result = api.verify(bytes(data))
    assert not result.accepted and result.reason is not None

"""What the tamper tests of the transformer operations share: edits of an honest inference
proof, and the pieces of a cheating prover (one that skips its own checks) built from the
honest one with monkeypatching."""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from provers.container import ProofFile
from provers.errors import Reject, VerificationError
from provers.inference import verify_file
from provers.inference import witness as witness_module
from provers.inference.proof import InferenceProof
from provers.inference.statement import read_statement
from provers.lookup import prover as lookup_prover
from provers.sumcheck import prover as sumcheck_prover


def reason(data: bytes) -> Reject:
    """The verifier's rejection reason (the test fails if it accepts)."""
    with pytest.raises(VerificationError) as caught:
        verify_file(ProofFile.from_bytes(data))
    return caught.value.reason


def with_body(honest: bytes, change: Callable[[InferenceProof], InferenceProof]) -> bytes:
    proof_file = ProofFile.from_bytes(honest)
    statement, _ = read_statement(proof_file.statement)
    proof = InferenceProof.from_bytes(proof_file.body, statement.weight_commitment)
    return dataclasses.replace(proof_file, body=change(proof).to_bytes()).to_bytes()


def with_output_changed(honest: bytes) -> bytes:
    proof_file = ProofFile.from_bytes(honest)
    statement, _ = read_statement(proof_file.statement)
    outputs = np.array(statement.outputs, copy=True)
    outputs.flat[0] = outputs.flat[0] + 1 if outputs.flat[0] < 127 else 126
    changed = dataclasses.replace(statement, outputs=outputs)
    return dataclasses.replace(proof_file, statement=changed.to_bytes()).to_bytes()


def bump_stage_a_final(proof: InferenceProof, coefficient: int, column: int) -> InferenceProof:
    finals = np.array(proof.stage_a.finals, copy=True)
    finals[coefficient, column] = (finals[coefficient, column] + 1) % (15 * (1 << 27) + 1)
    return dataclasses.replace(proof, stage_a=dataclasses.replace(proof.stage_a, finals=finals))


def skip_claimed_sum_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sumcheck prover stops refusing a false claimed sum."""
    trusting = types.SimpleNamespace(**vars(sumcheck_prover.ext))
    trusting.equal = lambda a, b: True
    monkeypatch.setattr(sumcheck_prover, "ext", trusting)


def skip_lookup_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Multiplicities count only the rows the table holds, and the prover stops refusing a
    lookup that does not balance."""
    honest_counts = witness_module.compute_multiplicities

    def tolerant_counts(statement: Any, lookups: list[list[np.ndarray]]) -> np.ndarray:
        columns = statement.table.column_values()
        rows = {tuple(int(c) for c in row) for row in zip(*columns, strict=True)}
        kept = []
        for lookup in lookups:
            members = zip(*lookup, strict=True)
            inside = np.array([tuple(int(v) for v in row) in rows for row in members])
            kept.append([np.where(inside, column, 0) for column in lookup])
        return honest_counts(statement, kept)

    monkeypatch.setattr(witness_module, "compute_multiplicities", tolerant_counts)
    monkeypatch.setattr(lookup_prover, "_check_roots", lambda *arguments: None)

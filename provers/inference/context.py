"""What every node relation shares: the plan, the input (public, or committed in a data table
whose first block holds it), the claim sink, and the shape of a sumcheck term as both sides
see it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from provers.errors import Reject, VerificationError
from provers.field import ext
from provers.inference.batched import ProverTerm, TermShape
from provers.inference.claims import ClaimSink, Request, evaluate_signed
from provers.inference.plan import ProofPlan

Finals = list[np.ndarray]


@dataclass
class Context:
    plan: ProofPlan
    input_table: np.ndarray | None
    """The public input's padded table (signed int8 values); None when the input is committed
    (then its claims go to the data table, at offset 0)."""
    sink: ClaimSink = field(default_factory=ClaimSink)

    def is_public(self, tensor: str) -> bool:
        return self.plan.source(tensor) == "input" and self.input_table is not None

    def request(self, key: str, tensor: str, point: np.ndarray, vector: str = "y") -> Request:
        source = self.plan.source(tensor)
        if source == "input":
            return Request(key, "input" if self.input_table is not None else "data", 0, point)
        return Request(key, "w", self.plan.witness.block(source, vector).offset, point)

    def vector_request(self, key: str, node: str, vector: str, point: np.ndarray) -> Request:
        return Request(key, "w", self.plan.witness.block(node, vector).offset, point)

    def take(self, tensor: str, point: np.ndarray, finals: Iterator[np.ndarray]) -> np.ndarray:
        """A tensor's MLE at ``point``: computed from the public input, or the next sent value
        (recorded as a claim on its block)."""
        source = self.plan.source(tensor)
        if source == "input":
            if self.input_table is not None:
                return evaluate_signed(self.input_table, point)
            value = next(finals)
            self.sink.add_data(0, point, value)
            return value
        value = next(finals)
        self.sink.add_witness(self.plan.witness.block(source, "y").offset, point, value)
        return value

    def take_vector(
        self, node: str, vector: str, point: np.ndarray, finals: Iterator[np.ndarray]
    ) -> np.ndarray:
        value = next(finals)
        self.sink.add_witness(self.plan.witness.block(node, vector).offset, point, value)
        return value


@dataclass
class TermSpec:
    """One sumcheck term of a stage.

    ``evaluate(finals, point)`` returns C(f(point)) from the values the prover sent and records
    their claims; ``build(witness)`` (prover only) gives the tables and combiner;
    ``send(table_finals, point, witness)`` (prover only) gives the values to send."""

    shape: TermShape
    num_finals: int
    evaluate: Callable[[Finals, np.ndarray], np.ndarray]
    build: Callable[[object], ProverTerm]
    send: Callable[[Finals, np.ndarray, object], Finals]


def reject_identity(ok: bool, detail: str) -> None:
    if not ok:
        raise VerificationError(Reject.IDENTITY_MISMATCH, detail)


def product(*values: np.ndarray) -> np.ndarray:
    total = ext.one()
    for value in values:
        total = ext.mul(total, value)
    return np.asarray(total)


def lin(*pairs: tuple[int, np.ndarray]) -> np.ndarray:
    """Σ c_i·v_i for integer constants c_i (any sign) and challenge-field values v_i."""
    total = ext.zero()
    for constant, value in pairs:
        total = ext.add(total, ext.scale(value, constant))
    return np.asarray(total)

"""The statement of a weight range proof, and the public indicator of the weight blocks.

Statement bytes (canonical, provers/encoding.py), all absorbed before any challenge:

    model digest (32)  ‖  circuit (blob)  ‖  weight commitment

as an inference statement begins (provers/inference/statement.py): the verifier decodes the
circuit, recomputes SHA-256("veriml/model/v1" ‖ circuit digest ‖ commitment bytes) and rejects
a digest that does not name this circuit and commitment (STATEMENT_MISMATCH). The weight layout
(:mod:`provers.inference.weights`) is a function of the circuit's shapes and the commitment's
parameters, so the verifier derives every block's place in the table itself.

The blocks. Block b is an aligned region [o_b, o_b + 2^k_b) of the table T of 2^N entries, with
k_b ≥ c (every block holds at least one PCS row of 2^c entries). Its indicator is the
multilinear polynomial eq(x_{1..N−k_b}, bits of o_b / 2^k_b), a function of the N − c row bits
alone, so

    sel(y) = Σ_b eq(y_{1..N−k_b}, o_b / 2^k_b)           (y: a point of the N − c row bits)

costs O(#blocks · N) to evaluate. The blocks must not overlap (sel is then 0 or 1 on the cube);
:func:`regions_of` checks that, and their alignment, for prover and verifier alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from provers.circuit.model import QuantisedModel
from provers.commit.pcs import Commitment, PCSParams
from provers.encoding import DIGEST_BYTES, Reader, Writer
from provers.errors import Reject, VerificationError
from provers.field import ext
from provers.inference.claims import eq_at
from provers.inference.layout import UnsupportedCircuit
from provers.inference.statement import MAX_CIRCUIT_BYTES, named_model
from provers.inference.weights import WeightLayout, weight_layout


@dataclass(frozen=True)
class Statement:
    digest: bytes
    """The model digest: SHA-256("veriml/model/v1" ‖ circuit digest ‖ commitment bytes)."""
    circuit: bytes
    """The circuit without its weights (``QuantisedModel.circuit_bytes``)."""
    weight_commitment: Commitment
    """The model's commitment to its weight table (weight blocks and the bias block)."""

    def to_bytes(self) -> bytes:
        w = Writer()
        w.raw(self.digest)
        w.blob(self.circuit)
        self.weight_commitment.write_to(w)
        return w.getvalue()


def read_statement(data: bytes) -> tuple[Statement, QuantisedModel]:
    """Parse the statement; the circuit must decode and the digest name it with the
    commitment (STATEMENT_MISMATCH otherwise)."""
    r = Reader(data)
    digest = r.raw(DIGEST_BYTES, "model digest")
    circuit = r.blob("circuit", MAX_CIRCUIT_BYTES)
    commitment = Commitment.read_from(r)
    r.finish("statement")
    model = named_model(circuit, commitment, digest)
    return Statement(digest, circuit, commitment), model


@dataclass(frozen=True)
class WeightRegions:
    """Where the weight blocks lie in the committed table, and their indicator sel."""

    num_vars: int
    """N: the table has 2^N entries."""
    column_vars: int
    """c: the PCS reads the table as rows of 2^c entries."""
    blocks: tuple[tuple[int, int], ...]
    """(offset, log size) of every weight block, in table order."""
    names: tuple[str, ...]
    """The layer of each block, for the prover's messages."""

    @property
    def row_vars(self) -> int:
        return self.num_vars - self.column_vars

    @property
    def entries(self) -> int:
        return sum(1 << log for _, log in self.blocks)

    def row_mask(self) -> np.ndarray:
        """sel on the cube: 1 on every row of a block, else 0; shape (2^(N − c),)."""
        mask = np.zeros(1 << self.row_vars, dtype=np.int64)
        for offset, log in self.blocks:
            start = offset >> self.column_vars
            mask[start : start + (1 << (log - self.column_vars))] = 1
        return mask

    def entry_mask(self) -> np.ndarray:
        """sel on every entry of the table, as booleans of shape (2^N,)."""
        return np.repeat(self.row_mask().astype(bool), 1 << self.column_vars)

    def evaluate(self, point: np.ndarray) -> np.ndarray:
        """sel at a (4, N − c) point of the row bits: O(#blocks · N)."""
        total = ext.zero()
        for offset, log in self.blocks:
            prefix = self.num_vars - log
            total = ext.add(total, eq_at(point[:, :prefix], offset >> log))
        return np.asarray(total)

    def locate(self, index: int) -> tuple[str, int]:
        """The layer holding table entry ``index`` and the entry's place in its block."""
        for (offset, log), name in zip(self.blocks, self.names, strict=True):
            if offset <= index < offset + (1 << log):
                return name, index - offset
        raise KeyError(index)


def regions_of(layout: WeightLayout) -> WeightRegions:
    """The weight blocks of ``layout``; ValueError unless they are aligned, at least one PCS
    row each, inside the table and disjoint (then sel is a 0/1 function of the row bits)."""
    named = sorted(
        (block.offset, block.log_size, layer.node)
        for layer in layout.layers
        for block in layer.blocks
    )
    end = 0
    for offset, log, name in named:
        if not layout.column_log <= log <= layout.log_size:
            raise ValueError(f"{name}: a block of 2^{log} entries, rows hold 2^{layout.column_log}")
        if offset % (1 << log) or offset + (1 << log) > 1 << layout.log_size:
            raise ValueError(f"{name}: a block at {offset} is not aligned inside the table")
        if offset < end:
            raise ValueError(f"{name}: the block at {offset} overlaps the one before it")
        end = offset + (1 << log)
    return WeightRegions(
        layout.log_size,
        layout.column_log,
        tuple((offset, log) for offset, log, _ in named),
        tuple(name for _, _, name in named),
    )


def derived_layout(model: QuantisedModel, params: PCSParams) -> tuple[WeightLayout, WeightRegions]:
    """The layout and blocks the verifier derives from the circuit (UNSUPPORTED_CIRCUIT when
    the circuit has none the inference prover could use)."""
    try:
        layout = weight_layout(model, params)
        return layout, regions_of(layout)
    except (UnsupportedCircuit, ValueError, KeyError) as error:
        raise VerificationError(Reject.UNSUPPORTED_CIRCUIT, str(error)) from None

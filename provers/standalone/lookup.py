"""A proof that every entry of committed witness vectors lies in a public table.

Statement: the table (each column a range [offset, offset + 2^k) or explicit values), the number
of witness lookups L and their length 2^n. Proof: the self-contained logUp-GKR lookup of
:mod:`provers.lookup.standalone` (commitments to the witness and the multiplicities, the lookup,
one batched opening). Not zero knowledge: the lookup's layer sumchecks are unmasked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from provers.container import ProofFile, Protocol
from provers.encoding import Reader, Writer
from provers.errors import Reject, VerificationError
from provers.field import base
from provers.lookup import standalone
from provers.lookup.multiplicities import Lookup
from provers.lookup.proof import StandaloneLookupProof
from provers.lookup.statement import LookupStatement
from provers.lookup.table import IndexColumn, LookupTable, ValuesColumn
from provers.params import ProofParameters, ProofShape
from provers.standalone.common import (
    check_header,
    read_parameters,
    stated_bits,
    write_parameters,
)

MAX_TABLE_VARS = 20
MAX_LOOKUP_VARS = 24
MAX_LOOKUPS = 255
_INDEX, _VALUES = 1, 2


def _write_statement(statement: LookupStatement) -> bytes:
    w = Writer()
    table = statement.table
    w.u32(table.log_size)
    w.u8(table.width)
    for column in table.columns:
        if isinstance(column, IndexColumn):
            w.u8(_INDEX)
            w.u32(column.offset)
        else:
            w.u8(_VALUES)
            w.base_vec(column.table_values)
    w.u32(statement.num_lookups)
    w.u32(statement.log_length)
    return w.getvalue()


def _read_statement(data: bytes) -> LookupStatement:
    r = Reader(data)
    log_size = r.bounded_u32("table size", 0, MAX_TABLE_VARS)
    width = r.u8("table width")
    if not 1 <= width <= 2:
        raise VerificationError(Reject.LENGTH_OUT_OF_BOUNDS, f"table width {width}")
    columns: list[IndexColumn | ValuesColumn] = []
    for _ in range(width):
        kind = r.u8("column kind")
        if kind == _INDEX:
            offset = r.u32("column offset")
            if offset >= base.P:
                raise VerificationError(Reject.NON_CANONICAL_FIELD_ELEMENT, "column offset")
            columns.append(IndexColumn(offset))
        elif kind == _VALUES:
            values = r.base_vec("column values", expected=1 << log_size, max_count=1 << log_size)
            columns.append(ValuesColumn(values))
        else:
            raise VerificationError(Reject.MALFORMED, f"column kind {kind}")
    num_lookups = r.bounded_u32("lookups", 1, MAX_LOOKUPS)
    log_length = r.bounded_u32("lookup length", 0, MAX_LOOKUP_VARS)
    r.finish("statement")
    statement = LookupStatement(LookupTable(log_size, tuple(columns)), num_lookups, log_length)
    try:
        statement.validate()
    except (ValueError, VerificationError) as exc:
        raise VerificationError(Reject.PARAMETER_MISMATCH, str(exc)) from None
    return statement


def _shape(statement: LookupStatement) -> ProofShape:
    log_values = statement.log_length + statement.selector_vars
    return ProofShape(
        lookups=((log_values, statement.table.log_size),),
        openings=((statement.log_length, False), (statement.table.log_size, False)),
    )


def prove(
    statement: LookupStatement,
    lookups: Sequence[Lookup],
    params: ProofParameters | None = None,
) -> bytes:
    params = params or ProofParameters.default()
    proof = standalone.prove(statement, lookups, params.pcs)
    return ProofFile(
        Protocol.LOOKUP,
        write_parameters(params),
        stated_bits(params, _shape(statement)),
        _write_statement(statement),
        proof.to_bytes(),
    ).to_bytes()


def verify_file(proof_file: ProofFile) -> dict[str, Any]:
    params = read_parameters(proof_file.parameters)
    statement = _read_statement(proof_file.statement)
    check_header(proof_file, params, _shape(statement))
    proof = StandaloneLookupProof.from_bytes(proof_file.body)
    standalone.verify(statement, proof, params.pcs)
    return {
        "kind": "lookup",
        "table_rows": statement.table.size,
        "table_columns": statement.table.width,
        "lookups": statement.num_lookups,
        "lookup_length": 1 << statement.log_length,
        "witness_commitment_root": proof.witness_commitment.root.hex(),
    }

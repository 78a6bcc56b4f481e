"""Multiplicities: how often each table row is looked up, and the honest prover's refusal.

m[j] = #{(lookup, i) : row i of that lookup equals table row j}, counted over the padded batch
(slots L..L'−1 repeat lookup 0, see provers/lookup/statement.py). A table with repeated rows
gets every count on the first copy. A witness row absent from the table has no m at all: the
prover stops here with a ProverError naming the row instead of producing a proof that would
be rejected.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from provers.errors import ProverError, VerificationError
from provers.field import base
from provers.field.backend import Array, to_numpy
from provers.lookup.statement import LookupStatement
from provers.lookup.table import IndexColumn, LookupTable

Lookup = Sequence[Array]
"""One witness lookup: ``table.width`` base-field vectors of 2^n values, one per column."""


def normalise_lookups(statement: LookupStatement, lookups: Sequence[Lookup]) -> list[list[Array]]:
    """Check the witness has the statement's shape; a bare vector is a width-1 lookup."""
    if len(lookups) != statement.num_lookups:
        raise ProverError(
            f"{len(lookups)} lookups given, the statement has {statement.num_lookups}"
        )
    length = 1 << statement.log_length
    out: list[list[Array]] = []
    for j, lookup in enumerate(lookups):
        columns: list[Array] = [lookup] if getattr(lookup, "ndim", 0) == 1 else list(lookup)
        if len(columns) != statement.width:
            raise ProverError(f"lookup {j} has {len(columns)} vectors, the table {statement.width}")
        for c, column in enumerate(columns):
            if tuple(column.shape) != (length,):
                raise ProverError(
                    f"lookup {j} vector {c} has shape {tuple(column.shape)}, expected ({length},)"
                )
            if not base.is_canonical(to_numpy(column)):
                raise ProverError(f"lookup {j} vector {c} holds values outside [0, p)")
        out.append(columns)
    return out


def _row_keys(columns: Sequence[np.ndarray]) -> np.ndarray:
    """One int64 per row, injective on rows of at most two field elements (v0·p + v1 < 2^62)."""
    keys = columns[0].astype(np.int64)
    for column in columns[1:]:
        keys = keys * base.P + column
    return keys


def _describe_row(columns: Sequence[np.ndarray], index: int) -> str:
    values = [int(base.to_signed(column[index])) for column in columns]
    return str(values[0]) if len(values) == 1 else "(" + ", ".join(map(str, values)) + ")"


def _index_positions(
    table: LookupTable, offset: int, lookup: Sequence[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Rows of a table whose first column is offset + j: j = a − offset, no search needed."""
    positions = (lookup[0] - offset) % base.P
    inside = positions < table.size
    positions = np.where(inside, positions, 0)
    for column, values in zip(table.column_values()[1:], lookup[1:], strict=True):
        inside &= column[positions] == values
    return positions, inside


def _searched_positions(
    table: LookupTable, lookup: Sequence[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Rows of any table, by binary search over its sorted row keys."""
    if len(lookup) > 2:
        return _searched_positions_wide(table, lookup)
    table_keys = _row_keys(table.column_values())
    order = np.argsort(table_keys, kind="stable")
    sorted_keys = table_keys[order]
    keys = _row_keys(lookup)
    slots = np.minimum(np.searchsorted(sorted_keys, keys), sorted_keys.shape[0] - 1)
    return np.asarray(order[slots], dtype=np.int64), sorted_keys[slots] == keys


def _searched_positions_wide(
    table: LookupTable, lookup: Sequence[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Rows of a table of three or more columns: one int64 key cannot hold a row, so rows are
    numbered by np.unique over table and witness rows together."""
    table_rows = np.stack(table.column_values(), axis=1)
    witness_rows = np.stack([np.asarray(c, dtype=np.int64) for c in lookup], axis=1)
    _, labels = np.unique(np.concatenate([table_rows, witness_rows]), axis=0, return_inverse=True)
    labels = labels.reshape(-1)
    table_labels, witness_labels = labels[: table.size], labels[table.size :]
    first_row = np.full(int(labels.max()) + 1, -1, dtype=np.int64)
    first_row[table_labels[::-1]] = np.arange(table.size - 1, -1, -1)
    positions = first_row[witness_labels]
    return np.maximum(positions, 0), positions >= 0


def table_positions(
    table: LookupTable, lookup: Sequence[np.ndarray], lookup_index: int
) -> np.ndarray:
    """The table row of every witness row; ProverError on the first row not in the table."""
    first = table.columns[0]
    if isinstance(first, IndexColumn):
        positions, inside = _index_positions(table, first.offset, lookup)
    else:
        positions, inside = _searched_positions(table, lookup)
    missing = np.flatnonzero(~inside)
    if missing.size:
        i = int(missing[0])
        raise ProverError(
            f"lookup {lookup_index}, entry {i}: value {_describe_row(lookup, i)} is not in "
            f"{table!r} ({missing.size} entries of this lookup are missing); no multiplicities "
            "exist for it"
        )
    return positions


def compute_multiplicities(statement: LookupStatement, lookups: Sequence[Lookup]) -> np.ndarray:
    """m (base-field, length 2^k) for the padded batch; ProverError if a row is not in T."""
    try:
        statement.validate()
    except VerificationError as error:
        raise ProverError(f"invalid lookup statement: {error.detail}") from None
    normalised = normalise_lookups(statement, lookups)
    counts = np.zeros(statement.table.size, dtype=np.int64)
    for j, lookup in enumerate(normalised):
        positions = table_positions(statement.table, [to_numpy(c) for c in lookup], j)
        found = np.bincount(positions, minlength=statement.table.size)
        repeats = 1 + (statement.padded_lookups - statement.num_lookups if j == 0 else 0)
        counts += repeats * found
    return counts % base.P

"""Public lookup tables: one to four base-field columns of length 2^k, and their MLEs.

A table row j is (T_1[j], …, T_w[j]). The verifier needs each column's multilinear extension at
one random point r = (r_1, …, r_k), r_1 bound to the most significant index bit:

* an index column T[j] = c + j (a range [c, c + 2^k), with c = −2^(k−1) for a signed range) has
  the closed form T(r) = c + Σ_t 2^(k−t)·r_t, so the verifier pays O(k);
* a values column (say the outputs of a requantisation or a GELU) is evaluated directly, O(2^k).

A table's identity, absorbed into the transcript before any challenge, is its descriptor: the
size, and per column either the offset c or a SHA-256 digest of the values.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from provers.field import base, ext
from provers.poly import multilinear

MAX_LOG_SIZE = 26
"""Tables of more than 2^26 rows do not fit the verifier's O(2^k) evaluation budget."""

MAX_WIDTH = 4
"""Columns per table: a plain set (range), pairs (input, output) of a function, or up to four
columns (a tagged table: row number, two outputs and a block tag). A row of w columns is
compressed as Σ_c β^c·a_c; the logUp identity cleared of denominators then has total degree
< (w − 1)·(N + T) in (α, β), so the Schwartz–Zippel error is (w − 1)·(N + T)/|F| for w ≥ 2."""

_DESCRIPTOR_DOMAIN = b"veriml/lookup-table/v1"
_INDEX_KIND = 1
_VALUES_KIND = 2


@dataclass(frozen=True)
class IndexColumn:
    """T[j] = offset + j (mod p): the range [offset, offset + 2^k)."""

    offset: int
    """The first value, reduced into [0, p) (use base.P − 2^(k−1) for a signed range)."""

    def __post_init__(self) -> None:
        if not 0 <= self.offset < base.P:
            raise ValueError(f"offset {self.offset} outside [0, p)")

    def values(self, log_size: int) -> np.ndarray:
        return (np.arange(1 << log_size, dtype=np.int64) + self.offset) % base.P

    def evaluate(self, point: np.ndarray) -> np.ndarray:
        """offset + Σ_t 2^(k−t)·r_t, for a (4, k) point."""
        num_vars = point.shape[1]
        weights = np.array([1 << (num_vars - 1 - t) for t in range(num_vars)], dtype=np.int64)
        total = ext.sum_(ext.mul_base(point, weights % base.P)) if num_vars else ext.zero()
        offset = ext.from_base(np.array([self.offset], dtype=np.int64))[:, 0]
        return np.asarray(ext.add(total, offset))

    def identity(self) -> bytes:
        return bytes([_INDEX_KIND]) + struct.pack("<Q", self.offset)


@dataclass(frozen=True, eq=False)
class ValuesColumn:
    """Explicit base-field values, one per row."""

    table_values: np.ndarray
    """Shape (2^k,), int64 in [0, p)."""

    def __post_init__(self) -> None:
        arr = np.asarray(self.table_values)
        if arr.ndim != 1 or not base.is_canonical(arr):
            raise ValueError("a values column is a 1-d vector of base-field elements in [0, p)")
        object.__setattr__(self, "table_values", np.ascontiguousarray(arr, dtype=np.int64))

    def values(self, log_size: int) -> np.ndarray:
        if self.table_values.shape[0] != 1 << log_size:
            raise ValueError(
                f"column of {self.table_values.shape[0]} values in a table of 2^{log_size} rows"
            )
        return self.table_values

    def evaluate(self, point: np.ndarray) -> np.ndarray:
        return np.asarray(multilinear.evaluate(self.table_values, point))

    @cached_property
    def digest(self) -> bytes:
        return hashlib.sha256(self.table_values.astype("<u4").tobytes()).digest()

    def identity(self) -> bytes:
        return bytes([_VALUES_KIND]) + self.digest


Column = IndexColumn | ValuesColumn


@dataclass(frozen=True, eq=False)
class LookupTable:
    """A public table of 2^log_size rows and 1..MAX_WIDTH columns."""

    log_size: int
    """k: the table has 2^k rows."""
    columns: tuple[Column, ...]
    """The columns; a witness lookup into this table has as many vectors."""
    name: str = field(default="")
    """A label for messages and reports only; it is not part of the table's identity."""

    def __post_init__(self) -> None:
        if not 0 <= self.log_size <= MAX_LOG_SIZE:
            raise ValueError(f"log_size {self.log_size} outside 0..{MAX_LOG_SIZE}")
        if not 1 <= len(self.columns) <= MAX_WIDTH:
            raise ValueError(f"{len(self.columns)} columns, expected 1..{MAX_WIDTH}")
        for column in self.columns:
            column.values(self.log_size)

    @property
    def width(self) -> int:
        return len(self.columns)

    @property
    def size(self) -> int:
        return 1 << self.log_size

    def column_values(self) -> list[np.ndarray]:
        return [column.values(self.log_size) for column in self.columns]

    def evaluate_columns(self, point: np.ndarray) -> list[np.ndarray]:
        """Each column's MLE at a (4, k) point, each a (4,) element."""
        if point.shape != (ext.DEGREE, self.log_size):
            raise ValueError(f"point of shape {point.shape} for a table of 2^{self.log_size}")
        return [column.evaluate(point) for column in self.columns]

    @cached_property
    def descriptor(self) -> bytes:
        """Canonical identity: size, width, and each column's offset or digest."""
        parts = [_DESCRIPTOR_DOMAIN, struct.pack("<IB", self.log_size, self.width)]
        parts.extend(column.identity() for column in self.columns)
        return b"".join(parts)

    def __repr__(self) -> str:
        label = self.name or "table"
        return f"LookupTable({label!r}, 2^{self.log_size} rows, {self.width} columns)"


def range_table(log_size: int, offset: int = 0, name: str = "") -> LookupTable:
    """The values offset, offset + 1, …, offset + 2^k − 1 (offset may be negative)."""
    return LookupTable(
        log_size, (IndexColumn(offset % base.P),), name or f"range[{offset}, +2^{log_size})"
    )


def function_table(
    log_size: int, outputs: np.ndarray, offset: int = 0, name: str = ""
) -> LookupTable:
    """Pairs (offset + j, outputs[j]): the graph of a function on a range of 2^k inputs."""
    return LookupTable(
        log_size,
        (IndexColumn(offset % base.P), ValuesColumn(base.canonical(outputs))),
        name or f"function on [{offset}, +2^{log_size})",
    )


def explicit_table(columns: list[np.ndarray], name: str = "") -> LookupTable:
    """A table given row by row: every column a base-field vector of the same 2^k length."""
    if not columns:
        raise ValueError("a table needs at least one column")
    log_size = multilinear.num_vars_of(int(np.asarray(columns[0]).shape[0]))
    return LookupTable(
        log_size, tuple(ValuesColumn(base.canonical(c)) for c in columns), name or "explicit"
    )

"""The one lookup table of an inference proof: tagged blocks of (index, id, B, C) rows.

Every lookup of the proof is a row (A, D, B, C) that must be a row of this public table. Row j
is (j, id_j, B_j, C_j): the first column is the row number (its MLE costs the verifier
O(log)), and the table is a concatenation of blocks, each a small function tagged with its id:

    zero        1 row        (0, 0, 0, 0): every padded witness entry is 0 and lands here
    range β     β rows       (base + v, id, 0, 0)        v ∈ [0, β)
    direct      2U + 2 rows  (base + i, id, σ, clamp(u))  i = u (σ = 0), u + 2U + 1 (σ = 1)
    split-h     2H + 2 rows  (base + i, id, σ, clip(h, −2, 1)), i from h as above
    split-f     4·2^L rows   (base + v + 2^L·(hc + 2), id, clamp(v + 2^L·hc), hc)
    relu        256 rows     (base + x + 128, id, max(x, 0), 0)
    function    257 rows     (base + i, id, F[i], 0) with F[0] = 0, the row of every padded
                             entry: a TABLE node's F[x + 129] = f(x) (GELU, SiLU, …, the 256
                             values its circuit states), a SOFTMAX node's exponential table
    argmax      514 rows     (base + d + 256·h + 257·y, id, h, y)  d ∈ [0, 256) when h = 0,
                             d = 0 when h = 1; h, y ∈ {0, 1} (audit proofs, provers/audit)

A witness row names its block by the public id in column D and the public offset ``base`` added
to column A, so it can only match a row of that block; within the block, column A fixes the
row and the row's B and C then bind the witness's (see :mod:`provers.inference.requant`).
The table is padded to a power of two with rows whose id no witness row carries. The id comes
second so that a row compressed as A + β·D + β²·B + β³·C has degree 1 in β wherever B = C = 0
(every range row): the logUp error counts each distinct row by its degree
(:mod:`provers.inference.soundness`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from provers.field import base
from provers.inference.requant import ClampPlan, clamp_value
from provers.lookup.table import IndexColumn, LookupTable, ValuesColumn

ZERO_ID = 0
RELU_KEY = ("relu",)
ARGMAX_KEY = ("argmax",)
ARGMAX_ROWS = 514


@dataclass(frozen=True)
class TableBlock:
    key: tuple[object, ...]
    id: int
    base: int
    rows_b: np.ndarray
    rows_c: np.ndarray

    @property
    def size(self) -> int:
        return int(self.rows_b.shape[0])


def function_key(values: tuple[int, ...]) -> tuple[object, ...]:
    return ("function", values)


def range_key(bound: int) -> tuple[object, ...]:
    return ("range", bound)


def sign_block_key(clamp: ClampPlan) -> tuple[object, ...]:
    return ("split-h", clamp.bound) if clamp.split else ("direct", clamp.bound, clamp.lower)


def clamp_block_key(clamp: ClampPlan) -> tuple[object, ...]:
    return ("split-f", clamp.low_bits, clamp.lower)


def _signed_rows(bound: int) -> tuple[np.ndarray, np.ndarray]:
    """(σ, value) for index i of a 2·bound + 2 block: value = i, then i − (2·bound + 1)."""
    index = np.arange(2 * bound + 2, dtype=np.int64)
    sigma = (index > bound).astype(np.int64)
    return sigma, index - sigma * (2 * bound + 1)


def _block_rows(key: tuple[object, ...]) -> tuple[np.ndarray, np.ndarray]:
    kind = key[0]
    if kind == "range":
        bound = int(key[1])  # type: ignore[call-overload]
        return np.zeros(bound, np.int64), np.zeros(bound, np.int64)
    if kind == "direct":
        sigma, u = _signed_rows(int(key[1]))  # type: ignore[call-overload]
        lower = int(key[2])  # type: ignore[call-overload]
        return sigma, np.array([clamp_value(int(x), lower) for x in u], dtype=np.int64)
    if kind == "split-h":
        sigma, h = _signed_rows(int(key[1]))  # type: ignore[call-overload]
        return sigma, np.clip(h, -2, 1)
    if kind == "split-f":
        low_bits, lower = int(key[1]), int(key[2])  # type: ignore[call-overload]
        index = np.arange(4 << low_bits, dtype=np.int64)
        clip = (index >> low_bits) - 2
        u = (index & ((1 << low_bits) - 1)) + (clip << low_bits)
        return np.clip(u, lower, 127), clip
    if kind == "relu":
        x = np.arange(256, dtype=np.int64) - 128
        return np.maximum(x, 0), np.zeros(256, np.int64)
    if kind == "function":
        values = np.asarray(key[1], dtype=np.int64)
        return values, np.zeros(values.shape[0], np.int64)
    if kind == "argmax":
        index = np.arange(ARGMAX_ROWS, dtype=np.int64)
        return (index % 257 == 256).astype(np.int64), index // 257
    raise ValueError(f"unknown table block {key}")


def _block_size(key: tuple[object, ...]) -> int:
    kind = key[0]
    if kind == "function":
        return len(key[1])  # type: ignore[arg-type]
    if kind == "relu":
        return 256
    size = int(str(key[1])) if len(key) > 1 else 0
    if kind == "range":
        return size
    if kind in ("direct", "split-h"):
        return 2 * size + 2
    if kind == "split-f":
        return 4 << size
    if kind == "argmax":
        return ARGMAX_ROWS
    return 256


class InferenceTable:
    """The blocks, their ids and offsets, and the padded lookup table."""

    def __init__(self, keys: list[tuple[object, ...]], max_rows: int = 1 << 20) -> None:
        self.blocks: dict[tuple[object, ...], TableBlock] = {}
        zero = np.zeros(1, np.int64)
        self.blocks[("zero",)] = TableBlock(("zero",), ZERO_ID, 0, zero, zero)
        start = 1
        for key in keys:
            if key in self.blocks:
                continue
            if start + _block_size(key) > max_rows:
                raise ValueError(f"the lookup table would exceed {max_rows} rows")
            rows_b, rows_c = _block_rows(key)
            self.blocks[key] = TableBlock(key, len(self.blocks), start, rows_b, rows_c)
            start += rows_b.shape[0]
        self.used_rows = start
        self.log_size = max(1, (start - 1).bit_length())
        self.pad_id = len(self.blocks)

    def block(self, key: tuple[object, ...]) -> TableBlock:
        return self.blocks[key]

    @property
    def size(self) -> int:
        return 1 << self.log_size

    def lookup_table(self) -> LookupTable:
        size = self.size
        column_b = np.zeros(size, np.int64)
        column_c = np.zeros(size, np.int64)
        column_id = np.full(size, self.pad_id, np.int64)
        for block in self.blocks.values():
            rows = slice(block.base, block.base + block.size)
            column_b[rows] = block.rows_b
            column_c[rows] = block.rows_c
            column_id[rows] = block.id
        return LookupTable(
            self.log_size,
            (
                IndexColumn(0),
                ValuesColumn(column_id),
                ValuesColumn(column_b % base.P),
                ValuesColumn(column_c % base.P),
            ),
            "inference",
        )

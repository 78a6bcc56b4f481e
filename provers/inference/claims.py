"""Evaluation claims: what the prover states about committed vectors, and where they go.

A claim "vector v has MLE value e at point r" is about one of four things: a block of the
witness table W (settled by the final batching sumcheck and one opening of W), a layer of the
weight table (settled by the weight batching and one opening of the model commitment), the
public input (the verifier evaluates it itself), or a block of a committed data table (an
audit's test-set chunk: its inputs and labels, settled like W's claims and opened with W).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from provers.field import base, ext
from provers.poly import multilinear

_DOT_BLOCK = 1 << 14


@dataclass(frozen=True)
class Request:
    """A value the protocol needs: the MLE of a vector at a point, or a value the prover states
    outright (a split of a sum the verifier then checks)."""

    key: str
    kind: str
    """"w" (a block of W at ``offset``), "input" (the public input's padded table), "data" (a
    block of the committed data table at ``offset``), or "value" (computed by ``compute`` from
    the prover's resources; no claim of its own)."""
    offset: int
    point: np.ndarray
    compute: Callable[[Any], np.ndarray] | None = None


@dataclass
class ClaimSink:
    """Every claim on W and on the weights, in the order both sides produce them."""

    witness: list[tuple[int, np.ndarray, np.ndarray]] = field(default_factory=list)
    """(offset, point, value)."""
    weights: list[tuple[int, int, np.ndarray, np.ndarray]] = field(default_factory=list)
    """(block offset in the weight table, block log size, point over the block, value)."""
    data: list[tuple[int, np.ndarray, np.ndarray]] = field(default_factory=list)
    """(offset, point, value) on the committed data table."""

    def add_data(self, offset: int, point: np.ndarray, value: np.ndarray) -> None:
        self.data.append((offset, np.asarray(point), np.asarray(value)))

    def add_witness(self, offset: int, point: np.ndarray, value: np.ndarray) -> None:
        self.witness.append((offset, np.asarray(point), np.asarray(value)))

    def add_weight(self, offset: int, log: int, point: np.ndarray, value: np.ndarray) -> None:
        self.weights.append((offset, log, np.asarray(point), np.asarray(value)))


def evaluate_signed(values: np.ndarray, point: np.ndarray) -> np.ndarray:
    """The MLE of a table of small signed integers (|v| < 2^31) at a point, exactly."""
    eq = multilinear.eq_table(point)
    return dot_signed(eq, values)


def dot_signed(eq: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Σ_x eq(x)·values[x] for a (4, n) table and integers of absolute value below 2^31."""
    values = np.asarray(values, dtype=np.int64)
    if values.size and np.abs(values).max() >= 1 << 17:
        return np.asarray(ext.inner_product_base(eq, values % base.P))
    centred = np.asarray(np.where(eq > base.P // 2, eq - base.P, eq))
    out = np.zeros(ext.DEGREE, dtype=np.int64)
    for start in range(0, values.shape[0], _DOT_BLOCK):
        part = centred[:, start : start + _DOT_BLOCK] @ values[start : start + _DOT_BLOCK]
        out = (out + part) % base.P
    return out


def eq_at(point: np.ndarray, index: int) -> np.ndarray:
    """eq(point, index) for a Boolean index of point.shape[1] bits (most significant first)."""
    bits = point.shape[1]
    total = ext.one()
    for k in range(bits):
        bit = (index >> (bits - 1 - k)) & 1
        coordinate = point[:, k]
        total = ext.mul(total, coordinate if bit else ext.sub(ext.one(), coordinate))
    return np.asarray(total)


def offset_point(offset: int, log: int, total_log: int) -> np.ndarray:
    """The Boolean high coordinates of an aligned block, as field elements: (4, total − log)."""
    bits = total_log - log
    coordinates = [(offset >> (total_log - 1 - k)) & 1 for k in range(bits)]
    return np.asarray(ext.from_base(np.asarray(coordinates, dtype=np.int64).reshape(bits)))


def segments_value(segments: tuple[object, ...], point: np.ndarray) -> np.ndarray:
    """MLE at ``point`` (chunk coordinates) of a vector that is constant on aligned segments."""
    n = point.shape[1]
    total = ext.zero()
    for segment in segments:
        start, log, value = segment.start, segment.log, segment.value  # type: ignore[attr-defined]
        indicator = eq_at(point[:, : n - log], start >> log) if n > log else ext.one()
        total = ext.add(total, ext.scale(indicator, value))
    return np.asarray(total)

"""Padded tensor layouts: how a batch of int8 tensors becomes a multilinear table.

A tensor of per-sample shape (d_1, …, d_k) in a batch of N is stored with every axis padded to
a power of two, batch first: index bits (n, i_1, …, i_k), n the most significant. Its table is
the row-major array of shape (2^b_0, 2^b_1, …, 2^b_k) with zeros at every padded position, so
its multilinear extension at a point (r_0, …, r_k) splits by axis. The MLE of the indicator of
the real positions is a product of one prefix sum of eq per axis, which the verifier computes
in O(Σ 2^b_i).

A flatten (RESHAPE to one axis) keeps its input's layout: the flat index f of a real element
is mapped to its padded multi-axis index, and a LINEAR that reads it has its weight columns
laid out the same way. So does a reshape that only adds or drops axes of size 1 (a size-1 axis
takes no index bits), read with the new axes. Other reshapes are not supported (they would move
data).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from provers.circuit.model import QuantisedModel
from provers.circuit.ops import SOFTMAXES, Node, OpKind
from provers.field import ext
from provers.poly import multilinear


class UnsupportedCircuit(ValueError):
    """The circuit is valid IR but outside what the inference prover handles."""


def log2_ceil(value: int) -> int:
    return max(0, (value - 1).bit_length())


@dataclass(frozen=True)
class Dim:
    """One axis: ``real`` entries padded to 2^``log``."""

    real: int
    log: int

    @classmethod
    def of(cls, real: int) -> Dim:
        return cls(real, log2_ceil(real))

    @property
    def padded(self) -> int:
        return 1 << self.log


@dataclass(frozen=True)
class TensorLayout:
    """A batch of tensors as a padded array; ``dims[0]`` is the batch axis."""

    dims: tuple[Dim, ...]

    @property
    def log_size(self) -> int:
        return sum(d.log for d in self.dims)

    @property
    def padded_shape(self) -> tuple[int, ...]:
        return tuple(d.padded for d in self.dims)

    @property
    def real_shape(self) -> tuple[int, ...]:
        return tuple(d.real for d in self.dims)

    @property
    def feature_log(self) -> int:
        """Bits of one sample (every axis but the batch)."""
        return self.log_size - self.dims[0].log

    def embed(self, values: np.ndarray) -> np.ndarray:
        """Real values of shape (N, …) → the padded table (int64, signed values kept)."""
        values = np.asarray(values, dtype=np.int64).reshape(self.real_shape)
        out = np.zeros(self.padded_shape, dtype=np.int64)
        out[tuple(slice(0, d.real) for d in self.dims)] = values
        return out.reshape(-1)

    def extract(self, table: np.ndarray) -> np.ndarray:
        """The real entries of a padded table, shape (N, …)."""
        full = np.asarray(table).reshape(self.padded_shape)
        return full[tuple(slice(0, d.real) for d in self.dims)]

    def split_point(self, point: np.ndarray) -> list[np.ndarray]:
        """The coordinates of a (4, log_size) point belonging to each axis."""
        parts, start = [], 0
        for d in self.dims:
            parts.append(point[:, start : start + d.log])
            start += d.log
        return parts

    def validity(self, point: np.ndarray) -> np.ndarray:
        """MLE of the real-position indicator at ``point``: Π over axes of Σ_{i<real} eq."""
        return validity_of(self.dims, point)

    def feature_positions(self) -> np.ndarray:
        """Padded index (within one sample) of every real flat feature, row-major order."""
        dims = self.dims[1:]
        if not dims:
            return np.zeros(1, dtype=np.int64)
        grids = np.indices(tuple(d.real for d in dims)).reshape(len(dims), -1)
        flat = np.ravel_multi_index(tuple(grids), tuple(d.padded for d in dims))
        return np.asarray(flat, dtype=np.int64)


def prefix_eq_sum(point: np.ndarray, real: int) -> np.ndarray:
    """Σ_{i<real} eq(point, i): the MLE of [i < real] on one axis."""
    if point.shape[1] == 0:
        return np.asarray(ext.one())
    return np.asarray(ext.sum_(multilinear.eq_table(point)[:, :real]))


def validity_of(dims: tuple[Dim, ...], point: np.ndarray) -> np.ndarray:
    total, start = ext.one(), 0
    for d in dims:
        if d.real != d.padded:
            total = ext.mul(total, prefix_eq_sum(point[:, start : start + d.log], d.real))
        start += d.log
    return np.asarray(total)


def tensor_layouts(model: QuantisedModel, batch: int) -> dict[str, TensorLayout]:
    """The layout of the input and of every node's output; a flatten shares its input's."""
    batch_dim = Dim.of(batch)
    layouts = {"input": TensorLayout((batch_dim, *(Dim.of(d) for d in model.input_shape)))}
    logical = {"input": tuple(model.input_shape)}
    for node in model.nodes:
        source = layouts[node.inputs[0]]
        if node.kind is OpKind.RESHAPE and _unit_axes_only(logical[node.inputs[0]], node):
            # Axes of size 1 take no index bits: the same table read with the new axes.
            layouts[node.name] = TensorLayout((batch_dim, *(Dim.of(d) for d in node.output_shape)))
        elif node.kind is OpKind.RESHAPE:
            if len(node.output_shape) != 1 and tuple(node.output_shape) != logical[node.inputs[0]]:
                raise UnsupportedCircuit(
                    f"{node.name}: only flattening reshapes and ones that add or drop axes of "
                    f"size 1 are supported, not {logical[node.inputs[0]]} → {node.output_shape}"
                )
            layouts[node.name] = source
        elif node.kind in (OpKind.ADD, OpKind.RELU, OpKind.TABLE, *SOFTMAXES):
            layouts[node.name] = TensorLayout((batch_dim, *source.dims[1:]))
        else:
            layouts[node.name] = TensorLayout((batch_dim, *(Dim.of(d) for d in node.output_shape)))
        logical[node.name] = tuple(node.output_shape)
    return layouts


def _unit_axes_only(before: tuple[int, ...], node: Node) -> bool:
    """The reshape only adds or drops axes of size 1 (and is no plain identity)."""
    after = tuple(node.output_shape)
    kept = tuple(d for d in after if d != 1)
    return after != before and kept == tuple(d for d in before if d != 1)


def aligned_chunks(start: int, stop: int) -> list[tuple[int, int]]:
    """Cover [start, stop) by maximal aligned power-of-two pieces (offset, log size)."""
    out = []
    while start < stop:
        log = (start & -start).bit_length() - 1 if start else 62
        while start + (1 << log) > stop:
            log -= 1
        out.append((start, log))
        start += 1 << log
    return out

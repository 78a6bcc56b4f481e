"""What a private-mode proof of an MLP commits and looks up, derived from the circuit alone.

Supported circuits: a chain of LINEAR layers, each with its requantisation (and fused ReLU), on
an int8 input, flattened first when it has several axes (an MLP). Each layer's advice is the
public mode's (:mod:`provers.inference.requant`): σ, the clamp indices, y, and the limbs of τ,
r1, r2.

The witness W (2^M entries) holds, at offset 0, the multiplicities m of the lookup (2^L
entries), then one slot per committed vector, sized to it: a vector of 2^n entries (n ≥ 4)
fills a slot of 2^n entries at an offset that is a multiple of 2^n (slots are laid out largest
first), so its MLE at r is W's at (the offset's high bits, r). The private input, when
private, is one more slot.

The lookup reads 2^L rows: one segment per (vector group, table block), as long as the slots
it reads (which all have one size), segments laid out largest first so each starts at a
multiple of its length, then rows equal to the table's zero row up to 2^L. Each row
(A, D, B, C) = (a slot + a constant, the block id, a slot or 0, a slot or 0); the table is the
public mode's :class:`provers.inference.tables.InferenceTable`, whose blocks bind each row to
its function (range limbs, the clamp of u with σ, the split clamp's two halves, the 8-bit input
range).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from provers.audit.argmax import VECTORS as ARGMAX_VECTORS
from provers.circuit.model import QuantisedModel
from provers.circuit.ops import Node, OpKind
from provers.commit.pcs import PCSParams
from provers.inference.layout import (
    Dim,
    TensorLayout,
    UnsupportedCircuit,
    log2_ceil,
    tensor_layouts,
)
from provers.inference.plan import ARGMAX_NODE, class_vector, range_vectors
from provers.inference.requant import RequantPlan, requant_plan
from provers.inference.tables import (
    ARGMAX_KEY,
    InferenceTable,
    clamp_block_key,
    range_key,
    sign_block_key,
)
from provers.inference.weights import LayerLayout, WeightLayout, weight_layout
from provers.lookup.table import LookupTable

PRIVATE_KINDS = (OpKind.LINEAR, OpKind.CONV2D, OpKind.AVGPOOL2D, OpKind.MAXPOOL2D)
MIN_SLOT_LOG = 4
"""Every slot holds ≥ 16 entries: each revealed value of a vector is masked by its slot's
random half, which needs 4 base-field entries per revealed challenge-field value."""
MAX_WITNESS_LOG = 26
INPUT = "input"
Column = tuple[tuple[str, str] | None, int]
"""One table column of a segment: the slot it reads (or None) and the constant added."""


@dataclass(frozen=True)
class Segment:
    columns: tuple[Column, Column, Column, Column]
    """A, D (the block id, always constant), B, C."""
    log: int = 0
    """Its rows: 2^log, the size of every slot it reads."""
    offset: int = 0
    """Its first row in the lookup, a multiple of 2^log."""

    @property
    def slots(self) -> list[tuple[str, str]]:
        return [slot for slot, _ in self.columns if slot is not None]


@dataclass(frozen=True)
class LayerPlan:
    node: str
    input: str
    """The layer whose output this one reads (through flattens), or ``input``."""
    reads: str
    """The tensor the node reads: ``input``, a flatten, or the previous layer."""
    requant: RequantPlan | None
    """None for a max pool, which has no requantisation."""
    layout: TensorLayout
    """Its output: (batch, channels), or (batch, channels, height, width), padded."""
    weights: LayerLayout | None
    """A LINEAR's or CONV2D's weight blocks; None for a pool."""
    kind: OpKind = OpKind.LINEAR
    in_layout: TensorLayout | None = None
    """The layout of the tensor it reads (its source's)."""
    kernel: tuple[int, int] = (1, 1)
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)

    @property
    def log_size(self) -> int:
        return self.layout.log_size

    @property
    def matrix(self) -> LayerLayout:
        """The weight blocks of a LINEAR or CONV2D."""
        if self.weights is None:
            raise UnsupportedCircuit(f"{self.node} has no weights")
        return self.weights

    @property
    def source_layout(self) -> TensorLayout:
        if self.in_layout is None:
            raise UnsupportedCircuit(f"{self.node} has no input layout")
        return self.in_layout

    @property
    def requantisation(self) -> RequantPlan:
        if self.requant is None:
            raise UnsupportedCircuit(f"{self.node} has no requantisation")
        return self.requant

    @property
    def offsets(self) -> int:
        """A max pool's window offsets."""
        return self.kernel[0] * self.kernel[1]

    @property
    def rows_log(self) -> int:
        """The bits of a matrix-product row: the batch (a LINEAR), batch and space (CONV2D)."""
        return self.layout.log_size - self.layout.dims[1].log


def layer_vectors(layer: LayerPlan) -> list[str]:
    if layer.kind is OpKind.MAXPOOL2D:
        return ["y", *(f"d{k}" for k in range(layer.offsets))]
    plan = layer.requantisation
    clamp = ["h_index", "f_index", "clip"] if plan.clamp.split else ["index"]
    return ["sigma", *clamp, "y", *(name for name, _ in range_vectors(plan))]


class PrivatePlan:
    def __init__(
        self,
        model: QuantisedModel,
        batch: int,
        private_input: bool,
        public_output: bool,
        limb_bits: int = 8,
        pcs: PCSParams | None = None,
        classes: int = 0,
        private_weights: bool = False,
    ) -> None:
        self.model, self.batch = model, batch
        self.private_input, self.public_output = private_input, public_output
        self.private_weights = private_weights
        """The weights are read from a hiding commitment to the doubled weight table
        (provers/private/model.py) instead of being opened in the clear."""
        self.classes = classes
        """> 0: an accuracy audit of a classifier with this many classes (the logits stay
        private; the argmax vectors, the data table of inputs and labels are added)."""
        self.limb_bits = limb_bits
        self.pcs = pcs or PCSParams.default()
        if batch < 1:
            raise UnsupportedCircuit("a batch needs at least one input")
        self.weight_layout: WeightLayout = weight_layout(model, self.pcs)
        self.input_layout = self._input_layout()
        self.layers = self._layers()
        self.slots: list[tuple[str, str]] = [(INPUT, "x")] if private_input else []
        for layer in self.layers:
            self.slots += [(layer.node, v) for v in layer_vectors(layer)]
        if classes:
            self._check_audit()
            for c in range(classes):
                self.slots += [(class_vector(c), v) for v in ARGMAX_VECTORS]
            self.slots.append((ARGMAX_NODE, "m"))
        self.slot_logs = {key: max(MIN_SLOT_LOG, self.vector_log(key)) for key in self.slots}
        self.table = InferenceTable(self._table_keys())
        self.segments = _place_segments(self._segments(), self.slot_logs)
        used_rows = max(segment.offset + (1 << segment.log) for segment in self.segments)
        self.lookup_log = max(log2_ceil(used_rows), self.table.log_size)
        self.offsets = _place_slots(self.slots, self.slot_logs, 1 << self.lookup_log)
        used = max(self.offsets[key] + (1 << self.slot_logs[key]) for key in self.slots)
        self.witness_log = log2_ceil(used)
        if self.witness_log + 1 > MAX_WITNESS_LOG:
            raise UnsupportedCircuit(f"a private-mode witness of 2^{self.witness_log + 1}")

    # --- circuit checks ------------------------------------------------------------------

    def _check_audit(self) -> None:
        if not self.private_input or self.public_output:
            raise UnsupportedCircuit("a private audit hides the inputs and the logits")
        outputs = self.output_layer().layout.dims[1].real
        if outputs != self.classes:
            raise UnsupportedCircuit(
                f"an accuracy audit needs a classifier of {self.classes} class scores; this "
                f"model outputs {outputs}"
            )

    @property
    def batch_layout(self) -> TensorLayout:
        return TensorLayout((Dim.of(self.batch),))

    @property
    def data_log(self) -> int:
        """The data table: the input table, then as much again holding the labels."""
        return self.input_layout.log_size + 1

    @property
    def label_offset(self) -> int:
        return 1 << self.input_layout.log_size

    def _input_layout(self) -> TensorLayout:
        if self.model.input_vocabulary:
            raise UnsupportedCircuit(
                "the private mode proves MLPs on an int8 input for now; this model reads token ids"
            )
        return tensor_layouts(self.model, self.batch)[INPUT]

    def _layers(self) -> list[LayerPlan]:
        """Linear layers, convolutions and pools in a chain, with flattens between them (a
        CNN: convolutions and pools, then an MLP)."""
        layers: list[LayerPlan] = []
        layouts = tensor_layouts(self.model, self.batch)
        previous, readable = INPUT, {INPUT}
        previous_layout = self.input_layout
        for node in self.model.nodes:
            if node.kind is OpKind.RESHAPE and node.inputs[0] in readable:
                if len(node.output_shape) != 1:
                    raise UnsupportedCircuit(f"{node.name}: only flattens")
                readable.add(node.name)
                continue
            if node.kind not in PRIVATE_KINDS or (
                node.kind is not OpKind.MAXPOOL2D and node.requant is None
            ):
                raise UnsupportedCircuit(
                    f"the private mode proves MLPs and CNNs of Linear, Conv2d and pooling "
                    f"layers for now; {node.name} is {node.kind.value}"
                )
            if node.inputs[0] not in readable:
                raise UnsupportedCircuit(f"{node.name} does not read the previous layer")
            layout = layouts[node.name]
            if node.kind is OpKind.LINEAR:
                layer = self._linear(node, previous, previous_layout, layout)
            else:
                layer = self._spatial(node, previous, previous_layout, layout, layers)
            layers.append(layer)
            previous, previous_layout, readable = node.name, layout, {node.name}
        if not layers:
            raise UnsupportedCircuit("a model without layers")
        return layers

    def _linear(
        self, node: Node, previous: str, previous_layout: TensorLayout, layout: TensorLayout
    ) -> LayerPlan:
        weights = self.weight_layout.layer(node.name)
        features_log = previous_layout.log_size - previous_layout.dims[0].log
        if weights.feature_log != features_log or not np.array_equal(
            weights.positions, previous_layout.feature_positions()
        ):
            raise UnsupportedCircuit(f"{node.name}: features laid out unlike its input")
        channels = node.output_shape[-1]
        if node.requant is None:
            raise UnsupportedCircuit(f"{node.name}: a Linear without its requantisation")
        requant = requant_plan(node.name, node.requant, channels, self.limb_bits, 1)
        flat = TensorLayout((Dim.of(self.batch), Dim.of(channels)))
        if flat != layout:
            raise UnsupportedCircuit(f"{node.name}: a Linear on more than one axis")
        return LayerPlan(
            node.name, previous, node.inputs[0], requant, layout, weights, in_layout=previous_layout
        )

    def _spatial(
        self,
        node: Node,
        previous: str,
        previous_layout: TensorLayout,
        layout: TensorLayout,
        layers: list[LayerPlan],
    ) -> LayerPlan:
        if len(layout.dims) != 4 or len(previous_layout.dims) != 4 or node.inputs[0] != previous:
            raise UnsupportedCircuit(f"{node.name}: a convolution or pool on a (C, H, W) tensor")
        if node.kind is not OpKind.CONV2D and previous == INPUT:
            raise UnsupportedCircuit(f"{node.name}: the private mode pools a layer's output")
        channels = node.output_shape[0]
        requant = None
        if node.requant is not None:
            requant = requant_plan(node.name, node.requant, channels, self.limb_bits, 1)
        weights = self.weight_layout.layer(node.name) if node.kind is OpKind.CONV2D else None
        padding = tuple(node.padding) if node.kind is OpKind.CONV2D else (0, 0)
        return LayerPlan(
            node.name,
            previous,
            node.inputs[0],
            requant,
            layout,
            weights,
            node.kind,
            previous_layout,
            tuple(node.kernel),  # type: ignore[arg-type]
            tuple(node.stride),  # type: ignore[arg-type]
            padding,  # type: ignore[arg-type]
        )

    def _table_keys(self) -> list[tuple[object, ...]]:
        keys: list[tuple[object, ...]] = [range_key(256)] if self.private_input else []
        if self.classes:
            keys.append(ARGMAX_KEY)
        for layer in self.layers:
            if layer.requant is None:
                keys.append(range_key(256))
                continue
            clamp = layer.requant.clamp
            keys.append(sign_block_key(clamp))
            if clamp.split:
                keys.append(clamp_block_key(clamp))
            keys += [range_key(1 << w) for _, w in range_vectors(layer.requant)]
        return list(dict.fromkeys(keys))

    def _segments(self) -> list[Segment]:
        table = self.table
        out: list[Segment] = []

        def segment(a: Column, key: tuple[object, ...], b: Column, c: Column) -> Segment:
            block = table.block(key)
            return Segment(((a[0], a[1] + block.base), (None, block.id), b, c))

        if self.private_input:
            out.append(segment(((INPUT, "x"), 128), range_key(256), (None, 0), (None, 0)))
        for c in range(self.classes):
            name = class_vector(c)
            out.append(
                segment(((name, "index"), 0), ARGMAX_KEY, ((name, "h"), 0), ((name, "y"), 0))
            )
        for layer in self.layers:
            if layer.requant is None:
                for k in range(layer.offsets):
                    column = ((layer.node, f"d{k}"), 0)
                    out.append(segment(column, range_key(256), (None, 0), (None, 0)))
                continue
            name, clamp = layer.node, layer.requant.clamp
            sigma = ((name, "sigma"), 0)
            if clamp.split:
                out.append(
                    segment(
                        ((name, "h_index"), 0), sign_block_key(clamp), sigma, ((name, "clip"), 0)
                    )
                )
                out.append(
                    segment(
                        ((name, "f_index"), 2 << clamp.low_bits),
                        clamp_block_key(clamp),
                        ((name, "y"), 0),
                        ((name, "clip"), 0),
                    )
                )
            else:
                out.append(
                    segment(((name, "index"), 0), sign_block_key(clamp), sigma, ((name, "y"), 0))
                )
            for vector, width in range_vectors(layer.requant):
                out.append(
                    segment(((name, vector), 0), range_key(1 << width), (None, 0), (None, 0))
                )
        return out

    # --- views ------------------------------------------------------------------------

    @property
    def lookup_table(self) -> LookupTable:
        return self.table.lookup_table()

    def vector_layout(self, key: tuple[str, str]) -> TensorLayout:
        if key[0] == INPUT:
            return self.input_layout
        if key[0].startswith("@"):
            return self.batch_layout
        return self.layer(key[0]).layout

    def vector_log(self, key: tuple[str, str]) -> int:
        return self.vector_layout(key).log_size

    def layer(self, name: str) -> LayerPlan:
        for layer in self.layers:
            if layer.node == name:
                return layer
        raise KeyError(name)

    @property
    def model_log(self) -> int:
        """The weight table's variables (the doubled table has one more)."""
        return self.weight_layout.log_size

    def slot_size(self, key: tuple[str, str]) -> int:
        return 1 << self.slot_logs[key]

    @property
    def private_output(self) -> bool:
        return not self.public_output

    @property
    def witness_size(self) -> int:
        return 1 << self.witness_log

    def output_layer(self) -> LayerPlan:
        return self.layers[-1]


def _aligned(position: int, log: int) -> int:
    size = 1 << log
    return (position + size - 1) // size * size


def _place_segments(
    segments: list[Segment], slot_logs: dict[tuple[str, str], int]
) -> list[Segment]:
    """Each segment sized to its slots and placed, largest first, at a multiple of its size."""
    sized = []
    for segment in segments:
        logs = {slot_logs[slot] for slot in segment.slots}
        if len(logs) != 1:
            raise UnsupportedCircuit("a lookup segment reads slots of different sizes")
        sized.append((logs.pop(), segment))
    placed, position = [], 0
    for log, segment in sorted(sized, key=lambda item: -item[0]):
        position = _aligned(position, log)
        placed.append(Segment(segment.columns, log, position))
        position += 1 << log
    return placed


def _place_slots(
    slots: list[tuple[str, str]], slot_logs: dict[tuple[str, str], int], start: int
) -> dict[tuple[str, str], int]:
    """Each slot's offset in W, largest first from ``start``, at a multiple of its size."""
    offsets, position = {}, start
    for key in sorted(slots, key=lambda key: -slot_logs[key]):
        position = _aligned(position, slot_logs[key])
        offsets[key] = position
        position += 1 << slot_logs[key]
    return offsets

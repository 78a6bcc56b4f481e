"""Everything the prover and the verifier derive from the circuit, the batch size and the limb
width before any proof data is read: tensor layouts, requantisation plans, the weight layout,
the witness layout, the lookup table and how the witness is cut into lookups.

An audit plan (``audit_classes`` = C > 0, :mod:`provers.audit`) adds, per class c, the parallel
vectors (index, h, y) of the argmax region and one vector m of per-sample maxima, each over the
batch axis; the model's output must then be a vector of C class scores."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from provers.circuit.model import QuantisedModel
from provers.circuit.ops import (
    ACTIVATION_PRODUCTS,
    LAYERNORM_Q_BITS,
    LAYERNORMS,
    SOFTMAXES,
    Node,
    OpKind,
)
from provers.commit.pcs import PCSParams
from provers.inference.layout import TensorLayout, UnsupportedCircuit, tensor_layouts
from provers.inference.requant import RequantPlan, limb_widths, requant_plan
from provers.inference.tables import (
    ARGMAX_KEY,
    RELU_KEY,
    InferenceTable,
    clamp_block_key,
    function_key,
    range_key,
    sign_block_key,
)
from provers.inference.weights import WeightLayout, weight_layout
from provers.inference.witness_layout import Entry, LookupChunk, WitnessLayout
from provers.lookup.statement import LookupStatement

REQUANT_KINDS = (
    OpKind.LINEAR,
    OpKind.CONV2D,
    OpKind.AVGPOOL2D,
    OpKind.ADD,
    *LAYERNORMS,
    *ACTIVATION_PRODUCTS,
)
MAX_POOL_WINDOW = 16
MIN_LIMB_BITS, MAX_LIMB_BITS = 4, 16
MAX_BATCH = 1 << 16
MAX_TENSOR_LOG = 24
MAX_WITNESS_LOG = 28
MAX_TABLE_LOG = 20
MAX_WEIGHTS_LOG = 30


SOFTMAX_ROW_VECTORS = ("z", "m")
"""A SOFTMAX node's vectors with one entry per row: the row sums (and a causal one's maxima)."""


def softmax_limbs(node: Node, limb_bits: int) -> list[tuple[str, int]]:
    """The range-checked limbs of a SOFTMAX node's remainders q ∈ [0, 2z) and of
    w = 2z − 1 − q: z ≤ T·E[1], so both lie below 2^bits."""
    bits = (2 * node.output_shape[-1] * node.table[1]).bit_length()
    widths = limb_widths(bits, limb_bits)
    return [(f"{prefix}{j}", w) for prefix in ("q", "w") for j, w in enumerate(widths)]


LAYERNORM_ROW_VECTORS = ("ln_mu", "ln_v", "ln_q", "ln_r", "ln_u")
"""A LAYERNORM node's whole per-row vectors: μ + 2^(a+7), V, Q − 1, R and U = R·Q."""
_MEAN_VECTORS = ("ln_mu", "ln_rmu", "ln_wmu")
"""The per-row quantities of the mean, which an RMSNORM has not."""


def layernorm_row_vectors(node: Node) -> tuple[str, ...]:
    """The whole per-row vectors of a LAYERNORM (an RMSNORM: the same without μ)."""
    if node.kind is OpKind.RMSNORM:
        return tuple(v for v in LAYERNORM_ROW_VECTORS if v not in _MEAN_VECTORS)
    return LAYERNORM_ROW_VECTORS


def layernorm_limbs(node: Node, limb_bits: int) -> list[tuple[str, tuple[int, ...]]]:
    """(prefix, limb widths) of every range-checked per-row quantity of a LAYERNORM or RMSNORM
    node (provers/inference/rel_layernorm.py): limb j of prefix P is the vector P + str(j)."""
    a, b, k, _ = node.layernorm_constants
    remainder_bits = (2 * node.output_shape[-1] - 1).bit_length()
    bits = {
        "ln_mu": a + 8,
        "ln_q": LAYERNORM_Q_BITS,
        "ln_r": k + 1,
        "ln_u": k + 7,
        "ln_rmu": remainder_bits,
        "ln_wmu": remainder_bits,
        "ln_rb": b,
        "ln_below": k + 16,
        "ln_above": k + 16,
    }
    if node.kind is OpKind.RMSNORM:
        bits = {prefix: width for prefix, width in bits.items() if prefix not in _MEAN_VECTORS}
    return [(prefix, limb_widths(width, limb_bits)) for prefix, width in bits.items()]


def layernorm_range_vectors(node: Node, limb_bits: int) -> list[tuple[str, int]]:
    return [
        (f"{prefix}{j}", width)
        for prefix, widths in layernorm_limbs(node, limb_bits)
        for j, width in enumerate(widths)
    ]


def range_vectors(plan: RequantPlan) -> list[tuple[str, int]]:
    """(vector name, bit width) of every range-checked limb of one requantisation."""
    out = [(f"tau{j}", w) for j, w in enumerate(plan.tau_limbs)]
    out += [(f"r1_{j}", w) for j, w in enumerate(plan.r1_limbs)]
    out += [(f"r2_{j}", w) for j, w in enumerate(plan.r2_limbs)]
    return out


ONE_RUN_MIN_BITS = 101
"""A single lookup run is used while its compression error stays below 2^-101 (every
benchmark model at batch 1); beyond, a second run keeps the proof above 100 bits."""
ARGMAX_NODE = "@argmax"


def class_vector(c: int) -> str:
    """The witness name of class c's argmax vectors (not a node name: those never start "@")."""
    return f"@class{c}"


@dataclass
class ProofPlan:
    model: QuantisedModel
    batch: int
    limb_bits: int
    pcs: PCSParams = field(default_factory=PCSParams.default)
    audit_classes: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.batch <= MAX_BATCH:
            raise UnsupportedCircuit(f"batch of {self.batch}, expected 1..{MAX_BATCH}")
        if not MIN_LIMB_BITS <= self.limb_bits <= MAX_LIMB_BITS:
            raise UnsupportedCircuit(f"limb width {self.limb_bits} outside 4..16")
        self.layouts: dict[str, TensorLayout] = tensor_layouts(self.model, self.batch)
        largest = max(layout.log_size for layout in self.layouts.values())
        if largest > MAX_TENSOR_LOG:
            raise UnsupportedCircuit(f"a tensor of 2^{largest} padded entries")
        if self.audit_classes:
            self._check_classifier()
        self.requant: dict[str, RequantPlan] = {}
        for node in self.model.nodes:
            self._check_node(node)
            if node.kind in REQUANT_KINDS and node.requant is not None:
                axis = node.channel_axis
                channels = self.layouts[node.name].dims[axis].real
                self.requant[node.name] = requant_plan(
                    node.name, node.requant, channels, self.limb_bits, axis
                )
        entries = self._entries()
        keys = [
            key for region in entries.values() for e in region for key, _ in e.table_keys.values()
        ]
        if not keys:
            raise UnsupportedCircuit(
                "the circuit looks nothing up (embeddings alone): add an operation after them"
            )
        try:
            self.table = InferenceTable(keys, 1 << MAX_TABLE_LOG)
        except ValueError as error:
            raise UnsupportedCircuit(str(error)) from None
        if self.table.log_size > MAX_TABLE_LOG:
            raise UnsupportedCircuit(f"a lookup table of 2^{self.table.log_size} rows")
        self.witness = WitnessLayout(entries, self.table.log_size)
        if self.witness.log_size > MAX_WITNESS_LOG:
            raise UnsupportedCircuit(f"a witness of 2^{self.witness.log_size} entries")

    def _check_node(self, node: Node) -> None:
        layouts = self.layouts
        if node.kind is OpKind.ADD and layouts[node.inputs[0]] != layouts[node.inputs[1]]:
            raise UnsupportedCircuit(f"{node.name}: operands laid out differently")
        windowed = node.kind in (OpKind.CONV2D, OpKind.MAXPOOL2D, OpKind.AVGPOOL2D)
        if windowed and len(layouts[node.inputs[0]].dims) != 4:
            raise UnsupportedCircuit(f"{node.name}: input is not a (C, H, W) tensor")
        if node.kind is OpKind.MAXPOOL2D and node.kernel[0] * node.kernel[1] > MAX_POOL_WINDOW:
            raise UnsupportedCircuit(f"{node.name}: max-pool windows above {MAX_POOL_WINDOW}")
        if node.kind in ACTIVATION_PRODUCTS:
            dims = layouts[node.inputs[0]].dims
            if sum(d.log for d in dims[:-2]) + dims[-1].log == 0:
                raise UnsupportedCircuit(
                    f"{node.name}: a product over one inner entry of a single sample; "
                    "prove a batch of two or more"
                )
        if node.kind in REQUANT_KINDS and node.requant is None:
            raise UnsupportedCircuit(f"{node.name}: missing requantisation")
        if node.kind is OpKind.EMBEDDING and self.audit_classes and not node.constant_ids:
            raise UnsupportedCircuit(
                f"{node.name}: an accuracy audit of a model whose input is token ids (the "
                "embedding proof reads public ids)"
            )
        if node.kind in LAYERNORMS:
            if layouts[self.source(node.inputs[0])] != layouts[node.name]:
                raise UnsupportedCircuit(f"{node.name}: input laid out unlike the output")
            if self.row_layout(node.name).log_size == 0:
                raise UnsupportedCircuit(
                    f"{node.name}: a layernorm over a single row; prove a batch of two or more"
                )

    def _check_classifier(self) -> None:
        dims = self.layouts[self.source(self.model.output)].dims
        if len(dims) != 2 or dims[1].real != self.audit_classes:
            raise UnsupportedCircuit(
                f"an accuracy audit needs a classifier whose output is a vector of "
                f"{self.audit_classes} class scores; this model outputs shape "
                f"{list(self.model.output_shape())}"
            )

    def _entries(self) -> dict[str, list[Entry]]:
        regions: dict[str, list[Entry]] = {
            name: [] for name in ("direct", "split", "relu", "exp", "range", "other", "argmax")
        }
        batch_log = self.layouts["input"].dims[0].log
        for c in range(self.audit_classes):
            keys: dict[str, tuple[tuple[object, ...], int]] = {"argmax": (ARGMAX_KEY, 0)}
            regions["argmax"].append(Entry((class_vector(c), ""), batch_log, keys))
        if self.audit_classes:
            regions["other"].append(Entry((ARGMAX_NODE, "m"), batch_log))
        for node in self.model.nodes:
            log = self.layouts[node.name].log_size
            name = node.name
            if name in self.requant:
                plan = self.requant[name]
                sign = sign_block_key(plan.clamp)
                if plan.clamp.split:
                    keys = {
                        "split-h": (sign, 0),
                        "split-f": (clamp_block_key(plan.clamp), 2 << plan.clamp.low_bits),
                    }
                    regions["split"].append(Entry((name, ""), log, keys))
                else:
                    regions["direct"].append(Entry((name, ""), log, {"direct": (sign, 0)}))
                for vector, width in range_vectors(plan):
                    regions["range"].append(
                        Entry((name, vector), log, {"range": (range_key(1 << width), 0)})
                    )
            elif node.kind is OpKind.MAXPOOL2D:
                regions["other"].append(Entry((name, "y"), log))
                for k in range(node.kernel[0] * node.kernel[1]):
                    regions["range"].append(
                        Entry((name, f"d{k}"), log, {"range": (range_key(256), 0)})
                    )
            elif node.kind is OpKind.RELU:
                regions["relu"].append(Entry((name, ""), log, {"relu": (RELU_KEY, 128)}))
            elif node.kind is OpKind.TABLE:
                key = function_key((0, *node.table))
                regions["relu"].append(Entry((name, ""), log, {"relu": (key, 0)}))
            elif node.kind in SOFTMAXES:
                self._softmax_entries(node, regions)
            if node.kind in LAYERNORMS:
                self._layernorm_entries(node, regions)
            if node.kind is OpKind.EMBEDDING:
                regions["other"].append(Entry((name, "y"), log))
        return regions

    def _layernorm_entries(self, node: Node, regions: dict[str, list[Entry]]) -> None:
        row_log = self.row_layout(node.name).log_size
        for vector in layernorm_row_vectors(node):
            regions["other"].append(Entry((node.name, vector), row_log))
        for vector, width in layernorm_range_vectors(node, self.limb_bits):
            regions["range"].append(
                Entry((node.name, vector), row_log, {"range": (range_key(1 << width), 0)})
            )

    def _softmax_entries(self, node: Node, regions: dict[str, list[Entry]]) -> None:
        name, layout = node.name, self.layouts[node.name]
        log, row_log = layout.log_size, self.row_layout(name).log_size
        regions["exp"].append(Entry((name, ""), log, {"exp": (function_key(node.table), 0)}))
        checked = [("y", 8), ("g", 8), ("h", 1)] + softmax_limbs(node, self.limb_bits)
        for vector, width in checked:
            regions["range"].append(
                Entry((name, vector), log, {"range": (range_key(1 << width), 0)})
            )
        regions["other"].append(Entry((name, "z"), row_log))
        if node.kind is OpKind.SOFTMAX_CAUSAL:
            regions["other"].append(Entry((name, "m"), row_log))

    def row_layout(self, name: str) -> TensorLayout:
        """The layout of a SOFTMAX or LAYERNORM node's per-row vectors: its output's without
        the last axis."""
        return TensorLayout(self.layouts[name].dims[:-1])

    def vector_layout(self, node: str, vector: str) -> TensorLayout:
        kind = self.model.node(node).kind
        if vector in SOFTMAX_ROW_VECTORS and kind in SOFTMAXES:
            return self.row_layout(node)
        if vector.startswith("ln_") and kind in LAYERNORMS:
            return self.row_layout(node)
        return self.layouts[node]

    # --- derived views ------------------------------------------------------------------

    @cached_property
    def weights(self) -> WeightLayout:
        layout = weight_layout(self.model, self.pcs)
        if layout.log_size > MAX_WEIGHTS_LOG:
            raise UnsupportedCircuit(f"a weight table of 2^{layout.log_size} entries")
        return layout

    @cached_property
    def lookup_chunks(self) -> list[LookupChunk]:
        bases = {key: (block.base, block.id) for key, block in self.table.blocks.items()}
        return self.witness.lookup_chunks(bases)

    @cached_property
    def lookup_statement(self) -> LookupStatement:
        return LookupStatement(
            self.table.lookup_table(), len(self.lookup_chunks), self.witness.chunk_log
        )

    @property
    def lookup_runs(self) -> int:
        """Independent runs of the lookup argument. One run errs with probability about
        (rows·degree)/|F_ext|, which an audit's many rows, or a large model's (MiniLM's 2^25.6
        rows), would push past 2^-100; the runs draw fresh challenges against the same committed
        witness, so their errors multiply. Two runs for audits, and whenever one run's
        compression error alone would leave fewer than ``ONE_RUN_MIN_BITS``."""
        if self.audit_classes:
            return 2
        from provers.inference.soundness import one_run_compression_bits

        return 1 if one_run_compression_bits(self) >= ONE_RUN_MIN_BITS else 2

    def source(self, name: str) -> str:
        """The tensor that holds ``name``'s values: flattens are resolved to their input."""
        while name != "input" and self.model.node(name).kind is OpKind.RESHAPE:
            name = self.model.node(name).inputs[0]
        return name

    def relation_nodes(self) -> list[Node]:
        """Nodes with their own random point, in model order (flattens have none)."""
        return [node for node in self.model.nodes if node.kind is not OpKind.RESHAPE]

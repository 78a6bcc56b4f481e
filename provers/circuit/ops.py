"""Ops of the quantised model IR and their exact integer semantics.

Activations are int8 tensors (values in [−128, 127], held in int64 arrays), batch first: (N, F)
for features, (N, C, H, W) for images. Quantisation is symmetric (zero point 0), so zero
padding is the integer 0. Scales are public floats used only to turn integers back into real
numbers; no proof depends on them.

Requantisation (``Requant``) maps an integer accumulator of output channel c to int8 by two
rounding shifts around an integer multiplier:

    t = ⌊(acc + 2^(s1−1)) / 2^s1⌋          (t = acc when s1 = 0)
    u = ⌊(t·m_c + 2^(s2−1)) / 2^s2⌋        (u = t·m_c when s2 = 0)
    y = clamp(u, lo, 127),  lo = 0 with a fused ReLU, −128 otherwise

so y ≈ acc·m_c / 2^(s1+s2). The compiler picks s1 from the worst-case accumulator bound (over
every possible int8 input, not just calibration data) so that |t| < 2^15 always, and
1 ≤ m_c < 2^15, so |t·m_c| < 2^30 < p/2: every intermediate is an exact integer in the field.

Ops (``OpKind``): LINEAR, CONV2D, MAXPOOL2D, AVGPOOL2D, ADD, RELU, RESHAPE, MATMUL, MATMUL_T,
TABLE, SOFTMAX, SOFTMAX_CAUSAL, LAYERNORM, RMSNORM, EMBEDDING.
  LINEAR   acc[n, o] = Σ_i x[n, i]·W[o, i] + b[o];  y = requant(acc) per output o. On a
           sample of several axes (tokens, features) it acts on the last one:
           acc[n, …, o] = Σ_i x[n, …, i]·W[o, i] + b[o].
  CONV2D   acc[n, o, h, w] = Σ_{c,i,j} x_pad[n, c, h·sh + i, w·sw + j]·W[o, c, i, j] + b[o];
           dilation 1, groups 1; y = requant(acc) per output channel o.
  MAXPOOL2D  y = max over each window (zero padding is not allowed: windows lie inside).
  AVGPOOL2D  acc = Σ over each window (no padding); y = requant(acc) with one multiplier.
  ADD      acc = a·m_a + b·m_b (m_a, m_b < 2^15);  y = requant(acc) with one multiplier.
  RELU     y = max(x, 0).
  RESHAPE  y = x viewed with another shape (row-major), same values.
  MATMUL   a product of two activations, per sample a (…, M, K) and b (…, K, P) with the same
           leading axes: acc[…, m, p] = Σ_k a[…, m, k]·b[…, k, p]; y = requant(acc) with one
           multiplier.
  MATMUL_T the same with b given transposed, (…, P, K): acc[…, m, p] = Σ_k a[…, m, k]·b[…, p, k]
           (attention scores Q·Kᵀ). Both record K as ``kernel`` = (K, 1).
  TABLE    y = table[x + 128] elementwise: an int8 → int8 function given by its 256 values
           (GELU, SiLU, sigmoid, tanh quantised with the input's and the output's scales).
  SOFTMAX  over the last axis (T entries), with table E of 257 values (E[0] = 0 and
           E[1 + d] ≈ 2^F·exp(−s_in·d) non-increasing): per row m = max_j x_j,
           e_j = E[1 + m − x_j], Z = Σ_j e_j, y_j = ⌊(254·e_j + Z) / (2·Z)⌋ = round(127·e_j/Z);
           the output's scale is 1/127. 512·T·E[1] < p/2 keeps every step exact in the field.
  SOFTMAX_CAUSAL  the same on (…, T, T) samples where row i keeps only the entries j ≤ i (a
           decoder's attention); the others count as absent and their outputs are 0.
  LAYERNORM  over the last axis (D entries), with ``table`` = (a, b, K, E, B_0, …, B_{D−1}):
           per row S = Σ_j x_j, μ = ⌊(2^(a+1)·S + D) / (2D)⌋ ≈ 2^a·mean, c_j = 2^a·x_j − μ,
           V = Σ_j c_j², Q = ⌊(V + E) / 2^b⌋ + 1, R = ⌊√(2^(2K) / Q)⌋, acc_j = c_j·R + B_j and
           y = requant(acc) per channel j. acc·√(D / 2^(2K+b)) is the normalised value, E the
           ε in units of V; the circuit's bounds (provers/circuit/model.py) keep every step exact.
           The table may go on with one sign σ_j ∈ {−1, 0, 1} per channel (then some σ_j ≠ 1):
           acc_j = σ_j·c_j·R + B_j, so a negative γ_j keeps a positive multiplier and a γ_j = 0
           channel outputs requant(B_j), its quantised β_j. Without signs every σ_j = 1.
  RMSNORM  LAYERNORM without the mean: μ = 0, c_j = 2^a·x_j, the same table and the same steps.
  EMBEDDING  y[…, d] = W[id_…, d]: the rows of an int8 table W (V, D) selected by token ids
           0 ≤ id < V, no requantisation (the output's scale is the table's). The ids are the
           model's input (then an id tensor of the input's shape, not int8 values) or, with a
           non-empty ``table``, constant ids fixed by the circuit (``table`` holds them
           row-major; a position embedding), the same for every sample of the batch, the input
           then named only for the batch size; the output's shape is the ids' shape followed
           by D. A model whose input feeds a token EMBEDDING takes ids, and only EMBEDDINGs may
           read that input.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

INT8_MIN, INT8_MAX = -128, 127
T_BITS = 15
"""|t| < 2^T_BITS after the first shift."""
MULTIPLIER_BITS = 15
"""1 ≤ m_c < 2^MULTIPLIER_BITS."""
MAX_SHIFT1 = 14
"""Largest first shift: with |t| < 2^15 and 0 ≤ r1 < 2^14, the identity acc + 2^(s1−1) =
t·2^s1 + r1 has one solution among field elements of that range (the prover checks it)."""
MAX_SHIFT2 = 29
"""Largest second shift: t·m_c + 2^(s2−1) stays a unique rounding below the field's size."""


class OpKind(enum.Enum):
    LINEAR = "linear"
    CONV2D = "conv2d"
    MAXPOOL2D = "maxpool2d"
    AVGPOOL2D = "avgpool2d"
    ADD = "add"
    RELU = "relu"
    RESHAPE = "reshape"
    MATMUL = "matmul"
    MATMUL_T = "matmul_t"
    TABLE = "table"
    SOFTMAX = "softmax"
    SOFTMAX_CAUSAL = "softmax_causal"
    LAYERNORM = "layernorm"
    RMSNORM = "rmsnorm"
    EMBEDDING = "embedding"


ACTIVATION_PRODUCTS = (OpKind.MATMUL, OpKind.MATMUL_T)
"""Products of two activation tensors (no weights)."""
TABLE_ROWS = 256
"""A TABLE op's entries: one per int8 input."""
SOFTMAXES = (OpKind.SOFTMAX, OpKind.SOFTMAX_CAUSAL)
SOFTMAX_ROWS = 257
"""A SOFTMAX op's exponential table: E[0] = 0 for padded entries, then one per m − x."""
SOFTMAX_SCALE = 1.0 / 127
"""The real value of one unit of a SOFTMAX output."""
LAYERNORMS = (OpKind.LAYERNORM, OpKind.RMSNORM)
"""Normalisations over the last axis sharing one table layout and one relation."""
LAYERNORM_CONSTANTS = 4
"""A LAYERNORM op's table opens with (a, b, K, E); its per-channel offsets B_j follow."""
LAYERNORM_V_LIMIT = 1 << 29
"""D·2^(2a+16) + E stays below this: V and V + E are exact field integers."""
LAYERNORM_Q_BITS = 14
"""Q < 2^14 for every input."""
LAYERNORM_MAX_B = 15
"""b ≤ 15 keeps 2^b·(Q − 1) + r_b below 2^29."""
LAYERNORM_MAX_K = 10
"""K ≤ 10: with R < 2^(K+1) and R·Q < 2^(K+7) the product R·(R·Q) stays below 2^28, so the
proof's square-root inequalities never wrap around p (provers/inference/rel_layernorm.py)."""
LAYERNORM_MAX_OFFSET = 1 << 24
"""|B_j| ≤ 2^24."""


@dataclass(frozen=True)
class Requant:
    """Rounding shift s1, per-channel multipliers m_c, rounding shift s2, optional ReLU."""

    shift1: int
    multipliers: tuple[int, ...]
    shift2: int
    relu: bool

    @property
    def lower(self) -> int:
        return 0 if self.relu else INT8_MIN


@dataclass(frozen=True)
class Node:
    """One op. ``inputs`` name earlier nodes' outputs (or the model input, "input")."""

    name: str
    kind: OpKind
    inputs: tuple[str, ...]
    output_shape: tuple[int, ...]
    """Shape of one sample's output (no batch dimension)."""
    scale: float
    """Real value of one output unit (dequantisation only)."""
    weight: np.ndarray | None = None
    """int8 values: (out, in) for LINEAR, (out, in, kh, kw) for CONV2D."""
    bias: np.ndarray | None = None
    """int32 values, one per output channel (already in the accumulator's scale)."""
    requant: Requant | None = None
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    kernel: tuple[int, int] = (1, 1)
    add_multipliers: tuple[int, int] = (1, 1)
    table: tuple[int, ...] = ()
    """TABLE: the 256 int8 outputs for the inputs −128 … 127; SOFTMAX: its exponential table;
    LAYERNORM and RMSNORM: (a, b, K, E, B_0, …, B_{D−1}[, σ_0, …, σ_{D−1}]); EMBEDDING: its
    constant ids, or empty when the ids are the model's input; empty for every other kind."""
    source: str = ""
    """Where the op came from (the torch node and source line), for messages."""
    weight_shape: tuple[int, ...] = ()
    """Shape of ``weight`` in a circuit read without its weights (``weight`` is None); () when
    ``weight`` is present, whose own shape then counts."""
    bias_shape: tuple[int, ...] = ()
    """Shape of ``bias`` in a circuit read without its weights, as ``weight_shape``."""

    @property
    def channel_axis(self) -> int:
        """The axis of the batched output (batch first) whose entries have their own
        requantisation multiplier: the last for a LINEAR or a LAYERNORM, the channel axis 1
        otherwise."""
        last = self.kind in (OpKind.LINEAR, *LAYERNORMS, OpKind.EMBEDDING)
        return len(self.output_shape) if last else 1

    @property
    def layernorm_constants(self) -> tuple[int, int, int, int]:
        """(a, b, K, E) of a LAYERNORM or RMSNORM (ops.py's semantics)."""
        a, b, k, e = self.table[:LAYERNORM_CONSTANTS]
        return a, b, k, e

    @property
    def layernorm_offsets(self) -> tuple[int, ...]:
        """The per-channel offsets B_j of a LAYERNORM or RMSNORM, in accumulator units."""
        entries = self.output_shape[-1]
        return self.table[LAYERNORM_CONSTANTS : LAYERNORM_CONSTANTS + entries]

    @property
    def layernorm_signs(self) -> tuple[int, ...]:
        """σ_j of a LAYERNORM or RMSNORM: the stated signs, or all 1 when none are stated."""
        entries = self.output_shape[-1]
        stated = self.table[LAYERNORM_CONSTANTS + entries :]
        return stated if stated else (1,) * entries

    @property
    def constant_ids(self) -> bool:
        """An EMBEDDING whose ids the circuit fixes (a position embedding)."""
        return self.kind is OpKind.EMBEDDING and bool(self.table)

    @property
    def vocabulary(self) -> int:
        """V, the rows of an EMBEDDING's table."""
        return int(self.weight_dims[0])

    @property
    def inner_dim(self) -> int:
        """K, the summed axis of a MATMUL or MATMUL_T, recorded as ``kernel`` = (K, 1) so that
        the worst-case accumulator bound is a function of the node alone."""
        return self.kernel[0]

    @property
    def weight_dims(self) -> tuple[int, ...]:
        """The weight's shape, whether the weights are present or only recorded."""
        return tuple(self.weight.shape) if self.weight is not None else self.weight_shape

    @property
    def bias_dims(self) -> tuple[int, ...]:
        """The bias's shape, whether the bias is present or only recorded."""
        return tuple(self.bias.shape) if self.bias is not None else self.bias_shape

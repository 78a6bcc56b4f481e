"""The accuracy audit's checks in the private mode: predictions, labels and counts as groups of
the batched masked sumcheck (provers/private/relations.py), over the batch axis.

The vectors are the public audit's (provers/audit/argmax.py: index_c, h_c, y_c per class and
the per-sample maximum m), committed in W2; the inputs and labels are a data table D committed
by the proof (hiding, doubled) whose commitment the dataset digest names. Groups, each with its
public total:

    (A_c)  index_c − 256·h_c − 257·y_c − m + z_c + Σ_{c'>c} h_{c'} = 0     at the point ``argmax``
    (H)    Σ_c h_c = valid        (S)  Σ_c y_c = valid                     at ``argmax``
    (L)    Σ_c c·y_c − ℓ = 0      (ℓ the labels in D)                      at ``argmax``
    (X)    x − D_inputs = 0       (the committed input slot is the test set) at ``input``
    (T_c)  Σ_i y_c(i) = T_c       (through eq at the half point, scaled)
    (K_c)  Σ_i h_c(i)·y_c(i) = K_c                                        (a product term)

z_c is column c of the last layer's output, read along the batch axis. With the lookup putting
every (index_c, h_c, y_c) in the argmax table block, these are the public audit's identities
(the argument is in provers/audit/argmax.py); T and K are the statement's counts.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from provers.audit.argmax import half_point
from provers.encoding import Writer
from provers.field import base, ext
from provers.inference.plan import ARGMAX_NODE, class_vector
from provers.private.plan import INPUT, PrivatePlan

DATA = "@data"
INPUTS = (DATA, "inputs")
LABELS = (DATA, "labels")
Key = tuple[str, str]


def column_key(node: str, column: int) -> Key:
    """Column ``column`` of a (batch, channels) vector, read along the batch axis."""
    return (node, f"y#{column}")


def split_column(key: Key) -> tuple[Key, int] | None:
    node, name = key
    if "#" not in name:
        return None
    vector, column = name.split("#")
    return (node, vector), int(column)


@dataclass(frozen=True)
class ProductTerm:
    """Σ_{x_0,x} (1 − x_0)·A(x_0, x)·B(x_0, x) = Σ_x a(x)·b(x)."""

    a: Key
    b: Key
    group: int
    log_size: int

    @property
    def num_vars(self) -> int:
        return 1 + self.log_size

    @property
    def degree(self) -> int:
        return 3


def audit_groups(plan: PrivatePlan) -> int:
    """(A_c) per class, H, S, L, X, then T_c and K_c per class."""
    return plan.classes + 4 + 2 * plan.classes


def audit_terms(plan: PrivatePlan, first: int, linear: type) -> list[object]:
    """The audit's terms, groups numbered from ``first``; ``linear`` builds a LinearTerm
    (relations.py) from (group, anchor, {key: coefficient}, log size)."""
    out: list[object] = []
    last = plan.output_layer().node
    batch_log = plan.batch_layout.log_size
    classes = plan.classes
    for c in range(classes):
        name = class_vector(c)
        coefficients = {
            (name, "index"): 1,
            (name, "h"): -256,
            (name, "y"): -257,
            (ARGMAX_NODE, "m"): -1,
            column_key(last, c): 1,
        }
        for later in range(c + 1, classes):
            coefficients[(class_vector(later), "h")] = 1
        out.append(linear(first + c, "argmax", coefficients, batch_log))
    group = first + classes
    hs = {(class_vector(c), "h"): 1 for c in range(classes)}
    ys = {(class_vector(c), "y"): 1 for c in range(classes)}
    labels = {(class_vector(c), "y"): c for c in range(1, classes)} | {LABELS: -1}
    out.append(linear(group, "argmax", hs, batch_log))
    out.append(linear(group + 1, "argmax", ys, batch_log))
    out.append(linear(group + 2, "argmax", labels, batch_log))
    inputs = {(INPUT, "x"): 1, INPUTS: -1}
    out.append(linear(group + 3, "input", inputs, plan.input_layout.log_size))
    group += 4
    for c in range(classes):
        out.append(linear(group + c, "half", {(class_vector(c), "y"): 1}, batch_log))
    group += classes
    for c in range(classes):
        name = class_vector(c)
        out.append(ProductTerm((name, "h"), (name, "y"), group + c, batch_log))
    return out


def audit_totals(
    plan: PrivatePlan, points: dict[str, np.ndarray], totals: np.ndarray, hits: np.ndarray
) -> np.ndarray:
    """The audit groups' public totals (4, groups), in :func:`audit_groups`' order."""
    classes = plan.classes
    out = np.zeros((ext.DEGREE, audit_groups(plan)), dtype=np.int64)
    valid = plan.batch_layout.validity(points["argmax"])
    out[:, classes] = valid
    out[:, classes + 1] = valid
    scale = pow(pow(2, plan.batch_layout.log_size, base.P), base.P - 2, base.P)
    for c in range(classes):
        out[0, classes + 4 + c] = int(totals[c]) * scale % base.P
        out[0, 2 * classes + 4 + c] = int(hits[c]) % base.P
    return out


DATASET_DOMAIN = b"veriml/private-dataset/v1"


def dataset_digest(model_digest: bytes, commitment: object, n: int, classes: int) -> bytes:
    """What an audit statement names: the model, the hiding commitment to the test set (inputs
    and labels, in order), n and the number of classes."""
    writer = Writer()
    writer.raw(DATASET_DOMAIN)
    writer.raw(model_digest)
    commitment.write_to(writer)  # type: ignore[attr-defined]
    writer.u32(n)
    writer.u32(classes)
    return hashlib.sha256(writer.getvalue()).digest()


def audit_points(plan: PrivatePlan, transcript: object) -> dict[str, np.ndarray]:
    """``argmax`` and ``input`` drawn; ``half`` the public half point."""
    batch_log = plan.batch_layout.log_size
    return {
        "argmax": transcript.challenge_exts("point/argmax", batch_log),  # type: ignore[attr-defined]
        "input": transcript.challenge_exts(  # type: ignore[attr-defined]
            "point/input", plan.input_layout.log_size
        ),
        "half": half_point(batch_log),
    }

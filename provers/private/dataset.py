"""A test set committed for one private accuracy audit, before the audit is proved.

The data table D holds the quantised inputs (the model's padded input layout, every sample),
then the labels; the commitment is the hiding PCS commitment to (D ‖ D′), D′ uniform, opened
once, at one point, by the audit proof. Its digest (provers/private/argmax.py
``dataset_digest``: the model, the commitment, n, the classes) is what a test-set owner
publishes before the audit, and what the audit's statement must name.

The prover keeps, in a ``.vdc`` file (magic "VPDC", u16 version, then blobs): the model digest,
n, the classes, the commitment, D and D′ (u32 each), the PCS coefficient matrix (the rows with
their random coefficients and the masking rows, u32) and the column salts; loading it
re-encodes the rows and rebuilds the tree, and checks the root. It holds the test set and the
randomness that hides it: keep it as private as the data. One commitment serves one audit: a
second opening would reveal more of D′ and of the masks, so the prover refuses to open it again
within a process, and a second proof from the same file must not be made.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from provers.commit import pcs
from provers.commit.pcs import Commitment, PCSParams
from provers.commit.pcs.params import SALT_BYTES
from provers.commit.pcs.prover import assemble, encode_rows, random_elements
from provers.encoding import Reader, Writer
from provers.errors import ProverError
from provers.field import base
from provers.private.argmax import dataset_digest
from provers.private.plan import PrivatePlan

MAGIC = b"VPDC"
VERSION = 1
MAX_BLOB = 1 << 31


@dataclass(eq=False)
class PrivateDataset:
    model_digest: bytes
    n: int
    classes: int
    real: np.ndarray
    """D (canonical): inputs then labels."""
    noise: np.ndarray
    """D′."""
    commitment: Commitment
    prover_data: pcs.ProverData

    @property
    def digest(self) -> bytes:
        return dataset_digest(self.model_digest, self.commitment, self.n, self.classes)

    def inputs(self, plan: PrivatePlan) -> np.ndarray:
        layout = plan.input_layout
        signed = base.to_signed(self.real[: 1 << layout.log_size])
        return np.asarray(layout.extract(signed), dtype=np.int64)

    def labels(self, plan: PrivatePlan) -> np.ndarray:
        return np.asarray(self.real[plan.label_offset : plan.label_offset + self.n], np.int64)

    def to_bytes(self) -> bytes:
        w = Writer()
        w.raw(MAGIC)
        w.raw(struct.pack("<H", VERSION))
        w.raw(self.model_digest)
        w.u32(self.n)
        w.u32(self.classes)
        w.blob(self.commitment.to_bytes())
        for array in (self.real, self.noise):
            w.blob(np.asarray(array, dtype="<u4").tobytes())
        coefficients = self.prover_data.coefficients
        w.u32(coefficients.shape[0])
        w.u32(coefficients.shape[1])
        w.blob(np.asarray(coefficients, dtype="<u4").tobytes())
        w.blob(b"".join(self.prover_data.salts))
        return w.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, plan: PrivatePlan, model_digest: bytes) -> PrivateDataset:
        """Read a ``.vdc`` for ``plan``'s model and batch; ProverError when it is not one."""
        try:
            r = Reader(data)
            if r.raw(len(MAGIC), "magic") != MAGIC:
                raise ProverError("not a private test-set commitment (.vdc)")
            if struct.unpack("<H", r.raw(2, "version"))[0] != VERSION:
                raise ProverError("a private test-set commitment of another version")
            digest = r.raw(32, "model digest")
            n, classes = r.u32("samples"), r.u32("classes")
            commitment = Commitment.from_bytes(r.blob("commitment", 1 << 16))
            size = 1 << plan.data_log
            real = np.frombuffer(r.blob("data", 4 * size), dtype="<u4").astype(np.int64)
            noise = np.frombuffer(r.blob("noise", 4 * size), dtype="<u4").astype(np.int64)
            rows, width = r.u32("rows"), r.u32("row length")
            coefficients = np.frombuffer(r.blob("coefficients", MAX_BLOB), dtype="<u4")
            salts_bytes = r.blob("salts", MAX_BLOB)
            r.finish("private test-set commitment")
        except ValueError as error:
            raise ProverError(f"the test-set commitment is unreadable: {error}") from None
        if digest != model_digest or n != plan.batch or classes != plan.classes:
            raise ProverError("the test-set commitment was made for another model or set")
        if real.shape != (size,) or noise.shape != (size,) or coefficients.size != rows * width:
            raise ProverError("the test-set commitment is truncated")
        matrix = coefficients.astype(np.int64).reshape(rows, width)
        salts = tuple(
            salts_bytes[i : i + SALT_BYTES] for i in range(0, len(salts_bytes), SALT_BYTES)
        )
        rebuilt, prover_data = assemble(
            commitment, matrix, encode_rows(matrix, commitment.codeword_len), None, salts
        )
        if rebuilt.root != commitment.root:
            raise ProverError("the test-set commitment does not match its data")
        return cls(model_digest, n, classes, real, noise, commitment, prover_data)


def samples_of(data: bytes) -> int:
    """n from a ``.vdc``'s header (to build the plan it is read with); ProverError when the
    bytes are not one."""
    if len(data) < len(MAGIC) + 2 + 32 + 4 or data[: len(MAGIC)] != MAGIC:
        raise ProverError("not a private test-set commitment (.vdc)")
    start = len(MAGIC) + 2 + 32
    return int(struct.unpack("<I", data[start : start + 4])[0])


def commit_private_dataset(
    plan: PrivatePlan,
    model_digest: bytes,
    inputs: np.ndarray,
    labels: np.ndarray,
    params: PCSParams,
    rng: np.random.Generator | None = None,
) -> PrivateDataset:
    """Commit a quantised test set (inputs (n, *input_shape) int8, labels (n,)) for ``plan``
    (an audit plan: batch n, its classes)."""
    labels = np.asarray(labels)
    if labels.shape != (plan.batch,) or labels.dtype.kind not in "iu":
        raise ProverError(f"labels of shape {labels.shape}, expected ({plan.batch},) integers")
    if labels.size and (labels.min() < 0 or labels.max() >= plan.classes):
        raise ProverError(f"labels outside [0, {plan.classes})")
    real = np.zeros(1 << plan.data_log, dtype=np.int64)
    layout = plan.input_layout
    real[: 1 << layout.log_size] = layout.embed(inputs)
    real[plan.label_offset : plan.label_offset + plan.batch] = labels
    real %= base.P
    noise = random_elements((1, real.shape[0]), rng)[0]
    commitment, prover_data = pcs.commit(
        np.concatenate([real, noise]), params, hiding=True, rng=rng
    )
    return PrivateDataset(
        model_digest, plan.batch, plan.classes, real, noise, commitment, prover_data
    )

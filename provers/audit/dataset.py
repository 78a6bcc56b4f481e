"""A committed test set: quantised inputs and labels cut into chunks, each chunk's data table
committed once, and the dataset digest that names them all.

Chunk j holds samples [j·S, min(n, (j+1)·S)) for the chunk size S (a power of two). Its data
table D_j has 2^(L+1) entries, L the log size of the input layout of that chunk
(provers/inference/layout.py: batch axis first, every axis padded to a power of two): the input
table at offset 0, the label vector (one class index in [0, C) per sample, 0 at padded
positions) at offset 2^L, zeros elsewhere. D_j is committed with the tensor-code PCS under the
proof parameters' PCS settings.

    dataset digest = SHA-256("veriml/dataset/v1" ‖ model digest ‖ u32 n ‖ u32 C ‖ u32 S
                             ‖ each chunk commitment, in order)

so it covers every input, every label and their order (a chunk commitment binds its table).
It names the model because the inputs are quantised with that model's input quantisation.

The ``.vdc`` file keeps what the prover needs again (magic "VMDS", u16 version, then the
fields of :meth:`DatasetCommitment.to_bytes`); its commitments are recomputed and compared on
load, so a damaged or edited file is refused rather than proved against.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from provers.circuit.model import QuantisedModel
from provers.commit import pcs
from provers.commit.pcs import Commitment, PCSParams
from provers.commit.pcs.prover import ProverData
from provers.encoding import DIGEST_BYTES, Reader, Writer
from provers.errors import ProverError, VerificationError
from provers.field import base
from provers.inference.layout import Dim, TensorLayout, UnsupportedCircuit, log2_ceil
from provers.inference.plan import ProofPlan

ESTIMATE_LIMB_BITS = 12
"""The range-limb width the chunk estimate plans with (the prover's own choice varies the
witness by a few percent)."""

DOMAIN = b"veriml/dataset/v1"
MAGIC = b"VMDS"
VERSION = 1
MAX_SAMPLES = 1 << 24
MAX_CLASSES = 1 << 12
MAX_CHUNK_SAMPLES = 1 << 16
MAX_INPUT_BYTES = 1 << 30


class DatasetError(ProverError):
    """A test set or a committed-test-set file that cannot be used; the message says why."""


def input_layout(model: QuantisedModel, samples: int) -> TensorLayout:
    return TensorLayout((Dim.of(samples), *(Dim.of(d) for d in model.input_shape)))


def data_log(model: QuantisedModel, samples: int) -> int:
    """log2 of a chunk's data table: the input table, then as much again for the labels."""
    return input_layout(model, samples).log_size + 1


def data_table(model: QuantisedModel, inputs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """D_j for one chunk (signed int64; inputs (s, *input_shape) int8 values, labels (s,))."""
    layout = input_layout(model, inputs.shape[0])
    table = np.zeros(1 << (layout.log_size + 1), dtype=np.int64)
    table[: 1 << layout.log_size] = layout.embed(inputs)
    start = 1 << layout.log_size
    table[start : start + labels.shape[0]] = labels
    return table


def label_offset(model: QuantisedModel, samples: int) -> int:
    return 1 << input_layout(model, samples).log_size


def dataset_digest(
    model_digest: bytes, n: int, classes: int, chunk_samples: int, commitments: list[Commitment]
) -> bytes:
    writer = Writer()
    writer.raw(DOMAIN)
    writer.raw(model_digest)
    for value in (n, classes, chunk_samples):
        writer.u32(value)
    for commitment in commitments:
        commitment.write_to(writer)
    return hashlib.sha256(writer.getvalue()).digest()


def chunk_bounds(n: int, chunk_samples: int) -> list[tuple[int, int]]:
    return [(start, min(n, start + chunk_samples)) for start in range(0, n, chunk_samples)]


def check_chunk_samples(chunk_samples: int) -> None:
    if not 1 <= chunk_samples <= MAX_CHUNK_SAMPLES or chunk_samples & (chunk_samples - 1):
        raise DatasetError(
            f"the chunk size must be a power of two from 1 to {MAX_CHUNK_SAMPLES}, "
            f"not {chunk_samples}"
        )


@dataclass(eq=False)
class DatasetCommitment:
    model_digest: bytes
    model: QuantisedModel = field(repr=False)
    inputs: np.ndarray = field(repr=False)
    """(n, *input_shape) int8 values (int64)."""
    labels: np.ndarray = field(repr=False)
    """(n,) class indices in [0, classes)."""
    classes: int
    chunk_samples: int
    params: PCSParams
    commitments: list[Commitment]
    _prover_data: dict[int, ProverData] = field(default_factory=dict, repr=False)

    @property
    def n(self) -> int:
        return int(self.labels.shape[0])

    @property
    def digest(self) -> bytes:
        return dataset_digest(
            self.model_digest, self.n, self.classes, self.chunk_samples, self.commitments
        )

    def chunks(self) -> list[tuple[int, int]]:
        return chunk_bounds(self.n, self.chunk_samples)

    def chunk(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        start, stop = self.chunks()[index]
        return self.inputs[start:stop], self.labels[start:stop]

    def table(self, index: int) -> np.ndarray:
        return data_table(self.model, *self.chunk(index))

    def prover_data(self, index: int, table: np.ndarray) -> ProverData:
        """The chunk's PCS prover data (re-committed on first use, and checked)."""
        if index not in self._prover_data:
            commitment, data = _commit(table, self.params)
            if commitment.to_bytes() != self.commitments[index].to_bytes():
                raise DatasetError(f"chunk {index} does not match its commitment")
            self._prover_data = {index: data}
        return self._prover_data[index]

    def to_bytes(self) -> bytes:
        writer = Writer()
        writer.raw(MAGIC)
        writer.raw(VERSION.to_bytes(2, "little"))
        writer.raw(self.model_digest)
        for value in (self.n, self.classes, self.chunk_samples):
            writer.u32(value)
        writer.blob(np.asarray(self.inputs, dtype=np.int64).astype(np.int8).tobytes())
        writer.blob(np.asarray(self.labels, dtype="<u2").tobytes())
        writer.u32(len(self.commitments))
        for commitment in self.commitments:
            commitment.write_to(writer)
        return writer.getvalue()

    @classmethod
    def from_bytes(
        cls, data: bytes, model: QuantisedModel, model_digest: bytes
    ) -> DatasetCommitment:
        """Load a ``.vdc`` file made for ``model``; DatasetError when it is not one or was made
        for another model. Each chunk is re-committed and compared when it is proved
        (:meth:`prover_data`), so contents that do not match their commitments are refused."""
        try:
            dataset = _read(data, model)
        except VerificationError as error:
            raise DatasetError(f"not a committed test set: {error.detail}") from None
        if dataset.model_digest != model_digest:
            raise DatasetError("the committed test set was made for another model")
        return dataset


def _read(data: bytes, model: QuantisedModel) -> DatasetCommitment:
    reader = Reader(data)
    if reader.raw(4, "magic") != MAGIC or reader.raw(2, "version") != VERSION.to_bytes(2, "little"):
        raise DatasetError("not a VeriML committed test set (.vdc)")
    digest = reader.raw(DIGEST_BYTES, "model digest")
    n = reader.bounded_u32("samples", 1, MAX_SAMPLES)
    classes = reader.bounded_u32("classes", 2, MAX_CLASSES)
    chunk_samples = reader.bounded_u32("chunk size", 1, MAX_CHUNK_SAMPLES)
    check_chunk_samples(chunk_samples)
    features = int(np.prod(model.input_shape))
    input_bytes = reader.blob("inputs", MAX_INPUT_BYTES)
    label_bytes = reader.blob("labels", 2 * MAX_SAMPLES)
    if len(input_bytes) != n * features or len(label_bytes) != 2 * n:
        raise DatasetError("the committed test set's sizes do not agree")
    inputs = np.frombuffer(input_bytes, dtype=np.int8).astype(np.int64)
    labels = np.frombuffer(label_bytes, dtype="<u2").astype(np.int64)
    chunks = len(chunk_bounds(n, chunk_samples))
    reader.bounded_u32("chunk count", chunks, chunks)
    commitments = [Commitment.read_from(reader) for _ in range(chunks)]
    reader.finish("committed test set")
    if labels.max(initial=0) >= classes:
        raise DatasetError("a label lies outside the model's classes")
    return DatasetCommitment(
        digest,
        model,
        inputs.reshape(n, *model.input_shape),
        labels,
        classes,
        chunk_samples,
        commitments[0].params,
        commitments,
    )


def _commit(table: np.ndarray, params: PCSParams) -> tuple[Commitment, ProverData]:
    return pcs.commit(table % base.P, params)


WITNESS_BUDGET_LOG = 25
"""The largest witness a default chunk may need: 2^25 entries keep an audit prover below about
4 GB (the MLP 784-256-128-10 at 4,096 samples per chunk peaks at 3.7 GB)."""


def _witness_log(model: QuantisedModel, samples: int) -> int:
    """The witness size (log) of a chunk of ``samples``, or a value above any budget when the
    chunk is outside what one proof supports."""
    classes = int(model.output_shape()[-1])
    try:
        plan = ProofPlan(model, samples, ESTIMATE_LIMB_BITS, PCSParams.default(), classes)
    except UnsupportedCircuit:
        return WITNESS_BUDGET_LOG + 1
    return plan.witness.log_size


def default_chunk_samples(model: QuantisedModel, n: int, budget_log: int = 22) -> int:
    """The largest power of two of samples (at most n rounded up) whose input table stays
    within 2^budget_log entries and whose witness within 2^WITNESS_BUDGET_LOG: one chunk when
    the whole set is small. A convolutional network's witness per sample is many times its
    input, so it gets smaller chunks than an MLP of the same input size."""
    features_log = input_layout(model, 1).log_size
    chunk_log = max(0, min(log2_ceil(n), budget_log - features_log, 16))
    while chunk_log > 0 and _witness_log(model, 1 << chunk_log) > WITNESS_BUDGET_LOG:
        chunk_log -= 1
    return 1 << chunk_log


def commit_dataset(
    model: QuantisedModel,
    model_digest: bytes,
    inputs: np.ndarray,
    labels: np.ndarray,
    classes: int,
    chunk_samples: int,
    params: PCSParams,
) -> DatasetCommitment:
    """Commit quantised ``inputs`` (n, *input_shape) and ``labels`` (n,) chunk by chunk."""
    check_chunk_samples(chunk_samples)
    inputs = np.asarray(inputs, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int64)
    n = labels.shape[0]
    if not 1 <= n <= MAX_SAMPLES or inputs.shape != (n, *model.input_shape):
        raise DatasetError(
            f"{n} labels for inputs of shape {list(inputs.shape)}; the model takes "
            f"{list(model.input_shape)} per sample (at most {MAX_SAMPLES} samples)"
        )
    if not 2 <= classes <= MAX_CLASSES:
        raise DatasetError(f"{classes} classes; an audit needs 2 to {MAX_CLASSES}")
    outside = np.flatnonzero((labels < 0) | (labels >= classes))
    if outside.size:
        first = int(outside[0])
        raise DatasetError(
            f"label {int(labels[first])} of sample {first} is outside the model's "
            f"{classes} classes (0 to {classes - 1})"
        )
    commitments = []
    for start, stop in chunk_bounds(n, chunk_samples):
        table = data_table(model, inputs[start:stop], labels[start:stop])
        commitments.append(_commit(table, params)[0])
    return DatasetCommitment(
        model_digest, model, inputs, labels, classes, chunk_samples, params, commitments
    )

"""Read untrusted tensor files: model inputs, calibration sets and test sets.

Accepted formats, each read without running code from the file:

- ``.pt``: ``torch.load(weights_only=True)`` only (PyTorch's restricted unpickler), after the
  zip structure has been checked for bombs; a bare tensor or a dict of named tensors;
- ``.npz`` / ``.npy``: ``numpy.load(allow_pickle=False)``, after the zip structure and every
  array header (dtype, shape) have been checked, so nothing large is allocated first;
- ``.safetensors``: its JSON header is checked (dtypes, shapes), then the safetensors reader
  parses it;
- ``.csv``: a header row, numeric features and, for a labelled table, an integer label column.

Bounds: a file of at most :data:`MAX_FILE_BYTES`, at most :data:`MAX_ELEMENTS` elements in all,
dtypes from an allowlist (booleans, integers, floats). A caller with a tighter budget (a
service that accepts uploads) passes ``max_unpacked_bytes``, which bounds both the file and
what its archive unpacks to. Every problem raises :class:`TensorFileError` with a message fit
for the person who uploaded the file.

``load_inputs`` gives the float inputs (a bare tensor, or the ``inputs`` tensor);
``load_dataset`` gives ``inputs`` and non-negative integer ``labels``, at least one sample.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import os
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np

from provers.compiler.archive import ArchiveError, ArchiveLimits, inspect_archive, is_zip

MAX_FILE_BYTES = 1 << 30
MAX_ELEMENTS = 1 << 28
MAX_CSV_COLUMNS = 1 << 16
_ARCHIVE_LIMITS = ArchiveLimits(
    max_entries=10_000, max_entry_bytes=1 << 31, max_total_bytes=1 << 31, max_ratio=200
)
"""Compressed .npz files of real data stay far below a 200:1 ratio; zeros reach 1000:1."""
_NUMPY_KINDS = frozenset("biuf")
"""Boolean, signed and unsigned integer, floating point."""
_SAFETENSORS_DTYPES = {
    "BOOL": 1,
    "U8": 1,
    "I8": 1,
    "I16": 2,
    "U16": 2,
    "I32": 4,
    "U32": 4,
    "I64": 8,
    "U64": 8,
    "F16": 2,
    "F32": 4,
    "F64": 8,
}
_NPY_HEADER_LIMIT = 1 << 16


class TensorFileError(ValueError):
    """A tensor file cannot be used; the message says why."""


def load_inputs(path: str | os.PathLike[str]) -> np.ndarray:
    """The float32 inputs in a file: its one tensor, or its ``inputs`` tensor (for a CSV, every
    column but a ``label`` column)."""
    file = Path(path)
    if file.suffix.lower() == ".csv":
        features, _ = _read_csv(file, "label", labels_required=False)
        return features
    tensors = load_tensors(file)
    if "inputs" in tensors:
        return _as_float(tensors["inputs"], "inputs")
    if len(tensors) == 1:
        name, value = next(iter(tensors.items()))
        return _as_float(value, name or "the tensor")
    raise TensorFileError(
        f"{file.name}: expected one tensor or an 'inputs' tensor, found {_keys(tensors)}"
    )


def load_dataset(
    path: str | os.PathLike[str], max_unpacked_bytes: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Float32 ``inputs`` (N, ...) and int64 ``labels`` (N,), N ≥ 1 and every label ≥ 0 (a
    CSV: its ``label`` column and the rest)."""
    file = Path(path)
    if file.suffix.lower() == ".csv":
        inputs, labels = load_table_csv(file, max_unpacked_bytes=max_unpacked_bytes)
        _check_dataset(inputs, labels)
        return inputs, labels
    tensors = load_tensors(file, max_unpacked_bytes)
    missing = [key for key in ("inputs", "labels") if key not in tensors]
    if missing:
        raise TensorFileError(
            f"{file.name}: a test set needs 'inputs' and 'labels' tensors; missing "
            f"{' and '.join(repr(key) for key in missing)} (found {_keys(tensors)})"
        )
    inputs = _as_float(tensors["inputs"], "inputs")
    labels = _as_labels(tensors["labels"])
    _check_dataset(inputs, labels)
    return inputs, labels


def _check_dataset(inputs: np.ndarray, labels: np.ndarray) -> None:
    if inputs.ndim < 2:
        raise TensorFileError(
            f"inputs need a sample dimension and features, not shape {list(inputs.shape)}"
        )
    if labels.shape[0] != inputs.shape[0]:
        raise TensorFileError(f"{labels.shape[0]} labels for {inputs.shape[0]} inputs")
    if labels.shape[0] == 0:
        raise TensorFileError("the test set has no samples")
    if labels.min() < 0:
        raise TensorFileError("labels must not be negative")


def load_table_csv(
    path: str | os.PathLike[str],
    label_column: str = "label",
    max_unpacked_bytes: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """A labelled table: float32 features (N, F) and int64 labels (N,)."""
    features, labels = _read_csv(
        Path(path), label_column, labels_required=True, max_bytes=max_unpacked_bytes
    )
    if labels is None:
        raise TensorFileError(f"no {label_column!r} column")
    return features, labels


def load_tensors(
    path: str | os.PathLike[str], max_unpacked_bytes: int | None = None
) -> dict[str, np.ndarray]:
    """Every tensor of a ``.pt``, ``.npz``, ``.npy`` or ``.safetensors`` file, by name (a bare
    tensor under the name ""); ``max_unpacked_bytes`` tightens the built-in size bounds."""
    file = Path(path)
    suffix = file.suffix.lower()
    limits = _archive_limits(max_unpacked_bytes)
    readers: dict[str, Callable[[bytes], dict[str, np.ndarray]]] = {
        ".pt": lambda data: _read_torch(data, limits),
        ".pth": lambda data: _read_torch(data, limits),
        ".npz": lambda data: _read_npz(data, limits),
        ".npy": _read_npy,
        ".safetensors": _read_safetensors,
    }
    if suffix not in readers:
        raise TensorFileError(f"{file.name}: use .pt, .npz, .npy, .safetensors or .csv")
    tensors = readers[suffix](_read_bounded(file, max_unpacked_bytes))
    _check_tensors(tensors)
    return tensors


def _archive_limits(max_unpacked_bytes: int | None) -> ArchiveLimits:
    if max_unpacked_bytes is None:
        return _ARCHIVE_LIMITS
    return dataclasses.replace(
        _ARCHIVE_LIMITS,
        max_entry_bytes=min(_ARCHIVE_LIMITS.max_entry_bytes, max_unpacked_bytes),
        max_total_bytes=min(_ARCHIVE_LIMITS.max_total_bytes, max_unpacked_bytes),
    )


def _read_bounded(path: Path, max_bytes: int | None = None) -> bytes:
    # A file that is not an archive unpacks to itself, so a caller's unpacked bound covers it.
    limit = MAX_FILE_BYTES if max_bytes is None else min(MAX_FILE_BYTES, max_bytes)
    try:
        if path.stat().st_size > limit:
            raise TensorFileError(f"{path.name} is larger than {limit} bytes")
        with path.open("rb") as file:
            data = file.read(limit + 1)
    except OSError as error:
        raise TensorFileError(f"cannot read {path.name}: {error.strerror or error}") from None
    if len(data) > limit:
        raise TensorFileError(f"{path.name} is larger than {limit} bytes")
    return data


def _check_archive(data: bytes, limits: ArchiveLimits) -> None:
    try:
        inspect_archive(data, limits)
    except ArchiveError as error:
        raise TensorFileError(str(error)) from None


def _read_torch(data: bytes, limits: ArchiveLimits) -> dict[str, np.ndarray]:
    import torch  # only .pt files need torch

    if is_zip(data):
        _check_archive(data, limits)
    try:
        loaded = torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
    except Exception as error:  # the restricted unpickler raises many types
        raise TensorFileError(f"not a loadable tensor file: {error}") from None
    items = {"": loaded} if isinstance(loaded, torch.Tensor) else loaded
    if not isinstance(items, dict) or not all(
        isinstance(key, str) and isinstance(value, torch.Tensor) for key, value in items.items()
    ):
        raise TensorFileError("a .pt file must hold a tensor or a dict of named tensors")
    arrays = {}
    for key, value in items.items():
        tensor = value.detach()
        if tensor.dtype == torch.bfloat16:
            tensor = tensor.to(torch.float32)
        try:
            arrays[key] = tensor.numpy()
        except (TypeError, RuntimeError) as error:
            raise TensorFileError(f"tensor {key!r}: unsupported ({error})") from None
    return arrays


def _read_npz(data: bytes, limits: ArchiveLimits) -> dict[str, np.ndarray]:
    import zipfile

    _check_archive(data, limits)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            with archive.open(name) as member:
                _check_npy_header(member.read(_NPY_HEADER_LIMIT), name)
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise TensorFileError(f"not a readable .npz file: {error}") from None


def _read_npy(data: bytes) -> dict[str, np.ndarray]:
    _check_npy_header(data[:_NPY_HEADER_LIMIT], "array")
    try:
        return {"": np.load(io.BytesIO(data), allow_pickle=False)}
    except (ValueError, OSError, EOFError) as error:
        raise TensorFileError(f"not a readable .npy file: {error}") from None


def _check_npy_header(prefix: bytes, name: str) -> None:
    """dtype and shape from a .npy header, checked before numpy allocates the array."""
    stream = io.BytesIO(prefix)
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
    except (ValueError, OSError, EOFError, SyntaxError) as error:
        raise TensorFileError(f"{name}: not a valid .npy array ({error})") from None
    _check_array_meta(name, np.dtype(dtype), tuple(shape))


def _read_safetensors(data: bytes) -> dict[str, np.ndarray]:
    if len(data) < 8:
        raise TensorFileError("truncated .safetensors file")
    header_length = struct.unpack("<Q", data[:8])[0]
    if header_length > min(len(data) - 8, 100 << 20):
        raise TensorFileError("a .safetensors header longer than the file")
    try:
        header = json.loads(data[8 : 8 + header_length])
    except (ValueError, RecursionError) as error:
        raise TensorFileError(f"a .safetensors header that is not JSON: {error}") from None
    if not isinstance(header, dict):
        raise TensorFileError("a .safetensors header must be a JSON object")
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        dtype = meta.get("dtype") if isinstance(meta, dict) else None
        shape = meta.get("shape") if isinstance(meta, dict) else None
        if dtype not in _SAFETENSORS_DTYPES:
            raise TensorFileError(f"tensor {name!r}: dtype {dtype!r} is not accepted")
        if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
            raise TensorFileError(f"tensor {name!r}: malformed shape")
        if math.prod(shape) > MAX_ELEMENTS:
            raise TensorFileError(f"tensor {name!r}: more than {MAX_ELEMENTS} elements")
    from safetensors import SafetensorError
    from safetensors.numpy import load

    try:
        return dict(load(data))
    except (SafetensorError, ValueError) as error:
        raise TensorFileError(f"not a readable .safetensors file: {error}") from None


def _check_array_meta(name: str, dtype: np.dtype, shape: tuple[int, ...]) -> None:
    if dtype.kind not in _NUMPY_KINDS or dtype.hasobject:
        raise TensorFileError(f"{name}: dtype {dtype} is not accepted (numbers or booleans only)")
    if math.prod(shape) > MAX_ELEMENTS:
        raise TensorFileError(f"{name}: more than {MAX_ELEMENTS} elements")


def _check_tensors(tensors: dict[str, np.ndarray]) -> None:
    if not tensors:
        raise TensorFileError("the file holds no tensors")
    total = 0
    for name, array in tensors.items():
        _check_array_meta(name or "the tensor", array.dtype, array.shape)
        total += array.size
        if total > MAX_ELEMENTS:
            raise TensorFileError(f"more than {MAX_ELEMENTS} elements in all")


def _as_float(array: np.ndarray, name: str) -> np.ndarray:
    values = np.asarray(array, dtype=np.float32)
    if not np.all(np.isfinite(values)):
        raise TensorFileError(f"{name}: holds NaN or infinite values (or overflows float32)")
    return values


def _as_labels(array: np.ndarray) -> np.ndarray:
    labels = np.asarray(array)
    if labels.ndim != 1:
        raise TensorFileError(f"labels must be one-dimensional, not of shape {labels.shape}")
    if labels.dtype.kind == "f":
        if not np.all(np.isfinite(labels)) or not np.all(labels == np.round(labels)):
            raise TensorFileError("labels must be whole numbers")
    elif labels.dtype.kind not in "iub":
        raise TensorFileError(f"labels of dtype {labels.dtype} are not accepted")
    return labels.astype(np.int64)


def _keys(tensors: dict[str, np.ndarray]) -> str:
    return ", ".join(repr(key) for key in tensors) or "none"


def _read_csv(
    path: Path, label_column: str, labels_required: bool, max_bytes: int | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    try:
        text = _read_bounded(path, max_bytes).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise TensorFileError(f"{path.name} is not UTF-8 text") from None
    rows = csv.reader(io.StringIO(text))
    header = next(rows, None)
    if not header or len(header) > MAX_CSV_COLUMNS:
        raise TensorFileError(
            f"{path.name}: needs a header row of at most {MAX_CSV_COLUMNS} columns"
        )
    names = [name.strip() for name in header]
    label_index = names.index(label_column) if label_column in names else None
    if label_index is None and labels_required:
        raise TensorFileError(f"{path.name}: no {label_column!r} column in {names}")
    features: list[list[float]] = []
    labels: list[int] = []
    for line, row in enumerate(rows, start=2):
        if not row:
            continue
        if len(row) != len(names):
            raise TensorFileError(
                f"{path.name} line {line}: {len(row)} fields, expected {len(names)}"
            )
        if (len(features) + 1) * len(names) > MAX_ELEMENTS:
            raise TensorFileError(f"{path.name}: more than {MAX_ELEMENTS} values")
        values = [field for index, field in enumerate(row) if index != label_index]
        features.append([_number(value, path.name, line) for value in values])
        if label_index is not None:
            labels.append(_label(row[label_index], path.name, line))
    if not features or not features[0]:
        raise TensorFileError(f"{path.name}: no feature values")
    array = _as_float(np.array(features, dtype=np.float64), "features")
    return array, (np.array(labels, dtype=np.int64) if label_index is not None else None)


def _number(text: str, file: str, line: int) -> float:
    try:
        return float(text)
    except ValueError:
        raise TensorFileError(f"{file} line {line}: {text!r} is not a number") from None


def _label(text: str, file: str, line: int) -> int:
    try:
        value = float(text)
    except ValueError:
        raise TensorFileError(f"{file} line {line}: label {text!r} is not a number") from None
    if not math.isfinite(value) or value != round(value):
        raise TensorFileError(f"{file} line {line}: label {text!r} is not a whole number")
    return int(value)

"""Reading labelled test sets in a worker, safely: no unpickling, bounded unpacking.

A test set holds ``inputs`` (one row per sample) and integer ``labels``, in a ``.pt`` file
(loaded with ``weights_only=True``), an ``.npz`` (``allow_pickle=False``), a ``.safetensors``
file, or a CSV whose ``label`` column holds the labels and whose other columns are features.
"""

from __future__ import annotations

import csv
import json
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


class DatasetError(Exception):
    """The file is not a usable test set; the message says why."""


@dataclass(frozen=True)
class DatasetSummary:
    samples: int
    classes: int
    input_shape: list[int]


SAFETENSORS_DTYPES = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16,
    "I64": np.int64, "I32": np.int32, "I16": np.int16, "I8": np.int8,
    "U8": np.uint8, "BOOL": np.bool_,
}  # fmt: skip


def _check_unpacked_size(path: Path, limit: int) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            total = sum(member.file_size for member in archive.infolist())
    except zipfile.BadZipFile as error:
        raise DatasetError(f"not a readable zip archive: {error}") from None
    if total > limit:
        raise DatasetError(f"unpacks to {total} bytes, more than the limit of {limit}")


def _load_npz(path: Path, limit: int) -> dict[str, Any]:
    _check_unpacked_size(path, limit)
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except (ValueError, OSError, zipfile.BadZipFile) as error:
        raise DatasetError(f"not a readable .npz file: {error}") from None


def _load_pt(path: Path, limit: int) -> dict[str, Any]:
    _check_unpacked_size(path, limit)
    import torch

    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise DatasetError(f"not a readable weights-only .pt file: {error}") from None
    if not isinstance(loaded, dict):
        raise DatasetError("a .pt test set must hold a dict with 'inputs' and 'labels'")
    return {
        str(name): value.numpy() if hasattr(value, "numpy") else value
        for name, value in loaded.items()
    }


def _load_safetensors(path: Path, limit: int) -> dict[str, Any]:
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(8)
        if len(head) < 8:
            raise DatasetError("too short for a safetensors file")
        (header_length,) = struct.unpack("<Q", head)
        if header_length > size - 8:
            raise DatasetError("the safetensors header is longer than the file")
        try:
            header = json.loads(handle.read(header_length))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise DatasetError("the safetensors header is not JSON") from None
        data_start = 8 + header_length
        tensors: dict[str, Any] = {}
        for name, entry in header.items():
            if name == "__metadata__":
                continue
            dtype = SAFETENSORS_DTYPES.get(entry.get("dtype")) if isinstance(entry, dict) else None
            if dtype is None:
                raise DatasetError(f"tensor {name!r} has an unsupported dtype")
            begin, end = entry["data_offsets"]
            shape = [int(n) for n in entry["shape"]]
            expected = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
            if not 0 <= begin <= end <= size - data_start or end - begin != expected:
                raise DatasetError(f"tensor {name!r} has inconsistent offsets")
            if expected > limit:
                raise DatasetError(f"tensor {name!r} is larger than the limit of {limit} bytes")
            handle.seek(data_start + begin)
            tensors[name] = np.frombuffer(handle.read(expected), dtype=dtype).reshape(shape)
    return tensors


def _load_csv(path: Path) -> dict[str, Any]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            raise DatasetError("the CSV file is empty") from None
        except UnicodeDecodeError:
            raise DatasetError("the CSV file is not UTF-8 text") from None
        names = [name.strip().lower() for name in header]
        if "label" not in names:
            raise DatasetError("the CSV file needs a 'label' column")
        label_at = names.index("label")
        rows: list[list[float]] = []
        labels: list[float] = []
        try:
            for line, row in enumerate(reader, start=2):
                if len(row) != len(names):
                    raise DatasetError(f"line {line} has {len(row)} fields, not {len(names)}")
                values = [float(value) for value in row]
                labels.append(values.pop(label_at))
                rows.append(values)
        except ValueError as error:
            raise DatasetError(f"a value is not a number: {error}") from None
        except UnicodeDecodeError:
            raise DatasetError("the CSV file is not UTF-8 text") from None
    return {"inputs": np.asarray(rows, dtype=np.float64), "labels": np.asarray(labels)}


def load_test_set(path: Path, unpacked_limit: int) -> tuple[np.ndarray, np.ndarray]:
    suffix = path.suffix.lower()
    if suffix == ".npz":
        tensors = _load_npz(path, unpacked_limit)
    elif suffix == ".pt":
        tensors = _load_pt(path, unpacked_limit)
    elif suffix == ".safetensors":
        tensors = _load_safetensors(path, unpacked_limit)
    elif suffix == ".csv":
        tensors = _load_csv(path)
    else:
        raise DatasetError(f"unsupported file type {suffix or '(none)'}")
    missing = [name for name in ("inputs", "labels") if name not in tensors]
    if missing:
        raise DatasetError(f"missing {' and '.join(repr(name) for name in missing)}")
    return np.asarray(tensors["inputs"]), np.asarray(tensors["labels"])


def summarise(inputs: np.ndarray, labels: np.ndarray) -> DatasetSummary:
    """Checks the shapes and values of a test set and says what it holds."""
    if inputs.ndim < 2:
        raise DatasetError(
            f"'inputs' needs a sample dimension and features, not shape {list(inputs.shape)}"
        )
    if labels.ndim != 1:
        raise DatasetError(f"'labels' must be one label per sample, not shape {list(labels.shape)}")
    if inputs.shape[0] != labels.shape[0]:
        raise DatasetError(f"{inputs.shape[0]} inputs but {labels.shape[0]} labels")
    if inputs.shape[0] == 0:
        raise DatasetError("the test set has no samples")
    if not (np.issubdtype(inputs.dtype, np.number) or inputs.dtype == np.bool_):
        raise DatasetError(f"'inputs' must be numbers, not {inputs.dtype}")
    if np.issubdtype(inputs.dtype, np.floating) and not np.isfinite(inputs).all():
        raise DatasetError("'inputs' holds NaN or infinite values")
    if np.issubdtype(labels.dtype, np.floating):
        if not np.isfinite(labels).all() or not np.equal(np.floor(labels), labels).all():
            raise DatasetError("'labels' must be whole numbers")
    elif not np.issubdtype(labels.dtype, np.integer):
        raise DatasetError(f"'labels' must be integers, not {labels.dtype}")
    if labels.min() < 0:
        raise DatasetError("'labels' must not be negative")
    return DatasetSummary(
        samples=int(inputs.shape[0]),
        classes=int(np.unique(labels).size),
        input_shape=[int(n) for n in inputs.shape[1:]],
    )

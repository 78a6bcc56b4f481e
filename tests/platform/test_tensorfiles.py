"""Reading test sets in a worker: formats, shapes and hostile archives."""

from __future__ import annotations

import io
import json
import struct
import zipfile

import numpy as np
import pytest

from tests.platform import factories
from veriml.registry.tensorfiles import DatasetError, load_test_set, summarise

LIMIT = 10 * 1024 * 1024


def write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def safetensors_bytes(**arrays: np.ndarray) -> bytes:
    header, blobs, offset = {}, [], 0
    codes = {np.dtype(np.float32): "F32", np.dtype(np.int64): "I64"}
    for name, array in arrays.items():
        data = array.tobytes()
        header[name] = {
            "dtype": codes[array.dtype],
            "shape": list(array.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        blobs.append(data)
        offset += len(data)
    encoded = json.dumps(header).encode()
    return struct.pack("<Q", len(encoded)) + encoded + b"".join(blobs)


def test_it_reads_and_summarises_an_npz_test_set(tmp_path):
    data = factories.npz_bytes(
        inputs=np.zeros((6, 2, 2), np.float32), labels=np.array([0, 1, 2] * 2)
    )

    summary = summarise(*load_test_set(write(tmp_path, "t.npz", data), LIMIT))

    assert (summary.samples, summary.classes, summary.input_shape) == (6, 3, [2, 2])


def test_it_reads_a_csv_with_a_label_column(tmp_path):
    path = write(tmp_path, "t.csv", b"a,b,label\n0.5,1,0\n1.5,2,1\n2.5,3,1\n")

    inputs, labels = load_test_set(path, LIMIT)

    assert inputs.tolist() == [[0.5, 1.0], [1.5, 2.0], [2.5, 3.0]]
    assert summarise(inputs, labels).classes == 2


def test_it_reads_a_safetensors_test_set(tmp_path):
    data = safetensors_bytes(inputs=np.ones((4, 3), np.float32), labels=np.arange(4))

    summary = summarise(*load_test_set(write(tmp_path, "t.safetensors", data), LIMIT))

    assert summary.samples == 4


def test_it_reads_a_weights_only_pt_test_set(tmp_path):
    import torch

    buffer = io.BytesIO()
    torch.save({"inputs": torch.zeros(5, 3), "labels": torch.tensor([0, 1, 0, 1, 1])}, buffer)

    summary = summarise(*load_test_set(write(tmp_path, "t.pt", buffer.getvalue()), LIMIT))

    assert summary.samples == 5


def test_it_refuses_a_pickled_object_in_a_pt_file(tmp_path):
    import datetime

    import torch

    buffer = io.BytesIO()
    # Any class outside torch's weights-only allow-list stands for a hostile pickle here.
    torch.save({"inputs": datetime.date(2020, 1, 1), "labels": [1]}, buffer)

    with pytest.raises(DatasetError, match="weights-only"):
        load_test_set(write(tmp_path, "t.pt", buffer.getvalue()), LIMIT)


def test_it_refuses_an_archive_that_would_unpack_past_the_limit(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("inputs.npy", b"\0" * (LIMIT + 1))

    with pytest.raises(DatasetError, match="unpacks to"):
        load_test_set(write(tmp_path, "t.npz", buffer.getvalue()), LIMIT)


def test_it_refuses_safetensors_offsets_outside_the_file(tmp_path):
    header = json.dumps(
        {"inputs": {"dtype": "F32", "shape": [1000, 1000], "data_offsets": [0, 4_000_000]}}
    ).encode()
    data = struct.pack("<Q", len(header)) + header + b"\0" * 16

    with pytest.raises(DatasetError, match="inconsistent offsets"):
        load_test_set(write(tmp_path, "t.safetensors", data), LIMIT)


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"inputs": np.zeros((3, 2))}, "missing 'labels'"),
        ({"inputs": np.zeros((3, 2)), "labels": np.zeros(4)}, "3 inputs but 4 labels"),
        ({"inputs": np.zeros((0, 2)), "labels": np.zeros(0)}, "no samples"),
        ({"inputs": np.array([[np.nan, 1]]), "labels": np.zeros(1)}, "NaN"),
        ({"inputs": np.zeros((2, 2)), "labels": np.array([0.5, 1])}, "whole numbers"),
        ({"inputs": np.zeros((2, 2)), "labels": np.array([-1, 1])}, "negative"),
        ({"inputs": np.zeros(3), "labels": np.zeros(3)}, "sample dimension"),
    ],
)
def test_it_refuses_test_sets_that_cannot_be_audited(tmp_path, arrays, message):
    path = write(tmp_path, "t.npz", factories.npz_bytes(**arrays))

    with pytest.raises(DatasetError, match=message):
        summarise(*load_test_set(path, LIMIT))


def test_it_refuses_a_csv_without_labels_or_with_text(tmp_path):
    with pytest.raises(DatasetError, match="'label' column"):
        load_test_set(write(tmp_path, "a.csv", b"a,b\n1,2\n"), LIMIT)
    with pytest.raises(DatasetError, match="not a number"):
        load_test_set(write(tmp_path, "b.csv", b"a,label\nhello,1\n"), LIMIT)

"""Validating test sets in a worker with the prover's reader (provers.tensors): formats, shapes,
hostile archives, the platform's unpack limit, and the message a refused upload gets."""

from __future__ import annotations

import io
import json
import struct
import zipfile

import numpy as np
import pytest

from provers.tensors import TensorFileError
from tests.platform import factories
from veriml.core.files import store_bytes
from veriml.registry.models import Dataset
from veriml.registry.tasks import read_test_set, validate_dataset


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


def pt_bytes(value: object) -> bytes:
    import torch

    buffer = io.BytesIO()
    torch.save(value, buffer)
    return buffer.getvalue()


def test_it_reads_and_summarises_an_npz_test_set(tmp_path):
    data = factories.npz_bytes(
        inputs=np.zeros((6, 2, 2), np.float32), labels=np.array([0, 1, 2] * 2)
    )

    summary = read_test_set(write(tmp_path, "t.npz", data))

    assert (summary.samples, summary.classes, summary.input_shape) == (6, 3, [2, 2])


def test_it_reads_a_csv_with_a_label_column(tmp_path):
    path = write(tmp_path, "t.csv", b"a,b,label\n0.5,1,0\n1.5,2,1\n2.5,3,1\n")

    summary = read_test_set(path)

    assert (summary.samples, summary.classes, summary.input_shape) == (3, 2, [2])


def test_it_reads_a_safetensors_test_set(tmp_path):
    data = safetensors_bytes(inputs=np.ones((4, 3), np.float32), labels=np.arange(4))

    summary = read_test_set(write(tmp_path, "t.safetensors", data))

    assert (summary.samples, summary.classes) == (4, 4)


def test_it_reads_a_weights_only_pt_test_set(tmp_path):
    import torch

    data = pt_bytes({"inputs": torch.zeros(5, 3), "labels": torch.tensor([0, 1, 0, 1, 1])})

    assert read_test_set(write(tmp_path, "t.pt", data)).samples == 5


def test_it_refuses_a_pickled_object_in_a_pt_file(tmp_path):
    import datetime

    # Any class outside torch's weights-only allow-list stands for a hostile pickle here.
    data = pt_bytes({"inputs": datetime.date(2020, 1, 1), "labels": [1]})

    with pytest.raises(TensorFileError, match="not a loadable tensor file"):
        read_test_set(write(tmp_path, "t.pt", data))


def test_it_refuses_a_pt_file_whose_labels_are_not_a_tensor(tmp_path):
    import torch

    # The prover's audit reads the same file with the same reader: what it refuses, validation
    # refuses too, instead of reporting a test set ready that no audit could read.
    data = pt_bytes({"inputs": torch.zeros(3, 2), "labels": [0, 1, 1]})

    with pytest.raises(TensorFileError, match="a tensor or a dict of named tensors"):
        read_test_set(write(tmp_path, "t.pt", data))


def test_it_refuses_an_archive_that_would_unpack_past_the_configured_limit(tmp_path, settings):
    settings.TENSOR_FILE_MAX_UNPACKED_BYTES = 10_000
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    # Small random integers: a file well under the limit that unpacks well over it.
    np.savez_compressed(
        buffer,
        inputs=rng.integers(0, 4, (2000, 2)).astype(np.float32),
        labels=rng.integers(0, 2, 2000),
    )
    data = buffer.getvalue()
    assert len(data) < 10_000

    with pytest.raises(TensorFileError, match="expands to .* at most 10000"):
        read_test_set(write(tmp_path, "t.npz", data))


def test_it_refuses_a_file_larger_than_the_configured_limit(tmp_path, settings):
    settings.TENSOR_FILE_MAX_UNPACKED_BYTES = 100
    data = safetensors_bytes(inputs=np.ones((40, 3), np.float32), labels=np.arange(40))

    with pytest.raises(TensorFileError, match="larger than 100 bytes"):
        read_test_set(write(tmp_path, "t.safetensors", data))


def test_it_refuses_safetensors_offsets_outside_the_file(tmp_path):
    header = json.dumps(
        {"inputs": {"dtype": "F32", "shape": [1000, 1000], "data_offsets": [0, 4_000_000]}}
    ).encode()
    data = struct.pack("<Q", len(header)) + header + b"\0" * 16

    with pytest.raises(TensorFileError, match="not a readable .safetensors file"):
        read_test_set(write(tmp_path, "t.safetensors", data))


def test_it_refuses_a_zip_bomb_before_unpacking_it(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("inputs.npy", b"\0" * (10 * 1024 * 1024))

    with pytest.raises(TensorFileError, match="ratio above"):
        read_test_set(write(tmp_path, "t.npz", buffer.getvalue()))


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"inputs": np.zeros((3, 2))}, "missing 'labels'"),
        ({"inputs": np.zeros((3, 2)), "labels": np.zeros(4)}, "4 labels for 3 inputs"),
        ({"inputs": np.zeros((0, 2)), "labels": np.zeros(0)}, "no samples"),
        ({"inputs": np.array([[np.nan, 1]]), "labels": np.zeros(1)}, "NaN"),
        ({"inputs": np.zeros((2, 2)), "labels": np.array([0.5, 1])}, "whole numbers"),
        ({"inputs": np.zeros((2, 2)), "labels": np.array([-1, 1])}, "negative"),
        ({"inputs": np.zeros(3), "labels": np.zeros(3)}, "sample dimension"),
    ],
)
def test_it_refuses_test_sets_that_cannot_be_audited(tmp_path, arrays, message):
    path = write(tmp_path, "t.npz", factories.npz_bytes(**arrays))

    with pytest.raises(TensorFileError, match=message):
        read_test_set(path)


def test_it_refuses_a_csv_without_labels_or_with_text(tmp_path):
    with pytest.raises(TensorFileError, match="no 'label' column"):
        read_test_set(write(tmp_path, "a.csv", b"a,b\n1,2\n"))
    with pytest.raises(TensorFileError, match="'hello' is not a number"):
        read_test_set(write(tmp_path, "b.csv", b"a,label\nhello,1\n"))


def test_a_refused_test_set_fails_with_a_message_naming_the_uploaded_file(alice_org):
    data = factories.npz_bytes(inputs=np.zeros((4, 2), np.float32))
    dataset = Dataset.objects.create(
        organisation=alice_org,
        name="holdout",
        file=store_bytes(alice_org, "datasets", data, "holdout-2024.npz"),
    )

    outcome = validate_dataset.apply((str(dataset.pk),)).get()

    dataset.refresh_from_db()
    assert outcome == "failed"
    assert (dataset.status, dataset.error_code) == (Dataset.Status.FAILED, "invalid_dataset")
    assert dataset.error_message == (
        "Not a usable test set: holdout-2024.npz: a test set needs 'inputs' and 'labels' "
        "tensors; missing 'labels' (found 'inputs')."
    )

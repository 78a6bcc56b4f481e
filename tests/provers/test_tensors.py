"""Tensor files: every accepted format read back, and hostile or oversized files refused."""

from __future__ import annotations

import builtins
import io
import pickle
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import save as save_safetensors

from provers import tensors
from provers.tensors import (
    TensorFileError,
    load_dataset,
    load_inputs,
    load_table_csv,
    load_tensors,
)

INPUTS = np.arange(24, dtype=np.float32).reshape(4, 2, 3) / 7
LABELS = np.array([0, 3, 1, 2])


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def torch_file(path: Path, value: object) -> Path:
    torch.save(value, path)
    return path


def test_a_bare_tensor_in_each_format_loads_as_float32(tmp_path: Path) -> None:
    paths = [
        torch_file(tmp_path / "x.pt", torch.from_numpy(INPUTS)),
        write(tmp_path / "x.safetensors", save_safetensors({"inputs": INPUTS})),
    ]
    np.savez(tmp_path / "x.npz", INPUTS.astype(np.float64))
    np.save(tmp_path / "x.npy", INPUTS)
    paths += [tmp_path / "x.npz", tmp_path / "x.npy"]
    for path in paths:
        loaded = load_inputs(path)
        assert loaded.dtype == np.float32
        assert np.allclose(loaded, INPUTS), path.name


def test_a_dataset_loads_from_named_tensors(tmp_path: Path) -> None:
    torch_file(
        tmp_path / "set.pt",
        {"inputs": torch.from_numpy(INPUTS), "labels": torch.from_numpy(LABELS)},
    )
    np.savez(tmp_path / "set.npz", inputs=INPUTS, labels=LABELS.astype(np.float32))
    write(tmp_path / "set.safetensors", save_safetensors({"inputs": INPUTS, "labels": LABELS}))
    for name in ("set.pt", "set.npz", "set.safetensors"):
        inputs, labels = load_dataset(tmp_path / name)
        assert np.allclose(inputs, INPUTS) and labels.tolist() == LABELS.tolist()
        assert labels.dtype == np.int64
        assert np.allclose(load_inputs(tmp_path / name), INPUTS)


def test_a_csv_table_with_a_label_column(tmp_path: Path) -> None:
    path = tmp_path / "table.csv"
    path.write_text("age,label,weight\n30,1,70.5\n41,0,80\n\n22,2,55.25\n")
    features, labels = load_table_csv(path)
    assert features.tolist() == [[30, 70.5], [41, 80], [22, 55.25]]
    assert labels.tolist() == [1, 0, 2]
    assert load_dataset(path)[1].tolist() == [1, 0, 2]
    assert load_inputs(path).shape == (3, 2)


def test_a_csv_with_a_differently_named_label_column(tmp_path: Path) -> None:
    path = tmp_path / "table.csv"
    path.write_text("class,a\n3,0.5\n")
    features, labels = load_table_csv(path, label_column="class")
    assert features.tolist() == [[0.5]] and labels.tolist() == [3]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a,b\n1,2\n", "no 'label' column"),
        ("a,label\n1,x\n", "not a number"),
        ("a,label\nx,1\n", "'x' is not a number"),
        ("a,label\n1,0.5\n", "not a whole number"),
        ("a,label\n1,2,3\n", "3 fields, expected 2"),
        ("a,label\nnan,1\n", "NaN"),
        ("", "header row"),
    ],
)
def test_malformed_csv_tables_are_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "table.csv"
    path.write_text(text)
    with pytest.raises(TensorFileError, match=message):
        load_table_csv(path)


class Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Callable[..., object], tuple[str]]:
        return (builtins.exec, (f"open({str(self.marker)!r}, 'w').close()",))


def test_a_code_running_pt_file_is_refused_unrun(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    path = tmp_path / "evil.pt"
    torch.save({"inputs": torch.zeros(2), "extra": Payload(marker)}, path)
    assert not marker.exists()
    with pytest.raises(TensorFileError, match="not a loadable tensor file"):
        load_inputs(path)
    assert not marker.exists()


def test_a_pt_file_of_something_other_than_tensors_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TensorFileError, match="tensor or a dict of named tensors"):
        load_inputs(torch_file(tmp_path / "list.pt", [torch.zeros(2)]))


def test_an_npz_with_objects_is_refused(tmp_path: Path) -> None:
    np.savez(tmp_path / "objects.npz", inputs=np.array([{"a": 1}], dtype=object))
    with pytest.raises(TensorFileError, match="dtype object is not accepted"):
        load_inputs(tmp_path / "objects.npz")


def npy_claiming(shape: tuple[int, ...]) -> bytes:
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": shape}
    )
    return header.getvalue() + b"\x00" * 16


def test_an_array_header_claiming_too_many_elements_is_refused_before_loading(
    tmp_path: Path,
) -> None:
    huge = npy_claiming((1 << 20, 1 << 20))
    with pytest.raises(TensorFileError, match="more than"):
        load_inputs(write(tmp_path / "huge.npy", huge))
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w") as archive:
        archive.writestr("inputs.npy", huge)
    with pytest.raises(TensorFileError, match="more than"):
        load_inputs(write(tmp_path / "huge.npz", output.getvalue()))


def test_a_zip_bomb_npz_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.npz"
    zeros = bytes(1 << 20)
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("inputs.npy", "w", force_zip64=True) as entry,
    ):
        entry.write(npy_claiming((16 << 20,))[:-16])
        for _ in range(64):  # 64 MiB of zeros, compressed about 1000 to 1
            entry.write(zeros)
    with pytest.raises(TensorFileError, match="ratio above"):
        load_inputs(path)


def test_safetensors_with_an_unaccepted_dtype_or_a_lying_header_are_refused(
    tmp_path: Path,
) -> None:
    header = b'{"x": {"dtype": "F8_E4M3", "shape": [2], "data_offsets": [0, 2]}}'
    with pytest.raises(TensorFileError, match="dtype 'F8_E4M3'"):
        load_inputs(
            write(tmp_path / "a.safetensors", struct.pack("<Q", len(header)) + header + b"\x00\x00")
        )
    with pytest.raises(TensorFileError, match="header longer than the file"):
        load_inputs(write(tmp_path / "b.safetensors", struct.pack("<Q", 1 << 40) + b"{}"))
    header = b'{"x": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}'
    with pytest.raises(TensorFileError, match="not a readable"):
        load_inputs(
            write(tmp_path / "c.safetensors", struct.pack("<Q", len(header)) + header + b"\x00")
        )


def test_files_over_the_size_limit_are_refused_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tensors, "MAX_FILE_BYTES", 100)
    np.save(tmp_path / "big.npy", np.zeros(100, dtype=np.float32))
    with pytest.raises(TensorFileError, match="larger than 100 bytes"):
        load_inputs(tmp_path / "big.npy")


def test_a_dataset_needs_matching_inputs_and_integer_labels(tmp_path: Path) -> None:
    np.savez(tmp_path / "short.npz", inputs=INPUTS, labels=LABELS[:2])
    with pytest.raises(TensorFileError, match="2 labels for"):
        load_dataset(tmp_path / "short.npz")
    np.savez(tmp_path / "half.npz", inputs=INPUTS, labels=LABELS + 0.5)
    with pytest.raises(TensorFileError, match="whole numbers"):
        load_dataset(tmp_path / "half.npz")
    np.savez(tmp_path / "nolabels.npz", inputs=INPUTS)
    with pytest.raises(TensorFileError, match="needs 'inputs' and 'labels'"):
        load_dataset(tmp_path / "nolabels.npz")


@pytest.mark.parametrize(
    ("inputs", "labels", "message"),
    [
        (INPUTS[:0], LABELS[:0], "no samples"),
        (INPUTS, LABELS - 1, "must not be negative"),
        (INPUTS[:, 0, 0], LABELS, "sample dimension"),
    ],
)
def test_a_dataset_no_audit_could_use_is_refused(
    tmp_path: Path, inputs: np.ndarray, labels: np.ndarray, message: str
) -> None:
    np.savez(tmp_path / "set.npz", inputs=inputs, labels=labels)
    with pytest.raises(TensorFileError, match=message):
        load_dataset(tmp_path / "set.npz")


def test_a_callers_unpacked_bound_tightens_the_built_in_ones(tmp_path: Path) -> None:
    # About 550 bytes on disk that unpack to about 6.6 kB.
    np.savez_compressed(
        tmp_path / "set.npz", inputs=np.tile(INPUTS, (50, 1, 1)), labels=np.tile(LABELS, 50)
    )
    np.save(tmp_path / "plain.npy", np.tile(INPUTS, (50, 1, 1)))
    table = write(tmp_path / "table.csv", b"a,label\n" + b"1,0\n" * 500)
    with pytest.raises(TensorFileError, match="'inputs.npy' expands to 4928 bytes, at most 1000"):
        load_dataset(tmp_path / "set.npz", max_unpacked_bytes=1000)
    with pytest.raises(TensorFileError, match="larger than 1000 bytes"):
        load_tensors(tmp_path / "plain.npy", max_unpacked_bytes=1000)
    with pytest.raises(TensorFileError, match="larger than 1000 bytes"):
        load_dataset(table, max_unpacked_bytes=1000)
    assert load_dataset(tmp_path / "set.npz", max_unpacked_bytes=10_000)[0].shape == (200, 2, 3)


def test_ambiguous_inputs_and_unknown_formats_are_refused(tmp_path: Path) -> None:
    np.savez(tmp_path / "two.npz", a=INPUTS, b=INPUTS)
    with pytest.raises(TensorFileError, match="found 'a', 'b'"):
        load_inputs(tmp_path / "two.npz")
    with pytest.raises(TensorFileError, match="use .pt, .npz"):
        load_inputs(write(tmp_path / "x.pkl", pickle.dumps(INPUTS)))
    with pytest.raises(TensorFileError, match="cannot read"):
        load_inputs(tmp_path / "absent.npz")
    with pytest.raises(TensorFileError, match="not a zip archive"):
        load_inputs(write(tmp_path / "fake.npz", b"not a zip"))

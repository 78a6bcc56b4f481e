"""Hostile .pt2 files are refused before torch reads them; honest ones load.

The code-running payloads here really run when unpickled (each test shows that first, on its
own), and each would create a marker file; a refusal must leave no marker behind.
"""

from __future__ import annotations

import builtins
import io
import json
import pickle
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from provers.compiler import load_program
from provers.compiler.archive import ArchiveError, ArchiveLimits, inspect_archive
from provers.compiler.pickle_scan import UnsafePickle, check_pickle
from provers.errors import CompileError


class Payload:
    """Unpickling this runs ``exec``, which creates the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Callable[..., object], tuple[str]]:
        return (builtins.exec, (f"open({str(self.marker)!r}, 'w').close()",))


@pytest.fixture(scope="module")
def honest_pt2(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    module = nn.Sequential(nn.Linear(4, 3), nn.ReLU()).eval()
    program = torch.export.export(module, (torch.randn(2, 4),))
    path = tmp_path_factory.mktemp("honest") / "model.pt2"
    torch.export.save(program, path)
    return path.read_bytes()


def rewritten(
    data: bytes, replace: dict[str, bytes] | None = None, add: dict[str, bytes] | None = None
) -> bytes:
    """The archive with some entries' contents replaced (matched by name suffix) or added."""
    source = zipfile.ZipFile(io.BytesIO(data))
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w") as archive:
        for info in source.infolist():
            content = source.read(info.filename)
            for suffix, replacement in (replace or {}).items():
                if info.filename.endswith(suffix):
                    content = replacement
            archive.writestr(info.filename, content)
        for name, content in (add or {}).items():
            archive.writestr(name, content)
    return output.getvalue()


def torch_save_archive(pickle_bytes: bytes) -> bytes:
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w") as archive:
        archive.writestr("archive/data.pkl", pickle_bytes)
        archive.writestr("archive/byteorder", "little")
        archive.writestr("archive/version", "3\n")
    return output.getvalue()


def refused(tmp_path: Path, data: bytes, match: str) -> None:
    path = tmp_path / "hostile.pt2"
    path.write_bytes(data)
    with pytest.raises(CompileError, match=match):
        load_program(path)


def live_payload(marker: Path) -> bytes:
    payload = pickle.dumps(Payload(marker), protocol=2)
    pickle.loads(payload)
    assert marker.exists(), "the payload must really run code when unpickled"
    marker.unlink()
    return payload


def test_an_honest_program_loads(tmp_path: Path, honest_pt2: bytes) -> None:
    path = tmp_path / "model.pt2"
    path.write_bytes(honest_pt2)
    program = load_program(path)
    assert [node.target for node in program.graph.nodes if node.op == "call_function"] == [
        torch.ops.aten.linear.default,
        torch.ops.aten.relu.default,
    ]


def test_torch_alone_would_run_a_payload_in_the_sample_inputs(
    tmp_path: Path, honest_pt2: bytes
) -> None:
    marker = tmp_path / "marker"
    payload = live_payload(marker)
    hostile = rewritten(honest_pt2, {"sample_inputs/model.pt": torch_save_archive(payload)})
    with pytest.raises(Exception):  # noqa: B017 - torch fails after the payload has run
        torch.export.load(io.BytesIO(hostile))
    assert marker.exists()


def test_a_code_running_pickle_in_the_sample_inputs_is_refused_unrun(
    tmp_path: Path, honest_pt2: bytes
) -> None:
    marker = tmp_path / "marker"
    payload = live_payload(marker)
    hostile = rewritten(honest_pt2, {"sample_inputs/model.pt": torch_save_archive(payload)})
    refused(
        tmp_path, hostile, r"sample inputs refused: the pickle imports (__builtin__|builtins)\.exec"
    )
    assert not marker.exists()


def test_a_code_running_pickle_as_a_weight_is_refused_unrun(
    tmp_path: Path, honest_pt2: bytes
) -> None:
    marker = tmp_path / "marker"
    payload = live_payload(marker)
    source = zipfile.ZipFile(io.BytesIO(honest_pt2))
    config_name = next(name for name in source.namelist() if name.endswith("weights_config.json"))
    config = json.loads(source.read(config_name))
    first = next(iter(config["config"].values()))
    first["use_pickle"] = True
    hostile = rewritten(
        honest_pt2,
        {
            "weights_config.json": json.dumps(config).encode(),
            f"data/weights/{first['path_name']}": torch_save_archive(payload),
        },
    )
    refused(tmp_path, hostile, r"weight_0 refused: .*\.exec")
    assert not marker.exists()


def test_a_legacy_bare_pickle_is_refused(tmp_path: Path, honest_pt2: bytes) -> None:
    marker = tmp_path / "marker"
    hostile = rewritten(honest_pt2, {"sample_inputs/model.pt": live_payload(marker)})
    refused(tmp_path, hostile, "legacy torch.save format")
    assert not marker.exists()


def program_json_edited(data: bytes, edit: Callable[[dict[str, Any]], None]) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    name = next(name for name in source.namelist() if name.endswith("models/model.json"))
    program = json.loads(source.read(name))
    edit(program)
    return rewritten(data, {"models/model.json": json.dumps(program).encode()})


def test_guard_code_is_refused(tmp_path: Path, honest_pt2: bytes) -> None:
    def add_guard(program: dict[str, object]) -> None:
        program["guards_code"] = ["__import__('os').system('true')"]

    refused(tmp_path, program_json_edited(honest_pt2, add_guard), "guard code")


def test_a_symbolic_expression_that_sympify_would_evaluate_is_refused(
    tmp_path: Path, honest_pt2: bytes
) -> None:
    def add_expression(program: dict[str, object]) -> None:
        graph = program["graph_module"]
        assert isinstance(graph, dict)
        graph["metadata"] = {"x": {"expr_str": "__import__('os').getcwd()"}}

    refused(tmp_path, program_json_edited(honest_pt2, add_expression), "symbolic shape")


def test_a_graph_calling_a_non_aten_function_is_refused(tmp_path: Path, honest_pt2: bytes) -> None:
    def retarget(program: dict[str, object]) -> None:
        graph = program["graph_module"]
        assert isinstance(graph, dict)
        graph["graph"]["nodes"][0]["target"] = "torch.load"

    refused(tmp_path, program_json_edited(honest_pt2, retarget), "only ATen operators")


def test_control_characters_that_could_reach_generated_code_are_refused(
    tmp_path: Path, honest_pt2: bytes
) -> None:
    def inject(program: dict[str, object]) -> None:
        graph = program["graph_module"]
        assert isinstance(graph, dict)
        graph["graph"]["nodes"][0]["metadata"]["stack_trace"] = (
            'File "a", line 1, in f\n x\rimport os'
        )

    refused(tmp_path, program_json_edited(honest_pt2, inject), "control characters")


def test_names_that_torch_would_splice_into_generated_code_are_refused(
    tmp_path: Path, honest_pt2: bytes
) -> None:
    def argument_name(program: dict[str, Any]) -> None:
        signature = program["graph_module"]["module_call_graph"][0]["signature"]
        signature["forward_arg_names"] = ["x=__import__('os').getcwd()"]

    def attribute_path(program: dict[str, Any]) -> None:
        spec = program["graph_module"]["signature"]["input_specs"][0]["parameter"]
        spec["parameter_name"] = 'w")or(__import__("os")'

    def pytree_key(program: dict[str, Any]) -> None:
        signature = program["graph_module"]["module_call_graph"][0]["signature"]
        signature["in_spec"] = signature["in_spec"].replace(
            '"context": "[]"', '"context": "[\\"a=1\\"]"'
        )

    for edit, reason in (
        (argument_name, "not an identifier"),
        (attribute_path, "not a plain name"),
        (pytree_key, "names a key 'a=1'"),
    ):
        refused(tmp_path, program_json_edited(honest_pt2, edit), reason)


def test_compiled_code_payloads_are_refused(tmp_path: Path, honest_pt2: bytes) -> None:
    root = zipfile.ZipFile(io.BytesIO(honest_pt2)).namelist()[0].split("/")[0]
    hostile = rewritten(honest_pt2, add={f"{root}/data/aotinductor/model/model.so": b"\x7fELF"})
    refused(tmp_path, hostile, "never writes: 'data/aotinductor/model/model.so'")


def test_a_truncated_file_is_refused(tmp_path: Path, honest_pt2: bytes) -> None:
    refused(tmp_path, honest_pt2[: len(honest_pt2) // 2], "truncated or damaged")
    refused(tmp_path, honest_pt2[:-1], "truncated|directory record")


def test_a_file_that_is_not_a_zip_is_refused(tmp_path: Path) -> None:
    refused(tmp_path, b"def forward(x): return x\n", "not a zip archive")
    refused(tmp_path, b"", "not a zip archive")


@pytest.mark.parametrize("name", ["../escape.json", "model/../../escape", "/etc/passwd", "a\\b"])
def test_entry_names_with_path_traversal_are_refused(tmp_path: Path, name: str) -> None:
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w") as archive:
        archive.writestr("model/archive_format", "pt2")
        archive.writestr(zipfile.ZipInfo(name), "x")
    refused(tmp_path, output.getvalue(), "unsafe entry name")


def test_a_duplicated_entry_name_is_refused(tmp_path: Path, honest_pt2: bytes) -> None:
    first = zipfile.ZipFile(io.BytesIO(honest_pt2)).namelist()[0]
    with pytest.warns(UserWarning, match="Duplicate name"):
        hostile = rewritten(honest_pt2, add={first: b"other"})
    refused(tmp_path, hostile, "appears twice")


def test_data_before_or_after_the_archive_is_refused(tmp_path: Path, honest_pt2: bytes) -> None:
    refused(tmp_path, honest_pt2 + b"tail", "directory record")
    refused(tmp_path, b"PK\x03\x04" + b"\x00" * 60 + honest_pt2, "damaged|before its first entry")


def test_an_entry_claiming_a_huge_size_is_refused(tmp_path: Path) -> None:
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("model/archive_format", "pt2")
    data = bytearray(output.getvalue())
    directory = data.rindex(b"PK\x01\x02")
    struct.pack_into("<L", data, directory + 24, 0xFFFFFFF0)  # the uncompressed size
    refused(tmp_path, bytes(data), "expands to 4294967280 bytes")


def test_a_real_zip_bomb_is_refused_without_expanding_it(tmp_path: Path) -> None:
    path = tmp_path / "bomb.pt2"
    zeros = bytes(1 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("model/archive_format", "pt2")
        with archive.open("model/data/weights/weight_0", "w", force_zip64=True) as entry:
            for _ in range(1024):  # 1 GiB of zeros, about 1 MiB compressed
                entry.write(zeros)
    assert path.stat().st_size < 2 << 20
    with pytest.raises(CompileError, match="a ratio above 100"):
        load_program(path)


def test_overlapping_entries_are_refused() -> None:
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w") as archive:
        archive.writestr("a/one", b"x" * 100)
        archive.writestr("a/two", b"y" * 100)
    data = bytearray(output.getvalue())
    second = data.rindex(b"PK\x01\x02")
    struct.pack_into("<L", data, second + 42, 0)  # the second entry now starts at the first
    with pytest.raises(ArchiveError, match="overlaps|disagrees"):
        inspect_archive(bytes(data), ArchiveLimits(10, 1000, 1000, 10))


def test_a_nested_torchscript_archive_is_refused(tmp_path: Path, honest_pt2: bytes) -> None:
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps(((), {}), protocol=2))
        archive.writestr("archive/constants.pkl", pickle.dumps((), protocol=2))
        archive.writestr("archive/code/__torch__.py", "def f(): pass")
    hostile = rewritten(honest_pt2, {"sample_inputs/model.pt": output.getvalue()})
    refused(tmp_path, hostile, "torch.save never writes|torch.export.save never writes")


def test_a_missing_file_is_a_compile_error(tmp_path: Path) -> None:
    with pytest.raises(CompileError, match="cannot read"):
        load_program(tmp_path / "absent.pt2")


# The pickle scanner on its own ------------------------------------------------------------------


def saved_pickle(value: object, protocol: int) -> bytes:
    buffer = io.BytesIO()
    torch.save(value, buffer, pickle_protocol=protocol)
    archive = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    return archive.read(next(name for name in archive.namelist() if name.endswith("data.pkl")))


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_pickles_of_tensors_pass_the_scan(protocol: int) -> None:
    values: list[object] = [
        torch.randn(3),
        {"inputs": torch.zeros(2, 2, dtype=torch.int8), "labels": torch.arange(4)},
        (torch.randn(2, dtype=torch.bfloat16), torch.ones(1, dtype=torch.bool)),
        nn.Parameter(torch.randn(2)),
        [torch.randn(2), torch.randn(3)],  # the second reuses memoised module names
    ]
    for value in values:
        check_pickle(saved_pickle(value, protocol))


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_a_code_running_pickle_fails_the_scan_in_every_protocol(
    tmp_path: Path, protocol: int
) -> None:
    marker = tmp_path / "marker"
    with pytest.raises(UnsafePickle, match=r"imports (__builtin__|builtins)\.exec"):
        check_pickle(pickle.dumps(Payload(marker), protocol=protocol))
    assert not marker.exists()


def test_the_scan_refuses_what_the_allowlist_cannot_see_through() -> None:
    cases = {
        # STACK_GLOBAL whose names come from a call result, not from string opcodes
        b"\x80\x04\x8c\x0bcollections\x94\x8c\x0bOrderedDict\x94\x93)R\x94h\x02\x93.": "computes",
        # calling a storage type (an allowed reference, not an allowed call)
        b"\x80\x02ctorch\nFloatStorage\nK\n\x85R.": "not a tensor rebuild function",
        # BUILD sets attributes
        b"\x80\x02ccollections\nOrderedDict\n)R}b.": "BUILD",
        # the copyreg extension registry
        b"\x80\x02\x82\x01.": "extension registry",
        # bytes after STOP
        b"\x80\x02N.junk": "follow the pickle",
        b"\x80\x02(": "well-formed",
    }
    for data, reason in cases.items():
        with pytest.raises(UnsafePickle, match=reason):
            check_pickle(data)

"""Load an untrusted ``torch.export`` program (a ``.pt2`` file) without running its code.

``torch.export.load`` is not safe on hostile files: it unpickles sample inputs and some weights
with the full unpickler, loads compiled AOTInductor libraries it finds in the archive, ``exec``s
the program's guard code and ``sympify``s (``eval``s) its symbolic shape expressions. So the
file is read once into memory and checked here, and only those same bytes go to torch:

1. size: at most :data:`MAX_FILE_BYTES`;
2. archive: :func:`provers.compiler.archive.inspect_archive` (zip structure, names, zip bombs);
3. layout: every entry is one a plain ``torch.export.save`` writes — one model named ``model``,
   raw weight and tensor-constant files, their JSON configs, the sample inputs, extra text
   files; nothing else (no AOTInductor or ExecuTorch payloads, no custom or opaque objects, no
   legacy pickled state dicts);
4. pickles: the sample inputs and any weight saved as a pickle must be a ``torch.save`` archive
   whose ``data.pkl`` passes :func:`provers.compiler.pickle_scan.check_pickle`;
5. program JSON: no guard code, symbolic shapes only as plain symbols, graph targets only ATen
   operators (and ``_operator`` arithmetic on sizes); node, argument and attribute names plain
   (letters, digits, ``_`` and ``.``), argument names and pytree keys identifiers, no control
   characters in any string — torch splices these strings into the Python source it generates;
6. tensor metadata: every weight's element count within :data:`MAX_TENSOR_ELEMENTS`.

Every refusal raises :class:`provers.errors.CompileError` saying what was refused.
"""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path
from typing import Any

import torch

from provers.compiler.archive import (
    ArchiveError,
    ArchiveLimits,
    inspect_archive,
    is_zip,
    read_entry,
)
from provers.compiler.pickle_scan import UnsafePickle, check_pickle
from provers.errors import CompileError

MAX_FILE_BYTES = 1 << 30
MAX_JSON_BYTES = 64 << 20
MAX_TENSOR_ELEMENTS = 1 << 28
PT2_LIMITS = ArchiveLimits(
    max_entries=100_000, max_entry_bytes=1 << 30, max_total_bytes=1 << 31, max_ratio=100
)
TORCH_SAVE_LIMITS = ArchiveLimits(
    max_entries=10_000, max_entry_bytes=1 << 30, max_total_bytes=1 << 30, max_ratio=100
)

_PT2_ENTRIES = [
    re.compile(pattern)
    for pattern in (
        r"archive_format",
        r"archive_version",
        r"byteorder",
        r"\.data/version",
        r"\.data/serialization_id",
        r"models/model\.json",
        r"data/weights/model_weights_config\.json",
        r"data/weights/weight_\d+",
        r"data/constants/model_constants_config\.json",
        r"data/constants/tensor_\d+",
        r"data/sample_inputs/model\.pt",
        r"extra/[A-Za-z0-9_.\-]+",
    )
]
_REQUIRED_ENTRIES = (
    "archive_format",
    "archive_version",
    "models/model.json",
    "data/weights/model_weights_config.json",
    "data/constants/model_constants_config.json",
    "data/sample_inputs/model.pt",
)
_TORCH_SAVE_ENTRIES = [
    re.compile(pattern)
    for pattern in (
        r"data\.pkl",
        r"byteorder",
        r"version",
        r"\.format_version",
        r"\.storage_alignment",
        r"\.data/version",
        r"\.data/serialization_id",
        r"data/\d+",
    )
]
_TARGET = re.compile(
    r"torch\.ops\.aten\.[A-Za-z0-9_]+\.[A-Za-z0-9_]+"
    r"|_operator\.(getitem|add|sub|mul|floordiv|mod|neg)"
)
_SYMBOL_EXPRESSION = re.compile(
    r"-?\d+|Symbol\('[A-Za-z_][A-Za-z0-9_]*'(, [a-z_]+=(True|False))*\)"
)
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SAFE_NAME = re.compile(r"[A-Za-z0-9_.]*")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NAME_KEYS = frozenset(
    {"name", "parameter_name", "buffer_name", "tensor_constant_name", "custom_obj_name", "fqn"}
)
"""Fields holding node, argument and attribute names, which torch writes into generated code."""


def load_program(path: str | os.PathLike[str]) -> torch.export.ExportedProgram:
    """The program in a ``.pt2`` file, after every check in the module docstring."""
    data = _read_bounded(Path(path))
    return load_program_bytes(data)


def load_program_bytes(data: bytes) -> torch.export.ExportedProgram:
    inspect_program_bytes(data)
    try:
        return torch.export.load(io.BytesIO(data))
    except Exception as error:  # torch raises many types on malformed programs
        raise CompileError(f"torch could not load the program: {error}") from None


def inspect_program_bytes(data: bytes) -> None:
    """All the checks, without handing anything to torch."""
    try:
        entries = inspect_archive(data, PT2_LIMITS)
    except ArchiveError as error:
        raise CompileError(f"not a valid .pt2 file: {error}") from None
    root, names = _split_root([entry.name for entry in entries], _PT2_ENTRIES, "the .pt2 file")
    missing = [name for name in _REQUIRED_ENTRIES if name not in names]
    if missing:
        raise CompileError(f"not a torch.export.save file: missing {', '.join(missing)}")

    def read(name: str) -> bytes:
        try:
            return read_entry(data, f"{root}/{name}")
        except ArchiveError as error:
            raise CompileError(f"not a valid .pt2 file: {error}") from None

    if read("archive_format") != b"pt2":
        raise CompileError("not a torch.export.save file: archive_format is not pt2")
    _check_program_json(_json(read("models/model.json"), "models/model.json"))
    _check_torch_save(read("data/sample_inputs/model.pt"), "the sample inputs")
    for config_name, folder, prefix in (
        ("data/weights/model_weights_config.json", "data/weights", "weight_"),
        ("data/constants/model_constants_config.json", "data/constants", "tensor_"),
    ):
        config = _json(read(config_name), config_name)
        for path_name in _pickled_payloads(config, config_name, folder, prefix, names):
            _check_torch_save(read(f"{folder}/{path_name}"), f"{folder}/{path_name}")


def _read_bounded(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise CompileError(f"{path.name}: {size} bytes, at most {MAX_FILE_BYTES}")
        with path.open("rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise CompileError(f"cannot read {path}: {error.strerror or error}") from None
    if len(data) > MAX_FILE_BYTES:
        raise CompileError(f"{path.name}: more than {MAX_FILE_BYTES} bytes")
    return data


def _split_root(
    names: list[str], allowed: list[re.Pattern[str]], what: str
) -> tuple[str, set[str]]:
    """The archive's one root folder, and the entry names below it, each of an allowed form."""
    roots = {name.split("/", 1)[0] for name in names}
    if len(roots) != 1 or any("/" not in name for name in names):
        raise CompileError(f"{what} must hold exactly one top-level folder")
    root = roots.pop()
    inner = {name.split("/", 1)[1] for name in names}
    for name in sorted(inner):
        if not any(pattern.fullmatch(name) for pattern in allowed):
            raise CompileError(f"{what} holds an entry torch.export.save never writes: {name!r}")
    return root, inner


def _json(data: bytes, what: str) -> Any:
    if len(data) > MAX_JSON_BYTES:
        raise CompileError(f"{what}: {len(data)} bytes of JSON, at most {MAX_JSON_BYTES}")
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as error:
        raise CompileError(f"{what} is not valid JSON: {error}") from None


def _check_torch_save(data: bytes, what: str) -> None:
    """A ``torch.save`` archive whose one pickle only rebuilds tensors."""
    if not is_zip(data):
        raise CompileError(f"{what}: the legacy torch.save format (a bare pickle) is refused")
    try:
        entries = inspect_archive(data, TORCH_SAVE_LIMITS)
    except ArchiveError as error:
        raise CompileError(f"{what}: {error}") from None
    root, names = _split_root([entry.name for entry in entries], _TORCH_SAVE_ENTRIES, what)
    if "data.pkl" not in names:
        raise CompileError(f"{what}: not a torch.save archive (no data.pkl)")
    try:
        check_pickle(read_entry(data, f"{root}/data.pkl"))
    except (UnsafePickle, ArchiveError) as error:
        raise CompileError(f"{what} refused: {error}") from None


def _pickled_payloads(
    config: Any, what: str, folder: str, prefix: str, names: set[str]
) -> list[str]:
    """The payload files a weights or constants config asks torch to unpickle."""
    entries = config.get("config") if isinstance(config, dict) else None
    if not isinstance(entries, dict):
        raise CompileError(f"{what}: expected an object with a 'config' object")
    pickled = []
    for fqn, meta in entries.items():
        if not _SAFE_NAME.fullmatch(fqn):
            raise CompileError(f"{what}: {fqn!r} is not a plain attribute path")
        path_name = meta.get("path_name") if isinstance(meta, dict) else None
        if not isinstance(path_name, str) or not re.fullmatch(
            re.escape(prefix) + r"\d+", path_name
        ):
            raise CompileError(f"{what}: {fqn!r} is not a plain tensor file ({path_name!r})")
        if f"{folder}/{path_name}" not in names:
            raise CompileError(f"{what}: {fqn!r} names a missing file {path_name!r}")
        _check_tensor_meta(meta.get("tensor_meta"), f"{what}: {fqn!r}")
        if meta.get("use_pickle") is True:
            pickled.append(path_name)
    return pickled


def _check_tensor_meta(meta: Any, what: str) -> None:
    if meta is None:
        return
    sizes = meta.get("sizes") if isinstance(meta, dict) else None
    if not isinstance(sizes, list):
        raise CompileError(f"{what}: malformed tensor metadata")
    elements = 1
    for size in sizes:
        value = size.get("as_int") if isinstance(size, dict) else None
        if not isinstance(value, int) or value < 0:
            raise CompileError(f"{what}: weights need concrete sizes")
        elements *= value
        if elements > MAX_TENSOR_ELEMENTS:
            raise CompileError(f"{what}: more than {MAX_TENSOR_ELEMENTS} elements")


def _check_program_json(program: Any) -> None:
    """Refuse anything in the program JSON that torch would execute or splice into code."""
    if not isinstance(program, dict):
        raise CompileError("models/model.json: expected an object")
    pending: list[Any] = [program]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            _check_object(value)
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, str) and _CONTROL_CHARACTERS.search(value):
            raise CompileError(f"the program holds a string with control characters: {value!r}")


def _check_object(value: dict[str, Any]) -> None:
    for key in _NAME_KEYS.intersection(value):
        name = value[key]
        if isinstance(name, str) and not _SAFE_NAME.fullmatch(name):
            raise CompileError(f"the program holds a {key} that is not a plain name: {name!r}")
    for name in value.get("forward_arg_names") or []:
        if not (isinstance(name, str) and _IDENTIFIER.fullmatch(name)):
            raise CompileError(f"the program's argument name {name!r} is not an identifier")
    for key in ("in_spec", "out_spec"):
        if isinstance(value.get(key), str):
            _check_tree_spec(value[key], key)
    if value.get("guards_code"):
        raise CompileError("the program carries guard code, which torch would execute")
    expression = value.get("expr_str")
    if expression is not None and not (
        isinstance(expression, str) and _SYMBOL_EXPRESSION.fullmatch(expression)
    ):
        raise CompileError(
            f"symbolic shape expression {expression!r} is refused: only plain symbols "
            "(a dynamic batch dimension) are accepted"
        )
    target = value.get("target")
    if (
        "outputs" in value
        and target is not None
        and not (isinstance(target, str) and _TARGET.fullmatch(target))
    ):
        raise CompileError(
            f"graph node {value.get('name')!r} calls {target!r}; only ATen operators "
            "can be compiled"
        )


def _check_tree_spec(spec: str, what: str) -> None:
    """A pytree spec's dict keys become argument names in generated code: identifiers only."""
    try:
        pending: list[Any] = [json.loads(spec)]
    except (ValueError, RecursionError):
        raise CompileError(f"the program's {what} is not valid JSON") from None
    while pending:
        value = pending.pop()
        if isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, dict):
            context = value.get("context")
            if isinstance(context, str):
                _check_spec_context(context, what)
            pending.extend(value.values())


def _check_spec_context(context: str, what: str) -> None:
    try:
        keys = json.loads(context)
    except (ValueError, RecursionError):
        raise CompileError(f"the program's {what} has an unreadable context") from None
    for key in keys if isinstance(keys, list) else [keys]:
        if isinstance(key, str) and not _IDENTIFIER.fullmatch(key):
            raise CompileError(f"the program's {what} names a key {key!r}, not an identifier")

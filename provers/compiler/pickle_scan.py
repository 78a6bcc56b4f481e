"""Decide, without unpickling, whether a pickle can only rebuild plain tensors.

PyTorch unpickles parts of a ``.pt2`` archive with the full, code-running unpickler
(``weights_only=False``), so every such pickle is read here first as a stream of opcodes
(``pickletools.genops``, which parses and executes nothing) while a symbolic stack is kept: each
slot holds a known string, a named global, a mark, or "something else". A pickle is refused
when

- it names a global (``GLOBAL``, ``STACK_GLOBAL``, ``INST``) outside :data:`ALLOWED_CALLS` and
  :data:`ALLOWED_REFERENCES`, or a ``STACK_GLOBAL`` whose names are not known strings;
- it calls (``REDUCE``, ``NEWOBJ``, ``NEWOBJ_EX``, ``OBJ``, ``INST``) anything but a global from
  :data:`ALLOWED_CALLS` — PyTorch's tensor rebuild functions and ``OrderedDict``; a storage type
  or dtype may be named (a storage's persistent id names its type) but never called;
- it uses ``BUILD`` (which sets arbitrary attributes) or the extension registry (``EXT1/2/4``);
- it is not one well-formed pickle ending exactly at ``STOP``.

Both allowlists are subsets of PyTorch's own weights-only allowlist
(``torch._weights_only_unpickler``), cut down to what ``torch.save`` writes for dense tensors.
"""

from __future__ import annotations

import pickletools
from dataclasses import dataclass
from typing import Any

ALLOWED_CALLS: frozenset[tuple[str, str]] = frozenset(
    {
        ("torch._utils", "_rebuild_tensor"),
        ("torch._utils", "_rebuild_tensor_v2"),
        ("torch._utils", "_rebuild_tensor_v3"),
        ("torch._utils", "_rebuild_parameter"),
        ("collections", "OrderedDict"),
    }
)
_STORAGE_TYPES = [
    "Double",
    "Float",
    "Half",
    "BFloat16",
    "Long",
    "Int",
    "Short",
    "Char",
    "Byte",
    "Bool",
    "ComplexDouble",
    "ComplexFloat",
]
_DTYPES = [
    "float64",
    "float32",
    "float16",
    "bfloat16",
    "int64",
    "int32",
    "int16",
    "int8",
    "uint8",
    "bool",
    "complex64",
    "complex128",
]
ALLOWED_REFERENCES: frozenset[tuple[str, str]] = frozenset(
    {("torch", f"{kind}Storage") for kind in _STORAGE_TYPES}
    | {("torch", dtype) for dtype in _DTYPES}
    | {("torch.storage", "UntypedStorage")}
)
MAX_PICKLE_OPCODES = 1 << 22

_STRING_OPS = frozenset(
    {
        "STRING",
        "BINSTRING",
        "SHORT_BINSTRING",
        "UNICODE",
        "SHORT_BINUNICODE",
        "BINUNICODE",
        "BINUNICODE8",
    }
)
_MEMO_PUTS = frozenset({"PUT", "BINPUT", "LONG_BINPUT"})
_MEMO_GETS = frozenset({"GET", "BINGET", "LONG_BINGET"})
_FORBIDDEN = {
    "BUILD": "sets attributes on an object",
    "EXT1": "uses the extension registry",
    "EXT2": "uses the extension registry",
    "EXT4": "uses the extension registry",
}
_CALLABLE_DEPTH = {"REDUCE": 2, "NEWOBJ": 2, "NEWOBJ_EX": 3}
"""How deep below the top of the stack each calling opcode finds what it calls."""


class UnsafePickle(ValueError):
    """The pickle could run code (or is malformed); the message names what it would call."""


@dataclass(frozen=True)
class _Global:
    module: str
    name: str

    def __str__(self) -> str:
        return f"{self.module}.{self.name}"


class _Mark:
    pass


_MARK = _Mark()
_UNKNOWN = object()


def check_pickle(data: bytes) -> None:
    """Raise :class:`UnsafePickle` unless ``data`` is one pickle that only rebuilds tensors."""
    stack: list[Any] = []
    memo: dict[int, Any] = {}
    end = -1
    try:
        for count, (opcode, arg, position) in enumerate(pickletools.genops(data)):
            if count > MAX_PICKLE_OPCODES:
                raise UnsafePickle("the pickle is too long")
            _step(opcode, arg, stack, memo)
            if opcode.name == "STOP":
                end = (position or 0) + 1
    except UnsafePickle:
        raise
    except (ValueError, KeyError, IndexError, TypeError) as error:
        raise UnsafePickle(f"not a well-formed pickle: {error}") from None
    if end != len(data):
        raise UnsafePickle("bytes follow the pickle's end")


def _step(opcode: pickletools.OpcodeInfo, arg: Any, stack: list[Any], memo: dict[int, Any]) -> None:
    name = opcode.name
    if name in _FORBIDDEN:
        raise UnsafePickle(f"the pickle {_FORBIDDEN[name]} ({name})")
    if name in _MEMO_PUTS:
        memo[int(arg)] = _top(stack)
        return
    if name == "MEMOIZE":
        memo[len(memo)] = _top(stack)
        return
    if name in _MEMO_GETS:
        if int(arg) not in memo:
            raise UnsafePickle("the pickle reads a memo slot it never wrote")
        stack.append(memo[int(arg)])
        return
    if name == "DUP":
        stack.append(_top(stack))
        return
    callee = _callee(name, arg, stack)
    if callee is not None and (callee.module, callee.name) not in ALLOWED_CALLS:
        raise UnsafePickle(f"the pickle calls {callee}, which is not a tensor rebuild function")
    pushed = _pushed_value(name, arg, stack)
    _pop(opcode, stack)
    if opcode.stack_after:
        stack.append(pushed)


def _top(stack: list[Any]) -> Any:
    if not stack:
        raise UnsafePickle("the pickle's stack underflows")
    return stack[-1]


def _callee(name: str, arg: Any, stack: list[Any]) -> _Global | None:
    """What a calling opcode calls: a global, or refusal when it is anything else."""
    if name == "INST":
        return _checked_global(*str(arg).split(" ", 1))
    depth = _CALLABLE_DEPTH.get(name)
    if name == "OBJ":
        marks = [i for i, value in enumerate(stack) if value is _MARK]
        if not marks or marks[-1] + 1 >= len(stack):
            raise UnsafePickle("malformed OBJ opcode")
        target = stack[marks[-1] + 1]
    elif depth is not None:
        if len(stack) < depth:
            raise UnsafePickle("the pickle's stack underflows")
        target = stack[-depth]
    else:
        return None
    if not isinstance(target, _Global):
        raise UnsafePickle(f"the pickle calls something that is not a named function ({name})")
    return target


def _pushed_value(name: str, arg: Any, stack: list[Any]) -> Any:
    if name in _STRING_OPS:
        return arg if isinstance(arg, str) else _UNKNOWN
    if name == "MARK":
        return _MARK
    if name in ("GLOBAL", "INST"):
        return _checked_global(*str(arg).split(" ", 1))
    if name == "STACK_GLOBAL":
        if len(stack) < 2 or not all(isinstance(value, str) for value in stack[-2:]):
            raise UnsafePickle("the pickle imports a name it computes at load time")
        return _checked_global(stack[-2], stack[-1])
    return _UNKNOWN


def _checked_global(module: str, name: str = "") -> _Global:
    key = (module, name)
    if key not in ALLOWED_CALLS and key not in ALLOWED_REFERENCES:
        raise UnsafePickle(f"the pickle imports {module}.{name}, which is not on the allowlist")
    return _Global(module, name)


def _pop(opcode: pickletools.OpcodeInfo, stack: list[Any]) -> None:
    before = opcode.stack_before
    if pickletools.markobject in before:
        below_mark = before.index(pickletools.markobject)
        while stack and stack[-1] is not _MARK:
            stack.pop()
        if not stack:
            raise UnsafePickle(f"{opcode.name} without a mark")
        stack.pop()
        count = below_mark
    else:
        count = len(before)
    if len(stack) < count:
        raise UnsafePickle("the pickle's stack underflows")
    del stack[len(stack) - count :]

"""The PyTorch compiler: a ``torch.export`` program (``.pt2``) to a quantised IR model.

Pipeline: :mod:`load` (refuse hostile files before torch reads them, with :mod:`archive` and
:mod:`pickle_scan`) → :mod:`capture` (ATen graph to float graph, one function per op in
:mod:`handlers`, every unsupported op listed) → :mod:`fold` (batch norm folding, ReLU fusion) →
:mod:`quantise` (calibration scales, int8 weights, requant constants) → :mod:`lower` (one IR node
per float node, validation, fidelity). :mod:`support` answers ``veriml check``.

This package is the only part of ``provers`` that needs torch; importing it does not import
torch — the entry points below load their modules on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from provers.compiler.load import load_program
    from provers.compiler.lower import CompileResult, compile_program, quantise_input
    from provers.compiler.support import SupportReport, check

__all__ = [
    "CompileResult",
    "SupportReport",
    "check",
    "compile_program",
    "load_program",
    "quantise_input",
]

_HOMES = {
    "load_program": "provers.compiler.load",
    "compile_program": "provers.compiler.lower",
    "quantise_input": "provers.compiler.lower",
    "CompileResult": "provers.compiler.lower",
    "check": "provers.compiler.support",
    "SupportReport": "provers.compiler.support",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)

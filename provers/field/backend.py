"""The few array operations that differ between numpy and torch.

Field code is written once against int64 arrays. Arithmetic operators (``+ - * % < >>``) mean
the same on numpy arrays and torch tensors (``%`` is a floor modulo on both); everything else
that the field and polynomial code needs goes through this module, which dispatches on the
array's type. torch is imported lazily, so the verifier runs with numpy alone.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

Array = Any  # an np.ndarray or a torch.Tensor of int64


def is_torch(a: Array) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(a, torch.Tensor)


def _torch() -> Any:
    import torch

    return torch


def stack(arrays: Sequence[Array], axis: int = -1) -> Array:
    if is_torch(arrays[0]):
        return _torch().stack(list(arrays), dim=axis)
    return np.stack(arrays, axis=axis)


def concat(arrays: Sequence[Array], axis: int = 0) -> Array:
    if is_torch(arrays[0]):
        return _torch().cat(list(arrays), dim=axis)
    return np.concatenate(arrays, axis=axis)


def where(cond: Array, x: Array, y: Array) -> Array:
    if is_torch(cond):
        return _torch().where(cond, x, y)
    return np.where(cond, x, y)


def zeros(shape: tuple[int, ...], like: Array) -> Array:
    if is_torch(like):
        return _torch().zeros(shape, dtype=_torch().int64, device=like.device)
    return np.zeros(shape, dtype=np.int64)


def as_int64(values: Any, like: Array | None = None) -> Array:
    """Convert to an int64 array on the same backend (and device) as ``like``."""
    if like is not None and is_torch(like):
        torch = _torch()
        if isinstance(values, torch.Tensor):
            return values.to(dtype=torch.int64, device=like.device)
        return torch.as_tensor(np.asarray(values, dtype=np.int64), device=like.device)
    if is_torch(values):
        return values.to(dtype=_torch().int64)
    return np.asarray(values, dtype=np.int64)


def to_numpy(a: Array) -> np.ndarray:
    if is_torch(a):
        return np.asarray(a.detach().cpu().numpy(), dtype=np.int64)
    return np.asarray(a, dtype=np.int64)

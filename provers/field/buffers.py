"""Scratch buffers for the numpy kernels, kept per thread and per call site.

A fresh buffer of a few hundred KiB comes from mmap and costs a page fault per 4 KiB on first
touch, more than the arithmetic done in it, so the chunked kernels reuse theirs.
"""

from __future__ import annotations

import threading

import numpy as np

_buffers = threading.local()


def scratch(owner: str, rows: int, width: int) -> np.ndarray:
    """A (rows, width) uint64 buffer kept for ``owner`` in this thread; ``owner`` names one
    call site, which must not re-enter itself while it holds the buffer."""
    cache: dict[str, np.ndarray] | None = getattr(_buffers, "cache", None)
    if cache is None:
        cache = _buffers.cache = {}
    buffer = cache.get(owner)
    if buffer is None or buffer.shape[0] < rows or buffer.shape[1] < width:
        buffer = np.empty((rows, width), dtype=np.uint64)
        cache[owner] = buffer
    return buffer[:rows, :width]

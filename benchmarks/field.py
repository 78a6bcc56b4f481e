"""Throughput of challenge-field arithmetic."""

from __future__ import annotations

import time

import numpy as np

from provers.field import base, ext


def benchmark_field(log_n: int) -> dict[str, float]:
    rng = np.random.default_rng(0)
    n = 1 << log_n
    a, b = ext.random(n, rng), ext.random(n, rng)
    x, y = base.random(n, rng), base.random(n, rng)
    ext.mul(a, b)
    repeats = 3
    start = time.perf_counter()
    for _ in range(repeats):
        ext.mul(a, b)
    ext_seconds = (time.perf_counter() - start) / repeats
    start = time.perf_counter()
    for _ in range(repeats):
        base.mul(x, y)
    base_seconds = (time.perf_counter() - start) / repeats
    return {
        "n": n,
        "ext_mul_per_s": n / ext_seconds,
        "base_mul_per_s": n / base_seconds,
    }

"""Hostile bytes: seeded random mutations of valid proof files are all rejected with a typed
reason, and none makes the verifier raise anything else, hang or accept."""

from __future__ import annotations

import time
from collections import Counter

import numpy as np

from provers import api
from provers.errors import Reject

MUTATIONS_PER_FILE = 2000
TIME_BOUND_SECONDS = 240.0
KNOWN_REASONS = {reason.value for reason in Reject}


def mutate(data: bytes, rng: np.random.Generator) -> bytes:
    """One of: flip bits, overwrite bytes, truncate, extend, insert, delete, duplicate a span."""
    kind = int(rng.integers(0, 7))
    buf = bytearray(data)
    position = int(rng.integers(0, len(buf)))
    if kind == 0:
        for _ in range(int(rng.integers(1, 4))):
            buf[int(rng.integers(0, len(buf)))] ^= 1 << int(rng.integers(0, 8))
    elif kind == 1:
        span = int(rng.integers(1, 9))
        buf[position : position + span] = rng.integers(0, 256, span, dtype=np.uint8).tobytes()
    elif kind == 2:
        del buf[position:]
    elif kind == 3:
        buf += rng.integers(0, 256, int(rng.integers(1, 64)), dtype=np.uint8).tobytes()
    elif kind == 4:
        buf[position:position] = rng.integers(
            0, 256, int(rng.integers(1, 9)), dtype=np.uint8
        ).tobytes()
    elif kind == 5:
        del buf[position : position + int(rng.integers(1, 64))]
    else:
        span = int(rng.integers(1, 64))
        buf[position:position] = buf[position : position + span]
    mutated = bytes(buf)
    return mutated if mutated != data else mutated + b"\x00"


def test_ten_thousand_mutations_are_all_rejected_with_a_typed_reason(
    proof_files: dict[str, bytes],
) -> None:
    rng = np.random.default_rng(20261124)
    reasons: Counter[str] = Counter()
    slowest = 0.0
    started = time.perf_counter()
    total = 0
    for name in sorted(proof_files):
        original = proof_files[name]
        for _ in range(MUTATIONS_PER_FILE):
            mutated = mutate(original, rng)
            begin = time.perf_counter()
            result = api.verify(mutated)
            slowest = max(slowest, time.perf_counter() - begin)
            assert not result.accepted, f"{name}: a mutated proof was accepted"
            assert result.reason in KNOWN_REASONS
            reasons[result.reason or ""] += 1
            total += 1
    elapsed = time.perf_counter() - started
    assert total >= 10_000
    assert elapsed < TIME_BOUND_SECONDS, f"{total} verifications took {elapsed:.0f} s"
    assert slowest < 5.0, f"one verification took {slowest:.1f} s"
    assert len(reasons) >= 8, reasons

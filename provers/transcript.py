"""Labelled Fiat–Shamir transcript over SHA-256.

State s_0 = H("veriml/transcript/v1" ‖ frame(domain)). Absorbing (label, data) sets
s ← H(0x01 ‖ s ‖ frame(label) ‖ frame(data)), where frame(x) = len(x) as u64 ‖ x, so no two
different message sequences give the same byte string. A challenge under a label is read from
the stream H(0x02 ‖ s ‖ frame(label) ‖ counter) for counter = 0, 1, …, and then the label
and the amount read are absorbed, so every later challenge depends on every earlier one.

Challenge-field elements are drawn coefficient by coefficient by rejection sampling: take 31
bits, keep them when below p (probability 15/16), so each coefficient is exactly uniform —
no modulo bias. Indices below a bound are drawn the same way.

Prover and verifier call the same ``absorb_*`` functions; protocol modules never hash by hand.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator

import numpy as np

from provers.field import base, ext
from provers.field.backend import Array, to_numpy

_U64 = struct.Struct("<Q")


def _frame(data: bytes) -> bytes:
    return _U64.pack(len(data)) + data


class Transcript:
    """A Fiat–Shamir transcript. Copy with :meth:`fork` to run a subprotocol speculatively."""

    def __init__(self, domain: str | bytes) -> None:
        dom = domain.encode() if isinstance(domain, str) else domain
        self._state = hashlib.sha256(b"veriml/transcript/v1" + _frame(dom)).digest()

    @property
    def state(self) -> bytes:
        return self._state

    def fork(self) -> Transcript:
        other = Transcript.__new__(Transcript)
        other._state = self._state
        return other

    # --- absorbing -------------------------------------------------------------------------

    def absorb_bytes(self, label: str, data: bytes) -> None:
        self._state = hashlib.sha256(
            b"\x01" + self._state + _frame(label.encode()) + _frame(data)
        ).digest()

    def absorb_int(self, label: str, value: int) -> None:
        if value < 0:
            raise ValueError("absorb_int takes non-negative integers")
        self.absorb_bytes(label, value.to_bytes((value.bit_length() + 7) // 8 or 1, "little"))

    def absorb_ints(self, label: str, values: list[int] | tuple[int, ...]) -> None:
        self.absorb_bytes(label, b"".join(_U64.pack(v) for v in values))

    def absorb_base(self, label: str, values: Array) -> None:
        """Base-field values of any shape; the shape is absorbed with them."""
        arr = to_numpy(values)
        self.absorb_bytes(
            label,
            _frame(b"".join(_U64.pack(d) for d in arr.shape)) + arr.astype("<u4").tobytes(),
        )

    def absorb_ext(self, label: str, values: Array) -> None:
        """Challenge-field values, shape (4, …); the shape is absorbed with them."""
        self.absorb_base(label, values)

    # --- squeezing -------------------------------------------------------------------------

    def _stream(self, label: str) -> Iterator[bytes]:
        counter = 0
        lab = _frame(label.encode())
        while True:
            yield hashlib.sha256(b"\x02" + self._state + lab + _U64.pack(counter)).digest()
            counter += 1

    def _draw_below(self, label: str, count: int, bound: int) -> list[int]:
        """``count`` integers uniform in [0, bound) by rejection sampling on masked words."""
        if bound <= 0:
            raise ValueError("bound must be positive")
        bits = max(1, (bound - 1).bit_length())
        word_bytes = (bits + 7) // 8
        mask = (1 << bits) - 1
        out: list[int] = []
        buf = b""
        stream = self._stream(label)
        while len(out) < count:
            while len(buf) < word_bytes:
                buf += next(stream)
            word, buf = (
                int.from_bytes(buf[:word_bytes], "little") & mask,
                buf[word_bytes:],
            )
            if word < bound:
                out.append(word)
        self.absorb_bytes("squeezed:" + label, _U64.pack(count) + _U64.pack(bound))
        return out

    def challenge_ext(self, label: str) -> np.ndarray:
        """One uniformly random challenge-field element, shape (4,)."""
        return self.challenge_exts(label, 1)[:, 0].copy()

    def challenge_exts(self, label: str, n: int) -> np.ndarray:
        """``n`` independent uniform challenge-field elements, a (4, n) vector."""
        vals = self._draw_below(label, n * ext.DEGREE, base.P)
        return np.ascontiguousarray(np.asarray(vals, dtype=np.int64).reshape(n, ext.DEGREE).T)

    def challenge_indices(self, label: str, n: int, bound: int) -> list[int]:
        """``n`` indices uniform in [0, bound), drawn independently (repeats possible)."""
        return self._draw_below(label, n, bound)

    def challenge_bytes(self, label: str, n: int) -> bytes:
        out = b""
        stream = self._stream(label)
        while len(out) < n:
            out += next(stream)
        self.absorb_bytes("squeezed:" + label, _U64.pack(n))
        return out[:n]

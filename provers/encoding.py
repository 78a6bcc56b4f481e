"""Canonical binary encoding of proof parts.

Every value has exactly one encoding: integers are fixed-width little-endian, field elements are
u32 below p (a value ≥ p is rejected, not reduced), vectors carry a u32 count that the reader
checks against a caller-given bound *before* it allocates or slices. A reader that runs out of
bytes, meets a non-canonical element, or a count above its bound raises ``VerificationError``;
it never raises anything else on any input.
"""

from __future__ import annotations

import struct

import numpy as np

from provers.errors import Reject, VerificationError
from provers.field import base, ext

_U8 = struct.Struct("<B")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
DIGEST_BYTES = 32


class Writer:
    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def u8(self, v: int) -> None:
        self._parts.append(_U8.pack(v))

    def u32(self, v: int) -> None:
        self._parts.append(_U32.pack(v))

    def u64(self, v: int) -> None:
        self._parts.append(_U64.pack(v))

    def raw(self, data: bytes) -> None:
        """Fixed-length bytes whose length the reader knows (digests, nonces)."""
        self._parts.append(bytes(data))

    def blob(self, data: bytes) -> None:
        """Variable-length bytes, length-prefixed."""
        self.u32(len(data))
        self._parts.append(bytes(data))

    def base_vec(self, values: np.ndarray) -> None:
        """A 1-d base-field vector: count, then u32 values."""
        arr = np.asarray(values, dtype=np.int64).reshape(-1)
        self.u32(arr.shape[0])
        self._parts.append(arr.astype("<u4").tobytes())

    def ext_elem(self, value: np.ndarray) -> None:
        self._parts.append(np.asarray(value, dtype=np.int64).reshape(4).astype("<u4").tobytes())

    def ext_vec(self, values: np.ndarray) -> None:
        """A (4, n) challenge-field vector: count n, then element by element."""
        arr = np.asarray(values, dtype=np.int64)
        self.u32(arr.shape[1])
        self._parts.append(ext.to_bytes(arr))

    def getvalue(self) -> bytes:
        return b"".join(self._parts)


class Reader:
    """Reads what :class:`Writer` wrote. Every read checks lengths and ranges first."""

    def __init__(self, data: bytes) -> None:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise VerificationError(Reject.MALFORMED, "proof must be bytes")
        self._data = bytes(data)
        self._pos = 0

    @property
    def remaining(self) -> int:
        return len(self._data) - self._pos

    def _take(self, n: int, what: str) -> bytes:
        if n < 0 or n > self.remaining:
            raise VerificationError(
                Reject.TRUNCATED, f"{what}: need {n} bytes, {self.remaining} left"
            )
        out = self._data[self._pos : self._pos + n]
        self._pos += n
        return out

    def u8(self, what: str = "u8") -> int:
        return int(_U8.unpack(self._take(1, what))[0])

    def u32(self, what: str = "u32") -> int:
        return int(_U32.unpack(self._take(4, what))[0])

    def u64(self, what: str = "u64") -> int:
        return int(_U64.unpack(self._take(8, what))[0])

    def bounded_u32(self, what: str, low: int, high: int) -> int:
        v = self.u32(what)
        if not low <= v <= high:
            raise VerificationError(
                Reject.LENGTH_OUT_OF_BOUNDS, f"{what} = {v}, expected {low}..{high}"
            )
        return v

    def raw(self, n: int, what: str = "bytes") -> bytes:
        return self._take(n, what)

    def blob(self, what: str, max_len: int) -> bytes:
        n = self.bounded_u32(what + " length", 0, max_len)
        return self._take(n, what)

    def _count(self, what: str, expected: int | None, max_count: int) -> int:
        n = self.u32(what + " count")
        if expected is not None and n != expected:
            raise VerificationError(
                Reject.LENGTH_OUT_OF_BOUNDS,
                f"{what}: {n} elements, expected {expected}",
            )
        if n > max_count:
            raise VerificationError(
                Reject.LENGTH_OUT_OF_BOUNDS,
                f"{what}: {n} elements, at most {max_count}",
            )
        return n

    def _field_words(self, count: int, what: str) -> np.ndarray:
        raw = self._take(4 * count, what)
        arr = np.frombuffer(raw, dtype="<u4").astype(np.int64)
        if count and int(arr.max()) >= base.P:
            raise VerificationError(Reject.NON_CANONICAL_FIELD_ELEMENT, f"{what}: value ≥ p")
        return arr

    def base_vec(
        self, what: str, expected: int | None = None, max_count: int = 1 << 26
    ) -> np.ndarray:
        n = self._count(what, expected, max_count)
        return self._field_words(n, what)

    def ext_elem(self, what: str) -> np.ndarray:
        return self._field_words(4, what)

    def ext_vec(
        self, what: str, expected: int | None = None, max_count: int = 1 << 24
    ) -> np.ndarray:
        n = self._count(what, expected, max_count)
        words = self._field_words(4 * n, what)
        return np.ascontiguousarray(words.reshape(n, 4).T)

    def finish(self, what: str = "proof") -> None:
        if self.remaining:
            raise VerificationError(
                Reject.TRAILING_BYTES, f"{what}: {self.remaining} bytes after the end"
            )

"""Reduction modulo p for numpy integer vectors, written into caller-owned buffers.

numpy's integer remainder divides element by element in hardware (about 2 ns each), while its
floor division by a scalar runs libdivide's multiply-and-shift (about 0.4 ns for unsigned
64-bit values), so x mod p = x − ⌊x/p⌋·p costs half of ``x % p``. Unsigned values may use all
64 bits. Signed sums whose magnitude is known to stay below a bound m·p are first shifted by
m·p into the unsigned range (signed division branches on the sign and is several times slower).
numpy only: torch callers keep ``%``.
"""

from __future__ import annotations

import numpy as np

from provers.field.base import P

P_U64 = np.uint64(P)


def reduce_into(values: np.ndarray, out: np.ndarray, quotient: np.ndarray) -> None:
    """out = values mod p for uint64 ``values``; ``out`` may be ``values``, ``quotient`` is
    scratch of the same shape that aliases neither."""
    np.floor_divide(values, P_U64, out=quotient)
    np.multiply(quotient, P_U64, out=quotient)
    np.subtract(values, quotient, out=out)


def reduce_shifted_into(
    values: np.ndarray, shift: int, out: np.ndarray, quotient: np.ndarray
) -> None:
    """out = values mod p for int64 ``values`` in (−shift, 2^64 − shift), ``shift`` a multiple
    of p: adding it (wrapping in 64 bits) leaves the residue and makes every value unsigned.
    ``values`` is overwritten; ``out`` and ``quotient`` are int64 or uint64 buffers."""
    unsigned = values.view(np.uint64)
    np.add(unsigned, np.uint64(shift), out=unsigned)
    reduce_into(unsigned, out.view(np.uint64), quotient.view(np.uint64))

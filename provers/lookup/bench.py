"""Benchmark of the lookup argument: 2^n witness values into a range table of 2^k rows.

Run ``python -m provers.lookup.bench 20 16``; prints one JSON object, then a table. Wall-clock
seconds on whatever cores the process gets, of two modes:
  * the lookup argument alone (multiplicities and GKR; the claims on the witness and m left to
    the caller's commitment): ``prove_s``, ``verify_s``, ``proof_bytes``;
  * self-contained (provers/lookup/standalone.py: the witness and m committed with the PCS and
    opened at the claims): ``standalone_prove_s``, ``standalone_verify_s``,
    ``standalone_proof_bytes``.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import numpy as np

from provers.lookup import standalone
from provers.lookup.multiplicities import compute_multiplicities
from provers.lookup.proof import LookupProof, StandaloneLookupProof
from provers.lookup.prover import prove_as_subprotocol
from provers.lookup.statement import LookupStatement
from provers.lookup.table import range_table
from provers.lookup.verifier import verify_as_subprotocol
from provers.transcript import Transcript

_DOMAIN = "veriml/lookup-bench/v1"
_COMMITMENT = bytes(32)


def benchmark_lookup(
    log_n: int, log_table: int, seed: int = 0, standalone_mode: bool = True
) -> dict[str, Any]:
    """Prove and verify one lookup of 2^log_n values into range[0, 2^log_table)."""
    rng = np.random.default_rng(seed)
    statement = LookupStatement(range_table(log_table), 1, log_n)
    witness = [[rng.integers(0, 1 << log_table, size=1 << log_n, dtype=np.int64)]]
    start = time.perf_counter()
    multiplicities = compute_multiplicities(statement, witness)
    counted = time.perf_counter()
    proof, _ = prove_as_subprotocol(
        statement, witness, multiplicities, Transcript(_DOMAIN), _COMMITMENT, _COMMITMENT
    )
    proved = time.perf_counter()
    data = proof.to_bytes()
    decode_start = time.perf_counter()
    verify_as_subprotocol(
        statement, LookupProof.from_bytes(data), Transcript(_DOMAIN), _COMMITMENT, _COMMITMENT
    )
    verified = time.perf_counter()
    result: dict[str, Any] = {
        "log_n": log_n,
        "log_table": log_table,
        "multiplicities_s": round(counted - start, 4),
        "prove_s": round(proved - start, 4),
        "verify_s": round(verified - decode_start, 4),
        "proof_bytes": len(data),
    }
    if standalone_mode:
        result.update(_benchmark_standalone(statement, witness))
    return result


def _benchmark_standalone(
    statement: LookupStatement, witness: list[list[np.ndarray]]
) -> dict[str, Any]:
    start = time.perf_counter()
    proof = standalone.prove(statement, witness)
    proved = time.perf_counter()
    data = proof.to_bytes()
    decode_start = time.perf_counter()
    standalone.verify(statement, StandaloneLookupProof.from_bytes(data))
    verified = time.perf_counter()
    return {
        "standalone_prove_s": round(proved - start, 4),
        "standalone_verify_s": round(verified - decode_start, 4),
        "standalone_proof_bytes": len(data),
    }


def _print_table(result: dict[str, Any]) -> None:
    width = max(len(key) for key in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")


def main(argv: list[str]) -> None:
    log_n = int(argv[0]) if argv else 20
    log_table = int(argv[1]) if len(argv) > 1 else 16
    result = benchmark_lookup(log_n, log_table)
    print(json.dumps(result))
    _print_table(result)


if __name__ == "__main__":
    main(sys.argv[1:])

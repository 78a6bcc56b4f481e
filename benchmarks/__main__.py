"""Run the proof-system benchmarks and print a table and JSON.

python -m benchmarks            full sizes (minutes on two cores)
python -m benchmarks --tiny     small sizes, seconds; run by the test suite so nothing rots
python -m benchmarks --only pcs --json out.json
"""

from __future__ import annotations

import argparse
import json
import platform as stdlib_platform
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

Case = tuple[str, Callable[[], dict[str, Any]]]


def _cases(tiny: bool) -> list[Case]:
    from benchmarks.field import benchmark_field
    from provers.commit.bench import benchmark_pcs
    from provers.lookup.bench import benchmark_lookup
    from provers.sumcheck.bench import benchmark_sumcheck

    if tiny:
        return [
            ("field ext mul 2^12", lambda: benchmark_field(12)),
            ("sumcheck deg2 2^8", lambda: benchmark_sumcheck(8)),
            ("pcs 2^10", lambda: benchmark_pcs(10)),
            ("lookup 2^8 into 2^4", lambda: benchmark_lookup(8, 4)),
        ]
    return [
        ("field ext mul 2^20", lambda: benchmark_field(20)),
        ("sumcheck deg2 2^20", lambda: benchmark_sumcheck(20)),
        ("sumcheck deg2 2^22", lambda: benchmark_sumcheck(22)),
        ("pcs 2^20", lambda: benchmark_pcs(20)),
        ("pcs 2^24", lambda: benchmark_pcs(24)),
        ("lookup 2^20 into 2^16", lambda: benchmark_lookup(20, 16)),
    ]


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1e4 else f"{value:.3e}"
    return str(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--tiny", action="store_true", help="small sizes (seconds)")
    parser.add_argument("--only", help="run only cases whose name contains this text")
    parser.add_argument("--json", dest="json_path", help="also write the results to this file")
    args = parser.parse_args(argv)

    results = []
    for name, run in _cases(args.tiny):
        if args.only and args.only not in name:
            continue
        started = time.perf_counter()
        figures = run()
        figures["wall_s"] = time.perf_counter() - started
        results.append({"case": name, **figures})
        row = ", ".join(f"{k}={_format(v)}" for k, v in figures.items())
        print(f"{name:<28} {row}", flush=True)

    report = {
        "machine": {
            "python": sys.version.split()[0],
            "processor": stdlib_platform.machine(),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        },
        "results": results,
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.json_path:
        with open(args.json_path, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

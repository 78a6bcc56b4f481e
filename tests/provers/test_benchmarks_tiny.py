"""The benchmark runner at tiny sizes, so the benchmarks never rot."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.__main__ import main


def test_the_tiny_benchmarks_run_and_write_json(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "bench.json"
    assert main(["--tiny", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    cases = {row["case"]: row for row in report["results"]}
    assert len(cases) == 4
    assert all(row["wall_s"] > 0 for row in cases.values())
    assert cases["sumcheck deg2 2^8"]["proof_bytes"] > 0
    assert "field ext mul 2^12" in capsys.readouterr().out


def test_the_inference_benchmark_runs_in_the_private_mode() -> None:
    from benchmarks.inference import benchmark_inference

    for case in ("tiny@input,output", "tiny@weights,input"):
        figures = benchmark_inference(case)
        assert figures["model"] == case
        assert figures["soundness_bits"] >= 100 and figures["proof_bytes"] > 0

"""Proof files end to end: the header, each protocol's statement, the CLI's exit codes."""

from __future__ import annotations

import dataclasses
import json
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from provers import api, cli, params
from provers.container import ProofFile, Protocol
from provers.encoding import Reader, Writer
from provers.errors import Reject
from provers.standalone.common import write_parameters


def _reason(data: bytes) -> str | None:
    result = api.verify(data)
    assert not result.accepted
    return result.reason


@pytest.mark.parametrize(
    "name", ["sumcheck", "sumcheck_hiding", "opening", "opening_hiding", "lookup"]
)
def test_every_core_proof_file_verifies(proof_files: dict[str, bytes], name: str) -> None:
    result = api.verify(proof_files[name])
    assert result.accepted, result.detail
    assert result.soundness_bits is not None and result.soundness_bits >= 100
    assert api.inspect(proof_files[name])["total_bytes"] == len(proof_files[name])


def _with(data: bytes, **changes: object) -> bytes:
    proof = ProofFile.from_bytes(data)
    return dataclasses.replace(proof, **changes).to_bytes()  # type: ignore[arg-type]


def _params(**pcs_changes: object) -> bytes:
    base_params = params.ProofParameters.default()
    pcs = dataclasses.replace(base_params.pcs, **pcs_changes)  # type: ignore[arg-type]
    return write_parameters(dataclasses.replace(base_params, pcs=pcs))


def _weak_minimum() -> bytes:
    return write_parameters(
        dataclasses.replace(params.ProofParameters.default(), min_soundness_bits=64)
    )


def _digest_flipped(data: bytes) -> bytes:
    proof = ProofFile.from_bytes(data)
    encoded = bytearray(data)
    offset = data.index(proof.digest)
    encoded[offset] ^= 1
    return bytes(encoded)


HEADER_CASES: dict[str, tuple[Callable[[bytes], bytes], Reject]] = {
    "bad_magic": (lambda d: b"XXXX" + d[4:], Reject.BAD_MAGIC),
    "newer_format_version": (
        lambda d: d[:4] + struct.pack("<H", 2) + d[6:],
        Reject.UNSUPPORTED_VERSION,
    ),
    "unknown_protocol": (lambda d: d[:6] + bytes([99]) + d[7:], Reject.UNKNOWN_PROTOCOL),
    "statement_digest_flipped": (_digest_flipped, Reject.STATEMENT_MISMATCH),
    "overstated_soundness": (
        lambda d: _with(d, soundness_bits=ProofFile.from_bytes(d).soundness_bits + 1),
        Reject.PARAMETER_MISMATCH,
    ),
    "fewer_column_queries": (
        lambda d: _with(d, parameters=_params(num_queries=64)),
        Reject.PARAMETER_MISMATCH,
    ),
    "weaker_minimum": (
        lambda d: _with(d, parameters=_weak_minimum()),
        Reject.INSUFFICIENT_SOUNDNESS,
    ),
    "truncated": (lambda d: d[: len(d) // 2], Reject.TRUNCATED),
    "trailing_byte": (lambda d: d + b"\x00", Reject.TRAILING_BYTES),
    "empty": (lambda d: b"", Reject.TRUNCATED),
}


@pytest.mark.parametrize("case", sorted(HEADER_CASES))
@pytest.mark.parametrize("name", ["sumcheck", "opening", "lookup"])
def test_the_header_tamper_table(proof_files: dict[str, bytes], name: str, case: str) -> None:
    tamper, reason = HEADER_CASES[case]
    assert _reason(tamper(proof_files[name])) == reason.value


def test_a_proof_relabelled_as_another_protocol_is_rejected(proof_files: dict[str, bytes]) -> None:
    relabelled = _with(proof_files["sumcheck"], protocol=Protocol.LOOKUP)
    assert not api.verify(relabelled).accepted


def _replace_claimed_sum(data: bytes) -> bytes:
    proof = ProofFile.from_bytes(data)
    statement = bytearray(proof.statement)
    last = len(statement) - 16  # the claimed sum: the statement's final element
    value = int.from_bytes(statement[last : last + 4], "little")
    statement[last : last + 4] = ((value + 1) % 2013265921).to_bytes(4, "little")
    return dataclasses.replace(proof, statement=bytes(statement)).to_bytes()


def test_a_wrong_claimed_sum_is_rejected(proof_files: dict[str, bytes]) -> None:
    assert _reason(_replace_claimed_sum(proof_files["sumcheck"])) == Reject.ROUND_SUM_MISMATCH.value
    assert _reason(_replace_claimed_sum(proof_files["sumcheck_hiding"])) == (
        Reject.ROUND_SUM_MISMATCH.value
    )


def test_a_wrong_opened_value_is_rejected(proof_files: dict[str, bytes]) -> None:
    proof = ProofFile.from_bytes(proof_files["opening"])
    statement = bytearray(proof.statement)
    statement[-16] = (statement[-16] + 1) % 256
    forged = dataclasses.replace(proof, statement=bytes(statement)).to_bytes()
    assert _reason(forged) == Reject.EVALUATION_MISMATCH.value


def test_a_lookup_against_another_table_is_rejected(proof_files: dict[str, bytes]) -> None:
    proof = ProofFile.from_bytes(proof_files["lookup"])
    reader = Reader(proof.statement)
    log_size, width, kind, offset = reader.u32(), reader.u8(), reader.u8(), reader.u32()
    rest = reader.raw(reader.remaining)
    w = Writer()
    w.u32(log_size)
    w.u8(width)
    w.u8(kind)
    w.u32(offset + 1)
    w.raw(rest)
    forged = dataclasses.replace(proof, statement=w.getvalue()).to_bytes()
    # The table identity is absorbed before α, so every later check fails; the first one is
    # the layer sumcheck's.
    assert _reason(forged) == Reject.ROUND_SUM_MISMATCH.value


def test_the_cli_exit_codes(proof_files: dict[str, bytes], tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    good = tmp_path / "good.vmp"
    good.write_bytes(proof_files["sumcheck"])
    bad = tmp_path / "bad.vmp"
    bad.write_bytes(_replace_claimed_sum(proof_files["sumcheck"]))
    junk = tmp_path / "junk.vmp"
    junk.write_bytes(b"not a proof at all")
    assert cli.main(["verify", str(good)]) == 0
    assert cli.main(["verify", str(bad)]) == 1
    assert cli.main(["verify", str(junk)]) == 2
    assert cli.main(["verify", str(tmp_path / "missing.vmp")]) == 2
    capsys.readouterr()
    assert cli.main(["verify", str(good), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["accepted"] is True and report["protocol"] == "sumcheck"
    assert cli.main(["inspect", str(good)]) == 0
    assert cli.main(["inspect", str(junk)]) == 2
    capsys.readouterr()
    assert cli.main(["params", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["soundness_bits"] >= 100


def test_the_default_parameters_give_at_least_100_bits() -> None:
    report = params.default_report()
    assert report["soundness_bits"] >= 100
    shape = params.REFERENCE_SHAPE
    assert params.soundness_bits(params.ProofParameters.default(), shape) >= 100


def test_soundness_falls_with_fewer_queries_and_larger_lookups() -> None:
    default = params.ProofParameters.default()
    weaker = dataclasses.replace(default, pcs=dataclasses.replace(default.pcs, num_queries=64))
    shape = params.ProofShape(openings=((20, False),))
    assert params.soundness_bits(weaker, shape) < 100 <= params.soundness_bits(default, shape)
    small = params.ProofShape(lookups=((16, 8),))
    huge = params.ProofShape(lookups=((30, 16),))
    assert params.soundness_bits(default, huge) < params.soundness_bits(default, small)


def test_hiding_proof_files_contain_no_table_values() -> None:
    from provers.standalone import committed_sum

    rng = np.random.default_rng(99)
    secret = [np.arange(1_000_003, 1_000_003 + 64, dtype=np.int64), rng.integers(1, 9, 64)]
    data = committed_sum.prove(secret, hiding=True)
    for value in secret[0]:
        assert struct.pack("<I", int(value)) not in data
    # Fresh masks every time: two proofs of the same secret share no round message.
    again = committed_sum.prove(secret, hiding=True)
    assert data != again and data[-4096:] != again[-4096:]

"""The ``veriml`` command.

    veriml verify PROOF.vmp [--model DIGEST] [--json]   exit 0 accepted, 1 rejected, 2 unreadable
    veriml inspect PROOF.vmp                            a readable summary of the header
    veriml params                                       the proof parameters and their soundness

Model compilation, inference proofs and audits join this command as the compiler lands.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

EXIT_ACCEPTED = 0
EXIT_REJECTED = 1
EXIT_UNREADABLE = 2


def _read(path: str) -> bytes | None:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        print(f"veriml: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return None


def _cmd_verify(args: argparse.Namespace) -> int:
    from provers import api

    data = _read(args.proof)
    if data is None:
        return EXIT_UNREADABLE
    result = api.verify(data, expected_model_digest=args.model)
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
    elif result.accepted:
        print(f"accepted: {result.protocol} proof, {result.soundness_bits} bits of soundness")
        for key, value in result.statement.items():
            print(f"  {key}: {value}")
    else:
        print(f"rejected: {result.reason}: {result.detail}")
    if result.accepted:
        return EXIT_ACCEPTED
    return EXIT_UNREADABLE if result.unreadable else EXIT_REJECTED


def _cmd_inspect(args: argparse.Namespace) -> int:
    from provers import api

    data = _read(args.proof)
    if data is None:
        return EXIT_UNREADABLE
    try:
        summary = api.inspect(data)
    except api.VerificationError as exc:
        print(f"unreadable: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    for key, value in summary.items():
        print(f"{key:>16}: {value}")
    return EXIT_ACCEPTED


def _cmd_params(args: argparse.Namespace) -> int:
    from provers import params

    report = params.default_report()
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for key, value in report.items():
            print(f"{key:>22}: {value}")
    return EXIT_ACCEPTED


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="veriml",
        description="Zero-knowledge proofs of machine-learning inference and accuracy.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    verify = sub.add_parser("verify", help="check a proof file offline")
    verify.add_argument("proof", help="the proof file (.vmp)")
    verify.add_argument("--model", help="reject unless the proof names this model digest")
    verify.add_argument("--json", action="store_true", help="machine-readable output")
    verify.set_defaults(func=_cmd_verify)

    inspect = sub.add_parser("inspect", help="summarise a proof file's header")
    inspect.add_argument("proof")
    inspect.set_defaults(func=_cmd_inspect)

    params = sub.add_parser("params", help="show the proof parameters and soundness")
    params.add_argument("--json", action="store_true")
    params.set_defaults(func=_cmd_params)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return EXIT_UNREADABLE if exc.code else EXIT_ACCEPTED
    if args.command is None:
        parser.print_help()
        return EXIT_ACCEPTED
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())

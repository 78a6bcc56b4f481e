"""The ``veriml`` command.

    veriml check   MODEL.pt2                                  support, size, cost estimate
    veriml compile MODEL.pt2 --calibration DATA -o MODEL.vmc [--range-proof RANGE.vmp]
                                                              quantise, commit, prove every
                                                              weight int8; prints the digest
    veriml prove   MODEL.vmc INPUT -o PROOF.vmp [--nonce HEX]
    veriml audit   MODEL.vmc TESTSET -o PROOF.vmp [--chunk-size N] [--nonce HEX]
                                                              accuracy on a labelled test set
    veriml verify  PROOF.vmp [--model DIGEST] [--dataset DIGEST] [--json]
                                                              exit 0 accepted, 1 rejected,
                                                              2 unreadable or usage error;
                                                              RANGE.vmp: the weights are int8
    veriml inspect PROOF.vmp                                  a readable summary of the header
    veriml params                                             the parameters and their soundness

Errors a person can fix (an unsupported op, a hostile or unreadable file, a bad argument) print
one clear message and exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

EXIT_ACCEPTED = 0
EXIT_REJECTED = 1
EXIT_UNREADABLE = 2


def _read(path: str) -> bytes | None:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        print(f"veriml: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return None


class _ProgressBar:
    """A one-line progress bar on standard error, only when it is a terminal."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()
        self._last = ""

    def __call__(self, stage: str, fraction: float) -> None:
        if not self.enabled:
            return
        filled = int(max(0.0, min(1.0, fraction)) * 30)
        line = f"\r{stage:<12} [{'#' * filled}{'.' * (30 - filled)}] {fraction * 100:5.1f}%"
        if line != self._last:
            sys.stderr.write(line)
            sys.stderr.flush()
            self._last = line

    def close(self) -> None:
        if self.enabled and self._last:
            sys.stderr.write("\n")
            self._last = ""


def _user_errors() -> tuple[type[BaseException], ...]:
    from provers.errors import CompileError, ProverError
    from provers.tensors import TensorFileError

    return (CompileError, ProverError, TensorFileError, OSError)


def _cmd_check(args: argparse.Namespace) -> int:
    from provers import api

    try:
        report = api.check_model(args.model)
    except _user_errors() as exc:
        print(f"veriml: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print_check(report)
    return EXIT_ACCEPTED if report["supported"] else EXIT_UNREADABLE


def _print_check(report: dict[str, object]) -> None:
    if not report["supported"]:
        print("unsupported model:")
        for op in report["unsupported"]:  # type: ignore[attr-defined]
            where = f" at {op['source']}" if op.get("source") else ""
            print(f"  {op['op']} (node {op['node']}){where}")
        print("supported ops: " + ", ".join(report["supported_ops"]))  # type: ignore[arg-type]
        return
    circuit = report["circuit"] or {}
    estimate = report["estimate"] or {}
    print("supported: yes")
    print(f"parameters: {report['parameters']:,}")
    print(f"input shape: {report['input_shape']}  output shape: {report['output_shape']}")
    print(f"multiplications: {circuit['multiplications']:,}  lookups: {circuit['lookups']:,}")  # type: ignore[index]
    print(
        f"estimate per sample: {estimate['prove_seconds']:.2f} s, "  # type: ignore[index]
        f"{estimate['peak_memory_bytes'] / 2**20:.0f} MiB"  # type: ignore[index]
    )


def _cmd_compile(args: argparse.Namespace) -> int:
    from provers import api

    bar = _ProgressBar()
    try:
        result = api.compile_model(
            args.model,
            args.calibration,
            args.output,
            progress=bar,
            range_proof_path=args.range_proof,
            private_weights=args.private_weights,
            proofs=args.proofs,
        )
    except _user_errors() as exc:
        bar.close()
        print(f"veriml: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    bar.close()
    fidelity = result["fidelity"]
    print(f"compiled {args.model} -> {args.output}")
    print(f"parameters: {result['parameters']:,}")
    print(
        f"float vs quantised on the calibration data: top-1 agreement "
        f"{fidelity['top1_agreement'] * 100:.2f}%, max error {fidelity['max_abs_error']:.4g}"
    )
    if args.range_proof:
        print(
            f"weight range proof (every weight is int8): {args.range_proof} "
            f"({result['range_proof_bytes']:,} bytes)"
        )
    if result["private_weights"]:
        print(
            f"weights committed hidden, for {result['proofs']} zero-knowledge proofs "
            f"(keep {args.output} as secret as the weights)"
        )
    print(f"model digest: {result['digest']}")
    return EXIT_ACCEPTED


def _run_prover(args: argparse.Namespace, prover: Any, *inputs: Any, **options: Any) -> Any:
    """Call ``prover`` with the common --nonce and --private options and a progress bar; None
    (after printing why) when the request cannot be honoured."""
    try:
        nonce = bytes.fromhex(args.nonce) if args.nonce else None
    except ValueError:
        print("veriml: --nonce takes hexadecimal bytes", file=sys.stderr)
        return None
    private = [p for p in (args.private or "").split(",") if p]
    bar = _ProgressBar()
    try:
        return prover(*inputs, private=private, nonce=nonce, progress=bar, **options)
    except _user_errors() as exc:
        bar.close()
        print(f"veriml: {exc}", file=sys.stderr)
        return None
    finally:
        bar.close()


def _cmd_prove(args: argparse.Namespace) -> int:
    from provers import api

    result = _run_prover(args, api.prove_inference, args.model, args.input, args.output)
    if result is None:
        return EXIT_UNREADABLE
    timings = result["timings"]
    print(f"proof written to {args.output} ({result['proof_bytes']:,} bytes)")
    output = result["output"]
    print(f"output: {'hidden by zero knowledge' if output is None else output}")
    print(
        f"prove {timings['prove_seconds']:.3f} s, verify {timings['verify_seconds']:.3f} s, "
        f"{result['soundness_bits']} bits of soundness"
    )
    return EXIT_ACCEPTED


def _cmd_audit(args: argparse.Namespace) -> int:
    from provers import api

    result = _run_prover(
        args, api.audit, args.model, args.testset, args.output, chunk_samples=args.chunk_size
    )
    if result is None:
        return EXIT_UNREADABLE
    timings = result["timings"]
    print(f"proof written to {args.output} ({result['proof_bytes']:,} bytes)")
    print(f"committed test set: {result['dataset_commitment_path']}")
    _print_audit(result["statement"])
    print(
        f"prove {timings['prove_seconds']:.3f} s, verify {timings['verify_seconds']:.3f} s, "
        f"{result['soundness_bits']} bits of soundness"
    )
    return EXIT_ACCEPTED


def _print_audit(statement: dict[str, Any]) -> None:
    low, high = statement["wilson_95"]
    print(
        f"accuracy: {statement['correct']}/{statement['n']} = {statement['accuracy'] * 100:.2f}% "
        f"(95% Wilson interval {low * 100:.2f}% to {high * 100:.2f}%)"
    )
    print(f"model digest:   {statement['model_digest']}")
    print(f"dataset digest: {statement['dataset_digest']}")
    print(f"{'label':>7} {'samples':>9} {'correct':>9} {'accuracy':>9}")
    for row in statement["classes"]:
        share = f"{row['correct'] / row['total'] * 100:8.2f}%" if row["total"] else "       -"
        print(f"{row['label']:>7} {row['total']:>9} {row['correct']:>9} {share:>9}")


def _cmd_verify(args: argparse.Namespace) -> int:
    from provers import api

    data = _read(args.proof)
    if data is None:
        return EXIT_UNREADABLE
    result = api.verify(
        data, expected_model_digest=args.model, expected_dataset_digest=args.dataset
    )
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
    elif result.accepted:
        print(f"accepted: {result.protocol} proof, {result.soundness_bits} bits of soundness")
        if result.statement.get("kind") == "audit":
            _print_audit(result.statement)
        elif result.statement.get("kind") == "weight range":
            _print_weight_range(result.statement)
        else:
            for key, value in result.statement.items():
                print(f"  {key}: {value}")
    else:
        print(f"rejected: {result.reason}: {result.detail}")
    if result.accepted:
        return EXIT_ACCEPTED
    return EXIT_UNREADABLE if result.unreadable else EXIT_REJECTED


def _print_weight_range(statement: dict[str, Any]) -> None:
    print(f"the weights of model {statement['model_digest']} are proven int8")
    print(
        f"  {statement['weight_entries']:,} entries in {statement['weight_blocks']} weight "
        f"blocks (padding included) lie in [-128, 127]"
    )
    if not statement["biases_bounded"]:
        print("  the requantisation does not bound every bias below p/2")


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

    check = sub.add_parser("check", help="is every op of a .pt2 model supported, and at what cost")
    check.add_argument("model", help="a torch.export program (.pt2)")
    check.add_argument("--json", action="store_true")
    check.set_defaults(func=_cmd_check)

    compile_ = sub.add_parser("compile", help="quantise a .pt2 model and commit its weights")
    compile_.add_argument("model", help="a torch.export program (.pt2)")
    compile_.add_argument("--calibration", required=True, help="inputs for calibration")
    compile_.add_argument("-o", "--output", required=True, help="the compiled model (.vmc)")
    compile_.add_argument(
        "--range-proof",
        metavar="RANGE.vmp",
        help="also write the proof that every weight is int8 (the .vmc keeps it too)",
    )
    compile_.add_argument(
        "--private-weights",
        action="store_true",
        help="commit the weights hidden: every proof of the model keeps them private (MLPs)",
    )
    compile_.add_argument(
        "--proofs",
        type=int,
        metavar="N",
        help="with --private-weights: how many proofs the hidden commitment serves (16)",
    )
    compile_.set_defaults(func=_cmd_compile)

    prove = sub.add_parser("prove", help="prove a compiled model's output on an input")
    prove.add_argument("model", help="the compiled model (.vmc)")
    prove.add_argument("input", help="the input tensor (.pt, .npz, .safetensors)")
    prove.add_argument("-o", "--output", required=True, help="the proof file (.vmp)")
    prove.add_argument("--nonce", help="hexadecimal nonce (random by default)")
    prove.add_argument("--private", help="comma-separated parts to hide: weights, input, output")
    prove.set_defaults(func=_cmd_prove)

    audit = sub.add_parser("audit", help="prove a compiled model's accuracy on a test set")
    audit.add_argument("model", help="the compiled model (.vmc)")
    audit.add_argument(
        "testset", help="inputs and labels (.pt, .npz, .safetensors; .csv with a label column)"
    )
    audit.add_argument("-o", "--output", required=True, help="the proof file (.vmp)")
    audit.add_argument(
        "--chunk-size",
        type=int,
        help="samples proved at a time, a power of two (bounds memory; default: all at once "
        "for small sets)",
    )
    audit.add_argument("--nonce", help="hexadecimal nonce (random by default)")
    audit.add_argument(
        "--private",
        help="comma-separated parts to hide: input (MLPs; one proof over the set); a model "
        "compiled with --private-weights hides its weights too",
    )
    audit.set_defaults(func=_cmd_audit)

    verify = sub.add_parser("verify", help="check a proof file offline")
    verify.add_argument("proof", help="the proof file (.vmp)")
    verify.add_argument("--model", help="reject unless the proof names this model digest")
    verify.add_argument("--dataset", help="reject unless an audit proof names this test-set digest")
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

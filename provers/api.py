"""The one surface the platform and the CLI use.

* ``check_model`` / ``compile_model`` — support report; quantise and commit a ``.pt2`` model
  into a compiled-model file (``.vmc``) whose digest every proof names;
* ``prove_inference`` — a proof file for one input tensor (a leading batch dimension proves
  several inferences at once);
* ``commit_dataset`` / ``prove_audit`` (or ``audit``, both at once) — commit a labelled test
  set against a compiled model (``.vdc``), and prove the model's per-label accuracy on it;
* ``weight_range_proof`` — the proof, made when the model was committed and kept in its
  ``.vmc``, that every committed weight is an int8 (:mod:`provers.weight_range`);
* ``verify`` / ``inspect`` — check or summarise any proof file. ``verify`` never raises on bad
  input: any bytes give a :class:`VerificationResult` whose ``reason`` is a stable code
  (see :class:`provers.errors.Reject`).

Compile and prove raise :class:`provers.errors.CompileError` (unsupported or hostile model),
:class:`provers.tensors.TensorFileError` (unreadable tensor file) or
:class:`provers.errors.ProverError` (a request the prover cannot honour), each with a message
meant for people.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from provers import __version__
from provers.container import ProofFile, Protocol
from provers.errors import CompileError, ProverError, Reject, VerificationError

__all__ = [
    "CompileError",
    "ProverError",
    "VerificationError",
    "VerificationResult",
    "audit",
    "check_model",
    "commit_dataset",
    "compile_model",
    "inspect",
    "prove_audit",
    "prove_inference",
    "prover_version",
    "verify",
    "weight_range_proof",
]

Progress = Callable[[str, float], None]
PRIVACY_PARTS = ("weights", "input", "output")
LARGE_MODEL_WEIGHTS = 1 << 22
"""Models with at least this many parameters are committed with the large-model parameters
(rate-1/4 codes, fewer column queries): smaller proofs for twice the one-time commit work."""

StatementVerifier = Callable[[ProofFile], dict[str, Any]]
"""Checks a decoded proof file's body against its statement; returns the public statement."""

_UNREADABLE = {
    Reject.MALFORMED,
    Reject.TRUNCATED,
    Reject.TRAILING_BYTES,
    Reject.BAD_MAGIC,
    Reject.UNSUPPORTED_VERSION,
    Reject.UNKNOWN_PROTOCOL,
    Reject.NON_CANONICAL_FIELD_ELEMENT,
    Reject.LENGTH_OUT_OF_BOUNDS,
}


@dataclass
class VerificationResult:
    accepted: bool
    protocol: str | None = None
    reason: str | None = None
    detail: str = ""
    statement: dict[str, Any] = field(default_factory=dict)
    soundness_bits: int | None = None
    verify_seconds: float = 0.0
    unreadable: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "protocol": self.protocol,
            "reason": self.reason,
            "detail": self.detail,
            "statement": self.statement,
            "soundness_bits": self.soundness_bits,
            "verify_seconds": round(self.verify_seconds, 6),
        }


def prover_version() -> str:
    return __version__


def _verifiers() -> dict[Protocol, StatementVerifier]:
    from provers import audit, inference, private, weight_range
    from provers.standalone import committed_sum, lookup, opening
    from provers.weight_range import hidden

    return {
        Protocol.SUMCHECK: committed_sum.verify_file,
        Protocol.PCS_OPENING: opening.verify_file,
        Protocol.LOOKUP: lookup.verify_file,
        Protocol.INFERENCE: inference.verify_file,
        Protocol.AUDIT: audit.verify_file,
        Protocol.PRIVATE_INFERENCE: private.verify_private_file,
        Protocol.PRIVATE_AUDIT: private.verify_private_audit_file,
        Protocol.WEIGHT_RANGE: weight_range.verify_file,
        Protocol.WEIGHT_RANGE_HIDDEN: hidden.verify_file,
    }


def _describers() -> dict[Protocol, StatementVerifier]:
    """What ``inspect`` reads from a statement, without checking the proof, per protocol."""
    from provers import weight_range
    from provers.weight_range import hidden

    return {
        Protocol.WEIGHT_RANGE: weight_range.describe,
        Protocol.WEIGHT_RANGE_HIDDEN: hidden.describe,
    }


def verify(
    data: bytes,
    expected_model_digest: str | None = None,
    expected_dataset_digest: str | None = None,
) -> VerificationResult:
    """Decode and check a proof file. ``expected_model_digest`` (hex) must match the model the
    statement names, for proofs about a model; ``expected_dataset_digest`` the test set an
    audit proof names."""
    started = time.perf_counter()
    result = VerificationResult(accepted=False)
    try:
        proof = ProofFile.from_bytes(data)
        result.protocol = proof.protocol.name.lower()
        result.soundness_bits = proof.soundness_bits
        checker = _verifiers().get(proof.protocol)
        if checker is None:
            raise VerificationError(
                Reject.UNKNOWN_PROTOCOL, f"{proof.protocol.name} proofs are not verified here"
            )
        statement = checker(proof)
        named = statement.get("model_digest")
        if expected_model_digest is not None and named != expected_model_digest:
            raise VerificationError(
                Reject.WRONG_MODEL, f"proof names model {named}, expected {expected_model_digest}"
            )
        dataset = statement.get("dataset_digest")
        if expected_dataset_digest is not None and dataset != expected_dataset_digest:
            raise VerificationError(
                Reject.WRONG_DATASET,
                f"proof names test set {dataset}, expected {expected_dataset_digest}",
            )
        result.statement = statement
        result.accepted = True
    except VerificationError as exc:
        result.reason = exc.reason.value
        result.detail = exc.detail
        result.unreadable = exc.reason in _UNREADABLE
    result.verify_seconds = time.perf_counter() - started
    return result


def inspect(data: bytes) -> dict[str, Any]:
    """The header of a proof file, and what its statement claims where the protocol says so
    (a weight range proof: the model and its weight count), without checking the proof.
    Raises VerificationError."""
    proof = ProofFile.from_bytes(data)
    header = {
        "protocol": proof.protocol.name.lower(),
        "soundness_bits": proof.soundness_bits,
        "statement_digest": proof.digest.hex(),
        "statement_bytes": len(proof.statement),
        "body_bytes": len(proof.body),
        "total_bytes": len(data),
    }
    describe = _describers().get(proof.protocol)
    return header if describe is None else header | describe(proof)


def _no_progress(stage: str, fraction: float) -> None:
    return None


def _write_atomically(path: str | os.PathLike[str], data: bytes) -> None:
    target = Path(path)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def check_model(pt2_path: str | os.PathLike[str]) -> dict[str, Any]:
    """Support, size and cost estimate of a ``.pt2`` model, before anything is proved."""
    from provers import compiler

    return dict(compiler.check(pt2_path).as_dict())


def private_support(model: Any, private_weights: bool = False) -> dict[str, Any]:
    """Which parts of an inference proof of ``model`` the private mode can hide
    (``private_parts``), and why not when it cannot (``private_reason``); ``weights`` is among
    them exactly for a model committed hidden (``private_weights``), whose proofs always hide
    them."""
    from provers.inference.layout import UnsupportedCircuit
    from provers.private import PrivatePlan
    from provers.private.relations import check_masking, terms_of

    parts, reason = set(INFERENCE_PRIVATE_PARTS), ""
    try:
        plan = PrivatePlan(model, 1, True, False, private_weights=private_weights)
        check_masking(plan, terms_of(plan))
    except UnsupportedCircuit as error:
        parts, reason = set(), str(error)
    if private_weights:
        parts.add("weights")
    return {
        "private_parts": sorted(parts),
        "private_reason": reason,
        "private_weights": private_weights,
    }


def _unsupported_message(report: dict[str, Any]) -> str:
    lines = ["the model uses operations VeriML cannot prove yet:"]
    for op in report["unsupported"]:
        where = f" at {op['source']}" if op.get("source") else ""
        lines.append(f"  {op['op']} (node {op['node']}){where}: {op.get('reason', '')}".rstrip())
    lines.append("supported: " + ", ".join(report["supported_ops"]))
    return "\n".join(lines)


def compile_model(
    pt2_path: str | os.PathLike[str],
    calibration_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    progress: Progress | None = None,
    range_proof_path: str | os.PathLike[str] | None = None,
    private_weights: bool = False,
    proofs: int | None = None,
) -> dict[str, Any]:
    """Quantise a ``.pt2`` model on calibration data, commit its weights, prove them int8,
    write the ``.vmc`` (and the weight range proof on its own to ``range_proof_path``).

    With ``private_weights`` the weights are committed hidden instead (MLPs and CNNs;
    provers/private/model.py), for ``proofs`` zero-knowledge proofs (16 by default); such a
    model's proofs always keep its weights private, and its range proof is zero knowledge
    (provers/weight_range/hidden).

    Returns the model digest (hex), parameter count, support report, quantisation fidelity on
    the calibration data, the cost estimate of one proof and the range proof's size.
    """
    from provers import compiler, inference, tensors

    report = progress or _no_progress
    report("load", 0.0)
    program = compiler.load_program(pt2_path)
    support = compiler.check(program).as_dict()
    if not support["supported"]:
        raise CompileError(_unsupported_message(support))
    calibration = tensors.load_inputs(calibration_path)
    report("quantise", 0.2)
    result = compiler.compile_program(program, calibration)
    report("commit", 0.7)
    params = (
        inference.LARGE_MODEL_PARAMETERS
        if result.model.parameter_count >= LARGE_MODEL_WEIGHTS
        else None
    )
    range_proof = b""
    if private_weights:
        committed = _commit_hidden(result.model, params, proofs)
        _write_atomically(out_path, committed.to_bytes())
        range_proof = committed.weight_range_proof()
        if range_proof_path is not None:
            _write_atomically(range_proof_path, range_proof)
    else:
        committed = inference.commit_model(result.model, params)
        _write_atomically(out_path, committed.to_bytes())
        range_proof = committed.weight_range_proof()
        if range_proof_path is not None:
            _write_atomically(range_proof_path, range_proof)
    support = support | private_support(result.model, private_weights)
    report("done", 1.0)
    return {
        "digest": committed.digest,
        "private_weights": private_weights,
        "proofs": committed.tickets if private_weights else None,
        "range_proof_bytes": len(range_proof),
        "parameters": result.model.parameter_count,
        "support": support,
        "fidelity": dict(result.fidelity),
        "estimate": support["estimate"],
        "input_shape": list(result.model.input_shape),
        "output_shape": list(result.model.output_shape()),
    }


def _commit_hidden(model: Any, params: Any, proofs: int | None) -> Any:
    from provers.params import ProofParameters
    from provers.private import commit_hidden_model
    from provers.private.model import DEFAULT_TICKETS

    try:
        return commit_hidden_model(
            model, params or ProofParameters.default(), proofs or DEFAULT_TICKETS
        )
    except (ProverError, ValueError) as error:
        raise CompileError(str(error)) from None


def load_compiled_model(vmc_path: str | os.PathLike[str]) -> Any:
    """The committed model of a ``.vmc`` file, open or hidden (CompileError when it is not
    one)."""
    from provers.circuit.model import ModelError
    from provers.inference import CommittedModel
    from provers.private import HiddenModel
    from provers.private import model as hidden_model

    try:
        data = Path(vmc_path).read_bytes()
        if data[:4] == hidden_model.MAGIC:
            return HiddenModel.from_bytes(data)
        return CommittedModel.from_bytes(data)
    except ModelError as error:
        raise CompileError(f"{vmc_path}: not a compiled VeriML model ({error})") from None


def _is_hidden(committed: Any) -> bool:
    from provers.private import HiddenModel

    return isinstance(committed, HiddenModel)


def _with_hidden_weights(committed: Any, parts: frozenset[str]) -> frozenset[str]:
    """A hidden model's proofs always keep its weights private."""
    return parts | {"weights"} if _is_hidden(committed) else parts


def _take_ticket(committed: Any, ticket: int | None) -> None:
    """Make the next opening of a hidden model's commitment use ``ticket`` (allocated by the
    caller, e.g. the platform's database), or its lowest unspent one when None."""
    if ticket is None or not _is_hidden(committed):
        return
    spent = committed.prover_data.used_tickets
    if not 0 <= ticket < committed.tickets or ticket in spent:
        raise ProverError(
            f"ticket {ticket} of this hidden-weights commitment is spent or out of range "
            f"(0..{committed.tickets - 1})"
        )
    committed.prover_data.used_tickets = set(range(committed.tickets)) - {ticket}


def _keep_spent_tickets(
    committed: Any, vmc_path: str | os.PathLike[str], ticket: int | None
) -> None:
    """After a proof of a hidden model, before the proof leaves: the ``.vmc`` records the
    spent ticket, so no later proof reuses it (a caller that allocates tickets itself keeps
    them and the file is left as it is)."""
    if _is_hidden(committed) and ticket is None:
        _write_atomically(vmc_path, committed.to_bytes())


def weight_range_proof(vmc_path: str | os.PathLike[str]) -> bytes:
    """The weight range proof file kept in a ``.vmc``: anyone checks it with ``verify`` against
    the model digest (CompileError when the file is not a compiled model)."""
    return bytes(load_compiled_model(vmc_path).weight_range_proof())


def _quantised_inputs(committed: Any, input_path: str | os.PathLike[str]) -> np.ndarray:
    from provers import tensors

    return _quantise(committed, tensors.load_inputs(input_path))


def _quantise(committed: Any, values: np.ndarray) -> np.ndarray:
    from provers import compiler

    shape = tuple(committed.model.input_shape)
    if values.shape == shape:
        values = values[None]
    if values.ndim == 2 and values.shape[1] == int(np.prod(shape)) and values.shape[1:] != shape:
        # Tabular rows (a CSV, or flattened images) of exactly one sample's size each.
        values = values.reshape(values.shape[0], *shape)
    if values.shape[1:] != shape:
        raise ProverError(
            f"the input has shape {list(values.shape)}; the model takes {list(shape)} "
            "(with an optional leading batch dimension)"
        )
    return np.asarray(compiler.quantise_input(committed.model, values), dtype=np.int64)


INFERENCE_PRIVATE_PARTS = frozenset({"input", "output"})
"""What the private mode hides of an inference (provers/private: MLPs); the weights too for a
model committed hidden."""
WEIGHTS = frozenset({"weights"})
AUDIT_PRIVATE_PARTS = frozenset({"input"})
"""A private audit hides the test inputs (and the logits); one proof over the whole set; the
weights too for a model committed hidden."""


def _audit_parts(committed: Any, private: Iterable[str]) -> frozenset[str]:
    """An audit's private parts: a hidden model's audits hide its weights and need private
    test inputs (they run in the private mode, whose audits hide the inputs)."""
    hidden = _is_hidden(committed)
    parts = _privacy(private, AUDIT_PRIVATE_PARTS | WEIGHTS)
    if "weights" in parts and not hidden:
        from provers.private.prover import OPEN_WEIGHTS

        raise ProverError(OPEN_WEIGHTS)
    if hidden and "input" not in parts:
        raise ProverError(
            "a model committed with hidden weights is audited with private test inputs: "
            "pass private input (veriml audit --private input)"
        )
    return _with_hidden_weights(committed, parts)


def _audit_result(
    checked: VerificationResult, proof: bytes, prove_seconds: float
) -> dict[str, Any]:
    statement = checked.statement
    return {
        "statement": statement,
        "accuracy": statement["accuracy"],
        "correct": statement["correct"],
        "n": statement["n"],
        "timings": {"prove_seconds": prove_seconds, "verify_seconds": checked.verify_seconds},
        "proof_bytes": len(proof),
        "soundness_bits": checked.soundness_bits,
    }


def _private_commit(
    committed: Any, dataset_path: str | os.PathLike[str], out_path: str | os.PathLike[str]
) -> dict[str, Any]:
    """Commit a test set for one private audit (hiding): the ``.vdc`` keeps the data and the
    randomness that hides it."""
    from provers import tensors
    from provers.params import ProofParameters
    from provers.private import audit_plan, commit_private_dataset

    inputs, labels = tensors.load_dataset(dataset_path)
    quantised = _quantise(committed, inputs)
    params = ProofParameters(pcs=committed.commitment.params)
    plan = audit_plan(committed, int(labels.shape[0]), params)
    dataset = commit_private_dataset(
        plan, bytes.fromhex(committed.digest), quantised, labels, params.pcs
    )
    _write_atomically(out_path, dataset.to_bytes())
    return {
        "digest": dataset.digest.hex(),
        "samples": dataset.n,
        "classes": dataset.classes,
        "chunk_samples": dataset.n,
        "chunks": 1,
        "label_counts": np.bincount(labels, minlength=dataset.classes).tolist(),
        "private_input": True,
    }


def _private_prove(
    committed: Any,
    dataset_commitment_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    nonce: bytes | None,
    before_writing: Callable[[], None] = lambda: None,
) -> dict[str, Any]:
    from provers.params import ProofParameters
    from provers.private import PrivateDataset, audit_plan, prove_private_audit
    from provers.private.dataset import samples_of

    data = Path(dataset_commitment_path).read_bytes()
    params = ProofParameters(pcs=committed.commitment.params)
    plan = audit_plan(committed, max(samples_of(data), 1), params)
    dataset = PrivateDataset.from_bytes(data, plan, bytes.fromhex(committed.digest))
    started = time.perf_counter()
    proof = prove_private_audit(committed, dataset, nonce=nonce, params=params)
    prove_seconds = time.perf_counter() - started
    before_writing()
    _write_atomically(out_path, proof)
    checked = verify(
        proof, expected_model_digest=committed.digest, expected_dataset_digest=dataset.digest.hex()
    )
    if not checked.accepted:
        raise ProverError(f"the new proof does not verify: {checked.reason}: {checked.detail}")
    return _audit_result(checked, proof, prove_seconds)


def _privacy(private: Iterable[str], available: frozenset[str] = frozenset()) -> frozenset[str]:
    parts = frozenset(private)
    unknown = parts - set(PRIVACY_PARTS)
    if unknown:
        raise ProverError(f"unknown privacy parts {sorted(unknown)}; use {list(PRIVACY_PARTS)}")
    missing = parts - available
    if missing:
        raise ProverError(
            "zero-knowledge proofs with private "
            + ", ".join(sorted(missing))
            + " are not available in this version"
            + (
                f"; inference proofs can hide {', '.join(sorted(available))}"
                if available
                else "; only public proofs can be made"
            )
        )
    return parts


def prove_inference(
    vmc_path: str | os.PathLike[str],
    input_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    private: Iterable[str] = (),
    nonce: bytes | None = None,
    progress: Progress | None = None,
    ticket: int | None = None,
) -> dict[str, Any]:
    """Prove the compiled model's output on the input tensor file; write the proof file.

    A model committed hidden keeps its weights private in every proof, each spending one
    ticket of its commitment: ``ticket`` names one the caller allocated (the file is then left
    as it is); by default the lowest unspent one is used and the ``.vmc`` records it before the
    proof is written."""
    from provers import inference
    from provers.params import ProofParameters

    committed = load_compiled_model(vmc_path)
    parts = _with_hidden_weights(committed, _privacy(private, INFERENCE_PRIVATE_PARTS | WEIGHTS))
    report = progress or _no_progress
    inputs = _quantised_inputs(committed, input_path)
    started = time.perf_counter()
    params = ProofParameters(pcs=committed.commitment.params)
    _take_ticket(committed, ticket)
    proof = inference.prove(
        committed, inputs, nonce=nonce, progress=report, params=params, private=parts
    )
    prove_seconds = time.perf_counter() - started
    _keep_spent_tickets(committed, vmc_path, ticket)
    _write_atomically(out_path, proof)
    checked = verify(proof, expected_model_digest=committed.digest)
    if not checked.accepted:
        raise ProverError(f"the new proof does not verify: {checked.reason}: {checked.detail}")
    return {
        "statement": checked.statement,
        "output": checked.statement.get("output"),
        "timings": {"prove_seconds": prove_seconds, "verify_seconds": checked.verify_seconds},
        "proof_bytes": len(proof),
        "soundness_bits": checked.soundness_bits,
    }


def _classes(committed: Any) -> int:
    shape = tuple(committed.model.output_shape())
    if len(shape) != 1 or shape[0] < 2:
        raise ProverError(
            f"an accuracy audit needs a classifier whose output is a vector of class scores; "
            f"this model outputs shape {list(shape)}"
        )
    return int(shape[0])


def commit_dataset(
    vmc_path: str | os.PathLike[str],
    dataset_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    chunk_samples: int | None = None,
    progress: Progress | None = None,
    private: Iterable[str] = (),
) -> dict[str, Any]:
    """Quantise a labelled test set with the model's input quantisation, commit it chunk by
    chunk, write the committed test set (``.vdc``, kept by the prover). With
    ``private=["input"]`` the set is committed hiding, whole, for one private audit.

    ``chunk_samples`` (a power of two) bounds the memory of proving: one chunk's witness is held
    at a time; by default the whole set is one chunk up to 2^22 input values. Returns the
    dataset digest, sizes and the samples per label."""
    from provers import audit, tensors
    from provers.audit.dataset import default_chunk_samples

    report = progress or _no_progress
    committed = load_compiled_model(vmc_path)
    classes = _classes(committed)
    if _audit_parts(committed, private):
        return _private_commit(committed, dataset_path, out_path)
    report("loading test set", 0.0)
    inputs, labels = tensors.load_dataset(dataset_path)
    quantised = _quantise(committed, inputs)
    n = int(labels.shape[0])
    chunk = chunk_samples or default_chunk_samples(committed.model, n)
    report("committing test set", 0.2)
    dataset = audit.commit_dataset(
        committed.model,
        bytes.fromhex(committed.digest),
        quantised,
        labels,
        classes,
        chunk,
        committed.commitment.params,
    )
    _write_atomically(out_path, dataset.to_bytes())
    report("committed", 1.0)
    return {
        "digest": dataset.digest.hex(),
        "samples": n,
        "classes": classes,
        "chunk_samples": chunk,
        "chunks": len(dataset.chunks()),
        "label_counts": np.bincount(labels, minlength=classes).tolist(),
    }


def prove_audit(
    vmc_path: str | os.PathLike[str],
    dataset_commitment_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    private: Iterable[str] = (),
    nonce: bytes | None = None,
    progress: Progress | None = None,
    ticket: int | None = None,
) -> dict[str, Any]:
    """Prove the compiled model's accuracy on a committed test set; write the proof file.

    Progress reports the samples proved so far (stage text and fraction of the set). A model
    committed hidden spends one ticket as in :func:`prove_inference`."""
    from provers import audit
    from provers.params import ProofParameters

    committed = load_compiled_model(vmc_path)
    parts = _audit_parts(committed, private)
    if parts:
        _take_ticket(committed, ticket)
        return _private_prove(
            committed,
            dataset_commitment_path,
            out_path,
            nonce,
            lambda: _keep_spent_tickets(committed, vmc_path, ticket),
        )
    data = Path(dataset_commitment_path).read_bytes()
    dataset = audit.DatasetCommitment.from_bytes(
        data, committed.model, bytes.fromhex(committed.digest)
    )
    started = time.perf_counter()
    params = ProofParameters(pcs=committed.commitment.params)
    proof = audit.prove(
        committed, dataset, nonce=nonce, progress=progress, params=params, private=parts
    )
    prove_seconds = time.perf_counter() - started
    _write_atomically(out_path, proof)
    checked = verify(proof, expected_model_digest=committed.digest)
    if not checked.accepted:
        raise ProverError(f"the new proof does not verify: {checked.reason}: {checked.detail}")
    return _audit_result(checked, proof, prove_seconds)


def audit(
    vmc_path: str | os.PathLike[str],
    dataset_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    private: Iterable[str] = (),
    nonce: bytes | None = None,
    chunk_samples: int | None = None,
    progress: Progress | None = None,
    ticket: int | None = None,
) -> dict[str, Any]:
    """``commit_dataset`` then ``prove_audit``, the committed test set kept beside the proof
    (``OUT.vdc``). With ``private=["input"]`` (MLPs) the test inputs and every logit stay
    hidden: the test set is committed hiding, for this one proof."""
    parts = _privacy(private, AUDIT_PRIVATE_PARTS | WEIGHTS)
    commitment_path = Path(f"{os.fspath(out_path)}.vdc")
    committed = commit_dataset(
        vmc_path, dataset_path, commitment_path, chunk_samples, progress, private=parts
    )
    result = prove_audit(
        vmc_path,
        commitment_path,
        out_path,
        private=parts,
        nonce=nonce,
        progress=progress,
        ticket=ticket,
    )
    result["dataset"] = committed
    result["dataset_commitment_path"] = str(commitment_path)
    return result

"""A proof that a committed table takes the stated values at the stated points.

Statement: the commitment, the points (challenge-field, m coordinates each) and the values.
Proof: one batched opening. Transcript (domain ``veriml/opening/v1``): the statement digest,
then the opening's messages.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from provers.commit import pcs
from provers.container import ProofFile, Protocol, statement_digest
from provers.encoding import Reader, Writer
from provers.errors import ProverError, Reject, VerificationError
from provers.params import ProofParameters, ProofShape
from provers.standalone.common import (
    check_header,
    read_parameters,
    require_params,
    stated_bits,
    write_parameters,
)
from provers.transcript import Transcript

DOMAIN = "veriml/opening/v1"
MAX_POINTS = 64


def _statement(commitment: pcs.Commitment, points: list[np.ndarray], values: list[Any]) -> bytes:
    w = Writer()
    commitment.write_to(w)
    w.u32(len(points))
    for point, value in zip(points, values, strict=True):
        w.ext_vec(point)
        w.ext_vec(value)
    return w.getvalue()


def _shape(commitment: pcs.Commitment) -> ProofShape:
    return ProofShape(openings=((commitment.num_vars, commitment.hiding),))


def _transcript(statement: bytes) -> Transcript:
    transcript = Transcript(DOMAIN)
    transcript.absorb_bytes("statement", statement_digest(Protocol.PCS_OPENING, statement))
    return transcript


def prove(
    tables: list[np.ndarray],
    points: list[np.ndarray],
    params: ProofParameters | None = None,
    hiding: bool = False,
    rng: np.random.Generator | None = None,
) -> bytes:
    params = params or ProofParameters.default()
    commitment, data = pcs.commit_many(
        tables, params.pcs, hiding=hiding, rng=rng, max_points=max(1, len(points))
    )
    values = [np.asarray(v) for v in _evaluate(tables, points)]
    statement = _statement(commitment, points, values)
    transcript = _transcript(statement)
    opened, opening = pcs.batch_open([(data, p) for p in points], transcript)
    if any(not np.array_equal(a, b) for a, b in zip(opened, values, strict=True)):
        raise ProverError("the opening disagrees with direct evaluation")
    return ProofFile(
        Protocol.PCS_OPENING,
        write_parameters(params),
        stated_bits(params, _shape(commitment)),
        statement,
        opening.to_bytes(),
    ).to_bytes()


def _evaluate(tables: list[np.ndarray], points: list[np.ndarray]) -> list[np.ndarray]:
    from provers.poly import multilinear

    return [np.stack([multilinear.evaluate(t, p) for t in tables], axis=1) for p in points]


def verify_file(proof: ProofFile) -> dict[str, Any]:
    params = read_parameters(proof.parameters)
    reader = Reader(proof.statement)
    commitment = pcs.Commitment.read_from(reader)
    count = reader.bounded_u32("points", 1, MAX_POINTS)
    requests = []
    for _ in range(count):
        point = reader.ext_vec("point", expected=commitment.num_vars, max_count=64)
        value = reader.ext_vec(
            "values", expected=commitment.num_polynomials, max_count=commitment.num_polynomials
        )
        requests.append((commitment, point, value))
    reader.finish("statement")
    require_params(commitment.params, params, "the commitment")
    check_header(proof, params, _shape(commitment))
    if commitment.hiding and count > commitment.mask_groups:
        raise VerificationError(Reject.PARAMETER_MISMATCH, "more points than the masks allow")
    transcript = _transcript(proof.statement)
    opening = pcs.proof_from_bytes(proof.body, requests)
    pcs.batch_verify(requests, opening, transcript, params.pcs)
    return {
        "kind": "commitment opening",
        "tables": commitment.num_polynomials,
        "num_vars": commitment.num_vars,
        "points": count,
        "hiding": commitment.hiding,
        "commitment_root": commitment.root.hex(),
    }

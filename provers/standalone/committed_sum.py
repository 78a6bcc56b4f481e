"""A proof that Σ_{x∈{0,1}^m} f_1(x)·…·f_k(x) = H for k tables fixed by one commitment.

Statement: the commitment C to (f_1, …, f_k) (one Merkle tree; hiding or not) and the claimed
sum H. Proof: a sumcheck of the degree-k product — the masked, zero-knowledge sumcheck when C
is hiding — ending at a point r with an expected value e; the values v_j = f_j(r); a batched
opening of C at r proving them. The verifier checks Π v_j = e and the opening.

Transcript (domain ``veriml/committed-sum/v1``): the statement digest, then the commitment and
H, then the sumcheck's messages, then the opening's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from provers.commit import pcs
from provers.container import ProofFile, Protocol, statement_digest
from provers.encoding import Reader, Writer
from provers.errors import ProverError, Reject, VerificationError
from provers.field import ext
from provers.params import ProofParameters, ProofShape
from provers.standalone.common import (
    check_header,
    read_parameters,
    require_params,
    stated_bits,
    write_parameters,
)
from provers.sumcheck import prover as sumcheck_prover
from provers.sumcheck import verifier as sumcheck_verifier
from provers.sumcheck import zk
from provers.sumcheck.combiners import product
from provers.sumcheck.mask import MaskLayout
from provers.sumcheck.mask_commitment import TensorPcsMaskScheme
from provers.sumcheck.proof import SumcheckProof
from provers.transcript import Transcript

DOMAIN = "veriml/committed-sum/v1"
MAX_FACTORS = 8


def _shape(commitment: pcs.Commitment) -> ProofShape:
    m, k = commitment.num_vars, commitment.num_polynomials
    openings: tuple[tuple[int, bool], ...] = ((m, commitment.hiding),)
    if commitment.hiding:
        openings += ((MaskLayout(m, k).table_vars, True),)
    return ProofShape(sumchecks=((m, k),), openings=openings)


def _statement(commitment: pcs.Commitment, claimed_sum: np.ndarray) -> bytes:
    w = Writer()
    commitment.write_to(w)
    w.ext_elem(claimed_sum)
    return w.getvalue()


def _start(statement: bytes, commitment: pcs.Commitment, claimed_sum: np.ndarray) -> Transcript:
    transcript = Transcript(DOMAIN)
    transcript.absorb_bytes("statement", statement_digest(Protocol.SUMCHECK, statement))
    transcript.absorb_bytes("commitment", commitment.to_bytes())
    transcript.absorb_ext("claimed sum", claimed_sum)
    return transcript


def prove(
    tables: list[np.ndarray],
    params: ProofParameters | None = None,
    hiding: bool = False,
    rng: np.random.Generator | None = None,
) -> bytes:
    """Commit to the tables, prove the sum of their product, return the proof file."""
    params = params or ProofParameters.default()
    if not 1 <= len(tables) <= MAX_FACTORS:
        raise ProverError(f"between 1 and {MAX_FACTORS} tables")
    commitment, data = pcs.commit_many(tables, params.pcs, hiding=hiding, rng=rng)
    combine = product(len(tables))
    claimed = _product_sum(tables)
    statement = _statement(commitment, claimed)
    transcript = _start(statement, commitment, claimed)
    body = Writer()
    if hiding:
        scheme = TensorPcsMaskScheme(params.pcs)
        zk_result = zk.prove_zk(tables, combine, len(tables), claimed, transcript, scheme, rng)
        zk_result.proof.write_to(body, scheme)
        point = zk_result.point
    else:
        result = sumcheck_prover.prove(tables, combine, len(tables), claimed, transcript)
        result.proof.write_to(body)
        point = result.point
    values, opening = pcs.batch_open([(data, point)], transcript)
    body.ext_vec(values[0])
    body.blob(opening.to_bytes())
    return ProofFile(
        Protocol.SUMCHECK,
        write_parameters(params),
        stated_bits(params, _shape(commitment)),
        statement,
        body.getvalue(),
    ).to_bytes()


def _product_sum(tables: list[np.ndarray]) -> np.ndarray:
    acc = ext.from_base(np.asarray(tables[0], dtype=np.int64))
    for table in tables[1:]:
        acc = ext.mul_base(acc, np.asarray(table, dtype=np.int64))
    return np.asarray(ext.sum_(acc))


def verify_file(proof: ProofFile) -> dict[str, Any]:
    """Check a committed-sum proof file; returns its public statement."""
    params = read_parameters(proof.parameters)
    reader = Reader(proof.statement)
    commitment = pcs.Commitment.read_from(reader)
    claimed = reader.ext_elem("claimed sum")
    reader.finish("statement")
    require_params(commitment.params, params, "the commitment")
    k, m = commitment.num_polynomials, commitment.num_vars
    if not 1 <= k <= MAX_FACTORS or m < 1:
        raise VerificationError(Reject.PARAMETER_MISMATCH, f"{k} tables of {m} variables")
    check_header(proof, params, _shape(commitment))

    transcript = _start(proof.statement, commitment, claimed)
    body = Reader(proof.body)
    if commitment.hiding:
        scheme = TensorPcsMaskScheme(params.pcs)
        zk_proof = zk.ZkSumcheckProof.read_from(body, m, k, scheme)
        point, expected = zk.verify_zk(zk_proof, m, k, claimed, transcript, scheme)
    else:
        plain = SumcheckProof.read_from(body, m, k)
        point, expected = sumcheck_verifier.verify(plain, m, k, claimed, transcript)
    values = body.ext_vec("evaluations", expected=k, max_count=MAX_FACTORS)
    opening_bytes = body.blob("opening", 1 << 28)
    body.finish("committed-sum proof")

    product_value = values[:, 0]
    for j in range(1, k):
        product_value = ext.mul(product_value, values[:, j])
    sumcheck_verifier.check_final_evaluation(expected, product_value, "product of the tables")
    requests = [(commitment, point, values)]
    opening = pcs.proof_from_bytes(opening_bytes, requests)
    pcs.batch_verify(requests, opening, transcript, params.pcs)
    return {
        "kind": "committed product sum",
        "tables": k,
        "num_vars": m,
        "hiding": commitment.hiding,
        "commitment_root": commitment.root.hex(),
        "claimed_sum": [int(c) for c in claimed],
    }

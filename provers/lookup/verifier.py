"""logUp-GKR lookup verifier (Haböck, "Multivariate lookups based on logarithmic derivatives";
Papini–Haböck, "Improving logarithmic derivative lookups using GKR").

Checks, in this order: the proof's shape against the statement; both root denominators are
non-zero (LOOKUP_DENOMINATOR_ZERO: otherwise some leaf had α − v = 0 and the fractions mean
nothing); the roots are equal fractions, p_w·q_t = p_t·q_w (LOOKUP_SUM_MISMATCH); each tree's
layers, where layer i's sumcheck must end at eq(r, s)·[p0·q1 + p1·q0 + λ·q0·q1] of the child
claims (LOOKUP_LAYER_MISMATCH; the root layer's claims must give the root exactly); and at the
leaves (FINAL_EVALUATION_MISMATCH)
    witness:  p = 1,  q = α − Σ_j eq(r_sel, j)·Σ_c β^c·ã_{src(j),c}(r_x)
    table:    p = m̃(r_t),  q = α − Σ_c β^c·T̃_c(r_t)
with ã and m̃ the prover's claims, which the returned LookupClaims hand to the caller to open.
"""

from __future__ import annotations

import numpy as np

from provers.errors import Reject, VerificationError
from provers.field import ext
from provers.lookup import transcript_steps as steps
from provers.lookup.fraction_tree import cross_difference, is_zero
from provers.lookup.proof import (
    CHILD_CLAIMS,
    LAYER_DEGREE,
    LayerProof,
    LookupProof,
    TreeProof,
)
from provers.lookup.statement import LookupClaims, LookupStatement
from provers.poly import multilinear
from provers.sumcheck import verifier as sumcheck
from provers.sumcheck.proof import SumcheckProof
from provers.transcript import Transcript


def check_element_array(value: object, shape: tuple[int, ...], what: str) -> np.ndarray:
    """A proof field given as an object (not decoded bytes): shape and range, else reject."""
    if not isinstance(value, np.ndarray) or value.dtype != np.int64:
        raise VerificationError(Reject.MALFORMED, f"{what} must be an int64 array")
    if value.shape != shape:
        raise VerificationError(
            Reject.LENGTH_OUT_OF_BOUNDS, f"{what} has shape {value.shape}, expected {shape}"
        )
    if not ext.is_canonical(value):
        raise VerificationError(Reject.NON_CANONICAL_FIELD_ELEMENT, f"{what}: value ≥ p or < 0")
    return value


def _check_tree_shape(tree: object, depth: int, what: str) -> TreeProof:
    if not isinstance(tree, TreeProof) or not isinstance(tree.layers, tuple):
        raise VerificationError(Reject.MALFORMED, f"{what} is not a tree proof")
    check_element_array(tree.root, (ext.DEGREE, 2), f"{what} root")
    if len(tree.layers) != depth:
        raise VerificationError(
            Reject.LOOKUP_LAYER_MISMATCH, f"{what}: {len(tree.layers)} layers, expected {depth}"
        )
    for i, layer in enumerate(tree.layers):
        if not isinstance(layer, LayerProof) or not isinstance(layer.sumcheck, SumcheckProof):
            raise VerificationError(Reject.MALFORMED, f"{what} layer {i} is not a layer proof")
        if not isinstance(layer.sumcheck.round_polys, np.ndarray):
            raise VerificationError(Reject.MALFORMED, f"{what} layer {i} rounds not an array")
        check_element_array(
            layer.child_claims, (ext.DEGREE, CHILD_CLAIMS), f"{what} layer {i} claims"
        )
    return tree


def check_proof_shape(statement: LookupStatement, proof: object) -> LookupProof:
    """Every field's type, shape and range, before any arithmetic."""
    if not isinstance(proof, LookupProof):
        raise VerificationError(Reject.MALFORMED, "not a lookup proof")
    _check_tree_shape(proof.witness_tree, statement.witness_depth, "witness tree")
    _check_tree_shape(proof.table_tree, statement.table_depth, "table tree")
    check_element_array(
        proof.witness_evaluations,
        (ext.DEGREE, statement.num_witness_evaluations),
        "witness evaluations",
    )
    check_element_array(proof.multiplicity_evaluation, (ext.DEGREE,), "multiplicity evaluation")
    return proof


def _check_roots(witness_root: np.ndarray, table_root: np.ndarray) -> None:
    if is_zero(witness_root[:, 1]) or is_zero(table_root[:, 1]):
        raise VerificationError(Reject.LOOKUP_DENOMINATOR_ZERO, "a root denominator is zero")
    difference = cross_difference(
        (witness_root[:, 0], witness_root[:, 1]), (table_root[:, 0], table_root[:, 1])
    )
    if not is_zero(difference):
        raise VerificationError(
            Reject.LOOKUP_SUM_MISMATCH,
            "Σ 1/(α − a) over the witness differs from Σ m/(α − T) over the table",
        )


def _check_root_layer(layer: LayerProof, root: np.ndarray, what: str) -> None:
    if layer.sumcheck.round_polys.shape[0] != 0:
        raise VerificationError(Reject.ROUND_COUNT_MISMATCH, f"{what}: root layer has rounds")
    p0, p1, q0, q1 = (layer.child_claims[:, t] for t in range(CHILD_CLAIMS))
    numerator = ext.add(ext.mul(p0, q1), ext.mul(p1, q0))
    if not (ext.equal(numerator, root[:, 0]) and ext.equal(ext.mul(q0, q1), root[:, 1])):
        raise VerificationError(
            Reject.LOOKUP_LAYER_MISMATCH, f"{what}: layer 1 does not combine to the root"
        )


def _verify_layer(
    layer: LayerProof,
    index: int,
    point: np.ndarray,
    claim: tuple[np.ndarray, np.ndarray],
    transcript: Transcript,
    tree_label: str,
) -> np.ndarray:
    """Check layer ``index``'s sumcheck against its child claims; return the sumcheck point."""
    lam = steps.draw_batching(transcript, tree_label)
    claimed_sum = ext.add(claim[0], ext.mul(lam, claim[1]))
    sub_point, expected = sumcheck.verify(
        layer.sumcheck, index, LAYER_DEGREE, claimed_sum, transcript, label=f"{tree_label}/layer"
    )
    actual = ext.mul(
        multilinear.eq_eval(point, sub_point), steps.layer_polynomial(layer.child_claims, lam)
    )
    if not ext.equal(expected, actual):
        raise VerificationError(
            Reject.LOOKUP_LAYER_MISMATCH,
            f"{tree_label} layer {index}: the child claims do not match the sumcheck",
        )
    return sub_point


def verify_tree(
    tree: TreeProof, transcript: Transcript, tree_label: str
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Reduce a tree's root (already absorbed) to a claim (p, q) on its leaves at a point."""
    claim = (tree.root[:, 0], tree.root[:, 1])
    point = np.zeros((ext.DEGREE, 0), dtype=np.int64)
    for index, layer in enumerate(tree.layers):
        if index == 0:
            _check_root_layer(layer, tree.root, tree_label)
            sub_point = point
        else:
            sub_point = _verify_layer(layer, index, point, claim, transcript, tree_label)
        mu = steps.absorb_child_claims(transcript, tree_label, layer.child_claims)
        claim = steps.fold_claims(layer.child_claims, mu)
        point = np.concatenate([mu[:, None], sub_point], axis=1)
    return point, claim


def _compress(values: list[np.ndarray], beta: np.ndarray) -> np.ndarray:
    """Σ_c β^c·values[c] for single elements."""
    total, power = values[0], ext.one()
    for value in values[1:]:
        power = ext.mul(power, beta)
        total = ext.add(total, ext.mul(power, value))
    return total


def _witness_leaf_denominator(
    statement: LookupStatement,
    evaluations: np.ndarray,
    selector_point: np.ndarray,
    alpha: np.ndarray,
    beta: np.ndarray,
) -> np.ndarray:
    weights = multilinear.eq_table(selector_point)
    total = ext.zero()
    width = statement.width
    for slot in range(statement.padded_lookups):
        j = statement.source_lookup(slot)
        row = _compress([evaluations[:, j * width + c] for c in range(width)], beta)
        total = ext.add(total, ext.mul(weights[:, slot], row))
    return np.asarray(ext.sub(alpha, total))


def _check_leaf(
    actual: tuple[np.ndarray, np.ndarray], expected_p: np.ndarray, expected_q: np.ndarray, what: str
) -> None:
    if not (ext.equal(actual[0], expected_p) and ext.equal(actual[1], expected_q)):
        raise VerificationError(
            Reject.FINAL_EVALUATION_MISMATCH,
            f"{what}: the leaf claims differ from the claimed evaluations",
        )


def verify_as_subprotocol(
    statement: LookupStatement,
    proof: LookupProof,
    transcript: Transcript,
    witness_commitment: bytes,
    multiplicity_commitment: bytes,
) -> LookupClaims:
    """Check a lookup proof inside the caller's transcript; return the claims to settle.

    Absorbs exactly what :func:`provers.lookup.prover.prove_as_subprotocol` absorbs, in the same
    order. The caller MUST then check ``claims.witness_values`` against its witness commitment
    at ``claims.witness_point`` and ``claims.multiplicity_value`` against the multiplicity
    commitment at ``claims.multiplicity_point``: until then the proof shows only that those
    claims would make every witness row a table row.
    """
    statement.validate()
    proof = check_proof_shape(statement, proof)
    steps.absorb_statement(transcript, statement, witness_commitment, multiplicity_commitment)
    alpha, beta = steps.draw_compression(transcript, statement.width)
    _check_roots(proof.witness_tree.root, proof.table_tree.root)
    steps.absorb_roots(transcript, proof.witness_tree.root, proof.table_tree.root)
    witness_label, table_label = steps.tree_labels()
    witness_point, witness_claim = verify_tree(proof.witness_tree, transcript, witness_label)
    table_point, table_claim = verify_tree(proof.table_tree, transcript, table_label)
    selector_point = witness_point[:, : statement.selector_vars]
    entry_point = np.ascontiguousarray(witness_point[:, statement.selector_vars :])
    expected_q = _witness_leaf_denominator(
        statement, proof.witness_evaluations, selector_point, alpha, beta
    )
    _check_leaf(witness_claim, ext.one(), expected_q, "witness tree")
    table_row = _compress(statement.table.evaluate_columns(table_point), beta)
    _check_leaf(table_claim, proof.multiplicity_evaluation, ext.sub(alpha, table_row), "table tree")
    steps.absorb_leaf_claims(transcript, proof.witness_evaluations, proof.multiplicity_evaluation)
    return LookupClaims(
        witness_point=entry_point,
        witness_values=proof.witness_evaluations.copy(),
        multiplicity_point=table_point,
        multiplicity_value=proof.multiplicity_evaluation.copy(),
        width=statement.width,
    )

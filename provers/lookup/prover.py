"""logUp-GKR lookup prover (Haböck, "Multivariate lookups based on logarithmic derivatives";
Papini–Haböck, "Improving logarithmic derivative lookups using GKR").

Statement: every row of L witness lookups lies in the public table T. With m the committed
multiplicities and α (β) drawn after the witness and m are bound,
    Σ_{j,i} 1/(α − a_j[i])  =  Σ_t m[t]/(α − T[t])          (rows compressed as a + β·b)
holds for random α iff every row is in T (up to (N + 2^k)/|F|, N < p rows). Each side is the
root of a fraction tree (provers/lookup/fraction_tree.py); the verifier compares the two roots,
then a layer-by-layer GKR reduces each root to a claim on its leaves: at layer i with claim
(p_i, q_i)(r),
    p_i(r) + λ·q_i(r) = Σ_x eq(r, x)·[p0·q1 + p1·q0 + λ·q0·q1](x),   p_b = p_{i+1}(b, ·), …
is a degree-3 sumcheck ending at a point s with claims p_b(s), q_b(s); a fresh μ folds them into
the claim (p_{i+1}, q_{i+1})(μ, s). At the leaves the claims become ã_j(r_x), m̃(r_t) (the
caller's to settle with its commitments) and T̃(r_t) (public: the verifier computes it).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from provers.errors import ProverError, VerificationError
from provers.field import ext
from provers.field.backend import Array, as_int64, to_numpy
from provers.lookup import transcript_steps as steps
from provers.lookup.fraction_tree import (
    FractionTree,
    build_tree,
    cross_difference,
    is_zero,
    table_leaves,
    witness_leaf_denominators,
)
from provers.lookup.layer_sumcheck import prove_layer
from provers.lookup.multiplicities import Lookup, normalise_lookups
from provers.lookup.proof import LAYER_DEGREE, LayerProof, LookupProof, TreeProof
from provers.lookup.statement import LookupClaims, LookupStatement
from provers.poly import multilinear
from provers.sumcheck.proof import SumcheckProof
from provers.transcript import Transcript


def _root_layer_claims(tree: FractionTree) -> np.ndarray:
    """The two entries of layer 1 as (4, 4): they are the root layer's child claims."""
    numerators, denominators = tree.numerators[1], tree.denominators[1]
    q = to_numpy(denominators)
    if numerators is None:
        p = np.stack([ext.one(), ext.one()], axis=1)
    else:
        p = to_numpy(numerators if numerators.ndim == 2 else ext.from_base(numerators))
    return np.ascontiguousarray(np.concatenate([p, q], axis=1))


def _prove_layer(
    tree: FractionTree,
    layer: int,
    point: np.ndarray,
    claim: tuple[np.ndarray, np.ndarray],
    transcript: Transcript,
    tree_label: str,
) -> tuple[SumcheckProof, np.ndarray, np.ndarray]:
    """Sumcheck of layer ``layer`` at ``point``: (proof, its point s, the (4, 4) child claims)."""
    lam = steps.draw_batching(transcript, tree_label)
    numerators, denominators = tree.numerators[layer + 1], tree.denominators[layer + 1]
    half = 1 << layer
    tables = [denominators[:, :half], denominators[:, half:]]
    if numerators is not None:
        wide = numerators if numerators.ndim == 2 else ext.from_base(numerators)
        tables = [wide[:, :half], wide[:, half:], *tables]
    claimed_sum = ext.add(claim[0], ext.mul(lam, claim[1]))
    proof, sub_point, finals = prove_layer(
        tables, point, lam, claimed_sum, transcript, f"{tree_label}/layer"
    )
    if numerators is None:
        finals = [ext.one(), ext.one(), *finals]
    return proof, sub_point, np.stack(finals, axis=1)


def prove_tree(
    tree: FractionTree, transcript: Transcript, tree_label: str
) -> tuple[TreeProof, np.ndarray]:
    """GKR for one fraction tree whose root is already absorbed: (proof, the leaf point)."""
    root_p, root_q = (to_numpy(v) for v in tree.root())
    claim = (root_p, root_q)
    point = np.zeros((ext.DEGREE, 0), dtype=np.int64)
    layers: list[LayerProof] = []
    for layer in range(tree.depth):
        if layer == 0:
            round_proof = SumcheckProof(np.zeros((0, ext.DEGREE, LAYER_DEGREE + 1), np.int64))
            sub_point, claims = point, _root_layer_claims(tree)
        else:
            round_proof, sub_point, claims = _prove_layer(
                tree, layer, point, claim, transcript, tree_label
            )
        mu = steps.absorb_child_claims(transcript, tree_label, claims)
        claim = steps.fold_claims(claims, mu)
        point = np.concatenate([mu[:, None], sub_point], axis=1)
        layers.append(LayerProof(round_proof, claims))
    root = np.stack([root_p, root_q], axis=1)
    return TreeProof(root, tuple(layers)), point


def _check_multiplicities(statement: LookupStatement, multiplicities: Array) -> None:
    if tuple(multiplicities.shape) != (statement.table.size,):
        raise ProverError(
            f"multiplicities of shape {tuple(multiplicities.shape)}, the table has "
            f"{statement.table.size} rows"
        )


def prove_as_subprotocol(
    statement: LookupStatement,
    lookups: Sequence[Lookup],
    multiplicities: Array,
    transcript: Transcript,
    witness_commitment: bytes,
    multiplicity_commitment: bytes,
) -> tuple[LookupProof, LookupClaims]:
    """Prove every witness row lies in the table, inside the caller's transcript.

    ``multiplicities`` come from :func:`compute_multiplicities` and must already be committed
    (``multiplicity_commitment``), as must the witness (``witness_commitment``: the caller's
    commitment bytes or claim digest). Absorbs, in order: the statement descriptor (table
    identity, L, n), witness_commitment, multiplicity_commitment; draws α (and β when the table
    has two columns); absorbs both roots; then for the witness tree and then the table tree,
    per layer i: λ (i ≥ 1), the layer sumcheck (label ``lookup/<tree>/layer``), the child
    claims, μ; finally the witness evaluations and m̃(r_t). Returns the proof and the claims
    the caller must settle by opening its commitments.
    """
    try:
        statement.validate()
    except VerificationError as error:
        raise ProverError(f"invalid lookup statement: {error.detail}") from None
    columns = normalise_lookups(statement, lookups)
    _check_multiplicities(statement, multiplicities)
    steps.absorb_statement(transcript, statement, witness_commitment, multiplicity_commitment)
    alpha, beta = steps.draw_compression(transcript, statement.width)
    like = columns[0][0]
    witness_tree = build_tree(
        None,
        witness_leaf_denominators(
            columns, statement.padded_lookups, as_int64(alpha, like=like), as_int64(beta, like=like)
        ),
    )
    table_tree = build_tree(
        *table_leaves(statement.table.column_values(), multiplicities, alpha, beta)
    )
    witness_root = [to_numpy(v) for v in witness_tree.root()]
    table_root = [to_numpy(v) for v in table_tree.root()]
    _check_roots(witness_root, table_root)
    steps.absorb_roots(transcript, np.stack(witness_root, 1), np.stack(table_root, 1))
    witness_label, table_label = steps.tree_labels()
    witness_proof, witness_point = prove_tree(witness_tree, transcript, witness_label)
    table_proof, table_point = prove_tree(table_tree, transcript, table_label)
    claims = _leaf_claims(statement, columns, multiplicities, witness_point, table_point)
    steps.absorb_leaf_claims(transcript, claims.witness_values, claims.multiplicity_value)
    proof = LookupProof(
        witness_proof, table_proof, claims.witness_values, claims.multiplicity_value
    )
    return proof, claims


def _check_roots(witness_root: list[np.ndarray], table_root: list[np.ndarray]) -> None:
    if is_zero(witness_root[1]) or is_zero(table_root[1]):
        raise ProverError("a leaf denominator α − v is zero; α hit a table or witness value")
    if not is_zero(
        cross_difference((witness_root[0], witness_root[1]), (table_root[0], table_root[1]))
    ):
        raise ProverError(
            "the multiplicities do not balance the lookups: Σ 1/(α − a) ≠ Σ m/(α − T); "
            "recompute them with compute_multiplicities"
        )


def _evaluate(values: Array, point: np.ndarray) -> np.ndarray:
    return to_numpy(multilinear.evaluate(values, as_int64(point, like=values)))


def _leaf_claims(
    statement: LookupStatement,
    columns: list[list[Array]],
    multiplicities: Array,
    witness_point: np.ndarray,
    table_point: np.ndarray,
) -> LookupClaims:
    point = np.ascontiguousarray(witness_point[:, statement.selector_vars :])
    # One eq table serves every column: each claim is then an inner product, O(2^n) base-field
    # products instead of a fold of O(2^n) challenge-field operations per column.
    eq = multilinear.eq_table(as_int64(point, like=columns[0][0]))
    values = [
        to_numpy(ext.inner_product_base(eq, column)) for lookup in columns for column in lookup
    ]
    return LookupClaims(
        witness_point=point,
        witness_values=np.stack(values, axis=1),
        multiplicity_point=table_point,
        multiplicity_value=_evaluate(multiplicities, table_point),
        width=statement.width,
    )

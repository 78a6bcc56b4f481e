"""Multilinear tensor-code polynomial commitment (Ligero / Brakedown style), optionally hiding.

References: Ames, Hazay, Ishai, Venkitasubramaniam, "Ligero: Lightweight Sublinear Arguments
Without a Trusted Setup" (CCS 2017); Golovnev, Lee, Setty, Thaler, Wahby, "Brakedown:
Linear-time and field-agnostic SNARKs for R1CS" (CRYPTO 2023); Ben-Sasson, Carmon, Ishai,
Kopparty, Saraf, "Proximity Gaps for Reed–Solomon Codes" (FOCS 2020) for the proximity test.

Commit. A table f of 2^m base-field values is a matrix M of 2^a rows × C = 2^b columns
(M[i][j] = f[i·C + j], so f(r) = eq(r_hi)^T · M · eq(r_lo) for r = (r_hi, r_lo) with r_hi the
first a coordinates). Each row, read as the coefficients of a polynomial of degree < k, is
Reed–Solomon encoded on the subgroup of order N (:mod:`provers.poly.ntt`), giving E = Enc(M);
leaf j of a SHA-256 Merkle tree is column j of E. Several tables of one size may share a tree
(their rows stacked). Commitment = (root, m, a, tables, hiding, mask groups, parameters,
tickets).

Open (claims f_l(r_g) = v_{g,l} for requests g = (tree, point r_g), several trees at once):
  1. absorb the commitments and every (tree, point, values); in hiding mode the prover names
     the ticket i each hiding tree's opening consumes (absorbed) and sends σ_g = <s_g, eq(r_lo)>
     for each request's masking row s_g of block i; the verifier draws α, one challenge-field
     weight per claim;
  2. prover sends each request's evaluation row u_g = Σ_l α_{g,l}·eq(r_hi)^T·M_l (+ s_g);
  3. per tree the verifier draws γ and the prover sends w = γ^T·M (+ s_prox), γ weighing the
     tables' rows (and, hiding, block i's evaluation masks);
  4. per tree the verifier draws a uniformly random set Q of t distinct column positions; the
     prover opens those columns of E with one batched Merkle proof.
Verifier: <u_g, eq(r_lo)> = Σ_l α_{g,l}·v_{g,l} (+ σ_g); for every j ∈ Q,
Enc(w)[j] = z_prox^T·E[:, j] and Enc(u_g)[j] = z_g^T·E[:, j], z the weights each row was built
with (zero on the other tickets' blocks).
Soundness: ε ≤ (1 − (e+1)/N)^t + (N + 1)/|F_ext| per tree and opening, whatever the ticket;
derived in :mod:`.params`.

Hiding mode (zero knowledge beyond the claimed values), for B = ``tickets`` openings:
  * every row gets t·B extra uniformly random coefficients (degree < k = C + t·B), so the values
    of one row at any ≤ t·B distinct positions are uniform whatever its message: they are the
    message part plus V·ρ with V = (x_j^{C+i}) = diag(x_j^C)·Vandermonde(x_j) of full row rank
    for distinct nonzero x_j, and B openings open at most t·B distinct columns;
  * B blocks of masking rows (all k coefficients random), block i for the opening with ticket i:
    four rows per sent challenge-field row — one set for w, one per evaluation point
    (``max_points`` at commit time). w and each u_g add their own masks of block i with
    weights 1, X, X^2, X^3, so each is a uniform vector independent of the table and of every
    other opening's rows, and σ_g is then determined by u_g and the public claims
    (σ_g = <u_g, eq(r_lo)> − Σ α v). Because σ_g is sent before α, a false claim still survives
    only with probability 1/|F_ext|;
  * each leaf is column ‖ 32-byte random salt, so the hashes of unopened columns are hiding.
Joint simulation of B openings with distinct tickets (the prover never reuses one). Everything
revealed is linear in (table, randomness) for the public challenges. Sample uniformly: the
tables' rows at the union Q* of all opened positions (|Q*| ≤ t·B: uniform by the first point);
every opening's w and u_g (uniform by the second); for every masking row that no sent row
determines — the blocks of tickets not (yet) used, and unused evaluation groups — its values at
Q*: a uniform message of k coefficients seen at |Q*| ≤ t·B < k distinct positions is uniform
there (the k-column Vandermonde at those positions has full row rank). These are independent:
the table rows' values at Q* depend on ρ alone, those masks' values on those masks alone, and
once ρ and those masks are fixed the sent rows are a bijection (X^c weights on the diagonal) of
the used blocks' proximity and evaluation masks. The rest is fixed by them:
σ_g as above, and block i's rows at every opened position j — opened in ticket i's opening or
in any other — from the checks, Enc(s_g)[j] = Enc(u_g)[j] − Σ α eq(r_hi)^T·E_M[:, j] and the X^c
part of Enc(w)[j] − γ-weighted known columns. The salts, and the hashes of leaves never opened,
are fresh randomness (SHA-256 as a random oracle). So the B proofs together are simulated from
the points and values alone; the challenges are public coins, so the simulator may produce the
openings one after another, in any order of tickets, each from its conditional distribution.
Reusing a ticket breaks the second point: two openings then add the same masks, and u_g − u'_g
exposes rows of the table; the prover therefore takes each ticket once and refuses an
exhausted commitment (``ProverData.used_tickets``, which the caller restores with the prover
data it saved: ``ProverData.to_bytes`` / ``ProverData.from_bytes``).
"""

from provers.commit.pcs.params import (
    MAX_TICKETS,
    PCSParams,
    batch_soundness_bits,
    pcs_soundness_bits,
    smallest_commitment_row_vars,
)
from provers.commit.pcs.proof import Commitment, OpeningProof, TreeOpening
from provers.commit.pcs.prover import (
    BatchOpener,
    ProverData,
    batch_open,
    commit,
    commit_many,
    open,
)
from provers.commit.pcs.verifier import batch_verify, proof_from_bytes, verify

__all__ = [
    "MAX_TICKETS",
    "BatchOpener",
    "Commitment",
    "OpeningProof",
    "PCSParams",
    "ProverData",
    "TreeOpening",
    "batch_open",
    "batch_soundness_bits",
    "batch_verify",
    "commit",
    "commit_many",
    "open",
    "pcs_soundness_bits",
    "proof_from_bytes",
    "smallest_commitment_row_vars",
    "verify",
]

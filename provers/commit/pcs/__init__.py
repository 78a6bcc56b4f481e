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
(their rows stacked). Commitment = (root, m, a, tables, hiding, mask groups, parameters).

Open (claims f_l(r_g) = v_{g,l} for requests g = (tree, point r_g), several trees at once):
  1. absorb the commitments and every (tree, point, values); in hiding mode the prover sends
     σ_g = <s_g, eq(r_lo)> for each request's masking row s_g; the verifier draws α, one
     challenge-field weight per claim;
  2. prover sends each request's evaluation row u_g = Σ_l α_{g,l}·eq(r_hi)^T·M_l (+ s_g);
  3. per tree the verifier draws γ ∈ F_ext^rows and the prover sends w = γ^T·M (+ s_prox);
  4. per tree the verifier draws a uniformly random set Q of t distinct column positions; the
     prover opens those columns of E with one batched Merkle proof.
Verifier: <u_g, eq(r_lo)> = Σ_l α_{g,l}·v_{g,l} (+ σ_g); for every j ∈ Q,
Enc(w)[j] = γ^T·E[:, j] and Enc(u_g)[j] = z_g^T·E[:, j], z_g the weights u_g was built with.
Soundness: ε ≤ (1 − (e+1)/N)^t + (N + 1)/|F_ext| per tree; derived in :mod:`.params`.

Hiding mode (zero knowledge beyond the claimed values). Three changes:
  * every row gets t extra uniformly random coefficients (degree < k = C + t), so the values of
    one row at any t distinct positions are uniform whatever its message: they are the message
    part plus V·ρ with V = (x_j^{C+i}) = diag(x_j^C)·Vandermonde(x_j) invertible for distinct
    nonzero x_j, and at most t distinct columns are ever opened;
  * four uniformly random masking rows (all k coefficients random) per sent challenge-field
    row — one set for w, one per evaluation point (``max_points`` at commit time) — are
    committed with the table. w and each u_g include their own masks with weights 1, X, X^2,
    X^3, so each is a uniform vector independent of the table, and σ_g is then determined by
    u_g and the public claims (σ_g = <u_g, eq(r_lo)> − Σ α v). The opened columns of the
    masking rows are fixed by the checks from values already simulated. Because σ_g is sent
    before α, a false claim still survives only with probability 1/|F_ext|;
  * each leaf is column ‖ 32-byte random salt, so the hashes of unopened columns are hiding.
A simulator given only the points and values therefore reproduces the proof's distribution:
uniform w, u_g; σ_g from them; uniform table columns at Q; mask columns from the checks;
random salts. Each hiding commitment may be opened once (a second opening would reveal more
than t columns and reuse masks); the prover refuses.
"""

from provers.commit.pcs.params import PCSParams, batch_soundness_bits, pcs_soundness_bits
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
    "verify",
]

"""Weight range proofs: every entry of every weight block of a committed model is an int8.

Made once, when the model is committed (:func:`provers.inference.commit_model`), and kept in
the ``.vmc`` file. Inference and audit proofs open the same commitment; this proof is what makes
their "exact integer" arguments describe an int8 model rather than arbitrary field elements.

Statement: the model digest, the circuit, the commitment to the weight table T of 2^N entries,
read by the PCS as 2^(N−c) rows y of 2^c columns z (:mod:`.statement`). The circuit fixes the
layout (:mod:`provers.inference.weights`): each weight block is an aligned region of at least
one row; sel(y) is 1 on the rows of every block (padding included) and 0 on the bias block and
the unused tail. Claim: T[i] ∈ [−128, 127] (as field elements) wherever sel = 1.

Protocol (R runs of steps 2–3, R from :mod:`.soundness`; order in :mod:`.protocol`):

1. the prover commits the multiplicities m of a = sel·T + 128 (pointwise on the cube) over
   the table [0, 256): a is T + 128 inside the blocks and 128 elsewhere, so a ⊂ [0, 256) iff
   every block entry is an int8;
2. the logUp-GKR lookup (:mod:`provers.lookup`) with the model commitment as the witness's
   commitment reduces "a ⊂ [0, 256)" to claims ã(r) and m̃(t) at random points;
3. ã(r) is not sel̃(r)·T̃(r) (the extension of a product is not the product of extensions),
   but sel depends on the row bits only, so with r = (r_hi, r_lo)
       ã(r) − 128 = Σ_y eq(r_hi, y)·sel(y)·g(y),     g(y) = Σ_z eq(r_lo, z)·T(y, z) = T̃(y, r_lo),
   a degree-3 sumcheck over the N − c row bits ending at s with eq(r_hi, s)·sel̃(s)·T̃(s, r_lo):
   the verifier computes eq and sel̃(s) = Σ_b eq(s_{1..N−k_b}, o_b / 2^k_b) itself
   (O(#blocks·N)), and the prover states T̃(s, r_lo);
4. one batch opening settles T̃(s_k, r_lo^k) on the model commitment (its ``prover_data``) and
   m̃(t_k) on the multiplicity commitment, for every run k.

Soundness: a block entry outside [−128, 127] makes a leave [0, 256); the lookup then fails
except with the probabilities of :mod:`.soundness` (the logUp identity over the committed a
and m, the fraction trees, the row sumcheck, the openings), stated in the header; the verifier
refuses fewer than 100 bits. Not zero knowledge: the lookup and the opening reveal combinations
of the weights, which phase 1 commits but does not hide; a hiding commitment is refused.
A model committed hidden has its zero-knowledge counterpart, :mod:`provers.weight_range.hidden`.

Biases need no range proof. Each layer's inference relation (:mod:`provers.inference.requant`,
identity (1), :mod:`provers.inference.rel_requant`) proves acc + 2^(s1−1) = 2^s1·t + r1 with
t = τ − 2^15·σ, τ's and r1's limbs range-checked and σ a bit bound by the clamp lookup, so acc
is congruent to an integer A with |A| ≤ 2^(15+s1) + 2^(s1−1); and acc = Σ_f X_f·W_f + b with
int8 activations X (the public input, or lookup-clamped outputs) and int8 weights W (this
proof, the padding's 2^f features included), so D = Σ X·W is an integer with |D| ≤ 2^14·2^f.
The bias is then congruent to the integer A − D, of absolute value at most
B = 2^(15+s1) + 2^(s1−1) + 2^(14+f). While B < p/2 (``biases_bounded`` in the verifier's
answer; under a fifth of p/2 for every example model, VGG-16 included) every accepted inference
proof, whatever its input, agrees with one integer bias (the centred representative of b,
an int32), and each accumulator is that integer model's exact accumulator.
"""

from provers.weight_range.prover import prove
from provers.weight_range.verifier import biases_bounded, describe, verify_file

__all__ = ["biases_bounded", "describe", "prove", "verify_file"]

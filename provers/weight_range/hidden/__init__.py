"""Zero-knowledge weight range proofs: the weights of a model committed hidden are int8.

Statement: the model digest, the circuit and the hiding commitment to M2 = (T ‖ T′)
(:mod:`provers.private.model`): T the weight table of 2^N entries, read in rows of 2^c as in
:mod:`provers.weight_range`, T′ uniform, x_0 the most significant variable of M2, so
M2(x_0, x) = (1 − x_0)·T(x) + x_0·T′(x). sel is the public indicator of the weight blocks, a
0/1 function of the N − c row bits (:mod:`provers.weight_range.statement`). Claim: every entry
of every weight block of T lies in [−128, 127] (as field elements).

The looked-up column is A2 = sel·M2 + 128 pointwise on the doubled domain:
A2 = (sel·T + 128 ‖ sel·T′ + 128). Its first half a is T + 128 inside the blocks and 128
elsewhere, so a ⊂ [0, 256) exactly when every block entry is an int8. Its second half, the
doubled column's random half, is taken from T′ instead of drawn afresh, so that A2 is a public
function of the committed M2 and needs no commitment of its own. The lookup has 2^L rows,
L = max(N, 8); when N < 8 both halves are padded with zeros (the range table's row 0) and the
padded column at (ζ, u, r) is w·A2(ζ, r) with w = eq(u, 0).

Protocol (made once, when the model is committed; transcript order in :mod:`.protocol`):

1. absorb the statement digest and the parameters;
2. P commits, hiding, for one opening at one point, M = (m ‖ m′): m the counts of a over the
   padded range table, m′ uniform; absorb;
3. the zero-knowledge lookup's core (:func:`provers.lookup.zk.prove_core`) on the column A2 and
   on M: α, β; the helper columns h = 1/(α − a), g = m/(α − t), each doubled with a uniform
   half and committed hiding; τ, λ_1, λ_2; one masked sumcheck with the public claim 0 over
   L + 1 variables, every term carrying (1 − x_0), ending at r' = (ζ, u, r);
4. P sends A2(r'), M(r'), H_l(r'), G_l(r'); V checks the core's final value
   (:func:`provers.lookup.zk.check_core`);
5. the tie, with r = (r_hi, r_lo) split at the row bits: a masked sumcheck
   (:func:`provers.sumcheck.zk.prove_zk`, degree 3, over x_0 and the N − c row bits y) of

       Σ_{x_0, y} w·eq((ζ, r_hi), (x_0, y))·sel(y)·g(x_0, y) = A2(r') − 128·w,
       g(x_0, y) = Σ_z eq(r_lo, z)·M2(x_0, y, z),

   true because the extension of sel·M2 + 128 at (ζ, r) is Σ eq·sel·M2 + 128 (Σ eq = 1, and sel
   depends neither on x_0 nor on the column bits z). Its total is the value sent in step 4;
   it ends at s = (s_0, s_y), where V computes w·eq((ζ, r_hi), s)·sel(s_y) itself and P states
   μ = g(s) = M2(s_0, s_y, r_lo);
6. one hiding batch opening: M and the helpers at r' (each commitment opened once), M2 at
   (s_0, s_y, r_lo) with the ticket the hidden model keeps for this proof (its last, B).

Soundness. M2 is bound by the statement's commitment before any challenge, so A2 is a fixed
vector; M is bound before α and β, the helpers before τ and λ. With true final values, the core
is the zero-knowledge lookup's argument (:mod:`provers.lookup.zk`): the zero-checks force
h_i·(α − a_i) = 1 and g_t·(α − t) = m_t, and logUp then puts every a_i in [0, 256), except with
2L/|F| + 2/|F| + 2^(L+1)/|F| and the masked sumcheck's error. The value A2(r') the core's check
uses is the prover's claim; the tie proves it is the committed M2's: a false total survives the
masked sumcheck only with probability ≤ (3·(N − c + 1) + 1)/|F|, ending in a claim on M2 that
the opening settles (the PCS error of the model's commitment, with its B + 1 tickets). The same
opening settles M(r') and the helpers. :mod:`.soundness` sums every term, the masks' openings
included; prover and verifier refuse fewer than 100 bits.

Zero knowledge. The verifier sees the statement, the roots of the multiplicity, helper and mask
commitments, two masked sumchecks, the finals, μ and one hiding batch opening.

* The masked sumchecks are simulatable from their totals and final values
  (:mod:`provers.sumcheck.zk`): the lookup's total is 0 and its final value a public function
  of the finals; the tie's total is A2(r') − 128·w and its final value w·eq·sel·μ.
* The hiding openings reveal only their claimed values (:mod:`provers.commit.pcs`), over all
  B + 1 tickets of M2 jointly; the multiplicity and helper commitments are opened once.
* M(r'), H_l(r'), G_l(r') are values at (ζ, …) of vectors whose halves are fresh, uniform and
  used nowhere else: uniform and independent for ζ ≠ 0 (the zero-knowledge lookup's argument).
* A2(r') and μ are values of M2's kind. With w and ζ challenges and 128 a constant,
  A2(r') − w·ζ·128 = w·(1 − ζ)·(sel·T + 128)(r) + w·ζ·(sel·T′)(r): the offset adds a public
  number and takes nothing from the mask; μ = (1 − s_0)·T(s_y, r_lo) + s_0·T′(s_y, r_lo). Each
  is (a function of T) + (a linear function of T′), with coefficient rows w·ζ·eq(r, x)·sel(x)
  (on the weight blocks) and s_0·eq((s_y, r_lo), x) (on the whole table), four base-field
  coordinates each. Together with the values of M2 that the model's B later proofs reveal, they
  are jointly uniform whatever T holds exactly when the linear map from T′ to all of them has
  full rank. That is the budget's condition for B + 1 proofs (the range proof's two claims are
  fewer, on every region, than an inference proof's, stage C's included), which
  :func:`provers.private.model.commit_hidden_model` checks before committing;
  ``tests/provers/test_weight_range_hidden.py`` checks the rank on real proofs.
* The only relations among the revealed values are the two final checks and the tie's total,
  and a simulator enforces them: it draws the finals and μ uniformly, computes the lookup's
  final value, the tie's total and its final value, simulates both masked sumchecks and the
  openings from those. The proof therefore reveals nothing about T beyond the claim.
"""

from provers.weight_range.hidden.prover import prove, prove_with_multiplicities
from provers.weight_range.hidden.verifier import describe, revealed_points, verify_file

__all__ = ["describe", "prove", "prove_with_multiplicities", "revealed_points", "verify_file"]

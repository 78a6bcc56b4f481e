"""Self-contained proof files for the core protocols, each verifiable from its bytes alone.

* ``committed_sum`` — Σ_x f_1(x)·…·f_k(x) = H for tables fixed by one commitment (sumcheck,
  masked in hiding mode, closed by a batched opening);
* ``opening`` — a committed table takes given values at given points (the PCS alone);
* ``lookup`` — every entry of a committed vector lies in a public table (logUp over GKR).

They are what ``veriml verify`` checks today and what the fuzz tests mutate; model proofs reuse
the same pieces inside one transcript.
"""

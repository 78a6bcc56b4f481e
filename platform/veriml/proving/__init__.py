"""Proving jobs: inference and accuracy-audit proofs, run by workers, with signed callbacks."""

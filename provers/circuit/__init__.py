"""The quantised model IR: a closed set of integer ops, validation, and the reference executor.

The IR is the contract between the compiler (torch → IR) and the prover (IR → proof): the
integer semantics written in :mod:`provers.circuit.ops` are exactly what a proof attests, and
:mod:`provers.circuit.executor` computes them bit for bit.
"""

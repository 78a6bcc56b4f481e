"""Lookup arguments: logUp with the GKR fractional-sum tree (Haböck; Papini–Haböck).

``prove_as_subprotocol``/``verify_as_subprotocol`` run inside a caller's transcript and leave
evaluation claims on the witness and the multiplicities for the caller's commitment to settle;
``compute_multiplicities`` gives the vector the caller commits first. ``standalone.prove``/
``standalone.verify`` commit the witness and m with the PCS themselves. Tables are built with
``range_table``, ``function_table`` or ``explicit_table``.
"""

from provers.lookup.multiplicities import compute_multiplicities
from provers.lookup.proof import LayerProof, LookupProof, TreeProof
from provers.lookup.prover import prove_as_subprotocol
from provers.lookup.statement import LookupClaims, LookupStatement
from provers.lookup.table import (
    IndexColumn,
    LookupTable,
    ValuesColumn,
    explicit_table,
    function_table,
    range_table,
)
from provers.lookup.verifier import verify_as_subprotocol

__all__ = [
    "IndexColumn",
    "LayerProof",
    "LookupClaims",
    "LookupProof",
    "LookupStatement",
    "LookupTable",
    "TreeProof",
    "ValuesColumn",
    "compute_multiplicities",
    "explicit_table",
    "function_table",
    "prove_as_subprotocol",
    "range_table",
    "verify_as_subprotocol",
]

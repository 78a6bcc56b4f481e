"""Small valid proof files of every core protocol, shared by the file-level tests."""

from __future__ import annotations

import numpy as np
import pytest

from provers.field import base, ext
from provers.lookup.statement import LookupStatement
from provers.lookup.table import range_table
from provers.standalone import committed_sum, lookup, opening


@pytest.fixture(scope="session")
def proof_files() -> dict[str, bytes]:
    rng = np.random.default_rng(2026)
    tables = [base.random(1 << 6, rng) for _ in range(3)]
    statement = LookupStatement(range_table(4), 2, 5)
    witness = [[rng.integers(0, 16, 32)] for _ in range(2)]
    return {
        "sumcheck": committed_sum.prove(tables, rng=rng),
        "sumcheck_hiding": committed_sum.prove(tables[:2], hiding=True, rng=rng),
        "opening": opening.prove(tables[:2], [ext.random(6, rng)], rng=rng),
        "opening_hiding": opening.prove(tables[:1], [ext.random(6, rng)], hiding=True, rng=rng),
        "lookup": lookup.prove(statement, witness),
    }

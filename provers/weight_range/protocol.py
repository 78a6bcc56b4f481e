"""What the weight range prover and verifier share: the transcript's order, the lookup's
statement, the shapes derived from the parameters and the row-sumcheck's claimed sum.

Transcript (domain ``veriml/weight-range/v1``):
  1. the statement digest (model digest, circuit, weight commitment) and the parameters;
  2. per run k = 1..R: the lookup (provers/lookup/transcript_steps.py: its statement, the
     model commitment as witness commitment, the multiplicity commitment, then α, the roots,
     the trees, the leaf claims a(r_k) and m(t_k)); the row sumcheck (label ``rows/k``: its
     claimed sum a(r_k) − 128, then each round before its challenge); T(s_k, r_lo^k);
  3. the PCS opening (it absorbs the commitments, points and values first).
"""

from __future__ import annotations

import numpy as np

from provers.field import ext
from provers.lookup.statement import LookupStatement
from provers.lookup.table import range_table
from provers.params import ProofParameters
from provers.transcript import Transcript
from provers.weight_range.soundness import TABLE_VARS

DOMAIN = "veriml/weight-range/v1"
OFFSET = 128
"""a = sel·T + 128 maps an int8 weight to [0, 256) and every entry outside a block to 128."""
RANGE_TABLE = range_table(TABLE_VARS, 0, "int8 + 128")


def start_transcript(statement_digest: bytes, parameters: bytes) -> Transcript:
    transcript = Transcript(DOMAIN)
    transcript.absorb_bytes("statement", statement_digest)
    transcript.absorb_bytes("parameters", parameters)
    return transcript


def lookup_statement(num_vars: int) -> LookupStatement:
    """One looked-up vector of 2^N entries in [0, 256)."""
    return LookupStatement(RANGE_TABLE, 1, num_vars)


def multiplicity_row_vars(params: ProofParameters) -> int:
    return params.pcs.row_vars(TABLE_VARS)


def multiplicity_column_vars(params: ProofParameters) -> int:
    return TABLE_VARS - multiplicity_row_vars(params)


def rows_label(run: int) -> str:
    return f"rows/{run}"


def rows_claim(looked_up_value: np.ndarray) -> np.ndarray:
    """The row sumcheck's claimed sum: a(r) − 128 = Σ_y eq(r_hi, y)·sel(y)·g(y)."""
    offset = ext.from_base(np.array([OFFSET], dtype=np.int64))[:, 0]
    return np.asarray(ext.sub(looked_up_value, offset))


def absorb_table_value(transcript: Transcript, run: int, value: np.ndarray) -> None:
    transcript.absorb_ext(f"table_value/{run}", value)


def table_point(sumcheck_point: np.ndarray, witness_point: np.ndarray, row_vars: int) -> np.ndarray:
    """(s, r_lo): the sumcheck's row point followed by the lookup point's column coordinates."""
    return np.ascontiguousarray(np.concatenate([sumcheck_point, witness_point[:, row_vars:]], 1))

"""What the zero-knowledge distribution tests share: a two-sample χ² over small bins."""

from __future__ import annotations

import numpy as np

CHI_SQUARE_3_DOF_0_1_PERCENT = 16.3
"""The 0.1% point of χ² with 3 degrees of freedom (four bins)."""


def chi_square(first: np.ndarray, second: np.ndarray, bins: int = 4) -> float:
    """Two-sample χ² of two samples of values in [0, bins); empty bins are left out."""
    a = np.bincount(np.asarray(first).reshape(-1), minlength=bins).astype(float)
    b = np.bincount(np.asarray(second).reshape(-1), minlength=bins).astype(float)
    total = a + b
    keep = total > 0
    a, b, total = a[keep], b[keep], total[keep]
    expected_a, expected_b = total * a.sum() / total.sum(), total * b.sum() / total.sum()
    return float(
        ((a - expected_a) ** 2 / expected_a).sum() + ((b - expected_b) ** 2 / expected_b).sum()
    )

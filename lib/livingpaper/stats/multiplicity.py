"""Multiplicity: p-values adjusted for the number of tests (Holm 1979, statsmodels)."""
from __future__ import annotations

import numpy as np
import pandas as pd

# ---------------------------------------------------------------------------
# 6. Multiplicity
# ---------------------------------------------------------------------------


def holm(tests: pd.DataFrame, p: str = "p") -> pd.DataFrame:
    """Holm-adjusted p-values of a family of tests.

    Parameters
    ----------
    tests : pandas.DataFrame
        One row per test; the column ``p`` holds the raw two-sided p (``None``/NaN for a
        test that could not be made: it is left out of the family).
    p : str
        Name of that column.

    Returns
    -------
    pandas.DataFrame
        ``tests`` with a column ``p_holm`` (NaN where the raw p is missing) and a column
        ``in_family`` (whether the test counted).

    Notes
    -----
    ``statsmodels.stats.multitest.multipletests(p, method="holm")`` (Holm 1979): the
    k-th smallest of m p-values is multiplied by ``m - k + 1``, made non-decreasing and
    capped at 1. It controls the family-wise error rate under any dependence between the
    tests. ``m`` is the number of tests with a p.

    References
    ----------
    Holm S (1979). A simple sequentially rejective multiple test procedure.
    *Scandinavian Journal of Statistics* 6(2), 65-70.
    """
    from statsmodels.stats.multitest import multipletests

    out = tests.copy()
    raw = pd.to_numeric(out[p], errors="coerce").astype(float)
    present = raw.notna().to_numpy()
    adjusted = np.full(len(out), np.nan)
    if present.any():
        adjusted[present] = multipletests(raw[present].to_numpy(), method="holm")[1]
    out["p_holm"] = adjusted
    out["in_family"] = present
    return out

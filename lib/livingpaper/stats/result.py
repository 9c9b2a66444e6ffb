"""What every statistics function returns (:class:`TidyResult`), and the small helpers the
families share (complete cases, constant columns, ranks, the confidence level)."""
from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd

# HbA1c is recorded to one decimal, so 7.4 - 7.1 and 8.0 - 7.7 should be the
# same reduction, but in floating point they are 0.3000000000000007 and
# 0.2999999999999998.  Rank-based tests would treat them as different
# values (no tie), which changes the ranks and even scipy's choice of
# Wilcoxon method.  Rounding to 10 decimals removes that noise and is far
# below any clinically meaningful resolution.
_RANK_DECIMALS = 10

# Relative tolerance below which a set of values counts as constant
# (zero variance); see is_constant.
_CONSTANT_RTOL = 1e-10


# ---------------------------------------------------------------------------
# Shared result machinery
# ---------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """Convert one value to a plain, JSON-safe Python value.

    numpy scalars become ``int``/``float``/``bool``; NaN and +/-inf become
    ``None`` because they are not valid JSON and, here, always mean "not
    available".
    """
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    raise TypeError(f"Unsupported result value {value!r} ({type(value).__name__}).")


class TidyResult:
    """``to_dict``/``to_frame`` shared by all result dataclasses.

    Fields are coerced to plain Python values on construction, so the
    dataclass itself never holds numpy scalars or NaN.
    """

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            # Frozen dataclass: bypass the generated __setattr__ guard.
            object.__setattr__(self, f.name, _plain(getattr(self, f.name)))

    def to_dict(self) -> dict[str, Any]:
        """Return the fields, in declaration order, as a plain ``dict``."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    @classmethod
    def from_dict(cls, document: dict[str, Any]):
        """The result again from :meth:`to_dict`'s dictionary (a ``results.json`` section);
        keys the class does not know (written by another version) are left out."""
        known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: v for k, v in document.items() if k in known})

    def to_frame(self) -> pd.DataFrame:
        """Return the fields as a one-row :class:`pandas.DataFrame`."""
        d = self.to_dict()
        return pd.DataFrame([d], columns=list(d))


# ---------------------------------------------------------------------------
# Small helpers (shared by the statistics modules)
# ---------------------------------------------------------------------------


def complete_cases(data: pd.DataFrame, columns: list[str]) -> dict[str, np.ndarray]:
    """Float arrays of ``columns`` restricted to rows where all are present."""
    sub = data[columns].dropna()
    return {c: sub[c].to_numpy(dtype=float) for c in columns}


def _mean(x: np.ndarray) -> float | None:
    # Computed only when defined, so empty input never triggers numpy's
    # "Mean of empty slice" RuntimeWarning.
    return float(np.mean(x)) if x.size >= 1 else None


def _sd(x: np.ndarray) -> float | None:
    # Sample SD (ddof=1) needs at least two values.
    return float(np.std(x, ddof=1)) if x.size >= 2 else None


def is_constant(x: np.ndarray) -> bool:
    """True when all values are equal up to floating-point noise.

    A relative tolerance (scaled by the largest magnitude, floor 1) is used
    because differences such as 7.1 - 6.9 are not exact in binary floating
    point; an exact ``sd == 0`` test would miss them and scipy would then
    return an absurd t statistic from a standard deviation of ~1e-16.
    """
    if x.size == 0:
        return True
    scale = max(1.0, float(np.max(np.abs(x))))
    return float(np.ptp(x)) <= _CONSTANT_RTOL * scale


def for_ranking(x: np.ndarray) -> np.ndarray:
    """Reductions with floating-point noise removed before ranking."""
    return np.round(x, _RANK_DECIMALS)


def check_confidence(confidence: float) -> None:
    """Raise ValueError unless 0 < confidence < 1."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence!r}.")

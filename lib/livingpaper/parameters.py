"""What a build is asked for: the thresholds of the groups and the options of reading the data,
and the significance level the book reads every test at.

Kept apart from the analysis (no pandas, no SciPy) so that the command line and a rebuild
with nothing changed start in a fraction of a second.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

#: Units the HbA1c columns may be given in: NGSP % or IFCC mmol/mol.
HBA1C_UNITS = ("ngsp", "ifcc")
#: Physiologically possible HbA1c range (%, NGSP): outside it a value in the data is an
#: error, and a threshold of the severity groups is refused.
HBA1C_POSSIBLE_PERCENT = (3.0, 20.0)
#: Two-sided significance level of every test the book reads as significant or not (the
#: paper's, this cohort's, the planned trial's), and of the comparison of two builds.
ALPHA = 0.05


@dataclass(frozen=True)
class Parameters:
    """Thresholds of the build (the paper's definitions are the defaults).

    moderate_min : lowest baseline HbA1c (%, NGSP) of the moderate group (inclusive).
    severe_above : baseline HbA1c (%) above which a patient is severe; the moderate
        group is ``moderate_min <= baseline <= severe_above``.
    dose_cutoff_cells : the high-dose group received at least this many cells.
    """

    moderate_min: float = 6.2
    severe_above: float = 8.0
    dose_cutoff_cells: float = 1e9

    def __post_init__(self) -> None:
        low, high = HBA1C_POSSIBLE_PERCENT
        for name in ("moderate_min", "severe_above"):
            value = getattr(self, name)
            if not (math.isfinite(value) and low <= value <= high):
                raise ValueError(f"{name} must be an HbA1c from {low:g} to {high:g} % (NGSP), got {value}")
        if not self.moderate_min < self.severe_above:
            raise ValueError(
                f"moderate_min ({self.moderate_min}) must be below severe_above ({self.severe_above})"
            )
        if not (self.dose_cutoff_cells > 0 and math.isfinite(self.dose_cutoff_cells)):
            raise ValueError(f"dose_cutoff_cells must be a positive, finite number of cells, got {self.dose_cutoff_cells}")

    def to_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}

"""Shared fixtures: a small, readable cohort and a helper that writes it to a file.

The cohort has ten patients chosen to sit on the boundaries of the paper's groups:

- moderate (6.2 <= baseline <= 8.0): P01 (6.2, the lower edge), P02, P03, P04 (8.0, the
  upper edge), P05 (whose HbA1c rose);
- severe (baseline > 8.0): P06 (8.1, just above), P07, P08, P09;
- P10 (6.1) is below the moderate group: in ``overall`` only;
- dose: high (>= 1e9 cells) P01 and P10 (exactly 1e9), P03, P06, P07; low the others.

Every reduction (baseline - post) has a different absolute value, so the Wilcoxon test
has no ties and its exact distribution can be enumerated by hand in the tests.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

COLUMNS = ["patient_id", "hba1c_baseline", "hba1c_post", "dose_cells", "msc_source",
           "followup_months", "serious_adverse_event"]

# patient, baseline %, post %, dose (cells), MSC source, follow-up (months), SAE
COHORT_ROWS = [
    ("P01", 6.2, 5.9, 1_000_000_000, "umbilical_cord", 6, 0),    # reduction 0.3
    ("P02", 7.0, 6.6, 100_000_000, "bone_marrow", 12, 0),       # 0.4
    ("P03", 7.5, 7.0, 2_000_000_000, "adipose", 20, 0),         # 0.5
    ("P04", 8.0, 7.1, 500_000_000, "umbilical_cord", 24, 0),    # 0.9
    ("P05", 6.8, 6.9, 300_000_000, "adipose", 35, 0),           # -0.1 (rose)
    ("P06", 8.1, 7.0, 1_500_000_000, "umbilical_cord", 40, 0),  # 1.1
    ("P07", 9.4, 7.6, 2_000_000_000, "bone_marrow", 48, 0),     # 1.8
    ("P08", 10.2, 8.9, 800_000_000, "umbilical_cord", 55, 1),   # 1.3
    ("P09", 8.6, 8.4, 250_000_000, "adipose", 60, 0),           # 0.2
    ("P10", 6.1, 5.5, 1_000_000_000, "umbilical_cord", 68, 0),  # 0.6
]


def cohort_frame() -> pd.DataFrame:
    """A fresh copy of the ten-patient cohort (object columns, so any cell can be edited)."""
    return pd.DataFrame(COHORT_ROWS, columns=COLUMNS).astype(object)


def write_csv(tmp_path: Path, rows: pd.DataFrame | list[dict], name: str = "cohort.csv", **to_csv) -> Path:
    """Write ``rows`` as a CSV file in ``tmp_path`` and return its path (missing values -> empty cells)."""
    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)
    path = Path(tmp_path) / name
    frame.to_csv(path, index=False, **to_csv)
    return path


def set_cell(frame: pd.DataFrame, patient_id: str, column: str, value) -> pd.DataFrame:
    """The frame with one cell changed (the patient's file row is its index + 2)."""
    frame = frame.copy()
    frame[column] = frame[column].astype(object)
    frame.loc[frame["patient_id"] == patient_id, column] = value
    return frame


@pytest.fixture
def cohort_df() -> pd.DataFrame:
    return cohort_frame()


@pytest.fixture
def cohort_csv(tmp_path, cohort_df) -> Path:
    return write_csv(tmp_path, cohort_df)


#: Seven patients, moderate and severe, both dose groups: enough for every chapter of the
#: book, for the tests that build all of it.
BOOK_COHORT = """\
patient_id,hba1c_baseline,hba1c_post,dose_cells,msc_source,followup_months
A01,6.4,6.1,100000000,adipose,12
A02,6.9,6.5,300000000,bone_marrow,24
A03,7.2,6.4,500000000,umbilical_cord,30
A04,7.5,7.3,1000000000,adipose,36
A05,8.4,7.9,2000000000,adipose,60
A06,9.1,7.2,2000000000,bone_marrow,48
A07,9.6,8.9,500000000,umbilical_cord,9
"""


@pytest.fixture(scope="module")
def book_csv(tmp_path_factory) -> Path:
    """:data:`BOOK_COHORT` as a CSV file (one per test module)."""
    path = tmp_path_factory.mktemp("book_data") / "small.csv"
    path.write_text(BOOK_COHORT)
    return path

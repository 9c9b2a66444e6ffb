"""Shared fixtures and helpers: a small, readable cohort and a helper that writes it to a
file; rendered Markdown; the evidence table; the replication cohorts; the analyses beyond
the paper on the reconstructed cohort.

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

import types
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from livingpaper import parameters, paths
from livingpaper.inputs import cohort as dataset
from livingpaper.inputs import evidence, published
from livingpaper.parameters import Parameters
from livingpaper.results import beyond as results_beyond
from livingpaper.results import document
from livingpaper.stats import implied, replication
from markdown_it.renderer import RendererHTML
from myst_parser.config.main import MdParserConfig
from myst_parser.parsers.mdit import create_md_parser

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


def patients(baseline, post, **extra) -> pd.DataFrame:
    """A frame of patients from their baseline and post-treatment HbA1c (and other columns)."""
    return pd.DataFrame({"hba1c_baseline": baseline, "hba1c_post": post, **extra})


def plain(value) -> bool:
    """Is a value what JSON writes as it is (no numpy scalar, no NaN object)?"""
    return isinstance(value, (int, float, bool, str, type(None)))


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


# --------------------------------------------------------------------------- the paper's figures


@pytest.fixture(scope="session")
def paper():
    """The paper's published figures (data/published.yaml)."""
    return published.load()


@pytest.fixture(scope="session")
def implied_table(paper):
    """What the abstract implies at each feasible size of the severe group."""
    return implied.implied_by_size(paper)


# --------------------------------------------------------------------------- rendered Markdown


MYST = create_md_parser(MdParserConfig(enable_extensions={"dollarmath", "colon_fence", "deflist"}), RendererHTML)


class _Text(HTMLParser):
    """Visible text and element names of rendered HTML; table rows as lists of cell texts."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text, self.tags, self.rows, self._cell = [], [], [], None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def rendered(markdown: str) -> _Text:
    parser = _Text()
    parser.feed(MYST.render(markdown))
    return parser


def table(markdown: str) -> list[list[str]]:
    """The rendered table: header row first, one list of cell texts per row."""
    page = rendered(markdown)
    assert "table" in page.tags, markdown
    return page.rows


# --------------------------------------------------------------------------- the evidence table


def shipped_raw() -> pd.DataFrame:
    """The shipped evidence file, every cell as text (so that any cell can be edited)."""
    return pd.read_csv(paths.EVIDENCE_CSV, dtype=str, keep_default_na=False)


def edited_copy(tmp_path: Path, row_id: str, **cells: str) -> Path:
    """A copy of the shipped file with some cells of one row changed."""
    raw = shipped_raw()
    assert row_id in set(raw["row_id"]), row_id
    for column, value in cells.items():
        raw.loc[raw["row_id"] == row_id, column] = value
    path = tmp_path / "evidence.csv"
    raw.to_csv(path, index=False)
    return path


def row(**cells: str) -> dict[str, str]:
    """One valid evidence row: a placebo arm of a made-up trial, changed by ``cells``."""
    base = {c: "" for c in evidence.COLUMNS}
    base.update(row_id="trial_placebo", citation_key="zang2022", study="Trial", label="Trial, placebo arm",
                design="RCT", arm="placebo", controlled="false", headline="true", measure="change_percent",
                estimate="-0.5", sign_convention="negative = fell", rtm_anchor="false",
                source_url="https://example.org/trial", source_location="Abstract")
    base.update(cells)
    return base


def write_rows(tmp_path: Path, rows: list[dict[str, str]]) -> Path:
    path = tmp_path / "small.csv"
    pd.DataFrame(rows, columns=list(evidence.COLUMNS)).to_csv(path, index=False)
    return path


# --------------------------------------------------------------------------- replication cohorts


def cohort_rows(spec: list[tuple[float, float]]) -> pd.DataFrame:
    """Patients from (baseline %, reduction) pairs; odd rows get the high dose."""
    return pd.DataFrame([
        {"patient_id": f"P{i + 1:02d}", "hba1c_baseline": base, "hba1c_post": round(base - fall, 1),
         "dose_cells": 1e9 if i % 2 else 5e8, "msc_source": "adipose", "followup_months": 24}
        for i, (base, fall) in enumerate(spec)])


def replicate(tmp_path, spec, params: Parameters = Parameters()) -> replication.Replication:
    """The replication of a cohort read through the real loader and the book's sections."""
    cohort = dataset.load(write_csv(tmp_path, cohort_rows(spec)))
    sections = {name: document.paired(cohort, name, params).to_dict() for name in ("overall", "moderate", "severe")}
    sections["dose_comparison"] = document.dose_comparison(cohort, params).to_dict()
    return replication.replicate(sections, cohort.analysed, params, reconstructed=False)


# Falls like the paper's: 12 moderate patients falling 0.5, 0.6, 0.7 (mean 0.60) and 12 severe
# falling 1.4 to 1.7 (mean 1.55), each group with a small spread.
LIKE_THE_PAPER = ([(b, f) for b, f in zip([7.0, 7.1, 7.2, 7.3, 7.4, 7.5, 7.6, 7.7, 7.8, 7.0, 7.2, 7.4], [0.5, 0.6, 0.7] * 4)]
                  + [(b, f) for b, f in zip([8.5, 8.6, 8.8, 9.0, 9.2, 9.4, 9.5, 8.7, 8.9, 9.1, 9.3, 9.6],
                                            [1.4, 1.5, 1.6, 1.7] * 3)])


# HbA1c did not fall: 20 moderate and 10 severe patients changing by -0.5, -0.2, 0, +0.2, +0.5 in turn.
_CYCLE = [-0.5, -0.2, 0.0, 0.2, 0.5]


DID_NOT_FALL = ([(7.0 + 0.1 * (i % 8), _CYCLE[i % 5]) for i in range(20)]
                + [(8.5 + 0.1 * i, _CYCLE[i % 5]) for i in range(10)])


# --------------------------------------------------------------------------- beyond the paper


# Stand-in for evidence.rtm_anchors(): Gough 2023 CV 0.083; Miyazawa 2022 mean 7.1 %, SD 1.1 %.
ANCHORS = types.SimpleNamespace(
    population_mean_percent=7.1, population_sd_percent=1.1, within_person_cv=0.083,
    within_person_sd_percent=0.083 * 7.1, reliability=1 - (0.083 * 7.1) ** 2 / 1.1**2,
    citations={"within_person_cv": "gough2023", "population_mean_percent": "miyazawa2022",
               "population_sd_percent": "miyazawa2022", "reliability": "gough2023"},
)


@pytest.fixture(scope="module")
def reconstructed():
    cohort = dataset.load(paths.DEFAULT_COHORT)
    return cohort, results_beyond.analyse(cohort, parameters.Parameters(), ANCHORS)


@pytest.fixture(scope="module")
def caveated():
    cohort = dataset.load(paths.DEFAULT_COHORT)
    return cohort, results_beyond.analyse(cohort, parameters.Parameters(), ANCHORS, reconstructed=True)

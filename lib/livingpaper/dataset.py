"""Load and validate a cohort file into the analysis dataset.

One row per patient. The schema (:data:`SCHEMA`) is the single source of the data
dictionary shown in ``data/README.md`` and in the book. Problems that make a file
unusable raise :class:`DataError` with one line per problem, each naming the file, the
row (as a spreadsheet counts it: the header is row 1, the first patient row 2), the
column and the value. Rows that are valid but cannot enter an analysis (a missing
post-treatment HbA1c, say) are *excluded*, never dropped silently: each exclusion is
recorded with its row, patient id and reason.

Units: HbA1c in NGSP percent. A column named ``*_mmol_mol`` (IFCC) is converted with the
IFCC-NGSP master equation, NGSP = 0.09148 x IFCC + 2.152 (Hoelzel et al., Clin Chem
2004;50:166-174). Dose is an absolute cell count.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

MSC_SOURCES = ("umbilical_cord", "bone_marrow", "adipose")
#: Physiologically possible HbA1c range (%, NGSP); outside it a value is a data error.
HBA1C_POSSIBLE_PERCENT = (3.0, 20.0)
#: A dose outside this range is almost certainly in another unit (millions, cells/kg).
DOSE_POSSIBLE_CELLS = (1e6, 1e11)


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    unit: str
    required: bool
    allowed: str
    description: str


SCHEMA: tuple[Column, ...] = (
    Column("patient_id", "text", "", True, "unique, non-empty",
           "Pseudonymous patient identifier (never a name or record number)."),
    Column("hba1c_baseline", "number", "% (NGSP)", True, "3.0 to 20.0",
           "HbA1c before the infusion. `hba1c_baseline_mmol_mol` (IFCC) is accepted instead."),
    Column("hba1c_post", "number", "% (NGSP)", True, "3.0 to 20.0; empty = not measured",
           "HbA1c at the last follow-up visit. `hba1c_post_mmol_mol` (IFCC) is accepted instead. "
           "A patient without it is excluded from the analyses of change."),
    Column("dose_cells", "number", "cells", True, "1e6 to 1e11; empty = unknown",
           "Total number of MSCs infused (absolute count, e.g. 1000000000 for 1 billion). "
           "A patient without it is excluded from the dose analyses only."),
    Column("msc_source", "text", "", True, ", ".join(MSC_SOURCES),
           "Tissue the MSCs were derived from."),
    Column("followup_months", "number", "months", True, "0 or more",
           "Time from the infusion to the post-treatment HbA1c."),
    Column("serious_adverse_event", "0/1", "", False, "0 or 1",
           "1 if a serious adverse event was recorded during follow-up."),
)
REQUIRED = tuple(c.name for c in SCHEMA if c.required)
IFCC_SUFFIX = "_mmol_mol"


class DataError(ValueError):
    """The file cannot be used; ``problems`` holds one message per problem."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass
class Cohort:
    """The analysis dataset and where it came from."""

    path: Path
    sha256: str
    n_rows: int
    data: pd.DataFrame  # every valid row, HbA1c in NGSP %, plus the file's row number in `row`
    excluded: list[dict[str, Any]] = field(default_factory=list)

    @property
    def analysed(self) -> pd.DataFrame:
        """Patients with both HbA1c values: the population of every analysis of change."""
        return self.data.dropna(subset=["hba1c_baseline", "hba1c_post"])

    @property
    def n_analysed(self) -> int:
        return len(self.analysed)


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def ifcc_to_ngsp(mmol_mol: pd.Series) -> pd.Series:
    """IFCC HbA1c (mmol/mol) to NGSP (%): NGSP = 0.09148 x IFCC + 2.152."""
    return 0.09148 * mmol_mol + 2.152


def _read_table(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return pd.read_excel(path, dtype=str, keep_default_na=False)
    if suffix == ".parquet":
        return pd.read_parquet(path).astype("string").fillna("")
    # CSV: comma or semicolon; with a semicolon, a decimal comma is common (European exports).
    with open(path, encoding="utf-8-sig") as fh:
        header = fh.readline()
    sep = ";" if header.count(";") > header.count(",") else ","
    return pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def _numbers(raw: pd.Series) -> pd.Series:
    text = raw.astype(str).str.strip().str.replace(",", ".", regex=False)
    return pd.to_numeric(text.where(text != ""), errors="coerce")


def load(path: str | Path) -> Cohort:
    """Read and validate a cohort file (CSV, XLSX or Parquet).

    Raises
    ------
    DataError
        with one line per problem; nothing is read partially.
    FileNotFoundError
        if the file does not exist.
    """
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise DataError([f"{name}: file not found ({path})"])
    try:
        raw = _read_table(path)
    except Exception as exc:  # a broken file is a data problem, not a crash
        raise DataError([f"{name}: cannot be read as a table ({type(exc).__name__}: {exc})"]) from None
    raw.columns = [str(c).strip() for c in raw.columns]
    problems: list[str] = []

    # IFCC columns are converted, never guessed: only a name ending in _mmol_mol says so.
    for base in ("hba1c_baseline", "hba1c_post"):
        if base not in raw.columns and base + IFCC_SUFFIX in raw.columns:
            raw[base] = raw[base + IFCC_SUFFIX]
            raw.attrs.setdefault("ifcc", []).append(base)
    missing = [c for c in REQUIRED if c not in raw.columns]
    for col in missing:
        problems.append(f"{name}: missing required column '{col}'")
    if problems:
        raise DataError(problems)

    rows = pd.Series(np.arange(len(raw)) + 2, index=raw.index)  # header is row 1
    where = lambda i, col, value: f"{name}, row {rows[i]}, column {col}: value {value!r}"  # noqa: E731
    data = pd.DataFrame({"row": rows, "patient_id": raw["patient_id"].astype(str).str.strip()})

    for i in data.index[data["patient_id"] == ""]:
        problems.append(f"{where(i, 'patient_id', '')} is empty (every row needs a patient id)")
    dup = data["patient_id"].duplicated(keep="first") & (data["patient_id"] != "")
    for i in data.index[dup]:
        first = rows[data.index[(data["patient_id"] == data.at[i, "patient_id"])][0]]
        problems.append(f"{where(i, 'patient_id', data.at[i, 'patient_id'])} duplicates row {first}")

    numeric = {
        "hba1c_baseline": HBA1C_POSSIBLE_PERCENT,
        "hba1c_post": HBA1C_POSSIBLE_PERCENT,
        "dose_cells": DOSE_POSSIBLE_CELLS,
        "followup_months": (0.0, np.inf),
    }
    for col, (low, high) in numeric.items():
        values = _numbers(raw[col])
        if col in raw.attrs.get("ifcc", []):
            values = ifcc_to_ngsp(values)
        text = raw[col].astype(str).str.strip()
        for i in data.index[values.isna() & (text != "")]:
            problems.append(f"{where(i, col, raw.at[i, col])} is not a number")
        out_of_range = values.notna() & ((values < low) | (values > high))
        for i in data.index[out_of_range]:
            if col.startswith("hba1c"):
                why = f"is not a possible HbA1c ({low:g} to {high:g} % NGSP; IFCC values need a column named {col}{IFCC_SUFFIX})"
            elif col == "dose_cells":
                why = (f"is not a plausible cell count ({low:.0e} to {high:.0e}); give the dose as an "
                       "absolute number of cells, e.g. 1000000000 for 1 billion")
            else:
                why = "is negative (follow-up must be 0 months or more)"
            problems.append(f"{where(i, col, raw.at[i, col])} {why}")
        if col in ("hba1c_baseline", "followup_months"):
            for i in data.index[text == ""]:
                problems.append(f"{where(i, col, '')} is empty (required for every patient)")
        data[col] = values

    source = raw["msc_source"].astype(str).str.strip()
    for i in data.index[~source.isin(MSC_SOURCES)]:
        problems.append(f"{where(i, 'msc_source', raw.at[i, 'msc_source'])} is not one of {', '.join(MSC_SOURCES)}")
    data["msc_source"] = source

    if "serious_adverse_event" in raw.columns:
        sae = _numbers(raw["serious_adverse_event"])
        bad = ~sae.isin([0, 1]) & (raw["serious_adverse_event"].astype(str).str.strip() != "")
        for i in data.index[bad]:
            problems.append(f"{where(i, 'serious_adverse_event', raw.at[i, 'serious_adverse_event'])} is not 0 or 1")
        data["serious_adverse_event"] = sae

    if problems:
        raise DataError(problems)

    excluded = [
        {"row": int(r.row), "patient_id": r.patient_id,
         "reason": "post-treatment HbA1c missing: excluded from every analysis of change"}
        for r in data[data["hba1c_post"].isna()].itertuples()
    ] + [
        {"row": int(r.row), "patient_id": r.patient_id,
         "reason": "dose missing: excluded from the dose analyses only"}
        for r in data[data["dose_cells"].isna() & data["hba1c_post"].notna()].itertuples()
    ]
    excluded.sort(key=lambda e: e["row"])
    return Cohort(path=path, sha256=sha256_of(path), n_rows=len(raw), data=data.reset_index(drop=True),
                  excluded=excluded)


def dictionary() -> pd.DataFrame:
    """The data dictionary as a table (column, type, unit, required, allowed, description)."""
    return pd.DataFrame(
        [{"column": c.name, "type": c.type, "unit": c.unit, "required": "yes" if c.required else "no",
          "allowed values": c.allowed, "description": c.description} for c in SCHEMA]
    )

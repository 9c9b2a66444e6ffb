"""Load and validate a cohort file into the analysis dataset.

One row per patient. The schema (:data:`SCHEMA`) is the single source of the data
dictionary shown in the book. Problems that make a file unusable raise
:class:`DataError` with one line per problem, each naming the file, the row (as a
spreadsheet counts it: the header is row 1, the first patient row 2), the column and the
value. Rows that are valid but cannot enter an analysis (a missing post-treatment
HbA1c, say) are *excluded*, never dropped silently: each exclusion is recorded with its
row, patient id and reason.

Units: HbA1c in NGSP percent. IFCC values (mmol/mol) are accepted in a column named
``*_mmol_mol`` or, for the plain columns, with an explicit ``hba1c_unit="ifcc"``; they are
converted with the IFCC-NGSP master equation, NGSP = 0.09148 x IFCC + 2.152 (Hoelzel et
al., Clin Chem 2004;50:166-174). The unit is never guessed from the values. Dose is an
absolute cell count.

A book is a publication: a file with columns that look like direct patient identifiers
(names, dates of birth, addresses, phone numbers, e-mail addresses, record numbers) is
refused unless ``allow_identifiers=True``; such columns are never loaded, and their
values are never printed.
"""
from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .cache import file_sha256 as sha256_of
from .errors import DataError
from .parameters import HBA1C_UNITS

MSC_SOURCES = ("umbilical_cord", "bone_marrow", "adipose")
#: Physiologically possible HbA1c range (%, NGSP); outside it a value is a data error.
HBA1C_POSSIBLE_PERCENT = (3.0, 20.0)
#: A dose outside this range is almost certainly in another unit (millions, cells/kg).
DOSE_POSSIBLE_CELLS = (1e6, 1e11)
SEX_VALUES = {"f": "female", "female": "female", "m": "male", "male": "male"}
IFCC_SUFFIX = "_mmol_mol"
PREPARED_META = "cohort.json"
PREPARED_DATA = "cohort.parquet"


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    unit: str
    required: bool
    allowed: str
    description: str
    #: numeric columns: the possible range (a value outside is an error), and whether an
    #: empty cell is allowed (the patient is then excluded from what needs the value)
    limits: tuple[float, float] | None = None
    may_be_empty: bool = True


SCHEMA: tuple[Column, ...] = (
    Column("patient_id", "text", "", True, "unique, non-empty",
           "Pseudonymous patient identifier (never a name or record number)."),
    Column("hba1c_baseline", "number", "% (NGSP)", True, "3.0 to 20.0",
           "HbA1c before the infusion. IFCC values (mmol/mol) go in `hba1c_baseline_mmol_mol`.",
           HBA1C_POSSIBLE_PERCENT, may_be_empty=False),
    Column("hba1c_post", "number", "% (NGSP)", True, "3.0 to 20.0; empty = not measured",
           "HbA1c at the last follow-up visit (IFCC: `hba1c_post_mmol_mol`). A patient without it "
           "is excluded from the analyses of change.", HBA1C_POSSIBLE_PERCENT),
    Column("dose_cells", "number", "cells", True, "1e6 to 1e11; empty = unknown",
           "Total number of MSCs infused, as an absolute count (1000000000 for 1 billion). "
           "A patient without it is excluded from the dose analyses only.", DOSE_POSSIBLE_CELLS),
    Column("msc_source", "text", "", True, ", ".join(MSC_SOURCES), "Tissue the MSCs were derived from."),
    Column("followup_months", "number", "months", True, "0 or more",
           "Time from the infusion to the post-treatment HbA1c.", (0.0, np.inf), may_be_empty=False),
    Column("serious_adverse_event", "0/1", "", False, "0 or 1",
           "1 if a serious adverse event was recorded during follow-up.", (0.0, 1.0)),
    Column("age_years", "number", "years", False, "18 to 110", "Age at the infusion.", (18.0, 110.0)),
    Column("sex", "text", "", False, "female, male (or F, M)", "Sex."),
    Column("bmi_kg_m2", "number", "kg/m²", False, "12 to 80", "Body-mass index at baseline.", (12.0, 80.0)),
    Column("diabetes_duration_years", "number", "years", False, "0 to 80",
           "Years since the diagnosis of type 2 diabetes.", (0.0, 80.0)),
)
COLUMNS = {c.name: c for c in SCHEMA}
REQUIRED = tuple(c.name for c in SCHEMA if c.required)
NUMERIC = tuple(c.name for c in SCHEMA if c.limits is not None)

#: Column names (lower case, words joined by "_") that identify a person directly.
_IDENTIFIER_NAMES = {
    "a name": r"(first|last|given|family|full|middle|maiden|patient|sur)?_?name|surname|forename|initials",
    "a date of birth": r"dob|d_o_b|birth_?date|date_?of_?birth|birthday|born",
    "an address": r"(home_|street_|postal_)?address|street|post_?code|zip(_?code)?|city|town",
    "a phone number": r"(tele|mobile_|cell_)?phone(_?number)?|tel|mobile|fax",
    "an e-mail address": r"e_?mail(_?address)?|mail",
    "a record or insurance number": r"mrn|medical_record(_number)?|record_number|hospital_number|nhs(_number)?"
                                    r"|ssn|social_security(_number)?|insurance_number|passport(_number)?",
}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")


@dataclass
class Cohort:
    """The analysis dataset and where it came from."""

    path: Path
    sha256: str
    n_rows: int
    data: pd.DataFrame  # valid rows, HbA1c in NGSP %, the file's row number in `row`
    excluded: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the loader did (conversions, ignored columns)

    @property
    def analysed(self) -> pd.DataFrame:
        """Patients with both HbA1c values: the population of every analysis of change."""
        return self.data.dropna(subset=["hba1c_baseline", "hba1c_post"])

    @property
    def n_analysed(self) -> int:
        return len(self.analysed)


def ifcc_to_ngsp(mmol_mol: pd.Series) -> pd.Series:
    """IFCC HbA1c (mmol/mol) to NGSP (%): NGSP = 0.09148 x IFCC + 2.152 (Hoelzel 2004)."""
    return 0.09148 * mmol_mol + 2.152


class _TableProblem(Exception):
    """The file is not a readable table; the message is for the user."""


# Text cells are held as Arrow strings: vectorised string operations stay fast at 10^6 rows.
TEXT = "string[pyarrow]"


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            text = fh.read()
    except UnicodeDecodeError:
        raise _TableProblem("is not UTF-8 text; save it as CSV UTF-8 (or give an .xlsx file)") from None
    header = text.split("\n", 1)[0]
    # Comma, semicolon (European exports, usually with a decimal comma) or tab.
    sep = max([",", ";", "\t"], key=header.count)
    width = None
    for number, fields in enumerate(csv.reader(io.StringIO(text), delimiter=sep), start=1):
        if width is None:
            width = len(fields)
        elif fields and len(fields) > width:
            raise _TableProblem(f"row {number} has {len(fields)} fields but the header has {width} "
                                f"(a '{sep}' inside a value must be quoted)")
    # Blank lines are kept so that row numbers are those of the file, then dropped.
    return pd.read_csv(io.StringIO(text), sep=sep, dtype=TEXT, keep_default_na=False, index_col=False,
                       skip_blank_lines=False)


def _read_table(path: Path) -> tuple[pd.DataFrame, pd.Series]:
    """Every cell as stripped text ("" when empty), and each row's number as a spreadsheet
    shows it (the header is row 1)."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        raw = pd.read_excel(path, dtype=str, keep_default_na=False)
    elif suffix == ".parquet":
        raw = pd.read_parquet(path)
    else:
        raw = _read_csv(path)
    raw = raw.astype(TEXT).fillna("").apply(lambda column: column.str.strip())
    # Column names are matched without regard to case or surrounding spaces.
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    rows = pd.Series(np.arange(len(raw)) + 2, index=raw.index)
    blank = (raw == "").all(axis=1)
    return raw[~blank], rows[~blank]


def _numbers(text: pd.Series) -> pd.Series:
    """Text to float (NaN when empty or not a number); a decimal comma is accepted."""
    return pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce").astype("float64")


def _identifier_columns(columns: list[str]) -> dict[str, str]:
    """Columns whose name says they identify a person: {column: what it looks like}."""
    found = {}
    for col in columns:
        if col in COLUMNS:
            continue
        words = re.sub(r"[^a-z0-9]+", "_", col.lower()).strip("_")
        for what, pattern in _IDENTIFIER_NAMES.items():
            if re.fullmatch(pattern, words):
                found[col] = what
                break
    return found


def load(path: str | Path, hba1c_unit: str = "ngsp", allow_identifiers: bool = False) -> Cohort:
    """Read and validate a cohort file (CSV, XLSX or Parquet), or a prepared cohort folder.

    Parameters
    ----------
    path : the file (or a folder written by :func:`save`).
    hba1c_unit : ``"ngsp"`` (%) or ``"ifcc"`` (mmol/mol): the unit of the plain
        ``hba1c_baseline`` / ``hba1c_post`` columns. Columns named ``*_mmol_mol`` are IFCC
        whatever this says.
    allow_identifiers : build even if columns look like direct identifiers (they are
        dropped, never loaded).

    Raises
    ------
    DataError
        with one line per problem (a missing or unreadable file is a problem too).
    """
    path = Path(path)
    if path.is_dir() and (path / PREPARED_META).is_file():
        return _load_prepared(path)
    name = path.name
    if hba1c_unit not in HBA1C_UNITS:
        raise DataError([f"hba1c_unit must be one of {', '.join(HBA1C_UNITS)}, not {hba1c_unit!r}"])
    if not path.is_file():
        raise DataError([f"{name}: file not found ({path})"])
    try:
        raw, rows = _read_table(path)
    except _TableProblem as exc:
        raise DataError([f"{name}: {exc}"]) from None
    except Exception as exc:  # a broken file is a data problem, not a crash
        raise DataError([f"{name}: cannot be read as a table ({type(exc).__name__}: {exc})"]) from None
    problems: list[str] = []
    notes: list[str] = []

    identifiers = _identifier_columns(list(raw.columns))
    if identifiers and not allow_identifiers:
        raise DataError([
            f"{name}, column {col}: looks like {what}, a direct patient identifier; remove it before "
            "building a book for publication (or pass --allow-identifiers to build without it)"
            for col, what in identifiers.items()
        ])
    for col in identifiers:
        notes.append(f"column {col} looks like a direct identifier: not loaded")

    # Where each analysis column comes from in the file, and in which unit.
    source_column: dict[str, str] = {}
    ifcc: set[str] = set()
    for base in ("hba1c_baseline", "hba1c_post"):
        if base in raw.columns and base + IFCC_SUFFIX in raw.columns:
            problems.append(f"{name}: both {base} and {base}{IFCC_SUFFIX} are present; keep one")
        elif base + IFCC_SUFFIX in raw.columns:
            source_column[base] = base + IFCC_SUFFIX
            ifcc.add(base)
        elif base in raw.columns:
            source_column[base] = base
            if hba1c_unit == "ifcc":
                ifcc.add(base)
    for col in COLUMNS:
        source_column.setdefault(col, col)
    for col in REQUIRED:
        if source_column[col] not in raw.columns:
            problems.append(f"{name}: missing required column '{col}'")
    if problems:
        raise DataError(problems)
    for base in sorted(ifcc):
        notes.append(f"{source_column[base]}: IFCC mmol/mol converted to NGSP % (0.09148 × IFCC + 2.152)")
    ignored = [c for c in raw.columns if c not in source_column.values() and c not in identifiers]
    if ignored:
        notes.append("columns not used: " + ", ".join(ignored))

    def where(i, col: str, value: Any) -> str:
        return f"{name}, row {rows[i]}, column {source_column[col]}: value {value!r}"

    data = pd.DataFrame({"row": rows, "patient_id": raw["patient_id"]})
    for i in data.index[data["patient_id"] == ""]:
        problems.append(f"{where(i, 'patient_id', '')} is empty (every row needs a patient id)")
    first_row = data.groupby("patient_id")["row"].transform("min")
    dup = data["patient_id"].duplicated(keep="first") & (data["patient_id"] != "")
    for i in data.index[dup]:
        problems.append(f"{where(i, 'patient_id', data.at[i, 'patient_id'])} duplicates row {first_row[i]}")

    for col in NUMERIC:
        spec, file_col = COLUMNS[col], source_column[col]
        if file_col not in raw.columns:
            continue
        text = raw[file_col]
        values = _numbers(text)
        if col in ifcc:
            values = ifcc_to_ngsp(values)
        for i in data.index[values.isna() & (text != "")]:
            problems.append(f"{where(i, col, raw.at[i, file_col])} is not a number")
        low, high = spec.limits
        # 0/1 columns get their own, clearer check below.
        out_of_range = values.notna() & ((values < low) | (values > high)) & (spec.type != "0/1")
        for i in data.index[out_of_range]:
            problems.append(f"{where(i, col, raw.at[i, file_col])} {_out_of_range(col, spec, col in ifcc)}")
        if not spec.may_be_empty:
            for i in data.index[text == ""]:
                problems.append(f"{where(i, col, '')} is empty (required for every patient)")
        data[col] = values
    if "serious_adverse_event" in data:
        bad = data["serious_adverse_event"].notna() & ~data["serious_adverse_event"].isin([0, 1])
        for i in data.index[bad]:
            problems.append(f"{where(i, 'serious_adverse_event', raw.at[i, 'serious_adverse_event'])} is not 0 or 1")

    # "Umbilical cord", "bone-marrow" and "ADIPOSE" are the same labels written differently.
    source = raw["msc_source"].str.lower().str.replace(r"[\s-]+", "_", regex=True)
    for i in data.index[~source.isin(MSC_SOURCES)]:
        problems.append(f"{where(i, 'msc_source', raw.at[i, 'msc_source'])} is not one of {', '.join(MSC_SOURCES)}")
    data["msc_source"] = source
    if "sex" in raw.columns:
        sex = raw["sex"]
        known = sex.str.lower().map(SEX_VALUES).astype(TEXT)
        for i in data.index[known.isna() & (sex != "")]:
            problems.append(f"{where(i, 'sex', raw.at[i, 'sex'])} is not one of female, male, F, M")
        data["sex"] = known

    # An e-mail address as patient id identifies the person: refused, and never echoed.
    if not allow_identifiers:
        for i in data.index[data["patient_id"].str.fullmatch(_EMAIL.pattern).fillna(False)]:
            problems.append(f"{name}, row {rows[i]}, column patient_id: looks like an e-mail address, a direct "
                            "identifier; use pseudonymous ids (the value is not shown)")
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
    return Cohort(path=path, sha256=sha256_of(path), n_rows=len(rows), data=data.reset_index(drop=True),
                  excluded=excluded, notes=notes)


def _out_of_range(col: str, spec: Column, is_ifcc: bool) -> str:
    low, high = spec.limits
    if col.startswith("hba1c"):
        if is_ifcc:
            return f"is not a possible HbA1c in mmol/mol (converted, it lies outside {low:g} to {high:g} % NGSP)"
        return (f"is not a possible HbA1c ({low:g} to {high:g} % NGSP); IFCC values in mmol/mol need a column "
                f"named {col}{IFCC_SUFFIX} or the option --hba1c-unit ifcc")
    if col == "dose_cells":
        return (f"is not a plausible cell count ({low:.0e} to {high:.0e}); give the dose as an absolute "
                "number of cells, e.g. 1000000000 for 1 billion (not millions, not cells/kg)")
    if col == "followup_months":
        return "is negative (follow-up must be 0 months or more)"
    return f"is outside {spec.allowed}"


def save(cohort: Cohort, folder: str | Path) -> Path:
    """Write the validated cohort (data and record) for the chapters: read once, used by all."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cohort.data.to_parquet(folder / PREPARED_DATA, index=False)
    meta = {"path": str(cohort.path), "sha256": cohort.sha256, "n_rows": cohort.n_rows,
            "excluded": cohort.excluded, "notes": cohort.notes}
    (folder / PREPARED_META).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return folder


def _load_prepared(folder: Path) -> Cohort:
    meta = json.loads((folder / PREPARED_META).read_text(encoding="utf-8"))
    data = pd.read_parquet(folder / PREPARED_DATA)
    text_columns = data.select_dtypes(include=["string", "object"]).columns
    data[text_columns] = data[text_columns].astype(TEXT)
    return Cohort(path=Path(meta["path"]), sha256=meta["sha256"], n_rows=meta["n_rows"], data=data,
                  excluded=meta["excluded"], notes=meta["notes"])


def dictionary() -> pd.DataFrame:
    """The data dictionary as a table (column, type, unit, required, allowed, description)."""
    return pd.DataFrame(
        [{"column": c.name, "type": c.type, "unit": c.unit, "required": "yes" if c.required else "no",
          "allowed values": c.allowed, "description": c.description} for c in SCHEMA]
    )

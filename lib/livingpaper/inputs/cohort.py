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
(names, dates of birth, addresses, phone numbers, e-mail addresses, record numbers; in
several languages, :mod:`livingpaper.inputs.identifiers`), or with patient ids that look like
one, is refused unless ``allow_identifiers=True``: such columns are then never loaded,
and every patient id is replaced by a pseudonym before anything is written. No message
echoes a patient id, and a value that looks like an identifier is not echoed either.
Text from the file (column names, values) is printed with its control characters made
visible.

A systematic problem (every dose in millions, say) is reported for the first
:data:`ROWS_SHOWN` rows, then counted, with what the values suggest.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from livingpaper.domain import MSC_SOURCES
from livingpaper.errors import DataError, TableProblem
from livingpaper.hashing import digest
from livingpaper.escaping import terminal
from livingpaper.inputs import identifiers, tables
from livingpaper.inputs.tables import TEXT, normalise_name
from livingpaper.parameters import HBA1C_POSSIBLE_PERCENT, HBA1C_UNITS

_HBA1C_ALLOWED = "{:.1f} to {:.1f}".format(*HBA1C_POSSIBLE_PERCENT)
#: A dose outside this range is almost certainly in another unit (millions, cells/kg).
DOSE_POSSIBLE_CELLS = (1e6, 1e11)
SEX_VALUES = {"f": "female", "female": "female", "m": "male", "male": "male"}
#: A follow-up beyond this many months (20 years) is a unit error (days, weeks) or a typo.
FOLLOWUP_POSSIBLE_MONTHS = (0.0, 240.0)
IFCC_SUFFIX = "_mmol_mol"
#: One systematic problem is shown for this many rows, then counted.
ROWS_SHOWN = 5
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
    Column("patient_id", "text", "", True, "unique, non-empty, pseudonymous",
           "Pseudonymous patient identifier: a study code such as `MSC-001`, never a name, date of birth, "
           "phone, e-mail, record or national number (such ids are refused)."),
    Column("hba1c_baseline", "number", "% (NGSP)", True, _HBA1C_ALLOWED,
           "HbA1c before the infusion. IFCC values (mmol/mol) go in `hba1c_baseline_mmol_mol`.",
           HBA1C_POSSIBLE_PERCENT, may_be_empty=False),
    Column("hba1c_post", "number", "% (NGSP)", True, f"{_HBA1C_ALLOWED}; empty = not measured",
           "HbA1c at the last follow-up visit (IFCC: `hba1c_post_mmol_mol`). A patient without it "
           "is excluded from the analyses of change.", HBA1C_POSSIBLE_PERCENT),
    Column("dose_cells", "number", "cells", True, "1e6 to 1e11; empty = unknown",
           "Total number of MSCs infused, as an absolute count (1000000000 for 1 billion). "
           "A patient without it is excluded from the dose analyses only.", DOSE_POSSIBLE_CELLS),
    Column("msc_source", "text", "", True, ", ".join(MSC_SOURCES), "Tissue the MSCs were derived from."),
    Column("followup_months", "number", "months", True, "0 to 240",
           "Time from the infusion to the post-treatment HbA1c.", FOLLOWUP_POSSIBLE_MONTHS, may_be_empty=False),
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

#: Names of the columns a header row is recognised by (IFCC variants included).
KNOWN_COLUMNS = frozenset(COLUMNS) | {f"hba1c_baseline{IFCC_SUFFIX}", f"hba1c_post{IFCC_SUFFIX}"}


@dataclass
class Cohort:
    """The analysis dataset and where it came from."""

    path: Path
    sha256: str  # of the bytes that were read and validated
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


def _numbers(text: pd.Series) -> pd.Series:
    """Text to float (NaN when empty or not a number); a decimal comma is accepted."""
    return pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce").astype("float64")


def _identifier_columns(columns: list[str]) -> dict[str, str]:
    """Columns whose name says they identify a person: {column: what it looks like}."""
    return {col: kind for col in columns
            if normalise_name(col) not in KNOWN_COLUMNS and (kind := identifiers.column_kind(col))}


def shown(value: Any) -> str:
    """A cell's value for a message: quoted, control characters visible; not shown at all
    when it looks like a direct identifier (a value in the wrong column may be a name)."""
    kind = identifiers.value_kind(value)
    if kind:
        return f"(not shown: it looks like {kind})"
    return f"'{terminal(value)}'"


class _Problems:
    """The messages of one file: one line per problem, and for a problem that recurs over
    many rows, the first :data:`ROWS_SHOWN` rows and then a count with what the values
    suggest (a 10^6-row file with every dose in millions gets six lines, not 10^6)."""

    def __init__(self, name: str):
        self.name, self.lines = name, []

    def add(self, line: str) -> None:
        self.lines.append(line)

    def rows(self, mask: pd.Series, line: Any, what: str, hint: str = "") -> None:
        """``line(i)``: the message of row ``i``; ``what``: the problem in a few words."""
        where = mask.index[mask.to_numpy(dtype=bool)]
        for i in where[:ROWS_SHOWN]:
            self.lines.append(line(i))
        if len(where) > ROWS_SHOWN:
            self.lines.append(f"{self.name}: ... and {len(where) - ROWS_SHOWN:,} more rows with the same problem "
                              f"({what}){f'; {hint}' if hint else ''}")
        elif hint and len(where) > 1:
            self.lines.append(f"{self.name}: {what}: {hint}")

    def raise_any(self) -> None:
        if self.lines:
            raise DataError(self.lines)


def load(path: str | Path, hba1c_unit: str = "ngsp", allow_identifiers: bool = False) -> Cohort:
    """Read and validate a cohort file (CSV, XLSX or Parquet), or a prepared cohort folder.

    Parameters
    ----------
    path : the file (or a folder written by :func:`save`). It is read once: what is
        validated, analysed and hashed (``Cohort.sha256``) are the same bytes, even if the
        file changes meanwhile.
    hba1c_unit : ``"ngsp"`` (%) or ``"ifcc"`` (mmol/mol): the unit of the plain
        ``hba1c_baseline`` / ``hba1c_post`` columns. Columns named ``*_mmol_mol`` are IFCC
        whatever this says.
    allow_identifiers : build even if columns or patient ids look like direct identifiers:
        such columns are dropped (never loaded), and every patient id is replaced by a
        pseudonym (``PSN-0001``, ... in file order).

    Raises
    ------
    DataError
        with one line per problem (a missing or unreadable file is a problem too).
    """
    path = Path(path)
    if path.is_dir() and (path / PREPARED_META).is_file():
        return _load_prepared(path)
    name = terminal(path.name)
    if hba1c_unit not in HBA1C_UNITS:
        raise DataError([f"hba1c_unit must be one of {', '.join(HBA1C_UNITS)}, not {terminal(hba1c_unit)!r}"])
    try:
        content = tables.read_bytes(path)
        table = tables.read(content, path.name, KNOWN_COLUMNS)
    except TableProblem as exc:
        raise DataError([f"{name}: {exc}"]) from None
    sha256 = digest(content)
    del content
    return _validate(table, path, name, sha256, hba1c_unit, allow_identifiers)


def _validate(table: tables.Table, path: Path, name: str, sha256: str, hba1c_unit: str,
              allow_identifiers: bool) -> Cohort:
    problems = _Problems(name)
    notes: list[str] = list(table.notes)
    rows = table.rows
    if not len(rows):
        raise DataError([f"{name}: has a header but no patient rows"])
    raw = table.cells
    by_name = {normalise_name(n): p for p, n in enumerate(table.names) if n}
    label = {p: terminal(n) for p, n in enumerate(table.names)}

    identifier_columns = _identifier_columns([n for n in table.names if n])
    if identifier_columns and not allow_identifiers:
        raise DataError([
            f"{name}, column {terminal(col)}: looks like {what}, a direct patient identifier; remove it before "
            "building a book for publication (or pass --allow-identifiers to build without it)"
            for col, what in identifier_columns.items()
        ])
    for col in identifier_columns:
        notes.append(f"column {terminal(col)} looks like a direct identifier: not loaded")

    # Where each analysis column comes from in the file, and in which unit.
    position: dict[str, int] = {}
    ifcc: set[str] = set()
    for base in ("hba1c_baseline", "hba1c_post"):
        if base in by_name and base + IFCC_SUFFIX in by_name:
            problems.add(f"{name}: both {base} and {base}{IFCC_SUFFIX} are present; keep one")
        elif base + IFCC_SUFFIX in by_name:
            position[base] = by_name[base + IFCC_SUFFIX]
            ifcc.add(base)
        elif base in by_name:
            position[base] = by_name[base]
            if hba1c_unit == "ifcc":
                ifcc.add(base)
    for col in COLUMNS:
        if col not in position and col in by_name:
            position[col] = by_name[col]
    for col in REQUIRED:
        if col not in position:
            problems.add(f"{name}: missing required column '{col}'")
    problems.raise_any()
    for base in sorted(ifcc):
        notes.append(f"{label[position[base]]}: IFCC mmol/mol converted to NGSP % (0.09148 × IFCC + 2.152)")
    identifier_names = set(identifier_columns)
    ignored = [label[p] for p, n in enumerate(table.names)
               if n and p not in position.values() and n not in identifier_names]
    if ignored:
        notes.append("columns not used: " + ", ".join(ignored))
    if any(not n and (raw[p] != "").any() for p, n in enumerate(table.names)):
        notes.append("columns without a name in the header: not used")

    def where(i, col: str) -> str:
        return f"{name}, row {rows[i]}, column {label[position[col]]}"

    def cell(col: str) -> pd.Series:
        return raw[position[col]]

    ids = cell("patient_id")
    data = pd.DataFrame({"row": rows, "patient_id": ids})
    problems.rows(ids == "", lambda i: f"{where(i, 'patient_id')}: is empty (every row needs a patient id)",
                  "empty patient id")
    # The id itself is never shown: the row of its first occurrence says which one.
    first_row = data.groupby("patient_id")["row"].transform("min")
    duplicated = ids.duplicated(keep="first") & (ids != "")
    problems.rows(duplicated, lambda i: f"{where(i, 'patient_id')}: the same id as row {first_row[i]} "
                                        "(ids must be unique; the id is not shown)", "duplicated patient id")

    for col in NUMERIC:
        if col not in position:
            continue
        spec, text = COLUMNS[col], cell(col)
        values = _numbers(text)
        if col in ifcc:
            values = ifcc_to_ngsp(values)
        problems.rows(values.isna() & (text != ""),
                      lambda i: f"{where(i, col)}: value {shown(raw.at[i, position[col]])} is not a number"
                                f"{_MISSING_HINT if _means_missing(raw.at[i, position[col]]) else ''}",
                      f"column {label[position[col]]}: not a number")
        infinite = values.notna() & ~np.isfinite(values)
        problems.rows(infinite, lambda i: f"{where(i, col)}: value {shown(raw.at[i, position[col]])} is not a "
                                          "finite number", f"column {label[position[col]]}: not a finite number")
        low, high = spec.limits
        # 0/1 columns get their own, clearer check below.
        out_of_range = values.notna() & np.isfinite(values) & ((values < low) | (values > high)) & (spec.type != "0/1")
        problems.rows(out_of_range,
                      lambda i: f"{where(i, col)}: value {shown(raw.at[i, position[col]])} "
                                f"{_out_of_range(col, spec, col in ifcc)}",
                      f"column {label[position[col]]}: outside {spec.allowed}",
                      _pattern_hint(col, values[out_of_range], col in ifcc))
        if not spec.may_be_empty:
            problems.rows(text == "", lambda i: f"{where(i, col)}: is empty (required for every patient)",
                          f"column {label[position[col]]}: empty")
        data[col] = values.where(np.isfinite(values))
    if "serious_adverse_event" in data:
        bad = data["serious_adverse_event"].notna() & ~data["serious_adverse_event"].isin([0, 1])
        problems.rows(bad, lambda i: f"{where(i, 'serious_adverse_event')}: value "
                                     f"{shown(raw.at[i, position['serious_adverse_event']])} is not 0 or 1",
                      "serious_adverse_event: not 0 or 1")

    # "Umbilical cord", "bone-marrow" and "ADIPOSE" are the same labels written differently.
    source = cell("msc_source").str.lower().str.replace(r"[\s-]+", "_", regex=True)
    problems.rows(~source.isin(MSC_SOURCES),
                  lambda i: f"{where(i, 'msc_source')}: value {shown(raw.at[i, position['msc_source']])} is not "
                            f"one of {', '.join(MSC_SOURCES)}", "msc_source: not a known source")
    data["msc_source"] = source
    if "sex" in position:
        sex = cell("sex")
        known = sex.str.lower().map(SEX_VALUES).astype(TEXT)
        problems.rows(known.isna() & (sex != ""),
                      lambda i: f"{where(i, 'sex')}: value {shown(raw.at[i, position['sex']])} is not one of "
                                "female, male, F, M", "sex: not female or male")
        data["sex"] = known

    # Ids that are names, dates, phone, record or national numbers, e-mail addresses.
    kinds = identifiers.id_kinds(ids)
    looks_identifying = kinds.notna()
    if looks_identifying.any():
        if allow_identifiers:
            width = max(4, len(str(len(data))))
            data["patient_id"] = pd.array([f"PSN-{k:0{width}d}" for k in range(1, len(data) + 1)], dtype=TEXT)
            found = ", ".join(sorted(set(kinds.dropna())))
            notes.append(f"{int(looks_identifying.sum())} patient id(s) looked like direct identifiers ({found}): "
                         f"every patient id was replaced by a pseudonym (PSN-{1:0{width}d}, ... in file order)")
        else:
            problems.rows(looks_identifying,
                          lambda i: f"{where(i, 'patient_id')}: looks like {kinds[i]}, a direct identifier; use "
                                    "pseudonymous ids (the value is not shown), or pass --allow-identifiers to "
                                    "replace every id by a pseudonym", "patient ids that look like identifiers")
    problems.raise_any()

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
    return Cohort(path=path, sha256=sha256, n_rows=len(rows), data=data.reset_index(drop=True),
                  excluded=excluded, notes=notes)


_MISSING_WORDS = {"na", "n/a", "nan", "null", "none", "missing", "-", ".", "?", "nd", "n.d.", "unknown"}
_MISSING_HINT = " (leave the cell empty when the value is missing)"


def _means_missing(value: Any) -> bool:
    return str(value).strip().casefold() in _MISSING_WORDS


def _pattern_hint(col: str, wrong: pd.Series, is_ifcc: bool) -> str:
    """What the out-of-range values of a column suggest, when they share a pattern."""
    if len(wrong) < 2:
        return ""
    low, high = float(wrong.min()), float(wrong.max())
    span = f"all {len(wrong):,} lie between {low:g} and {high:g}"
    if col == "dose_cells":
        if high < DOSE_POSSIBLE_CELLS[0] and low * 1e6 >= DOSE_POSSIBLE_CELLS[0]:
            return f"{span}: they look like millions of cells (100 for 1×10⁸ cells); give absolute cell counts"
        if low > DOSE_POSSIBLE_CELLS[1]:
            return f"{span}: more cells than any MSC infusion; check the unit"
    if col.startswith("hba1c") and not is_ifcc:
        if low >= 20 and high <= 200:
            return (f"{span}: they look like IFCC mmol/mol; use --hba1c-unit ifcc or name the columns "
                    f"{col}{IFCC_SUFFIX}")
        if high < 1:
            return f"{span}: they look like fractions (0.07 for 7 %); give percent"
    if col == "followup_months" and low > FOLLOWUP_POSSIBLE_MONTHS[1]:
        return f"{span}: they look like days or weeks, not months"
    return ""


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
        return f"is not a possible follow-up ({low:g} to {high:g} months; give months, not days or weeks)"
    return f"is outside {spec.allowed}"


def save(cohort: Cohort, folder: str | Path) -> Path:
    """Write the validated cohort (data and record) for the chapters: read once, used by all."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cohort.data.to_parquet(folder / PREPARED_DATA, index=False)
    meta = {"path": str(cohort.path), "sha256": cohort.sha256, "n_rows": cohort.n_rows,
            "excluded": cohort.excluded, "notes": cohort.notes}
    # ASCII: a file name from another system (bytes that are not UTF-8) survives as \udcXX escapes.
    (folder / PREPARED_META).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
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

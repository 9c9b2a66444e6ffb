"""A cohort file read as a table of text cells: which format, which sheet, which row is the header.

What clinics export is rarely a clean CSV: a semicolon CSV with decimal commas, a tab
export, old Mac line endings, Excel's ``sep=;`` first line, a workbook whose data sit on
the second sheet under a title row, formulas never calculated, a file whose name says
``.xlsx`` but which holds CSV text. This module finds the table in all of them, or says in
one sentence what it found instead. It knows the names of the columns it looks for
(to find the header) but nothing of what they mean: validation is
:mod:`livingpaper.inputs.cohort`'s.

The format is read from the file's first bytes, not its name (a mismatch is noted). Rows
are numbered as a spreadsheet shows them: the first row of the sheet is row 1.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import stat
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from livingpaper.errors import TableProblem
from livingpaper.escaping import terminal

if TYPE_CHECKING:
    import pandas as pd


# pandas is imported where a table is read, not here: the build checks its data file with
# this module before it knows whether anything needs to be built (a rebuild with nothing
# changed imports nothing heavy).

#: Text cells are held as Arrow strings: vectorised string operations stay fast at 10^6 rows.
TEXT = "string[pyarrow]"
#: The header is looked for in this many rows at the top of a sheet (title rows above it).
HEADER_SEARCH_ROWS = 20
#: Formats recognised by their first bytes.
_ZIP, _OLE2, _PARQUET = b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"PAR1"
_FORMAT_SUFFIXES = {"xlsx": (".xlsx", ".xlsm"), "parquet": (".parquet", ".pq"), "csv": (".csv", ".tsv", ".txt")}
_SEPARATORS = (",", ";", "\t")


@dataclass
class Table:
    """The cells of the table, as text ("" when empty), one column per column of the file."""

    names: list[str]  # column names as the file writes them (stripped)
    cells: "pd.DataFrame"  # columns are the positions 0..k-1; blank rows dropped
    rows: "pd.Series"  # each row's number as a spreadsheet shows it
    notes: list[str] = field(default_factory=list)


def normalise_name(name: Any) -> str:
    """A column name as it is matched: Unicode NFKC (full-width letters become ASCII), case
    folded, spaces and hyphens between words read as "_" ("HbA1c Baseline" is
    ``hba1c_baseline``)."""
    text = unicodedata.normalize("NFKC", str(name)).strip().casefold()
    return re.sub(r"[\s\-]+", "_", text)


def check_file(path: Path) -> None:
    """Refuse, in words, what is not a regular file that exists (a folder, a pipe, a device):
    before anything opens it (opening a pipe would wait for a writer)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise TableProblem(f"file not found ({terminal(path)})") from None
    except OSError as exc:
        raise TableProblem(f"cannot be opened ({exc.strerror})") from None
    if stat.S_ISDIR(info.st_mode):
        raise TableProblem("is a folder, not a file: give the cohort file itself")
    if not stat.S_ISREG(info.st_mode):
        what = ("a pipe" if stat.S_ISFIFO(info.st_mode) else "a device" if stat.S_ISCHR(info.st_mode) or
                stat.S_ISBLK(info.st_mode) else "a socket" if stat.S_ISSOCK(info.st_mode) else "not a regular file")
        raise TableProblem(f"is {what}, not a file: give a cohort file saved on disk (CSV, XLSX or Parquet)")


def read_bytes(path: Path) -> bytes:
    """The file's bytes, read once (what is validated and hashed is what was read); refuses
    what is not a readable regular file, in words."""
    check_file(path)
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise TableProblem(f"cannot be read ({exc.strerror})") from None


def read(content: bytes, file_name: str, wanted: Iterable[str]) -> Table:
    """The table in a file's bytes. ``wanted``: normalised names of the columns looked for
    (to find the header row and the sheet)."""
    wanted = frozenset(wanted)
    if not content.strip():
        raise TableProblem("is empty")
    kind = ("xlsx" if content.startswith(_ZIP) else "xls" if content.startswith(_OLE2)
            else "parquet" if content.startswith(_PARQUET) else "csv")
    if kind == "xls":
        raise TableProblem("is an old Excel workbook (.xls) or a password-protected one; save it, without a "
                           "password, as .xlsx or as CSV UTF-8")
    notes = []
    suffix = Path(file_name).suffix.lower()
    if suffix and suffix not in _FORMAT_SUFFIXES[kind]:
        notes.append(f"the file is named {terminal(suffix)} but holds {_FORMAT_NAMES[kind]}: read as {_FORMAT_NAMES[kind]}")
    reader = {"xlsx": _read_xlsx, "parquet": _read_parquet, "csv": _read_csv}[kind]
    try:
        table = reader(content, wanted)
    except TableProblem:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever a damaged file makes a parser say, in one line
        raise TableProblem(f"cannot be read as {_FORMAT_NAMES[kind]} ({terminal(type(exc).__name__)}: "
                           f"{terminal(str(exc))[:200]})") from None
    table.notes[:0] = notes
    _check_names(table.names)
    return table


_FORMAT_NAMES = {"xlsx": "an Excel workbook", "parquet": "Parquet", "csv": "text (CSV)"}


def _check_names(names: list[str]) -> None:
    """Two columns whose names are equal up to case and spacing would be read as one."""
    positions: dict[str, list[int]] = {}
    for position, name in enumerate(names):
        if name.strip():
            positions.setdefault(normalise_name(name), []).append(position)
    clashes = [p for p in positions.values() if len(p) > 1]
    if clashes:
        described = "; ".join(
            " and ".join(f"{_column_label(p)} '{terminal(names[p])}'" for p in group) for group in clashes)
        raise TableProblem(f"has columns with the same name (up to case and spaces): {described}; keep one of each")


def _column_label(position: int) -> str:
    """Column 1 is "column 1 (A)", as a spreadsheet letters it."""
    letters, n = "", position + 1
    while n:
        n, r = divmod(n - 1, 26)
        letters = chr(65 + r) + letters
    return f"column {position + 1} ({letters})"


def _header_score(fields: list[Any], wanted: frozenset[str]) -> int:
    return len({normalise_name(f) for f in fields if f is not None} & wanted)


def _find_header(first_rows: list[list[Any]], wanted: frozenset[str]) -> int | None:
    """The index of the header row among the first rows: row 1 when it holds a wanted name,
    else the first row that holds at least two (title rows above a table); None if no row
    does."""
    if first_rows and _header_score(first_rows[0], wanted) >= 1:
        return 0
    for index, fields in enumerate(first_rows[1:HEADER_SEARCH_ROWS], start=1):
        if _header_score(fields, wanted) >= 2:
            return index
    return None


def _not_a_header(wanted: frozenset[str], where: str = "") -> TableProblem:
    return TableProblem(
        f"{where}has no header row with the cohort's columns in its first {HEADER_SEARCH_ROWS} rows: row 1 "
        f"should name the columns ({', '.join(sorted(wanted)[:3])}, ...; data/README.md lists them)")


def _header_note(header_row: int) -> str:
    above = "row 1" if header_row == 2 else f"rows 1 to {header_row - 1}"
    return f"{above} above the header (a title?) skipped: the header is row {header_row}"


# ---- CSV -----------------------------------------------------------------------------------

def _decode(content: bytes) -> str:
    if content.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in content[:4096]:
        raise TableProblem("is not UTF-8 text (it looks like UTF-16 or a binary file); save it as "
                           "CSV UTF-8 (or give an .xlsx file)")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise TableProblem("is not UTF-8 text; save it as CSV UTF-8 (or give an .xlsx file)") from None
    # Windows (\r\n) and old Mac (\r) line endings read as \n.
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def _read_csv(content: bytes, wanted: frozenset[str]) -> Table:
    text = _decode(content)
    notes: list[str] = []
    lines = text.split("\n", HEADER_SEARCH_ROWS + 1)[: HEADER_SEARCH_ROWS + 1]
    skip, forced = 0, None
    hint = re.fullmatch(r'"?sep=(.)"?\s*', lines[0]) if lines else None
    if hint:  # Excel's separator line: Excel itself hides it, so row 1 is the line after it
        forced, skip = hint.group(1), 1
        notes.append(f"first line 'sep={terminal(forced)}' (Excel's separator hint) read and skipped")
    candidates = [forced] if forced else list(_SEPARATORS)
    first_rows = {sep: [next(csv.reader([line], delimiter=sep), []) for line in lines[skip:]] for sep in candidates}
    best = None
    for sep in candidates:
        index = _find_header(first_rows[sep], wanted)
        if index is not None:
            score = _header_score(first_rows[sep][index], wanted)
            if best is None or (index, -score) < (best[1], -best[2]):
                best = (sep, index, score)
    if best is None:
        if not any(line.strip() for line in lines[skip:]):
            raise TableProblem("has no header and no rows")
        # No known name anywhere: read row 1 as the header; the missing columns are named.
        header_line = lines[skip] if len(lines) > skip else ""
        sep = forced or max(_SEPARATORS, key=header_line.count)
        index = 0
    else:
        sep, index, _ = best
    if index:
        notes.append(_header_note(index + 1))
    start = skip + index  # the header's line in the text
    body = text.split("\n", start)[-1] if start else text
    width = None
    for number, fields in enumerate(csv.reader(io.StringIO(body), delimiter=sep), start=index + 1):
        if width is None:
            width = len(fields)
            names = [f.strip() for f in fields]
        elif fields and len(fields) > width:
            raise TableProblem(f"row {number} has {len(fields)} fields but the header has {width} "
                               f"(a '{terminal(sep)}' inside a value must be quoted)")
    if width is None:
        raise TableProblem("has no header and no rows")
    import pandas as pd

    # Blank lines are kept so that row numbers are those of the file, then dropped.
    cells = pd.read_csv(io.StringIO(body), sep=sep, dtype=TEXT, keep_default_na=False, index_col=False,
                        skip_blank_lines=False, header=None, skiprows=1, names=list(range(width)),
                        quoting=csv.QUOTE_MINIMAL)
    return _finish(names, cells, index + 2, notes)


def _finish(names: list[str], cells, first_row: int, notes: list[str]) -> Table:
    """The table, cells as stripped text, blank rows dropped; ``first_row``: the number of
    the row under the header."""
    import numpy as np
    import pandas as pd

    rows = pd.Series(np.arange(len(cells)) + first_row, index=cells.index)
    cells = cells.astype(TEXT).fillna("")
    cells = cells.apply(lambda column: column.str.strip())
    blank = (cells == "").all(axis=1)
    return Table(names, cells[~blank], rows[~blank], notes)


# ---- Excel ---------------------------------------------------------------------------------

def _cell_text(value: Any) -> str:
    """A cell's stored value as the text a CSV export would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def _read_xlsx(content: bytes, wanted: frozenset[str]) -> Table:
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - any reason: the bytes are not a workbook openpyxl reads
        raise TableProblem("is a zip file but not an Excel workbook (.xlsx) that can be read; "
                           "save it again from Excel or LibreOffice, or as CSV UTF-8") from None
    try:
        sheets = book.sheetnames
        if not sheets:
            raise TableProblem("is a workbook without sheets")
        headers = {}
        for name in sheets:
            top = [list(r) for r in book[name].iter_rows(max_row=HEADER_SEARCH_ROWS, values_only=True)]
            headers[name] = (_find_header(top, wanted), top)
        first = sheets[0]
        chosen, notes = first, []
        if headers[first][0] is None:
            found = [name for name in sheets[1:] if headers[name][0] is not None]
            listed = ", ".join(f"'{terminal(s)}'" for s in sheets)
            if len(found) == 1:
                chosen = found[0]
                notes.append(f"read sheet '{terminal(chosen)}': the first sheet, '{terminal(first)}', has no "
                             f"cohort columns (sheets: {listed})")
            elif found:
                raise TableProblem(f"has the cohort's columns on several sheets ({', '.join(repr(terminal(s)) for s in found)}) "
                                   f"and none on the first ('{terminal(first)}'): put the cohort on the first sheet")
            elif not any(any(_cell_text(v).strip() for v in row) for _, top in headers.values() for row in top):
                raise TableProblem(f"is a workbook whose sheets are empty (sheets: {listed})")
            else:
                raise _not_a_header(wanted, f"(sheets: {listed}) ")
        index = headers[chosen][0]
        if index:
            notes.append(_header_note(index + 1) + (f" of sheet '{terminal(chosen)}'" if chosen != first else ""))
        values = [[_cell_text(v) for v in row] for row in book[chosen].iter_rows(min_row=index + 1, values_only=True)]
    finally:
        book.close()
    if not values:
        raise TableProblem("has no header and no rows")
    names = [v.strip() for v in values[0]]
    width = max(len(names), max((len(r) for r in values[1:]), default=0))
    names += [""] * (width - len(names))
    rows_text = [r + [""] * (width - len(r)) for r in values[1:]]
    import pandas as pd

    cells = pd.DataFrame(rows_text, columns=list(range(width)), dtype=object)
    _check_formulas(content, chosen, index, cells, names, wanted)
    return _finish(names, cells, index + 2, notes)


def _check_formulas(content: bytes, sheet: str, header_index: int, cells, names: list[str],
                    wanted: frozenset[str]) -> None:
    """Formulas whose result was never stored (a file written by a program that does not
    calculate) read as empty cells: said, instead of every patient being excluded."""
    columns = [p for p, n in enumerate(names) if normalise_name(n) in wanted]
    if not columns or not (cells[columns] == "").any().any():
        return
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=False)
    try:
        count, first = 0, None
        for offset, row in enumerate(book[sheet].iter_rows(min_row=header_index + 2, values_only=True)):
            for p in columns:
                if p < len(row) and isinstance(row[p], str) and row[p].startswith("=") and cells.iat[offset, p] == "":
                    count += 1
                    first = first or (header_index + 2 + offset, names[p])
    finally:
        book.close()
    if count:
        raise TableProblem(
            f"holds {count} formula cell(s) without a stored result (first: row {first[0]}, column "
            f"{terminal(first[1])}): the program that wrote it did not calculate them. Open the file in Excel "
            "or LibreOffice and save it (the results are then stored), or export it as CSV UTF-8")


# ---- Parquet -------------------------------------------------------------------------------

def _read_parquet(content: bytes, wanted: frozenset[str]) -> Table:
    import pandas as pd
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(content))
    except Exception as exc:  # noqa: BLE001 - a damaged file
        raise TableProblem(f"is not a Parquet file that can be read ({terminal(type(exc).__name__)})") from None
    names = [str(n).strip() for n in table.column_names]
    _check_names(names)
    frame = table.to_pandas()
    frame.columns = list(range(len(names)))
    cells = pd.DataFrame({p: frame[p].astype(TEXT) for p in frame.columns})
    return _finish(names, cells, 2, [])

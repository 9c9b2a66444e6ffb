"""Tests for livingpaper.inputs.tables: finding the table in what clinics really export.

Each case is a small file written here, read through ``dataset.load`` (what users run):
either the table is found (and the note says how) or one clear line says what was found.
"""
from __future__ import annotations

import os

import openpyxl
import pandas as pd
import pytest
from conftest import cohort_frame, write_csv
from livingpaper.errors import DataError
from livingpaper.inputs import cohort as dataset

HEADER = "patient_id,hba1c_baseline,hba1c_post,dose_cells,msc_source,followup_months"
ROWS = ["P1,7.0,6.5,1000000000,adipose,12", "P2,8.5,7.0,2000000000,bone_marrow,24"]
COLUMNS = HEADER.split(",")


def problem(path) -> str:
    with pytest.raises(DataError) as excinfo:
        dataset.load(path)
    assert len(excinfo.value.problems) == 1, excinfo.value.problems
    line = excinfo.value.problems[0]
    assert "Traceback" not in line and "\n" not in line
    return line


def workbook(path, sheets: dict[str, list[list]]):
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


DATA_ROWS = [["P1", 7.0, 6.5, 1e9, "adipose", 12], ["P2", 8.5, 7.0, 2e9, "bone_marrow", 24]]


def test_old_mac_line_endings_read_like_any_other(tmp_path):
    path = tmp_path / "mac.csv"
    path.write_bytes(("\r".join([HEADER, *ROWS]) + "\r").encode())
    cohort = dataset.load(path)
    assert cohort.data["patient_id"].tolist() == ["P1", "P2"] and cohort.data["row"].tolist() == [2, 3]


def test_excel_separator_line_is_obeyed_and_said(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_text("sep=;\n" + "\n".join(line.replace(",", ";").replace("7.0", "7,0") for line in [HEADER, *ROWS]))
    cohort = dataset.load(path)
    assert cohort.data["hba1c_baseline"].tolist() == [7.0, 8.5]
    assert any("sep=;" in note for note in cohort.notes)


def test_title_rows_above_the_header_are_skipped_and_rows_keep_their_numbers(tmp_path):
    path = tmp_path / "titled.csv"
    path.write_text("\n".join(["Clinic X, cohort export", "", HEADER, *ROWS]) + "\n")
    cohort = dataset.load(path)
    assert cohort.data["row"].tolist() == [4, 5]
    assert any("header is row 3" in note for note in cohort.notes)


def test_a_file_without_any_known_column_says_its_columns_are_missing(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(DataError) as excinfo:
        dataset.load(path)
    assert all("missing required column" in line for line in excinfo.value.problems)


@pytest.mark.parametrize("text", [HEADER + "\n", HEADER + "\n\n,,,,,\n\n"])
def test_a_header_without_patient_rows_is_refused(tmp_path, text):
    path = tmp_path / "none.csv"
    path.write_text(text)
    assert "has a header but no patient rows" in problem(path)


def test_an_empty_file_is_refused_whatever_its_name(tmp_path):
    for name in ("empty.csv", "empty.xlsx", "empty.parquet"):
        (tmp_path / name).write_bytes(b"")
        assert f"{name}: is empty" in problem(tmp_path / name)


@pytest.mark.parametrize("second", ["hba1c_post", "HbA1c_Post", " hba1c post "])
def test_two_columns_of_the_same_name_up_to_case_are_named_not_merged(tmp_path, second):
    path = tmp_path / "twice.csv"
    path.write_text(f"{HEADER},{second}\n" + "\n".join(r + ",6.0" for r in ROWS) + "\n")
    line = problem(path)
    assert "same name" in line and "column 3 (C) 'hba1c_post'" in line and "column 7 (G)" in line


def test_csv_text_named_xlsx_is_read_as_csv_and_the_mismatch_said(tmp_path, cohort_csv):
    path = tmp_path / "export.xlsx"
    path.write_bytes(cohort_csv.read_bytes())
    cohort = dataset.load(path)
    assert cohort.n_rows == len(cohort_frame())
    assert any("named .xlsx but holds text (CSV)" in note for note in cohort.notes)


def test_an_xlsx_named_csv_is_read_as_a_workbook(tmp_path):
    path = workbook(tmp_path / "book.csv", {"Data": [COLUMNS, *DATA_ROWS]})
    assert dataset.load(path).data["hba1c_post"].tolist() == [6.5, 7.0]


def test_an_old_xls_workbook_is_refused_with_what_to_do(tmp_path):
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512)
    assert "old Excel workbook (.xls) or a password-protected one; save it" in problem(path)


def test_a_zip_that_is_not_a_workbook_is_refused(tmp_path):
    path = tmp_path / "archive.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 64)
    assert "not an Excel workbook" in problem(path)


def test_data_on_the_second_sheet_are_read_and_the_sheet_named(tmp_path):
    path = workbook(tmp_path / "two.xlsx", {"Read me": [["This workbook holds the cohort"]],
                                             "Data": [COLUMNS, *DATA_ROWS]})
    cohort = dataset.load(path)
    assert cohort.data["patient_id"].tolist() == ["P1", "P2"]
    assert any("read sheet 'Data'" in note and "'Read me'" in note for note in cohort.notes)


def test_cohort_columns_on_several_other_sheets_are_ambiguous(tmp_path):
    path = workbook(tmp_path / "three.xlsx", {"Notes": [["x"]], "2024": [COLUMNS, DATA_ROWS[0]],
                                               "2025": [COLUMNS, DATA_ROWS[1]]})
    line = problem(path)
    assert "several sheets ('2024', '2025')" in line and "first ('Notes')" in line


def test_a_title_row_above_the_header_of_a_sheet_is_skipped(tmp_path):
    path = workbook(tmp_path / "titled.xlsx", {"Cohort": [["Clinic X export, 2025"], [], COLUMNS, *DATA_ROWS]})
    cohort = dataset.load(path)
    assert cohort.data["row"].tolist() == [4, 5]
    assert any("rows 1 to 2 above the header" in note for note in cohort.notes)


def test_formulas_without_stored_results_are_said_instead_of_excluding_everybody(tmp_path):
    rows = [COLUMNS, ["P1", 7.0, "=B2-0.5", 1e9, "adipose", 12], ["P2", 8.5, "=B3-1", 2e9, "bone_marrow", 24]]
    line = problem(workbook(tmp_path / "formulas.xlsx", {"Data": rows}))
    assert "2 formula cell(s) without a stored result (first: row 2, column hba1c_post)" in line
    assert "save it" in line


def test_an_empty_workbook_is_refused(tmp_path):
    assert "sheets are empty" in problem(workbook(tmp_path / "blank.xlsx", {"Sheet1": []}))


@pytest.mark.parametrize("make, what", [
    (lambda p: p.mkdir(), "is a folder, not a file"),
    (lambda p: os.mkfifo(p), "is a pipe, not a file"),
])
def test_a_folder_or_a_pipe_given_as_the_data_file_is_refused_without_waiting(tmp_path, make, what):
    path = tmp_path / "cohort.csv"
    make(path)
    assert what in problem(path)


def test_a_device_given_as_the_data_file_is_refused():
    assert "is a device, not a file" in problem("/dev/null")


def test_a_parquet_file_gives_the_same_cohort_as_its_csv(tmp_path, cohort_csv):
    frame = pd.read_csv(cohort_csv)
    frame.to_parquet(tmp_path / "cohort.parquet")
    pd.testing.assert_frame_equal(dataset.load(tmp_path / "cohort.parquet").data.drop(columns="row"),
                                  dataset.load(cohort_csv).data.drop(columns="row"))


def test_the_hash_is_of_the_bytes_that_were_read(tmp_path):
    path = write_csv(tmp_path, cohort_frame())
    before = path.read_bytes()
    cohort = dataset.load(path)
    path.write_bytes(before.replace(b"P01", b"Q01"))  # changed after the read: the cohort is the old bytes
    import hashlib

    assert cohort.sha256 == hashlib.sha256(before).hexdigest()
    assert cohort.data["patient_id"].iloc[0] == "P01"


def test_a_field_too_large_for_a_csv_reader_is_one_line_not_a_traceback(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text(HEADER + '\nP1,"' + "x" * 200_000 + '",6.5,1000000000,adipose,12\n')
    assert "cannot be read as text (CSV)" in problem(path)


def test_a_password_protected_workbook_is_named_as_a_possibility(tmp_path):
    path = tmp_path / "locked.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512)  # an OLE2 container, as Excel encrypts
    assert "password-protected" in problem(path)

"""Tests for livingpaper.inputs.cohort: loading and validating a cohort file.

Row numbers are counted as a spreadsheet counts them: the header is row 1, the first
patient row 2. In the ten-patient fixture (tests/conftest.py) patient P0k is on row k + 1.
"""
from __future__ import annotations

import hashlib
import re

import numpy as np
import pandas as pd
import pytest
from conftest import COHORT_ROWS, cohort_frame, set_cell, write_csv
from livingpaper import paths
from livingpaper.errors import DataError
from livingpaper.inputs import cohort as dataset

# The required columns as DESIGN.md and the data dictionary describe them, written out
# here (not imported) so that a column silently dropped from the schema is noticed.
REQUIRED_COLUMNS = ["patient_id", "hba1c_baseline", "hba1c_post", "dose_cells", "msc_source", "followup_months"]


def problems_of(path) -> list[str]:
    """The lines of the DataError that loading ``path`` raises."""
    with pytest.raises(DataError) as excinfo:
        dataset.load(path)
    lines = str(excinfo.value).splitlines()
    assert lines == excinfo.value.problems
    return lines


def only_problem(path) -> str:
    lines = problems_of(path)
    assert len(lines) == 1, lines
    return lines[0]


def assert_names(line: str, file_name: str, row: int, column: str, value: str) -> None:
    assert file_name in line
    assert re.search(rf"\brow {row}\b", line), line
    assert column in line
    assert repr(value) in line or f"'{value}'" in line, line


# --------------------------------------------------------------------------- loading


def test_default_cohort_loads_61_rows_without_exclusions():
    cohort = dataset.load(paths.DEFAULT_COHORT)
    raw = pd.read_csv(paths.DEFAULT_COHORT)
    assert cohort.n_rows == 61
    assert cohort.n_analysed == 61
    assert cohort.excluded == []
    assert cohort.analysed["hba1c_baseline"].tolist() == pytest.approx(raw["hba1c_baseline"].tolist())
    assert cohort.analysed["hba1c_post"].tolist() == pytest.approx(raw["hba1c_post"].tolist())


def test_fixture_cohort_is_read_with_values_and_spreadsheet_row_numbers(cohort_csv):
    cohort = dataset.load(cohort_csv)
    assert cohort.n_rows == 10
    assert cohort.data["row"].tolist() == list(range(2, 12))
    assert cohort.data["patient_id"].tolist() == [r[0] for r in COHORT_ROWS]
    assert cohort.data["hba1c_baseline"].tolist() == [r[1] for r in COHORT_ROWS]
    assert cohort.data["hba1c_post"].tolist() == [r[2] for r in COHORT_ROWS]
    assert cohort.data["dose_cells"].tolist() == [float(r[3]) for r in COHORT_ROWS]
    assert cohort.data["msc_source"].tolist() == [r[4] for r in COHORT_ROWS]
    assert cohort.data["followup_months"].tolist() == [r[5] for r in COHORT_ROWS]
    assert cohort.data["serious_adverse_event"].tolist() == [r[6] for r in COHORT_ROWS]


def test_missing_file_is_an_error_that_names_the_file(tmp_path):
    with pytest.raises((DataError, FileNotFoundError)) as excinfo:
        dataset.load(tmp_path / "no_such_cohort.csv")
    assert "no_such_cohort.csv" in str(excinfo.value)


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize("column", REQUIRED_COLUMNS)
def test_missing_required_column_is_named_with_the_file(tmp_path, column):
    path = write_csv(tmp_path, cohort_frame().drop(columns=[column]), name="export.csv")
    line = only_problem(path)
    assert "export.csv" in line
    assert f"'{column}'" in line
    assert "missing" in line


def test_two_missing_columns_give_two_lines(tmp_path):
    path = write_csv(tmp_path, cohort_frame().drop(columns=["msc_source", "followup_months"]))
    lines = problems_of(path)
    assert len(lines) == 2
    assert "'msc_source'" in lines[0] and "'followup_months'" in lines[1]


def test_non_numeric_hba1c_names_file_row_column_and_value(tmp_path):
    path = write_csv(tmp_path, set_cell(cohort_frame(), "P03", "hba1c_post", "seven"), name="clinic.csv")
    line = only_problem(path)
    assert_names(line, "clinic.csv", 4, "hba1c_post", "seven")
    assert "not a number" in line


def test_impossible_hba1c_in_percent_column_is_rejected(tmp_path):
    # 55 is an IFCC value (mmol/mol) typed into the % column.
    path = write_csv(tmp_path, set_cell(cohort_frame(), "P05", "hba1c_baseline", 55), name="clinic.csv")
    line = only_problem(path)
    assert_names(line, "clinic.csv", 6, "hba1c_baseline", "55")
    assert "not a possible HbA1c" in line


@pytest.mark.parametrize("value, ok", [("3.0", True), ("20.0", True), ("2.9", False), ("20.1", False)])
def test_hba1c_possible_range_is_3_to_20_percent_inclusive(tmp_path, value, ok):
    path = write_csv(tmp_path, set_cell(cohort_frame(), "P02", "hba1c_post", value))
    if ok:
        assert dataset.load(path).data.loc[1, "hba1c_post"] == float(value)
    else:
        assert_names(only_problem(path), "cohort.csv", 3, "hba1c_post", value)


def test_duplicate_patient_id_names_both_rows_but_never_the_id(tmp_path):
    path = write_csv(tmp_path, set_cell(cohort_frame(), "P07", "patient_id", "P02"), name="clinic.csv")
    line = only_problem(path)
    assert "clinic.csv" in line and re.search(r"\brow 8\b", line) and "column patient_id" in line
    assert "the same id as row 3" in line
    assert "P02" not in line  # an id may be an identifier: no message echoes one


def test_unknown_msc_source_is_rejected(tmp_path):
    path = write_csv(tmp_path, set_cell(cohort_frame(), "P09", "msc_source", "placenta"), name="clinic.csv")
    line = only_problem(path)
    assert_names(line, "clinic.csv", 10, "msc_source", "placenta")


def test_negative_followup_is_rejected(tmp_path):
    path = write_csv(tmp_path, set_cell(cohort_frame(), "P01", "followup_months", -3), name="clinic.csv")
    line = only_problem(path)
    assert_names(line, "clinic.csv", 2, "followup_months", "-3")
    assert "not a possible follow-up (0 to 240 months" in line


def test_zero_followup_is_accepted(tmp_path):
    path = write_csv(tmp_path, set_cell(cohort_frame(), "P01", "followup_months", 0))
    assert dataset.load(path).data.loc[0, "followup_months"] == 0


def test_dose_given_in_millions_is_not_plausible(tmp_path):
    # "1000" meant 1000 million cells; the file must give the absolute count.
    path = write_csv(tmp_path, set_cell(cohort_frame(), "P04", "dose_cells", 1000), name="clinic.csv")
    line = only_problem(path)
    assert_names(line, "clinic.csv", 5, "dose_cells", "1000")
    assert "not a plausible" in line


def test_dose_in_scientific_notation_is_read_as_a_cell_count(tmp_path):
    path = write_csv(tmp_path, set_cell(cohort_frame(), "P04", "dose_cells", "1.2e9"))
    assert dataset.load(path).data.loc[3, "dose_cells"] == 1.2e9


def test_empty_patient_id_is_rejected(tmp_path):
    path = write_csv(tmp_path, set_cell(cohort_frame(), "P06", "patient_id", "  "), name="clinic.csv")
    line = only_problem(path)
    assert "clinic.csv" in line and re.search(r"\brow 7\b", line) and "patient_id" in line
    assert "empty" in line


def test_empty_baseline_is_rejected(tmp_path):
    path = write_csv(tmp_path, set_cell(cohort_frame(), "P06", "hba1c_baseline", ""))
    line = only_problem(path)
    assert re.search(r"\brow 7\b", line) and "hba1c_baseline" in line and "empty" in line


def test_serious_adverse_event_must_be_0_or_1(tmp_path):
    path = write_csv(tmp_path, set_cell(cohort_frame(), "P06", "serious_adverse_event", 2))
    assert_names(only_problem(path), "cohort.csv", 7, "serious_adverse_event", "2")


def test_several_problems_give_one_line_each(tmp_path):
    frame = cohort_frame()
    frame = set_cell(frame, "P02", "hba1c_baseline", "abc")
    frame = set_cell(frame, "P05", "msc_source", "liver")
    frame = set_cell(frame, "P09", "dose_cells", 500)
    lines = problems_of(write_csv(tmp_path, frame))
    assert len(lines) == 3
    joined = "\n".join(lines)
    for row, column, value in [(3, "hba1c_baseline", "abc"), (6, "msc_source", "liver"), (10, "dose_cells", "500")]:
        [line] = [ln for ln in lines if re.search(rf"\brow {row}\b", ln)]
        assert_names(line, "cohort.csv", row, column, value)
    assert joined.count("cohort.csv") == 3


# --------------------------------------------------------------------------- exclusions


def test_missing_post_value_is_excluded_with_reason(tmp_path):
    path = write_csv(tmp_path, set_cell(cohort_frame(), "P03", "hba1c_post", ""))
    cohort = dataset.load(path)
    assert len(cohort.data) == 10  # kept in the data ...
    assert "P03" in cohort.data["patient_id"].tolist()
    assert "P03" not in cohort.analysed["patient_id"].tolist()  # ... not analysed
    assert cohort.n_analysed == 9
    [exclusion] = cohort.excluded
    assert set(exclusion) == {"row", "patient_id", "reason"}
    assert exclusion["row"] == 4 and exclusion["patient_id"] == "P03"
    assert "post" in exclusion["reason"].lower()


def test_missing_dose_is_excluded_from_dose_analyses_only(tmp_path):
    path = write_csv(tmp_path, set_cell(cohort_frame(), "P08", "dose_cells", ""))
    cohort = dataset.load(path)
    assert cohort.n_analysed == 10
    assert "P08" in cohort.analysed["patient_id"].tolist()
    assert np.isnan(cohort.data.loc[7, "dose_cells"])
    [exclusion] = cohort.excluded
    assert exclusion["row"] == 9 and exclusion["patient_id"] == "P08"
    assert "dose analyses only" in exclusion["reason"]


def test_exclusions_are_listed_in_row_order(tmp_path):
    frame = set_cell(cohort_frame(), "P09", "hba1c_post", "")
    frame = set_cell(frame, "P02", "dose_cells", "")
    cohort = dataset.load(write_csv(tmp_path, frame))
    assert [(e["row"], e["patient_id"]) for e in cohort.excluded] == [(3, "P02"), (10, "P09")]


# --------------------------------------------------------------------------- units and formats


def ngsp_from_ifcc(mmol_mol: float) -> float:
    return 0.09148 * mmol_mol + 2.152


def test_ifcc_formula_gives_the_known_pair_53_mmol_mol_is_7_percent():
    converted = dataset.ifcc_to_ngsp(pd.Series([53.0, 48.0]))
    assert converted[0] == pytest.approx(7.0, abs=0.005)
    assert converted.tolist() == pytest.approx([ngsp_from_ifcc(53.0), ngsp_from_ifcc(48.0)], rel=1e-12)


def test_ifcc_columns_are_converted_to_ngsp_percent(tmp_path):
    frame = cohort_frame().rename(columns={"hba1c_baseline": "hba1c_baseline_mmol_mol",
                                           "hba1c_post": "hba1c_post_mmol_mol"})
    ifcc_base = [53, 64, 75, 48, 86, 58, 42, 70, 97, 60]
    ifcc_post = [48, 53, 58, 45, 75, 53, 40, 64, 86, 55]
    frame["hba1c_baseline_mmol_mol"] = ifcc_base
    frame["hba1c_post_mmol_mol"] = ifcc_post
    cohort = dataset.load(write_csv(tmp_path, frame))
    assert cohort.analysed["hba1c_baseline"].tolist() == pytest.approx([ngsp_from_ifcc(v) for v in ifcc_base])
    assert cohort.analysed["hba1c_post"].tolist() == pytest.approx([ngsp_from_ifcc(v) for v in ifcc_post])
    assert cohort.analysed["hba1c_baseline"].iloc[0] == pytest.approx(7.0, abs=0.005)


def test_problem_in_ifcc_column_names_the_column_of_the_file(tmp_path):
    frame = cohort_frame().rename(columns={"hba1c_baseline": "hba1c_baseline_mmol_mol"})
    frame["hba1c_baseline_mmol_mol"] = [53, 64, 75, 48, 86, 58, 42, 70, 97, 60]
    frame = set_cell(frame, "P03", "hba1c_baseline_mmol_mol", "n/a")
    line = only_problem(write_csv(tmp_path, frame))
    assert "column hba1c_baseline_mmol_mol" in line


def test_semicolon_csv_with_decimal_comma_reads_like_the_comma_csv(tmp_path, cohort_csv):
    # A European spreadsheet export: ';' between fields, ',' before decimals.
    lines = ["patient_id;hba1c_baseline;hba1c_post;dose_cells;msc_source;followup_months;serious_adverse_event"]
    for pid, base, post, dose, source, months, sae in COHORT_ROWS:
        lines.append(f"{pid};{str(base).replace('.', ',')};{str(post).replace('.', ',')};{dose};{source};{months};{sae}")
    semicolon = tmp_path / "european.csv"
    semicolon.write_text("\n".join(lines) + "\n")
    assert "P01;6,2;5,9;" in semicolon.read_text()
    got = dataset.load(semicolon)
    assert got.analysed["hba1c_baseline"].tolist() == [r[1] for r in COHORT_ROWS]
    pd.testing.assert_frame_equal(got.analysed, dataset.load(cohort_csv).analysed)


def test_utf8_bom_does_not_change_the_first_column_name(tmp_path, cohort_csv):
    bom = write_csv(tmp_path, cohort_frame(), name="bom.csv", encoding="utf-8-sig")
    assert bom.read_bytes().startswith(b"\xef\xbb\xbf")
    got = dataset.load(bom)
    assert got.data["patient_id"].tolist() == [r[0] for r in COHORT_ROWS]
    pd.testing.assert_frame_equal(got.analysed, dataset.load(cohort_csv).analysed)


def numeric_frame():
    """The fixture cohort with real numeric dtypes and one missing post value and dose."""
    frame = pd.DataFrame(COHORT_ROWS, columns=cohort_frame().columns)
    frame["hba1c_post"] = frame["hba1c_post"].astype(float)
    frame["dose_cells"] = frame["dose_cells"].astype(float)
    frame.loc[2, "hba1c_post"] = np.nan  # P03
    frame.loc[8, "dose_cells"] = np.nan  # P09
    return frame


@pytest.mark.parametrize("suffix, write", [
    (".xlsx", lambda f, p: f.to_excel(p, index=False)),
    (".parquet", lambda f, p: f.to_parquet(p, index=False)),
])
def test_xlsx_and_parquet_give_the_same_analysed_data_as_csv(tmp_path, suffix, write):
    frame = numeric_frame()
    csv = dataset.load(write_csv(tmp_path, frame))
    other_path = tmp_path / f"cohort{suffix}"
    write(frame, other_path)
    other = dataset.load(other_path)
    pd.testing.assert_frame_equal(other.analysed, csv.analysed, check_dtype=False)
    pd.testing.assert_frame_equal(other.data, csv.data, check_dtype=False)
    assert other.excluded == csv.excluded
    assert [(e["row"], e["patient_id"]) for e in other.excluded] == [(4, "P03"), (10, "P09")]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet"])
def test_input_file_is_not_modified(tmp_path, suffix):
    frame = numeric_frame()
    path = tmp_path / f"cohort{suffix}"
    {".csv": lambda: frame.to_csv(path, index=False),
     ".xlsx": lambda: frame.to_excel(path, index=False),
     ".parquet": lambda: frame.to_parquet(path, index=False)}[suffix]()
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    mtime = path.stat().st_mtime_ns
    dataset.load(path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert path.stat().st_mtime_ns == mtime


def test_sha256_is_the_hash_of_the_file_bytes(cohort_csv):
    expected = hashlib.sha256(cohort_csv.read_bytes()).hexdigest()
    assert dataset.load(cohort_csv).sha256 == expected


def test_sha256_changes_when_one_byte_changes(tmp_path, cohort_csv):
    other = write_csv(tmp_path, set_cell(cohort_frame(), "P01", "hba1c_post", 5.8), name="other.csv")
    assert dataset.load(other).sha256 != dataset.load(cohort_csv).sha256


def test_row_numbers_after_a_blank_line_are_those_of_the_file(tmp_path):
    lines = write_csv(tmp_path, cohort_frame()).read_text().splitlines()
    lines[3] = lines[3].replace("7.5,7.0", "55,7.0")  # P03 (row 4) gets an impossible baseline
    lines.insert(2, "")  # a blank row 3: P02 moves to row 4, P03 to row 5
    path = tmp_path / "blank.csv"
    path.write_text("\n".join(lines) + "\n")
    assert re.search(r"\brow 5\b", only_problem(path))


# --------------------------------------------------------------------------- dictionary


def test_dictionary_lists_every_required_column():
    table = dataset.dictionary()
    assert {"column", "type", "unit", "required", "description"} <= set(table.columns)
    required = table.loc[table["required"] == "yes", "column"].tolist()
    assert sorted(required) == sorted(REQUIRED_COLUMNS)
    assert (table["description"].str.len() > 0).all()


def test_every_column_the_dictionary_requires_is_enforced(tmp_path):
    for column in dataset.dictionary().query("required == 'yes'")["column"]:
        path = write_csv(tmp_path, cohort_frame().drop(columns=[column]), name=f"without_{column}.csv")
        assert f"'{column}'" in only_problem(path)


# --------------------------------------------------------------------------- real-world exports


def test_a_row_with_more_fields_than_the_header_is_named(tmp_path):
    lines = write_csv(tmp_path, cohort_frame()).read_text().splitlines()
    lines[4] += ",surplus"  # row 5
    path = tmp_path / "shifted.csv"
    path.write_text("\n".join(lines) + "\n")
    line = only_problem(path)
    assert "row 5 has 8 fields but the header has 7" in line


def test_column_names_are_matched_whatever_their_case(tmp_path, cohort_csv):
    frame = cohort_frame()
    frame.columns = [c.upper() for c in frame.columns]
    upper = dataset.load(write_csv(tmp_path, frame, name="upper.csv"))
    pd.testing.assert_frame_equal(upper.analysed, dataset.load(cohort_csv).analysed)


def test_tab_separated_file_reads_like_the_comma_file(tmp_path, cohort_csv):
    tabbed = write_csv(tmp_path, cohort_frame(), name="tabbed.csv", sep="\t")
    pd.testing.assert_frame_equal(dataset.load(tabbed).analysed, dataset.load(cohort_csv).analysed)


def test_source_labels_written_differently_are_recognised(tmp_path):
    frame = set_cell(cohort_frame(), "P01", "msc_source", "Umbilical cord")
    frame = set_cell(frame, "P02", "msc_source", "BONE-MARROW")
    got = dataset.load(write_csv(tmp_path, frame)).data.set_index("patient_id")["msc_source"]
    assert got["P01"] == "umbilical_cord" and got["P02"] == "bone_marrow"


def test_a_file_that_is_not_utf8_gets_a_hint_not_a_traceback(tmp_path):
    path = tmp_path / "excel-export.csv"
    path.write_bytes(write_csv(tmp_path, cohort_frame()).read_text().encode("utf-16"))
    assert "is not UTF-8 text" in only_problem(path)


@pytest.mark.parametrize("column, what", [("Name", "a name"), ("date_of_birth", "a date of birth"),
                                          ("Home Address", "an address"), ("phone", "a phone number"),
                                          ("e-mail", "an e-mail address"), ("MRN", "a record, insurance or national identity number")])
def test_identifier_columns_are_refused_and_their_values_never_shown(tmp_path, column, what):
    frame = cohort_frame()
    frame[column] = "SECRET-VALUE"
    line = only_problem(write_csv(tmp_path, frame))
    assert f"column {column}: looks like {what}" in line
    assert "SECRET-VALUE" not in line
    allowed = dataset.load(write_csv(tmp_path, frame), allow_identifiers=True)
    assert "SECRET-VALUE" not in allowed.data.to_string()


def test_clinical_columns_are_not_mistaken_for_identifiers(tmp_path):
    frame = cohort_frame()
    for harmless in ("site_name_code", "cell_count", "notes", "mail_order_pharmacy_used"):
        frame[harmless] = 1
    loaded = dataset.load(write_csv(tmp_path, frame))
    assert loaded.n_rows == len(COHORT_ROWS)
    assert any("columns not used" in note and "cell_count" in note for note in loaded.notes)


def test_explicit_ifcc_unit_converts_the_plain_columns(tmp_path):
    frame = cohort_frame()
    frame["hba1c_baseline"] = [53] * len(frame)
    frame["hba1c_post"] = [48] * len(frame)
    got = dataset.load(write_csv(tmp_path, frame), hba1c_unit="ifcc")
    assert got.analysed["hba1c_baseline"].iloc[0] == pytest.approx(0.09148 * 53 + 2.152)
    assert any("IFCC" in note for note in got.notes)
    # without the option, 53 is not a possible HbA1c in %: never guessed
    assert "not a possible HbA1c" in problems_of(write_csv(tmp_path, frame))[0]


def test_prepared_cohort_round_trips(tmp_path, cohort_csv):
    original = dataset.load(cohort_csv)
    folder = dataset.save(original, tmp_path / "prepared")
    again = dataset.load(folder)
    pd.testing.assert_frame_equal(again.data, original.data)
    assert (again.sha256, again.n_rows, again.excluded) == (original.sha256, original.n_rows, original.excluded)


def test_an_email_address_as_patient_id_is_refused_without_echoing_it(tmp_path):
    frame = set_cell(cohort_frame(), "P04", "patient_id", "taro.yamada@example.jp")
    line = only_problem(write_csv(tmp_path, frame))
    assert "row 5, column patient_id: looks like an e-mail address" in line
    assert "yamada" not in line


# --------------------------------------------------------------------------- hostile and careless files


@pytest.mark.parametrize("column, value", [("hba1c_baseline", "inf"), ("followup_months", "inf"),
                                           ("dose_cells", "-inf"), ("hba1c_post", "Infinity")])
def test_infinite_values_are_not_numbers_of_the_book(tmp_path, column, value):
    line = only_problem(write_csv(tmp_path, set_cell(cohort_frame(), "P03", column, value)))
    assert f"row 4, column {column}: value '{value}' is not a finite number" in line


@pytest.mark.parametrize("months, ok", [(240, True), (241, False), (1e300, False), (3650, False)])
def test_followup_has_a_plausible_upper_bound_in_months(tmp_path, months, ok):
    path = write_csv(tmp_path, set_cell(cohort_frame(), "P03", "followup_months", months))
    if ok:
        assert dataset.load(path).data.loc[2, "followup_months"] == months
    else:
        assert "is not a possible follow-up (0 to 240 months" in only_problem(path)


def test_one_systematic_problem_in_a_large_file_is_shown_for_a_few_rows_then_counted_with_its_pattern(tmp_path):
    frame = pd.concat([cohort_frame()] * 100, ignore_index=True)
    frame["patient_id"] = [f"S{i:04d}" for i in range(len(frame))]
    frame["dose_cells"] = [d / 1e6 for d in frame["dose_cells"]]  # every dose in millions
    lines = problems_of(write_csv(tmp_path, frame))
    assert len(lines) == dataset.ROWS_SHOWN + 1
    assert all("column dose_cells" in line for line in lines[:-1])
    assert f"and {len(frame) - dataset.ROWS_SHOWN:,} more rows with the same problem" in lines[-1]
    assert "look like millions of cells" in lines[-1]


def test_hba1c_in_mmol_mol_across_the_file_suggests_the_ifcc_option(tmp_path):
    frame = cohort_frame()
    frame["hba1c_baseline"] = [53, 58, 64, 48, 50, 69, 75, 88, 70, 43]
    lines = problems_of(write_csv(tmp_path, frame))
    assert "look like IFCC mmol/mol; use --hba1c-unit ifcc" in lines[-1]


@pytest.mark.parametrize("missing", ["NA", "n/a", "missing"])
def test_a_word_for_missing_in_a_number_column_says_to_leave_the_cell_empty(tmp_path, missing):
    line = only_problem(write_csv(tmp_path, set_cell(cohort_frame(), "P02", "hba1c_post", missing)))
    assert f"value '{missing}' is not a number (leave the cell empty when the value is missing)" in line


@pytest.mark.parametrize("identifier", ["Taro Yamada", "1956-03-14", "+81 90-1234-5678", "123-45-6789",
                                        "MRN-004711", "NHS 943 476 5919", "taro@example.jp"])
def test_a_patient_id_that_identifies_a_person_is_refused_without_echoing_it(tmp_path, identifier):
    line = only_problem(write_csv(tmp_path, set_cell(cohort_frame(), "P04", "patient_id", identifier)))
    assert "row 5, column patient_id: looks like" in line and "the value is not shown" in line
    for part in identifier.replace(",", " ").replace("-", " ").split():
        if len(part) > 2:
            assert part not in line


def test_with_allow_identifiers_every_id_is_replaced_by_a_pseudonym_before_anything_is_kept(tmp_path):
    frame = set_cell(cohort_frame(), "P04", "patient_id", "Taro Yamada")
    frame = set_cell(frame, "P05", "patient_id", "1956-03-14")
    frame = set_cell(frame, "P08", "hba1c_post", None)  # excluded: its id is listed
    cohort = dataset.load(write_csv(tmp_path, frame), allow_identifiers=True)
    assert cohort.data["patient_id"].tolist() == [f"PSN-{k:04d}" for k in range(1, 11)]
    assert cohort.excluded[0]["patient_id"] == "PSN-0008"
    everything = cohort.data.to_string() + repr(cohort.excluded) + " ".join(cohort.notes)
    assert "Yamada" not in everything and "1956" not in everything
    assert any("replaced by a pseudonym" in note for note in cohort.notes)


def test_an_identifier_that_strays_into_another_column_is_not_echoed(tmp_path):
    line = only_problem(write_csv(tmp_path, set_cell(cohort_frame(), "P02", "msc_source", "Taro Yamada")))
    assert "row 3, column msc_source: value (not shown: it looks like a name)" in line
    assert "Yamada" not in line


def test_control_characters_in_column_names_are_shown_not_obeyed(tmp_path):
    frame = cohort_frame()
    frame["note\x1b[2J\nsecret"] = 1
    cohort = dataset.load(write_csv(tmp_path, frame))
    note = next(n for n in cohort.notes if n.startswith("columns not used"))
    assert "note\\x1b[2J\\nsecret" in note and "\x1b" not in note and "\n" not in note


def test_a_control_character_in_a_value_is_shown_escaped(tmp_path):
    line = only_problem(write_csv(tmp_path, set_cell(cohort_frame(), "P02", "hba1c_post", "6.5\x1b[31m")))
    assert "value '6.5\\x1b[31m' is not a number" in line and "\x1b" not in line

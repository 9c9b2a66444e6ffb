"""Tests for livingpaper.present.cohort: the flow of patients, exclusions, characteristics.

What a reader sees is checked by rendering the Markdown with the MyST parser the book
uses (markdown-it with the MyST plugins) and reading the text back out of the HTML, so
the tests judge the rendered page, not the exact escaping characters chosen.
"""
from __future__ import annotations

import pytest
from conftest import cohort_frame, rendered, set_cell, table, write_csv
from livingpaper.inputs import cohort as dataset
from livingpaper.parameters import Parameters
from livingpaper.present import cohort as present_cohort
from livingpaper.results import document, populations


@pytest.fixture
def cohort(cohort_csv):
    return dataset.load(cohort_csv)


def flow(markdown: str) -> dict[str, str]:
    return {step: count for step, count in table(markdown)[1:]}


# --------------------------------------------------------------------------- exclusions


def test_exclusions_table_escapes_patient_ids():
    excluded = [
        {"row": 3, "patient_id": "<script>alert(1)</script>", "reason": "post-treatment HbA1c missing"},
        {"row": 7, "patient_id": "**bold**|[link](http://x)", "reason": "dose missing: dose analyses only"},
    ]
    markdown = present_cohort.exclusions_table(excluded)
    assert "<script" not in markdown
    rows = table(markdown)
    assert len(rows) == 3  # header + one row per exclusion
    assert rows[1] == ["3", "<script>alert(1)</script>", "post-treatment HbA1c missing"]
    assert rows[2] == ["7", "**bold**|[link](http://x)", "dose missing: dose analyses only"]
    assert "script" not in rendered(markdown).tags and "strong" not in rendered(markdown).tags


def test_exclusions_table_from_a_loaded_file_lists_row_id_and_reason(tmp_path):
    frame = set_cell(cohort_frame(), "P04", "hba1c_post", "")
    cohort = dataset.load(write_csv(tmp_path, frame))
    rows = table(present_cohort.exclusions_table(cohort.excluded))
    assert len(rows) == 2
    assert rows[1][:2] == ["5", "P04"] and "post" in rows[1][2].lower()


def test_no_exclusion_is_said_in_words():
    assert present_cohort.exclusions_table([]) == "No row was excluded."


def test_patient_id_with_a_line_break_stays_in_one_table_row():
    markdown = present_cohort.exclusions_table([{"row": 2, "patient_id": "MSC\n001", "reason": "dose missing"}])
    rows = table(markdown)
    assert len(rows) == 2
    assert len(rows[1]) == 3 and "MSC" in rows[1][1] and "001" in rows[1][1]


def test_flow_table_counts_rows_exclusions_and_each_section(tmp_path):
    frame = set_cell(cohort_frame(), "P06", "hba1c_post", "")   # severe, high dose: not analysed
    frame = set_cell(frame, "P10", "dose_cells", "")            # analysed, but not in the dose groups
    cohort = dataset.load(write_csv(tmp_path, frame))
    steps = flow(present_cohort.flow_table(document.results(cohort, Parameters(), reconstructed=False), Parameters()))
    assert steps.pop("Rows read from the file") == "10"
    excluded = {step: n for step, n in steps.items() if step.startswith("Excluded")}
    assert len(excluded) == 2 and all(n == "1" for n in excluded.values())
    assert any("post" in step.lower() for step in excluded) and any("dose" in step for step in excluded)
    [analysed] = [n for step, n in steps.items() if step.startswith("Analysed")]
    assert analysed == "9"
    sections = {step: n for step, n in steps.items() if step.startswith("…")}
    expected = {"moderate": "5", "severe": "3", "high-dose": "3", "low-dose": "5"}
    for word, n in expected.items():
        [got] = [count for step, count in sections.items() if word in step]
        assert got == n, (word, sections)


def test_flow_table_without_exclusions_has_no_excluded_step(cohort):
    steps = flow(present_cohort.flow_table(document.results(cohort, Parameters(), reconstructed=False), Parameters()))
    assert not any(step.startswith("Excluded") for step in steps)
    assert steps["Rows read from the file"] == "10"


def test_flow_table_counts_patients_outside_every_severity_group(cohort):
    # P10 (baseline 6.1 %) is below the moderate range: in "all patients" but in no group.
    steps = flow(present_cohort.flow_table(document.results(cohort, Parameters(), reconstructed=False), Parameters()))
    [(step, count)] = [(s, n) for s, n in steps.items() if "no severity group" in s]
    assert count == "1" and "6.2" in step
    below = populations.outside_severity_groups(cohort, Parameters())
    assert list(below["patient_id"]) == ["P10"] and list(below["row"]) == [11]

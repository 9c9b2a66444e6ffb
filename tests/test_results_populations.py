"""Tests for livingpaper.results.populations: who belongs to each section, and the
description of the whole cohort (counts and quantiles worked out by hand on the
ten-patient fixture of tests/conftest.py).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import cohort_frame, set_cell, write_csv
from livingpaper.inputs import cohort as dataset
from livingpaper.parameters import Parameters
from livingpaper.results import populations

# Populations of the fixture (tests/conftest.py) with the paper's thresholds, by hand.
MODERATE = {"P01", "P02", "P03", "P04", "P05"}       # 6.2 <= baseline <= 8.0
SEVERE = {"P06", "P07", "P08", "P09"}                # baseline > 8.0
HIGH = {"P01", "P03", "P06", "P07", "P10"}           # dose >= 1e9
LOW = {"P02", "P04", "P05", "P08", "P09"}            # dose < 1e9
ALL = MODERATE | SEVERE | {"P10"}
PAIRED_SECTIONS = ["overall", "moderate", "severe", "dose_high", "dose_low"]


def load(tmp_path, frame=None):
    return dataset.load(write_csv(tmp_path, cohort_frame() if frame is None else frame))


def ids(frame: pd.DataFrame) -> set[str]:
    return set(frame["patient_id"])


@pytest.fixture
def cohort(cohort_csv):
    return dataset.load(cohort_csv)


# --------------------------------------------------------------------------- populations


def test_populations_with_the_paper_thresholds(cohort):
    p = Parameters()
    assert ids(populations.population(cohort, "overall", p)) == ALL
    assert ids(populations.population(cohort, "moderate", p)) == MODERATE
    assert ids(populations.population(cohort, "severe", p)) == SEVERE
    assert ids(populations.population(cohort, "dose_high", p)) == HIGH
    assert ids(populations.population(cohort, "dose_low", p)) == LOW


@pytest.mark.parametrize("baseline, moderate, severe", [
    (8.0, True, False),   # the upper edge of moderate is inclusive
    (8.1, False, True),
    (6.2, True, False),   # the lower edge of moderate is inclusive
    (6.1, False, False),  # below the paper's groups
])
def test_baseline_at_the_boundaries(tmp_path, baseline, moderate, severe):
    frame = set_cell(cohort_frame(), "P05", "hba1c_baseline", baseline)
    cohort = load(tmp_path, frame)
    p = Parameters()
    assert ("P05" in ids(populations.population(cohort, "moderate", p))) is moderate
    assert ("P05" in ids(populations.population(cohort, "severe", p))) is severe
    assert "P05" in ids(populations.population(cohort, "overall", p))


@pytest.mark.parametrize("dose, high", [(1_000_000_000, True), (999_999_999, False), (1e9 + 1, True)])
def test_dose_exactly_at_the_cutoff_is_high(tmp_path, dose, high):
    cohort = load(tmp_path, set_cell(cohort_frame(), "P02", "dose_cells", dose))
    p = Parameters()
    assert ("P02" in ids(populations.population(cohort, "dose_high", p))) is high
    assert ("P02" in ids(populations.population(cohort, "dose_low", p))) is (not high)


def test_patient_without_post_value_is_in_no_population(tmp_path):
    cohort = load(tmp_path, set_cell(cohort_frame(), "P06", "hba1c_post", ""))
    for section in PAIRED_SECTIONS:
        assert "P06" not in ids(populations.population(cohort, section, Parameters()))


def test_patient_without_dose_is_in_no_dose_population_but_in_the_others(tmp_path):
    cohort = load(tmp_path, set_cell(cohort_frame(), "P07", "dose_cells", ""))
    p = Parameters()
    assert "P07" in ids(populations.population(cohort, "overall", p))
    assert "P07" in ids(populations.population(cohort, "severe", p))
    assert "P07" not in ids(populations.population(cohort, "dose_high", p))
    assert "P07" not in ids(populations.population(cohort, "dose_low", p))


def test_unknown_section_is_an_error(cohort):
    with pytest.raises(KeyError):
        populations.population(cohort, "mild", Parameters())


def test_changing_thresholds_changes_the_populations(cohort):
    higher = Parameters(severe_above=9.0)
    assert ids(populations.population(cohort, "moderate", higher)) == MODERATE | {"P06", "P09"}
    assert ids(populations.population(cohort, "severe", higher)) == {"P07", "P08"}
    lower_min = Parameters(moderate_min=6.0)
    assert ids(populations.population(cohort, "moderate", lower_min)) == MODERATE | {"P10"}
    cutoff = Parameters(dose_cutoff_cells=2e9)
    assert ids(populations.population(cohort, "dose_high", cutoff)) == {"P03", "P07"}
    assert ids(populations.population(cohort, "dose_low", cutoff)) == ALL - {"P03", "P07"}


# --------------------------------------------------------------------------- cohort summary


def test_cohort_summary_by_hand(cohort):
    summary = populations.cohort_summary(cohort, Parameters())
    assert summary["n_rows"] == 10 and summary["n_analysed"] == 10
    assert summary["dose_min_cells"] == 1e8
    assert summary["dose_max_cells"] == 2e9
    # doses sorted: 1e8 2.5e8 3e8 5e8 8e8 | 1e9 1e9 1.5e9 2e9 2e9 -> (8e8 + 1e9) / 2
    assert summary["dose_median_cells"] == 9e8
    assert summary["msc_sources"] == {"adipose": 3, "bone_marrow": 2, "umbilical_cord": 5}
    # follow-up sorted: 6 12 20 24 35 | 40 48 55 60 68 -> (35 + 40) / 2
    assert summary["followup_median_months"] == 37.5
    assert summary["followup_min_months"] == 6 and summary["followup_max_months"] == 68
    assert summary["serious_adverse_events"] == 1


def test_cohort_summary_counts_every_valid_row_even_when_excluded(tmp_path):
    frame = set_cell(cohort_frame(), "P10", "hba1c_post", "")  # P10 has the longest follow-up
    summary = populations.cohort_summary(load(tmp_path, frame), Parameters())
    assert summary["n_rows"] == 10 and summary["n_analysed"] == 9
    assert summary["followup_max_months"] == 68


def test_cohort_summary_without_adverse_event_column_says_unknown(tmp_path):
    summary = populations.cohort_summary(load(tmp_path, cohort_frame().drop(columns=["serious_adverse_event"])), Parameters())
    assert summary["serious_adverse_events"] is None


def test_optional_characteristics_are_summarised_when_present(tmp_path):
    frame = cohort_frame()
    frame["age_years"] = [50, 60, 70, 40, 55, 65, 45, 35, 75, 58]
    frame["sex"] = ["F", "male", "Female", "M", "f", "m", "", "F", "M", "F"]
    frame["bmi_kg_m2"] = [22.0, 25.5, 30.1, 27.3, 24.0, 29.9, 31.2, 23.3, 26.6, 28.0]
    frame["diabetes_duration_years"] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    summary = populations.cohort_summary(load(tmp_path, frame), Parameters())
    assert summary["age_years_mean"] == pytest.approx(np.mean(frame["age_years"]))
    assert summary["age_years_sd"] == pytest.approx(np.std(frame["age_years"], ddof=1))
    assert (summary["female_n"], summary["sex_recorded_n"]) == (5, 9)  # one sex left empty
    assert summary["bmi_kg_m2_mean"] == pytest.approx(np.mean(frame["bmi_kg_m2"]))
    assert summary["diabetes_duration_years_median"] == 5.5
    assert (summary["diabetes_duration_years_q1"], summary["diabetes_duration_years_q3"]) == (3.25, 7.75)


def test_optional_characteristics_are_none_when_absent(cohort):
    summary = populations.cohort_summary(cohort, Parameters())
    for key in ("age_years_mean", "female_n", "bmi_kg_m2_mean", "diabetes_duration_years_median"):
        assert summary[key] is None

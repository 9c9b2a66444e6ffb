"""Tests of livingpaper.inputs.evidence, and of the evidence file it reads (data/evidence.csv):
loading and validation (one line per problem, naming the file line, the row and the column),
the data dictionary (data/evidence.md), the bibliography of the rows, and the
regression-to-the-mean anchors.

What is computed from the table is tested in tests/test_stats_comparators.py, the chapter's
tables in tests/test_present_evidence.py.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import edited_copy, row, shipped_raw, write_rows
from livingpaper import paths
from livingpaper.errors import EvidenceError
from livingpaper.inputs import evidence

ROOT = paths.ROOT
BIBFILES = [paths.REFERENCES, paths.EVIDENCE_BIB]
DICTIONARY = ROOT / "data" / "evidence.md"


# --------------------------------------------------------------------------------------
# Helpers: the shipped file as text, edited copies, and small hand-written evidence tables
# --------------------------------------------------------------------------------------


def anchors_rows() -> list[dict[str, str]]:
    """The three regression-to-the-mean anchors, with round numbers."""
    common = dict(design="observational", arm="anchor", sign_convention="not applicable", rtm_anchor="true")
    return [
        row(row_id="pop_mean", citation_key="miyazawa2022", measure="population_mean_percent", estimate="7.0", **common),
        row(row_id="pop_sd", citation_key="miyazawa2022", measure="population_sd_percent", estimate="1.0", **common),
        row(row_id="cv", citation_key="gough2023", design="systematic review", arm="anchor", measure="within_person_cv",
            estimate="0.1", sign_convention="not applicable", rtm_anchor="true"),
    ]


@pytest.fixture(scope="module")
def shipped() -> pd.DataFrame:
    return evidence.load()


# --------------------------------------------------------------------------------------
# The shipped file
# --------------------------------------------------------------------------------------


def test_the_shipped_evidence_file_parses_and_validates(shipped):
    assert evidence.validate(shipped_raw()) == []
    assert list(shipped.columns[: len(evidence.COLUMNS)]) == list(evidence.COLUMNS)
    assert shipped["row_id"].is_unique
    assert shipped["estimate"].dtype == float and shipped["controlled"].dtype == bool


def test_every_row_names_its_source_and_where_in_the_source_the_number_was_found(shipped):
    assert (shipped["source_url"].str.len() > 0).all()
    assert (shipped["source_location"].str.len() > 0).all()


def test_a_row_without_a_source_is_refused_with_its_line_row_and_column(tmp_path):
    path = edited_copy(tmp_path, "zang2022_placebo", source_url="")
    with pytest.raises(EvidenceError) as caught:
        evidence.load(path)
    line = shipped_raw().index[shipped_raw()["row_id"] == "zang2022_placebo"][0] + 2
    assert str(caught.value) == f"evidence.csv line {line} (zang2022_placebo), column source_url: is empty (every row needs it)"


def test_every_citation_key_resolves_in_the_books_bibliographies(shipped):
    assert evidence.missing_citations(shipped, BIBFILES) == []


def test_an_unknown_citation_key_is_reported(shipped):
    broken = shipped.assign(citation_key=shipped["citation_key"].where(shipped["row_id"] != "lin2020_t2dm", "nobody1999"))
    assert evidence.missing_citations(broken, BIBFILES) == [
        "row lin2020_t2dm: citation key 'nobody1999' is not in the bibliography"]


def test_the_evidence_bibliography_repeats_no_entry_of_references_bib():
    main, extra = (evidence.citation_keys([bib]) for bib in BIBFILES)
    assert extra, "references-evidence.bib has no entries"
    assert main & extra == set()


def test_every_source_of_the_rtm_anchors_resolves_in_the_bibliographies(shipped):
    cited = {k for keys in evidence.rtm_anchors(shipped).citations.values() for k in keys.split(",")}
    assert cited <= evidence.citation_keys(BIBFILES)


def test_the_data_dictionary_documents_every_column_flag_measure_arm_and_design():
    text = DICTIONARY.read_text(encoding="utf-8")
    for vocabulary in (evidence.COLUMNS, evidence.FLAGS, evidence.MEASURES, evidence.ARMS, evidence.DESIGNS):
        undocumented = [name for name in vocabulary if f"`{name}`" not in text]
        assert undocumented == []


def test_numbers_are_kept_as_published_with_their_trailing_zeros(shipped):
    lian = shipped.set_index("row_id").loc["lian2022_msc"]
    # Lian et al. 2022, abstract: median 7.80 (7.525-8.675) -> 7.15 (6.600-7.925).
    assert (lian["baseline_value_text"], lian["followup_spread"]) == ("7.80", "6.600-7.925")
    assert lian["baseline_value"] == 7.8 and lian["followup_value_text"] == "7.15"


def test_missing_numbers_stay_missing(shipped):
    # Skyler et al. 2015: the within-arm change of the placebo arm is not in the accessible text.
    skyler = shipped.set_index("row_id").loc["skyler2015_placebo"]
    assert math.isnan(skyler["estimate"]) and math.isnan(skyler["followup_value"])
    assert skyler["estimate_text"] == ""


# --------------------------------------------------------------------------------------
# Validation: one line per problem, naming line, row and column
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cells, message",
    [
        ({"estimate": "about -0.5"}, "column estimate: 'about -0.5' is not a number"),
        ({"n": "4.5"}, "column n: '4.5' is not a whole number"),
        ({"headline": "yes"}, "column headline: 'yes' must be true or false"),
        ({"flags": "dubious"}, "column flags: unknown flag 'dubious'"),
        ({"measure": "hba1c_change"}, "column measure: 'hba1c_change' is not one of"),
        ({"arm": "control"}, "column arm: 'control' is not one of"),
        ({"ci_low": "-0.1", "ci_high": "-0.9"}, "column ci_low: -0.1 is above ci_high -0.9"),
        ({"ci_low": "-0.9", "ci_high": "-0.7"}, "column estimate: -0.5 lies outside its confidence interval"),
        ({"ci_low": "-0.9"}, "column ci_high: a confidence interval needs both ends"),
        ({"spread_type": "SD"}, "column spread: spread_type is SD but spread is empty"),
        ({"sign_convention": "positive = fell"}, "sign_reversed_in_source goes with sign_convention"),
        ({"measure": "smd"}, "standardised_not_percent goes with measure smd"),
        ({"controlled": "true"}, "column controlled: is true exactly for the arms"),
        ({"label": "x" * 61}, "column label: is 61 characters"),
    ],
)
def test_a_bad_cell_is_reported_with_its_line_row_and_column(tmp_path, cells, message):
    path = write_rows(tmp_path, [row(), row(row_id="bad_row", **cells)])
    with pytest.raises(EvidenceError) as caught:
        evidence.load(path)
    problems = caught.value.problems
    assert any(p.startswith("small.csv line 3 (") and message in p for p in problems), problems


def test_an_evidence_error_raised_in_another_process_keeps_its_lines(tmp_path):
    # The analysis runs in a process of its own: its errors come back pickled.
    import pickle

    error = EvidenceError(["e.csv line 2 (a), column x: bad", "e.csv line 3 (b), column y: bad"])
    assert pickle.loads(pickle.dumps(error)).problems == error.problems


def test_outside_text_in_an_evidence_problem_is_shown_not_interpreted(tmp_path):
    path = write_rows(tmp_path, [row(row_id="bad\x1b[2Jid\nx")])
    with pytest.raises(EvidenceError) as caught:
        evidence.load(path)
    assert not any("\x1b" in p or "\n" in p for p in caught.value.problems), caught.value.problems


def test_a_row_id_must_be_lower_case_with_underscores(tmp_path):
    with pytest.raises(EvidenceError, match=r"line 2 \(Trial Placebo\), column row_id: 'Trial Placebo' must be lower case"):
        evidence.load(write_rows(tmp_path, [row(row_id="Trial Placebo")]))


def test_a_small_valid_table_loads_with_typed_columns(tmp_path):
    loaded = evidence.load(write_rows(tmp_path, [row(n="12", year="2020")]))
    assert loaded.loc[0, "estimate"] == -0.5 and loaded.loc[0, "n"] == 12 and loaded.loc[0, "headline"] is np.True_


def test_a_repeated_row_id_is_refused(tmp_path):
    with pytest.raises(EvidenceError, match=r"line 3 \(trial_placebo\), column row_id: 'trial_placebo' repeats line 2"):
        evidence.load(write_rows(tmp_path, [row(), row()]))


def test_a_missing_column_is_refused_by_name(tmp_path):
    path = tmp_path / "e.csv"
    shipped_raw().drop(columns=["source_location"]).to_csv(path, index=False)
    with pytest.raises(EvidenceError, match="e.csv: missing column\\(s\\): source_location"):
        evidence.load(path)


def test_a_stated_change_that_disagrees_with_its_means_must_be_flagged(tmp_path):
    path = edited_copy(tmp_path, "zang2022_msc", flags="abstract_only;secondary_detail_conflict")
    with pytest.raises(EvidenceError, match=r"\(zang2022_msc\), column flags: the stated change -1.31 differs .* = -1.50"):
        evidence.load(path)


def test_the_disagreement_flag_is_refused_where_change_and_means_agree(tmp_path):
    # Matsuoka 2025: -0.79 is exactly 6.7 - 7.49.
    path = edited_copy(tmp_path, "matsuoka2025_overall",
                       flags="derived_not_published;abstract_only;reported_change_differs_from_means")
    with pytest.raises(EvidenceError, match="set but the stated change agrees with the means"):
        evidence.load(path)


@pytest.mark.parametrize("stated, must_flag", [("-0.75", False), ("-0.70", True)])
def test_only_a_gap_larger_than_rounding_counts_as_a_disagreement(tmp_path, stated, must_flag):
    # Means 7.49 and 6.7 differ by -0.79; rounding of 7.49 (+-0.005), 6.7 (+-0.05) and a
    # two-decimal change (+-0.005) explains up to 0.06: -0.75 is within it, -0.70 is not.
    levels = dict(level_statistic="mean", baseline_value="7.49", followup_value="6.7", estimate=stated)
    problems = evidence.validate(pd.read_csv(write_rows(tmp_path, [row(**levels)]), dtype=str, keep_default_na=False))
    assert any("add reported_change_differs_from_means" in p for p in problems) == must_flag


def test_medians_are_never_compared_as_a_change(tmp_path):
    levels = dict(level_statistic="median (IQR)", baseline_value="6.9", followup_value="7.1", estimate="-0.5")
    assert evidence.validate(pd.read_csv(write_rows(tmp_path, [row(**levels)]), dtype=str, keep_default_na=False)) == []


# --------------------------------------------------------------------------------------
# Regression-to-the-mean anchors (a contract with the regression-to-the-mean chapter)
# --------------------------------------------------------------------------------------


def test_the_rtm_anchors_are_the_published_values(shipped):
    anchors = evidence.rtm_anchors(shipped)
    # Miyazawa 2022 (2018 values): 7.1 % +/- 1.1; Gough 2023: median within-subject CV 0.083 in T2DM.
    assert (anchors.population_mean_percent, anchors.population_sd_percent, anchors.within_person_cv) == (7.1, 1.1, 0.083)
    assert anchors.within_person_sd_percent == pytest.approx(0.083 * 7.1)
    assert anchors.reliability == pytest.approx(1 - (0.083 * 7.1) ** 2 / 1.1**2)
    assert anchors.citations == {
        "population_mean_percent": "miyazawa2022", "population_sd_percent": "miyazawa2022",
        "within_person_cv": "gough2023", "within_person_sd_percent": "gough2023,miyazawa2022",
        "reliability": "gough2023,miyazawa2022"}
    assert all(isinstance(getattr(anchors, f), float) for f in
               ("population_mean_percent", "population_sd_percent", "within_person_cv",
                "within_person_sd_percent", "reliability"))


def test_the_rtm_anchors_are_frozen(shipped):
    with pytest.raises(AttributeError):
        evidence.rtm_anchors(shipped).reliability = 1.0


def test_the_reliability_is_the_test_retest_correlation_of_a_population_built_from_the_anchors(tmp_path):
    # Independent check by simulation: true values with SD sqrt(1.0**2 - 0.7**2), two measurements
    # each adding within-person noise with SD 0.1 * 7.0 = 0.7; their correlation is the reliability.
    anchors = evidence.rtm_anchors(evidence.load(write_rows(tmp_path, anchors_rows())))
    rng = np.random.default_rng(20250611)
    true = rng.normal(7.0, math.sqrt(1.0 - 0.7**2), 400_000)
    first, second = (true + rng.normal(0, 0.7, true.size) for _ in range(2))
    assert anchors.reliability == pytest.approx(0.51)
    assert np.corrcoef(first, second)[0, 1] == pytest.approx(anchors.reliability, abs=0.005)
    assert math.sqrt(np.var(first)) == pytest.approx(anchors.population_sd_percent, abs=0.005)


def test_a_missing_anchor_is_an_error_that_names_it(tmp_path):
    path = edited_copy(tmp_path, "gough2023_cv_t2dm", rtm_anchor="false")
    with pytest.raises(EvidenceError, match="one rtm_anchor row with measure within_person_cv, found 0"):
        evidence.rtm_anchors(evidence.load(path))


def test_two_anchors_for_one_measure_are_refused(tmp_path):
    path = edited_copy(tmp_path, "miyazawa2022_mean_2000", rtm_anchor="true")
    with pytest.raises(EvidenceError, match="more than one rtm_anchor row for population_mean_percent"):
        evidence.load(path)


def test_anchors_whose_within_person_sd_exceeds_the_population_sd_are_refused(tmp_path):
    rows = anchors_rows()
    rows[2]["estimate"] = "0.2"  # 0.2 * 7.0 = 1.4 > 1.0
    with pytest.raises(EvidenceError, match="is not below the population SD"):
        evidence.rtm_anchors(evidence.load(write_rows(tmp_path, rows)))

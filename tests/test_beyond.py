"""Tests of livingpaper.beyond: the results.json sections beyond the paper, and the text.

The statistics themselves are tested against independent results in test_sensitivity,
test_safety, test_power and test_consistency; here: the contract (keys, estimable/reason,
plain JSON), that the anchors reach the analyses, that the reconstructed cohort gives the
paper's safety figure, and that small or degenerate cohorts degrade into words.
"""
from __future__ import annotations

import json
import types

import pytest

from conftest import cohort_frame, set_cell, write_csv
from livingpaper import analysis, beyond, dataset, paths

pytestmark = pytest.mark.filterwarnings("error")

REQUIRED = {"safety", "regression_to_mean", "ancova", "bootstrap", "dose_regression", "followup", "power",
            "published_consistency", "source_comparison"}

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
    return cohort, beyond.analyse(cohort, analysis.Parameters(), ANCHORS)


def load(tmp_path, frame):
    return dataset.load(write_csv(tmp_path, frame))


def test_sections_hold_every_required_key_with_estimable_and_reason(reconstructed):
    _, result = reconstructed
    sections = result.sections()
    assert REQUIRED <= set(sections)
    for name, section in sections.items():
        assert isinstance(section["estimable"], bool), name
        assert section["reason"] is None or isinstance(section["reason"], str), name
        assert all(isinstance(v, (int, float, bool, str, type(None))) for v in section.values()), name
    json.dumps(sections, allow_nan=False)


def test_sections_entry_point_equals_the_analysis_and_is_deterministic(reconstructed):
    cohort, result = reconstructed
    assert beyond.sections(cohort, analysis.Parameters(), ANCHORS) == result.sections()


def test_reconstructed_cohort_has_no_serious_event_in_61_patients(reconstructed):
    _, result = reconstructed
    safety = result.sections()["safety"]
    assert (safety["n"], safety["events"], safety["rate"]) == (61, 0, 0.0)
    assert safety["upper95"] == pytest.approx(1 - 0.025 ** (1 / 61))


def test_anchors_reach_the_regression_to_the_mean_and_the_ancova(reconstructed):
    _, result = reconstructed
    s = result.sections()
    assert s["regression_to_mean"]["group"] == "severe"
    assert s["regression_to_mean"]["reliability"] == pytest.approx(ANCHORS.reliability)
    assert s["regression_to_mean"]["population_mean"] == 7.1
    assert s["ancova"]["centre"] == 7.1
    assert s["power"]["reliability"] == pytest.approx(ANCHORS.reliability)
    assert s["power"]["rtm_adjusted_reduction"] == pytest.approx(s["regression_to_mean_overall"]["residual_reduction"])


def test_headline_sections_are_the_documented_populations(reconstructed):
    cohort, result = reconstructed
    s = result.sections()
    overall = analysis.paired(cohort, "overall", analysis.Parameters())
    assert s["power"]["sd_change"] == pytest.approx(overall.sd_reduction)
    assert s["power"]["observed_reduction"] == pytest.approx(overall.mean_reduction)
    assert s["bootstrap"]["group"] == "overall" and s["bootstrap_severe"]["group"] == "severe"
    assert s["power"]["group"] == "overall" and s["power_severe"]["group"] == "severe"
    assert s["bootstrap"]["n"] == 61


def test_anchor_note_cites_the_sources_given_by_the_anchors():
    text = beyond.anchors_note(ANCHORS).data
    assert "{cite:p}`gough2023`" in text and "{cite:p}`miyazawa2022`" in text
    assert "0.71" in text


def test_chapter_text_of_the_reconstructed_cohort_has_no_missing_numbers(reconstructed):
    cohort, result = reconstructed
    texts = [beyond.rtm_headline(result.rtm["severe"]).data, beyond.rtm_table(result.rtm),
             beyond.ancova_headline(result.ancova).data, beyond.ancova_table(result.ancova),
             beyond.robust_headline(result.robust).data, beyond.robust_table(result.robust),
             beyond.dose_headline(result.dose_regression).data, beyond.followup_headline(result.followup).data,
             beyond.source_headline(result.source_comparison).data, beyond.source_table(result.source_comparison),
             beyond.safety_headline(result.safety).data, beyond.trial_headline(result.trials).data,
             beyond.trial_table(result.trials), beyond.consistency_headline(result.consistency).data]
    for text in texts:
        text = text.replace("None of the checks", "")
        assert "None" not in text and "nan" not in text


def test_curves_for_the_figures(reconstructed):
    cohort, result = reconstructed
    rtm = beyond.rtm_curve(cohort, analysis.Parameters(), ANCHORS)
    assert set(rtm["group"]) == {"overall", "moderate", "severe"}
    curve = beyond.power_curve(result)
    assert curve["scenario"].nunique() == 4


def test_a_ten_patient_cohort_runs_every_analysis(tmp_path):
    cohort = load(tmp_path, cohort_frame())
    s = beyond.sections(cohort, analysis.Parameters(), ANCHORS)
    assert s["safety"]["events"] == 1 and s["safety"]["n"] == 10
    assert s["regression_to_mean"]["n"] == 4  # severe: P06 to P09
    assert s["source_comparison"]["n_groups_compared"] == 1 and not s["source_comparison"]["estimable"]
    assert "fewer than two MSC sources" in s["source_comparison"]["reason"]


def test_a_one_patient_cohort_degrades_into_reasons_without_warnings(tmp_path):
    cohort = load(tmp_path, cohort_frame().iloc[[6]])  # P07, severe
    result = beyond.analyse(cohort, analysis.Parameters(), ANCHORS)
    s = result.sections()
    for name in ("regression_to_mean", "ancova", "bootstrap", "dose_regression", "followup",
                 "source_comparison", "power"):
        assert not s[name]["estimable"] and s[name]["reason"], name
    assert s["safety"]["estimable"]  # one patient, no event: the bound is still exact
    assert not s["regression_to_mean_moderate"]["estimable"]
    for text in (beyond.rtm_headline(result.rtm["moderate"]).data, beyond.ancova_headline(result.ancova).data,
                 beyond.robust_headline(result.robust).data, beyond.trial_headline(result.trials).data,
                 beyond.dose_headline(result.dose_regression).data,
                 beyond.source_headline(result.source_comparison).data):
        assert any(words in text.lower() for words in ("not estimable", "cannot", "no interval")), text
        assert "fewer than" in text or "no patient" in text or "standard deviation" in text, text
    json.dumps(s, allow_nan=False)
    assert beyond.power_curve(result).empty


def test_a_file_without_adverse_events_says_so(tmp_path):
    cohort = load(tmp_path, cohort_frame().drop(columns="serious_adverse_event"))
    s = beyond.sections(cohort, analysis.Parameters(), ANCHORS)
    assert not s["safety"]["estimable"] and "does not record" in s["safety"]["reason"]
    assert "not estimable" in beyond.safety_headline(beyond.analyse(cohort, analysis.Parameters(), ANCHORS).safety).data


def test_everyone_unchanged_is_not_estimable_in_words(tmp_path):
    frame = cohort_frame()
    for pid, base in zip(frame["patient_id"], frame["hba1c_baseline"]):
        frame = set_cell(frame, pid, "hba1c_post", base)
    s = beyond.sections(load(tmp_path, frame), analysis.Parameters(), ANCHORS)
    assert not s["bootstrap"]["estimable"] and "same amount" in s["bootstrap"]["reason"]
    assert not s["power"]["estimable"]

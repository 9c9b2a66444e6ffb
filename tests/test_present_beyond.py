"""Tests for livingpaper.present.beyond: the text of the chapter beyond the paper.

The statistics themselves are tested against independent results in test_sensitivity,
test_safety, test_power and test_consistency; here: the contract (keys, estimable/reason,
plain JSON), that the anchors reach the analyses, that the reconstructed cohort gives the
paper's safety figure, and that small or degenerate cohorts degrade into words.
"""
from __future__ import annotations

import json

import pytest
from conftest import ANCHORS, cohort_frame, write_csv
from livingpaper import parameters
from livingpaper.inputs import cohort as dataset
from livingpaper.formatting import bounds, round_up
from livingpaper.present import beyond
from livingpaper.results import beyond as results_beyond
from livingpaper.results import populations

pytestmark = pytest.mark.filterwarnings("error")


def load(tmp_path, frame):
    return dataset.load(write_csv(tmp_path, frame))


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


def test_a_one_patient_cohort_degrades_into_reasons_without_warnings(tmp_path):
    cohort = load(tmp_path, cohort_frame().iloc[[6]])  # P07, severe
    result = results_beyond.analyse(cohort, parameters.Parameters(), ANCHORS)
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
    assert results_beyond.power_curve(result).empty


def test_the_caveat_is_said_in_place_under_its_result(caveated, reconstructed):
    _, result = caveated
    shown = beyond.source_headline(result.source_comparison).data
    assert "Made by the reconstruction" in shown and "chance by construction" in shown
    assert ":class: caution" in shown
    for text in (beyond.followup_headline(result.followup).data, beyond.dose_headline(result.dose_regression).data,
                 beyond.ancova_headline(result.ancova).data, beyond.change_headline(result.change_on_baseline).data):
        assert "Made by the reconstruction" in text
    _, plain_result = reconstructed
    assert "reconstruction" not in beyond.source_headline(plain_result.source_comparison).data


def test_the_chapter_says_how_many_p_values_it_reports_and_tables_show_the_holm_p(reconstructed):
    _, result = reconstructed
    text = beyond.multiplicity_headline(result).data
    assert f"{result.multiplicity.n_tests} p-values" in text and "Holm" in text
    table = beyond.multiplicity_table(result)
    assert table.count("\n") == 1 + len(results_beyond.P_VALUE_FAMILY)
    assert "Holm-adjusted p" in beyond.rtm_table(result.rtm)


def test_ancova_and_regression_to_the_mean_agree_at_the_fitted_slope(reconstructed):
    cohort, result = reconstructed
    s = result.sections()
    slope = s["ancova"]["slope"]
    overall = populations.population(cohort, "overall", parameters.Parameters())
    from livingpaper.stats import rtm
    assert rtm.regression_to_mean(overall, 7.1, slope).residual_reduction == pytest.approx(
        s["ancova"]["adjusted_reduction"], rel=1e-10)
    # The severe group with r read off the slope, by hand: observed - (1 - b)(mean baseline - 7.1).
    severe = s["regression_to_mean"]
    at_slope = s["regression_to_mean_at_ancova_slope"]
    assert at_slope["reliability"] == pytest.approx(slope)
    assert at_slope["residual_reduction"] == pytest.approx(
        severe["observed_mean_reduction"] - (1 - slope) * (severe["baseline_mean"] - 7.1), rel=1e-10)
    text = beyond.rtm_ancova_agreement(result).data
    assert f"{at_slope['residual_reduction']:.2f} percentage points" in text and "includes zero" in text
    assert "Two readings" in text


def test_the_adjusted_fall_is_called_a_prediction_at_the_population_mean_not_a_typical_patient(reconstructed):
    _, result = reconstructed
    text = beyond.ancova_headline(result.ancova).data
    assert "predicted fall at a baseline of 7.1 %, the population mean" in text
    assert "not the fall of a typical patient" in text
    assert f"{result.ancova.baseline_mean:.2f} %" in text


def test_the_severe_headline_puts_the_flip_correlation_beside_the_p_and_the_own_baseline_reading(reconstructed):
    _, result = reconstructed
    res = result.rtm["severe"]
    text = beyond.rtm_headline(res).data
    assert f"**{res.reliability_threshold:.2f}**" in text
    assert text.index(f"**{res.reliability_threshold:.2f}**") < text.index("p = 0.0410")
    assert "Holm-adjusted" in text
    assert f"r is **{res.reliability_own_baseline:.2f}**" in text
    # By hand: within-person SD at the severe mean baseline = CV x mean baseline.
    assert res.within_person_sd_own_baseline == pytest.approx(0.083 * res.baseline_mean)
    assert res.reliability_own_baseline < res.reliability_threshold < res.reliability
    assert "includes zero" in text


def test_the_change_on_baseline_is_reported_as_its_excess_over_regression_to_the_mean(reconstructed):
    _, result = reconstructed
    res = result.change_on_baseline
    assert res.rtm_expected_slope == pytest.approx(1 - ANCHORS.reliability)
    assert res.excess == pytest.approx(res.slope - (1 - ANCHORS.reliability))
    text = beyond.change_headline(res).data
    assert f"the excess is **{res.excess:.2f} points**" in text
    dose_text = beyond.dose_headline(result.dose_regression).data
    assert f"the excess is {result.dose_regression.baseline_excess:.2f}" in dose_text


def test_the_chapter_says_which_p_values_the_family_holds_including_the_papers_own_claims(reconstructed):
    _, result = reconstructed
    text = beyond.multiplicity_headline(result).data
    assert "13 test questions of its own" in text
    assert ("3 Wilcoxon signed-rank tests of the fall in all patients, the moderate group and the severe group "
            "test the paper's own claims again") in text
    assert "paired t-tests" in text and "not among them" in text


@pytest.mark.parametrize(("sections", "shown"), [
    # p below 0.0001 is written as every table writes it, never "5.8e-07".
    ({"severe": {"n": 13, "sd_reduction": 1.8912}, "moderate": {"sd_reduction": 0.6549}, "overall": {"p": 5.8e-7}},
     [["13", "✓ within"], ["1.89", "✓ within"], ["0.65", "✓ within"], ["< 0.0001", "✓ within"]]),
    ({"severe": {"n": 3, "sd_reduction": None}, "moderate": {"sd_reduction": 0.26}, "overall": {"p": 0.01984}},
     [["3", "✗ outside"], ["not estimable", "–"], ["0.26", "✓ within"], ["0.0198", "✗ outside"]]),
])
def test_the_build_comparison_table_writes_this_builds_numbers_by_the_books_rules(sections, shown):
    from conftest import table
    from livingpaper.results import document
    from livingpaper.stats import consistency

    summary = consistency.audit()
    frame = consistency.build_comparison(summary, sections)
    # As a chapter reads it: results.json, then implied_tables.
    read_back = document.implied_tables({"published": {"implied_by_size": [], "checks": [],
                                                       "this_build": json.loads(json.dumps(frame.to_dict("records")))}})[2]
    for rows in (table(beyond.build_comparison_table(frame)), table(beyond.build_comparison_table(read_back))):
        assert [[r[2], r[3]] for r in rows[1:]] == shown
        # The implied ranges widened to the precision shown, as bounds() writes them.
        assert rows[1][1] == f"{summary.n_severe_min} to {summary.n_severe_max}"
        assert rows[2][1] == bounds(summary.sd_reduction_severe_min, summary.sd_reduction_severe_max)
        assert rows[3][1] == f"at most {round_up(summary.sd_reduction_moderate_max, 2):.2f}"
        assert rows[4][1].startswith("at most ")

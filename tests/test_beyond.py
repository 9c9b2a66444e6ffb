"""Tests of livingpaper.present.beyond: the results.json sections beyond the paper, and the text.

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
from livingpaper import parameters, paths
from livingpaper.inputs import cohort as dataset
from livingpaper.present import beyond
from livingpaper.results import beyond as results_beyond
from livingpaper.results import document as results_document
from livingpaper.results import populations

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
    return cohort, results_beyond.analyse(cohort, parameters.Parameters(), ANCHORS)


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
    assert results_beyond.sections(cohort, parameters.Parameters(), ANCHORS) == result.sections()


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
    overall = results_document.paired(cohort, "overall", parameters.Parameters())
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
    rtm = results_beyond.rtm_curve(cohort, parameters.Parameters(), ANCHORS)
    assert set(rtm["group"]) == {"overall", "moderate", "severe"}
    curve = results_beyond.power_curve(result)
    assert curve["scenario"].nunique() == 4


def test_a_ten_patient_cohort_runs_every_analysis(tmp_path):
    cohort = load(tmp_path, cohort_frame())
    s = results_beyond.sections(cohort, parameters.Parameters(), ANCHORS)
    assert s["safety"]["events"] == 1 and s["safety"]["n"] == 10
    assert s["regression_to_mean"]["n"] == 4  # severe: P06 to P09
    assert s["source_comparison"]["n_groups_compared"] == 1 and not s["source_comparison"]["estimable"]
    assert "fewer than two MSC sources" in s["source_comparison"]["reason"]


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


def test_a_file_without_adverse_events_says_so(tmp_path):
    cohort = load(tmp_path, cohort_frame().drop(columns="serious_adverse_event"))
    s = results_beyond.sections(cohort, parameters.Parameters(), ANCHORS)
    assert not s["safety"]["estimable"] and "does not record" in s["safety"]["reason"]
    assert "not estimable" in beyond.safety_headline(results_beyond.analyse(cohort, parameters.Parameters(), ANCHORS).safety).data


def test_everyone_unchanged_is_not_estimable_in_words(tmp_path):
    frame = cohort_frame()
    for pid, base in zip(frame["patient_id"], frame["hba1c_baseline"]):
        frame = set_cell(frame, pid, "hba1c_post", base)
    s = results_beyond.sections(load(tmp_path, frame), parameters.Parameters(), ANCHORS)
    assert not s["bootstrap"]["estimable"] and "same amount" in s["bootstrap"]["reason"]
    assert not s["power"]["estimable"]


# --- issue 12: what a referee corrects -----------------------------------------------------

#: Sections whose result on the reconstructed cohort reflects a choice of reconstruction.py.
CHOSEN_BY_THE_RECONSTRUCTION = {
    "source_comparison", "followup", "dose_regression", "ancova", "change_on_baseline",
    "regression_to_mean", "regression_to_mean_moderate", "regression_to_mean_overall",
    "regression_to_mean_at_ancova_slope", "bootstrap", "bootstrap_moderate", "bootstrap_severe",
    "power", "power_severe", "multiplicity",
}


@pytest.fixture(scope="module")
def caveated():
    cohort = dataset.load(paths.DEFAULT_COHORT)
    return cohort, results_beyond.analyse(cohort, parameters.Parameters(), ANCHORS, reconstructed=True)


def test_sections_reflecting_a_choice_of_the_reconstruction_carry_a_caveat(caveated):
    _, result = caveated
    sections = result.sections()
    for name in CHOSEN_BY_THE_RECONSTRUCTION:
        assert isinstance(sections[name]["reconstruction_caveat"], str), name
        assert sections[name]["reconstruction_caveat"].startswith("Made by the reconstruction"), name
    assert "at random" in sections["source_comparison"]["reconstruction_caveat"]
    assert "random order" in sections["followup"]["reconstruction_caveat"]
    assert "0.44" in sections["ancova"]["reconstruction_caveat"]
    assert "0.20" in sections["dose_regression"]["reconstruction_caveat"]
    # The safety count is the paper's; the audit of the abstract uses no data.
    assert sections["safety"]["reconstruction_caveat"] is None
    assert sections["published_consistency"]["reconstruction_caveat"] is None


def test_every_section_has_the_caveat_key_and_it_is_null_on_any_other_data(reconstructed, tmp_path):
    _, plain_result = reconstructed  # the same cohort, not declared reconstructed
    for name, section in plain_result.sections().items():
        assert "reconstruction_caveat" in section and section["reconstruction_caveat"] is None, name
    other = results_beyond.sections(load(tmp_path, cohort_frame()), parameters.Parameters(), ANCHORS)
    assert all(s["reconstruction_caveat"] is None for s in other.values())


def test_the_results_document_carries_the_caveats_of_the_paper_sections_too():
    cohort = dataset.load(paths.DEFAULT_COHORT)
    document = results_document.results(cohort, parameters.Parameters(), reconstructed=True)["sections"]
    for name in ("dose_correlation", "dose_comparison", "dose_high", "dose_low", "severe", "moderate", "overall"):
        assert document[name]["reconstruction_caveat"], name
    assert "0.20" in document["dose_correlation"]["reconstruction_caveat"]
    plain_document = results_document.results(cohort, parameters.Parameters(), reconstructed=False)["sections"]
    assert all(s["reconstruction_caveat"] is None for s in plain_document.values())
    # Loading a section back gives the page the same caveat.
    assert results_document.section_result({"sections": document}, "dose_correlation").reconstruction_caveat


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


def holm_by_hand(ps):
    """Holm 1979, step-down, written out: the k-th smallest of m p-values times m - k + 1,
    made non-decreasing, capped at 1."""
    order = sorted(range(len(ps)), key=lambda i: ps[i])
    adjusted, running = [0.0] * len(ps), 0.0
    for k, i in enumerate(order):
        running = max(running, min(1.0, (len(ps) - k) * ps[i]))
        adjusted[i] = running
    return adjusted


def test_each_p_of_the_family_has_its_holm_adjusted_p_beside_it(reconstructed):
    _, result = reconstructed
    sections = result.sections()
    members = [(s, f) for s, f, _ in results_beyond.P_VALUE_FAMILY if sections[s][f] is not None]
    expected = holm_by_hand([sections[s][f] for s, f in members])
    for (s, f), holm in zip(members, expected):
        assert sections[s][f"{f}_holm"] == pytest.approx(holm, rel=1e-12), (s, f)
        assert sections[s][f"{f}_holm"] >= sections[s][f]
    m = sections["multiplicity"]
    assert m["n_tests"] == len(members) >= 15
    assert m["n_below_alpha"] == sum(sections[s][f] < 0.05 for s, f in members)
    assert m["n_below_alpha_holm"] == sum(h < 0.05 for h in expected)
    # The severe group's 0.041 is not a discovery among sixteen tests.
    assert sections["regression_to_mean"]["residual_p"] < 0.05 < sections["regression_to_mean"]["residual_p_holm"]


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
    from livingpaper.stats import rtm as sensitivity
    assert sensitivity.regression_to_mean(overall, 7.1, slope).residual_reduction == pytest.approx(
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


def test_a_three_patient_severe_group_has_t_and_rank_intervals_but_no_bootstrap(tmp_path):
    frame = cohort_frame()
    frame = frame[~frame["patient_id"].isin(["P06"])]  # severe: P07, P08, P09
    s = results_beyond.sections(load(tmp_path, frame), parameters.Parameters(), ANCHORS)
    severe = s["bootstrap_severe"]
    assert severe["n"] == 3 and severe["estimable"] and severe["t_ci95_low"] is not None
    assert severe["bootstrap_estimable"] is False and severe["bootstrap_ci95_low"] is None
    assert "fewer than 10 patients" in severe["bootstrap_reason"]
    table = beyond.robust_table(results_beyond.analyse(load(tmp_path, frame), parameters.Parameters(), ANCHORS).robust)
    assert "not reported" in table

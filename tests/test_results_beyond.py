"""Tests for livingpaper.results.beyond: the results.json sections beyond the paper.

The statistics themselves are tested against independent results in test_sensitivity,
test_safety, test_power and test_consistency; here: the contract (keys, estimable/reason,
plain JSON), that the anchors reach the analyses, that the reconstructed cohort gives the
paper's safety figure, and that small or degenerate cohorts degrade into words.
"""
from __future__ import annotations

import json

import pytest
from conftest import ANCHORS, cohort_frame, set_cell, write_csv
from livingpaper import parameters, paths
from livingpaper.inputs import cohort as dataset
from livingpaper.present import beyond
from livingpaper.results import beyond as results_beyond
from livingpaper.results import document as results_document

pytestmark = pytest.mark.filterwarnings("error")

REQUIRED = {"safety", "regression_to_mean", "ancova", "bootstrap", "dose_regression", "followup", "power",
            "published_consistency", "source_comparison"}


def load(tmp_path, frame):
    return dataset.load(write_csv(tmp_path, frame))


# --- issue 12: what a referee corrects -----------------------------------------------------

#: Sections whose result on the reconstructed cohort reflects a choice of reconstruction.py.
CHOSEN_BY_THE_RECONSTRUCTION = {
    "source_comparison", "followup", "dose_regression", "ancova", "change_on_baseline",
    "regression_to_mean", "regression_to_mean_moderate", "regression_to_mean_overall",
    "regression_to_mean_at_ancova_slope", "bootstrap", "bootstrap_moderate", "bootstrap_severe",
    "power", "power_severe", "multiplicity",
}


def holm_by_hand(ps):
    """Holm 1979, step-down, written out: the k-th smallest of m p-values times m - k + 1,
    made non-decreasing, capped at 1."""
    order = sorted(range(len(ps)), key=lambda i: ps[i])
    adjusted, running = [0.0] * len(ps), 0.0
    for k, i in enumerate(order):
        running = max(running, min(1.0, (len(ps) - k) * ps[i]))
        adjusted[i] = running
    return adjusted


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
    assert results_document.section({"sections": document}, "dose_correlation").reconstruction_caveat


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

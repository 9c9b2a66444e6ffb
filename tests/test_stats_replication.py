"""Tests for livingpaper.stats.replication: the replication criteria, on cohorts whose answer is known by hand.

Verdicts are checked on small cohorts whose answer can be worked out by hand: one whose
HbA1c falls like the paper's, one whose HbA1c did not fall, one of three patients, one with
no severe patient. The prediction interval is checked against a hand computation; the
paper's standard errors, d33, the small-telescopes p and the regression at the paper's
baseline against R (the call beside each assertion, R 4.2.2).
"""
from __future__ import annotations

import math

import pandas as pd
import pytest
from conftest import DID_NOT_FALL, LIKE_THE_PAPER, replicate
from livingpaper import paths
from livingpaper.inputs import cohort as dataset
from livingpaper.parameters import Parameters
from livingpaper.results import document
from livingpaper.stats import paired as stats
from livingpaper.stats import replication
from scipy import stats as st

Z = 1.959963984540054  # R: qnorm(0.975)
# What the abstract allows (the chapter "What the abstract implies"): 10 to 16 severe patients of 61.
FEASIBLE_SEVERE = range(10, 17)


# Three severe patients, each falling about 1.5 points, like the paper's severe group.
THREE_PATIENTS = [(8.5, 1.5), (9.0, 1.6), (8.8, 1.4)]
# Twelve moderate patients, none severe, falls that scatter widely around 0.30.
NO_SEVERE = [(6.8 + 0.1 * i, f) for i, f in enumerate([1.2, -0.6, 0.9, -0.4, 0.8, -0.2, 0.6, 0.1, 0.5, -0.5, 1.0, 0.2])]


# --------------------------------------------------------------------------- results.json and the build


REQUIRED = {"verdict", "published_estimate", "published_se_low", "published_se_high", "estimate", "ci95_low",
            "ci95_high", "p", "prediction_low", "prediction_high", "published_in_ci", "d33", "smaller_than_d33_p",
            "reason"}


# --------------------------------------------------------------------------- verdicts by hand


def test_a_cohort_that_falls_like_the_paper_is_consistent_on_every_paired_claim(tmp_path):
    found = replicate(tmp_path, LIKE_THE_PAPER)
    overall, moderate, severe = (found.claims[c] for c in ("overall", "moderate", "severe"))
    # By hand: overall mean (12 x 0.60 + 12 x 1.55) / 24 = 1.075; its SE is about 0.10, so the
    # widest interval is 0.735 - 1.96 sqrt(0.166^2 + 0.10^2) = 0.35 to 0.845 + 0.38 = 1.23.
    assert overall.estimate == pytest.approx(1.075)
    assert overall.prediction_low < 1.075 < overall.prediction_high
    assert moderate.estimate == pytest.approx(0.60) and severe.estimate == pytest.approx(1.55)
    assert [overall.verdict, moderate.verdict, severe.verdict] == ["consistent"] * 3
    assert severe.published_in_ci and moderate.published_in_ci
    assert not overall.published_in_ci  # 0.79 lies below this cohort's CI of 1.075: a criterion that can fail
    assert found.estimable and found.reason is None


def test_a_cohort_whose_hba1c_did_not_fall_is_inconsistent_below_the_prediction_interval(tmp_path):
    found = replicate(tmp_path, DID_NOT_FALL)
    for name in ("overall", "moderate", "severe"):
        claim = found.claims[name]
        # By hand: every mean change is 0, and every widest interval starts well above 0
        # (severe: 1.545 - 1.96 sqrt(0.546^2 + 0.114^2) = 0.45).
        assert claim.estimate == pytest.approx(0.0, abs=1e-12), name
        assert claim.prediction_low > 0.3, name
        assert claim.verdict == "inconsistent", name
        assert "below" in claim.reason and not claim.published_in_ci, name
        assert claim.difference_ci95_high < 0, name  # the difference excludes 0 exactly when outside
    # Small telescopes: t = 0, tested against the smallest d33 the abstract allows, not significant.
    # R: pt(0, 29, ncp = 0.19889378341 * sqrt(30))  (d33 of the paper's 61 patients)
    assert found.claims["overall"].smaller_than_d33_p == pytest.approx(0.137991825424, rel=1e-8)
    # R: pt(0, 9, ncp = 0.408146631734 * sqrt(10))  (d33 of 16 severe patients, the most the abstract allows)
    assert found.claims["severe"].smaller_than_d33_p == pytest.approx(0.098408549679, rel=1e-8)
    assert found.claims["severe"].smaller_than_d33 is False


def test_three_patients_get_no_verdict_however_clear_their_fall_is(tmp_path):
    found = replicate(tmp_path, THREE_PATIENTS)
    severe = found.claims["severe"]
    # A fall of 1.5 with p = 0.0015 on three patients would look "consistent", but three is too few.
    assert severe.p < 0.01 and severe.prediction_low < severe.estimate < severe.prediction_high
    assert severe.verdict == "not_assessable" and "Only 3 patients" in severe.reason
    assert f"at least {replication.MIN_PATIENTS}" in severe.reason
    assert {c.verdict for c in found.claims.values()} == {"not_assessable"}
    assert not found.estimable and found.reason


def test_an_empty_severe_group_is_not_assessable_while_the_scattered_others_are_inconclusive(tmp_path):
    found = replicate(tmp_path, NO_SEVERE)
    severe = found.claims["severe"]
    assert severe.n == 0 and severe.estimate is None and severe.prediction_low is None
    assert severe.verdict == "not_assessable" and "No patient" in severe.reason
    overall = found.claims["overall"]
    # By hand: mean 3.6 / 12 = 0.30, p = 0.12; widest interval 0.735 - 1.96 sqrt(0.166^2 + 0.180^2) = 0.26.
    assert overall.estimate == pytest.approx(0.30) and overall.p > 0.05
    assert overall.prediction_low == pytest.approx(0.735 - Z * math.hypot(overall.published_se_high, overall.se))
    assert overall.verdict == "inconclusive" and found.claims["moderate"].verdict == "inconclusive"
    assert found.case_mix.n_severe == 0 and found.case_mix.severe_share == 0


def test_the_dose_trend_is_not_assessable_because_the_paper_gives_no_estimate(tmp_path):
    dose = replicate(tmp_path, LIKE_THE_PAPER).claims["dose"]
    assert dose.verdict == "not_assessable" and dose.published_estimate is None and dose.prediction_low is None
    assert "only a direction" in dose.reason
    assert dose.estimate is not None and dose.p is not None  # this cohort's difference is still shown


def test_a_significant_change_against_the_papers_direction_is_inconsistent_even_inside_the_interval():
    # A paper estimate with a huge SE allows a fall of -0.5; HbA1c rising significantly still contradicts it.
    paper = replication.PaperClaim(estimable=True, reason=None, claim="overall", estimate=0.1, estimate_low=0.1,
                                   estimate_high=0.1, se_low=1.0, se_high=1.0, n_low=20, n_high=20, d33=0.5,
                                   d33_high=0.5)
    rising = stats.paired_reduction(pd.DataFrame({"hba1c_baseline": [7.0] * 50,
                                                  "hba1c_post": [7.4, 7.5, 7.6, 7.5, 7.5] * 10}))
    claim = replication.assess(paper, rising)
    assert claim.inside_prediction and claim.significant and not claim.same_direction
    assert claim.verdict == "inconsistent" and "opposite direction" in claim.reason


def test_groups_defined_with_other_thresholds_than_the_papers_are_not_assessable(tmp_path):
    found = replicate(tmp_path, LIKE_THE_PAPER, Parameters(severe_above=8.5))
    assert found.claims["severe"].verdict == "not_assessable" and "not the same population" in found.claims["severe"].reason
    assert found.claims["moderate"].verdict == "not_assessable"
    assert found.claims["overall"].verdict == "consistent"  # all patients are all patients, whatever the thresholds


def test_the_reconstructed_cohort_agrees_on_every_paired_claim_and_is_recorded_as_reconstructed():
    cohort = dataset.load(paths.DEFAULT_COHORT)
    params = Parameters()
    sections = {name: document.paired(cohort, name, params).to_dict() for name in ("overall", "moderate", "severe")}
    sections["dose_comparison"] = document.dose_comparison(cohort, params).to_dict()
    found = replication.replicate(sections, cohort.analysed, params, reconstructed=True)
    assert found.reconstructed is True
    assert found.verdicts() == {"overall": "consistent", "moderate": "consistent", "severe": "consistent",
                                "dose": "not_assessable"}


# --------------------------------------------------------------------------- the numbers


def test_prediction_interval_is_the_estimate_plus_minus_z_times_the_combined_standard_error():
    # By hand: sqrt(0.3^2 + 0.4^2) = 0.5, and 1.959964 x 0.5 = 0.979982.
    assert replication.prediction_interval(1.0, 1.0, 0.3, 0.4) == pytest.approx((0.020018007729973, 1.979981992270027),
                                                                                 abs=1e-12)
    # Over a rounding interval [0.9, 1.1] the lower end starts from 0.9 and the upper from 1.1.
    assert replication.prediction_interval(0.9, 1.1, 0.3, 0.4) == pytest.approx((0.9 - 0.979981992270027,
                                                                                 1.1 + 0.979981992270027), abs=1e-12)
    with pytest.raises(ValueError):
        replication.prediction_interval(1.1, 0.9, 0.3, 0.4)


def test_a_claims_interval_is_the_widest_over_the_rounding_interval_with_the_largest_paper_se():
    paper = replication.paper_claims()["severe"]
    cohort = stats.paired_reduction(pd.DataFrame({"hba1c_baseline": [9.0] * 12,
                                                  "hba1c_post": [7.4, 7.6, 7.5, 7.3, 7.7, 7.5] * 2}))
    claim = replication.assess(paper, cohort)
    se_cohort = cohort.sd_reduction / math.sqrt(12)
    half = Z * math.sqrt(0.546262201995 ** 2 + se_cohort ** 2)  # the paper's largest SE, pinned below
    assert (claim.prediction_low, claim.prediction_high) == pytest.approx((1.545 - half, 1.555 + half), abs=1e-9)
    assert (claim.difference_ci95_low, claim.difference_ci95_high) == pytest.approx(
        (cohort.mean_reduction - 1.555 - half, cohort.mean_reduction - 1.545 + half), abs=1e-9)


def test_the_papers_standard_errors_are_the_range_the_abstract_allows():
    claims = replication.paper_claims()
    severe, moderate, overall = claims["severe"], claims["moderate"], claims["overall"]
    # Largest severe SE: mean 1.555, p 0.01225, 16 patients.
    assert severe.se_high == pytest.approx(0.546262201995, rel=1e-10)  # R: 1.555 / qt(0.01225/2, 15, lower.tail=FALSE)
    # Smallest: mean 1.545, p 0.01215, 10 patients.
    assert severe.se_low == pytest.approx(0.493838578857, rel=1e-10)  # R: 1.545 / qt(0.01215/2, 9, lower.tail=FALSE)
    assert (severe.n_low, severe.n_high) == (10, 16) and (moderate.n_low, moderate.n_high) == (45, 51)
    # "p < 0.0000002" bounds the moderate SE from above only: mean 0.585 with 51 patients.
    assert moderate.se_high == pytest.approx(0.0970917641986, rel=1e-10)  # R: 0.585 / qt(1e-7, 50, lower.tail=FALSE)
    assert moderate.se_low == 0.0
    # Overall: at most the smaller of the bound from "p < 0.0001" with 61 patients ...
    p_bound = 0.202707645528  # R: 0.845 / qt(0.00005, 60, lower.tail=FALSE)
    # ... and the bound from the subgroup figures, recomputed here from the formulas.
    largest_sd = 0.0
    for n_sev in FEASIBLE_SEVERE:
        n_mod = 61 - n_sev
        for m_mod in (0.575, 0.585):
            for m_sev in (1.545, 1.555):
                for p_sev in (0.01215, 0.01225):
                    s_mod = m_mod * math.sqrt(n_mod) / st.t.isf(1e-7, n_mod - 1)
                    s_sev = m_sev * math.sqrt(n_sev) / st.t.isf(p_sev / 2, n_sev - 1)
                    grand = (n_mod * m_mod + n_sev * m_sev) / 61
                    ss = ((n_mod - 1) * s_mod ** 2 + (n_sev - 1) * s_sev ** 2
                          + n_mod * (m_mod - grand) ** 2 + n_sev * (m_sev - grand) ** 2)
                    largest_sd = max(largest_sd, math.sqrt(ss / 60))
    assert overall.se_high == pytest.approx(min(p_bound, largest_sd / math.sqrt(61)), rel=1e-9)
    assert overall.se_high < p_bound  # here the subgroup figures bound it more tightly
    assert 0 < overall.se_low < overall.se_high
    assert (overall.estimate, overall.estimate_low, overall.estimate_high) == pytest.approx((0.79, 0.735, 0.845))
    assert (overall.n_low, overall.n_high) == (61, 61)


def test_the_dose_trend_has_no_published_estimate_in_the_papers_claims():
    dose = replication.paper_claims()["dose"]
    assert not dose.estimable and dose.estimate is None and dose.se_high is None


def test_d33_is_the_effect_the_papers_t_test_had_a_third_of_a_chance_to_detect():
    # R: power.t.test(n = 61, power = 1/3, sig.level = 0.05, type = "one.sample", strict = TRUE, tol = 1e-12)$delta
    assert replication.d33(61) == pytest.approx(0.19889378341, rel=1e-9)
    # R: the same with n = 16, n = 10, n = 51
    assert replication.d33(16) == pytest.approx(0.408146631734, rel=1e-9)
    assert replication.d33(10) == pytest.approx(0.540479487845, rel=1e-9)
    assert replication.d33(51) == pytest.approx(0.218229352011, rel=1e-9)
    claims = replication.paper_claims()
    assert claims["overall"].d33 == claims["overall"].d33_high == pytest.approx(0.19889378341, rel=1e-9)
    assert claims["severe"].d33 == pytest.approx(0.408146631734, rel=1e-9)  # the smallest: 16 patients
    assert claims["severe"].d33_high == pytest.approx(0.540479487845, rel=1e-9)


def test_smaller_than_d33_is_the_noncentral_t_lower_tail():
    # R: pt(2.0, 19, ncp = 0.3 * sqrt(20))
    assert replication.smaller_than_p(2.0, 20, 0.3) == pytest.approx(0.726159980166, rel=1e-9)


def test_the_reduction_at_the_papers_baseline_matches_a_linear_model_in_r(cohort_df):
    # R: base <- c(6.2, 7.0, 7.5, 8.0, 6.8, 8.1, 9.4, 10.2, 8.6, 6.1)
    #    post <- c(5.9, 6.6, 7.0, 7.1, 6.9, 7.0, 7.6, 8.9, 8.4, 5.5); fit <- lm(I(base - post) ~ base)
    #    predict(fit, data.frame(base = 7.49), interval = "confidence", se.fit = TRUE); confint(fit)
    found = replication.at_paper_baseline(cohort_df, 7.49)
    assert found.reduction == pytest.approx(0.610197307763, rel=1e-9)
    assert found.se == pytest.approx(0.140770412857, rel=1e-9)
    assert (found.ci95_low, found.ci95_high) == pytest.approx((0.285580153602, 0.934814461925), rel=1e-9)
    assert found.slope == pytest.approx(0.299342307456, rel=1e-9)
    assert (found.slope_ci95_low, found.slope_ci95_high) == pytest.approx((0.0516006916691, 0.5470839232427), rel=1e-9)
    assert found.extrapolated is False


def test_the_reduction_at_the_papers_baseline_needs_three_patients_and_two_baselines():
    two = pd.DataFrame({"hba1c_baseline": [7.0, 8.0], "hba1c_post": [6.5, 7.0]})
    same = pd.DataFrame({"hba1c_baseline": [7.0] * 4, "hba1c_post": [6.5, 6.8, 6.9, 7.1]})
    assert not replication.at_paper_baseline(two, 7.49).estimable
    assert "same baseline" in replication.at_paper_baseline(same, 7.49).reason


def test_the_results_section_has_the_contract_fields_and_reads_back_unchanged(tmp_path):
    found = replicate(tmp_path, LIKE_THE_PAPER)
    section = found.to_dict()
    assert {"estimable", "reason", "reconstructed", "claims", "case_mix"} <= set(section)
    assert list(section["claims"]) == ["overall", "moderate", "severe", "dose"]
    for name, claim in section["claims"].items():
        assert REQUIRED <= set(claim), name
        assert claim["verdict"] in replication.VERDICTS
    assert {"baseline_mean", "severe_share", "dose_min_cells", "sources", "followup_median_months",
            "at_paper_baseline"} <= set(section["case_mix"])
    assert document.section({"sections": {"replication": section}}, "replication") == found


def test_summary_lines_name_the_file_and_give_one_verdict_per_claim(tmp_path):
    found = replicate(tmp_path, DID_NOT_FALL)
    results = {"dataset": {"path": "clinic.csv"}, "sections": {"replication": found.to_dict()}}
    lines = document.replication_summary_lines(results)
    assert lines[0] == "Replication of Matsuoka et al. 2025 on clinic.csv:"
    assert len(lines) == 5 and "inconsistent" in lines[1] and "not assessable" in lines[4]
    reconstructed = {**results, "sections": {"replication": {**found.to_dict(), "reconstructed": True}}}
    assert "by construction" in document.replication_summary_lines(reconstructed)[0]
    assert document.replication_summary_lines({"sections": {}}) == []
    hostile = {**results, "dataset": {"path": "clinic\x1b[2J\nFAKE: consistent.csv"}}
    head = document.replication_summary_lines(hostile)[0]
    assert "\x1b" not in head and "\n" not in head  # a file's name shown, not interpreted

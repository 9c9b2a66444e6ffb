"""Tests for livingpaper.stats.rtm (regression to the mean, ANCOVA, change on baseline),
pinned to closed forms and independent implementations.

References used:
- Barnett, van der Pols & Dobson 2005 (Int J Epidemiol 34:215): under a bivariate normal
  model with correlation r, E[post - baseline | baseline] = -(1 - r)(baseline - mu);
  checked both by hand and by simulating a population without any treatment.
- scipy.stats.linregress and numpy.linalg.lstsq (independent of statsmodels' OLS).
- statsmodels DescrStatsW (independent of scipy's one-sample t-test).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import patients
from livingpaper.stats import rtm
from livingpaper.stats.paired import paired_reduction
from scipy import stats
from statsmodels.stats.weightstats import DescrStatsW

pytestmark = pytest.mark.filterwarnings("error")

MU = 7.0
R = 0.6


# Three severe patients: baselines 9, 10, 11 (mean 10), reductions 1.5, 2.0, 1.0 (mean 1.5).
SEVERE = patients([9.0, 10.0, 11.0], [7.5, 8.0, 10.0])


# --- ANCOVA ----------------------------------------------------------------------------

ANCOVA = patients([6.5, 7.0, 7.4, 8.2, 9.0, 10.1, 11.3], [6.4, 6.6, 7.1, 7.0, 7.8, 8.1, 9.4])


# --- regression to the mean ----------------------------------------------------------


def test_expected_regression_to_the_mean_is_one_minus_r_times_the_baseline_excess():
    res = rtm.regression_to_mean(SEVERE, population_mean=MU, reliability=R, group="severe")
    # (1 - 0.6) * (10 - 7) = 1.2; observed 1.5; residual 0.3
    assert res.expected_rtm_reduction == pytest.approx(1.2)
    assert res.observed_mean_reduction == pytest.approx(1.5)
    assert res.residual_reduction == pytest.approx(0.3)
    assert res.share_explained == pytest.approx(0.8)
    assert res.group == "severe" and res.n == 3


def test_residual_test_matches_an_independent_one_sample_t_test_of_the_residuals():
    res = rtm.regression_to_mean(SEVERE, MU, R)
    residuals = np.array([1.5, 2.0, 1.0]) - (1 - R) * (np.array([9.0, 10.0, 11.0]) - MU)
    d = DescrStatsW(residuals)
    t, p, df = d.ttest_mean(0.0)
    low, high = d.tconfint_mean(alpha=0.05)
    assert res.residual_t == pytest.approx(t)
    assert res.residual_p == pytest.approx(p)
    assert res.residual_df == df == 2
    assert (res.residual_ci95_low, res.residual_ci95_high) == pytest.approx((low, high))


def test_with_perfect_reliability_nothing_is_regression_and_the_test_is_the_paired_t_test():
    res = rtm.regression_to_mean(SEVERE, MU, 1.0)
    paired = paired_reduction(SEVERE)
    assert res.expected_rtm_reduction == 0
    assert res.residual_reduction == pytest.approx(paired.mean_reduction)
    assert res.residual_p == pytest.approx(paired.p)
    assert (res.residual_ci95_low, res.residual_ci95_high) == pytest.approx((paired.ci95_low, paired.ci95_high))


def test_reliability_explaining_all_leaves_no_residual():
    data = patients([9.0, 10.0, 11.0], [8.5, 9.0, 10.0])  # mean reduction 0.833, excess 3
    res = rtm.regression_to_mean(data, MU, R)
    assert res.reliability_explaining_all == pytest.approx(1 - (2.5 / 3) / 3)
    again = rtm.regression_to_mean(data, MU, res.reliability_explaining_all)
    assert again.residual_reduction == pytest.approx(0, abs=1e-12)


def test_a_fall_larger_than_the_baseline_excess_cannot_be_explained_by_any_reliability():
    res = rtm.regression_to_mean(SEVERE, population_mean=9.5, reliability=R)  # excess 0.5 < fall 1.5
    assert res.reliability_explaining_all is None


def test_reliability_threshold_is_where_the_interval_of_the_residual_touches_zero():
    rng = np.random.default_rng(1)
    base = np.round(rng.uniform(8.1, 11, 20), 1)
    data = patients(base, np.round(base - rng.normal(1.2, 1.0, 20), 1))
    res = rtm.regression_to_mean(data, MU, 0.9)
    assert res.reliability_threshold is not None and 0 < res.reliability_threshold < 1
    at = rtm.regression_to_mean(data, MU, res.reliability_threshold)
    assert at.residual_ci95_low == pytest.approx(0, abs=1e-7)
    above = rtm.regression_to_mean(data, MU, min(1.0, res.reliability_threshold + 0.02))
    assert above.residual_ci95_low > 0


def test_threshold_is_none_when_the_interval_stays_above_zero_and_one_when_it_never_does():
    always = patients([7.1, 7.2, 7.3, 7.0], [6.1, 6.3, 6.2, 6.0])  # big, tight falls, baseline near mu
    assert rtm.regression_to_mean(always, MU, R).reliability_threshold is None
    never = patients([9.0, 10.0, 11.0], [9.5, 9.6, 11.1])  # mean fall near 0
    assert rtm.regression_to_mean(never, MU, R).reliability_threshold == 1.0


def test_untreated_population_selected_for_high_baseline_regresses_as_the_formula_says():
    # A population with mean 7.1 %, SD 1.1 % and test-retest correlation 0.7, and no
    # treatment at all: patients selected for baseline > 8 % "fall" by RTM alone.
    rng = np.random.default_rng(20250415)
    cov = 1.1**2 * np.array([[1.0, 0.7], [0.7, 1.0]])
    base, post = rng.multivariate_normal([7.1, 7.1], cov, size=400_000).T
    selected = patients(base[base > 8.0], post[base > 8.0])
    res = rtm.regression_to_mean(selected, 7.1, 0.7)
    assert res.observed_mean_reduction > 0.4  # a sizeable fall with no treatment
    # about 80,000 selected patients: the residual's standard error is about 0.003
    assert abs(res.residual_reduction) < 0.01


def test_rtm_curve_has_one_row_per_group_and_reliability_and_the_residual_grows_with_r():
    curve = rtm.rtm_curve({"severe": SEVERE, "empty": SEVERE.iloc[:0]}, MU, reliabilities=[0.5, 0.7, 0.9])
    assert len(curve) == 6
    severe = curve[curve["group"] == "severe"]
    assert list(severe["reliability"]) == [0.5, 0.7, 0.9]
    assert np.all(np.diff(severe["residual_reduction"].to_numpy()) > 0)  # baseline above mu
    assert curve[curve["group"] == "empty"]["residual_reduction"].isna().all()


def test_default_reliability_grid_spans_a_plausible_range():
    assert rtm.RELIABILITY_GRID[0] == 0.5 and rtm.RELIABILITY_GRID[-1] == 0.95


@pytest.mark.parametrize("data, words", [
    (SEVERE.iloc[:0], "no patient"),
    (SEVERE.iloc[:1], "fewer than 2"),
    # reductions 1.3 and 1.7 = 0.5 + 0.4 * (baseline - 7): every residual is 0.5
    (patients([9.0, 10.0], [7.7, 8.3]), "same"),
])
def test_degenerate_groups_are_not_estimable_and_say_why(data, words):
    res = rtm.regression_to_mean(data, MU, R)
    assert not res.estimable and words in res.reason
    assert res.residual_p is None and res.residual_ci95_low is None


def test_reliability_outside_zero_one_is_an_error():
    with pytest.raises(ValueError, match="reliability"):
        rtm.regression_to_mean(SEVERE, MU, 1.2)


def test_ancova_slope_and_adjusted_post_match_an_independent_regression():
    res = rtm.ancova(ANCOVA, centre=7.1)
    lr = stats.linregress(ANCOVA["hba1c_baseline"], ANCOVA["hba1c_post"])
    assert res.slope == pytest.approx(lr.slope)
    assert res.adjusted_post_mean == pytest.approx(lr.intercept + lr.slope * 7.1)
    assert res.adjusted_reduction == pytest.approx(7.1 - (lr.intercept + lr.slope * 7.1))
    assert res.r_squared == pytest.approx(lr.rvalue**2)
    # textbook standard error of the fitted mean at x0: s * sqrt(1/n + (x0 - xbar)^2 / Sxx)
    x, y = ANCOVA["hba1c_baseline"].to_numpy(), ANCOVA["hba1c_post"].to_numpy()
    resid = y - (lr.intercept + lr.slope * x)
    s = math.sqrt((resid**2).sum() / (len(x) - 2))
    se = s * math.sqrt(1 / len(x) + (7.1 - x.mean()) ** 2 / ((x - x.mean()) ** 2).sum())
    half = stats.t.ppf(0.975, len(x) - 2) * se
    assert (res.adjusted_ci95_low, res.adjusted_ci95_high) == pytest.approx(
        (res.adjusted_reduction - half, res.adjusted_reduction + half))
    assert res.residual_sd == pytest.approx(s)
    assert res.df_resid == 5 and res.reason is None


def test_slope_against_one_is_the_test_of_change_regressed_on_baseline():
    res = rtm.ancova(ANCOVA, centre=7.1)
    change = ANCOVA["hba1c_post"] - ANCOVA["hba1c_baseline"]
    lr = stats.linregress(ANCOVA["hba1c_baseline"], change)  # slope - 1, tested against 0
    assert res.slope - 1 == pytest.approx(lr.slope)
    assert res.slope_vs_one_p == pytest.approx(lr.pvalue)


def test_ancova_notes_an_extrapolated_centre():
    res = rtm.ancova(ANCOVA, centre=5.0)
    assert res.estimable and "extrapolation" in res.reason


@pytest.mark.parametrize("data, words", [
    (ANCOVA.iloc[:2], "fewer than 3"),
    (ANCOVA.assign(hba1c_baseline=8.0), "same baseline"),
    (ANCOVA.assign(hba1c_post=ANCOVA["hba1c_baseline"] - 0.5), "straight line"),
])
def test_ancova_degenerate_input_is_not_estimable(data, words):
    res = rtm.ancova(data, centre=7.1)
    assert not res.estimable and words in res.reason and res.slope is None


# --- regression to the mean at the group's own baseline level (issue 12, point 3) -----


def test_own_baseline_reliability_takes_the_within_person_sd_at_the_groups_mean():
    # SEVERE: baselines 9, 10, 11 (mean 10), reductions 1.5, 2.0, 1.0 (mean 1.5); mu = 7.
    # By hand with CV 0.083 and a population SD of 1.1: within-person SD 0.083 x 10 = 0.83,
    # r = 1 - 0.83^2 / 1.1^2 = 0.430661...; expected RTM (1 - r)(10 - 7) = 1.708016...;
    # residual 1.5 - 1.708016 = -0.208016...
    res = rtm.regression_to_mean(SEVERE, MU, R, within_person_cv=0.083, population_sd=1.1)
    r_own = 1 - 0.83**2 / 1.1**2
    assert res.within_person_sd_own_baseline == pytest.approx(0.83)
    assert res.reliability_own_baseline == pytest.approx(r_own)
    assert res.expected_rtm_reduction_own_baseline == pytest.approx((1 - r_own) * 3)
    assert res.residual_reduction_own_baseline == pytest.approx(1.5 - (1 - r_own) * 3)
    # Its test is the one-sample t-test of each patient's residual at that r (statsmodels).
    residuals = np.array([1.5, 2.0, 1.0]) - (1 - r_own) * (np.array([9.0, 10.0, 11.0]) - MU)
    d = DescrStatsW(residuals)
    low, high = d.tconfint_mean()
    assert (res.residual_ci95_low_own_baseline, res.residual_ci95_high_own_baseline) == pytest.approx((low, high))
    assert res.residual_p_own_baseline == pytest.approx(d.ttest_mean(0)[1])
    # The central decomposition is untouched by the extra arguments.
    plain_res = rtm.regression_to_mean(SEVERE, MU, R)
    assert res.residual_reduction == plain_res.residual_reduction and res.residual_p == plain_res.residual_p


def test_a_within_person_sd_larger_than_the_population_sd_gives_no_own_baseline_correlation():
    res = rtm.regression_to_mean(SEVERE, MU, R, within_person_cv=0.2, population_sd=1.1)
    assert res.within_person_sd_own_baseline == pytest.approx(2.0)
    assert res.reliability_own_baseline is None and res.residual_reduction_own_baseline is None


# --- ANCOVA and regression to the mean agree (issue 12, point 2) ------------------------


def test_ancova_adjusted_fall_is_the_rtm_residual_with_r_replaced_by_the_fitted_slope():
    rng = np.random.default_rng(7)
    baseline = np.round(rng.normal(7.6, 0.8, 40), 1)
    post = np.round(7.1 + 0.4 * (baseline - 7.1) - 0.3 + rng.normal(0, 0.5, 40), 1)
    data = patients(baseline, post)
    fit = rtm.ancova(data, centre=7.1)
    # By hand (least squares through the means): observed - (1 - b)(mean baseline - 7.1).
    b = np.polyfit(baseline, post, 1)[0]
    by_hand = (baseline - post).mean() - (1 - b) * (baseline.mean() - 7.1)
    at_slope = rtm.regression_to_mean_at_slope(data, 7.1, fit.slope)
    assert fit.slope == pytest.approx(b, rel=1e-10)
    assert fit.adjusted_reduction == pytest.approx(by_hand, rel=1e-10)
    assert at_slope.residual_reduction == pytest.approx(fit.adjusted_reduction, rel=1e-10)
    assert at_slope.reliability == pytest.approx(b, rel=1e-10) and at_slope.estimable


@pytest.mark.parametrize("slope", [None, -0.2, 1.3])
def test_a_slope_that_cannot_be_a_correlation_is_not_read_as_one(slope):
    res = rtm.regression_to_mean_at_slope(SEVERE, MU, slope, group="severe")
    assert not res.estimable and res.residual_reduction is None and res.residual_p is None
    assert "correlation" in res.reason
    assert res.observed_mean_reduction == pytest.approx(1.5)  # the description stays


# --- change regressed on baseline against 1 - r (issue 12, point 4) ---------------------


def test_change_on_baseline_is_tested_against_one_minus_r_by_hand():
    # R: fit <- lm(I(b - a) ~ b); car::linearHypothesis(fit, "b = 0.4") gives the same t^2 = F;
    # here by hand: slope = Sxy / Sxx, SE = s / sqrt(Sxx), t = (slope - (1 - r)) / SE, df = n - 2.
    baseline = np.array([6.5, 7.0, 7.4, 7.9, 8.3, 8.8, 9.5, 10.1])
    post = np.array([6.4, 6.6, 6.9, 7.0, 7.1, 7.6, 7.5, 8.0])
    r = 0.6
    res = rtm.change_on_baseline(patients(baseline, post), r)
    x, y = baseline, baseline - post
    sxx = ((x - x.mean()) ** 2).sum()
    slope = ((x - x.mean()) * (y - y.mean())).sum() / sxx
    resid = y - (y.mean() + slope * (x - x.mean()))
    se = math.sqrt((resid**2).sum() / (len(x) - 2) / sxx)
    t = (slope - (1 - r)) / se
    half = stats.t.ppf(0.975, len(x) - 2) * se
    assert res.slope == pytest.approx(slope, rel=1e-10)
    assert res.rtm_expected_slope == pytest.approx(0.4)
    assert res.excess == pytest.approx(slope - 0.4, rel=1e-10)
    assert (res.excess_ci95_low, res.excess_ci95_high) == pytest.approx((slope - 0.4 - half, slope - 0.4 + half))
    assert res.excess_p == pytest.approx(2 * stats.t.sf(abs(t), len(x) - 2), rel=1e-9)
    assert res.slope_p == pytest.approx(2 * stats.t.sf(abs(slope / se), len(x) - 2), rel=1e-9)
    assert res.reliability_explaining_slope == pytest.approx(1 - slope)


def test_untreated_patients_show_a_baseline_slope_of_one_minus_r_and_no_excess():
    # Oldham 1962: without any treatment, with test-retest correlation r and equal variances,
    # the fall grows with the baseline by 1 - r per point. Simulated, seeded, no effect at all.
    rng = np.random.default_rng(1962)
    n, r = 20_000, 0.7
    baseline = rng.standard_normal(n)
    post = r * baseline + math.sqrt(1 - r**2) * rng.standard_normal(n)
    res = rtm.change_on_baseline(patients(7.5 + baseline, 7.5 + post), r)
    assert res.slope == pytest.approx(1 - r, abs=0.02)  # naive test against 0: wildly "significant"
    assert res.slope_p < 1e-100
    assert res.excess_ci95_low < 0 < res.excess_ci95_high  # against 1 - r: nothing left


def test_change_on_baseline_is_read_from_the_ancova_the_build_already_fitted():
    # The fall on baseline is the ANCOVA's regression written for the fall: slope 1 - b.
    fitted = rtm.ancova(ANCOVA, centre=MU)
    res = rtm.change_on_baseline(ANCOVA, R, fitted=fitted)
    alone = rtm.change_on_baseline(ANCOVA, R).to_dict()  # fitted here, at another centre
    assert res.to_dict() == pytest.approx(alone, rel=1e-12)
    assert res.slope == pytest.approx(1 - fitted.slope, rel=1e-12)
    assert res.slope_p == fitted.slope_vs_one_p
    x = ANCOVA["hba1c_baseline"].to_numpy()
    assert res.slope == pytest.approx(stats.linregress(x, x - ANCOVA["hba1c_post"].to_numpy()).slope, rel=1e-10)
    with pytest.raises(ValueError, match="not of these"):
        rtm.change_on_baseline(ANCOVA.iloc[:5], R, fitted=fitted)


def test_the_curve_does_not_search_for_the_threshold_it_does_not_show(monkeypatch):
    expected = {r: rtm.regression_to_mean(SEVERE, MU, r, group="severe").to_dict() for r in (0.5, 0.73, 0.95)}

    def searched(*args):
        raise AssertionError("the curve searched for a reliability threshold")

    monkeypatch.setattr(rtm, "_reliability_threshold", searched)
    curve = rtm.rtm_curve({"severe": SEVERE}, MU, reliabilities=(0.5, 0.73, 0.95))
    for row in curve.to_dict(orient="records"):
        assert row == {c: expected[row["reliability"]][c] for c in curve.columns}

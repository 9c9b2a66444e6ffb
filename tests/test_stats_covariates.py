"""Tests for livingpaper.stats.covariates (dose, follow-up, MSC source).

References used:
- scipy.stats.linregress and numpy.linalg.lstsq (independent of statsmodels' OLS).
- R: oneway.test(extra ~ group, data = sleep) -> F = 3.4626, num df = 1,
  denom df = 17.776, p-value = 0.07939 (equal to Welch's t-test squared).
- R's ?kruskal.test example (Hollander & Wolfe 1973, p. 116): Kruskal-Wallis
  chi-squared = 0.77143, df = 2, p-value = 0.68.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import patients, plain
from livingpaper.stats import covariates, robust, rtm
from scipy import stats

pytestmark = pytest.mark.filterwarnings("error")

MU = 7.0
R = 0.6


# Three severe patients: baselines 9, 10, 11 (mean 10), reductions 1.5, 2.0, 1.0 (mean 1.5).
SEVERE = patients([9.0, 10.0, 11.0], [7.5, 8.0, 10.0])


# --- ANCOVA ----------------------------------------------------------------------------

ANCOVA = patients([6.5, 7.0, 7.4, 8.2, 9.0, 10.1, 11.3], [6.4, 6.6, 7.1, 7.0, 7.8, 8.1, 9.4])


# --- dose and follow-up ----------------------------------------------------------------

COVARIATES = patients(
    [7.0, 7.5, 8.0, 8.5, 9.0, 9.5, 10.0, 7.2],
    [6.5, 6.6, 7.4, 7.1, 7.9, 7.6, 8.3, 7.0],
    dose_cells=[1e8, 5e8, 1e9, 1e9, 2e9, 1.5e9, 2e9, 3e8],
    followup_months=[6, 12, 20, 30, 35, 48, 60, 68],
)


def lstsq(y, *columns):
    x = np.column_stack([np.ones(len(y)), *columns])
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ coef
    s2 = (resid**2).sum() / (len(y) - x.shape[1])
    se = np.sqrt(np.diag(s2 * np.linalg.inv(x.T @ x)))
    return coef, se


# --- MSC source ------------------------------------------------------------------------

SLEEP_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
SLEEP_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]


def by_source(groups: dict[str, list[float]]) -> pd.DataFrame:
    rows = [(s, r) for s, values in groups.items() for r in values]
    return patients([10.0] * len(rows), [10.0 - r for _, r in rows], msc_source=[s for s, _ in rows])


def test_dose_regression_matches_least_squares_on_log10_dose_and_baseline():
    res = covariates.dose_regression(COVARIATES)
    y = (COVARIATES["hba1c_baseline"] - COVARIATES["hba1c_post"]).to_numpy()
    coef, se = lstsq(y, np.log10(COVARIATES["dose_cells"]), COVARIATES["hba1c_baseline"])
    df = len(y) - 3
    assert res.slope == pytest.approx(coef[1])
    assert res.reduction_per_baseline_point == pytest.approx(coef[2])
    assert res.p == pytest.approx(2 * stats.t.sf(abs(coef[1] / se[1]), df))
    half = stats.t.ppf(0.975, df) * se[1]
    assert (res.ci95_low, res.ci95_high) == pytest.approx((coef[1] - half, coef[1] + half))
    simple = stats.linregress(np.log10(COVARIATES["dose_cells"]), y)
    assert res.unadjusted_slope == pytest.approx(simple.slope)
    assert res.unadjusted_p == pytest.approx(simple.pvalue)
    assert res.predictor_min == 1e8 and res.predictor_max == 2e9


def test_followup_slope_is_per_year_and_negative_when_later_patients_fell_less():
    months = np.array([6, 12, 18, 24, 36, 48, 60, 68])
    base = np.array([8.0, 9.0, 7.5, 8.5, 8.0, 9.0, 7.5, 8.5])
    noise = np.array([0.1, -0.1, 0.0, 0.2, -0.2, 0.1, 0.0, -0.1])
    reduction = 2.0 - months / 40 + noise  # decays 12 / 40 = 0.3 percentage points per year
    res = covariates.followup_regression(patients(base, base - reduction, followup_months=months))
    coef, _ = lstsq(reduction, months / 12.0, base)
    assert res.slope == pytest.approx(coef[1])
    assert res.slope == pytest.approx(-0.3, abs=0.1)
    assert res.predictor == "year of follow-up" and res.predictor_max == 68
    assert res.spearman_rho < -0.8


@pytest.mark.parametrize("change, words", [
    (dict(dose_cells=1e9), "same dose"),
    (dict(hba1c_baseline=8.0), "same baseline"),
])
def test_dose_regression_degenerate_input(change, words):
    res = covariates.dose_regression(COVARIATES.assign(**change))
    assert not res.estimable and words in res.reason and res.slope is None


def test_dose_regression_needs_four_patients_and_separable_predictors():
    assert "fewer than 4" in covariates.dose_regression(COVARIATES.iloc[:3]).reason
    collinear = COVARIATES.assign(dose_cells=10 ** (COVARIATES["hba1c_baseline"]))
    assert "straight-line function" in covariates.dose_regression(collinear).reason


def test_welch_anova_of_two_sources_matches_r_oneway_test_on_the_sleep_data():
    res = covariates.source_comparison(by_source({"umbilical_cord": SLEEP_1, "adipose": SLEEP_2}))
    assert res.welch_f == pytest.approx(3.4626, abs=1e-4)
    assert res.welch_df_num == 1 and res.welch_df_denom == pytest.approx(17.776, abs=1e-3)
    assert res.welch_p == pytest.approx(0.07939, abs=1e-5)
    welch_t = stats.ttest_ind(SLEEP_1, SLEEP_2, equal_var=False)
    assert res.welch_f == pytest.approx(welch_t.statistic**2)
    assert res.n_bone_marrow == 0 and res.mean_reduction_bone_marrow is None
    assert res.groups_compared == "umbilical_cord, adipose"


def test_kruskal_wallis_matches_r_example():
    groups = {"umbilical_cord": [2.9, 3.0, 2.5, 2.6, 3.2], "bone_marrow": [3.8, 2.7, 4.0, 2.4],
              "adipose": [2.8, 3.4, 3.7, 2.2, 2.0]}
    res = covariates.source_comparison(by_source(groups), min_per_group=4)
    assert res.kruskal_h == pytest.approx(0.77143, abs=1e-5)
    assert res.kruskal_p == pytest.approx(0.68, abs=0.005)


def test_sources_with_too_few_patients_are_named_and_left_out():
    res = covariates.source_comparison(by_source({"umbilical_cord": SLEEP_1, "adipose": SLEEP_2,
                                                   "bone_marrow": [0.5, 1.0, 0.2]}))
    assert res.n_groups_compared == 2 and res.n_bone_marrow == 3
    assert "bone marrow (n = 3)" in res.reason
    assert res.mean_reduction_bone_marrow == pytest.approx(0.5667, abs=1e-4)


def test_one_usable_source_is_not_estimable():
    res = covariates.source_comparison(by_source({"adipose": SLEEP_2, "bone_marrow": [1.0, 2.0]}))
    assert not res.estimable and "fewer than two MSC sources" in res.reason
    assert res.welch_p is None and res.kruskal_p is None


def test_a_constant_source_leaves_out_welch_but_keeps_kruskal_wallis():
    res = covariates.source_comparison(by_source({"adipose": SLEEP_2, "bone_marrow": [1.0] * 6}))
    assert res.estimable and res.welch_p is None and res.kruskal_p is not None
    assert "Welch" in res.reason


def test_minimum_group_size_below_two_is_an_error():
    with pytest.raises(ValueError):
        covariates.source_comparison(by_source({"adipose": SLEEP_2}), min_per_group=1)


def test_every_result_is_plain_json():
    results = [
        rtm.regression_to_mean(SEVERE, MU, R), rtm.ancova(ANCOVA, 7.1),
        robust.robust_intervals(ANCOVA), covariates.dose_regression(COVARIATES),
        covariates.followup_regression(COVARIATES),
        covariates.source_comparison(by_source({"umbilical_cord": SLEEP_1, "adipose": SLEEP_2})),
    ]
    for res in results:
        d = res.to_dict()
        assert {"estimable", "reason"} <= set(d)
        assert all(plain(v) for v in d.values())
        json.dumps(d, allow_nan=False)


def test_dose_regression_tests_its_baseline_slope_against_one_minus_r():
    rng = np.random.default_rng(3)
    n = 30
    baseline = np.round(rng.normal(7.8, 0.9, n), 1)
    dose = rng.choice([1e8, 5e8, 1e9, 2e9], n)
    post = np.round(baseline - 0.5 * (baseline - 7.1) - 0.2 + rng.normal(0, 0.4, n), 1)
    res = covariates.dose_regression(patients(baseline, post, dose_cells=dose), reliability=0.7)
    # Independent least squares (numpy): reduction on [1, log10 dose, baseline].
    design = np.column_stack([np.ones(n), np.log10(dose), baseline])
    coef, *_ = np.linalg.lstsq(design, baseline - post, rcond=None)
    assert res.reduction_per_baseline_point == pytest.approx(coef[2], rel=1e-9)
    assert res.baseline_slope_rtm_expected == pytest.approx(0.3)
    assert res.baseline_excess == pytest.approx(coef[2] - 0.3, rel=1e-9)
    assert res.baseline_excess_ci95_low < res.baseline_excess < res.baseline_excess_ci95_high
    without = covariates.dose_regression(patients(baseline, post, dose_cells=dose))
    assert without.baseline_excess is None and without.reliability is None

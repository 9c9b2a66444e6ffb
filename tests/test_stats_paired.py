"""Tests for livingpaper.stats.paired, pinned to independent references.

References used:
- R 4.x ``sleep`` dataset (Student 1908; Cushny & Peebles 1905) with
  ``t.test``; numbers are copied from R's printed output.
- R's ``?wilcox.test`` documentation example (Hollander & Wolfe 1973,
  p. 29, depression scale).
- statsmodels (an implementation independent of scipy's test functions).
- Hand enumeration of the sign-flip distribution for the Wilcoxon test.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from livingpaper.stats.paired import (
    DoseComparison,
    DoseCorrelation,
    PairedReduction,
    dose_comparison,
    dose_correlation,
    paired_reduction,
)
from scipy import stats as scipy_stats
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

# Any warning (e.g. numpy's RuntimeWarning on empty input, scipy's
# precision-loss warning) fails the test.
pytestmark = pytest.mark.filterwarnings("error")

PLAIN_TYPES = (int, float, bool, str, type(None))

# R: sleep$extra[sleep$group == 1] and [sleep$group == 2]
SLEEP_GROUP_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
SLEEP_GROUP_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]


def patients(baseline, post, **extra) -> pd.DataFrame:
    """A small patient table with the default column names."""
    return pd.DataFrame({"hba1c_baseline": baseline, "hba1c_post": post, **extra})


def with_reductions(reductions) -> pd.DataFrame:
    """Patients whose reduction (baseline - post) equals the given values."""
    return patients(baseline=list(reductions), post=[0.0] * len(reductions))


@pytest.fixture
def sleep() -> pd.DataFrame:
    return patients(SLEEP_GROUP_1, SLEEP_GROUP_2)


@pytest.fixture
def trial() -> pd.DataFrame:
    """A deterministic, realistic-looking trial of 14 patients.

    HbA1c in percent to one decimal (as recorded clinically), dose in cells,
    with a mild dose-response so the correlations are not trivial.
    """
    rng = np.random.default_rng(20240611)
    n = 14
    dose = rng.choice([1e6, 2e6, 3e6, 5e6, 8e6], size=n)
    baseline = np.round(rng.normal(8.6, 0.9, n), 1)
    post = np.round(baseline - 0.4 - 1.2e-7 * dose + rng.normal(0, 0.5, n), 1)
    return patients(baseline, post, dose_cells=dose)


# ---------------------------------------------------------------------------
# Result objects
# ---------------------------------------------------------------------------


def all_results(sleep, trial):
    high, low = trial[trial.dose_cells >= 3e6], trial[trial.dose_cells < 3e6]
    return [
        paired_reduction(sleep),
        paired_reduction(patients([], [])),
        paired_reduction(patients([7.4, 8.0], [7.1, 7.7])),
        dose_comparison(high, low),
        dose_comparison(patients([8.0], [7.0]), low),
        dose_correlation(trial),
        dose_correlation(patients([8.0], [7.0], dose_cells=[1e6])),
    ]


# ---------------------------------------------------------------------------
# paired_reduction
# ---------------------------------------------------------------------------


def test_paired_reduction_matches_r_sleep_data(sleep):
    # R: t.test(extra ~ group, data = sleep, paired = TRUE)
    #   t = -4.0621, df = 9, p-value = 0.002833
    #   95 percent CI: -2.4598858 -0.7001142; mean difference -1.58
    # reduction = group 1 - group 2, the same orientation as R's x - y.
    res = paired_reduction(sleep)
    assert res.estimable is True
    assert res.reason is None
    assert res.n == 10
    assert res.mean_reduction == pytest.approx(-1.58, abs=1e-12)
    assert res.t == pytest.approx(-4.0621, abs=5e-5)
    assert res.df == 9
    assert res.p == pytest.approx(0.002833, abs=5e-7)
    assert res.ci95_low == pytest.approx(-2.4598858, abs=5e-8)
    assert res.ci95_high == pytest.approx(-0.7001142, abs=5e-8)


def test_paired_reduction_reports_sleep_descriptives(sleep):
    # R: mean/sd of sleep$extra by group: 0.75, 1.789010; 2.33, 2.002249;
    #    sd(extra[1:10] - extra[11:20]) = 1.229995
    res = paired_reduction(sleep)
    assert res.baseline_mean == pytest.approx(0.75)
    assert res.baseline_sd == pytest.approx(1.789010, abs=5e-7)
    assert res.post_mean == pytest.approx(2.33)
    assert res.post_sd == pytest.approx(2.002249, abs=5e-7)
    assert res.sd_reduction == pytest.approx(1.229995, abs=5e-7)


def test_cohen_dz_equals_t_over_square_root_of_n(sleep, trial):
    for data in (sleep, trial):
        res = paired_reduction(data)
        assert res.cohen_dz == pytest.approx(res.mean_reduction / res.sd_reduction)
        assert res.cohen_dz == pytest.approx(res.t / math.sqrt(res.n), rel=1e-12)


def test_wilcoxon_matches_r_documentation_example():
    # R ?wilcox.test: wilcox.test(x, y, paired = TRUE, alternative = "greater")
    #   V = 40, p-value = 0.01953 (= 10/512, exact, no ties or zeros).
    # The two-sided exact p is twice that: 20/512 = 0.0390625.
    x = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30]
    y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29]
    res = paired_reduction(patients(x, y))
    assert res.wilcoxon_p == pytest.approx(20 / 512, rel=1e-12)
    # We report scipy's two-sided statistic min(W+, W-); R's V is W+.
    n = 9
    assert res.wilcoxon_statistic == 5
    assert n * (n + 1) / 2 - res.wilcoxon_statistic == 40


def test_wilcoxon_with_ties_and_zero_uses_exact_sign_flip_distribution():
    # Reductions 0.5, 0.5, -0.2, 0.8, 0, 1.1: the zero is dropped; mid-ranks
    # of |d| are 2.5, 2.5, 1, 4, 5, so W+ = 14 and W- = 1.
    # Independent reference: enumerate all 2**5 sign patterns of the ranks.
    reductions = [0.5, 0.5, -0.2, 0.8, 0.0, 1.1]
    ranks = [2.5, 2.5, 1, 4, 5]
    w_plus = 14
    null = [sum(r for r, s in zip(ranks, signs) if s) for signs in itertools.product([0, 1], repeat=5)]
    greater = sum(w >= w_plus for w in null) / len(null)
    less = sum(w <= w_plus for w in null) / len(null)
    expected_p = min(1.0, 2 * min(greater, less))  # = 4/32
    assert expected_p == 0.125

    res = paired_reduction(with_reductions(reductions))
    assert res.wilcoxon_statistic == 1
    assert res.wilcoxon_p == pytest.approx(expected_p, rel=1e-12)


def test_signed_rank_test_gives_scipys_own_result_for_every_kind_of_small_sample():
    # signed_rank_test runs scipy's exact permutation test itself (vectorised) where
    # scipy.stats.wilcoxon would (n <= 13 with ties or zeros): the p must be scipy's,
    # bit for bit, and so must the statistic; the other samples go to scipy directly.
    from livingpaper.stats.paired import PERMUTATION_MAX_N, signed_rank_test
    from scipy import stats as scipy_stats

    rng = np.random.default_rng(20261202)
    permuted = 0
    for _ in range(120):
        n = int(rng.integers(2, PERMUTATION_MAX_N + 4))
        values = np.round(rng.normal(0.3, 0.8, n), int(rng.integers(0, 3)))
        if np.all(values == 0):
            continue
        expected = scipy_stats.wilcoxon(values, zero_method="wilcox", alternative="two-sided")
        statistic, p = signed_rank_test(values)
        assert (statistic, p) == (float(expected.statistic), float(expected.pvalue)), values
        nonzero = np.abs(values[values != 0])
        permuted += n <= PERMUTATION_MAX_N and (nonzero.size < n or np.unique(nonzero).size < nonzero.size)
    assert permuted > 40  # the fast path was exercised, not only scipy's


def test_float_noise_does_not_break_ties_in_wilcoxon():
    # 7.4 - 7.1 = 0.3000000000000007 but 8.0 - 7.7 = 0.2999999999999998:
    # both are a 0.3 fall and must be ranked as a tie.
    noisy = patients(
        baseline=[7.4, 8.0, 9.1, 7.0, 8.5, 6.9],
        post=[7.1, 7.7, 8.8, 7.5, 7.3, 6.7],
    )
    exact = with_reductions([0.3, 0.3, 0.3, -0.5, 1.2, 0.2])
    assert len(set(noisy.hba1c_baseline - noisy.hba1c_post)) > 4  # noise is real
    a, b = paired_reduction(noisy), paired_reduction(exact)
    assert a.wilcoxon_statistic == b.wilcoxon_statistic
    assert a.wilcoxon_p == pytest.approx(b.wilcoxon_p, rel=1e-12)


def test_paired_reduction_matches_statsmodels_one_sample_t_test(trial):
    reduction = trial.hba1c_baseline - trial.hba1c_post
    d = DescrStatsW(reduction.to_numpy())
    t, p, df = d.ttest_mean(0)
    for confidence in (0.95, 0.99):
        res = paired_reduction(trial, confidence=confidence)
        low, high = d.tconfint_mean(alpha=1 - confidence)
        assert res.ci95_low == pytest.approx(low, rel=1e-10)
        assert res.ci95_high == pytest.approx(high, rel=1e-10)
    assert res.t == pytest.approx(t, rel=1e-10)
    assert res.p == pytest.approx(p, rel=1e-10)
    assert res.df == df
    assert res.sd_reduction == pytest.approx(d.std_ddof(ddof=1), rel=1e-12)


def test_paired_reduction_is_positive_when_hba1c_falls():
    res = paired_reduction(patients([8.0, 9.0, 8.5], [7.0, 8.5, 7.0]))
    assert res.mean_reduction == pytest.approx(1.0)
    assert res.t > 0
    assert res.cohen_dz > 0


def test_paired_reduction_drops_patients_with_a_missing_value():
    data = patients([8.0, 9.0, None, 8.5, 7.9], [7.0, 8.5, 7.2, 7.0, None])
    res = paired_reduction(data)
    assert res.n == 3
    assert res.baseline_mean == pytest.approx((8.0 + 9.0 + 8.5) / 3)
    assert res.post_mean == pytest.approx((7.0 + 8.5 + 7.0) / 3)
    assert res == paired_reduction(data.dropna())


def test_paired_reduction_of_an_empty_table_is_not_estimable():
    res = paired_reduction(patients([], []))
    assert res.estimable is False
    assert res.reason == "Not estimable: fewer than 2 patients with both HbA1c values (n = 0)."
    assert res.n == 0
    assert all(v is None for k, v in res.to_dict().items() if k not in ("estimable", "reason", "n"))


def test_paired_reduction_of_one_patient_keeps_means_but_not_sds():
    res = paired_reduction(patients([8.2], [7.5]))
    assert res.estimable is False
    assert "fewer than 2 patients" in res.reason and "(n = 1)" in res.reason
    assert res.baseline_mean == 8.2
    assert res.mean_reduction == pytest.approx(0.7)
    for field in ("baseline_sd", "post_sd", "sd_reduction", "t", "p", "df", "ci95_low",
                  "ci95_high", "cohen_dz", "wilcoxon_statistic", "wilcoxon_p"):
        assert getattr(res, field) is None, field


def test_identical_reductions_are_not_estimable_but_keep_the_mean():
    # Every patient fell by 0.3, but in floating point the reductions are
    # 0.3000000000000007, 0.2999999999999998, 0.29999999999999893, ...
    data = patients([7.4, 8.0, 9.1, 6.5], [7.1, 7.7, 8.8, 6.2])
    assert (data.hba1c_baseline - data.hba1c_post).std() > 0  # not exactly 0
    res = paired_reduction(data)
    assert res.estimable is False
    assert "changed by the same amount" in res.reason
    assert res.mean_reduction == pytest.approx(0.3)
    assert res.sd_reduction == 0.0
    assert res.baseline_sd is not None
    for field in ("t", "p", "df", "ci95_low", "ci95_high", "cohen_dz", "wilcoxon_statistic", "wilcoxon_p"):
        assert getattr(res, field) is None, field


def test_no_change_at_all_explains_that_wilcoxon_is_undefined_too():
    res = paired_reduction(patients([7.0, 8.1, 9.3], [7.0, 8.1, 9.3]))
    assert res.estimable is False
    assert "no patient's HbA1c changed" in res.reason
    assert "Wilcoxon" in res.reason
    assert res.mean_reduction == 0.0
    assert res.wilcoxon_p is None and res.wilcoxon_statistic is None


def test_paired_reduction_uses_custom_column_names():
    data = pd.DataFrame({"before": [8.0, 9.0, 8.5], "after": [7.0, 8.5, 7.0]})
    res = paired_reduction(data, baseline="before", post="after")
    assert res.n == 3 and res.estimable


def test_invalid_confidence_is_rejected(sleep):
    with pytest.raises(ValueError):
        paired_reduction(sleep, confidence=95)


# ---------------------------------------------------------------------------
# dose_comparison
# ---------------------------------------------------------------------------


def test_dose_comparison_matches_r_welch_sleep_data():
    # R: t.test(extra ~ group, data = sleep)   (Welch by default)
    #   t = -1.8608, df = 17.776, p-value = 0.07939
    #   95 percent CI: -3.3654832 0.2054832; means 0.75 and 2.33
    res = dose_comparison(with_reductions(SLEEP_GROUP_1), with_reductions(SLEEP_GROUP_2))
    assert res.estimable is True and res.reason is None
    assert res.test == "Welch two-sample t-test"
    assert (res.n_high, res.n_low) == (10, 10)
    assert res.mean_reduction_high == pytest.approx(0.75)
    assert res.mean_reduction_low == pytest.approx(2.33)
    assert res.difference == pytest.approx(-1.58)
    assert res.t == pytest.approx(-1.8608, abs=5e-5)
    assert res.df == pytest.approx(17.776, abs=5e-4)
    assert res.p == pytest.approx(0.07939, abs=5e-6)
    assert res.ci95_low == pytest.approx(-3.3654832, abs=5e-8)
    assert res.ci95_high == pytest.approx(0.2054832, abs=5e-8)


def test_dose_comparison_matches_statsmodels_compare_means(trial):
    high = trial[trial.dose_cells >= 3e6]
    low = trial[trial.dose_cells < 3e6]
    a = DescrStatsW((high.hba1c_baseline - high.hba1c_post).to_numpy())
    b = DescrStatsW((low.hba1c_baseline - low.hba1c_post).to_numpy())
    cm = CompareMeans(a, b)
    t, p, df = cm.ttest_ind(usevar="unequal")
    low_ci, high_ci = cm.tconfint_diff(usevar="unequal")

    res = dose_comparison(high, low)
    assert res.n_high == len(high) and res.n_low == len(low)
    assert res.difference == pytest.approx(a.mean - b.mean, rel=1e-12)
    assert res.t == pytest.approx(t, rel=1e-10)
    assert res.p == pytest.approx(p, rel=1e-10)
    assert res.df == pytest.approx(df, rel=1e-10)
    assert res.ci95_low == pytest.approx(low_ci, rel=1e-10)
    assert res.ci95_high == pytest.approx(high_ci, rel=1e-10)


def test_dose_comparison_with_one_patient_in_a_group_is_not_estimable():
    high = patients([8.0], [7.0])
    low = patients([8.0, 9.0, 8.5], [7.5, 8.8, 8.4])
    res = dose_comparison(high, low)
    assert res.estimable is False
    assert res.reason == (
        "Not estimable: fewer than 2 patients with both HbA1c values in the high-dose group (n = 1)."
    )
    assert (res.n_high, res.n_low) == (1, 3)
    assert res.mean_reduction_high == pytest.approx(1.0)
    assert res.difference == pytest.approx(1.0 - 0.8 / 3)
    assert res.t is res.df is res.p is res.ci95_low is res.ci95_high is None


def test_dose_comparison_with_empty_groups_is_not_estimable():
    res = dose_comparison(patients([], []), patients([], []))
    assert res.estimable is False
    assert "high-dose group (n = 0) and the low-dose group (n = 0)" in res.reason
    assert res.mean_reduction_high is None and res.difference is None


def test_dose_comparison_with_no_variation_in_either_group_is_not_estimable():
    high = patients([7.4, 8.0], [7.1, 7.7])  # both fell by 0.3
    low = patients([8.0, 9.0], [7.9, 8.9])  # both fell by 0.1
    res = dose_comparison(high, low)
    assert res.estimable is False
    assert "within each dose group" in res.reason
    assert res.difference == pytest.approx(0.2)
    assert res.t is None


def test_dose_comparison_with_one_constant_group_is_still_estimable():
    # Welch's SE only needs one non-zero variance; scipy's precision-loss
    # warning for the constant group must not leak (warnings are errors here).
    high = patients([7.4, 8.0, 9.1], [7.1, 7.7, 8.8])  # all fell by 0.3
    low = patients([8.0, 9.0, 8.5], [7.5, 8.8, 8.4])
    res = dose_comparison(high, low)
    assert res.estimable is True
    # Independent check: se = sd_low / sqrt(n_low), df = n_low - 1.
    red_low = np.array([0.5, 0.2, 0.1])
    se = red_low.std(ddof=1) / math.sqrt(3)
    assert res.t == pytest.approx((0.3 - red_low.mean()) / se)
    assert res.df == pytest.approx(2.0)


# ---------------------------------------------------------------------------
# dose_correlation
# ---------------------------------------------------------------------------


def test_dose_correlation_pearson_p_equals_ols_slope_p(trial):
    reduction = trial.hba1c_baseline - trial.hba1c_post
    fit = sm.OLS(reduction, sm.add_constant(trial.dose_cells)).fit()
    res = dose_correlation(trial)
    assert res.estimable is True and res.n == len(trial)
    assert res.pearson_r == pytest.approx(np.corrcoef(trial.dose_cells, reduction)[0, 1], rel=1e-10)
    assert res.pearson_p == pytest.approx(fit.pvalues["dose_cells"], rel=1e-8)
    assert math.copysign(1, res.pearson_r) == math.copysign(1, fit.params["dose_cells"])


def test_dose_correlation_spearman_equals_ols_on_ranks(trial):
    # spearmanr's p uses the t approximation with n - 2 df, which is exactly
    # the OLS slope test on (mid-)ranks.
    reduction = (trial.hba1c_baseline - trial.hba1c_post).round(10)
    rx, ry = trial.dose_cells.rank(), reduction.rank()
    fit = sm.OLS(ry, sm.add_constant(rx)).fit()
    res = dose_correlation(trial)
    assert trial.dose_cells.duplicated().any()  # ties exercise mid-ranks
    assert res.spearman_rho == pytest.approx(np.corrcoef(rx, ry)[0, 1], rel=1e-10)
    assert res.spearman_p == pytest.approx(fit.pvalues["dose_cells"], rel=1e-8)


def test_dose_correlation_drops_incomplete_rows():
    data = patients(
        [8.0, 9.0, 8.5, 7.9, 8.8],
        [7.0, 8.5, None, 7.5, 7.0],
        dose_cells=[1e6, 2e6, 3e6, None, 4e6],
    )
    assert dose_correlation(data).n == 3


def test_dose_correlation_with_two_patients_is_not_estimable():
    res = dose_correlation(patients([8.0, 9.0], [7.0, 8.5], dose_cells=[1e6, 2e6]))
    assert res.estimable is False
    assert res.reason.startswith("Not estimable: fewer than 3 patients")
    assert res.pearson_r is res.pearson_p is res.spearman_rho is res.spearman_p is None


def test_dose_correlation_with_a_single_dose_is_not_estimable():
    res = dose_correlation(patients([8.0, 9.0, 8.5], [7.0, 8.5, 8.4], dose_cells=[2e6] * 3))
    assert res.estimable is False
    assert "every patient received the same dose" in res.reason
    assert res.pearson_r is None


def test_dose_correlation_with_identical_reductions_is_not_estimable():
    res = dose_correlation(patients([7.4, 8.0, 9.1], [7.1, 7.7, 8.8], dose_cells=[1e6, 2e6, 3e6]))
    assert res.estimable is False
    assert "changed by the same amount" in res.reason
    assert res.spearman_p is None


def test_to_dict_holds_only_plain_python_values_and_is_valid_json(sleep, trial):
    for res in all_results(sleep, trial):
        d = res.to_dict()
        assert list(d) == [f.name for f in dataclasses.fields(res)]
        for key, value in d.items():
            assert type(value) in PLAIN_TYPES, (type(res).__name__, key, type(value))
        assert type(d["estimable"]) is bool
        json.dumps(d, allow_nan=False)


def test_to_frame_is_one_row_in_field_order(sleep, trial):
    for res in all_results(sleep, trial):
        frame = res.to_frame()
        assert frame.shape == (1, len(dataclasses.fields(res)))
        assert list(frame.columns) == list(res.to_dict())
    frame = paired_reduction(sleep).to_frame()
    assert frame.loc[0, "t"] == pytest.approx(-4.0621, abs=5e-5)


def test_field_order_is_as_documented():
    assert [f.name for f in dataclasses.fields(PairedReduction)] == [
        "estimable", "reason", "n", "baseline_mean", "baseline_sd", "post_mean", "post_sd",
        "mean_reduction", "sd_reduction", "ci95_low", "ci95_high", "t", "df", "p",
        "cohen_dz", "wilcoxon_statistic", "wilcoxon_p", "wilcoxon_v", "wilcoxon_method",
        "reconstruction_caveat",
    ]
    assert [f.name for f in dataclasses.fields(DoseComparison)] == [
        "estimable", "reason", "n_high", "n_low", "mean_reduction_high", "mean_reduction_low",
        "difference", "ci95_low", "ci95_high", "t", "df", "p", "test", "reconstruction_caveat",
    ]
    assert [f.name for f in dataclasses.fields(DoseCorrelation)] == [
        "estimable", "reason", "n", "pearson_r", "pearson_p", "spearman_rho", "spearman_p",
        "reconstruction_caveat",
    ]


def test_results_are_frozen(sleep):
    res = paired_reduction(sleep)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.p = 0.5


def test_nan_and_numpy_scalars_are_converted_on_construction():
    res = DoseCorrelation(
        estimable=np.bool_(True), reason=None, n=np.int64(5), pearson_r=np.float64(0.5),
        pearson_p=float("nan"), spearman_rho=np.float32(0.25), spearman_p=None,
    )
    assert res.to_dict() == {
        "estimable": True, "reason": None, "n": 5, "pearson_r": 0.5,
        "pearson_p": None, "spearman_rho": 0.25, "spearman_p": None, "reconstruction_caveat": None,
    }
    assert type(res.n) is int and type(res.estimable) is bool


# ---------------------------------------------------------------------------
# The signed-rank test as R users meet it (issue 12, point 9)
# ---------------------------------------------------------------------------


def test_signed_rank_v_is_rs_v_on_the_r_documentation_example():
    # R ?wilcox.test: wilcox.test(x, y, paired = TRUE, alternative = "greater") -> V = 40.
    x = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30]
    y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29]
    res = paired_reduction(patients(x, y))
    assert res.wilcoxon_v == 40
    assert res.wilcoxon_method == "exact"
    # The two statistics of the result describe the same test: V + (scipy's min) = n(n+1)/2.
    assert res.wilcoxon_v + res.wilcoxon_statistic == 9 * 10 / 2


def test_signed_rank_v_drops_zeros_and_uses_mid_ranks():
    # By hand: 0.5, 0.5, -0.2, 0.8, 0 (dropped), 1.1 -> |d| mid-ranks 2.5, 2.5, 1, 4, 5;
    # V = 2.5 + 2.5 + 4 + 5 = 14. R: wilcox.test(d)$statistic -> V = 14.
    from livingpaper.stats.paired import signed_rank_v

    assert signed_rank_v(np.array([0.5, 0.5, -0.2, 0.8, 0.0, 1.1])) == 14


@pytest.mark.parametrize("values, variant", [
    (list(range(1, 10)), "exact"),                                       # no ties, n = 9
    (list(range(1, 51)), "exact"),                                       # no ties, n = 50
    (list(range(1, 52)), "normal approximation (no continuity correction)"),  # n = 51
    ([1, 1, 2, 3, -4, 5], "exact conditional (ties or zeros)"),          # ties, n = 6
    ([0, 1, 2, 3, -4, 5, 6, 7, 8, 9, 10, 11, 12], "exact conditional (ties or zeros)"),  # zero, n = 13
    ([0] + list(range(1, 14)), "normal approximation (no continuity correction)"),  # zero, n = 14
])
def test_signed_rank_variant_is_scipys_choice_for_each_size_ties_and_zeros(values, variant):
    from livingpaper.stats.paired import signed_rank_variant

    assert signed_rank_variant(np.array(values, dtype=float)) == variant


def test_signed_rank_normal_approximation_has_no_continuity_correction_and_matches_rs_formula():
    # Fifteen changes with ties and a zero: above 13 values scipy (and the book) use the normal
    # approximation. R's formula, by hand (zeros dropped, tie-corrected variance, correct = FALSE):
    # R: wilcox.test(d, exact = FALSE, correct = FALSE)
    d = np.array([0.3, 0.3, 0.5, -0.2, 0.0, 0.8, 0.3, 1.1, -0.5, 0.6, 0.2, 0.2, 0.9, 0.4, 0.7])
    nonzero = d[d != 0]
    n = nonzero.size
    ranks = scipy_stats.rankdata(np.abs(nonzero))
    v = ranks[nonzero > 0].sum()
    _, counts = np.unique(np.abs(nonzero), return_counts=True)
    sigma = math.sqrt(n * (n + 1) * (2 * n + 1) / 24 - (counts**3 - counts).sum() / 48)
    z = (v - n * (n + 1) / 4) / sigma
    expected_p = math.erfc(abs(z) / math.sqrt(2))  # 2 * (1 - Phi(|z|))
    res = paired_reduction(with_reductions(list(d)))
    assert res.wilcoxon_method == "normal approximation (no continuity correction)"
    assert res.wilcoxon_v == v
    assert res.wilcoxon_p == pytest.approx(expected_p, rel=1e-12)
    # The same with R's default continuity correction would differ: the book does not use it.
    corrected = math.erfc((abs(v - n * (n + 1) / 4) - 0.5) / sigma / math.sqrt(2))
    assert abs(res.wilcoxon_p - corrected) > 5e-4


def test_every_variant_has_the_r_call_that_reproduces_it():
    from livingpaper.stats import paired as lp_stats

    calls = lp_stats.SIGNED_RANK_R_CALLS
    assert set(calls) == {lp_stats.SIGNED_RANK_EXACT, lp_stats.SIGNED_RANK_CONDITIONAL, lp_stats.SIGNED_RANK_NORMAL}
    assert "exact = TRUE" in calls[lp_stats.SIGNED_RANK_EXACT]
    assert 'zero.method = "Wilcoxon"' in calls[lp_stats.SIGNED_RANK_CONDITIONAL]
    assert "correct = FALSE" in calls[lp_stats.SIGNED_RANK_NORMAL]


# ---------------------------------------------------------------------------
# The reconstruction's copula (issue 12, point 11)
# ---------------------------------------------------------------------------


def test_rank_correlation_of_a_gaussian_copula_is_six_over_pi_arcsin_half_rho():
    from livingpaper.stats.paired import spearman_of_gaussian_copula

    # Closed form (Pearson 1907; Kruskal 1958): 0 -> 0, +/-1 -> +/-1, 0.5 -> 0.48258.
    assert spearman_of_gaussian_copula(0.0) == 0.0
    assert spearman_of_gaussian_copula(1.0) == pytest.approx(1.0)
    assert spearman_of_gaussian_copula(-1.0) == pytest.approx(-1.0)
    assert spearman_of_gaussian_copula(0.5) == pytest.approx(0.482584, abs=5e-7)
    # And by simulation, independent of the formula: 200,000 seeded bivariate normal pairs.
    rng = np.random.default_rng(12)
    x = rng.standard_normal(200_000)
    y = 0.44 * x + math.sqrt(1 - 0.44**2) * rng.standard_normal(200_000)
    assert scipy_stats.spearmanr(x, y).statistic == pytest.approx(spearman_of_gaussian_copula(0.44), abs=0.005)
    with pytest.raises(ValueError):
        spearman_of_gaussian_copula(1.5)

"""How much of the fall in HbA1c is real? Sensitivity analyses of the single-arm design.

The paper compares HbA1c before and after one infusion in a single arm, with the severe
group *selected* for a high baseline. This module asks the questions a biostatistician
asks first of such a design, each as one function that takes the patients (a DataFrame,
one row per patient) and returns a tidy, frozen result (:class:`~livingpaper.stats.TidyResult`)
with ``estimable`` and a clinician-readable ``reason``:

- :func:`regression_to_mean`: the fall expected from regression to the mean alone, for a
  given test-retest correlation of HbA1c, and the residual fall beyond it;
  :func:`rtm_curve` the same over a range of correlations.
- :func:`ancova`: post-treatment HbA1c regressed on baseline (the baseline-adjusted view).
- :func:`robust_intervals`: the t-based interval of the mean reduction beside a seeded
  bootstrap interval and the Wilcoxon signed-rank (Hodges-Lehmann) interval.
- :func:`dose_regression`: the reduction regressed on log10 dose, adjusted for baseline.
- :func:`followup_regression`: the reduction against the time to the post-treatment
  measurement (does the effect decay?), adjusted for baseline.
- :func:`source_comparison`: the reduction by MSC source (Welch ANOVA, Kruskal-Wallis).

Units: HbA1c in NGSP percent; reductions (``baseline - post``, positive = HbA1c fell)
in percentage points; dose in cells; follow-up in months. Only complete cases of the
columns a function needs are used.

The statistics come from scipy and statsmodels; this module selects the data, guards
degenerate input and packages the results.
"""
from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import optimize
from scipy import stats as _st
from statsmodels.stats.oneway import anova_oneway

from .dataset import MSC_SOURCES
from .stats import TidyResult, check_confidence, complete_cases, for_ranking, is_constant, signed_rank_test

__all__ = [
    "BOOTSTRAP_RESAMPLES",
    "BOOTSTRAP_SEED",
    "MIN_BOOTSTRAP_N",
    "MIN_PATIENTS_PER_SOURCE",
    "RELIABILITY_GRID",
    "Ancova",
    "ChangeOnBaseline",
    "CovariateRegression",
    "RegressionToMean",
    "RobustIntervals",
    "SourceComparison",
    "ancova",
    "change_on_baseline",
    "dose_regression",
    "followup_regression",
    "regression_to_mean",
    "regression_to_mean_at_slope",
    "robust_intervals",
    "rtm_curve",
    "source_comparison",
]

#: Seed of every bootstrap (fixed: the same data give the same interval, byte for byte).
#: The paper's publication date, 2025-04-15.
BOOTSTRAP_SEED = 20250415
#: Bootstrap resamples: 9999 keeps the Monte-Carlo error of a 95 % limit well below the
#: 0.01 percentage points to which the book reports reductions.
BOOTSTRAP_RESAMPLES = 9999
#: Below this many patients no bootstrap interval is reported: resampling a handful of
#: values gives an interval that is too narrow (it under-covers; Hesterberg 2015), and the
#: t and rank-based intervals say what can be said.
MIN_BOOTSTRAP_N = 10
#: Above this many patients the bootstrap uses percentile limits: BCa's jackknife costs
#: n^2 operations, and with so many patients the two agree.
BCA_MAX_N = 5000
#: Above this many patients no bootstrap is run: the t interval is then accurate by the
#: central limit theorem, and resampling (9999 x n draws per group) would only cost time.
BOOTSTRAP_MAX_N = 10_000
#: Resampled values held in memory at once by the bootstrap (and its jackknife), in
#: numbers: about 16 MB, whatever n, instead of n_resamples x n at a time.
BOOTSTRAP_BATCH_VALUES = 2_000_000
#: The Hodges-Lehmann estimate uses all n(n+1)/2 Walsh averages; above this many
#: patients (2 million averages) it is not computed.
WALSH_MAX_N = 2000
#: Smallest group compared by MSC source. Kruskal-Wallis refers H to a chi-squared
#: distribution, "a typical rule is that each sample must have at least 5 measurements"
#: (scipy.stats.kruskal documentation; Kruskal & Wallis 1952); Welch's ANOVA estimates a
#: variance per group and its F approximation is poor with fewer (Welch 1951).
MIN_PATIENTS_PER_SOURCE = 5
#: Test-retest correlations of HbA1c shown in the regression-to-the-mean curve.
RELIABILITY_GRID = tuple(float(r) for r in np.round(np.linspace(0.5, 0.95, 46), 2))
#: Months per year, for the follow-up slope.
MONTHS_PER_YEAR = 12.0

_BASELINE = "hba1c_baseline"
_POST = "hba1c_post"


# ---------------------------------------------------------------------------
# 1. Regression to the mean
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RegressionToMean(TidyResult):
    """Result of :func:`regression_to_mean`.

    Attributes
    ----------
    estimable : bool
        Whether the residual reduction could be tested.
    reason : str or None
        Why not, or a note; ``None`` when all is well.
    group : str
        Name of the population (``"severe"``, ...), for the reader.
    n : int
        Patients with both HbA1c values.
    baseline_mean : float or None
        Mean baseline HbA1c of the group (%).
    population_mean : float
        Mean HbA1c (%) of the population the group was selected from.
    reliability : float
        Test-retest correlation of HbA1c used (0 to 1).
    observed_mean_reduction : float or None
        Mean of ``baseline - post`` (percentage points).
    expected_rtm_reduction : float or None
        Mean reduction expected from regression to the mean alone,
        ``(1 - reliability) * (baseline_mean - population_mean)``.
    residual_reduction : float or None
        ``observed_mean_reduction - expected_rtm_reduction``: the fall not explained by
        regression to the mean.
    residual_ci95_low, residual_ci95_high : float or None
        Confidence interval of the residual reduction (t interval of the per-patient
        residuals; the reliability and population mean are taken as known).
    residual_t, residual_df, residual_p : float, int, float or None
        One-sample t-test of the residual against 0 (two-sided).
    share_explained : float or None
        ``expected_rtm_reduction / observed_mean_reduction``; only when HbA1c fell.
    reliability_explaining_all : float or None
        The test-retest correlation at which regression to the mean alone would explain
        the whole observed fall; ``None`` when no correlation in [0, 1] does.
    reliability_threshold : float or None
        The largest test-retest correlation in [0, 1] at which the confidence interval of
        the residual still reaches 0 (or below). For correlations above it the residual
        is distinguishable from 0. ``None`` when the interval lies above 0 for every
        correlation in [0, 1].
    within_person_cv, population_sd : float or None
        When given (:func:`regression_to_mean`), the within-person coefficient of
        variation and the between-patient SD (%) of the population, from which the
        ``*_own_baseline`` fields are computed.
    within_person_sd_own_baseline : float or None
        ``within_person_cv * baseline_mean``: the within-person SD at the group's own mean
        baseline instead of at the population mean.
    reliability_own_baseline : float or None
        ``1 - within_person_sd_own_baseline**2 / population_sd**2``; ``None`` when it is
        not in [0, 1].
    expected_rtm_reduction_own_baseline, residual_reduction_own_baseline : float or None
    residual_ci95_low_own_baseline, residual_ci95_high_own_baseline, residual_p_own_baseline : float or None
        The decomposition and test at ``reliability_own_baseline``.
    residual_p_holm : float or None
        Holm-adjusted ``residual_p`` over the family of tests of the chapter beyond the
        paper (:func:`livingpaper.beyond.analyse`); ``None`` outside it.
    reconstruction_caveat : str or None
        See :class:`livingpaper.stats.PairedReduction`.
    """

    estimable: bool
    reason: str | None
    group: str
    n: int
    baseline_mean: float | None
    population_mean: float
    reliability: float
    observed_mean_reduction: float | None
    expected_rtm_reduction: float | None
    residual_reduction: float | None
    residual_ci95_low: float | None
    residual_ci95_high: float | None
    residual_t: float | None
    residual_df: int | None
    residual_p: float | None
    share_explained: float | None
    reliability_explaining_all: float | None
    reliability_threshold: float | None
    within_person_cv: float | None = None
    population_sd: float | None = None
    within_person_sd_own_baseline: float | None = None
    reliability_own_baseline: float | None = None
    expected_rtm_reduction_own_baseline: float | None = None
    residual_reduction_own_baseline: float | None = None
    residual_ci95_low_own_baseline: float | None = None
    residual_ci95_high_own_baseline: float | None = None
    residual_p_own_baseline: float | None = None
    residual_p_holm: float | None = None
    reconstruction_caveat: str | None = None


def _ci_low_over_reliability(reduction: np.ndarray, deviation: np.ndarray, grid: np.ndarray,
                             confidence: float) -> np.ndarray:
    """Lower confidence limit of the mean residual at each reliability of ``grid``.

    The residual of a patient is ``reduction - (1 - r) * deviation``; its mean and sample
    variance are linear and quadratic in ``(1 - r)``, so every grid point costs O(1).
    """
    n = reduction.size
    k = 1.0 - grid
    mean = reduction.mean() - k * deviation.mean()
    cov = np.cov(reduction, deviation, ddof=1)
    var = np.clip(cov[0, 0] - 2 * k * cov[0, 1] + k**2 * cov[1, 1], 0.0, None)
    return mean - float(_st.t.ppf(0.5 + confidence / 2, n - 1)) * np.sqrt(var / n)


def _reliability_threshold(reduction: np.ndarray, deviation: np.ndarray, confidence: float) -> float | None:
    grid = np.linspace(0.0, 1.0, 1001)
    low = _ci_low_over_reliability(reduction, deviation, grid, confidence)
    reaches_zero = np.flatnonzero(low <= 0)
    if reaches_zero.size == 0:
        return None
    i = int(reaches_zero.max())
    if i == grid.size - 1:
        return 1.0
    # Refine between the last grid point whose interval reaches 0 and the next one.
    f = lambda r: float(_ci_low_over_reliability(reduction, deviation, np.array([r]), confidence)[0])  # noqa: E731
    if f(grid[i]) == 0.0:
        return float(grid[i])
    return float(optimize.brentq(f, grid[i], grid[i + 1], xtol=1e-10))


def regression_to_mean(
    data: pd.DataFrame,
    population_mean: float,
    reliability: float,
    group: str = "",
    confidence: float = 0.95,
    baseline: str = _BASELINE,
    post: str = _POST,
    within_person_cv: float | None = None,
    population_sd: float | None = None,
) -> RegressionToMean:
    """Fall in HbA1c expected from regression to the mean alone, and the rest.

    Parameters
    ----------
    data : pandas.DataFrame
        The patients of one group, one row each.
    population_mean : float
        Mean HbA1c (%) of the population the patients were selected from.
    reliability : float
        Test-retest correlation ``r`` of HbA1c in that population (0 to 1), e.g.
        ``1 - within_person_sd**2 / population_sd**2``.
    group : str
        Name of the group, copied into the result.
    confidence : float
        Level of the interval of the residual reduction.
    baseline, post : str
        Columns of HbA1c before and after (%).
    within_person_cv, population_sd : float, optional
        The within-person coefficient of variation of HbA1c and the between-patient SD
        (%) behind ``reliability``. When both are given, the decomposition is repeated
        with the within-person SD taken at the group's own mean baseline
        (``within_person_cv * baseline_mean``) instead of wherever ``reliability`` took
        it (the book: at the population mean): the ``*_own_baseline`` fields. The
        coefficient of variation means the SD grows with the level, so a group selected
        for a high baseline has a larger within-person SD, a lower test-retest
        correlation, and more regression to the mean.

    Returns
    -------
    RegressionToMean

    Notes
    -----
    If baseline and follow-up HbA1c are bivariate normal with the same mean ``mu`` and
    variance and correlation ``r``, then without any treatment
    ``E[post - baseline | baseline] = -(1 - r) * (baseline - mu)``: a patient selected
    for a high baseline is expected to fall by ``(1 - r) * (baseline - mu)`` (Barnett,
    van der Pols & Dobson 2005). For each patient the *residual* reduction is
    ``(baseline - post) - (1 - r) * (baseline - mu)``; its mean is the observed mean
    reduction minus the group's expected regression to the mean, and it is tested
    against 0 with ``scipy.stats.ttest_1samp``. The test treats ``r`` and ``mu`` as
    known: their uncertainty is shown by varying ``r`` (:func:`rtm_curve`), not by the
    interval. The model assumes no drift of HbA1c over time in the absence of
    treatment (usual care may lower or raise it) and one baseline measurement.

    Not estimable with fewer than 2 patients, or when every residual is the same
    (the t-test is undefined); the means are still reported when they exist.

    References
    ----------
    Barnett AG, van der Pols JC, Dobson AJ (2005). Regression to the mean: what it is
    and how to deal with it. *International Journal of Epidemiology* 34(1), 215-220.
    doi:10.1093/ije/dyh299
    """
    res = _regression_to_mean(data, population_mean, reliability, group, confidence, baseline, post)
    if within_person_cv is None or population_sd is None:
        return res
    cv, sd = float(within_person_cv), float(population_sd)
    if not (cv >= 0 and sd > 0):
        raise ValueError(f"need within_person_cv >= 0 and population_sd > 0, got {cv!r} and {sd!r}.")
    extra: dict = dict(within_person_cv=cv, population_sd=sd)
    if res.baseline_mean is not None:
        sw = cv * res.baseline_mean
        r_own = 1.0 - sw**2 / sd**2
        extra["within_person_sd_own_baseline"] = sw
        if 0.0 <= r_own <= 1.0:
            own = _regression_to_mean(data, population_mean, r_own, group, confidence, baseline, post)
            extra.update(reliability_own_baseline=r_own,
                         expected_rtm_reduction_own_baseline=own.expected_rtm_reduction,
                         residual_reduction_own_baseline=own.residual_reduction,
                         residual_ci95_low_own_baseline=own.residual_ci95_low,
                         residual_ci95_high_own_baseline=own.residual_ci95_high,
                         residual_p_own_baseline=own.residual_p)
    return dataclasses.replace(res, **extra)


def regression_to_mean_at_slope(
    data: pd.DataFrame,
    population_mean: float,
    slope: float | None,
    group: str = "",
    confidence: float = 0.95,
    baseline: str = _BASELINE,
    post: str = _POST,
) -> RegressionToMean:
    """Regression to the mean with the test-retest correlation read off a fitted slope.

    The ANCOVA of post-treatment on baseline HbA1c (:func:`ancova`) estimates a slope
    ``b``; its adjusted fall at ``population_mean`` equals the residual fall of
    :func:`regression_to_mean` with ``reliability = b`` (both are ``observed - (1 - b) *
    (mean baseline - population_mean)``). Reading ``b`` as an estimate of the test-retest
    correlation, this gives the consequence for another group (the book: the severe one).

    Not estimable when there is no slope, or when it lies outside [0, 1] (it cannot then
    be a correlation); otherwise exactly :func:`regression_to_mean` at ``b``.
    """
    if slope is None or not math.isfinite(float(slope)):
        return dataclasses.replace(
            _regression_to_mean(data, population_mean, 1.0, group, confidence, baseline, post),
            estimable=False, reliability=None, expected_rtm_reduction=None, residual_reduction=None,
            residual_ci95_low=None, residual_ci95_high=None, residual_t=None, residual_df=None,
            residual_p=None, share_explained=None, reliability_threshold=None,
            reason="Not estimable: the baseline-adjusted analysis gave no slope to read as a correlation.")
    b = float(slope)
    if not 0.0 <= b <= 1.0:
        return dataclasses.replace(
            _regression_to_mean(data, population_mean, 1.0, group, confidence, baseline, post),
            estimable=False, reliability=b, expected_rtm_reduction=None, residual_reduction=None,
            residual_ci95_low=None, residual_ci95_high=None, residual_t=None, residual_df=None,
            residual_p=None, share_explained=None, reliability_threshold=None,
            reason=(f"Not estimable: the fitted slope ({b:.2f}) lies outside 0 to 1, so it cannot be read as "
                    "a test-retest correlation."))
    return _regression_to_mean(data, population_mean, b, group, confidence, baseline, post)


def _regression_to_mean(
    data: pd.DataFrame,
    population_mean: float,
    reliability: float,
    group: str,
    confidence: float,
    baseline: str,
    post: str,
) -> RegressionToMean:
    check_confidence(confidence)
    if not 0.0 <= float(reliability) <= 1.0:
        raise ValueError(f"reliability must lie in [0, 1], got {reliability!r}.")
    if not math.isfinite(float(population_mean)):
        raise ValueError(f"population_mean must be a finite number, got {population_mean!r}.")
    mu, r = float(population_mean), float(reliability)
    cols = complete_cases(data, [baseline, post])
    b, a = cols[baseline], cols[post]
    reduction = for_ranking(b - a)
    deviation = b - mu
    n = int(b.size)

    base = dict(group=group, n=n, population_mean=mu, reliability=r)
    if n == 0:
        return RegressionToMean(
            estimable=False, reason="Not estimable: no patient in this group has both HbA1c values.",
            **base, baseline_mean=None, observed_mean_reduction=None, expected_rtm_reduction=None,
            residual_reduction=None, residual_ci95_low=None, residual_ci95_high=None, residual_t=None,
            residual_df=None, residual_p=None, share_explained=None, reliability_explaining_all=None,
            reliability_threshold=None,
        )

    baseline_mean = float(b.mean())
    observed = float(reduction.mean())
    expected = (1.0 - r) * (baseline_mean - mu)
    residual = observed - expected
    share = expected / observed if observed > 0 else None
    explaining_all = None
    if baseline_mean > mu and observed > 0:
        candidate = 1.0 - observed / (baseline_mean - mu)
        explaining_all = candidate if 0.0 <= candidate <= 1.0 else None
    descriptive = dict(
        **base, baseline_mean=baseline_mean, observed_mean_reduction=observed,
        expected_rtm_reduction=expected, residual_reduction=residual, share_explained=share,
        reliability_explaining_all=explaining_all,
    )
    untested = dict(residual_ci95_low=None, residual_ci95_high=None, residual_t=None, residual_df=None,
                    residual_p=None, reliability_threshold=None)
    if n < 2:
        return RegressionToMean(
            estimable=False,
            reason=f"Not estimable: fewer than 2 patients with both HbA1c values (n = {n}).",
            **descriptive, **untested,
        )
    residuals = reduction - (1.0 - r) * deviation
    if is_constant(residuals):
        return RegressionToMean(
            estimable=False,
            reason=("Not estimable: every patient's fall beyond regression to the mean is the same, "
                    f"so it has no spread and cannot be tested (n = {n})."),
            **descriptive, **untested,
        )
    tt = _st.ttest_1samp(residuals, 0.0)
    ci = tt.confidence_interval(confidence_level=confidence)
    return RegressionToMean(
        estimable=True, reason=None, **descriptive,
        residual_ci95_low=float(ci.low), residual_ci95_high=float(ci.high),
        residual_t=float(tt.statistic), residual_df=int(tt.df), residual_p=float(tt.pvalue),
        reliability_threshold=_reliability_threshold(reduction, deviation, confidence),
    )


def rtm_curve(
    groups: Mapping[str, pd.DataFrame],
    population_mean: float,
    reliabilities: tuple[float, ...] | np.ndarray = RELIABILITY_GRID,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Regression to the mean over a range of test-retest correlations.

    Parameters
    ----------
    groups : mapping of str to DataFrame
        The populations, by name (e.g. ``{"overall": ..., "severe": ...}``).
    population_mean : float
        Mean HbA1c (%) of the population the patients came from.
    reliabilities : sequence of float
        Test-retest correlations in [0, 1] (default 0.50 to 0.95 by 0.01).
    confidence : float
        Level of the interval of the residual reduction.

    Returns
    -------
    pandas.DataFrame
        One row per group and correlation: ``group, reliability, n,
        observed_mean_reduction, expected_rtm_reduction, residual_reduction,
        residual_ci95_low, residual_ci95_high`` (percentage points; ``None``/NaN where
        not estimable).
    """
    columns = ["group", "reliability", "n", "observed_mean_reduction", "expected_rtm_reduction",
               "residual_reduction", "residual_ci95_low", "residual_ci95_high"]
    rows = []
    for name, data in groups.items():
        for r in reliabilities:
            res = regression_to_mean(data, population_mean, float(r), group=name, confidence=confidence)
            d = res.to_dict()
            rows.append({c: d[c] for c in columns})
    return pd.DataFrame(rows, columns=columns)


# ---------------------------------------------------------------------------
# 2. ANCOVA: post on baseline
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Ancova(TidyResult):
    """Result of :func:`ancova`.

    Attributes
    ----------
    estimable : bool
    reason : str or None
        Why not, or a note (e.g. the centre lies outside the observed baselines).
    n : int
        Patients with both HbA1c values.
    centre : float
        Baseline HbA1c (%) at which the adjusted reduction is estimated.
    slope : float or None
        Change in post-treatment HbA1c per 1 percentage point of baseline. 1 means the
        fall does not depend on the baseline; below 1, higher baselines fall more.
    slope_ci95_low, slope_ci95_high : float or None
    slope_vs_one_p : float or None
        Two-sided p of the test ``slope = 1`` (the fall does not depend on baseline).
    adjusted_post_mean : float or None
        Expected post-treatment HbA1c (%) of a patient whose baseline equals ``centre``.
    adjusted_reduction : float or None
        ``centre - adjusted_post_mean`` (percentage points): the baseline-adjusted fall.
    adjusted_ci95_low, adjusted_ci95_high : float or None
    adjusted_p : float or None
        Two-sided p of the test ``adjusted_reduction = 0``.
    r_squared : float or None
    residual_sd : float or None
        Root mean squared error of the regression (%).
    df_resid : int or None
        Residual degrees of freedom, ``n - 2``.
    baseline_mean : float or None
        Mean baseline HbA1c (%) of the patients: the adjusted reduction is read at
        ``centre``, not at this mean.
    adjusted_p_holm, slope_vs_one_p_holm : float or None
        Holm-adjusted p-values (see :class:`RegressionToMean`).
    reconstruction_caveat : str or None
    """

    estimable: bool
    reason: str | None
    n: int
    centre: float
    slope: float | None
    slope_ci95_low: float | None
    slope_ci95_high: float | None
    slope_vs_one_p: float | None
    adjusted_post_mean: float | None
    adjusted_reduction: float | None
    adjusted_ci95_low: float | None
    adjusted_ci95_high: float | None
    adjusted_p: float | None
    r_squared: float | None
    residual_sd: float | None
    df_resid: int | None
    baseline_mean: float | None = None
    adjusted_p_holm: float | None = None
    slope_vs_one_p_holm: float | None = None
    reconstruction_caveat: str | None = None


def _exact_fit(residuals: np.ndarray, y: np.ndarray) -> bool:
    scale = max(1.0, float(np.max(np.abs(y))))
    return float(np.max(np.abs(residuals))) <= 1e-10 * scale


def ancova(
    data: pd.DataFrame,
    centre: float,
    confidence: float = 0.95,
    baseline: str = _BASELINE,
    post: str = _POST,
) -> Ancova:
    """Post-treatment HbA1c regressed on baseline HbA1c (analysis of covariance).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per patient.
    centre : float
        Baseline HbA1c (%) at which to read the adjusted post-treatment value, e.g. the
        mean HbA1c of the population the patients came from (where regression to the
        mean is zero).
    confidence : float
        Level of the confidence intervals.
    baseline, post : str
        Columns of HbA1c before and after (%).

    Returns
    -------
    Ancova

    Notes
    -----
    Ordinary least squares, ``post = a + b * (baseline - centre) + e``
    (``statsmodels.api.OLS``); ``adjusted_post_mean = a``, ``adjusted_reduction =
    centre - a``, and the tests ``a = centre`` and ``b = 1`` use ``OLSResults.t_test``.
    Under the regression-to-the-mean model with a constant treatment effect ``d``,
    ``post = mu + r (baseline - mu) - d + e``: the slope estimates the test-retest
    correlation and, with ``centre = mu``, the adjusted reduction estimates ``d`` without
    an outside value of ``r``. Because least squares passes through the means,
    ``adjusted_reduction = observed - (1 - slope) * (baseline_mean - centre)``: the
    residual of :func:`regression_to_mean` with ``r`` replaced by the fitted slope. A
    treatment effect that grows with the baseline also lowers the slope, so in a single
    arm the slope mixes regression to the mean with such an effect. Vickers & Altman
    (2001) recommend analysis of covariance for *controlled trials* with a baseline and
    a follow-up measurement, to compare the arms; they do not discuss a single arm, where
    there is no comparison to adjust. ``adjusted_post_mean`` is the prediction at a
    baseline of ``centre``, not the post-treatment value of a typical patient of the data.

    Not estimable with fewer than 3 patients, when every baseline is the same, or when
    post lies exactly on a line in baseline (no residual variation).

    References
    ----------
    Vickers AJ, Altman DG (2001). Analysing controlled trials with baseline and follow
    up measurements. *BMJ* 323(7321), 1123-1124. doi:10.1136/bmj.323.7321.1123
    """
    check_confidence(confidence)
    centre = float(centre)
    cols = complete_cases(data, [baseline, post])
    b, a = cols[baseline], cols[post]
    n = int(b.size)

    baseline_mean = float(b.mean()) if n else None

    def not_estimable(reason: str) -> Ancova:
        return Ancova(
            estimable=False, reason=reason, n=n, centre=centre, slope=None, slope_ci95_low=None,
            slope_ci95_high=None, slope_vs_one_p=None, adjusted_post_mean=None, adjusted_reduction=None,
            adjusted_ci95_low=None, adjusted_ci95_high=None, adjusted_p=None, r_squared=None,
            residual_sd=None, df_resid=None, baseline_mean=baseline_mean,
        )

    if n < 3:
        return not_estimable(f"Not estimable: fewer than 3 patients with both HbA1c values (n = {n}).")
    if is_constant(b):
        return not_estimable(
            "Not estimable: every patient had the same baseline HbA1c, so post-treatment HbA1c "
            f"cannot be related to the baseline (n = {n})."
        )
    x = sm.add_constant(b - centre, has_constant="add")
    fit = sm.OLS(a, x).fit()
    if _exact_fit(fit.resid, a):
        return not_estimable(
            "Not estimable: post-treatment HbA1c lies exactly on a straight line in the baseline, "
            f"so the regression has no residual variation (n = {n})."
        )
    alpha = 1.0 - confidence
    ci = fit.conf_int(alpha=alpha)
    intercept, slope = float(fit.params[0]), float(fit.params[1])
    slope_test = fit.t_test((np.array([[0.0, 1.0]]), np.array([1.0])))
    level_test = fit.t_test((np.array([[1.0, 0.0]]), np.array([centre])))
    note = None
    if not float(b.min()) <= centre <= float(b.max()):
        note = (f"The adjusted reduction is read at a baseline of {centre:.2f} %, outside the observed "
                f"baselines ({float(b.min()):.1f} to {float(b.max()):.1f} %): an extrapolation.")
    return Ancova(
        estimable=True, reason=note, n=n, centre=centre,
        slope=slope, slope_ci95_low=float(ci[1, 0]), slope_ci95_high=float(ci[1, 1]),
        slope_vs_one_p=float(np.squeeze(slope_test.pvalue)),
        adjusted_post_mean=intercept, adjusted_reduction=centre - intercept,
        adjusted_ci95_low=centre - float(ci[0, 1]), adjusted_ci95_high=centre - float(ci[0, 0]),
        adjusted_p=float(np.squeeze(level_test.pvalue)),
        r_squared=float(fit.rsquared), residual_sd=float(math.sqrt(fit.mse_resid)),
        df_resid=int(round(fit.df_resid)), baseline_mean=baseline_mean,
    )


# ---------------------------------------------------------------------------
# 3. Robust intervals: bootstrap and Wilcoxon / Hodges-Lehmann
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RobustIntervals(TidyResult):
    """Result of :func:`robust_intervals`.

    Attributes
    ----------
    estimable : bool
    reason : str or None
        Why not, or what could not be computed (bootstrap, Hodges-Lehmann interval).
    group : str
    n : int
    mean_reduction : float or None
        Mean of ``baseline - post`` (percentage points).
    t_ci95_low, t_ci95_high : float or None
        Student t interval of the mean (as in the results chapters).
    bootstrap_ci95_low, bootstrap_ci95_high : float or None
        Bootstrap interval of the mean reduction.
    bootstrap_method : str or None
        ``"BCa"`` or ``"percentile"``.
    n_resamples : int
    seed : int
        Seed of ``numpy.random.default_rng`` for the resampling.
    median_reduction : float or None
    hodges_lehmann : float or None
        Hodges-Lehmann estimate: the median of the Walsh averages, the location estimate
        that goes with the signed-rank test.
    wilcoxon_ci95_low, wilcoxon_ci95_high : float or None
        Interval of the Hodges-Lehmann location from inverting the signed-rank test.
    wilcoxon_p : float or None
        Two-sided p of the Wilcoxon signed-rank test of a zero location.
    bootstrap_estimable : bool
        Whether a bootstrap interval is reported; not with fewer than
        :data:`MIN_BOOTSTRAP_N` patients, nor above :data:`BOOTSTRAP_MAX_N`.
    bootstrap_reason : str or None
        Why not.
    wilcoxon_p_holm : float or None
        Holm-adjusted ``wilcoxon_p`` (see :class:`RegressionToMean`).
    reconstruction_caveat : str or None
    """

    estimable: bool
    reason: str | None
    group: str
    n: int
    mean_reduction: float | None
    t_ci95_low: float | None
    t_ci95_high: float | None
    bootstrap_ci95_low: float | None
    bootstrap_ci95_high: float | None
    bootstrap_method: str | None
    n_resamples: int
    seed: int
    median_reduction: float | None
    hodges_lehmann: float | None
    wilcoxon_ci95_low: float | None
    wilcoxon_ci95_high: float | None
    wilcoxon_p: float | None
    bootstrap_estimable: bool = False
    bootstrap_reason: str | None = None
    wilcoxon_p_holm: float | None = None
    reconstruction_caveat: str | None = None


def _walsh_averages(x: np.ndarray) -> np.ndarray:
    i, j = np.triu_indices(x.size)  # i <= j: the n(n+1)/2 Walsh averages
    return np.sort(for_ranking((x[i] + x[j]) / 2))


def _wilcoxon_p(x: np.ndarray) -> float:
    return signed_rank_test(x)[1]


def _hodges_lehmann_interval(x: np.ndarray, confidence: float) -> tuple[float | None, float | None]:
    """The closed interval of locations theta that the signed-rank test does not reject.

    Between two consecutive distinct Walsh averages the signed-rank statistic of
    ``x - theta`` is constant (no zero and no new tie appears), so the test is evaluated
    at their midpoints with ``scipy.stats.wilcoxon`` and the interval runs from the Walsh
    average that opens the first accepted gap to the one that closes the last. The test
    is monotone in the statistic on either side of the centre, so the ends are found by
    bisection. With distinct values this gives R's exact ``wilcox.test(conf.int = TRUE)``
    interval ``[W_(k), W_(M-k+1)]``.
    """
    alpha = 1.0 - confidence
    walsh = np.unique(_walsh_averages(x))
    if walsh.size < 2:
        return None, None
    mids = (walsh[:-1] + walsh[1:]) / 2
    accepts = lambda i: _wilcoxon_p(x - mids[i]) >= alpha  # noqa: E731
    # Outside every Walsh average all signs agree: if even that is not rejected, the
    # interval is unbounded (too few patients for this confidence level).
    if _wilcoxon_p(x - (walsh[0] - 1.0)) >= alpha or _wilcoxon_p(x - (walsh[-1] + 1.0)) >= alpha:
        return None, None
    centre = int(np.argmin(np.abs(mids - float(np.median(_walsh_averages(x))))))
    if not accepts(centre):
        accepted = [i for i in range(mids.size) if accepts(i)]
        if not accepted:
            return None, None
        return float(walsh[accepted[0]]), float(walsh[accepted[-1] + 1])
    lo, hi = 0, centre  # smallest accepted index in [0, centre]
    while lo < hi:
        mid = (lo + hi) // 2
        if accepts(mid):
            hi = mid
        else:
            lo = mid + 1
    first = lo
    lo, hi = centre, mids.size - 1  # largest accepted index in [centre, end]
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if accepts(mid):
            lo = mid
        else:
            hi = mid - 1
    return float(walsh[first]), float(walsh[lo + 1])


def robust_intervals(
    data: pd.DataFrame,
    group: str = "",
    confidence: float = 0.95,
    n_resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    baseline: str = _BASELINE,
    post: str = _POST,
) -> RobustIntervals:
    """The mean reduction's t interval beside a bootstrap and a rank-based interval.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per patient.
    group : str
        Name of the population, copied into the result.
    confidence : float
        Level of every interval.
    n_resamples : int
        Bootstrap resamples.
    seed : int
        Seed of the bootstrap's random generator (``numpy.random.default_rng``).
    baseline, post : str
        Columns of HbA1c before and after (%).

    Returns
    -------
    RobustIntervals

    Notes
    -----
    *t interval*: ``scipy.stats.ttest_1samp(reduction, 0).confidence_interval``.

    *Bootstrap*: ``scipy.stats.bootstrap`` of the mean with the bias-corrected and
    accelerated (BCa) method (Efron 1987), ``n_resamples`` resamples and a fixed seed,
    so the interval is the same on every build. It does not assume normal changes, but
    it is not free of assumptions: it treats the patients' changes as the whole
    population they came from, so in small samples it is too narrow and covers less
    often than stated (Hesterberg 2015). No bootstrap interval is reported below
    :data:`MIN_BOOTSTRAP_N` patients (``bootstrap_estimable`` false, with the reason);
    percentile limits are used above 5,000 patients and no bootstrap above 10,000 (see
    the module constants).

    *Wilcoxon signed-rank / Hodges-Lehmann*: the p-value is
    ``scipy.stats.wilcoxon(reduction)`` (zero reductions dropped, as in the results
    chapters); the estimate is the median of the Walsh averages and the interval the
    set of locations the test does not reject (Hodges & Lehmann 1963). It estimates the
    centre of a symmetric distribution of reductions, not the mean. Not computed when
    the test cannot reject at this level for any location (very few patients).

    Not estimable with fewer than 2 patients or when every reduction is the same.

    References
    ----------
    Efron B (1987). Better bootstrap confidence intervals. *Journal of the American
    Statistical Association* 82(397), 171-185. doi:10.1080/01621459.1987.10478410

    Hodges JL, Lehmann EL (1963). Estimates of location based on rank tests. *Annals of
    Mathematical Statistics* 34(2), 598-611. doi:10.1214/aoms/1177704172

    Hesterberg TC (2015). What teachers should know about the bootstrap: resampling in
    the undergraduate statistics curriculum. *The American Statistician* 69(4), 371-386.
    doi:10.1080/00031305.2015.1089789
    """
    check_confidence(confidence)
    cols = complete_cases(data, [baseline, post])
    reduction = for_ranking(cols[baseline] - cols[post])
    n = int(reduction.size)
    mean = float(reduction.mean()) if n else None
    median = float(np.median(reduction)) if n else None
    empty = dict(t_ci95_low=None, t_ci95_high=None, bootstrap_ci95_low=None, bootstrap_ci95_high=None,
                 bootstrap_method=None, hodges_lehmann=None, wilcoxon_ci95_low=None,
                 wilcoxon_ci95_high=None, wilcoxon_p=None)
    base = dict(group=group, n=n, mean_reduction=mean, median_reduction=median,
                n_resamples=int(n_resamples), seed=int(seed))
    if n < 2:
        reason = f"Not estimable: fewer than 2 patients with both HbA1c values (n = {n})."
        return RobustIntervals(estimable=False, reason=reason, **base, **empty, bootstrap_estimable=False,
                               bootstrap_reason=reason)
    if is_constant(reduction):
        reason = ("Not estimable: every patient's HbA1c changed by the same amount, so no interval "
                  f"of the mean can be formed (n = {n}).")
        return RobustIntervals(estimable=False, reason=reason, **base, **empty, bootstrap_estimable=False,
                               bootstrap_reason=reason)

    notes = []
    t_ci = _st.ttest_1samp(reduction, 0.0).confidence_interval(confidence_level=confidence)

    boot_low = boot_high = boot_reason = None
    method: str | None = "BCa" if n <= BCA_MAX_N else "percentile"
    if n < MIN_BOOTSTRAP_N:
        method = None
        boot_reason = (f"Not estimable: fewer than {MIN_BOOTSTRAP_N} patients (n = {n}); a bootstrap interval "
                       "resamples only the values seen, and from so few it is too narrow to trust.")
        notes.append(f"No bootstrap interval: fewer than {MIN_BOOTSTRAP_N} patients (n = {n}).")
    elif n > BOOTSTRAP_MAX_N:
        method = None
        boot_reason = f"Not computed: with {n} patients the t interval is accurate."
        notes.append(f"No bootstrap: with {n} patients the t interval is accurate.")
    else:
        with warnings.catch_warnings():
            # scipy warns (DegenerateDataWarning) and returns NaN when the resamples
            # cannot give an interval (e.g. two patients); that is reported below.
            warnings.simplefilter("ignore", category=RuntimeWarning)
            warnings.simplefilter("ignore", category=getattr(_st, "DegenerateDataWarning", RuntimeWarning))
            boot = _st.bootstrap(
                (reduction,), np.mean, n_resamples=int(n_resamples), confidence_level=confidence,
                method=method, rng=np.random.default_rng(seed), vectorized=True,
                batch=max(1, BOOTSTRAP_BATCH_VALUES // n),
            )
        boot_low, boot_high = float(boot.confidence_interval.low), float(boot.confidence_interval.high)
        if not (math.isfinite(boot_low) and math.isfinite(boot_high)):
            boot_low = boot_high = None
            boot_reason = "Not estimable: the bootstrap could not form an interval from so few distinct values."
            notes.append("The bootstrap could not form an interval from so few distinct values.")

    hl = wil_low = wil_high = None
    ranked_nonzero = reduction[reduction != 0]
    wil_p = _wilcoxon_p(reduction) if ranked_nonzero.size else None
    if n > WALSH_MAX_N:
        notes.append(f"No Hodges-Lehmann interval: {n} patients give too many Walsh averages.")
    else:
        hl = float(np.median(_walsh_averages(reduction)))
        wil_low, wil_high = _hodges_lehmann_interval(reduction, confidence)
        if wil_low is None:
            notes.append(f"Too few patients for a {confidence:.0%} Wilcoxon (Hodges-Lehmann) interval.")

    return RobustIntervals(
        estimable=True, reason=" ".join(notes) or None, **base,
        t_ci95_low=float(t_ci.low), t_ci95_high=float(t_ci.high),
        bootstrap_ci95_low=boot_low, bootstrap_ci95_high=boot_high, bootstrap_method=method,
        hodges_lehmann=hl, wilcoxon_ci95_low=wil_low, wilcoxon_ci95_high=wil_high, wilcoxon_p=wil_p,
        bootstrap_estimable=boot_low is not None, bootstrap_reason=boot_reason,
    )


# ---------------------------------------------------------------------------
# 4. Reduction against a covariate, adjusted for baseline (dose, follow-up)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CovariateRegression(TidyResult):
    """Result of :func:`dose_regression` and :func:`followup_regression`.

    The reduction (percentage points) is regressed on a predictor and on baseline HbA1c.

    Attributes
    ----------
    estimable : bool
    reason : str or None
    predictor : str
        What the slope is per: ``"log10 dose (cells)"`` or ``"year of follow-up"``.
    n : int
        Patients with the predictor and both HbA1c values.
    predictor_min, predictor_max : float or None
        Range of the predictor in its original unit (cells; months).
    slope : float or None
        Change in the mean reduction per unit of the predictor (per tenfold dose; per
        year of follow-up), adjusted for baseline HbA1c.
    ci95_low, ci95_high : float or None
    p : float or None
        Two-sided p of ``slope = 0``.
    reduction_per_baseline_point : float or None
        Change in the reduction per 1 percentage point higher baseline (adjusted).
    baseline_ci95_low, baseline_ci95_high, baseline_p : float or None
    r_squared : float or None
    unadjusted_slope, unadjusted_p : float or None
        The slope without the baseline in the model.
    spearman_rho, spearman_p : float or None
        Rank correlation of the predictor with the reduction (no model).
    reliability : float or None
        Test-retest correlation ``r`` of HbA1c, when given: regression to the mean alone
        makes the reduction grow with the baseline by ``1 - r`` per point (Oldham 1962).
    baseline_slope_rtm_expected : float or None
        ``1 - reliability``.
    baseline_excess, baseline_excess_ci95_low, baseline_excess_ci95_high : float or None
        ``reduction_per_baseline_point - (1 - reliability)`` and its interval: the part of
        the baseline slope that regression to the mean does not predict.
    baseline_excess_p : float or None
        Two-sided p of ``reduction_per_baseline_point = 1 - reliability``.
    p_holm, unadjusted_p_holm, spearman_p_holm, baseline_excess_p_holm : float or None
        Holm-adjusted p-values (see :class:`RegressionToMean`).
    reconstruction_caveat : str or None
    """

    estimable: bool
    reason: str | None
    predictor: str
    n: int
    predictor_min: float | None
    predictor_max: float | None
    slope: float | None
    ci95_low: float | None
    ci95_high: float | None
    p: float | None
    reduction_per_baseline_point: float | None
    baseline_ci95_low: float | None
    baseline_ci95_high: float | None
    baseline_p: float | None
    r_squared: float | None
    unadjusted_slope: float | None
    unadjusted_p: float | None
    spearman_rho: float | None
    spearman_p: float | None
    reliability: float | None = None
    baseline_slope_rtm_expected: float | None = None
    baseline_excess: float | None = None
    baseline_excess_ci95_low: float | None = None
    baseline_excess_ci95_high: float | None = None
    baseline_excess_p: float | None = None
    p_holm: float | None = None
    unadjusted_p_holm: float | None = None
    spearman_p_holm: float | None = None
    baseline_excess_p_holm: float | None = None
    reconstruction_caveat: str | None = None


def _check_reliability(reliability: float | None) -> float | None:
    if reliability is None:
        return None
    if not 0.0 <= float(reliability) <= 1.0:
        raise ValueError(f"reliability must lie in [0, 1], got {reliability!r}.")
    return float(reliability)


def _slope_against(fit, column: int, value: float, confidence: float) -> tuple[float, float, float, float]:
    """``(estimate - value, ci low, ci high, p)`` of one coefficient of an OLS fit against
    ``value`` (``OLSResults.t_test``)."""
    restriction = np.zeros((1, len(fit.params)))
    restriction[0, column] = 1.0
    test = fit.t_test((restriction, np.array([value])))
    # ContrastResults.effect and conf_int are of the coefficient itself, not minus value.
    low, high = (float(v) - value for v in np.squeeze(test.conf_int(alpha=1.0 - confidence)))
    return (float(np.squeeze(test.effect)) - value, low, high, float(np.squeeze(test.pvalue)))


def _covariate_regression(
    reduction: np.ndarray, x: np.ndarray, b: np.ndarray, raw: np.ndarray, predictor: str,
    what: str, confidence: float, reliability: float | None = None,
) -> CovariateRegression:
    n = int(reduction.size)
    empty = dict(slope=None, ci95_low=None, ci95_high=None, p=None, reduction_per_baseline_point=None,
                 baseline_ci95_low=None, baseline_ci95_high=None, baseline_p=None, r_squared=None,
                 unadjusted_slope=None, unadjusted_p=None, spearman_rho=None, spearman_p=None)
    base = dict(predictor=predictor, n=n, predictor_min=float(raw.min()) if n else None,
                predictor_max=float(raw.max()) if n else None, reliability=reliability,
                baseline_slope_rtm_expected=None if reliability is None else 1.0 - reliability)

    def not_estimable(reason: str) -> CovariateRegression:
        return CovariateRegression(estimable=False, reason=reason, **base, **empty)

    if n < 4:
        return not_estimable(
            f"Not estimable: fewer than 4 patients with {what} and both HbA1c values (n = {n}); "
            "a regression on two predictors needs at least 4."
        )
    if is_constant(x):
        return not_estimable(f"Not estimable: every patient has the same {what} (n = {n}).")
    if is_constant(b):
        return not_estimable(
            f"Not estimable: every patient had the same baseline HbA1c, so the analysis cannot be "
            f"adjusted for it (n = {n})."
        )
    design = np.column_stack([np.ones(n), x, b])
    if np.linalg.matrix_rank(design) < 3:
        return not_estimable(
            f"Not estimable: {what} is an exact straight-line function of the baseline HbA1c, "
            "so their effects cannot be separated."
        )
    fit = sm.OLS(reduction, design).fit()
    if _exact_fit(fit.resid, reduction):
        return not_estimable(
            "Not estimable: the reduction lies exactly on a plane in the predictors, so the "
            "regression has no residual variation."
        )
    ci = fit.conf_int(alpha=1.0 - confidence)
    simple = sm.OLS(reduction, sm.add_constant(x, has_constant="add")).fit()
    rho = _st.spearmanr(x, reduction) if not is_constant(reduction) else None
    excess = {}
    if reliability is not None:
        diff, low, high, p_excess = _slope_against(fit, 2, 1.0 - reliability, confidence)
        excess = dict(baseline_excess=diff, baseline_excess_ci95_low=low, baseline_excess_ci95_high=high,
                      baseline_excess_p=p_excess)
    return CovariateRegression(
        estimable=True, reason=None, **base,
        slope=float(fit.params[1]), ci95_low=float(ci[1, 0]), ci95_high=float(ci[1, 1]),
        p=float(fit.pvalues[1]),
        reduction_per_baseline_point=float(fit.params[2]), baseline_ci95_low=float(ci[2, 0]),
        baseline_ci95_high=float(ci[2, 1]), baseline_p=float(fit.pvalues[2]),
        r_squared=float(fit.rsquared),
        unadjusted_slope=float(simple.params[1]),
        unadjusted_p=None if _exact_fit(simple.resid, reduction) else float(simple.pvalues[1]),
        spearman_rho=None if rho is None else float(rho.statistic),
        spearman_p=None if rho is None else float(rho.pvalue),
        **excess,
    )


def dose_regression(
    data: pd.DataFrame,
    confidence: float = 0.95,
    dose: str = "dose_cells",
    baseline: str = _BASELINE,
    post: str = _POST,
    reliability: float | None = None,
) -> CovariateRegression:
    """Reduction in HbA1c per tenfold dose, adjusted for baseline HbA1c.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per patient.
    confidence : float
        Level of the confidence intervals.
    dose : str
        Column of the infused dose (cells, > 0).
    baseline, post : str
        Columns of HbA1c before and after (%).
    reliability : float, optional
        Test-retest correlation of HbA1c: the baseline slope is then also tested against
        the ``1 - reliability`` that regression to the mean alone predicts (the
        ``baseline_excess`` fields; see :func:`change_on_baseline`).

    Returns
    -------
    CovariateRegression
        ``slope`` is the change in mean reduction (percentage points) per tenfold
        (one log10 unit) higher dose at the same baseline.

    Notes
    -----
    Ordinary least squares (``statsmodels.api.OLS``):
    ``reduction = a + slope * log10(dose) + c * baseline + e``. The dose enters on the
    log scale because doses span more than a factor of ten and are given in round
    multiples. Adjusting for the baseline matters because the dose was "tailored to
    individual clinical conditions" and higher baselines fall more (regression to the
    mean among other reasons). Dose was not randomised: the slope is an association.
    Not estimable with fewer than 4 patients, a single dose, a single baseline, or a
    dose that is a linear function of the baseline.
    """
    check_confidence(confidence)
    reliability = _check_reliability(reliability)
    cols = complete_cases(data, [dose, baseline, post])
    keep = cols[dose] > 0
    raw = cols[dose][keep]
    b = cols[baseline][keep]
    reduction = for_ranking(b - cols[post][keep])
    return _covariate_regression(reduction, np.log10(raw) if raw.size else raw, b, raw,
                                 "log10 dose (cells)", "dose", confidence, reliability)


def followup_regression(
    data: pd.DataFrame,
    confidence: float = 0.95,
    followup: str = "followup_months",
    baseline: str = _BASELINE,
    post: str = _POST,
    reliability: float | None = None,
) -> CovariateRegression:
    """Does the fall in HbA1c shrink with longer follow-up? Slope per year, baseline-adjusted.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per patient.
    confidence : float
        Level of the confidence intervals.
    followup : str
        Column of the time from the infusion to the post-treatment HbA1c (months).
    baseline, post : str
        Columns of HbA1c before and after (%).
    reliability : float, optional
        As in :func:`dose_regression`.

    Returns
    -------
    CovariateRegression
        ``slope`` is the change in mean reduction (percentage points) per year of
        follow-up at the same baseline; negative means patients measured later had
        smaller falls (decay). ``predictor_min``/``max`` are in months.

    Notes
    -----
    Ordinary least squares of the reduction on follow-up (years = months / 12) and
    baseline. Each patient contributes one post-treatment value, at a time that differs
    between patients, so this compares *different patients* measured at different times:
    it is not a within-patient time course, and later-treated and earlier-treated
    patients may differ in other ways. ``spearman_rho`` is the unadjusted rank
    correlation of follow-up with the reduction. Not estimable with fewer than 4
    patients, one follow-up time, or one baseline.
    """
    check_confidence(confidence)
    reliability = _check_reliability(reliability)
    cols = complete_cases(data, [followup, baseline, post])
    months = cols[followup]
    b = cols[baseline]
    reduction = for_ranking(b - cols[post])
    return _covariate_regression(reduction, months / MONTHS_PER_YEAR, b, months,
                                 "year of follow-up", "follow-up time", confidence, reliability)


# ---------------------------------------------------------------------------
# 4b. Change regressed on baseline, against regression to the mean
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ChangeOnBaseline(TidyResult):
    """Result of :func:`change_on_baseline`.

    Attributes
    ----------
    estimable : bool
    reason : str or None
    n : int
        Patients with both HbA1c values.
    reliability : float
        Test-retest correlation ``r`` of HbA1c used.
    slope : float or None
        Change in the reduction (percentage points) per percentage point of higher
        baseline.
    slope_ci95_low, slope_ci95_high : float or None
    slope_p : float or None
        Two-sided p of ``slope = 0``: the naive test, biased by regression to the mean.
    rtm_expected_slope : float
        ``1 - reliability``: the slope regression to the mean alone produces.
    excess : float or None
        ``slope - rtm_expected_slope``: what regression to the mean does not predict.
    excess_ci95_low, excess_ci95_high : float or None
    excess_p : float or None
        Two-sided p of ``slope = 1 - reliability``.
    reliability_explaining_slope : float or None
        ``1 - slope``: the test-retest correlation at which regression to the mean alone
        would give the whole slope; ``None`` when that is outside [0, 1].
    excess_p_holm : float or None
        Holm-adjusted ``excess_p`` (see :class:`RegressionToMean`).
    reconstruction_caveat : str or None
    """

    estimable: bool
    reason: str | None
    n: int
    reliability: float
    slope: float | None
    slope_ci95_low: float | None
    slope_ci95_high: float | None
    slope_p: float | None
    rtm_expected_slope: float
    excess: float | None
    excess_ci95_low: float | None
    excess_ci95_high: float | None
    excess_p: float | None
    reliability_explaining_slope: float | None
    excess_p_holm: float | None = None
    reconstruction_caveat: str | None = None


def change_on_baseline(
    data: pd.DataFrame,
    reliability: float,
    confidence: float = 0.95,
    baseline: str = _BASELINE,
    post: str = _POST,
) -> ChangeOnBaseline:
    """Does the fall grow with the baseline more than regression to the mean predicts?

    Parameters
    ----------
    data : pandas.DataFrame
        One row per patient.
    reliability : float
        Test-retest correlation ``r`` of HbA1c (0 to 1).
    confidence : float
        Level of the confidence intervals.
    baseline, post : str
        Columns of HbA1c before and after (%).

    Returns
    -------
    ChangeOnBaseline

    Notes
    -----
    Ordinary least squares of the reduction ``baseline - post`` on the baseline
    (``statsmodels.api.OLS``). Regressing a change on its own starting value is biased
    (Oldham 1962): the baseline's measurement error and day-to-day variation enter the
    change with the opposite sign, so even without any treatment, with equal variances at
    both times and test-retest correlation ``r``, the reduction grows with the baseline
    by ``1 - r`` per point. The slope is therefore tested against ``1 - r``
    (``OLSResults.t_test``), not against 0, and the excess over ``1 - r`` reported. The
    excess depends on ``r``, taken as known; it is not estimable with fewer than 3
    patients, one baseline value, or a perfect fit.

    References
    ----------
    Oldham PD (1962). A note on the analysis of repeated measurements of the same
    subjects. *Journal of Chronic Diseases* 15(10), 969-977.
    doi:10.1016/0021-9681(62)90116-9
    """
    check_confidence(confidence)
    r = _check_reliability(reliability)
    if r is None:
        raise ValueError("reliability is required.")
    cols = complete_cases(data, [baseline, post])
    b = cols[baseline]
    reduction = for_ranking(b - cols[post])
    n = int(b.size)
    base = dict(n=n, reliability=r, rtm_expected_slope=1.0 - r)

    def not_estimable(reason: str) -> ChangeOnBaseline:
        return ChangeOnBaseline(estimable=False, reason=reason, **base, slope=None, slope_ci95_low=None,
                                slope_ci95_high=None, slope_p=None, excess=None, excess_ci95_low=None,
                                excess_ci95_high=None, excess_p=None, reliability_explaining_slope=None)

    if n < 3:
        return not_estimable(f"Not estimable: fewer than 3 patients with both HbA1c values (n = {n}).")
    if is_constant(b):
        return not_estimable(
            "Not estimable: every patient had the same baseline HbA1c, so the fall cannot be related to "
            f"the baseline (n = {n}).")
    fit = sm.OLS(reduction, sm.add_constant(b, has_constant="add")).fit()
    if _exact_fit(fit.resid, reduction):
        return not_estimable(
            "Not estimable: the fall lies exactly on a straight line in the baseline, so the regression "
            f"has no residual variation (n = {n}).")
    ci = fit.conf_int(alpha=1.0 - confidence)
    slope = float(fit.params[1])
    excess, low, high, p_excess = _slope_against(fit, 1, 1.0 - r, confidence)
    explaining = 1.0 - slope
    return ChangeOnBaseline(
        estimable=True, reason=None, **base, slope=slope, slope_ci95_low=float(ci[1, 0]),
        slope_ci95_high=float(ci[1, 1]), slope_p=float(fit.pvalues[1]), excess=excess, excess_ci95_low=low,
        excess_ci95_high=high, excess_p=p_excess,
        reliability_explaining_slope=explaining if 0.0 <= explaining <= 1.0 else None,
    )


# ---------------------------------------------------------------------------
# 5. MSC source
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceComparison(TidyResult):
    """Result of :func:`source_comparison`.

    Attributes
    ----------
    estimable : bool
        Whether at least two sources could be compared.
    reason : str or None
        Why not, or which sources were left out (too few patients).
    n : int
        Patients with a source and both HbA1c values.
    min_per_group : int
        Smallest group compared.
    n_groups_compared : int
    groups_compared : str
        Comma-separated sources in the tests.
    n_umbilical_cord, n_bone_marrow, n_adipose : int
    mean_reduction_umbilical_cord, mean_reduction_bone_marrow, mean_reduction_adipose : float or None
        Mean reduction (percentage points) per source (all patients of the source).
    welch_f, welch_df_num, welch_df_denom, welch_p : float or None
        Welch's heteroscedastic one-way ANOVA of the reductions.
    kruskal_h, kruskal_p : float or None
        Kruskal-Wallis rank test (tie-corrected H, chi-squared p).
    welch_p_holm, kruskal_p_holm : float or None
        Holm-adjusted p-values (see :class:`RegressionToMean`).
    reconstruction_caveat : str or None
    """

    estimable: bool
    reason: str | None
    n: int
    min_per_group: int
    n_groups_compared: int
    groups_compared: str
    n_umbilical_cord: int
    n_bone_marrow: int
    n_adipose: int
    mean_reduction_umbilical_cord: float | None
    mean_reduction_bone_marrow: float | None
    mean_reduction_adipose: float | None
    welch_f: float | None
    welch_df_num: float | None
    welch_df_denom: float | None
    welch_p: float | None
    kruskal_h: float | None
    kruskal_p: float | None
    welch_p_holm: float | None = None
    kruskal_p_holm: float | None = None
    reconstruction_caveat: str | None = None


def source_comparison(
    data: pd.DataFrame,
    min_per_group: int = MIN_PATIENTS_PER_SOURCE,
    source: str = "msc_source",
    baseline: str = _BASELINE,
    post: str = _POST,
) -> SourceComparison:
    """Compare the reduction in HbA1c between MSC sources.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per patient.
    min_per_group : int
        Sources with fewer patients are described but left out of the tests (default
        :data:`MIN_PATIENTS_PER_SOURCE` = 5, the usual minimum for the chi-squared
        approximation of Kruskal-Wallis).
    source : str
        Column of the MSC source (``umbilical_cord``, ``bone_marrow``, ``adipose``).
    baseline, post : str
        Columns of HbA1c before and after (%).

    Returns
    -------
    SourceComparison

    Notes
    -----
    *Welch's ANOVA* (Welch 1951): ``statsmodels.stats.oneway.anova_oneway(...,
    use_var="unequal")``; with two groups it equals Welch's t-test (F = t^2). Left out
    (reported as ``None``) when a compared group has zero variance.
    *Kruskal-Wallis* (Kruskal & Wallis 1952): ``scipy.stats.kruskal``. Sources were not
    randomised and may differ in baseline, dose and time of treatment.

    References
    ----------
    Welch BL (1951). On the comparison of several mean values: an alternative approach.
    *Biometrika* 38(3/4), 330-336. doi:10.1093/biomet/38.3-4.330

    Kruskal WH, Wallis WA (1952). Use of ranks in one-criterion variance analysis.
    *Journal of the American Statistical Association* 47(260), 583-621.
    doi:10.1080/01621459.1952.10483441
    """
    if int(min_per_group) < 2:
        raise ValueError(f"min_per_group must be at least 2, got {min_per_group!r}.")
    sub = data[[source, baseline, post]].dropna()
    reduction = for_ranking(sub[baseline].to_numpy(dtype=float) - sub[post].to_numpy(dtype=float))
    labels = sub[source].astype(str).to_numpy()
    by_source = {s: reduction[labels == s] for s in MSC_SOURCES}
    counts = {f"n_{s}": int(v.size) for s, v in by_source.items()}
    means = {f"mean_reduction_{s}": float(v.mean()) if v.size else None for s, v in by_source.items()}
    compared = [s for s in MSC_SOURCES if by_source[s].size >= min_per_group]
    too_small = [f"{s.replace('_', ' ')} (n = {by_source[s].size})" for s in MSC_SOURCES
                 if 0 < by_source[s].size < min_per_group]
    base = dict(n=int(reduction.size), min_per_group=int(min_per_group), n_groups_compared=len(compared),
                groups_compared=", ".join(compared), **counts, **means)
    tests = dict(welch_f=None, welch_df_num=None, welch_df_denom=None, welch_p=None, kruskal_h=None,
                 kruskal_p=None)
    left_out = (f"Left out of the tests, fewer than {min_per_group} patients: {', '.join(too_small)}."
                if too_small else None)
    if len(compared) < 2:
        reason = (f"Not estimable: fewer than two MSC sources have at least {min_per_group} patients "
                  "with both HbA1c values.")
        return SourceComparison(estimable=False, reason=" ".join(filter(None, [reason, left_out])),
                                **base, **tests)
    samples = [by_source[s] for s in compared]
    notes = [left_out]
    if any(is_constant(v) for v in samples):
        notes.append("Welch's ANOVA is undefined: in at least one source every patient changed by the same amount.")
    else:
        welch = anova_oneway(samples, use_var="unequal", welch_correction=True)
        df_num, df_denom = (float(d) for d in welch.df)
        tests.update(welch_f=float(welch.statistic), welch_df_num=df_num, welch_df_denom=df_denom,
                     welch_p=float(welch.pvalue))
    if is_constant(np.concatenate(samples)):
        notes.append("The Kruskal-Wallis test is undefined: every patient changed by the same amount.")
    else:
        kw = _st.kruskal(*samples)
        tests.update(kruskal_h=float(kw.statistic), kruskal_p=float(kw.pvalue))
    reason = " ".join(filter(None, notes)) or None
    estimable = tests["welch_p"] is not None or tests["kruskal_p"] is not None
    return SourceComparison(estimable=estimable, reason=reason, **base, **tests)

"""How much of the fall in HbA1c is real? Sensitivity analyses of the single-arm design.

The paper compares HbA1c before and after one infusion in a single arm, with the severe
group *selected* for a high baseline. This module asks the questions a biostatistician
asks first of such a design, each as one function that takes the patients (a DataFrame,
one row per patient) and returns a tidy, frozen result (:class:`~livingpaper.stats.result.TidyResult`)
with ``estimable`` and a clinician-readable ``reason``:

- :func:`regression_to_mean`: the fall expected from regression to the mean alone, for a
  given test-retest correlation of HbA1c, and the residual fall beyond it;
  :func:`rtm_curve` the same over a range of correlations, and
  :func:`regression_to_mean_at_slope` at the correlation read off the ANCOVA's slope.
- :func:`ancova`: post-treatment HbA1c regressed on baseline (the baseline-adjusted view).
- :func:`change_on_baseline`: the fall regressed on baseline, tested against the slope
  regression to the mean alone produces (read from the ANCOVA's fit).

The other questions of the chapter beyond the paper have their own modules: robust
intervals in :mod:`livingpaper.stats.robust`; dose, follow-up and MSC source in
:mod:`livingpaper.stats.covariates`.

Units: HbA1c in NGSP percent; reductions (``baseline - post``, positive = HbA1c fell)
in percentage points. Only complete cases of the columns a function needs are used.

The statistics come from scipy and statsmodels; this module selects the data, guards
degenerate input and packages the results.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import optimize
from scipy import stats as _st

from livingpaper.stats.result import (
    TidyResult,
    check_confidence,
    complete_cases,
    for_ranking,
    is_constant,
)

#: Test-retest correlations of HbA1c shown in the regression-to-the-mean curve.
RELIABILITY_GRID = tuple(float(r) for r in np.round(np.linspace(0.5, 0.95, 46), 2))

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
        paper (:func:`livingpaper.results.beyond.analyse`); ``None`` outside it.
    reconstruction_caveat : str or None
        See :class:`livingpaper.stats.paired.PairedReduction`.
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
            own = _regression_to_mean(data, population_mean, r_own, group, confidence, baseline, post,
                                      with_threshold=False)
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
    b = None if slope is None or not math.isfinite(float(slope)) else float(slope)
    if b is not None and 0.0 <= b <= 1.0:
        return _regression_to_mean(data, population_mean, b, group, confidence, baseline, post)
    # Not a correlation: the description of the group stays (read at r = 1, where nothing
    # depends on r), everything that needs r is left out.
    reason = ("Not estimable: the baseline-adjusted analysis gave no slope to read as a correlation." if b is None
              else f"Not estimable: the fitted slope ({b:.2f}) lies outside 0 to 1, so it cannot be read as "
                   "a test-retest correlation.")
    return dataclasses.replace(
        _regression_to_mean(data, population_mean, 1.0, group, confidence, baseline, post, with_threshold=False),
        estimable=False, reason=reason, reliability=b, expected_rtm_reduction=None, residual_reduction=None,
        residual_ci95_low=None, residual_ci95_high=None, residual_t=None, residual_df=None, residual_p=None,
        share_explained=None, reliability_threshold=None)


def _regression_to_mean(
    data: pd.DataFrame,
    population_mean: float,
    reliability: float,
    group: str,
    confidence: float,
    baseline: str,
    post: str,
    with_threshold: bool = True,
) -> RegressionToMean:
    """:func:`regression_to_mean` at one reliability; ``with_threshold=False`` leaves
    ``reliability_threshold`` out (``None``) for callers that discard it: its search over
    every correlation from 0 to 1 is the costly part, and the rest is unchanged."""
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
        reliability_threshold=_reliability_threshold(reduction, deviation, confidence) if with_threshold else None,
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
            # The curve shows no threshold: it is not searched for at each of its points.
            res = _regression_to_mean(data, population_mean, float(r), name, confidence, _BASELINE, _POST,
                                      with_threshold=False)
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
    fitted: Ancova | None = None,
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
    fitted : Ancova, optional
        :func:`ancova` of the same patients at the same ``confidence`` (any centre): the
        regression this result is read from, so that a build fits it once. Fitted here
        when not given.

    Returns
    -------
    ChangeOnBaseline

    Notes
    -----
    Least squares of the reduction ``baseline - post`` on the baseline. It is the
    regression of :func:`ancova` written for the fall: ``baseline - post = (1 - b) *
    baseline + ...`` where ``b`` is the ANCOVA's slope, with the same residuals; so the
    slope here is ``1 - b``, its interval ``1 -`` the ANCOVA's, ``slope_p`` the ANCOVA's
    ``slope_vs_one_p``, and the test of ``slope = 1 - r`` the t-test of that slope with the
    standard error its interval gives (``scipy.stats.t``, ``df_resid`` degrees of
    freedom). Regressing a change on its own starting value is biased
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
    b = complete_cases(data, [baseline, post])[baseline]
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
    if fitted is None:
        fitted = ancova(data, float(b.mean()), confidence, baseline, post)
    elif fitted.n != n:
        raise ValueError(f"fitted is the ANCOVA of {fitted.n} patients, not of these {n}.")
    if not fitted.estimable:
        return not_estimable(
            "Not estimable: the fall lies exactly on a straight line in the baseline, so the regression "
            f"has no residual variation (n = {n}).")
    slope = 1.0 - fitted.slope
    low, high = 1.0 - fitted.slope_ci95_high, 1.0 - fitted.slope_ci95_low
    se = (high - low) / (2.0 * float(_st.t.ppf(0.5 + confidence / 2, fitted.df_resid)))
    excess = slope - (1.0 - r)
    p_excess = float(2.0 * _st.t.sf(abs(excess / se), fitted.df_resid))
    explaining = 1.0 - slope
    return ChangeOnBaseline(
        estimable=True, reason=None, **base, slope=slope, slope_ci95_low=low, slope_ci95_high=high,
        slope_p=fitted.slope_vs_one_p, excess=excess, excess_ci95_low=low - (1.0 - r),
        excess_ci95_high=high - (1.0 - r), excess_p=p_excess,
        reliability_explaining_slope=explaining if 0.0 <= explaining <= 1.0 else None,
    )

"""The reduction against covariates: dose, follow-up and MSC source."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats as _st
from statsmodels.stats.oneway import anova_oneway

from livingpaper.domain import MSC_SOURCES
from livingpaper.stats.result import (
    TidyResult,
    check_confidence,
    complete_cases,
    for_ranking,
    is_constant,
)
from livingpaper.stats.rtm import (
    _BASELINE,
    _POST,
    _check_reliability,
    _exact_fit,
    _slope_against,
)

#: Smallest group compared by MSC source. Kruskal-Wallis refers H to a chi-squared
#: distribution, "a typical rule is that each sample must have at least 5 measurements"
#: (scipy.stats.kruskal documentation; Kruskal & Wallis 1952); Welch's ANOVA estimates a
#: variance per group and its F approximation is poor with fewer (Welch 1951).
MIN_PATIENTS_PER_SOURCE = 5
#: Months per year, for the follow-up slope.
MONTHS_PER_YEAR = 12.0


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


def least_squares_line(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Slope and intercept of the ordinary least-squares line of ``y`` on ``x`` (numpy
    ``polyfit`` of degree 1): the line the follow-up figure draws."""
    slope, intercept = np.polyfit(np.asarray(x, dtype=float), np.asarray(y, dtype=float), 1)
    return float(slope), float(intercept)

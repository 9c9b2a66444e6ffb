"""Statistics for the HbA1c before/after stem-cell infusion study.

Every public function returns a frozen dataclass whose fields are plain
Python values (``float``, ``int``, ``bool``, ``str`` or ``None``), so that
results can be written to JSON, compared in tests and quoted in prose
without numpy scalars leaking out.  Each result carries ``estimable`` and a
clinician-readable ``reason``; when a test cannot be computed the
inferential fields are ``None`` and the descriptive fields that are still
defined are kept.

HbA1c is used in whatever unit the input columns hold (percent, DCCT, or
mmol/mol, IFCC); reductions are reported in that same unit, e.g.
percentage points when HbA1c is in percent.  A *reduction* is always
``baseline - post``, so a positive value means HbA1c fell.

The computations are delegated to :mod:`scipy.stats`; this module only
selects complete cases, guards degenerate inputs and packages the results.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as _st
from statsmodels.stats.weightstats import DescrStatsW

from livingpaper.stats.result import (
    TidyResult,
    _mean,
    _sd,
    check_confidence,
    complete_cases,
    for_ranking,
    is_constant,
)

_WELCH = "Welch two-sample t-test"


# ---------------------------------------------------------------------------
# 1. Paired before/after reduction
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PairedReduction(TidyResult):
    """Result of :func:`paired_reduction`.

    Attributes
    ----------
    estimable : bool
        Whether the paired t-test could be computed.
    reason : str or None
        Why not; ``None`` when all is well.
    n : int
        Patients with both a baseline and a post value.
    baseline_mean, baseline_sd, post_mean, post_sd : float or None
        HbA1c mean and sample SD (ddof=1) at each time point, in the
        input unit.  SDs need ``n >= 2``.
    mean_reduction, sd_reduction : float or None
        Mean and sample SD of ``baseline - post`` (positive = HbA1c fell).
    ci95_low, ci95_high : float or None
        Confidence interval of ``mean_reduction`` at the requested level
        (named for the default 95 %).
    t : float or None
        Paired t statistic (positive when HbA1c fell on average).
    df : int or None
        Degrees of freedom, ``n - 1``.
    p : float or None
        Two-sided p-value of the paired t-test.
    cohen_dz : float or None
        ``mean_reduction / sd_reduction``; equals ``t / sqrt(n)``.
    wilcoxon_statistic : float or None
        scipy's two-sided signed-rank statistic, ``min(W+, W-)``, where
        ``W+`` is the rank sum of the positive reductions (R's ``V``).
        ``W+ = n'(n'+1)/2 - W-`` with ``n'`` the number of non-zero
        reductions.
    wilcoxon_p : float or None
        Two-sided p-value of the Wilcoxon signed-rank test.
    wilcoxon_v : float or None
        R's statistic ``V = W+``: the sum of the ranks of |reduction| over the patients
        whose HbA1c fell (zeros dropped, tied values given their mid-rank).
    wilcoxon_method : str or None
        Which variant of the test gave ``wilcoxon_p`` (:data:`SIGNED_RANK_EXACT`,
        :data:`SIGNED_RANK_CONDITIONAL` or :data:`SIGNED_RANK_NORMAL`; see
        :func:`signed_rank_variant`).
    reconstruction_caveat : str or None
        On the reconstructed cohort, what in this result is a choice of the
        reconstruction rather than a figure of the paper; ``None`` on any other data
        (set by :func:`livingpaper.results.caveats.with_caveat`).
    """

    estimable: bool
    reason: str | None
    n: int
    baseline_mean: float | None
    baseline_sd: float | None
    post_mean: float | None
    post_sd: float | None
    mean_reduction: float | None
    sd_reduction: float | None
    ci95_low: float | None
    ci95_high: float | None
    t: float | None
    df: int | None
    p: float | None
    cohen_dz: float | None
    wilcoxon_statistic: float | None
    wilcoxon_p: float | None
    wilcoxon_v: float | None = None
    wilcoxon_method: str | None = None
    reconstruction_caveat: str | None = None


def paired_reduction(
    data: pd.DataFrame,
    baseline: str = "hba1c_baseline",
    post: str = "hba1c_post",
    confidence: float = 0.95,
) -> PairedReduction:
    """Within-patient change in HbA1c from baseline to after the infusion.

    The reduction for each patient is ``baseline - post`` in the unit of
    the input columns (percentage points if HbA1c is in percent); a
    positive value means HbA1c fell.  Only complete cases are used: rows
    with a missing baseline *or* post value are dropped before anything is
    computed, and ``n`` counts the rows kept.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per patient.
    baseline, post : str
        Column names of HbA1c before and after the infusion.
    confidence : float
        Confidence level of the interval for the mean reduction.

    Returns
    -------
    PairedReduction
        Descriptive statistics, the paired t-test, Cohen's d_z and the
        Wilcoxon signed-rank test.

    Notes
    -----
    *Paired t-test* (Student 1908): ``scipy.stats.ttest_rel(baseline,
    post)``, two-sided, ``df = n - 1``; the confidence interval of the mean
    reduction comes from the result's ``confidence_interval``.  This is the
    one-sample t-test of the reductions against 0.

    *Effect size*: Cohen's d_z (Cohen 1988) = mean of the differences /
    sample SD of the differences, which equals ``t / sqrt(n)``.

    *Wilcoxon signed-rank test* (Wilcoxon 1945):
    ``scipy.stats.wilcoxon(reduction, zero_method="wilcox",
    alternative="two-sided")`` with scipy's default ``method="auto"``.
    Reductions are rounded to 10 decimals first so that floating-point noise
    does not break genuine ties.  Zero reductions are dropped, as in R's
    ``wilcox.test``.  In scipy 1.16 ``method="auto"`` chooses:

    - no ties and no zeros, ``n <= 50``: the exact null distribution;
    - ties or zeros, ``n <= 13``: an exhaustive permutation test over all
      ``2**n`` sign flips (``scipy.stats.permutation_test``), i.e. the exact
      conditional distribution given the tied ranks.  This differs from R,
      which falls back to the normal approximation whenever ties or zeros
      are present;
    - otherwise (``n > 50``, or ties/zeros with ``13 < n <= 50``): the
      normal approximation with the tie-corrected variance and, unlike R's
      default, *no* continuity correction (scipy's ``correction=False``).

    Here ``n`` is the number of reductions including zeros.  The field
    ``wilcoxon_statistic`` is scipy's two-sided statistic ``min(W+, W-)``;
    ``wilcoxon_v`` is R's ``V = W+`` and ``wilcoxon_method`` names the
    variant used (:func:`signed_rank_variant`, whose docstring gives the R
    call that reproduces each).

    The result is not estimable when fewer than 2 patients have both
    values, or when every reduction is the same (zero variance; the
    t statistic would be a division by zero).  In the latter case the mean
    reduction is still reported, with ``sd_reduction = 0``.

    References
    ----------
    Student (1908). The probable error of a mean. *Biometrika* 6(1), 1-25.

    Wilcoxon, F. (1945). Individual comparisons by ranking methods.
    *Biometrics Bulletin* 1(6), 80-83.

    Cohen, J. (1988). *Statistical Power Analysis for the Behavioral
    Sciences*, 2nd ed. Hillsdale, NJ: Lawrence Erlbaum.
    """
    check_confidence(confidence)
    cols = complete_cases(data, [baseline, post])
    b, a = cols[baseline], cols[post]
    reduction = b - a
    n = int(reduction.size)

    descriptive = dict(
        n=n,
        baseline_mean=_mean(b),
        baseline_sd=_sd(b),
        post_mean=_mean(a),
        post_sd=_sd(a),
        mean_reduction=_mean(reduction),
        sd_reduction=_sd(reduction),
    )
    not_inferred = dict(
        ci95_low=None, ci95_high=None, t=None, df=None, p=None,
        cohen_dz=None, wilcoxon_statistic=None, wilcoxon_p=None,
    )

    if n < 2:
        return PairedReduction(
            estimable=False,
            reason=(
                "Not estimable: fewer than 2 patients with both HbA1c "
                f"values (n = {n})."
            ),
            **descriptive,
            **not_inferred,
        )

    if is_constant(reduction):
        # Report the SD as exactly 0 rather than float noise like 1e-16.
        descriptive["sd_reduction"] = 0.0
        if np.all(for_ranking(reduction) == 0):
            reason = (
                "Not estimable: no patient's HbA1c changed (every reduction "
                "is 0), so neither the paired t-test nor the Wilcoxon "
                f"signed-rank test is defined (n = {n})."
            )
        else:
            reason = (
                "Not estimable: every patient's HbA1c changed by the same "
                "amount, so the paired t-test is undefined "
                f"(n = {n})."
            )
        return PairedReduction(estimable=False, reason=reason, **descriptive, **not_inferred)

    tt = _st.ttest_rel(b, a, alternative="two-sided")
    ci = tt.confidence_interval(confidence_level=confidence)

    # Not all zero: reductions that round to 0 at 10 decimals lie within 0.5e-10 of it,
    # so they are constant and were caught above (scipy never sees an all-zero input).
    ranked = for_ranking(reduction)
    w_stat, w_p = signed_rank_test(ranked)
    w_v, w_method = signed_rank_v(ranked), signed_rank_variant(ranked)

    return PairedReduction(
        estimable=True,
        reason=None,
        **descriptive,
        ci95_low=float(ci.low),
        ci95_high=float(ci.high),
        t=float(tt.statistic),
        df=int(tt.df),
        p=float(tt.pvalue),
        cohen_dz=descriptive["mean_reduction"] / descriptive["sd_reduction"],
        wilcoxon_statistic=w_stat,
        wilcoxon_p=w_p,
        wilcoxon_v=w_v,
        wilcoxon_method=w_method,
    )


#: scipy.stats.wilcoxon ("auto") tests samples of at most this many values that have ties
#: or zeros by enumerating every one of their 2**n sign patterns (scipy/stats/_wilcoxon.py).
PERMUTATION_MAX_N = 13


def signed_rank_test(reduction: np.ndarray) -> tuple[float, float]:
    """Two-sided Wilcoxon signed-rank test of reductions against 0: ``(statistic, p)``.

    ``scipy.stats.wilcoxon(reduction, zero_method="wilcox")``; see :func:`paired_reduction`
    for how scipy chooses the exact, permutation or normal p. Pass values already rounded
    with :func:`for_ranking`.

    Where scipy's choice is the exact permutation test (at most ``PERMUTATION_MAX_N``
    values, with ties or zeros), the same test is run here through
    ``scipy.stats.permutation_test`` with the statistic (scipy's own R+, from
    ``scipy.stats.wilcoxon``) evaluated for all sign patterns at once: scipy evaluates it
    one pattern at a time, about a second at n = 13 against a hundredth. The p is the
    same number (tests/test_stats_paired.py compares the two on hundreds of samples).
    """
    values = np.asarray(reduction, dtype=float)
    statistic = _st.wilcoxon(values, zero_method="wilcox", alternative="two-sided", method="asymptotic").statistic
    nonzero = np.abs(values[values != 0])
    if values.size <= PERMUTATION_MAX_N and (nonzero.size < values.size or np.unique(nonzero).size < nonzero.size):
        p = _st.permutation_test((values,), _r_plus, permutation_type="samples", vectorized=True,
                                 n_resamples=9999, alternative="two-sided", axis=-1).pvalue
        return float(statistic), float(p)
    w = _st.wilcoxon(values, zero_method="wilcox", alternative="two-sided")
    return float(w.statistic), float(w.pvalue)


#: scipy.stats.wilcoxon ("auto") uses the exact null distribution for samples of at most
#: this many values without ties or zeros, and the normal approximation above it.
EXACT_MAX_N = 50

#: The three variants of the signed-rank test that scipy's ``method="auto"`` chooses
#: between (:func:`signed_rank_variant`), as recorded in ``wilcoxon_method``.
SIGNED_RANK_EXACT = "exact"
SIGNED_RANK_CONDITIONAL = "exact conditional (ties or zeros)"
SIGNED_RANK_NORMAL = "normal approximation (no continuity correction)"

#: The R call that gives the same two-sided p as each variant, with the reductions
#: ``baseline - post`` (zeros dropped by both). R's own default differs: it uses the
#: exact test only below 50 values and applies a continuity correction otherwise, and it
#: has no exact test with ties (the coin package has).
SIGNED_RANK_R_CALLS = {
    SIGNED_RANK_EXACT: "wilcox.test(baseline, post, paired = TRUE, exact = TRUE)",
    SIGNED_RANK_CONDITIONAL: ('coin::wilcoxsign_test(baseline ~ post, zero.method = "Wilcoxon", '
                              'distribution = "exact")'),
    SIGNED_RANK_NORMAL: "wilcox.test(baseline, post, paired = TRUE, exact = FALSE, correct = FALSE)",
}


def signed_rank_variant(reduction: np.ndarray) -> str:
    """Which variant of the signed-rank test :func:`signed_rank_test` uses for these values.

    As scipy's ``method="auto"`` (scipy/stats/_wilcoxon.py), with ``n`` the number of
    values *including* zeros:

    - :data:`SIGNED_RANK_EXACT`: no ties and no zeros, ``n <= EXACT_MAX_N`` (50): the
      exact null distribution of ``W+``;
    - :data:`SIGNED_RANK_CONDITIONAL`: ties or zeros, ``n <= PERMUTATION_MAX_N`` (13):
      zeros dropped, mid-ranks, every sign pattern enumerated, i.e. the exact distribution
      conditional on the tied ranks;
    - :data:`SIGNED_RANK_NORMAL` otherwise: zeros dropped, the normal approximation
      with the tie-corrected variance and no continuity correction.

    :data:`SIGNED_RANK_R_CALLS` gives the R call that reproduces each. Pass values already rounded with :func:`for_ranking`.
    """
    values = np.asarray(reduction, dtype=float)
    nonzero = np.abs(values[values != 0])
    ties_or_zeros = nonzero.size < values.size or np.unique(nonzero).size < nonzero.size
    if values.size > EXACT_MAX_N:
        return SIGNED_RANK_NORMAL
    if not ties_or_zeros:
        return SIGNED_RANK_EXACT
    return SIGNED_RANK_CONDITIONAL if values.size <= PERMUTATION_MAX_N else SIGNED_RANK_NORMAL


def signed_rank_v(reduction: np.ndarray) -> float:
    """R's signed-rank statistic ``V = W+``: the sum of the mid-ranks of ``|reduction|``
    over the positive reductions, zeros dropped (``wilcox.test(d)$statistic``)."""
    values = np.asarray(reduction, dtype=float)
    nonzero = values[values != 0]
    ranks = _st.rankdata(np.abs(nonzero))
    return float(ranks[nonzero > 0].sum())


def _r_plus(d: np.ndarray, axis: int) -> np.ndarray:
    """Sum of the ranks of |d| over the positive d (zeros dropped): scipy's permutation statistic."""
    return _st.wilcoxon(d, zero_method="wilcox", alternative="greater", method="asymptotic", axis=axis).statistic


# ---------------------------------------------------------------------------
# 2. High versus low dose
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DoseComparison(TidyResult):
    """Result of :func:`dose_comparison`.

    Attributes
    ----------
    estimable : bool
        Whether Welch's t-test could be computed.
    reason : str or None
        Why not; ``None`` when estimable.
    n_high, n_low : int
        Complete-case patients in each dose group.
    mean_reduction_high, mean_reduction_low : float or None
        Mean HbA1c reduction (``baseline - post``) per group.
    difference : float or None
        ``mean_reduction_high - mean_reduction_low``; positive means a
        larger fall in HbA1c with the high dose.
    ci95_low, ci95_high : float or None
        Confidence interval of ``difference`` at the requested level.
    t : float or None
        Welch t statistic (same sign as ``difference``).
    df : float or None
        Welch-Satterthwaite degrees of freedom (not an integer).
    p : float or None
        Two-sided p-value.
    test : str
        Name of the test, ``"Welch two-sample t-test"``.
    reconstruction_caveat : str or None
        See :class:`PairedReduction`.
    """

    estimable: bool
    reason: str | None
    n_high: int
    n_low: int
    mean_reduction_high: float | None
    mean_reduction_low: float | None
    difference: float | None
    ci95_low: float | None
    ci95_high: float | None
    t: float | None
    df: float | None
    p: float | None
    test: str
    reconstruction_caveat: str | None = None


def dose_comparison(
    high: pd.DataFrame,
    low: pd.DataFrame,
    baseline: str = "hba1c_baseline",
    post: str = "hba1c_post",
    confidence: float = 0.95,
) -> DoseComparison:
    """Compare the HbA1c reduction between the high- and low-dose groups.

    Each group's reductions (``baseline - post``, in the unit of the input
    columns; complete cases only) are compared with Welch's
    unequal-variance two-sample t-test.

    Parameters
    ----------
    high, low : pandas.DataFrame
        One row per patient in the high- and low-dose group.
    baseline, post : str
        Column names of HbA1c before and after the infusion.
    confidence : float
        Confidence level of the interval for the difference.

    Returns
    -------
    DoseComparison
        Group sizes and mean reductions, their difference (high minus low)
        with confidence interval, and Welch's t, df and two-sided p.

    Notes
    -----
    ``scipy.stats.ttest_ind(high, low, equal_var=False)``; the interval
    comes from the result's ``confidence_interval``.  Welch's test does not
    assume equal variances, which matters with small, unequal groups.  The
    degrees of freedom follow Welch-Satterthwaite.

    Not estimable when either group has fewer than 2 patients, or when
    every patient within each group has the same reduction (both group
    variances zero, so the standard error is zero).  If only one group has
    zero variance the test is still defined and is computed.

    References
    ----------
    Welch, B. L. (1947). The generalization of "Student's" problem when
    several different population variances are involved. *Biometrika*
    34(1-2), 28-35.
    """
    check_confidence(confidence)
    h = complete_cases(high, [baseline, post])
    lo = complete_cases(low, [baseline, post])
    red_h = h[baseline] - h[post]
    red_l = lo[baseline] - lo[post]
    n_h, n_l = int(red_h.size), int(red_l.size)
    mean_h, mean_l = _mean(red_h), _mean(red_l)
    difference = mean_h - mean_l if mean_h is not None and mean_l is not None else None

    def not_estimable(reason: str) -> DoseComparison:
        return DoseComparison(
            estimable=False, reason=reason, n_high=n_h, n_low=n_l,
            mean_reduction_high=mean_h, mean_reduction_low=mean_l,
            difference=difference, ci95_low=None, ci95_high=None,
            t=None, df=None, p=None, test=_WELCH,
        )

    too_small = [(name, k) for name, k in (("high-dose", n_h), ("low-dose", n_l)) if k < 2]
    if too_small:
        groups = " and ".join(f"the {name} group (n = {k})" for name, k in too_small)
        return not_estimable(
            f"Not estimable: fewer than 2 patients with both HbA1c values in {groups}."
        )
    if is_constant(red_h) and is_constant(red_l):
        return not_estimable(
            "Not estimable: within each dose group every patient's HbA1c "
            "changed by the same amount, so Welch's t-test is undefined."
        )

    with warnings.catch_warnings():
        # scipy warns about "catastrophic cancellation" whenever a group is
        # constant.  One constant group is fine for Welch's test (its
        # variance is simply 0), and that is the only case that reaches here.
        warnings.filterwarnings(
            "ignore", message="Precision loss occurred", category=RuntimeWarning
        )
        tt = _st.ttest_ind(red_h, red_l, equal_var=False, alternative="two-sided")
        ci = tt.confidence_interval(confidence_level=confidence)

    return DoseComparison(
        estimable=True,
        reason=None,
        n_high=n_h,
        n_low=n_l,
        mean_reduction_high=mean_h,
        mean_reduction_low=mean_l,
        difference=difference,
        ci95_low=float(ci.low),
        ci95_high=float(ci.high),
        t=float(tt.statistic),
        df=float(tt.df),
        p=float(tt.pvalue),
        test=_WELCH,
    )


# ---------------------------------------------------------------------------
# 3. Dose-response correlation
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DoseCorrelation(TidyResult):
    """Result of :func:`dose_correlation`.

    Attributes
    ----------
    estimable : bool
        Whether the correlations could be computed.
    reason : str or None
        Why not; ``None`` when estimable.
    n : int
        Patients with a dose and both HbA1c values.
    pearson_r, pearson_p : float or None
        Pearson correlation of dose with reduction and its two-sided p.
    spearman_rho, spearman_p : float or None
        Spearman rank correlation and its two-sided p.
    reconstruction_caveat : str or None
        See :class:`PairedReduction`.
    """

    estimable: bool
    reason: str | None
    n: int
    pearson_r: float | None
    pearson_p: float | None
    spearman_rho: float | None
    spearman_p: float | None
    reconstruction_caveat: str | None = None


def dose_correlation(
    data: pd.DataFrame,
    dose: str = "dose_cells",
    baseline: str = "hba1c_baseline",
    post: str = "hba1c_post",
) -> DoseCorrelation:
    """Correlate the infused dose with the HbA1c reduction.

    The dose is in the unit of the ``dose`` column (number of cells); the
    reduction is ``baseline - post`` in the unit of the HbA1c columns.  A
    positive correlation means larger doses went with larger falls in
    HbA1c.  Only rows with dose, baseline and post all present are used.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per patient.
    dose : str
        Column with the infused dose (cells).
    baseline, post : str
        Column names of HbA1c before and after the infusion.

    Returns
    -------
    DoseCorrelation
        Pearson r and Spearman rho with two-sided p-values.

    Notes
    -----
    ``scipy.stats.pearsonr`` (Pearson 1895): its two-sided p-value is exact
    under bivariate normality and equals the p-value of the slope in an
    ordinary least-squares regression of reduction on dose.

    ``scipy.stats.spearmanr`` (Spearman 1904): Pearson's r on mid-ranks.
    Its p-value uses the t approximation ``t = rho * sqrt((n - 2) / (1 -
    rho**2))`` with ``n - 2`` df, not an exact permutation distribution, so
    it is only approximate for very small samples.  Reductions are rounded
    to 10 decimals before ranking so that floating-point noise does not
    break ties.

    Not estimable with fewer than 3 patients (``n - 2 = 0`` df), or when
    the dose or the reduction is the same for every patient (a correlation
    with a constant is undefined).

    References
    ----------
    Pearson, K. (1895). Notes on regression and inheritance in the case of
    two parents. *Proceedings of the Royal Society of London* 58, 240-242.

    Spearman, C. (1904). The proof and measurement of association between
    two things. *American Journal of Psychology* 15(1), 72-101.
    """
    cols = complete_cases(data, [dose, baseline, post])
    x = cols[dose]
    reduction = cols[baseline] - cols[post]
    n = int(x.size)

    def not_estimable(reason: str) -> DoseCorrelation:
        return DoseCorrelation(
            estimable=False, reason=reason, n=n, pearson_r=None,
            pearson_p=None, spearman_rho=None, spearman_p=None,
        )

    if n < 3:
        return not_estimable(
            "Not estimable: fewer than 3 patients with a recorded dose and "
            f"both HbA1c values (n = {n})."
        )
    if is_constant(x):
        return not_estimable(
            "Not estimable: every patient received the same dose, so dose "
            f"cannot be correlated with the change in HbA1c (n = {n})."
        )
    if is_constant(reduction):
        return not_estimable(
            "Not estimable: every patient's HbA1c changed by the same "
            f"amount, so it cannot be correlated with dose (n = {n})."
        )

    pr = _st.pearsonr(x, reduction, alternative="two-sided")
    sr = _st.spearmanr(x, for_ranking(reduction), alternative="two-sided")
    return DoseCorrelation(
        estimable=True,
        reason=None,
        n=n,
        pearson_r=float(pr.statistic),
        pearson_p=float(pr.pvalue),
        spearman_rho=float(sr.statistic),
        spearman_p=float(sr.pvalue),
    )


# ---------------------------------------------------------------------------
# 7. Copulas
# ---------------------------------------------------------------------------


def spearman_of_gaussian_copula(rho: float) -> float:
    """Spearman rank correlation of a bivariate normal (Gaussian copula) with correlation ``rho``.

    ``(6 / pi) * arcsin(rho / 2)`` (Pearson 1907; Kruskal 1958, eq. 4.7): the rank
    correlation that pairing values through a Gaussian copula with parameter ``rho``
    produces in expectation (slightly below ``rho`` in size for 0 < |rho| < 1).

    References
    ----------
    Kruskal WH (1958). Ordinal measures of association. *Journal of the American
    Statistical Association* 53(284), 814-861. doi:10.1080/01621459.1958.10501481
    """
    rho = float(rho)
    if not -1.0 <= rho <= 1.0:
        raise ValueError(f"rho must lie in [-1, 1], got {rho!r}.")
    return 6.0 / math.pi * math.asin(rho / 2.0)


def mean_ci(values: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """The mean of ``values`` and the half-width of its Student-t confidence interval
    (statsmodels ``DescrStatsW.tconfint_mean``); NaN for what cannot be computed (no value:
    both; one value: the half-width). What the figures draw as "mean (95% CI)"."""
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return math.nan, math.nan
    mean = float(np.mean(values))
    if values.size < 2:
        return mean, math.nan
    low, high = DescrStatsW(values).tconfint_mean(alpha=1 - confidence)
    return mean, float(high - low) / 2

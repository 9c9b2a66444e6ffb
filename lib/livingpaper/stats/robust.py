"""Robust intervals for a mean change: the BCa bootstrap (not below
:data:`MIN_BOOTSTRAP_N` patients) and the Hodges-Lehmann interval of the signed-rank test."""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as _st

from livingpaper.stats.paired import PairedReduction, signed_rank_test
from livingpaper.stats.result import (
    TidyResult,
    check_confidence,
    complete_cases,
    for_ranking,
    is_constant,
)
from livingpaper.stats.rtm import _BASELINE, _POST

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
    paired: PairedReduction | None = None,
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
    paired : PairedReduction, optional
        :func:`livingpaper.stats.paired.paired_reduction` of the same patients at the same
        ``confidence`` (a build's paired section): its mean, t interval and Wilcoxon p are
        taken as they are instead of being computed again (the same tests on the same
        reductions).

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
    if paired is not None and paired.n != n:
        raise ValueError(f"paired is the section of {paired.n} patients, not of these {n}.")
    known = paired if paired is not None and paired.estimable else None
    mean = paired.mean_reduction if paired is not None else (float(reduction.mean()) if n else None)
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
    if known is not None:
        t_low, t_high = known.ci95_low, known.ci95_high
    else:
        t_ci = _st.ttest_1samp(reduction, 0.0).confidence_interval(confidence_level=confidence)
        t_low, t_high = float(t_ci.low), float(t_ci.high)

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
    if known is not None and known.wilcoxon_p is not None:
        wil_p = known.wilcoxon_p
    else:
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
        t_ci95_low=t_low, t_ci95_high=t_high,
        bootstrap_ci95_low=boot_low, bootstrap_ci95_high=boot_high, bootstrap_method=method,
        hodges_lehmann=hl, wilcoxon_ci95_low=wil_low, wilcoxon_ci95_high=wil_high, wilcoxon_p=wil_p,
        bootstrap_estimable=boot_low is not None, bootstrap_reason=boot_reason,
    )

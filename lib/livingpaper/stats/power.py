"""The trial that would settle it: sample size and power of a two-arm randomised trial.

A single-arm cohort cannot separate the infusion's effect from regression to the mean,
usual-care drift and the placebo response. A randomised placebo-controlled trial can:
both arms share those, and the difference between the arms is the treatment effect.
This module answers "how many patients would such a trial need to detect a given
difference in the reduction of HbA1c?" for the observed reduction (the optimistic
planning value) and for the reduction left after regression to the mean (the more
realistic one).

Every assumption is an argument with a stated default:

- ``alpha`` = 0.05, two-sided;
- ``power`` = 0.80;
- ``allocation_ratio`` = 1 (treated : control = 1 : 1);
- ``sd_change``: the standard deviation of the change in HbA1c, assumed equal in both
  arms (the pooled SD of the two-sample t-test); the book takes the SD of the change
  observed in the cohort;
- ``dropout`` = 0: the proportion lost before the primary measurement, by which the
  enrolment target is inflated.

The outcome is the change in HbA1c analysed with a two-sample t-test; an analysis of
covariance on baseline would need fewer patients (Vickers & Altman 2001), so these
numbers are conservative in that respect.

References
----------
Cohen J (1988). *Statistical Power Analysis for the Behavioral Sciences*, 2nd ed.
Hillsdale, NJ: Lawrence Erlbaum.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from statsmodels.stats.power import TTestIndPower

from livingpaper.parameters import ALPHA
from livingpaper.stats.result import TidyResult

POWER = 0.80
#: Below this standardised difference (difference / SD) no feasible trial detects it;
#: at 0.01 a 1:1 trial would already need about 157,000 patients per arm.
MIN_EFFECT_SIZE = 0.01
#: Upper end of the power curve when no required size is known.
DEFAULT_MAX_N_PER_ARM = 400
METHOD = "two-sample t-test (statsmodels TTestIndPower), two-sided"


@dataclass(frozen=True)
class TrialSize(TidyResult):
    """Result of :func:`sample_size`.

    Attributes
    ----------
    estimable : bool
    reason : str or None
    reduction_difference : float or None
        Difference between the arms in mean reduction to detect (percentage points).
    sd_change : float or None
        Standard deviation of the change in HbA1c in each arm (percentage points).
    effect_size : float or None
        ``reduction_difference / sd_change`` (Cohen's d).
    alpha, power, allocation_ratio, dropout : float
        The assumptions (allocation ratio = treated / control).
    n_per_arm : int or None
        Patients in the control arm (the treated arm has ``allocation_ratio`` times as
        many; with 1:1 both arms have this many).
    n_treated : int or None
    n_total : int or None
        Patients analysed in both arms.
    n_total_with_dropout : int or None
        Patients to enrol so that ``n_total`` remain after ``dropout``.
    method : str
    """

    estimable: bool
    reason: str | None
    reduction_difference: float | None
    sd_change: float | None
    effect_size: float | None
    alpha: float
    power: float
    allocation_ratio: float
    dropout: float
    n_per_arm: int | None
    n_treated: int | None
    n_total: int | None
    n_total_with_dropout: int | None
    method: str


def _check(alpha: float, power: float, allocation_ratio: float, dropout: float) -> None:
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha!r}.")
    if not 0.0 < power < 1.0:
        raise ValueError(f"power must lie strictly between 0 and 1, got {power!r}.")
    if not allocation_ratio > 0:
        raise ValueError(f"allocation_ratio must be positive, got {allocation_ratio!r}.")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must lie in [0, 1), got {dropout!r}.")


def sample_size(
    reduction_difference: float | None,
    sd_change: float | None,
    alpha: float = ALPHA,
    power: float = POWER,
    allocation_ratio: float = 1.0,
    dropout: float = 0.0,
) -> TrialSize:
    """Patients per arm to detect a difference in mean reduction between two arms.

    Parameters
    ----------
    reduction_difference : float or None
        Treated minus control mean reduction to detect (percentage points, > 0).
    sd_change : float or None
        SD of the change in HbA1c, the same in both arms (percentage points, > 0).
    alpha : float
        Two-sided significance level.
    power : float
        Probability of detecting the difference if it is real.
    allocation_ratio : float
        Treated patients per control patient.
    dropout : float
        Proportion of enrolled patients expected to miss the primary measurement.

    Returns
    -------
    TrialSize

    Notes
    -----
    ``TTestIndPower().solve_power(effect_size=d, alpha=alpha, power=power,
    ratio=allocation_ratio, alternative="two-sided")`` solves the noncentral t power
    equation for the control-arm size, rounded up; the treated arm is ``ratio`` times
    that, rounded up. Enrolment with dropout is ``ceil(n / (1 - dropout))`` per arm.

    Not estimable when the difference is missing or not positive (nothing to detect),
    the SD is missing or not positive, or the effect size is below
    :data:`MIN_EFFECT_SIZE`.
    """
    _check(alpha, power, allocation_ratio, dropout)
    fixed = dict(alpha=float(alpha), power=float(power), allocation_ratio=float(allocation_ratio),
                 dropout=float(dropout), method=METHOD)

    def not_estimable(reason: str, d: float | None = None) -> TrialSize:
        return TrialSize(estimable=False, reason=reason, reduction_difference=reduction_difference,
                         sd_change=sd_change, effect_size=d, n_per_arm=None, n_treated=None, n_total=None,
                         n_total_with_dropout=None, **fixed)

    if sd_change is None or not math.isfinite(sd_change) or sd_change <= 0:
        return not_estimable("Not estimable: the standard deviation of the change is unknown or zero.")
    if reduction_difference is None or not math.isfinite(reduction_difference):
        return not_estimable("Not estimable: there is no reduction to plan for.")
    if reduction_difference <= 0:
        return not_estimable(
            "Not estimable: the planning reduction is zero or negative, so there is no benefit to detect."
        )
    d = reduction_difference / sd_change
    if d < MIN_EFFECT_SIZE:
        return not_estimable(
            f"Not estimable: the reduction is below {MIN_EFFECT_SIZE} standard deviations of the change; "
            "no feasible trial could detect it.", d)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter; the result is checked below
        n1 = TTestIndPower().solve_power(effect_size=d, alpha=alpha, power=power, ratio=allocation_ratio,
                                         alternative="two-sided")
    n1 = float(np.squeeze(n1))
    if not math.isfinite(n1) or n1 <= 0:
        return not_estimable("Not estimable: the power equation has no solution for these assumptions.", d)
    n_control = math.ceil(n1 - 1e-9)
    n_treated = math.ceil(n1 * allocation_ratio - 1e-9)
    enrol = lambda k: math.ceil(k / (1.0 - dropout) - 1e-9)  # noqa: E731
    return TrialSize(
        estimable=True, reason=None, reduction_difference=float(reduction_difference),
        sd_change=float(sd_change), effect_size=d, n_per_arm=n_control, n_treated=n_treated,
        n_total=n_control + n_treated, n_total_with_dropout=enrol(n_control) + enrol(n_treated), **fixed,
    )


@dataclass(frozen=True)
class TrialPlan(TidyResult):
    """Result of :func:`trial_plan`: the trial sized for two planning reductions.

    Attributes
    ----------
    estimable : bool
        Whether a size could be computed for the observed reduction.
    reason : str or None
    group : str
        The population the trial would enrol (``"overall"``, ``"severe"``).
    sd_change : float or None
    alpha, power, allocation_ratio, dropout : float
    reliability : float or None
        Test-retest correlation used for the regression-adjusted reduction.
    observed_reduction : float or None
        Mean reduction seen in the cohort (percentage points).
    effect_size_observed : float or None
    n_per_arm_observed, n_total_observed, n_total_observed_with_dropout : int or None
    rtm_adjusted_reduction : float or None
        Observed reduction minus the expected regression to the mean.
    effect_size_rtm_adjusted : float or None
    n_per_arm_rtm_adjusted, n_total_rtm_adjusted, n_total_rtm_adjusted_with_dropout : int or None
    rtm_adjusted_reason : str or None
        Why the regression-adjusted size is not estimable, if it is not.
    reconstruction_caveat : str or None
        See :class:`livingpaper.stats.paired.PairedReduction`.
    """

    estimable: bool
    reason: str | None
    group: str
    sd_change: float | None
    alpha: float
    power: float
    allocation_ratio: float
    dropout: float
    reliability: float | None
    observed_reduction: float | None
    effect_size_observed: float | None
    n_per_arm_observed: int | None
    n_total_observed: int | None
    n_total_observed_with_dropout: int | None
    rtm_adjusted_reduction: float | None
    effect_size_rtm_adjusted: float | None
    n_per_arm_rtm_adjusted: int | None
    n_total_rtm_adjusted: int | None
    n_total_rtm_adjusted_with_dropout: int | None
    rtm_adjusted_reason: str | None
    reconstruction_caveat: str | None = None


def trial_plan(
    observed_reduction: float | None,
    rtm_adjusted_reduction: float | None,
    sd_change: float | None,
    group: str = "",
    reliability: float | None = None,
    alpha: float = ALPHA,
    power: float = POWER,
    allocation_ratio: float = 1.0,
    dropout: float = 0.0,
) -> TrialPlan:
    """Size a placebo-controlled trial for the observed and the regression-adjusted reduction.

    Parameters
    ----------
    observed_reduction : float or None
        Mean reduction in the single arm (percentage points): the optimistic planning
        value, as if placebo, drift and regression to the mean were all zero.
    rtm_adjusted_reduction : float or None
        The same minus the reduction expected from regression to the mean (which a
        control arm would share).
    sd_change : float or None
        SD of the change in HbA1c, assumed equal in both arms.
    group : str
        Who the trial would enrol, copied into the result.
    reliability : float or None
        The test-retest correlation behind ``rtm_adjusted_reduction``, for the record.
    alpha, power, allocation_ratio, dropout : float
        See :func:`sample_size`.

    Returns
    -------
    TrialPlan
    """
    observed = sample_size(observed_reduction, sd_change, alpha, power, allocation_ratio, dropout)
    adjusted = sample_size(rtm_adjusted_reduction, sd_change, alpha, power, allocation_ratio, dropout)
    return TrialPlan(
        estimable=observed.estimable, reason=observed.reason, group=group, sd_change=sd_change,
        alpha=float(alpha), power=float(power), allocation_ratio=float(allocation_ratio), dropout=float(dropout),
        reliability=reliability, observed_reduction=observed_reduction,
        effect_size_observed=observed.effect_size, n_per_arm_observed=observed.n_per_arm,
        n_total_observed=observed.n_total, n_total_observed_with_dropout=observed.n_total_with_dropout,
        rtm_adjusted_reduction=rtm_adjusted_reduction, effect_size_rtm_adjusted=adjusted.effect_size,
        n_per_arm_rtm_adjusted=adjusted.n_per_arm, n_total_rtm_adjusted=adjusted.n_total,
        n_total_rtm_adjusted_with_dropout=adjusted.n_total_with_dropout,
        rtm_adjusted_reason=adjusted.reason,
    )


def power_curve(
    sd_change: float | None,
    scenarios: Mapping[str, float | None],
    n_per_arm: np.ndarray | None = None,
    alpha: float = ALPHA,
    allocation_ratio: float = 1.0,
) -> pd.DataFrame:
    """Power of the trial against its size, for each planning reduction.

    Parameters
    ----------
    sd_change : float or None
        SD of the change in HbA1c in each arm (percentage points).
    scenarios : mapping of str to float or None
        Planning reductions by name (e.g. ``{"observed": 0.79, "after regression to the
        mean": 0.67}``); missing or non-positive ones are left out.
    n_per_arm : array of int, optional
        Control-arm sizes (>= 2). Default: 2 up to 1.5 times the largest size needed
        for 80 % power (at least 50, at most 2,000).
    alpha : float
        Two-sided significance level.
    allocation_ratio : float
        Treated patients per control patient.

    Returns
    -------
    pandas.DataFrame
        ``scenario, reduction_difference, effect_size, n_per_arm, power``; empty when no
        scenario can be computed.
    """
    _check(alpha, POWER, allocation_ratio, 0.0)
    columns = ["scenario", "reduction_difference", "effect_size", "n_per_arm", "power"]
    usable = {name: float(delta) for name, delta in scenarios.items()
              if delta is not None and sd_change is not None and sd_change > 0 and math.isfinite(delta)
              and delta / sd_change >= MIN_EFFECT_SIZE}
    if not usable:
        return pd.DataFrame(columns=columns)
    if n_per_arm is None:
        needed = [sample_size(delta, sd_change, alpha, POWER, allocation_ratio).n_per_arm
                  for delta in usable.values()]
        top = max([n for n in needed if n is not None] or [DEFAULT_MAX_N_PER_ARM])
        n_per_arm = np.arange(2, int(min(2000, max(50, math.ceil(1.5 * top)))) + 1)
    n_per_arm = np.asarray(n_per_arm, dtype=float)
    if np.any(n_per_arm < 2):
        raise ValueError("every n_per_arm must be at least 2")
    rows = []
    analysis = TTestIndPower()
    for name, delta in usable.items():
        d = delta / sd_change
        power_values = analysis.power(effect_size=d, nobs1=n_per_arm, alpha=alpha, ratio=allocation_ratio,
                                      alternative="two-sided")
        rows += [{"scenario": name, "reduction_difference": delta, "effect_size": d, "n_per_arm": int(n),
                  "power": float(p)} for n, p in zip(n_per_arm, np.atleast_1d(power_values))]
    return pd.DataFrame(rows, columns=columns)

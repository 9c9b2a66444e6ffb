"""Safety: how high could the rate of serious adverse events be, given what was seen?

The paper reports no serious adverse event in 61 patients. Zero events is not a zero
rate: the exact (Clopper-Pearson) confidence interval of a binomial proportion says how
high the true rate could plausibly be. For 0 events in ``n`` patients the two-sided 95 %
exact upper bound has the closed form ``1 - 0.025 ** (1 / n)`` (the rate at which seeing
no event has probability 2.5 %); the "rule of three", ``3 / n``, approximates the
*one-sided* 95 % bound ``1 - 0.05 ** (1 / n)`` (Hanley & Lippman-Hand 1983).

References
----------
Clopper CJ, Pearson ES (1934). The use of confidence or fiducial limits illustrated in
the case of the binomial. *Biometrika* 26(4), 404-413. doi:10.1093/biomet/26.4.404

Hanley JA, Lippman-Hand A (1983). If nothing goes wrong, is everything all right?
Interpreting zero numerators. *JAMA* 249(13), 1743-1745.
doi:10.1001/jama.1983.03330370053031
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats as _st

from livingpaper.stats.result import TidyResult, check_confidence

METHOD = "Clopper-Pearson exact, two-sided"
#: Below this upper bound the bound is also said as "1 in N"; at or above it (e.g. 26.5 %
#: with 0 of 12) only as a percentage, since "1 in 3" would misstate it by a quarter.
ONE_IN_MAX_RATE = 0.10
#: The rule of three is meant for at least 30 patients (Hanley & Lippman-Hand 1983).
RULE_OF_THREE_MIN_N = 30
SAE_COLUMN = "serious_adverse_event"


@dataclass(frozen=True)
class SafetyBound(TidyResult):
    """Result of :func:`clopper_pearson` and :func:`serious_adverse_events`.

    Attributes
    ----------
    estimable : bool
    reason : str or None
    n : int
        Patients whose adverse-event status is recorded.
    events : int or None
        Patients with at least one serious adverse event.
    rate : float or None
        ``events / n`` (a proportion, 0 to 1).
    lower95, upper95 : float or None
        Exact two-sided confidence interval of the rate (named for the default 95 %).
    rule_of_three_upper95 : float or None
        ``3 / n``, the rule-of-three approximation of the one-sided 95 % upper bound;
        only when no event was recorded and ``n`` is at least
        :data:`RULE_OF_THREE_MIN_N` (below that the approximation is poor, and above
        100 % for n < 3).
    method : str
    one_in : int or None
        With no event and an upper bound below :data:`ONE_IN_MAX_RATE`: the smallest
        ``N`` with ``1 / N`` at most the upper bound, ``ceil(1 / upper95)``, so that "a
        true rate as high as 1 in N" is a rate the interval contains (0 of 61: 1 in 18,
        since 1/17 lies above the bound 5.87 %). ``None`` otherwise.
    n_treated : int or None
        Patients in the data (every infused patient, recorded status or not);
        ``None`` for a bare count (:func:`clopper_pearson`).
    reconstruction_caveat : str or None
    """

    estimable: bool
    reason: str | None
    n: int
    events: int | None
    rate: float | None
    lower95: float | None
    upper95: float | None
    rule_of_three_upper95: float | None
    method: str
    one_in: int | None = None
    n_treated: int | None = None
    reconstruction_caveat: str | None = None


def one_in(upper: float | None) -> int | None:
    """The smallest N with 1/N at most ``upper`` (``None`` when ``upper`` is missing,
    zero, or at least :data:`ONE_IN_MAX_RATE`)."""
    if upper is None or not 0.0 < upper < ONE_IN_MAX_RATE:
        return None
    n = math.ceil(1.0 / upper)
    # Guard the float division: 1/N must not exceed the bound.
    return n + 1 if 1.0 / n > upper else n


def clopper_pearson(events: int, n: int, confidence: float = 0.95) -> SafetyBound:
    """Exact binomial confidence interval of an event rate.

    Parameters
    ----------
    events : int
        Number of patients with the event, ``0 <= events <= n``.
    n : int
        Number of patients observed.
    confidence : float
        Two-sided confidence level.

    Returns
    -------
    SafetyBound

    Notes
    -----
    ``scipy.stats.binomtest(events, n).proportion_ci(confidence_level, method="exact")``,
    the Clopper-Pearson interval: its limits are the rates at which the observed count
    sits exactly at the ``(1 - confidence) / 2`` tail. It never covers less than the
    stated level. With 0 events the lower limit is 0 and the upper limit is
    ``1 - ((1 - confidence) / 2) ** (1 / n)``, i.e. ``1 - 0.025 ** (1 / n)`` at 95 %.

    Not estimable when ``n`` is 0.
    """
    check_confidence(confidence)
    n, events = int(n), int(events)
    if n < 0 or events < 0 or events > n:
        raise ValueError(f"need 0 <= events <= n, got events={events}, n={n}.")
    if n == 0:
        return SafetyBound(
            estimable=False, reason="Not estimable: no patient has a recorded adverse-event status.",
            n=0, events=None, rate=None, lower95=None, upper95=None, rule_of_three_upper95=None,
            method=METHOD,
        )
    ci = _st.binomtest(events, n).proportion_ci(confidence_level=confidence, method="exact")
    return SafetyBound(
        estimable=True, reason=None, n=n, events=events, rate=events / n,
        lower95=float(ci.low), upper95=float(ci.high),
        rule_of_three_upper95=3.0 / n if events == 0 and n >= RULE_OF_THREE_MIN_N else None, method=METHOD,
        one_in=one_in(float(ci.high)) if events == 0 else None,
    )


def serious_adverse_events(
    data: pd.DataFrame, column: str = SAE_COLUMN, confidence: float = 0.95
) -> SafetyBound:
    """Rate of serious adverse events in the treated patients, with its exact interval.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per treated patient (all valid rows, not only those with a follow-up
        HbA1c: safety concerns everyone who was infused).
    column : str
        0/1 column: 1 if a serious adverse event was recorded.
    confidence : float
        Two-sided confidence level.

    Returns
    -------
    SafetyBound
        Over the patients whose status is recorded (empty cells are left out):
        ``n`` is that denominator, ``n_treated`` every row of ``data``.
        Not estimable when the file has no such column or no recorded value.
    """
    treated = int(len(data))
    if column not in data.columns:
        return SafetyBound(
            estimable=False,
            reason="Not estimable: this file does not record serious adverse events.",
            n=0, events=None, rate=None, lower95=None, upper95=None, rule_of_three_upper95=None,
            method=METHOD, n_treated=treated,
        )
    values = pd.to_numeric(data[column], errors="coerce").dropna().to_numpy(dtype=float)
    return replace(clopper_pearson(int(np.count_nonzero(values)), int(values.size), confidence), n_treated=treated)

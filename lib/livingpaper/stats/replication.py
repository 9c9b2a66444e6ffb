"""Does this cohort show what the paper reported? Replication criteria for each claim.

A clinic that re-executes the book on its own patients asks whether they show what
Matsuoka et al. 2025 reported, not whether its file equals the paper's. This module
answers that question for each claim of the abstract (:data:`CLAIMS`): the mean
reduction in all patients, in the moderate group and in the severe group (paired
t-tests), and the dose trend (larger falls with at least 10⁹ cells, not significant).

For each claim it puts side by side

- **the paper's estimate** as printed, the interval of values that round to it, and the
  **range of its standard error that the abstract allows**: from the reported means and
  p-values over their rounding intervals and over every feasible subgroup size, as derived
  by :func:`livingpaper.stats.implied.implied_by_size` (the chapter "What the abstract
  implies"); see :func:`paper_claims`;
- **this cohort's estimate**, its 95 % confidence interval and p (the section of
  ``results.json`` of the same population);
- the **95 % prediction interval** for a replication of this cohort's size (Patil, Peng &
  Leek 2016): paper's estimate ± z₀.₉₇₅ √(se_paper² + se_cohort²), taken at its widest over
  what the abstract allows (the estimate over its rounding interval, the paper's SE at the
  largest value the abstract allows), so that no verdict rests on a guessed quantity;
- whether the paper's estimate lies inside this cohort's 95 % CI (Open Science
  Collaboration 2015);
- the **small-telescopes** criterion (Simonsohn 2015): d33, the effect (Cohen's dz) that
  the paper's paired t-test had 33 % power to detect, and the one-sided p of "this cohort's
  effect is smaller than d33";
- the **difference** cohort − paper with its widest 95 % interval (it excludes 0 exactly
  when the cohort's estimate lies outside the widest prediction interval);
- a **verdict** (:data:`VERDICTS`):

  ``consistent``      inside the widest prediction interval, same direction, p < 0.05;
  ``inconsistent``    outside it (or, inside it, a significant change in the opposite
                      direction, which the paper's interval practically never allows);
  ``inconclusive``    inside it with p ≥ 0.05: this cohort cannot tell;
  ``not_assessable``  the paper gives no estimate (the dose trend), this cohort's section
                      is not estimable, has fewer than :data:`MIN_PATIENTS` patients, or
                      is defined with other thresholds than the paper's.

Beside the verdicts, the **case mix** (:func:`case_mix`): mean baseline, share of severe
patients against the feasible sizes, dose range, MSC sources and follow-up against the
paper's, and (:func:`at_paper_baseline`) the reduction this cohort would show at the
paper's mean baseline HbA1c from its own least-squares regression of the reduction on
baseline, so that a reader can tell a different case mix from a different effect.

The analysis never knows which dataset it runs on: ``reconstructed`` is recorded so that
the pages can say that, on the reconstructed cohort, agreement is by construction.

References
----------
Patil P, Peng RD, Leek JT (2016). What should researchers expect when they replicate
studies? A statistical view of replicability in psychological science. *Perspectives on
Psychological Science* 11(4), 539-544. doi:10.1177/1745691616646366

Open Science Collaboration (2015). Estimating the reproducibility of psychological
science. *Science* 349(6251), aac4716. doi:10.1126/science.aac4716

Simonsohn U (2015). Small telescopes: detectability and the evaluation of replication
results. *Psychological Science* 26(5), 559-569. doi:10.1177/0956797614567341
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize
from scipy import stats as _st
from statsmodels.stats.power import TTestPower

from livingpaper import domain
from livingpaper.formatting import format_cells, format_p
from livingpaper.inputs import published as inputs_published
from livingpaper.parameters import ALPHA, Parameters
from livingpaper.stats import implied, rtm
from livingpaper.stats.paired import DoseComparison, PairedReduction
from livingpaper.stats.result import TidyResult, is_constant

#: The claims of the abstract, in the order the book shows them (:data:`livingpaper.domain.CLAIMS`).
CLAIMS = tuple(domain.CLAIMS)
CONSISTENT, INCONSISTENT, INCONCLUSIVE, NOT_ASSESSABLE = "consistent", "inconsistent", "inconclusive", "not_assessable"
VERDICTS = (CONSISTENT, INCONSISTENT, INCONCLUSIVE, NOT_ASSESSABLE)
#: Level of the confidence and prediction intervals.
CONFIDENCE = 0.95
#: Power that defines d33 (Simonsohn 2015).
TELESCOPE_POWER = 1 / 3
#: A claim gets a verdict only from a group of at least this many patients. The prediction
#: interval of Patil et al. treats this cohort's standard error as known (normal quantile);
#: below 10 patients it rests on fewer than 9 degrees of freedom, where the t quantile
#: exceeds the normal one by more than 15 % (t₀.₉₇₅,₈ = 2.31 against 1.96), so the interval
#: is too narrow to judge by. It is also the smallest severe group the abstract allows. A
#: choice of this book, stated wherever a verdict is withheld for it.
MIN_PATIENTS = 10

_EPS = 1e-9
#: The claims about a paired reduction: the severity groups of the paper.
_PAIRED = domain.SEVERITY_SECTIONS


# ---------------------------------------------------------------------------
# Building blocks (plain numbers in, plain numbers out)
# ---------------------------------------------------------------------------


def prediction_interval(estimate_low: float, estimate_high: float, se_published: float, se_cohort: float,
                        confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Widest prediction interval for a replication's estimate (Patil, Peng & Leek 2016).

    ``estimate ± z * sqrt(se_published**2 + se_cohort**2)`` with ``z`` the normal quantile
    ``scipy.stats.norm.ppf(0.5 + confidence / 2)`` (1.96 at 95 %), where the published
    estimate may be any value of ``[estimate_low, estimate_high]`` (its rounding interval):
    the lower end uses ``estimate_low``, the upper end ``estimate_high``. Pass the largest
    published SE the report allows for the widest interval.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence!r}.")
    if se_published < 0 or se_cohort < 0 or estimate_high < estimate_low:
        raise ValueError("standard errors must be >= 0 and estimate_low <= estimate_high")
    half = float(_st.norm.ppf(0.5 + confidence / 2)) * math.hypot(se_published, se_cohort)
    return estimate_low - half, estimate_high + half


def d33(n: int, alpha: float = ALPHA, power: float = TELESCOPE_POWER) -> float:
    """Cohen's dz that a two-sided paired (one-sample) t-test of ``n`` patients detects with
    probability ``power`` (Simonsohn's d33 at the default 1/3).

    Solved to 1e-12 with ``scipy.optimize.brentq`` on statsmodels'
    ``TTestPower().power(effect_size, nobs=n, alpha, alternative="two-sided")`` (the
    noncentral t, both tails); statsmodels' own ``solve_power`` stops at about 1e-5.
    """
    if n < 2:
        raise ValueError(f"need n >= 2, got {n}")
    engine = TTestPower()
    gap = lambda d: float(engine.power(effect_size=d, nobs=n, alpha=alpha, alternative="two-sided")) - power  # noqa: E731
    high = 4.0 / math.sqrt(n)
    while gap(high) < 0:  # small n: the noncentrality must be larger
        high *= 2
    return float(optimize.brentq(gap, 1e-12, high, xtol=1e-13))


def smaller_than_p(t: float, n: int, effect: float) -> float:
    """One-sided p that the true dz of a paired t-test is smaller than ``effect``.

    ``P(T <= t)`` for T noncentral t with ``n - 1`` df and noncentrality ``effect * sqrt(n)``
    (``scipy.stats.nct.cdf``; R: ``pt(t, n - 1, ncp = effect * sqrt(n))``), the
    small-telescopes test of Simonsohn (2015) for a one-sample design.
    """
    if n < 2:
        raise ValueError(f"need n >= 2, got {n}")
    return float(_st.nct.cdf(t, n - 1, effect * math.sqrt(n)))


# ---------------------------------------------------------------------------
# The paper's claims as the abstract allows them
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PaperClaim(TidyResult):
    """What the abstract says, or allows, about one claim (:func:`paper_claims`).

    Attributes
    ----------
    estimable : bool
        The abstract gives an estimate to compare with (False for the dose trend).
    reason : str or None
        Why not.
    claim : str
        One of :data:`CLAIMS`.
    estimate : float or None
        The mean reduction as printed (percentage points; for all patients the printed
        baseline minus the printed post-treatment mean).
    estimate_low, estimate_high : float or None
        The values that round to it.
    se_low, se_high : float or None
        Smallest and largest standard error of the estimate that the abstract allows, over
        the rounding intervals and every feasible group size. 0 when the abstract bounds it
        only from above (the moderate group's "p < 0.0000002").
    n_low, n_high : int or None
        Feasible numbers of the paper's patients in this claim's group.
    d33, d33_high : float or None
        The dz the paper's paired t-test had 1/3 power to detect, at ``n_high`` (the
        smallest d33, used for the test: the least favourable to "smaller than d33") and at
        ``n_low``.
    """

    estimable: bool
    reason: str | None
    claim: str
    estimate: float | None
    estimate_low: float | None
    estimate_high: float | None
    se_low: float | None
    se_high: float | None
    n_low: int | None
    n_high: int | None
    d33: float | None
    d33_high: float | None


def _no_claim(claim: str, reason: str) -> PaperClaim:
    return PaperClaim(estimable=False, reason=reason, claim=claim, estimate=None, estimate_low=None,
                      estimate_high=None, se_low=None, se_high=None, n_low=None, n_high=None, d33=None, d33_high=None)


def _claim(claim: str, estimate: float, interval: tuple[float, float], se: tuple[float, float],
           sizes: tuple[int, int]) -> PaperClaim:
    return PaperClaim(estimable=True, reason=None, claim=claim, estimate=estimate, estimate_low=interval[0],
                      estimate_high=interval[1], se_low=se[0], se_high=se[1], n_low=sizes[0], n_high=sizes[1],
                      d33=d33(sizes[1]), d33_high=d33(sizes[0]))


def paper_claims(published: dict[str, Any] | None = None) -> dict[str, PaperClaim]:
    """The paper's estimate and the standard-error range the abstract allows, per claim.

    Notes
    -----
    The table of :func:`livingpaper.stats.implied.implied_by_size` gives, for every feasible
    severe-group size, the SDs of the change that the reported p-values imply over the
    rounding intervals; an SE is ``sd / sqrt(n)``.

    - *Severe*: 1.55 (p = 0.0122): SE from the smallest to the largest implied severe SD.
    - *Moderate*: 0.58 (p < 0.0000002): the bound on p bounds the SE from above only.
    - *All patients*: 7.49 − 6.7 (p < 0.0001). The SE is at most the smaller of two bounds
      the abstract gives together: the one from "p < 0.0001" with 61 patients, and the one
      from the subgroup figures (the largest overall SD they allow,
      ``overall_sd_max``). Its lower end is the overall SD with the moderate SD at 0 and the
      severe SD and the between-group difference at their smallest.
    - *Dose*: only a direction and "not significant": no estimate, not estimable.

    Not estimable (for every claim, with the reason) when the published-figures file lacks
    a figure the derivation needs.
    """
    published = published or inputs_published.load()
    fig = lambda i: inputs_published.figure(published, i)  # noqa: E731
    claims: dict[str, PaperClaim] = {}
    try:
        table = implied.implied_by_size(published)
        if table.empty:
            raise ValueError("the published means admit no subgroup split")
        n = int(fig("n_patients").value)
        base, post = fig("baseline_mean"), fig("post_mean")
        mod, sev = fig("moderate_mean_reduction"), fig("severe_mean_reduction")
        t_bound = float(_st.t.isf(fig("overall_p").value / 2, n - 1))
        overall_interval = (base.interval()[0] - post.interval()[1], base.interval()[1] - post.interval()[0])
        lowest = min(
            implied.combined_sd([(int(row.n_moderate), m_mod, 0.0), (int(row.n_severe), m_sev, row.sd_severe_low)])
            for row in table.itertuples() for m_mod, m_sev in itertools.product(mod.interval(), sev.interval())
        )
        se_high = min(overall_interval[1] / t_bound, float(table["overall_sd_max"].max()) / math.sqrt(n))
        claims["overall"] = _claim("overall", float(base.value) - float(post.value), overall_interval,
                                   (lowest / math.sqrt(n), se_high), (n, n))
        n_mod = table["n_moderate"].astype(float)
        claims["moderate"] = _claim(
            "moderate", float(mod.value), mod.interval(),
            (0.0, float((table["sd_moderate_max"] / np.sqrt(n_mod)).max())),
            (int(table["n_moderate"].min()), int(table["n_moderate"].max())))
        n_sev = table["n_severe"].astype(float)
        claims["severe"] = _claim(
            "severe", float(sev.value), sev.interval(),
            (float((table["sd_severe_low"] / np.sqrt(n_sev)).min()),
             float((table["sd_severe_high"] / np.sqrt(n_sev)).max())),
            (int(table["n_severe"].min()), int(table["n_severe"].max())))
    except (KeyError, ValueError, TypeError) as exc:
        reason = f"Not assessable: the published figures needed are missing or unusable ({exc})."
        claims = {c: _no_claim(c, reason) for c in _PAIRED}
    try:
        cutoff = format_cells(published["definitions"]["dose_cutoff_cells"])
        dose_reason = (f"The paper reports only a direction (a larger fall with at least {cutoff} cells) and that "
                       "it was not statistically significant: no estimate, group sizes or p to compare with.")
    except KeyError:
        dose_reason = "The paper reports no estimate of the dose trend."
    claims["dose"] = _no_claim("dose", dose_reason)
    return {c: claims[c] for c in CLAIMS}


# ---------------------------------------------------------------------------
# One claim in this cohort
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimReplication(TidyResult):
    """Result of :func:`assess` (and :func:`assess_dose`): one claim, paper vs this cohort.

    Attributes
    ----------
    estimable : bool
        A verdict other than ``not_assessable`` could be given.
    reason : str
        The verdict in words (always given).
    claim : str
    verdict : str
        One of :data:`VERDICTS`.
    published_estimate, published_estimate_low, published_estimate_high : float or None
        The paper's estimate as printed and its rounding interval (percentage points).
    published_se_low, published_se_high : float or None
        The SE range the abstract allows (:class:`PaperClaim`).
    published_n_low, published_n_high : int or None
        The paper's feasible group sizes.
    n : int
        This cohort's patients in the claim's population.
    estimate, se, ci95_low, ci95_high, p : float or None
        This cohort's mean reduction (for the dose: high − low difference), its standard
        error, 95 % CI and two-sided p.
    cohen_dz : float or None
        This cohort's dz (paired claims).
    prediction_low, prediction_high : float or None
        The widest 95 % prediction interval of the paper's estimate for a replication with
        this cohort's SE (:func:`prediction_interval` with ``published_se_high``).
    inside_prediction : bool or None
    published_in_ci : bool or None
        The paper's printed estimate lies inside this cohort's 95 % CI.
    same_direction : bool or None
        This cohort's estimate has the sign of the paper's (HbA1c fell).
    significant : bool or None
        ``p < ALPHA``.
    difference, difference_ci95_low, difference_ci95_high : float or None
        This cohort − the paper's printed estimate, with the widest 95 % interval
        (same width as the prediction interval).
    d33, d33_high : float or None
        From :class:`PaperClaim`.
    smaller_than_d33_p : float or None
        One-sided p of "this cohort's dz is smaller than d33" (:func:`smaller_than_p`).
    smaller_than_d33 : bool or None
        ``smaller_than_d33_p < ALPHA``: an effect too small for the paper's study to have
        detected reliably.
    """

    estimable: bool
    reason: str
    claim: str
    verdict: str
    published_estimate: float | None
    published_estimate_low: float | None
    published_estimate_high: float | None
    published_se_low: float | None
    published_se_high: float | None
    published_n_low: int | None
    published_n_high: int | None
    n: int
    estimate: float | None
    se: float | None
    ci95_low: float | None
    ci95_high: float | None
    p: float | None
    cohen_dz: float | None
    prediction_low: float | None
    prediction_high: float | None
    inside_prediction: bool | None
    published_in_ci: bool | None
    same_direction: bool | None
    significant: bool | None
    difference: float | None
    difference_ci95_low: float | None
    difference_ci95_high: float | None
    d33: float | None
    d33_high: float | None
    smaller_than_d33_p: float | None
    smaller_than_d33: bool | None


def assess(paper: PaperClaim, cohort: PairedReduction, different_population: str | None = None,
           min_patients: int = MIN_PATIENTS, confidence: float = CONFIDENCE) -> ClaimReplication:
    """One paired claim (a mean reduction): the paper's against this cohort's, with a verdict.

    Parameters
    ----------
    paper : PaperClaim
        From :func:`paper_claims`.
    cohort : PairedReduction
        This cohort's section of the same population (``results.json``).
    different_population : str, optional
        A sentence saying how this build's group differs from the paper's (other
        thresholds): the claim is then not assessable.
    min_patients : int
        Fewest patients for a verdict (:data:`MIN_PATIENTS`).
    confidence : float
        Level of the prediction and difference intervals (the CI is the section's).

    Notes
    -----
    The verdict, in this order: ``not_assessable`` when the paper gives no estimate, the
    population differs, this cohort's section is not estimable, or it has fewer than
    ``min_patients`` patients (the numbers are still given where they exist); else
    ``inconsistent`` when the estimate lies outside the widest prediction interval;
    ``inconclusive`` when inside it with p >= ALPHA; ``consistent`` when inside it, in the
    paper's direction, with p < ALPHA; ``inconsistent`` when inside it but significant in
    the opposite direction.
    """
    group = domain.CLAIMS[paper.claim].in_sentence if paper.claim in domain.CLAIMS else paper.claim
    estimate = cohort.mean_reduction
    se = cohort.sd_reduction / math.sqrt(cohort.n) if cohort.estimable else None
    fields: dict[str, Any] = dict(
        claim=paper.claim, published_estimate=paper.estimate, published_estimate_low=paper.estimate_low,
        published_estimate_high=paper.estimate_high, published_se_low=paper.se_low, published_se_high=paper.se_high,
        published_n_low=paper.n_low, published_n_high=paper.n_high, n=cohort.n, estimate=estimate, se=se,
        ci95_low=cohort.ci95_low, ci95_high=cohort.ci95_high, p=cohort.p, cohen_dz=cohort.cohen_dz,
        d33=paper.d33, d33_high=paper.d33_high,
    )
    empty = dict(prediction_low=None, prediction_high=None, inside_prediction=None, published_in_ci=None,
                 same_direction=None, significant=None, difference=None, difference_ci95_low=None,
                 difference_ci95_high=None, smaller_than_d33_p=None, smaller_than_d33=None)
    if se is not None and paper.estimable:
        low, high = prediction_interval(paper.estimate_low, paper.estimate_high, paper.se_high, se, confidence)
        half = paper.estimate_low - low
        telescope_p = smaller_than_p(cohort.t, cohort.n, paper.d33)
        empty = dict(
            prediction_low=low, prediction_high=high,
            inside_prediction=bool(low - _EPS <= estimate <= high + _EPS),
            published_in_ci=bool(cohort.ci95_low - _EPS <= paper.estimate <= cohort.ci95_high + _EPS),
            same_direction=bool(estimate * paper.estimate > 0), significant=bool(cohort.p < ALPHA),
            difference=estimate - paper.estimate, difference_ci95_low=estimate - paper.estimate_high - half,
            difference_ci95_high=estimate - paper.estimate_low + half,
            smaller_than_d33_p=telescope_p, smaller_than_d33=bool(telescope_p < ALPHA),
        )
    fields.update(empty)

    def result(verdict: str, reason: str) -> ClaimReplication:
        return ClaimReplication(estimable=verdict != NOT_ASSESSABLE, reason=reason, verdict=verdict, **fields)

    if not paper.estimable:
        return result(NOT_ASSESSABLE, paper.reason or "The paper gives no estimate to compare with.")
    if different_population:
        return result(NOT_ASSESSABLE, different_population)
    if cohort.n == 0:
        return result(NOT_ASSESSABLE, f"No patient of this cohort belongs to {group}.")
    if not cohort.estimable:
        why = cohort.reason or "Not estimable."
        return result(NOT_ASSESSABLE, f"In {group}, {why[0].lower()}{why[1:]}")
    if cohort.n < min_patients:
        where = "" if paper.claim == "overall" else f" in {group}"
        return result(NOT_ASSESSABLE, f"Only {cohort.n} patients{where}: too few to tell (a verdict needs at "
                                      f"least {min_patients}).")
    where = "below" if estimate < fields["prediction_low"] else "above"
    if not fields["inside_prediction"]:
        return result(INCONSISTENT, f"Outside the widest {confidence:.0%} prediction interval for a replication of "
                                    f"this size ({where} it): a {'smaller' if where == 'below' else 'larger'} "
                                    "fall than the paper's estimate allows.")
    if not fields["significant"]:
        return result(INCONCLUSIVE, f"Inside the widest {confidence:.0%} prediction interval, but not significant "
                                    f"({format_p(cohort.p)}): this cohort cannot tell.")
    if not fields["same_direction"]:
        return result(INCONSISTENT, "A significant change in the opposite direction to the paper's "
                                    f"({format_p(cohort.p)}).")
    return result(CONSISTENT, f"Inside the widest {confidence:.0%} prediction interval, in the paper's direction "
                              f"and significant ({format_p(cohort.p)}).")


def assess_dose(paper: PaperClaim, comparison: DoseComparison, different_population: str | None = None
                ) -> ClaimReplication:
    """The dose trend: not assessable (the paper gives no estimate), with this cohort's
    high − low difference, its CI and p, and whether it goes the paper's way (a larger fall
    with the high dose, not significant) said in the reason."""
    if comparison.estimable:
        larger = comparison.difference > 0
        significant = comparison.p < ALPHA
        shows = ("a larger fall with the high dose, as the paper's trend, and " if larger else
                 "no larger fall with the high dose, unlike the paper's trend, ") + \
                ("significant" if significant else "not significant")
        seen = f" This cohort shows {shows} ({format_p(comparison.p)})."
    else:
        larger = significant = None
        seen = f" This cohort's comparison of the dose groups is not estimable. {comparison.reason}"
    reason = (paper.reason or "The paper gives no estimate of the dose trend.") + seen
    if different_population:
        reason = f"{different_population} {reason}"
    return ClaimReplication(
        estimable=False, reason=reason, claim="dose", verdict=NOT_ASSESSABLE, published_estimate=paper.estimate,
        published_estimate_low=paper.estimate_low, published_estimate_high=paper.estimate_high,
        published_se_low=paper.se_low, published_se_high=paper.se_high, published_n_low=paper.n_low,
        published_n_high=paper.n_high, n=comparison.n_high + comparison.n_low, estimate=comparison.difference,
        se=None, ci95_low=comparison.ci95_low, ci95_high=comparison.ci95_high, p=comparison.p, cohen_dz=None,
        prediction_low=None, prediction_high=None, inside_prediction=None, published_in_ci=None,
        same_direction=larger, significant=significant, difference=None, difference_ci95_low=None,
        difference_ci95_high=None, d33=None, d33_high=None, smaller_than_d33_p=None, smaller_than_d33=None,
    )


# ---------------------------------------------------------------------------
# Case mix
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseMix(TidyResult):
    """Result of :func:`case_mix`: who this cohort's patients are, beside the paper's.

    Attributes
    ----------
    estimable : bool
        At least one patient analysed.
    reason : str or None
    n, paper_n : int or None
        Patients analysed; patients of the paper.
    baseline_mean, paper_baseline_mean : float or None
        Mean baseline HbA1c (%).
    n_below_inclusion : int
        Patients whose baseline lies below the paper's inclusion threshold.
    paper_inclusion_min : float or None
    severe_above : float
        This build's severe threshold (baseline HbA1c above it, %).
    n_severe : int
        Patients in this build's severe group.
    severe_share : float or None
        ``n_severe / n``.
    paper_n_severe_low, paper_n_severe_high : int or None
        Severe-group sizes the abstract allows.
    paper_severe_share_low, paper_severe_share_high : float or None
    dose_min_cells, dose_max_cells, paper_dose_min_cells, paper_dose_max_cells : float or None
    n_dose_recorded : int
    sources, paper_sources : str
        MSC sources, comma-separated (sorted).
    sources_not_in_paper : str or None
        This cohort's sources the paper does not name.
    followup_median_months, followup_min_months, followup_max_months : float or None
    paper_followup_median_months, paper_followup_min_months, paper_followup_max_months : float or None
    """

    estimable: bool
    reason: str | None
    n: int
    paper_n: int | None
    baseline_mean: float | None
    paper_baseline_mean: float | None
    n_below_inclusion: int
    paper_inclusion_min: float | None
    severe_above: float
    n_severe: int
    severe_share: float | None
    paper_n_severe_low: int | None
    paper_n_severe_high: int | None
    paper_severe_share_low: float | None
    paper_severe_share_high: float | None
    dose_min_cells: float | None
    dose_max_cells: float | None
    paper_dose_min_cells: float | None
    paper_dose_max_cells: float | None
    n_dose_recorded: int
    sources: str
    paper_sources: str
    sources_not_in_paper: str | None
    followup_median_months: float | None
    followup_min_months: float | None
    followup_max_months: float | None
    paper_followup_median_months: float | None
    paper_followup_min_months: float | None
    paper_followup_max_months: float | None


def case_mix(analysed: pd.DataFrame, params: Parameters, published: dict[str, Any] | None = None,
             paper: dict[str, PaperClaim] | None = None) -> CaseMix:
    """This cohort's patients (those analysed) against what the paper reports or implies.

    ``analysed`` has one row per patient with both HbA1c values (``hba1c_baseline``,
    ``hba1c_post``, ``dose_cells``, ``msc_source``, ``followup_months``); the severe group
    is this build's (baseline above ``params.severe_above``). The paper's severe share is
    the range of feasible severe-group sizes (``paper``, from :func:`paper_claims`).
    """
    published = published or inputs_published.load()
    paper = paper or paper_claims(published)
    value = lambda i: float(inputs_published.figure(published, i).value)  # noqa: E731
    base = analysed["hba1c_baseline"].astype(float)
    n = int(len(analysed))
    dose = analysed["dose_cells"].dropna().astype(float)
    follow = analysed["followup_months"].dropna().astype(float)
    sources = sorted(str(s) for s in analysed["msc_source"].dropna().unique())
    paper_sources = sorted(str(s) for s in published["definitions"].get("sources", []))
    outside = [s for s in sources if s not in paper_sources]
    paper_n = int(value("n_patients"))
    severe = paper["severe"]
    n_severe = int((base > params.severe_above).sum())
    inclusion = published["definitions"].get("inclusion_min_hba1c")
    return CaseMix(
        estimable=n > 0, reason=None if n > 0 else "No patient with both HbA1c values.",
        n=n, paper_n=paper_n,
        baseline_mean=float(base.mean()) if n else None, paper_baseline_mean=value("baseline_mean"),
        n_below_inclusion=int((base < inclusion - _EPS).sum()) if inclusion is not None else 0,
        paper_inclusion_min=inclusion,
        severe_above=float(params.severe_above), n_severe=n_severe, severe_share=n_severe / n if n else None,
        paper_n_severe_low=severe.n_low, paper_n_severe_high=severe.n_high,
        paper_severe_share_low=severe.n_low / paper_n if severe.n_low else None,
        paper_severe_share_high=severe.n_high / paper_n if severe.n_high else None,
        dose_min_cells=float(dose.min()) if len(dose) else None,
        dose_max_cells=float(dose.max()) if len(dose) else None,
        paper_dose_min_cells=value("dose_min_cells"), paper_dose_max_cells=value("dose_max_cells"),
        n_dose_recorded=int(len(dose)),
        sources=", ".join(sources), paper_sources=", ".join(paper_sources),
        sources_not_in_paper=", ".join(outside) if outside else None,
        followup_median_months=float(follow.median()) if len(follow) else None,
        followup_min_months=float(follow.min()) if len(follow) else None,
        followup_max_months=float(follow.max()) if len(follow) else None,
        paper_followup_median_months=value("followup_median_months"),
        paper_followup_min_months=value("followup_min_months"),
        paper_followup_max_months=value("followup_max_months"),
    )


@dataclass(frozen=True)
class AtPaperBaseline(TidyResult):
    """Result of :func:`at_paper_baseline`: this cohort's reduction at the paper's mean baseline.

    Attributes
    ----------
    estimable : bool
    reason : str or None
    n : int
        Patients in the regression.
    baseline : float
        Where the regression line is read (the paper's mean baseline, %).
    reduction, se, ci95_low, ci95_high : float or None
        The mean reduction the line predicts there, its standard error and 95 % CI.
    slope, slope_ci95_low, slope_ci95_high : float or None
        Change in the reduction per 1 % more baseline HbA1c.
    baseline_min, baseline_max : float or None
        This cohort's baseline range (outside it the line is extrapolated).
    extrapolated : bool or None
    prediction_low, prediction_high : float or None
        The widest 95 % prediction interval of the paper's overall estimate for a
        replication with this SE (as for the overall claim).
    inside_prediction : bool or None
    """

    estimable: bool
    reason: str | None
    n: int
    baseline: float
    reduction: float | None
    se: float | None
    ci95_low: float | None
    ci95_high: float | None
    slope: float | None
    slope_ci95_low: float | None
    slope_ci95_high: float | None
    baseline_min: float | None
    baseline_max: float | None
    extrapolated: bool | None
    prediction_low: float | None
    prediction_high: float | None
    inside_prediction: bool | None


def at_paper_baseline(analysed: pd.DataFrame, baseline: float, paper: PaperClaim | None = None,
                      confidence: float = CONFIDENCE) -> AtPaperBaseline:
    """The mean reduction this cohort would show at ``baseline``, from its own regression.

    The least-squares regression of post-treatment on baseline HbA1c that the chapter
    beyond the paper reports (:func:`livingpaper.stats.rtm.ancova`), centred at
    ``baseline``: the reduction there is its adjusted reduction (``baseline`` minus the
    predicted post-treatment mean, with the CI of the mean, not of one patient), its SE the
    half-width of that CI over the t quantile, and the slope of the reduction on baseline
    ``1 -`` the ANCOVA's slope (the same regression written for the fall). Patients who
    start higher tend to fall more (by regression to the mean as well as by any effect), so
    a cohort with other baselines than the paper's shows another mean reduction for that
    reason alone; this reading compares like with like. With ``paper`` (the overall claim),
    also the widest prediction interval of the paper's estimate for this SE.

    Not estimable with fewer than 3 patients, a single baseline value, or a perfect fit.
    """
    data = analysed[["hba1c_baseline", "hba1c_post"]].dropna().astype(float)
    x = data["hba1c_baseline"].to_numpy()
    n = int(x.size)
    none = dict(reduction=None, se=None, ci95_low=None, ci95_high=None, slope=None, slope_ci95_low=None,
                slope_ci95_high=None, extrapolated=None, prediction_low=None, prediction_high=None,
                inside_prediction=None)
    span = dict(baseline_min=float(x.min()) if n else None, baseline_max=float(x.max()) if n else None)
    if n < 3:
        return AtPaperBaseline(estimable=False, reason=f"Not estimable: fewer than 3 patients (n = {n}).",
                               n=n, baseline=float(baseline), **span, **none)
    if is_constant(x):
        return AtPaperBaseline(estimable=False, reason="Not estimable: every patient has the same baseline HbA1c.",
                               n=n, baseline=float(baseline), **span, **none)
    fit = rtm.ancova(analysed, float(baseline), confidence)
    if not fit.estimable:
        return AtPaperBaseline(estimable=False, reason=fit.reason, n=n, baseline=float(baseline), **span, **none)
    reduction = fit.adjusted_reduction
    se = (fit.adjusted_ci95_high - fit.adjusted_ci95_low) / (2.0 * float(_st.t.ppf(0.5 + confidence / 2,
                                                                                    fit.df_resid)))
    fields = dict(reduction=reduction, se=se, ci95_low=fit.adjusted_ci95_low, ci95_high=fit.adjusted_ci95_high,
                  slope=1.0 - fit.slope, slope_ci95_low=1.0 - fit.slope_ci95_high,
                  slope_ci95_high=1.0 - fit.slope_ci95_low,
                  extrapolated=bool(not x.min() <= baseline <= x.max()),
                  prediction_low=None, prediction_high=None, inside_prediction=None)
    if paper is not None and paper.estimable and math.isfinite(se):
        low, high = prediction_interval(paper.estimate_low, paper.estimate_high, paper.se_high, se, confidence)
        fields.update(prediction_low=low, prediction_high=high,
                      inside_prediction=bool(low - _EPS <= reduction <= high + _EPS))
    return AtPaperBaseline(estimable=True, reason=None, n=n, baseline=float(baseline), **span, **fields)


# ---------------------------------------------------------------------------
# Everything together: the results.json section
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Replication:
    """The ``replication`` section of ``results.json`` (:func:`replicate`).

    Attributes
    ----------
    estimable : bool
        At least one claim got a verdict other than ``not_assessable``.
    reason : str or None
        Why none did.
    reconstructed : bool
        The data are the reconstructed cohort (agreement is then by construction).
    min_patients : int
        :data:`MIN_PATIENTS` of this build.
    claims : dict
        :class:`ClaimReplication` by claim (:data:`CLAIMS`).
    case_mix : CaseMix
    at_paper_baseline : AtPaperBaseline
        Stored inside ``case_mix`` in ``results.json``.
    reconstruction_caveat : str or None
        On the reconstructed cohort, what of this section the reconstruction made (set by
        :func:`livingpaper.results.caveats.with_caveat`); None on other data.
    """

    estimable: bool
    reason: str | None
    reconstructed: bool
    min_patients: int
    claims: dict[str, ClaimReplication]
    case_mix: CaseMix
    at_paper_baseline: AtPaperBaseline
    reconstruction_caveat: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "estimable": self.estimable, "reason": self.reason, "reconstructed": self.reconstructed,
            "min_patients": self.min_patients,
            "claims": {name: claim.to_dict() for name, claim in self.claims.items()},
            "case_mix": {**self.case_mix.to_dict(), "at_paper_baseline": self.at_paper_baseline.to_dict()},
            "reconstruction_caveat": self.reconstruction_caveat,
        }

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> "Replication":
        mix = dict(document["case_mix"])
        adjusted = mix.pop("at_paper_baseline")
        return cls(estimable=document["estimable"], reason=document["reason"],
                   reconstructed=document["reconstructed"], min_patients=document["min_patients"],
                   claims={k: ClaimReplication(**v) for k, v in document["claims"].items()},
                   case_mix=CaseMix(**mix), at_paper_baseline=AtPaperBaseline(**adjusted),
                   reconstruction_caveat=document.get("reconstruction_caveat"))

    def verdicts(self) -> dict[str, str]:
        return {name: claim.verdict for name, claim in self.claims.items()}


def _differences(params: Parameters, definitions: dict[str, Any]) -> dict[str, str | None]:
    """A sentence per claim whose population this build defines otherwise than the paper."""
    moderate = (f"This build's moderate group is a baseline of {params.moderate_min:g} to {params.severe_above:g} % "
                f"and the paper's {definitions['moderate_min']:g} to {definitions['severe_above']:g} %: "
                "not the same population.")
    severe = (f"This build's severe group is a baseline above {params.severe_above:g} % and the paper's above "
              f"{definitions['severe_above']:g} %: not the same population.")
    dose = (f"This build splits the doses at {format_cells(params.dose_cutoff_cells)} cells and the paper at "
            f"{format_cells(definitions['dose_cutoff_cells'])}.")
    same = lambda a, b: math.isclose(float(a), float(b), rel_tol=1e-12)  # noqa: E731
    return {
        "overall": None,
        "moderate": None if same(params.moderate_min, definitions["moderate_min"])
        and same(params.severe_above, definitions["severe_above"]) else moderate,
        "severe": None if same(params.severe_above, definitions["severe_above"]) else severe,
        "dose": None if same(params.dose_cutoff_cells, definitions["dose_cutoff_cells"]) else dose,
    }


def replicate(sections: dict[str, dict[str, Any]], analysed: pd.DataFrame, params: Parameters,
              reconstructed: bool, published: dict[str, Any] | None = None,
              min_patients: int = MIN_PATIENTS) -> Replication:
    """Every replication criterion of this cohort against the paper.

    Parameters
    ----------
    sections : dict
        ``results["sections"]`` with ``overall``, ``moderate``, ``severe`` (paired) and
        ``dose_comparison``: this cohort's estimates, computed once for the whole book.
    analysed : pandas.DataFrame
        The patients analysed (both HbA1c values), for the case mix and the regression.
    params : Parameters
        The build's thresholds; a claim whose group they define otherwise than the paper
        is not assessable.
    reconstructed : bool
        Recorded, not used: the criteria are the same whatever the data.
    """
    published = published or inputs_published.load()
    paper = paper_claims(published)
    differs = _differences(params, published["definitions"])
    claims = {name: assess(paper[name], PairedReduction.from_dict(sections[name]), differs[name], min_patients)
              for name in _PAIRED}
    claims["dose"] = assess_dose(paper["dose"], DoseComparison.from_dict(sections["dose_comparison"]),
                                 differs["dose"])
    assessed = [c for c in claims.values() if c.verdict != NOT_ASSESSABLE]
    return Replication(
        estimable=bool(assessed),
        reason=None if assessed else "No claim of the paper could be assessed on this cohort (see each claim).",
        reconstructed=bool(reconstructed), min_patients=int(min_patients), claims=claims,
        case_mix=case_mix(analysed, params, published, paper),
        at_paper_baseline=at_paper_baseline(analysed, float(inputs_published.figure(published, "baseline_mean").value),
                                            paper["overall"]),
    )

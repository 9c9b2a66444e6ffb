"""Quantities implied by the reported figures: the SD a p implies, the CI it implies, the
group sizes the rounded means allow, the design the abstract fixes."""
from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats
from scipy import stats as _st

from livingpaper.domain import HBA1C_STEP
from livingpaper.inputs import published as inputs_published

_EPS = 1e-9

#: Plausible range for a recorded HbA1c (%, NGSP); a post value outside it is rejected.
PLAUSIBLE_HBA1C = (4.5, 15.0)


@dataclass(frozen=True)
class Design:
    """What the published figures imply about the unreported quantities."""

    n_total: int
    feasible_n_severe: tuple[int, ...]
    n_severe: int
    n_moderate: int
    sd_reduction_severe_range: tuple[float, float]
    sd_reduction_severe: float
    sd_reduction_moderate_range: tuple[float, float]
    sd_reduction_moderate: float
    baseline_mu: float
    baseline_sigma: float

    def to_dict(self) -> dict[str, Any]:
        """Plain Python types (JSON-ready)."""
        plain = lambda v: int(v) if isinstance(v, (int, np.integer)) else float(v)  # noqa: E731
        return {k: ([plain(x) for x in v] if isinstance(v, tuple) else plain(v)) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class Targets:
    """Published figures as intervals that the rounded cohort must hit."""

    n_total: int
    baseline_mean: tuple[float, float]
    post_mean: tuple[float, float]
    overall_p_below: float
    moderate_reduction: tuple[float, float]
    moderate_p: tuple[float, float]
    severe_reduction: tuple[float, float]
    severe_p: tuple[float, float]
    moderate_min: float
    severe_above: float
    dose_cutoff_cells: float
    alpha: float


def targets(published: dict[str, Any]) -> Targets:
    fig = lambda i: inputs_published.figure(published, i)  # noqa: E731
    moderate_p_bound = fig("moderate_p").value
    return Targets(
        n_total=int(fig("n_patients").value),
        baseline_mean=fig("baseline_mean").interval(),
        post_mean=fig("post_mean").interval(),
        overall_p_below=fig("overall_p").value,
        moderate_reduction=fig("moderate_mean_reduction").interval(),
        # "p < 0.0000002": a reported threshold one digit below 2e-7 is read as p in [1e-7, 2e-7).
        moderate_p=(moderate_p_bound / 2, moderate_p_bound),
        severe_reduction=fig("severe_mean_reduction").interval(),
        severe_p=fig("severe_p").interval(),
        moderate_min=published["definitions"]["moderate_min"],
        severe_above=published["definitions"]["severe_above"],
        dose_cutoff_cells=published["definitions"]["dose_cutoff_cells"],
        alpha=fig("dose_trend").alpha,
    )


_DERIVED: dict[tuple[str, str], Any] = {}


def _once(what: str, published: dict[str, Any], compute):
    """What is derived from the paper's figures, derived once per content of the figures
    (a build's analysis, its caveats and its replication all ask for the same design and
    table). The key is the figures' values themselves, so that figures changed in memory
    are derived anew."""
    key = (what, repr((published.get("definitions"), published["figures"])))
    if key not in _DERIVED:
        _DERIVED[key] = compute(published)
    found = _DERIVED[key]
    return found.copy() if isinstance(found, pd.DataFrame) else found


def derive_design(published: dict[str, Any]) -> Design:
    """The design the published figures fix (group sizes, SDs, baseline distribution): see
    :func:`_derive_design`; derived once per content of the figures."""
    return _once("design", published, _derive_design)


def _derive_design(published: dict[str, Any]) -> Design:
    """Derive the unreported subgroup sizes, SDs and baseline distribution.

    Returns every feasible severe-group size (the ranges a reader should know), and the
    choice made inside them.
    """
    t = targets(published)
    n = t.n_total
    overall_low = t.baseline_mean[0] - t.post_mean[1]
    overall_high = t.baseline_mean[1] - t.post_mean[0]
    feasible = []
    for n_sev in range(2, n - 1):
        n_mod = n - n_sev
        mix_low = (n_mod * t.moderate_reduction[0] + n_sev * t.severe_reduction[0]) / n
        mix_high = (n_mod * t.moderate_reduction[1] + n_sev * t.severe_reduction[1]) / n
        if mix_high > overall_low and mix_low < overall_high:
            feasible.append(n_sev)
    if not feasible:
        raise ValueError("the published means admit no subgroup split")

    mid = lambda iv: (iv[0] + iv[1]) / 2  # noqa: E731
    overall_point = mid(t.baseline_mean) - mid(t.post_mean)

    def mixture_gap(n_sev: int) -> float:
        n_mod = n - n_sev
        return abs((n_mod * mid(t.moderate_reduction) + n_sev * mid(t.severe_reduction)) / n - overall_point)

    n_sev = min(feasible, key=mixture_gap)
    n_mod = n - n_sev
    sev_mean, mod_mean = mid(t.severe_reduction), mid(t.moderate_reduction)
    # A smaller p means a smaller SD: the p interval [low, high) maps to [sd(low), sd(high)).
    sd_sev_range = (sd_from_p(sev_mean, n_sev, t.severe_p[0]), sd_from_p(sev_mean, n_sev, t.severe_p[1]))
    sd_mod_range = (sd_from_p(mod_mean, n_mod, t.moderate_p[0]), sd_from_p(mod_mean, n_mod, t.moderate_p[1]))
    sd_sev_range, sd_mod_range = tuple(map(float, sd_sev_range)), tuple(map(float, sd_mod_range))

    # Baseline: normal truncated below at the inclusion threshold; solve (mu, sigma) for the
    # published mean and the severe share. Values are recorded to 0.1, so "> 8.0" means a
    # latent value above 8.05.
    lower = t.moderate_min - HBA1C_STEP / 2
    severe_edge = t.severe_above + HBA1C_STEP / 2
    target_mean = mid(t.baseline_mean)

    def equations(params: np.ndarray) -> list[float]:
        mu, log_sigma = params
        sigma = math.exp(log_sigma)
        dist = stats.truncnorm((lower - mu) / sigma, np.inf, loc=mu, scale=sigma)
        return [dist.mean() - target_mean, dist.sf(severe_edge) - n_sev / n]

    mu, log_sigma = optimize.fsolve(equations, x0=[target_mean, math.log(1.0)], xtol=1e-12)
    return Design(
        n_total=n,
        feasible_n_severe=tuple(feasible),
        n_severe=n_sev,
        n_moderate=n_mod,
        sd_reduction_severe_range=sd_sev_range,
        sd_reduction_severe=sd_from_p(sev_mean, n_sev, mid(t.severe_p)),
        sd_reduction_moderate_range=sd_mod_range,
        # Geometric middle of [1e-7, 2e-7): the p-value range is a factor of two wide.
        sd_reduction_moderate=sd_from_p(mod_mean, n_mod, math.sqrt(t.moderate_p[0] * t.moderate_p[1])),
        baseline_mu=float(mu),
        baseline_sigma=float(math.exp(log_sigma)),
    )


#: Highest plausible recorded HbA1c (%), for the bound on the severe group's baseline.
HBA1C_MAX = PLAUSIBLE_HBA1C[1]


# ---------------------------------------------------------------------------
# Building blocks (plain numbers in, plain numbers out)
# ---------------------------------------------------------------------------


def _t_of_p(n: int, p: float) -> float:
    """The |t| of a two-sided one-sample t-test of ``n`` values with p-value ``p``,
    ``t_{n-1}(1 - p/2)``: what the SD and the CI implied by a p both invert."""
    if n < 2 or not 0.0 < p < 1.0:
        raise ValueError(f"need n >= 2 and 0 < p < 1, got n={n}, p={p}.")
    return float(_st.t.isf(p / 2, n - 1))


def sd_from_p(mean: float, n: int, p: float) -> float:
    """SD of the paired differences that gives a two-sided one-sample t-test ``p``.

    ``sd = |mean| * sqrt(n) / t_{n-1}(1 - p/2)``, inverting ``t = mean / (sd / sqrt(n))``.
    """
    return abs(mean) * math.sqrt(n) / _t_of_p(n, p)


def ci_from_p(mean: float, n: int, p: float, confidence: float = 0.95) -> tuple[float, float]:
    """Confidence interval of a mean implied by its one-sample t-test p-value and n.

    The standard error is ``|mean| / t_{n-1}(1 - p/2)`` (the same inversion as
    :func:`sd_from_p`, without the ``sqrt(n)``), so the interval is
    ``mean -/+ t_{n-1}(1 - (1 - confidence)/2) * SE``. This is Altman & Bland's (2011)
    method with the t distribution of the paired t-test instead of the normal.
    """
    se = abs(mean) / _t_of_p(n, p)
    half = float(_st.t.ppf(0.5 + confidence / 2, n - 1)) * se
    return mean - half, mean + half


def combined_sd(groups: list[tuple[int, float, float]]) -> float:
    """Sample SD of the union of groups given each group's ``(n, mean, sd)``.

    Total sum of squares = within-group sums ``(n_i - 1) sd_i^2`` plus between-group sums
    ``n_i (mean_i - grand_mean)^2``, divided by ``N - 1``.
    """
    total = sum(n for n, _, _ in groups)
    grand = sum(n * m for n, m, _ in groups) / total
    ss = sum((n - 1) * s**2 + n * (m - grand) ** 2 for n, m, s in groups)
    return math.sqrt(ss / (total - 1))


# ---------------------------------------------------------------------------
# What the published figures imply
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Reported(Targets):
    """The published figures as intervals (the reconstruction's ``Targets``), plus the
    moderate p as published (only a bound: the reconstruction's reading of it as a range
    is a choice, not a report) and the point values as printed."""

    moderate_p_below: float
    points: dict[str, float]


def _reported(published: dict[str, Any]) -> _Reported:
    fig = lambda i: inputs_published.figure(published, i).value  # noqa: E731
    return _Reported(
        **vars(targets(published)),
        moderate_p_below=float(fig("moderate_p")),
        points={"baseline_mean": float(fig("baseline_mean")), "post_mean": float(fig("post_mean")),
                "moderate_reduction": float(fig("moderate_mean_reduction")),
                "severe_reduction": float(fig("severe_mean_reduction")), "severe_p": float(fig("severe_p"))},
    )


def _tenths(interval: tuple[float, float], n: int) -> range:
    """Integer sums (in tenths of a percent) of n values whose mean lies in [low, high)."""
    low, high = interval
    return range(math.ceil(low * n / HBA1C_STEP - _EPS), math.ceil(high * n / HBA1C_STEP - _EPS))


def granular_sizes(published: dict[str, Any]) -> tuple[int, ...]:
    """Severe-group sizes compatible with the published means when HbA1c is recorded to 0.1 %.

    The baseline and post sums of all patients, and the reduction sums of each group,
    are integers in tenths of a percent. A severe-group size is kept when integer sums
    exist with each mean in its rounding interval and the group sums adding up to the
    baseline sum minus the post sum.
    """
    rep = _reported(published)
    n = rep.n_total
    base, post = _tenths(rep.baseline_mean, n), _tenths(rep.post_mean, n)
    overall_low, overall_high = base.start - (post.stop - 1), (base.stop - 1) - post.start
    sizes = []
    for n_sev in range(1, n):
        n_mod = n - n_sev
        mod, sev = _tenths(rep.moderate_reduction, n_mod), _tenths(rep.severe_reduction, n_sev)
        if len(mod) == 0 or len(sev) == 0:
            continue
        low, high = mod.start + sev.start, (mod.stop - 1) + (sev.stop - 1)
        if low <= overall_high and high >= overall_low:
            sizes.append(n_sev)
    return tuple(sizes)


def implied_by_size(published: dict[str, Any] | None = None, confidence: float = 0.95) -> pd.DataFrame:
    """Everything the published figures imply, for each feasible severe-group size
    (:func:`_implied_by_size`, computed once per content of the figures and confidence)."""
    published = published or inputs_published.load()
    return _once(f"implied_by_size {confidence!r}", published, lambda p: _implied_by_size(p, confidence))


def _implied_by_size(published: dict[str, Any], confidence: float = 0.95) -> pd.DataFrame:
    """Everything the published figures imply, for each feasible severe-group size.

    Returns
    -------
    pandas.DataFrame
        One row per severe-group size that the means allow
        (:func:`livingpaper.stats.implied.derive_design`), with columns

        - ``n_severe, n_moderate``;
        - ``weighted_reduction_low, weighted_reduction_high``: the size-weighted mean of
          the subgroup reductions over their rounding intervals (must meet the overall
          7.49 - 6.7 interval);
        - ``granular``: the size also survives the 0.1 %-recording check;
        - ``sd_severe_low, sd_severe_high``: SD of the change in the severe group implied
          by p = 0.0122 and the mean 1.55, over both rounding intervals;
        - ``sd_moderate_max``: upper bound on the moderate SD from "p < 0.0000002";
          ``sd_moderate_if_p_above_half_bound``: the SD if p were at least half that
          bound (the reconstruction's reading), a lower end for orientation only;
        - ``severe_ci95_low, severe_ci95_high``: the severe mean reduction's confidence
          interval implied by its p (no SD needed): the lowest lower and the highest upper
          limit over the rounding intervals of the mean and of the p;
        - ``moderate_ci95_halfwidth_max``: upper bound on the moderate interval's
          half-width;
        - ``overall_sd_max, overall_p_max``: the overall SD of the change and the overall
          paired-t p implied by the subgroup figures, at their least favourable corner
          (largest SDs, smallest means);
        - ``difference_p_low, difference_p_high``: range of the Welch p of the severe vs
          moderate difference in reduction (not reported by the paper), over the rounding
          intervals of both means and of the severe p, and over every moderate SD the
          published bound allows (from 0 up to ``sd_moderate_max`` at that mean: "p <
          0.0000002" bounds the SD from above only);
        - ``moderate_baseline_mean_max, severe_baseline_mean_max``: the highest mean
          baseline each group can have, given the overall baseline mean and the other
          group at its lowest possible values;
        - ``baseline_compatible``: the overall baseline mean can be met with every
          moderate baseline in [6.2, 8.0] % and every severe one above 8.0 %.
    """
    published = published or inputs_published.load()
    rep = _reported(published)
    design = derive_design(published)
    granular = set(granular_sizes(published))
    n = rep.n_total
    mod_ends, sev_ends, sevp_ends = rep.moderate_reduction, rep.severe_reduction, rep.severe_p
    base_low, base_high = rep.baseline_mean[0] * n, rep.baseline_mean[1] * n
    sev_floor = rep.severe_above + HBA1C_STEP  # recorded to 0.1: "> 8.0" is at least 8.1
    rows = []
    for n_sev in design.feasible_n_severe:
        n_mod = n - n_sev
        sd_sev = [sd_from_p(m, n_sev, p) for m in sev_ends for p in sevp_ends]
        sd_mod_max = sd_from_p(mod_ends[1], n_mod, rep.moderate_p_below)
        sd_mod_reading = sd_from_p(mod_ends[0], n_mod, rep.moderate_p_below / 2)
        cis = [ci_from_p(m, n_sev, p, confidence) for m in sev_ends for p in sevp_ends]
        ci_low, ci_high = min(c[0] for c in cis), max(c[1] for c in cis)
        mod_half = (ci_from_p(mod_ends[1], n_mod, rep.moderate_p_below, confidence)[1] - mod_ends[1])
        overall = []
        for m_mod, m_sev, p_sev in itertools.product(mod_ends, sev_ends, sevp_ends):
            s_mod, s_sev = sd_from_p(m_mod, n_mod, rep.moderate_p_below), sd_from_p(m_sev, n_sev, p_sev)
            sd_all = combined_sd([(n_mod, m_mod, s_mod), (n_sev, m_sev, s_sev)])
            mean_all = (n_mod * m_mod + n_sev * m_sev) / n
            t = mean_all * math.sqrt(n) / sd_all
            overall.append((sd_all, float(2 * _st.t.sf(abs(t), n - 1))))
        # Welch's p is monotone in each of these, so the corners give its range (a finer
        # grid finds nothing outside: tests/test_stats_consistency.py).
        diff_p = [float(_st.ttest_ind_from_stats(m_sev, sd_from_p(m_sev, n_sev, p_sev), n_sev, m_mod, s_mod, n_mod,
                                                 equal_var=False).pvalue)
                  for m_sev, p_sev, m_mod in itertools.product(sev_ends, sevp_ends, mod_ends)
                  for s_mod in (0.0, sd_from_p(m_mod, n_mod, rep.moderate_p_below))]
        lowest_possible = n_mod * rep.moderate_min + n_sev * sev_floor
        highest_possible = n_mod * rep.severe_above + n_sev * HBA1C_MAX
        rows.append({
            "n_severe": n_sev, "n_moderate": n_mod,
            "weighted_reduction_low": (n_mod * mod_ends[0] + n_sev * sev_ends[0]) / n,
            "weighted_reduction_high": (n_mod * mod_ends[1] + n_sev * sev_ends[1]) / n,
            "granular": n_sev in granular,
            "sd_severe_low": min(sd_sev), "sd_severe_high": max(sd_sev),
            "sd_moderate_max": sd_mod_max, "sd_moderate_if_p_above_half_bound": sd_mod_reading,
            "severe_ci95_low": ci_low, "severe_ci95_high": ci_high,
            "moderate_ci95_halfwidth_max": mod_half,
            "overall_sd_max": max(s for s, _ in overall), "overall_p_max": max(p for _, p in overall),
            "difference_p_low": min(diff_p), "difference_p_high": max(diff_p),
            "moderate_baseline_mean_max": min(rep.severe_above, (base_high - n_sev * sev_floor) / n_mod),
            "severe_baseline_mean_max": min(HBA1C_MAX, (base_high - n_mod * rep.moderate_min) / n_sev),
            "baseline_compatible": bool(lowest_possible < base_high and highest_possible >= base_low),
        })
    return pd.DataFrame(rows)

"""Beyond the paper: how much of the effect is real?

One entry point for ``results.json``, :func:`sections`, computes every analysis of the
chapters *What the abstract implies* and *How much of the effect is real?* and returns
them as ``results.json`` sections (each a ``to_dict()`` of a tidy result with
``estimable`` and ``reason``):

=============================== ==========================================================
key                             what
=============================== ==========================================================
``published_consistency``       what the published figures imply, and how many checks pass
``regression_to_mean``          severe group: fall expected from regression to the mean
``regression_to_mean_moderate`` the same, moderate group
``regression_to_mean_overall``  the same, all patients
``ancova``                      post-treatment HbA1c on baseline, all patients
``bootstrap``                   all patients: t, bootstrap (BCa) and Wilcoxon intervals
``bootstrap_moderate``          the same, moderate group
``bootstrap_severe``            the same, severe group
``dose_regression``             reduction per tenfold dose, adjusted for baseline
``followup``                    reduction per year of follow-up, adjusted for baseline
``source_comparison``           reduction by MSC source (Welch ANOVA, Kruskal-Wallis)
``safety``                      serious adverse events: rate and exact 95 % upper bound
``power``                       randomised trial enrolling patients like the whole cohort
``power_severe``                the same, severe patients only
=============================== ==========================================================

The regression-to-the-mean anchors (population mean and SD of HbA1c, within-person
variability, the test-retest correlation and their citations) are passed in as an
object with the attributes ``population_mean_percent``, ``population_sd_percent``,
``within_person_cv``, ``within_person_sd_percent``, ``reliability`` and ``citations``
(``evidence.rtm_anchors()`` in the book).

The rest of the module builds what the two chapters show (sentences and tables in MyST
Markdown, curve data for the figures), so that the chapters only call and display.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd
from IPython.display import Markdown

from . import analysis, consistency, power, safety, sensitivity
from .analysis import Parameters
from .dataset import Cohort
from .report import escape, markdown_table
from .stats import format_p

__all__ = [
    "RTM_GROUPS",
    "ROBUST_GROUPS",
    "TRIAL_DROPOUT",
    "TRIAL_GROUPS",
    "Beyond",
    "analyse",
    "sections",
]

#: Populations of the regression-to-the-mean analysis; the first is the headline.
RTM_GROUPS = ("severe", "moderate", "overall")
#: Populations of the robustness intervals; the first is the headline.
ROBUST_GROUPS = ("overall", "moderate", "severe")
#: Who a randomised trial would enrol; the first is the headline.
TRIAL_GROUPS = ("overall", "severe")
#: Proportion lost before the primary measurement, by which trial enrolment is inflated
#: (a planning assumption, stated wherever it is used).
TRIAL_DROPOUT = 0.10

_GROUP_NAMES = {"overall": "all patients", "moderate": "moderate group", "severe": "severe group"}
_SOURCE_NAMES = {"umbilical_cord": "Umbilical cord", "bone_marrow": "Bone marrow", "adipose": "Adipose tissue"}


def _anchor(anchors: Any, name: str) -> float:
    value = getattr(anchors, name)
    return float(value)


@dataclass(frozen=True)
class Beyond:
    """Every result of the two chapters, as tidy result objects (see :func:`analyse`)."""

    consistency: consistency.PublishedConsistency
    rtm: dict[str, sensitivity.RegressionToMean]
    ancova: sensitivity.Ancova
    robust: dict[str, sensitivity.RobustIntervals]
    dose_regression: sensitivity.CovariateRegression
    followup: sensitivity.CovariateRegression
    source_comparison: sensitivity.SourceComparison
    safety: safety.SafetyBound
    trials: dict[str, power.TrialPlan]

    def sections(self) -> dict[str, dict[str, Any]]:
        """The ``results.json`` sections, in the order of the module docstring."""
        out: dict[str, dict[str, Any]] = {"published_consistency": self.consistency.to_dict()}
        for i, group in enumerate(RTM_GROUPS):
            out["regression_to_mean" if i == 0 else f"regression_to_mean_{group}"] = self.rtm[group].to_dict()
        out["ancova"] = self.ancova.to_dict()
        for i, group in enumerate(ROBUST_GROUPS):
            out["bootstrap" if i == 0 else f"bootstrap_{group}"] = self.robust[group].to_dict()
        out["dose_regression"] = self.dose_regression.to_dict()
        out["followup"] = self.followup.to_dict()
        out["source_comparison"] = self.source_comparison.to_dict()
        out["safety"] = self.safety.to_dict()
        for i, group in enumerate(TRIAL_GROUPS):
            out["power" if i == 0 else f"power_{group}"] = self.trials[group].to_dict()
        return out


def analyse(cohort: Cohort, params: Parameters, anchors: Any, published: dict[str, Any] | None = None) -> Beyond:
    """Run every analysis beyond the paper on this cohort.

    Parameters
    ----------
    cohort : Cohort
        The validated data (:func:`livingpaper.dataset.load`).
    params : Parameters
        The build's group thresholds.
    anchors : object
        Regression-to-the-mean anchors (attributes listed in the module docstring).
    published : dict, optional
        The published figures (default: ``data/published.yaml``).
    """
    mu, r = _anchor(anchors, "population_mean_percent"), _anchor(anchors, "reliability")
    populations = {g: analysis.population(cohort, g, params) for g in ("overall", "moderate", "severe")}
    rtm = {g: sensitivity.regression_to_mean(populations[g], mu, r, group=g) for g in RTM_GROUPS}
    robust = {g: sensitivity.robust_intervals(populations[g], group=g) for g in ROBUST_GROUPS}
    trials = {}
    for g in TRIAL_GROUPS:
        # The planning SD is the SD of the change in this population (the paired chapters'
        # sd_reduction), computed here without re-running their tests.
        change = (populations[g]["hba1c_baseline"] - populations[g]["hba1c_post"]).dropna()
        sd = float(change.std(ddof=1)) if len(change) >= 2 else None
        trials[g] = power.trial_plan(
            rtm[g].observed_mean_reduction, rtm[g].residual_reduction, sd, group=g, reliability=r,
            dropout=TRIAL_DROPOUT,
        )
    analysed = cohort.analysed
    return Beyond(
        consistency=consistency.audit(published),
        rtm=rtm,
        ancova=sensitivity.ancova(analysed, centre=mu),
        robust=robust,
        dose_regression=sensitivity.dose_regression(analysed.dropna(subset=["dose_cells"])),
        followup=sensitivity.followup_regression(analysed),
        source_comparison=sensitivity.source_comparison(analysed),
        safety=safety.serious_adverse_events(cohort.data),
        trials=trials,
    )


def sections(cohort: Cohort, params: Parameters, anchors: Any) -> dict[str, dict[str, Any]]:
    """The ``results.json`` sections beyond the paper (keys in the module docstring)."""
    return analyse(cohort, params, anchors).sections()


# ---------------------------------------------------------------------------
# Curve data for the figures
# ---------------------------------------------------------------------------


def rtm_curve(cohort: Cohort, params: Parameters, anchors: Any) -> pd.DataFrame:
    """Regression to the mean over test-retest correlations 0.50 to 0.95, per group."""
    groups = {g: analysis.population(cohort, g, params) for g in reversed(RTM_GROUPS)}
    return sensitivity.rtm_curve(groups, _anchor(anchors, "population_mean_percent"))


def power_curve(result: Beyond) -> pd.DataFrame:
    """Power against patients per arm, for each trial population and planning reduction."""
    frames = []
    for g in TRIAL_GROUPS:
        plan = result.trials[g]
        who = "All patients" if g == "overall" else "Severe only"
        scenarios = {f"{who}: observed fall": plan.observed_reduction,
                     f"{who}: after regression to the mean": plan.rtm_adjusted_reduction}
        frames.append(power.power_curve(plan.sd_change, scenarios))
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=["scenario", "reduction_difference", "effect_size", "n_per_arm", "power"])
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------------------
# What the chapters show
# ---------------------------------------------------------------------------


def _n(x: float | None, decimals: int = 2) -> str:
    return "–" if x is None else f"{x:.{decimals}f}"


def _ci(low: float | None, high: float | None, decimals: int = 2) -> str:
    return "–" if low is None or high is None else f"{low:.{decimals}f} to {high:.{decimals}f}"


def _pct(x: float | None, decimals: int = 1) -> str:
    return "–" if x is None else f"{100 * x:.{decimals}f} %"


def _because(reason: str | None) -> str:
    """A result's reason as the end of a sentence ("... is not estimable: <reason>")."""
    text = reason or "no reason was given."
    prefix = "Not estimable: "
    return escape(text[len(prefix):] if text.startswith(prefix) else text)


def _cite(anchors: Any, field: str) -> str:
    key = getattr(anchors, "citations", {}).get(field)
    return f" {{cite:p}}`{key}`" if key else ""


def anchors_note(anchors: Any) -> Markdown:
    """Where the central test-retest correlation comes from, with its citations."""
    mu, sd = _anchor(anchors, "population_mean_percent"), _anchor(anchors, "population_sd_percent")
    cv, sw = _anchor(anchors, "within_person_cv"), _anchor(anchors, "within_person_sd_percent")
    r = _anchor(anchors, "reliability")
    return Markdown(
        f"The central case takes the population the patients came from to have a mean HbA1c of "
        f"**{mu:.1f} %** with an SD of **{sd:.1f} %** between patients{_cite(anchors, 'population_mean_percent')}, "
        f"and a within-person coefficient of variation of HbA1c in type 2 diabetes of **{cv:.3f}**"
        f"{_cite(anchors, 'within_person_cv')}, i.e. a within-person SD of {sw:.2f} percentage points at "
        f"{mu:.1f} %. The test–retest correlation is then r = 1 − {sw:.2f}² / {sd:.1f}² = **{r:.2f}**."
    )


def rtm_headline(res: sensitivity.RegressionToMean) -> Markdown:
    """One sentence: how much of the group's fall regression to the mean explains."""
    who = _GROUP_NAMES.get(res.group, res.group)
    if res.n == 0 or res.observed_mean_reduction is None:
        return Markdown(f"Regression to the mean cannot be assessed in the {escape(who)}: {_because(res.reason)}")
    fall = res.observed_mean_reduction
    text = (f"In the {who} (n = {res.n}, mean baseline {res.baseline_mean:.2f} %), regression to the mean alone "
            f"would lower HbA1c by **{res.expected_rtm_reduction:.2f}** of the observed "
            f"{fall:.2f} percentage points at r = {res.reliability:.2f}")
    if res.share_explained is not None:
        text += f" ({100 * res.share_explained:.0f} % of it)"
    if not res.estimable:
        return Markdown(text + f"; the fall beyond it is {res.residual_reduction:.2f}, without a confidence "
                               f"interval: {_because(res.reason)}")
    text += (f"; the fall beyond it is **{res.residual_reduction:.2f} percentage points** (95% CI "
             f"{_ci(res.residual_ci95_low, res.residual_ci95_high)}; {format_p(res.residual_p)}).")
    if res.reliability_explaining_all is not None:
        text += (f" Regression to the mean would explain the whole fall if the test–retest correlation were "
                 f"{res.reliability_explaining_all:.2f} or lower.")
    if res.reliability_threshold is None:
        text += " At every correlation between 0 and 1 the interval of the remaining fall stays above zero."
    elif res.reliability_threshold >= 1.0:
        text += " Even without regression to the mean, the interval of the fall includes zero."
    else:
        text += (f" Its 95% interval reaches zero at a correlation of {res.reliability_threshold:.2f} "
                 "and below.")
    return Markdown(text)


def rtm_table(rtm: dict[str, sensitivity.RegressionToMean]) -> str:
    """The regression-to-the-mean decomposition, one row per group."""
    rows = []
    for g in ("overall", "moderate", "severe"):
        res = rtm[g]
        rows.append([
            _GROUP_NAMES[g].capitalize(), f"{res.n}", _n(res.baseline_mean), _n(res.observed_mean_reduction),
            _n(res.expected_rtm_reduction), _n(res.residual_reduction),
            _ci(res.residual_ci95_low, res.residual_ci95_high),
            "–" if res.residual_p is None else f"{res.residual_p:.3g}",
            "none in [0, 1]" if res.reliability_explaining_all is None else f"≤ {res.reliability_explaining_all:.2f}",
            ("–" if not res.estimable else "none in [0, 1]" if res.reliability_threshold is None
             else f"≤ {res.reliability_threshold:.2f}"),
        ])
    frame = pd.DataFrame(rows, columns=[
        "Population", "n", "Mean baseline, %", "Observed fall", "Expected from RTM", "Fall beyond RTM",
        "95% CI (beyond RTM)", "p (beyond RTM = 0)", "r at which RTM explains all", "r at which the CI reaches 0"])
    return markdown_table(frame, escape_cells=False)


def ancova_headline(res: sensitivity.Ancova) -> Markdown:
    """One sentence: the baseline-adjusted fall and the slope on baseline."""
    if not res.estimable:
        return Markdown(f"The baseline-adjusted analysis is not estimable: {_because(res.reason)}")
    text = (f"Regressing post-treatment on baseline HbA1c (n = {res.n}), a patient starting at {res.centre:.1f} % "
            f"would be expected to fall by **{res.adjusted_reduction:.2f} percentage points** (95% CI "
            f"{_ci(res.adjusted_ci95_low, res.adjusted_ci95_high)}; {format_p(res.adjusted_p)}). Each percentage "
            f"point of higher baseline went with {res.slope:.2f} points of higher post-treatment HbA1c (95% CI "
            f"{_ci(res.slope_ci95_low, res.slope_ci95_high)}); a slope of 1 would mean that the fall does not "
            f"depend on the baseline ({format_p(res.slope_vs_one_p)} against 1).")
    if res.reason:
        text += f" {escape(res.reason)}"
    return Markdown(text)


def ancova_table(res: sensitivity.Ancova) -> str:
    rows = [
        ("Patients (n)", f"{res.n}"),
        ("Baseline at which the fall is read, %", f"{res.centre:.2f}"),
        ("Slope of post on baseline (95% CI)", f"{_n(res.slope)} ({_ci(res.slope_ci95_low, res.slope_ci95_high)})"),
        ("p (slope = 1)", "–" if res.slope_vs_one_p is None else f"{res.slope_vs_one_p:.3g}"),
        ("Expected post-treatment HbA1c at that baseline, %", _n(res.adjusted_post_mean)),
        ("Baseline-adjusted fall, percentage points (95% CI)",
         f"{_n(res.adjusted_reduction)} ({_ci(res.adjusted_ci95_low, res.adjusted_ci95_high)})"),
        ("p (adjusted fall = 0)", "–" if res.adjusted_p is None else f"{res.adjusted_p:.3g}"),
        ("R²", _n(res.r_squared, 3)),
        ("Residual SD, %", _n(res.residual_sd)),
    ]
    return markdown_table(pd.DataFrame(rows, columns=["Statistic", "Value"]), escape_cells=False)


def robust_headline(robust: dict[str, sensitivity.RobustIntervals]) -> Markdown:
    """Do the distribution-free intervals tell the same story as the t intervals?"""
    usable = [r for r in robust.values() if r.estimable]
    if not usable:
        return Markdown("No interval could be computed. " + " ".join(
            f"{_GROUP_NAMES.get(r.group, r.group).capitalize()}: {_because(r.reason)}" for r in robust.values()))
    agree, differ = [], []
    for r in usable:
        limits = [(r.t_ci95_low, r.t_ci95_high), (r.bootstrap_ci95_low, r.bootstrap_ci95_high),
                  (r.wilcoxon_ci95_low, r.wilcoxon_ci95_high)]
        # +1: the interval lies above 0; -1: below 0; 0: it includes 0.
        sides = {(low > 0) - (high < 0) for low, high in limits if low is not None and high is not None}
        (agree if len(sides) == 1 else differ).append(_GROUP_NAMES.get(r.group, r.group))
    text = []
    if agree:
        text.append(f"In {_listing(agree)}, the Student t, bootstrap and Wilcoxon intervals agree on whether the "
                    "fall excludes zero.")
    if differ:
        text.append(f"In {_listing(differ)}, they disagree: the conclusion there depends on the method.")
    return Markdown(" ".join(text) + " The table gives the limits.")


def _listing(names: list[str]) -> str:
    names = [("all patients" if n == "all patients" else f"the {n}") for n in names]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def robust_table(robust: dict[str, sensitivity.RobustIntervals]) -> str:
    """t, bootstrap and rank-based intervals side by side, one column per group."""
    groups = [g for g in ROBUST_GROUPS if g in robust]
    ordered = sorted(groups, key=("overall", "moderate", "severe").index)
    stat = lambda r, f: f(r)  # noqa: E731
    rows = {
        "Patients (n)": lambda r: f"{r.n}",
        "Mean reduction": lambda r: _n(r.mean_reduction),
        "95% CI, Student t": lambda r: _ci(r.t_ci95_low, r.t_ci95_high),
        "95% CI, bootstrap": lambda r: (f"{_ci(r.bootstrap_ci95_low, r.bootstrap_ci95_high)}"
                                        + (f" ({r.bootstrap_method})" if r.bootstrap_method and
                                           r.bootstrap_ci95_low is not None else "")),
        "Median reduction": lambda r: _n(r.median_reduction),
        "Hodges–Lehmann estimate": lambda r: _n(r.hodges_lehmann),
        "95% CI, Wilcoxon signed-rank": lambda r: _ci(r.wilcoxon_ci95_low, r.wilcoxon_ci95_high),
        "p, Wilcoxon signed-rank": lambda r: "–" if r.wilcoxon_p is None else f"{r.wilcoxon_p:.3g}",
    }
    frame = pd.DataFrame({"Statistic (percentage points)": list(rows),
                          **{_GROUP_NAMES[g].capitalize(): [stat(robust[g], f) for f in rows.values()]
                             for g in ordered}})
    return markdown_table(frame, escape_cells=False)


def _direction(slope: float) -> str:
    return "larger" if slope > 0 else "smaller"


def dose_headline(res: sensitivity.CovariateRegression) -> Markdown:
    if not res.estimable:
        return Markdown(f"The dose regression is not estimable: {_because(res.reason)}")
    return Markdown(
        f"At the same baseline HbA1c, each tenfold higher dose went with a {_direction(res.slope)} fall by "
        f"**{abs(res.slope):.2f} percentage points** (95% CI {_ci(res.ci95_low, res.ci95_high)}; "
        f"{format_p(res.p)}; n = {res.n}). Without the baseline in the model: {res.unadjusted_slope:.2f} per tenfold "
        f"dose ({format_p(res.unadjusted_p)}). Each percentage point of higher baseline went with "
        f"{res.reduction_per_baseline_point:.2f} points more fall ({format_p(res.baseline_p)})."
    )


def followup_headline(res: sensitivity.CovariateRegression) -> Markdown:
    if not res.estimable:
        return Markdown(f"The follow-up analysis is not estimable: {_because(res.reason)}")
    trend = "smaller" if res.slope < 0 else "larger"
    return Markdown(
        f"Follow-up ran from {res.predictor_min:.0f} to {res.predictor_max:.0f} months. At the same baseline, "
        f"patients measured one year later had a {trend} fall by **{abs(res.slope):.2f} percentage points** "
        f"(95% CI {_ci(res.ci95_low, res.ci95_high)} per year; {format_p(res.p)}; n = {res.n}); the rank "
        f"correlation of follow-up with the fall was ρ = {_n(res.spearman_rho)} ({format_p(res.spearman_p)})."
    )


def source_headline(res: sensitivity.SourceComparison) -> Markdown:
    if not res.estimable:
        return Markdown(f"The comparison of MSC sources is not estimable: {_because(res.reason)}")
    parts = []
    if res.welch_p is not None:
        parts.append(f"Welch's ANOVA F({res.welch_df_num:.0f}, {res.welch_df_denom:.1f}) = {res.welch_f:.2f}, "
                     f"{format_p(res.welch_p)}")
    if res.kruskal_p is not None:
        parts.append(f"Kruskal–Wallis H = {res.kruskal_h:.2f}, {format_p(res.kruskal_p)}")
    names = ", ".join(_SOURCE_NAMES.get(s, s).lower() for s in res.groups_compared.split(", "))
    text = f"Comparing the fall between {res.n_groups_compared} MSC sources ({names}): {'; '.join(parts)}."
    if res.reason:
        text += f" {escape(res.reason)}"
    return Markdown(text)


def source_table(res: sensitivity.SourceComparison) -> str:
    rows = [(name, f"{getattr(res, 'n_' + key)}", _n(getattr(res, "mean_reduction_" + key)))
            for key, name in _SOURCE_NAMES.items()]
    return markdown_table(pd.DataFrame(rows, columns=["MSC source", "Patients (n)", "Mean reduction"]),
                          escape_cells=False)


def safety_headline(res: safety.SafetyBound) -> Markdown:
    if not res.estimable:
        return Markdown(f"The rate of serious adverse events is not estimable: {_because(res.reason)}")
    text = (f"{res.events} of {res.n} treated patients had a serious adverse event ({_pct(res.rate)}). The exact "
            f"95% confidence interval of the rate runs from {_pct(res.lower95)} to **{_pct(res.upper95)}**")
    if res.events == 0 and res.upper95 < 0.5:
        text += (f": a true rate as high as about 1 in {math.floor(1 / res.upper95):d} patients is compatible "
                 "with seeing none.")
    else:
        text += "."
    if res.rule_of_three_upper95 is not None:
        text += f" The rule of three gives {_pct(res.rule_of_three_upper95)} (a one-sided bound)."
    return Markdown(text)


def trial_headline(plans: dict[str, power.TrialPlan]) -> Markdown:
    plan = plans[TRIAL_GROUPS[0]]
    if not plan.estimable:
        return Markdown(f"A trial cannot be sized from these data: {_because(plan.reason)}")
    allocation = "1:1" if plan.allocation_ratio == 1 else f"{plan.allocation_ratio:g}:1"
    arm = "per arm" if plan.allocation_ratio == 1 else "in the control arm"
    text = (f"To detect the observed fall of {plan.observed_reduction:.2f} percentage points (SD of the change "
            f"{plan.sd_change:.2f}) with {100 * plan.power:.0f} % power at a two-sided α of {plan.alpha:g}, a "
            f"{allocation} placebo-controlled trial needs **{plan.n_per_arm_observed} patients {arm}**")
    if plan.n_per_arm_rtm_adjusted is not None:
        text += (f"; to detect the {plan.rtm_adjusted_reduction:.2f} left after regression to the mean, "
                 f"**{plan.n_per_arm_rtm_adjusted} {arm}** ({plan.n_total_rtm_adjusted_with_dropout} to enrol "
                 f"with {100 * plan.dropout:.0f} % dropout).")
    else:
        text += (". No trial can be sized for the fall beyond regression to the mean: "
                 f"{_because(plan.rtm_adjusted_reason)}")
    return Markdown(text)


def trial_table(plans: dict[str, power.TrialPlan]) -> str:
    rows = []
    for g in TRIAL_GROUPS:
        plan = plans[g]
        who = "Like the whole cohort" if g == "overall" else "Severe diabetes only"
        for label, delta, d, n_arm, n_total, n_enrol in (
            ("observed fall", plan.observed_reduction, plan.effect_size_observed, plan.n_per_arm_observed,
             plan.n_total_observed, plan.n_total_observed_with_dropout),
            ("fall beyond regression to the mean", plan.rtm_adjusted_reduction, plan.effect_size_rtm_adjusted,
             plan.n_per_arm_rtm_adjusted, plan.n_total_rtm_adjusted, plan.n_total_rtm_adjusted_with_dropout),
        ):
            rows.append([who, label, _n(delta), _n(plan.sd_change), _n(d),
                         "–" if n_arm is None else f"{n_arm}", "–" if n_total is None else f"{n_total}",
                         "–" if n_enrol is None else f"{n_enrol}"])
    frame = pd.DataFrame(rows, columns=["Trial enrols", "Planning difference", "Difference, pp", "SD of change, pp",
                                        "Effect size d", "Patients per arm", "Patients analysed",
                                        f"Patients to enrol ({100 * TRIAL_DROPOUT:.0f} % dropout)"])
    return markdown_table(frame, escape_cells=False)


# --- What the abstract implies ---------------------------------------------------------


_VERDICT_MARKS = {consistency.CONSISTENT: "✓ consistent", consistency.INCONSISTENT: "✗ inconsistent",
                  consistency.NOT_INFORMATIVE: "○ not informative", consistency.NOT_VERIFIABLE: "? not verifiable"}


def consistency_headline(summary: consistency.PublishedConsistency) -> Markdown:
    """The audit in a few sentences: verdicts, then the main implied quantities."""
    if not summary.estimable:
        return Markdown(f"The published figures could not be audited: {_because(summary.reason)}")
    verdict = ("None of the checks that can be made finds an inconsistency" if summary.all_consistent
               else f"**{summary.n_inconsistent} check(s) find an inconsistency**")
    text = (f"{verdict}: {summary.n_consistent} of {summary.n_checks} checks pass, {summary.n_not_informative} "
            f"cannot fail at the precision reported, and {summary.n_not_verifiable} cannot be made from the "
            f"abstract. The figures imply that **{summary.n_severe_min} to {summary.n_severe_max}** of the "
            f"{summary.n_total} patients were in the severe group")
    ratio = summary.sd_reduction_severe_min / summary.sd_reduction_moderate_max
    text += (f", that the change in HbA1c was at least {ratio:.1f} times as variable there (SD "
             f"{summary.sd_reduction_severe_min:.2f} to {summary.sd_reduction_severe_max:.2f} percentage points) as "
             f"in the moderate group (SD at most {summary.sd_reduction_moderate_max:.2f}), and that the severe "
             f"group's mean fall has a 95% confidence interval as wide as {summary.severe_ci95_low:.2f} to "
             f"{summary.severe_ci95_high:.2f} percentage points.")
    if summary.difference_p_min >= 0.05:
        text += (f" The larger fall in the severe group is not statistically distinguishable from the moderate "
                 f"group's at any feasible size (implied Welch p {summary.difference_p_min:.3f} to "
                 f"{summary.difference_p_max:.3f}).")
    elif summary.difference_p_max < 0.05:
        text += (f" The larger fall in the severe group is statistically distinguishable from the moderate "
                 f"group's at every feasible size (implied Welch p {summary.difference_p_min:.2g} to "
                 f"{summary.difference_p_max:.2g}).")
    else:
        text += (f" Whether the severe group's fall differs from the moderate group's depends on the unreported "
                 f"sizes (implied Welch p {summary.difference_p_min:.2g} to {summary.difference_p_max:.2g}).")
    return Markdown(text)


def checks_table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "No check could be made: the published figures could not be audited."
    shown = pd.DataFrame({"Check": frame["check"], "Verdict": frame["verdict"].map(_VERDICT_MARKS),
                          "What the figures allow": frame["detail"]})
    return markdown_table(shown, numeric=False)


def implied_table(frame: pd.DataFrame) -> str:
    """The unreported quantities, one row per feasible severe-group size."""
    if frame.empty:
        return "The published means admit no split into the two groups."
    shown = pd.DataFrame({
        "Severe n": frame["n_severe"].map("{:d}".format),
        "Moderate n": frame["n_moderate"].map("{:d}".format),
        "SD of change, severe": [_ci(a, b) for a, b in zip(frame["sd_severe_low"], frame["sd_severe_high"])],
        "SD of change, moderate (at most)": frame["sd_moderate_max"].map("{:.2f}".format),
        "95% CI of the severe fall": [_ci(a, b) for a, b in zip(frame["severe_ci95_low"], frame["severe_ci95_high"])],
        "Overall p (at most)": frame["overall_p_max"].map("{:.1e}".format),
        "Welch p, severe vs moderate": [_ci(a, b, 3) for a, b in zip(frame["difference_p_low"],
                                                                     frame["difference_p_high"])],
        "Severe mean baseline (at most), %": frame["severe_baseline_mean_max"].map("{:.1f}".format),
    })
    return markdown_table(shown, escape_cells=False)


def build_comparison_table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "No comparison is possible: the published figures could not be audited."
    marks = frame["within"].map({True: "✓ within", False: "✗ outside", None: "–"})
    shown = pd.DataFrame({"Quantity": frame["quantity"], "Implied by the abstract": frame["implied"],
                          "This build": frame["this_build"], "": marks})
    return markdown_table(shown, numeric=False)


def reported_table(published_figures: dict[str, Any]) -> str:
    """The published numbers the derivations use, each with the interval it stands for."""
    rows = []
    for fig in published_figures["figures"]:
        if fig.kind in ("value", "p_equal"):
            low, high = fig.interval()
            digits = (fig.decimals or 0) + 1 if fig.kind == "value" else (fig.significant_digits or 3) + 2
            shown = f"{fig.value:g}"
            stands = (f"[{low:.{digits}f}, {high:.{digits}f})" if fig.kind == "value"
                      else f"[{low:.{digits}g}, {high:.{digits}g})")
        elif fig.kind == "p_below":
            shown, stands = f"< {fig.value:g}", f"(0, {fig.value:g})"
        elif fig.kind == "count":
            shown = stands = f"{int(fig.value)}"
        else:
            continue
        rows.append((fig.label, shown, stands))
    frame = pd.DataFrame(rows, columns=["Published figure", "As reported", "Stands for any value in"])
    return markdown_table(frame, numeric=False)

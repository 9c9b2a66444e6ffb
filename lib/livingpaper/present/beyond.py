"""Beyond the paper, on the page: what the chapters *What the abstract implies* and *How
much of the effect is real?* show, as sentences and tables in MyST Markdown.

The analyses are computed once per build, in :mod:`livingpaper.results.beyond` (the
``results.json`` sections and their keys are listed there); the functions here take
those typed results (a :class:`~livingpaper.results.beyond.Beyond`, or one of its
results) and write them, every number by the rules of :mod:`livingpaper.formatting`, so
that the chapters only call and display.
"""
from __future__ import annotations

import math
from typing import Any

import pandas as pd
from IPython.display import Markdown

from livingpaper.domain import SECTIONS, SOURCE_LABELS
from livingpaper.formatting import (
    bounds,
    format_p_cell,
    number,
    p_with_holm,
    percent,
    percent_down,
    percent_up,
    round_down,
    round_up,
    significant_decimals,
    span,
)
from livingpaper.present.markdown import (
    because,
    escape,
    markdown_table,
    reconstruction_note,
    with_note,
)
from livingpaper.results.beyond import (
    PAPER_CLAIM_TESTS,
    ROBUST_GROUPS,
    RTM_GROUPS,
    TRIAL_DROPOUT,
    TRIAL_GROUPS,
    Beyond,
    _anchor,
)
from livingpaper.stats import consistency, covariates, power, safety
from livingpaper.stats import robust as stats_robust
from livingpaper.stats import rtm as stats_rtm


def _in_sentence(group: str) -> str:
    """A section's name inside a sentence ("the moderate group", "all patients")."""
    return SECTIONS[group].in_sentence if group in SECTIONS else escape(group)


def _label(group: str) -> str:
    """A section's name in a table or at the start of a line ("Moderate group")."""
    return SECTIONS[group].label if group in SECTIONS else escape(group)


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
        f"{mu:.1f} %. The test–retest correlation is then r = 1 − {sw:.2f}² / {sd:.1f}² = **{r:.2f}**. "
        "A coefficient of variation means that the within-person SD grows with the level of HbA1c: at a "
        "group's own, higher mean baseline it is larger and r smaller, which the second table below shows."
    )


def _side(low: float | None, high: float | None) -> str:
    """Where a confidence interval lies relative to zero, in words."""
    if low is None or high is None:
        return "cannot be placed"
    return "lies above zero" if low > 0 else ("lies below zero" if high < 0 else "includes zero")


def _threshold_sentence(res: stats_rtm.RegressionToMean) -> str:
    """Where the conclusion of the residual test flips, beside its p."""
    p = p_with_holm(res.residual_p, res.residual_p_holm)
    side = _side(res.residual_ci95_low, res.residual_ci95_high)
    threshold = res.reliability_threshold
    if threshold is None:
        return (f" Its interval lies above zero at every test–retest correlation between 0 and 1 ({p} at "
                f"r = {res.reliability:.2f}).")
    if threshold >= 1.0:
        return (f" The interval {side} at r = {res.reliability:.2f}, and would not lie above zero at any "
                f"correlation, even with no regression to the mean at all ({p} at r = {res.reliability:.2f}).")
    if res.residual_ci95_low is not None and res.residual_ci95_low > 0:
        return (f" The interval lies above zero at r = {res.reliability:.2f}, but only for correlations above "
                f"**{threshold:.2f}**: at or below that, and nobody has measured the correlation in these "
                f"patients, it reaches zero ({p} at r = {res.reliability:.2f}).")
    return (f" The interval {side} at r = {res.reliability:.2f}; it would lie above zero only if the test–retest "
            f"correlation, which nobody has measured in these patients, were above **{threshold:.2f}** ({p} at "
            f"r = {res.reliability:.2f}).")


def _own_baseline_sentence(res: stats_rtm.RegressionToMean) -> str:
    if res.within_person_cv is None or res.within_person_sd_own_baseline is None:
        return ""
    head = (f" With the within-person SD taken at the group's own mean baseline instead of the population mean "
            f"({res.within_person_cv:.3f} × {res.baseline_mean:.2f} % = {res.within_person_sd_own_baseline:.2f} "
            "points)")
    if res.reliability_own_baseline is None:
        return head + (", it exceeds the SD between patients, so no test–retest correlation follows from "
                       "the anchors.")
    text = (f"{head}, r is **{res.reliability_own_baseline:.2f}**, regression to the mean explains "
            f"{res.expected_rtm_reduction_own_baseline:.2f} points, and the fall beyond it is "
            f"**{res.residual_reduction_own_baseline:.2f}**")
    if res.residual_ci95_low_own_baseline is None:
        return text + "."
    side = _side(res.residual_ci95_low_own_baseline, res.residual_ci95_high_own_baseline)
    return text + (f" (95% CI {span(res.residual_ci95_low_own_baseline, res.residual_ci95_high_own_baseline)}, "
                   f"which {side}).")


def rtm_headline(res: stats_rtm.RegressionToMean) -> Markdown:
    """How much of the group's fall regression to the mean explains, and how the answer
    moves with the test-retest correlation."""
    who = _in_sentence(res.group)
    if res.n == 0 or res.observed_mean_reduction is None:
        return with_note(f"Regression to the mean cannot be assessed in {who}: {because(res.reason)}",
                          res)
    fall = res.observed_mean_reduction
    text = (f"In {who} (n = {res.n}, mean baseline {res.baseline_mean:.2f} %), regression to the mean alone "
            f"would lower HbA1c by **{res.expected_rtm_reduction:.2f}** of the observed "
            f"{fall:.2f} percentage points at r = {res.reliability:.2f}")
    if res.share_explained is not None:
        text += (f" ({100 * res.share_explained:.0f} % of it)" if res.share_explained <= 1
                 else " (more than the whole observed fall)")
    if not res.estimable:
        return with_note(text + f"; the fall beyond it is {res.residual_reduction:.2f}, without a confidence "
                                 f"interval: {because(res.reason)}", res)
    text += (f"; the fall beyond it is **{res.residual_reduction:.2f} percentage points** (95% CI "
             f"{span(res.residual_ci95_low, res.residual_ci95_high)}).")
    text += _threshold_sentence(res)
    if res.reliability_explaining_all is not None:
        text += (f" Regression to the mean would explain the whole fall if the test–retest correlation were "
                 f"{res.reliability_explaining_all:.2f} or lower.")
    text += _own_baseline_sentence(res)
    return with_note(text, res)


def rtm_table(rtm: dict[str, stats_rtm.RegressionToMean]) -> str:
    """The regression-to-the-mean decomposition, one row per group; each p beside the
    correlation at which its conclusion flips."""
    rows = []
    for g in ("overall", "moderate", "severe"):
        res = rtm[g]
        rows.append([
            _label(g), f"{res.n}", number(res.baseline_mean), number(res.observed_mean_reduction),
            number(res.expected_rtm_reduction), number(res.residual_reduction),
            span(res.residual_ci95_low, res.residual_ci95_high),
            format_p_cell(res.residual_p), format_p_cell(res.residual_p_holm),
            ("–" if not res.estimable else "none in [0, 1]" if res.reliability_threshold is None
             else f"≤ {res.reliability_threshold:.2f}"),
            "none in [0, 1]" if res.reliability_explaining_all is None else f"≤ {res.reliability_explaining_all:.2f}",
        ])
    frame = pd.DataFrame(rows, columns=[
        "Population", "n", "Mean baseline, %", "Observed fall", "Expected from RTM", "Fall beyond RTM",
        "95% CI (beyond RTM)", "p (beyond RTM = 0)", "Holm-adjusted p", "r at which the CI reaches 0",
        "r at which RTM explains all"])
    return markdown_table(frame, escape_cells=False)


def rtm_own_baseline_table(rtm: dict[str, stats_rtm.RegressionToMean]) -> str:
    """The decomposition again, with the within-person SD at each group's own mean baseline."""
    rows = []
    for g in ("overall", "moderate", "severe"):
        res = rtm[g]
        rows.append([
            _label(g), number(res.baseline_mean), number(res.within_person_sd_own_baseline),
            number(res.reliability_own_baseline), number(res.expected_rtm_reduction_own_baseline),
            number(res.residual_reduction_own_baseline),
            span(res.residual_ci95_low_own_baseline, res.residual_ci95_high_own_baseline),
            format_p_cell(res.residual_p_own_baseline),
        ])
    frame = pd.DataFrame(rows, columns=[
        "Population", "Mean baseline, %", "Within-person SD at that level", "r", "Expected from RTM",
        "Fall beyond RTM", "95% CI (beyond RTM)", "p (beyond RTM = 0)"])
    return markdown_table(frame, escape_cells=False)


def ancova_headline(res: stats_rtm.Ancova) -> Markdown:
    """The baseline-adjusted fall, said as what it is: a prediction at the population mean."""
    if not res.estimable:
        return with_note(f"The baseline-adjusted analysis is not estimable: {because(res.reason)}", res)
    text = (f"Regressing post-treatment on baseline HbA1c (n = {res.n}), the predicted fall at a baseline of "
            f"{res.centre:.1f} %, the population mean, is **{res.adjusted_reduction:.2f} percentage points** (95% CI "
            f"{span(res.adjusted_ci95_low, res.adjusted_ci95_high)}; {p_with_holm(res.adjusted_p, res.adjusted_p_holm)}). "
            f"This is not the fall of a typical patient of this cohort, whose mean baseline is "
            f"{res.baseline_mean:.2f} %: it is read where regression to the mean would be zero. Each percentage "
            f"point of higher baseline went with {res.slope:.2f} points of higher post-treatment HbA1c (95% CI "
            f"{span(res.slope_ci95_low, res.slope_ci95_high)}); a slope of 1 would mean that the fall does not "
            f"depend on the baseline ({p_with_holm(res.slope_vs_one_p, res.slope_vs_one_p_holm)} against 1).")
    if res.reason:
        text += f" {escape(res.reason)}"
    return with_note(text, res)


def rtm_ancova_agreement(result: "Beyond") -> Markdown:
    """Why the regression to the mean above and the ANCOVA give different answers, and the
    consequence of reading the ANCOVA slope as the test-retest correlation."""
    res, at_slope = result.ancova, result.rtm_at_slope
    central = result.rtm[RTM_GROUPS[0]]
    if not res.estimable or at_slope is None:
        return Markdown("Without a baseline-adjusted slope the two analyses cannot be set side by side.")
    who = _in_sentence(at_slope.group)
    text = (f"**Why the two analyses differ.** The adjusted fall is the observed fall minus (1 − slope) × (mean "
            f"baseline − {res.centre:.1f} %): exactly the fall beyond regression to the mean of the previous "
            f"section with r replaced by the fitted slope. The slope, **{res.slope:.2f}** (95% CI "
            f"{span(res.slope_ci95_low, res.slope_ci95_high)}), ")
    if res.slope_ci95_high is not None and res.slope_ci95_high < central.reliability:
        text += f"lies well below the r = {central.reliability:.2f} taken from the literature. "
    elif res.slope_ci95_low is not None and res.slope_ci95_low > central.reliability:
        text += f"lies above the r = {central.reliability:.2f} taken from the literature. "
    else:
        text += f"is compatible with the r = {central.reliability:.2f} taken from the literature. "
    if at_slope.estimable and at_slope.residual_reduction is not None:
        side = _side(at_slope.residual_ci95_low, at_slope.residual_ci95_high)
        text += (f"Read as an estimate of r, it would leave {who} **{at_slope.residual_reduction:.2f} "
                 f"percentage points** beyond regression to the mean, instead of {number(central.residual_reduction)} "
                 f"(95% CI {span(at_slope.residual_ci95_low, at_slope.residual_ci95_high)}, which {side}). ")
    else:
        text += f"For {who} it gives nothing: {because(at_slope.reason)} "
    if res.slope_ci95_high is not None and res.slope_ci95_high < central.reliability:
        text += ("Two readings flatten the slope, and a single arm cannot tell them apart: a test–retest "
                 "correlation over these years really that low (then regression to the mean explains most of the "
                 "larger falls at high baselines), or a treatment effect that grows with the baseline (then the "
                 "slope says nothing about r). Only a control group, or repeated baseline measurements, can "
                 "separate them.")
    else:
        text += ("A slope this close to or above r gives no sign of a fall that grows with the baseline beyond "
                 "regression to the mean; it cannot show either that regression to the mean is all there is. "
                 "Only a control group, or repeated baseline measurements, can separate the two.")
    return with_note(text, at_slope)


def ancova_table(res: stats_rtm.Ancova) -> str:
    rows = [
        ("Patients (n)", f"{res.n}"),
        ("Mean baseline of the patients, %", number(res.baseline_mean)),
        ("Baseline at which the fall is read (population mean), %", f"{res.centre:.2f}"),
        ("Slope of post on baseline (95% CI)", f"{number(res.slope)} ({span(res.slope_ci95_low, res.slope_ci95_high)})"),
        ("p (slope = 1)", format_p_cell(res.slope_vs_one_p)),
        ("Holm-adjusted p (slope = 1)", format_p_cell(res.slope_vs_one_p_holm)),
        ("Predicted post-treatment HbA1c at that baseline, %", number(res.adjusted_post_mean)),
        ("Predicted fall at that baseline, percentage points (95% CI)",
         f"{number(res.adjusted_reduction)} ({span(res.adjusted_ci95_low, res.adjusted_ci95_high)})"),
        ("p (predicted fall = 0)", format_p_cell(res.adjusted_p)),
        ("Holm-adjusted p (predicted fall = 0)", format_p_cell(res.adjusted_p_holm)),
        ("R²", number(res.r_squared, 3)),
        ("Residual SD, %", number(res.residual_sd)),
    ]
    return markdown_table(pd.DataFrame(rows, columns=["Statistic", "Value"]), escape_cells=False)


def change_headline(res: stats_rtm.ChangeOnBaseline) -> Markdown:
    """The fall regressed on the baseline, against the slope regression to the mean predicts."""
    if not res.estimable:
        return with_note(f"The fall cannot be related to the baseline: {because(res.reason)}", res)
    text = (f"Each percentage point of higher baseline went with **{res.slope:.2f} points more fall** (95% CI "
            f"{span(res.slope_ci95_low, res.slope_ci95_high)}; n = {res.n}). Regression to the mean alone predicts "
            f"{res.rtm_expected_slope:.2f} (1 − r at r = {res.reliability:.2f}), so the test that matters is "
            f"against {res.rtm_expected_slope:.2f}, not against zero: the excess is **{res.excess:.2f} points** "
            f"per point of baseline (95% CI {span(res.excess_ci95_low, res.excess_ci95_high)}; "
            f"{p_with_holm(res.excess_p, res.excess_p_holm)}).")
    if res.reliability_explaining_slope is not None:
        text += (f" Regression to the mean alone would produce the whole slope only if r were "
                 f"{res.reliability_explaining_slope:.2f}.")
    return with_note(text, res)


def robust_headline(robust: dict[str, stats_robust.RobustIntervals]) -> Markdown:
    """Do the other intervals tell the same story as the t intervals?"""
    usable = [r for r in robust.values() if r.estimable]
    if not usable:
        return Markdown("No interval could be computed. " + " ".join(
            f"{_label(r.group)}: {because(r.reason)}" for r in robust.values()))
    agree, differ = [], []
    for r in usable:
        limits = [(r.t_ci95_low, r.t_ci95_high), (r.bootstrap_ci95_low, r.bootstrap_ci95_high),
                  (r.wilcoxon_ci95_low, r.wilcoxon_ci95_high)]
        # +1: the interval lies above 0; -1: below 0; 0: it includes 0.
        sides = {(low > 0) - (high < 0) for low, high in limits if low is not None and high is not None}
        (agree if len(sides) == 1 else differ).append(_in_sentence(r.group))
    text = []
    if agree:
        text.append(f"In {_listing(agree)}, the intervals that could be formed (Student t, bootstrap, Wilcoxon) "
                    "agree on whether the fall excludes zero.")
    if differ:
        text.append(f"In {_listing(differ)}, they disagree: the conclusion there depends on the method.")
    for r in robust.values():
        if r.estimable and not r.bootstrap_estimable and r.bootstrap_reason:
            text.append(f"No bootstrap interval is given for {_listing([_in_sentence(r.group)])}: "
                        f"{because(r.bootstrap_reason)}")
    caveats = {r.reconstruction_caveat for r in robust.values() if r.reconstruction_caveat}
    body = " ".join(text) + " The table gives the limits."
    note = "\n\n".join(reconstruction_note(c) for c in sorted(caveats))
    return Markdown(body + (f"\n\n{note}" if note else ""))


def _listing(names: list[str]) -> str:
    """Names as they read inside a sentence, joined: "all patients, the moderate group and ..."."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _bootstrap_cell(r: stats_robust.RobustIntervals) -> str:
    if not r.bootstrap_estimable or r.bootstrap_ci95_low is None:
        return "not reported" if r.estimable else "–"
    return f"{span(r.bootstrap_ci95_low, r.bootstrap_ci95_high)}" + (f" ({r.bootstrap_method})"
                                                                    if r.bootstrap_method else "")


def robust_table(robust: dict[str, stats_robust.RobustIntervals]) -> str:
    """t, bootstrap and rank-based intervals side by side, one column per group."""
    groups = [g for g in ROBUST_GROUPS if g in robust]
    rows = {
        "Patients (n)": lambda r: f"{r.n}",
        "Mean reduction": lambda r: number(r.mean_reduction),
        "95% CI, Student t": lambda r: span(r.t_ci95_low, r.t_ci95_high),
        "95% CI, bootstrap": _bootstrap_cell,
        "Median reduction": lambda r: number(r.median_reduction),
        "Hodges–Lehmann estimate": lambda r: number(r.hodges_lehmann),
        "95% CI, Wilcoxon signed-rank": lambda r: span(r.wilcoxon_ci95_low, r.wilcoxon_ci95_high),
        "p, Wilcoxon signed-rank": lambda r: format_p_cell(r.wilcoxon_p),
        "Holm-adjusted p, Wilcoxon signed-rank": lambda r: format_p_cell(r.wilcoxon_p_holm),
    }
    frame = pd.DataFrame({"Statistic (percentage points)": list(rows),
                          **{_label(g): [f(robust[g]) for f in rows.values()] for g in groups}})
    return markdown_table(frame, escape_cells=False)


def _direction(slope: float) -> str:
    return "larger" if slope > 0 else "smaller"


def dose_headline(res: covariates.CovariateRegression) -> Markdown:
    if not res.estimable:
        return with_note(f"The dose regression is not estimable: {because(res.reason)}", res)
    text = (f"At the same baseline HbA1c, each tenfold higher dose went with a {_direction(res.slope)} fall by "
            f"**{abs(res.slope):.2f} percentage points** (95% CI {span(res.ci95_low, res.ci95_high)}; "
            f"{p_with_holm(res.p, res.p_holm)}; n = {res.n}). Without the baseline in the model: {res.unadjusted_slope:.2f} "
            f"per tenfold dose ({p_with_holm(res.unadjusted_p, res.unadjusted_p_holm)}).")
    if res.baseline_excess is not None:
        text += (f" Each percentage point of higher baseline went with {res.reduction_per_baseline_point:.2f} points "
                 f"more fall, of which regression to the mean alone predicts {res.baseline_slope_rtm_expected:.2f} "
                 f"(1 − r): the excess is {res.baseline_excess:.2f} (95% CI "
                 f"{span(res.baseline_excess_ci95_low, res.baseline_excess_ci95_high)}; "
                 f"{p_with_holm(res.baseline_excess_p, res.baseline_excess_p_holm)}).")
    return with_note(text, res)


def followup_headline(res: covariates.CovariateRegression) -> Markdown:
    if not res.estimable:
        return with_note(f"The follow-up analysis is not estimable: {because(res.reason)}", res)
    trend = "smaller" if res.slope < 0 else "larger"
    return with_note(
        f"Follow-up ran from {res.predictor_min:.0f} to {res.predictor_max:.0f} months. At the same baseline, "
        f"patients measured one year later had a {trend} fall by **{abs(res.slope):.2f} percentage points** "
        f"(95% CI {span(res.ci95_low, res.ci95_high)} per year; {p_with_holm(res.p, res.p_holm)}; n = {res.n}); the rank "
        f"correlation of follow-up with the fall was ρ = {number(res.spearman_rho)} "
        f"({p_with_holm(res.spearman_p, res.spearman_p_holm)}).", res)


def source_headline(res: covariates.SourceComparison) -> Markdown:
    if not res.estimable:
        return with_note(f"The comparison of MSC sources is not estimable: {because(res.reason)}", res)
    parts = []
    if res.welch_p is not None:
        parts.append(f"Welch's ANOVA F({res.welch_df_num:.0f}, {res.welch_df_denom:.1f}) = {res.welch_f:.2f}, "
                     f"{p_with_holm(res.welch_p, res.welch_p_holm)}")
    if res.kruskal_p is not None:
        parts.append(f"Kruskal–Wallis H = {res.kruskal_h:.2f}, {p_with_holm(res.kruskal_p, res.kruskal_p_holm)}")
    names = ", ".join(SOURCE_LABELS.get(s, s).lower() for s in res.groups_compared.split(", "))
    text = f"Comparing the fall between {res.n_groups_compared} MSC sources ({names}): {'; '.join(parts)}."
    if res.reason:
        text += f" {escape(res.reason)}"
    return with_note(text, res)


def source_table(res: covariates.SourceComparison) -> str:
    rows = [(name, f"{getattr(res, 'n_' + key)}", number(getattr(res, "mean_reduction_" + key)))
            for key, name in SOURCE_LABELS.items()]
    return markdown_table(pd.DataFrame(rows, columns=["MSC source", "Patients (n)", "Mean reduction"]),
                          escape_cells=False)


def safety_headline(res: safety.SafetyBound) -> Markdown:
    if not res.estimable:
        return with_note(f"The rate of serious adverse events is not estimable: {because(res.reason)}", res)
    if res.n_treated is not None and res.n_treated != res.n:
        who = (f"{res.n} patients whose adverse-event status is recorded (of {res.n_treated} treated; "
               f"{res.n_treated - res.n} without a record are left out)")
    else:
        who = f"{res.n} treated patients (all with a recorded adverse-event status)"
    # The interval's ends are widened to the precision shown (lower rounded down, upper up,
    # so neither overstates what was seen nor understates how high the rate could be); a
    # rate said to be compatible is rounded down, so that it stays inside the interval.
    text = (f"{res.events} of the {who} had a serious adverse event ({percent(res.rate)}). The exact 95% confidence "
            f"interval of the rate runs from {percent_down(res.lower95)} to **{percent_up(res.upper95)}**")
    if res.events == 0 and res.one_in is not None:
        text += (f": a true rate as high as about 1 in {res.one_in:d} patients ({percent_down(1 / res.one_in)}) is "
                 "compatible with seeing none.")
    elif res.events == 0:
        text += f": a true rate as high as {percent_down(res.upper95)} is compatible with seeing none."
    else:
        text += "."
    if res.rule_of_three_upper95 is not None:
        text += f" The rule of three gives {percent_up(res.rule_of_three_upper95)} (a one-sided bound)."
    return with_note(text, res)


def trial_headline(plans: dict[str, power.TrialPlan]) -> Markdown:
    plan = plans[TRIAL_GROUPS[0]]
    if not plan.estimable:
        return with_note(f"A trial cannot be sized from these data: {because(plan.reason)}", plan)
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
                 f"{because(plan.rtm_adjusted_reason)}")
    return with_note(text, plan)


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
            rows.append([who, label, number(delta), number(plan.sd_change), number(d),
                         "–" if n_arm is None else f"{n_arm}", "–" if n_total is None else f"{n_total}",
                         "–" if n_enrol is None else f"{n_enrol}"])
    frame = pd.DataFrame(rows, columns=["Trial enrols", "Planning difference", "Difference, pp", "SD of change, pp",
                                        "Effect size d", "Patients per arm", "Patients analysed",
                                        f"Patients to enrol ({100 * TRIAL_DROPOUT:.0f} % dropout)"])
    return markdown_table(frame, escape_cells=False)


def multiplicity_headline(result: "Beyond") -> Markdown:
    """Said where the chapter starts: how many p-values it reports, and how they are read."""
    m = result.multiplicity
    if m is None or not m.estimable:
        return Markdown("None of the tests of this chapter could be made on these data.")
    text = f"This chapter reports **{m.n_tests} p-values**, all on the same patients"
    retested = []
    if result.family is not None:
        made = {(s, f) for s, f, ok in zip(result.family["section"], result.family["field"],
                                           result.family["in_family"]) if ok}
        retested = [_in_sentence(g) for s, f, g in PAPER_CLAIM_TESTS if (s, f) in made]
    if retested:
        one = len(retested) == 1
        text += (f": {m.n_tests - len(retested)} test questions of its own (regression to the mean, the "
                 "baseline-adjusted regressions, dose, follow-up and MSC source), and "
                 f"{len(retested)} Wilcoxon signed-rank test{'' if one else 's'} of the fall in "
                 f"{_listing(retested)} test{'s' if one else ''} the paper's own claim{'' if one else 's'} again, "
                 "on ranks (the paper's paired t-tests, on the results pages, are not among them)")
    text += (f". Among so many, one below {m.alpha:g} is expected by chance even if nothing is there, so each is "
             "shown with its Holm-adjusted p beside it, which keeps the chance of any false finding among them at "
             f"{m.alpha:g} {{cite:p}}`holm1979`: {m.n_below_alpha} raw p-values are below {m.alpha:g}, "
             f"{m.n_below_alpha_holm} after adjustment. A raw p near {m.alpha:g} here is not a discovery. The last "
             "section lists them all.")
    return with_note(text, m)


def multiplicity_table(result: "Beyond") -> str:
    """Every test of the chapter's family with its raw and Holm-adjusted p."""
    family = result.family
    if family is None or family.empty:
        return "No test was made."
    rows = [(label, format_p_cell(p) if ok else "not estimable", format_p_cell(holm) if ok else "–")
            for label, p, holm, ok in zip(family["label"], family["p"], family["p_holm"], family["in_family"])]
    return markdown_table(pd.DataFrame(rows, columns=["Test", "p", "Holm-adjusted p"]), escape_cells=False)


# --- What the abstract implies ---------------------------------------------------------


_VERDICT_MARKS = {consistency.CONSISTENT: "✓ consistent", consistency.INCONSISTENT: "✗ inconsistent",
                  consistency.NOT_INFORMATIVE: "○ not informative", consistency.NOT_VERIFIABLE: "? not verifiable"}


def _p_range(low: float, high: float) -> str:
    """A range of p-values with the low end rounded down and the high end up (three
    decimals, or two significant digits below 0.001)."""
    low_decimals, high_decimals = max(3, significant_decimals(low, 2)), max(3, significant_decimals(high, 2))
    return f"{round_down(low, low_decimals):.{low_decimals}f} to {round_up(high, high_decimals):.{high_decimals}f}"


def consistency_headline(summary: consistency.PublishedConsistency) -> Markdown:
    """The audit in a few sentences: verdicts, then the main implied quantities. Lower
    bounds are rounded down and upper bounds up, at the precision shown."""
    if not summary.estimable:
        return Markdown(f"The published figures could not be audited: {because(summary.reason)}")
    can_fail = summary.n_checks - summary.n_not_informative - summary.n_not_verifiable
    verdict = (f"All {summary.n_consistent} of the {can_fail} checks that could fail pass" if summary.all_consistent
               else f"**{summary.n_inconsistent} of the {can_fail} checks that could fail find an inconsistency**")
    text = (f"{verdict}; a further {summary.n_not_informative} cannot fail at the precision reported and are not "
            f"counted as passed, and {summary.n_not_verifiable} cannot be made from the abstract. The figures "
            f"imply that **{summary.n_severe_min} to {summary.n_severe_max}** of the {summary.n_total} patients "
            "were in the severe group")
    ratio = summary.sd_reduction_severe_min / summary.sd_reduction_moderate_max
    text += (f", that the change in HbA1c was at least {round_down(ratio, 1):.1f} times as variable there (SD "
             f"{bounds(summary.sd_reduction_severe_min, summary.sd_reduction_severe_max)} percentage points) as "
             f"in the moderate group (SD at most {round_up(summary.sd_reduction_moderate_max, 2):.2f}), and that the "
             f"severe group's mean fall has a 95% confidence interval as wide as "
             f"{bounds(summary.severe_ci95_low, summary.severe_ci95_high)} percentage points.")
    p_range = _p_range(summary.difference_p_min, summary.difference_p_max)
    if summary.difference_p_min >= 0.05:
        text += (f" The larger fall in the severe group is not statistically distinguishable from the moderate "
                 f"group's at any size and any values the published figures allow (implied Welch p {p_range}).")
    elif summary.difference_p_max < 0.05:
        text += (f" The larger fall in the severe group is statistically distinguishable from the moderate "
                 f"group's at every size and value the published figures allow (implied Welch p {p_range}).")
    else:
        text += (f" Whether the severe group's fall differs from the moderate group's depends on the unreported "
                 f"sizes and SDs (implied Welch p {p_range}).")
    return Markdown(text)


def checks_table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "No check could be made: the published figures could not be audited."
    shown = pd.DataFrame({"Check": frame["check"], "Verdict": frame["verdict"].map(_VERDICT_MARKS),
                          "What the figures allow": frame["detail"]})
    return markdown_table(shown, numeric=False)


def implied_table(frame: pd.DataFrame) -> str:
    """The unreported quantities, one row per feasible severe-group size. Every range is
    widened to the precision shown (lower ends rounded down, upper ends up)."""
    if frame.empty:
        return "The published means admit no split into the two groups."
    shown = pd.DataFrame({
        "Severe n": frame["n_severe"].map("{:d}".format),
        "Moderate n": frame["n_moderate"].map("{:d}".format),
        "SD of change, severe": [bounds(a, b) for a, b in zip(frame["sd_severe_low"], frame["sd_severe_high"])],
        "SD of change, moderate (at most)": [f"{round_up(x, 2):.2f}" for x in frame["sd_moderate_max"]],
        "95% CI of the severe fall": [bounds(a, b) for a, b in zip(frame["severe_ci95_low"],
                                                                   frame["severe_ci95_high"])],
        "Overall p (at most)": [f"{round_up(x, significant_decimals(x, 2)):.1e}" for x in frame["overall_p_max"]],
        "Welch p, severe vs moderate": [_p_range(a, b) for a, b in zip(frame["difference_p_low"],
                                                                        frame["difference_p_high"])],
        "Severe mean baseline (at most), %": [f"{round_up(x, 1):.1f}" for x in frame["severe_baseline_mean_max"]],
    })
    return markdown_table(shown, escape_cells=False)


def _absent(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _implied_cell(kind: str, low: Any, high: Any) -> str:
    """What the abstract allows, widened to the precision shown (lower ends rounded down,
    upper ends up)."""
    if kind == consistency.COUNT:
        return f"{int(low)} to {int(high)}"
    if kind == consistency.P_VALUE:
        return f"at most {round_up(high, significant_decimals(high, 2)):.2g}"
    return f"at most {round_up(high, 2):.2f}" if _absent(low) else bounds(low, high)


def _this_build_cell(kind: str, value: Any) -> str:
    if _absent(value):
        return "not estimable"
    if kind == consistency.COUNT:
        return f"{int(value)}"
    return format_p_cell(value) if kind == consistency.P_VALUE else number(value)


def build_comparison_table(frame: pd.DataFrame) -> str:
    """This build's numbers beside the ranges the abstract implies
    (:func:`livingpaper.stats.consistency.build_comparison`); p-values as every table
    writes them (``"< 0.0001"``, never ``5.8e-07``)."""
    if frame.empty:
        return "No comparison is possible: the published figures could not be audited."
    marks = ["–" if _absent(w) else ("✓ within" if w else "✗ outside") for w in frame["within"]]
    shown = pd.DataFrame({
        "Quantity": frame["quantity"],
        "Implied by the abstract": [_implied_cell(k, lo, hi) for k, lo, hi in
                                    zip(frame["kind"], frame["implied_low"], frame["implied_high"])],
        "This build": [_this_build_cell(k, v) for k, v in zip(frame["kind"], frame["this_build"])],
        "": marks})
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

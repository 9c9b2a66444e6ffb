"""The analyses beyond the paper, computed once per build for ``results.json``: regression to
the mean, ANCOVA, robust intervals, covariates, safety, power, and their multiplicity.

:func:`analyse` computes every analysis of the chapters *What the abstract implies* and
*How much of the effect is real?*; :func:`sections` returns them as ``results.json``
sections (each a ``to_dict()`` of a tidy result with ``estimable`` and ``reason``), and
:func:`from_sections` reads them back:

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
``regression_to_mean_at_ancova_slope``  severe group, with r read off the ANCOVA slope
``change_on_baseline``          fall regressed on baseline, tested against RTM's 1 - r
``multiplicity``                the family of p-values of the chapter, Holm-adjusted
=============================== ==========================================================

Every p-value of the chapter *How much of the effect is real?* that tests a hypothesis
(:data:`P_VALUE_FAMILY`) also gets a Holm-adjusted p, ``<field>_holm``, beside it in its
section. With ``reconstructed=True`` each section that reflects a choice of the
reconstruction carries its ``reconstruction_caveat``
(:func:`livingpaper.results.caveats.reconstruction_caveats`).

The regression-to-the-mean anchors (population mean and SD of HbA1c, within-person
variability, the test-retest correlation and their citations) are passed in as an
object with the attributes ``population_mean_percent``, ``population_sd_percent``,
``within_person_cv``, ``within_person_sd_percent``, ``reliability`` and ``citations``
(``evidence.rtm_anchors()`` in the book).

What the chapters show of them is written by :mod:`livingpaper.present.beyond`.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from livingpaper.inputs.cohort import Cohort
from livingpaper.parameters import ALPHA, Parameters
from livingpaper.results import caveats as results_caveats
from livingpaper.results import populations as results_populations
from livingpaper.stats import consistency, covariates, power, safety
from livingpaper.stats import multiplicity as stats_multiplicity
from livingpaper.stats import robust as stats_robust
from livingpaper.stats import rtm as stats_rtm
from livingpaper.stats.paired import PairedReduction, paired_reduction
from livingpaper.stats.result import TidyResult

#: Populations of the regression-to-the-mean analysis; the first is the headline.
RTM_GROUPS = ("severe", "moderate", "overall")
#: Populations of the robustness intervals; the first is the headline.
ROBUST_GROUPS = ("overall", "moderate", "severe")
#: Who a randomised trial would enrol; the first is the headline.
TRIAL_GROUPS = ("overall", "severe")
#: Proportion lost before the primary measurement, by which trial enrolment is inflated
#: (a planning assumption, stated wherever it is used).
TRIAL_DROPOUT = 0.10


def _anchor(anchors: Any, name: str) -> float:
    value = getattr(anchors, name)
    return float(value)


#: Every p-value the chapter *How much of the effect is real?* reports for a test:
#: ``(section, field, what it tests)``. They are adjusted together (Holm 1979). Besides the
#: tests of the chapter's own questions, the family holds the three Wilcoxon signed-rank
#: tests of the robustness section (:data:`PAPER_CLAIM_TESTS`), which test the paper's own
#: claims again (a fall in all patients, the moderate and the severe group); the paper's
#: paired t-tests, on the results pages, are not in it. Re-readings of the same test at
#: another correlation (``*_own_baseline``, the ANCOVA slope) are sensitivity analyses of a
#: member, not members.
P_VALUE_FAMILY = (
    ("regression_to_mean", "residual_p", "Severe group: fall beyond regression to the mean"),
    ("regression_to_mean_moderate", "residual_p", "Moderate group: fall beyond regression to the mean"),
    ("regression_to_mean_overall", "residual_p", "All patients: fall beyond regression to the mean"),
    ("ancova", "adjusted_p", "Baseline-adjusted fall, read at the population mean"),
    ("ancova", "slope_vs_one_p", "Post-treatment on baseline HbA1c: slope against 1"),
    ("change_on_baseline", "excess_p", "Fall on baseline: slope beyond regression to the mean"),
    ("bootstrap", "wilcoxon_p", "All patients: Wilcoxon signed-rank"),
    ("bootstrap_moderate", "wilcoxon_p", "Moderate group: Wilcoxon signed-rank"),
    ("bootstrap_severe", "wilcoxon_p", "Severe group: Wilcoxon signed-rank"),
    ("dose_regression", "p", "Fall per tenfold dose, baseline-adjusted"),
    ("dose_regression", "unadjusted_p", "Fall per tenfold dose, unadjusted"),
    ("dose_regression", "baseline_excess_p", "Dose model: baseline slope beyond regression to the mean"),
    ("followup", "p", "Fall per year of follow-up, baseline-adjusted"),
    ("followup", "spearman_p", "Follow-up and fall: rank correlation"),
    ("source_comparison", "welch_p", "MSC sources: Welch's ANOVA"),
    ("source_comparison", "kruskal_p", "MSC sources: Kruskal–Wallis"),
)
#: The members of :data:`P_VALUE_FAMILY` that test a claim of the paper again (on ranks),
#: ``(section, field, population)``; the chapter says so where it counts the family.
PAPER_CLAIM_TESTS = tuple(("bootstrap" if i == 0 else f"bootstrap_{g}", "wilcoxon_p", g)
                          for i, g in enumerate(ROBUST_GROUPS))


@dataclass(frozen=True)
class Multiplicity(TidyResult):
    """The family of p-values of the chapter beyond the paper (``results.json``:
    ``multiplicity``); each member's Holm-adjusted p is in its own section.

    Attributes
    ----------
    estimable : bool
        Whether at least one test of the family has a p.
    reason : str or None
    method : str
    alpha : float
    n_tests : int
        Tests of :data:`P_VALUE_FAMILY` with a p (the others could not be made).
    n_below_alpha, n_below_alpha_holm : int
        Raw and Holm-adjusted p-values below ``alpha``.
    smallest_p, smallest_p_holm : float or None
    tests : str
        The members with a p, ``section.field``, comma-separated.
    reconstruction_caveat : str or None
    """

    estimable: bool
    reason: str | None
    method: str
    alpha: float
    n_tests: int
    n_below_alpha: int
    n_below_alpha_holm: int
    smallest_p: float | None
    smallest_p_holm: float | None
    tests: str
    reconstruction_caveat: str | None = None


@dataclass(frozen=True)
class Beyond:
    """Every result of the two chapters, as tidy result objects (see :func:`analyse`)."""

    consistency: consistency.PublishedConsistency
    rtm: dict[str, stats_rtm.RegressionToMean]
    ancova: stats_rtm.Ancova
    robust: dict[str, stats_robust.RobustIntervals]
    dose_regression: covariates.CovariateRegression
    followup: covariates.CovariateRegression
    source_comparison: covariates.SourceComparison
    safety: safety.SafetyBound
    trials: dict[str, power.TrialPlan]
    rtm_at_slope: stats_rtm.RegressionToMean | None = None
    change_on_baseline: stats_rtm.ChangeOnBaseline | None = None
    multiplicity: Multiplicity | None = None
    family: pd.DataFrame | None = dataclasses.field(default=None, compare=False, repr=False)
    #: The tables the audit of the abstract summarises (:func:`consistency.audited`), for
    #: ``results.json``'s ``published`` block; ``None`` when read back from the sections.
    implied_by_size: pd.DataFrame | None = dataclasses.field(default=None, compare=False, repr=False)
    checks: pd.DataFrame | None = dataclasses.field(default=None, compare=False, repr=False)

    def results(self) -> dict[str, TidyResult]:
        """The result of every ``results.json`` section, in the order of the module docstring."""
        out: dict[str, TidyResult] = {"published_consistency": self.consistency}
        for i, group in enumerate(RTM_GROUPS):
            out["regression_to_mean" if i == 0 else f"regression_to_mean_{group}"] = self.rtm[group]
        out["ancova"] = self.ancova
        for i, group in enumerate(ROBUST_GROUPS):
            out["bootstrap" if i == 0 else f"bootstrap_{group}"] = self.robust[group]
        out["dose_regression"] = self.dose_regression
        out["followup"] = self.followup
        out["source_comparison"] = self.source_comparison
        out["safety"] = self.safety
        for i, group in enumerate(TRIAL_GROUPS):
            out["power" if i == 0 else f"power_{group}"] = self.trials[group]
        for key, value in (("regression_to_mean_at_ancova_slope", self.rtm_at_slope),
                           ("change_on_baseline", self.change_on_baseline), ("multiplicity", self.multiplicity)):
            if value is not None:
                out[key] = value
        return out

    def sections(self) -> dict[str, dict[str, Any]]:
        """The ``results.json`` sections, in the order of the module docstring."""
        return {key: result.to_dict() for key, result in self.results().items()}

    def replaced(self, key: str, result: TidyResult) -> "Beyond":
        """The same analysis with the result of section ``key`` replaced."""
        for prefix, attribute, groups in (("regression_to_mean", "rtm", RTM_GROUPS),
                                          ("bootstrap", "robust", ROBUST_GROUPS),
                                          ("power", "trials", TRIAL_GROUPS)):
            names = {(prefix if i == 0 else f"{prefix}_{g}"): g for i, g in enumerate(groups)}
            if key in names:
                return dataclasses.replace(self, **{attribute: {**getattr(self, attribute), names[key]: result}})
        attribute = {"published_consistency": "consistency", "regression_to_mean_at_ancova_slope": "rtm_at_slope"}
        return dataclasses.replace(self, **{attribute.get(key, key): result})


def _with_holm(result: Beyond) -> Beyond:
    """Holm-adjust the family (:data:`P_VALUE_FAMILY`) and put each adjusted p beside its raw p."""
    sections = result.results()
    rows = [{"section": s, "field": f, "label": label, "p": getattr(sections[s], f)}
            for s, f, label in P_VALUE_FAMILY]
    family = stats_multiplicity.holm(pd.DataFrame(rows, columns=["section", "field", "label", "p"]))
    for row in family.itertuples(index=False):
        if row.in_family:
            current = result.results()[row.section]
            result = result.replaced(row.section, dataclasses.replace(current, **{f"{row.field}_holm": float(row.p_holm)}))
    members = family[family["in_family"]]
    raw, adjusted = members["p"].astype(float), members["p_holm"].astype(float)
    summary = Multiplicity(
        estimable=bool(len(members)),
        reason=None if len(members) else "Not estimable: none of the tests of the chapter could be made.",
        method="Holm (statsmodels multipletests)", alpha=ALPHA, n_tests=int(len(members)),
        n_below_alpha=int((raw < ALPHA).sum()), n_below_alpha_holm=int((adjusted < ALPHA).sum()),
        smallest_p=float(raw.min()) if len(members) else None,
        smallest_p_holm=float(adjusted.min()) if len(members) else None,
        tests=", ".join(f"{s}.{f}" for s, f in zip(members["section"], members["field"])),
    )
    return dataclasses.replace(result, multiplicity=summary, family=family)


def _with_caveats(result: Beyond, reconstructed: bool) -> Beyond:
    for key, value in result.results().items():
        caveated = results_caveats.with_caveat(value, key, reconstructed)
        if caveated is not value:
            result = result.replaced(key, caveated)
    return result


def analyse(cohort: Cohort, params: Parameters, anchors: Any, published: dict[str, Any] | None = None,
            reconstructed: bool = False, paired: Mapping[str, PairedReduction] | None = None) -> Beyond:
    """Run every analysis beyond the paper on this cohort.

    Parameters
    ----------
    cohort : Cohort
        The validated data (:func:`livingpaper.inputs.cohort.load`).
    params : Parameters
        The build's group thresholds.
    anchors : object
        Regression-to-the-mean anchors (attributes listed in the module docstring).
    published : dict, optional
        The published figures (default: ``data/published.yaml``).
    reconstructed : bool
        Whether the data are the reconstructed cohort: the sections that reflect its
        choices then carry their ``reconstruction_caveat``.
    paired : mapping of str to PairedReduction, optional
        The build's paired sections by population (``overall``, ``moderate``,
        ``severe``): the robustness intervals take their mean, t interval and Wilcoxon p
        from them instead of running the same tests again (computed here when not given).
    """
    mu, r = _anchor(anchors, "population_mean_percent"), _anchor(anchors, "reliability")
    cv, sd = _anchor(anchors, "within_person_cv"), _anchor(anchors, "population_sd_percent")
    populations = {g: results_populations.population(cohort, g, params) for g in ("overall", "moderate", "severe")}
    rtm = {g: stats_rtm.regression_to_mean(populations[g], mu, r, group=g, within_person_cv=cv, population_sd=sd)
           for g in RTM_GROUPS}
    # The paired t-test and Wilcoxon test of each group are the results pages' (computed here
    # only when the caller has not), so the same test shows the same numbers everywhere.
    paired = {g: (paired or {}).get(g) or paired_reduction(populations[g]) for g in ROBUST_GROUPS}
    robust = {g: stats_robust.robust_intervals(populations[g], group=g, paired=paired[g]) for g in ROBUST_GROUPS}
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
    ancova = stats_rtm.ancova(analysed, centre=mu)
    audit = consistency.audited(published)
    result = Beyond(
        consistency=audit.summary,
        rtm=rtm,
        ancova=ancova,
        robust=robust,
        dose_regression=covariates.dose_regression(analysed.dropna(subset=["dose_cells"]), reliability=r),
        followup=covariates.followup_regression(analysed, reliability=r),
        source_comparison=covariates.source_comparison(analysed),
        safety=safety.serious_adverse_events(cohort.data),
        trials=trials,
        rtm_at_slope=stats_rtm.regression_to_mean_at_slope(populations[RTM_GROUPS[0]], mu, ancova.slope,
                                                             group=RTM_GROUPS[0]),
        change_on_baseline=stats_rtm.change_on_baseline(analysed, r, fitted=ancova),
        implied_by_size=audit.implied_by_size,
        checks=audit.checks,
    )
    return _with_caveats(_with_holm(result), reconstructed)


def sections(cohort: Cohort, params: Parameters, anchors: Any, reconstructed: bool = False) -> dict[str, dict[str, Any]]:
    """The ``results.json`` sections beyond the paper (keys in the module docstring)."""
    return analyse(cohort, params, anchors, reconstructed=reconstructed).sections()


#: The result type of every section beyond the paper, by its ``results.json`` key.
SECTION_TYPES: dict[str, type] = {
    "published_consistency": consistency.PublishedConsistency,
    **{("regression_to_mean" if i == 0 else f"regression_to_mean_{g}"): stats_rtm.RegressionToMean
       for i, g in enumerate(RTM_GROUPS)},
    "ancova": stats_rtm.Ancova,
    **{("bootstrap" if i == 0 else f"bootstrap_{g}"): stats_robust.RobustIntervals for i, g in enumerate(ROBUST_GROUPS)},
    "dose_regression": covariates.CovariateRegression,
    "followup": covariates.CovariateRegression,
    "source_comparison": covariates.SourceComparison,
    "safety": safety.SafetyBound,
    **{("power" if i == 0 else f"power_{g}"): power.TrialPlan for i, g in enumerate(TRIAL_GROUPS)},
    "regression_to_mean_at_ancova_slope": stats_rtm.RegressionToMean,
    "change_on_baseline": stats_rtm.ChangeOnBaseline,
    "multiplicity": Multiplicity,
}


def family_table(sections: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """The family of p-values (:data:`P_VALUE_FAMILY`) as ``results.json`` holds it: each
    member's raw and Holm-adjusted p read from its own section (columns ``section, field,
    label, p, p_holm, in_family``)."""
    rows = []
    for section, field, label in P_VALUE_FAMILY:
        values = sections.get(section, {})
        p, p_holm = values.get(field), values.get(f"{field}_holm")
        rows.append({"section": section, "field": field, "label": label, "p": p,
                     "p_holm": float("nan") if p_holm is None else p_holm, "in_family": p is not None})
    return pd.DataFrame(rows, columns=["section", "field", "label", "p", "p_holm", "in_family"])


def from_sections(sections: dict[str, dict[str, Any]]) -> Beyond:
    """The analyses beyond the paper as :func:`analyse` returned them, read back from the
    sections of ``results.json`` (computed once per build; nothing is computed here)."""
    typed = {key: kind.from_dict(sections[key]) for key, kind in SECTION_TYPES.items() if key in sections}
    name = lambda prefix, i, g: prefix if i == 0 else f"{prefix}_{g}"  # noqa: E731
    return Beyond(
        consistency=typed["published_consistency"],
        rtm={g: typed[name("regression_to_mean", i, g)] for i, g in enumerate(RTM_GROUPS)},
        ancova=typed["ancova"],
        robust={g: typed[name("bootstrap", i, g)] for i, g in enumerate(ROBUST_GROUPS)},
        dose_regression=typed["dose_regression"],
        followup=typed["followup"],
        source_comparison=typed["source_comparison"],
        safety=typed["safety"],
        trials={g: typed[name("power", i, g)] for i, g in enumerate(TRIAL_GROUPS)},
        rtm_at_slope=typed.get("regression_to_mean_at_ancova_slope"),
        change_on_baseline=typed.get("change_on_baseline"),
        multiplicity=typed.get("multiplicity"),
        family=family_table(sections),
    )


# ---------------------------------------------------------------------------
# Curve data for the figures
# ---------------------------------------------------------------------------


def rtm_curve(cohort: Cohort, params: Parameters, anchors: Any) -> pd.DataFrame:
    """Regression to the mean over test-retest correlations 0.50 to 0.95, per group."""
    groups = {g: results_populations.population(cohort, g, params) for g in reversed(RTM_GROUPS)}
    return stats_rtm.rtm_curve(groups, _anchor(anchors, "population_mean_percent"))


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
        return pd.DataFrame(columns=list(POWER_CURVE_COLUMNS))
    return pd.concat(frames, ignore_index=True)


#: The columns of :func:`power_curve` (also when no trial can be planned).
POWER_CURVE_COLUMNS = ("scenario", "reduction_difference", "effect_size", "n_per_arm", "power")

"""The book's analyses: populations, sections and the results document.

A *section* is one population analysed one way (``overall``, ``moderate``, ``severe``,
``dose_high``, ``dose_low``: paired before/after; ``dose_comparison``: Welch's t-test of
the reductions, high minus low; ``dose_correlation``: Pearson and Spearman of dose with
the reduction; ``replication``: each claim of the paper against this cohort,
:mod:`livingpaper.replication`). :func:`results` computes all of them and returns the dictionary written
to ``results.json`` (contract in DESIGN.md); the chapters call the same functions, so
the book and ``results.json`` cannot disagree.
"""
from __future__ import annotations

import dataclasses
import functools
import json
from typing import Any

import pandas as pd

from . import stats
from .formatting import format_cells
from .dataset import Cohort
from .parameters import Parameters

PAIRED_SECTIONS = ("overall", "moderate", "severe", "dose_high", "dose_low")


def population(cohort: Cohort, section: str, params: Parameters) -> pd.DataFrame:
    """Patients of a paired section (both HbA1c values present)."""
    data = cohort.analysed
    base = data["hba1c_baseline"]
    if section == "overall":
        return data
    if section == "moderate":
        return data[(base >= params.moderate_min) & (base <= params.severe_above)]
    if section == "severe":
        return data[base > params.severe_above]
    dosed = data[data["dose_cells"].notna()]
    if section == "dose_high":
        return dosed[dosed["dose_cells"] >= params.dose_cutoff_cells]
    if section == "dose_low":
        return dosed[dosed["dose_cells"] < params.dose_cutoff_cells]
    raise KeyError(f"unknown section {section!r}; expected one of {', '.join(PAIRED_SECTIONS)}")


def definition(section: str, params: Parameters) -> str:
    """The population of a section in words, with the thresholds of this build."""
    return {
        "overall": "all patients with both a baseline and a post-treatment HbA1c",
        "moderate": f"patients with a baseline HbA1c from {params.moderate_min:.1f} % to "
                    f"{params.severe_above:.1f} % (inclusive)",
        "severe": f"patients with a baseline HbA1c above {params.severe_above:.1f} %",
        "dose_high": f"patients who received at least {format_cells(params.dose_cutoff_cells)} cells",
        "dose_low": f"patients who received fewer than {format_cells(params.dose_cutoff_cells)} cells",
    }[section]


def outside_severity_groups(cohort: Cohort, params: Parameters) -> pd.DataFrame:
    """Analysed patients whose baseline is below the moderate range: they count in "all
    patients" but in neither severity group. Columns ``row`` (of the file),
    ``patient_id``, ``hba1c_baseline``."""
    data = cohort.analysed
    below = data[data["hba1c_baseline"] < params.moderate_min]
    return below[["row", "patient_id", "hba1c_baseline"]].reset_index(drop=True)


def outside_severity_groups_warning(cohort: Cohort, params: Parameters, name: str) -> str | None:
    """The line ``livingpaper validate`` prints (a warning, not an error) when some patients
    belong to no severity group; ``None`` when every analysed patient belongs to one."""
    below = outside_severity_groups(cohort, params)
    if below.empty:
        return None
    shown = 5  # a large file names its first rows, then counts the rest
    rows = ", ".join(str(int(r)) for r in below["row"][:shown])
    if len(below) > shown:
        rows += f" and {len(below) - shown:,} more"
    return (f"{name}: warning: {len(below)} patient(s) with a baseline HbA1c below {params.moderate_min:g} % "
            f"(row{'s' if len(below) > 1 else ''} {rows}) count in 'all patients' but in no severity group")


def paired(cohort: Cohort, section: str, params: Parameters, reconstructed: bool = False) -> stats.PairedReduction:
    return with_caveat(stats.paired_reduction(population(cohort, section, params)), section, reconstructed)


def dose_comparison(cohort: Cohort, params: Parameters, reconstructed: bool = False) -> stats.DoseComparison:
    result = stats.dose_comparison(population(cohort, "dose_high", params), population(cohort, "dose_low", params))
    return with_caveat(result, "dose_comparison", reconstructed)


def dose_correlation(cohort: Cohort, reconstructed: bool = False) -> stats.DoseCorrelation:
    result = stats.dose_correlation(cohort.analysed.dropna(subset=["dose_cells"]))
    return with_caveat(result, "dose_correlation", reconstructed)


# ---------------------------------------------------------------------------
# What the reconstruction chose, section by section
# ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def reconstruction_caveats() -> dict[str, str]:
    """For each ``results.json`` section whose result, on the reconstructed cohort, reflects
    a choice of :mod:`livingpaper.reconstruction` rather than a figure of the paper: what
    was chosen, in words a clinician can use. Sections not listed depend on no such choice
    (the safety count is the paper's; the audit of the abstract uses no data).

    The numbers in the sentences are the reconstruction's own constants and design
    (:func:`livingpaper.reconstruction.derive_design`), never typed here.
    """
    from . import published, reconstruction  # imported when needed: the reconstruction is heavy

    paper = published.load()
    design = reconstruction.derive_design(paper)
    overall_p = published.figure(paper, "overall_p").value
    copula = f"{reconstruction.BASELINE_CHANGE_CORRELATION:.2f}"
    dose_rho = f"{reconstruction.DOSE_CHANGE_CORRELATION:.2f}"
    low, high = min(design.feasible_n_severe), max(design.feasible_n_severe)
    sizes = (f"the paper does not report the group sizes: the reconstruction put {design.n_severe} of "
             f"{design.n_total} patients in the severe group (any of {low} to {high} fits the published "
             "figures) and spread each group's changes as a normal distribution")
    within = ("the reconstruction imposed, within each severity group, a tendency for patients with a higher "
              f"baseline to fall more (a copula correlation of {copula}, a number borrowed from a study of another "
              "treatment; a choice, see the data chapter)")
    dose = ("which patient received which dose is the reconstruction's choice: it imposed a weak association "
            f"between dose and fall (a copula correlation of {dose_rho}) so that higher doses fall a little more "
            "without significance, as the paper says")
    shape = ("the reconstruction drew each group's changes from a normal distribution, so whether the "
             "bootstrap and rank-based intervals agree with the t interval reflects that choice, not the "
             "shape of the patients' changes")
    baselines = ("the paper does not report the groups' mean baselines: they come from the reconstruction's "
                 f"choice of baselines (a truncated normal distribution with the paper's overall mean, and "
                 f"{design.n_severe} severe patients), and they fix how much regression to the mean is expected")
    paired_text = (f"Made by the reconstruction: {sizes}. The group's mean fall and p are the paper's; its n, the "
                   "SDs, the confidence interval, the effect size and the Wilcoxon check follow from those "
                   "choices.")
    caveats = {
        "overall": ("Made by the reconstruction: the paper reports the mean HbA1c before and after and p < "
                    f"{overall_p:g}, not the spread of the changes. The SDs, the confidence interval, the effect size "
                    f"and the Wilcoxon check follow from the reconstruction's choices ({sizes})."),
        "moderate": paired_text,
        "severe": paired_text,
        "dose_high": ("Made by the reconstruction: the paper gives no numbers for the dose groups; which patient "
                      "received which dose is the reconstruction's choice, so this group's size and fall are "
                      "invented, not measured."),
        "dose_comparison": (f"Made by the reconstruction: {dose}. The difference between the dose groups is that "
                            "choice, not evidence about the dose."),
        "dose_correlation": (f"Made by the reconstruction: {dose}. This correlation measures that choice, not "
                             "the patients."),
        "dose_regression": (f"Made by the reconstruction: {dose}; and {within}. Neither the dose slope nor the "
                            "baseline slope is a finding."),
        "followup": ("Made by the reconstruction: the paper reports only the median and range of follow-up; the "
                     "reconstruction gave the follow-up times to the patients in random order, so any trend with "
                     f"time is chance by construction. The baseline term reflects that {within}."),
        "source_comparison": ("Made by the reconstruction: the paper does not report which patients received "
                              "which cells; the reconstruction split them into three equal groups at random. Any "
                              "difference between the sources here is chance by construction, not a property "
                              "of the cells."),
        "regression_to_mean": (f"Made by the reconstruction: {baselines}; and {within}, which affects the "
                               "interval."),
        "regression_to_mean_overall": ("Made by the reconstruction: the mean baseline is the paper's, but the "
                                       "interval of the fall beyond regression to the mean depends on the "
                                       f"reconstruction's spread of changes, and {within}."),
        "regression_to_mean_at_ancova_slope": (f"Made by the reconstruction: the slope it reads as a correlation "
                                               f"reflects that {within}; and {baselines}."),
        "ancova": (f"Made by the reconstruction: the slope of post-treatment on baseline HbA1c reflects that "
                   f"{within}. It is not a measurement of these patients, and neither is the adjusted fall, "
                   "which depends on it."),
        "change_on_baseline": (f"Made by the reconstruction: how the fall grows with the baseline reflects that "
                               f"{within}; its excess over regression to the mean is that choice, not a finding."),
        "bootstrap": f"Made by the reconstruction: {shape}.",
        "power": ("Made by the reconstruction: the planning SD is that of the reconstructed changes, which "
                  "follows from the published p-values and the reconstruction's choice of group sizes; the fall "
                  "beyond regression to the mean depends on its spread of changes."),
        "power_severe": (f"Made by the reconstruction: the planning SD and the fall beyond regression to the mean "
                         f"follow from its choices ({sizes}; {baselines})."),
        "replication": ("Made by the reconstruction: this cohort was built from the paper's own figures to match "
                        "them, so every claim agrees by construction: the verdicts check the pipeline, not the "
                        f"paper's finding. The reduction read at the paper's mean baseline also reflects that {within}."),
        "multiplicity": ("Made by the reconstruction: several of these p-values test patterns the reconstruction "
                         "imposed or drew at random (see each section); on this cohort they are not findings, "
                         "adjusted or not."),
    }
    caveats["dose_low"] = caveats["dose_high"]
    caveats["regression_to_mean_moderate"] = caveats["regression_to_mean"]
    caveats["bootstrap_moderate"] = caveats["bootstrap_severe"] = caveats["bootstrap"]
    return caveats


def reconstruction_caveat(section: str, reconstructed: bool) -> str | None:
    """The caveat of a ``results.json`` section on the reconstructed cohort; ``None`` on any
    other data, or when the section depends on no choice of the reconstruction."""
    return reconstruction_caveats().get(section) if reconstructed else None


def with_caveat(result: Any, section: str, reconstructed: bool) -> Any:
    """``result`` (a frozen result with a ``reconstruction_caveat`` field) carrying the
    caveat of its section (:func:`reconstruction_caveat`)."""
    caveat = reconstruction_caveat(section, reconstructed)
    return dataclasses.replace(result, reconstruction_caveat=caveat) if caveat != result.reconstruction_caveat \
        else result


def _mean_sd(values: pd.Series | None) -> tuple[float | None, float | None]:
    values = values.dropna() if values is not None else pd.Series(dtype=float)
    mean = float(values.mean()) if len(values) else None
    return mean, (float(values.std(ddof=1)) if len(values) > 1 else None)


def cohort_summary(cohort: Cohort) -> dict[str, Any]:
    """Descriptors of the whole file (all valid rows): dose, sources, follow-up, safety, and
    the optional characteristics (age, sex, BMI, diabetes duration) where the file has them."""
    data = cohort.data
    column = lambda name: data[name] if name in data else None  # noqa: E731
    dose = data["dose_cells"].dropna()
    follow = data["followup_months"].dropna()
    sae = column("serious_adverse_event")
    sex = column("sex")
    duration = column("diabetes_duration_years")
    duration = duration.dropna() if duration is not None else pd.Series(dtype=float)
    age_mean, age_sd = _mean_sd(column("age_years"))
    bmi_mean, bmi_sd = _mean_sd(column("bmi_kg_m2"))
    baseline_mean, baseline_sd = _mean_sd(data["hba1c_baseline"])
    quantile = lambda x, q: float(x.quantile(q)) if len(x) else None  # noqa: E731
    return {
        "n_rows": int(cohort.n_rows),
        "n_analysed": int(cohort.n_analysed),
        "hba1c_baseline_mean": baseline_mean,
        "hba1c_baseline_sd": baseline_sd,
        "dose_min_cells": float(dose.min()) if len(dose) else None,
        "dose_max_cells": float(dose.max()) if len(dose) else None,
        "dose_median_cells": quantile(dose, 0.5),
        "msc_sources": {k: int(v) for k, v in sorted(data["msc_source"].value_counts().items())},
        "followup_median_months": quantile(follow, 0.5),
        "followup_min_months": float(follow.min()) if len(follow) else None,
        "followup_max_months": float(follow.max()) if len(follow) else None,
        "serious_adverse_events": int(sae.sum()) if sae is not None else None,
        "serious_adverse_events_recorded_n": int(sae.notna().sum()) if sae is not None else None,
        "age_years_mean": age_mean,
        "age_years_sd": age_sd,
        "sex_recorded_n": int(sex.notna().sum()) if sex is not None else None,
        "female_n": int((sex == "female").sum()) if sex is not None else None,
        "bmi_kg_m2_mean": bmi_mean,
        "bmi_kg_m2_sd": bmi_sd,
        "diabetes_duration_years_median": quantile(duration, 0.5),
        "diabetes_duration_years_q1": quantile(duration, 0.25),
        "diabetes_duration_years_q3": quantile(duration, 0.75),
    }


def results(cohort: Cohort, params: Parameters, reconstructed: bool) -> dict[str, Any]:
    """Every number of the book, in the ``results.json`` contract of DESIGN.md."""
    sections: dict[str, Any] = {name: paired(cohort, name, params, reconstructed).to_dict()
                                for name in PAIRED_SECTIONS}
    sections["dose_comparison"] = dose_comparison(cohort, params, reconstructed).to_dict()
    sections["dose_correlation"] = dose_correlation(cohort, reconstructed).to_dict()
    # Imported here: beyond and evidence build on this module.
    from . import beyond, evidence, replication
    sections.update(beyond.sections(cohort, params, evidence.rtm_anchors(), reconstructed=reconstructed))
    sections["replication"] = with_caveat(replication.replicate(sections, cohort.analysed, params, reconstructed),
                                          "replication", reconstructed).to_dict()
    return {
        "dataset": {
            "path": cohort.path.name,
            "sha256": cohort.sha256,
            "n_rows": int(cohort.n_rows),
            "n_analysed": int(cohort.n_analysed),
            "excluded": cohort.excluded,
            "reconstructed": bool(reconstructed),
        },
        "parameters": params.to_dict(),
        "cohort": cohort_summary(cohort),
        "sections": sections,
    }


_RESULT_TYPES = {**{name: stats.PairedReduction for name in PAIRED_SECTIONS},
                 "dose_comparison": stats.DoseComparison, "dose_correlation": stats.DoseCorrelation}


def section_result(results: dict[str, Any], name: str):
    """A section of a results document as its result object (what the chapters display),
    so that a page shows exactly the numbers of results.json, computed once. Keys the
    result type does not know (a document written by another version) are left out.
    ``replication`` gives a :class:`livingpaper.replication.Replication`."""
    if name == "replication":
        from .replication import Replication

        return Replication.from_dict(results["sections"][name])
    kind = _RESULT_TYPES[name]
    known = {f.name for f in dataclasses.fields(kind)}
    return kind(**{k: v for k, v in results["sections"][name].items() if k in known})


def results_of_build(results_path: str, cohort: Cohort, params: Parameters, reconstructed: bool) -> dict[str, Any]:
    """The build's results.json when a chapter runs inside a build (computed once for all
    chapters), else the same document computed here (a chapter run on its own)."""
    if results_path:
        with open(results_path, encoding="utf-8") as fh:
            return json.load(fh)
    return results(cohort, params, reconstructed)

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


def paired(cohort: Cohort, section: str, params: Parameters) -> stats.PairedReduction:
    return stats.paired_reduction(population(cohort, section, params))


def dose_comparison(cohort: Cohort, params: Parameters) -> stats.DoseComparison:
    return stats.dose_comparison(population(cohort, "dose_high", params), population(cohort, "dose_low", params))


def dose_correlation(cohort: Cohort) -> stats.DoseCorrelation:
    return stats.dose_correlation(cohort.analysed.dropna(subset=["dose_cells"]))


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
    sections: dict[str, Any] = {name: paired(cohort, name, params).to_dict() for name in PAIRED_SECTIONS}
    sections["dose_comparison"] = dose_comparison(cohort, params).to_dict()
    sections["dose_correlation"] = dose_correlation(cohort).to_dict()
    # Imported here: beyond and evidence build on this module.
    from . import beyond, evidence, replication
    sections.update(beyond.sections(cohort, params, evidence.rtm_anchors()))
    sections["replication"] = replication.replicate(sections, cohort.analysed, params, reconstructed).to_dict()
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
    so that a page shows exactly the numbers of results.json, computed once.
    ``replication`` gives a :class:`livingpaper.replication.Replication`."""
    if name == "replication":
        from .replication import Replication

        return Replication.from_dict(results["sections"][name])
    return _RESULT_TYPES[name](**results["sections"][name])


def results_of_build(results_path: str, cohort: Cohort, params: Parameters, reconstructed: bool) -> dict[str, Any]:
    """The build's results.json when a chapter runs inside a build (computed once for all
    chapters), else the same document computed here (a chapter run on its own)."""
    if results_path:
        with open(results_path, encoding="utf-8") as fh:
            return json.load(fh)
    return results(cohort, params, reconstructed)

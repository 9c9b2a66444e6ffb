"""The populations of the book's sections, filtered by the registry of :mod:`livingpaper.domain`,
and the description of the whole cohort."""
from __future__ import annotations

from typing import Any

import pandas as pd

from livingpaper import domain
from livingpaper.inputs.cohort import Cohort
from livingpaper.parameters import Parameters


def population(cohort: Cohort, section: str, params: Parameters) -> pd.DataFrame:
    """Patients of a paired section (both HbA1c values present), as the registry of
    :mod:`livingpaper.domain` defines it with this build's thresholds."""
    data = cohort.analysed
    return data[domain.section(section).members(data, params)]


def outside_severity_groups(cohort: Cohort, params: Parameters) -> pd.DataFrame:
    """Analysed patients in no severity group (a baseline below the moderate range): they
    count in "all patients" only. Columns ``row`` (of the file), ``patient_id``,
    ``hba1c_baseline``."""
    data = cohort.analysed
    grouped = domain.SECTIONS["moderate"].members(data, params) | domain.SECTIONS["severe"].members(data, params)
    below = data[~grouped]
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


def _mean_sd(values: pd.Series | None) -> tuple[float | None, float | None]:
    values = values.dropna() if values is not None else pd.Series(dtype=float)
    mean = float(values.mean()) if len(values) else None
    return mean, (float(values.std(ddof=1)) if len(values) > 1 else None)


def cohort_summary(cohort: Cohort, params: Parameters) -> dict[str, Any]:
    """Descriptors of the whole file (all valid rows): dose, sources, follow-up, safety, the
    optional characteristics (age, sex, BMI, diabetes duration) where the file has them, and
    the flow of patients (exclusions by reason, analysed patients in no severity group)."""
    data = cohort.data
    reasons = pd.Series([e["reason"] for e in cohort.excluded], dtype=object)
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
        "excluded_by_reason": {str(k): int(v) for k, v in reasons.value_counts().sort_index().items()},
        "n_no_severity_group": int(len(outside_severity_groups(cohort, params))),
    }

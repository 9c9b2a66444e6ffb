"""The cohort on the page: flow of patients, exclusions, characteristics, data dictionary."""
from __future__ import annotations

from typing import Any, Iterable

import pandas as pd

from livingpaper import domain
from livingpaper.formatting import format_cells, number, percent, with_range
from livingpaper.parameters import Parameters
from livingpaper.present.markdown import MAX_LISTED, escape, markdown_table, more


def flow_table(results: dict[str, Any], params: Parameters) -> str:
    """Flow of patients: rows read, excluded (with reasons), analysed, per section; every
    count from the build's ``results.json``."""
    rows = [("Rows read from the file", f"{results['dataset']['n_rows']}")]
    for reason, count in results["cohort"]["excluded_by_reason"].items():
        rows.append((f"Excluded: {reason}", f"{count}"))
    rows.append(("Analysed (baseline and post-treatment HbA1c present)", f"{results['dataset']['n_analysed']}"))
    for key in domain.PAIRED_SECTIONS[1:]:
        n = results["sections"][key]["n"]
        rows.append((f"… {domain.SECTIONS[key].in_sentence}: {domain.definition(key, params)}", f"{n}"))
        if key == "severe":
            rows.append((f"… in no severity group: baseline HbA1c below {params.moderate_min:.1f} % (counted in all "
                         "patients only)", f"{results['cohort']['n_no_severity_group']}"))
    return markdown_table(pd.DataFrame(rows, columns=["Step", "Patients"]))


def exclusions_table(excluded: Iterable[dict[str, Any]]) -> str:
    """Excluded rows with their reasons (the first MAX_LISTED; results.json has all)."""
    frame = pd.DataFrame(list(excluded), columns=["row", "patient_id", "reason"])
    if frame.empty:
        return "No row was excluded."
    shown = frame.head(MAX_LISTED)
    shown.columns = ["Row of the file", "Patient id", "Reason"]
    return markdown_table(shown, numeric=False) + more(len(frame), "`results.json` (dataset.excluded)")


def data_dictionary(columns: Iterable[Any]) -> str:
    """The data dictionary as a definition list (one entry per column of the schema)."""
    entries = []
    for c in columns:
        unit = f", in {c.unit}" if c.unit else ""
        need = "required" if c.required else "optional"
        entries.append(f"`{c.name}`\n: {c.type}{unit}; {need}; allowed: {c.allowed}.\n  {c.description}\n")
    return "\n".join(entries)


def characteristics_table(summary: dict[str, Any]) -> str:
    """Table 1: the patients' characteristics (all valid rows of the file)."""
    n = summary["n_rows"]
    missing = "not recorded"
    pct = lambda k, of: f"{k} ({percent(k / of, 0)})" if of else "–"  # noqa: E731
    mean_sd = lambda m, s: missing if m is None else f"{m:.1f} ({number(s, 1)})"  # noqa: E731
    rows = [
        ("Patients, n", f"{n}"),
        ("Age, years, mean (SD)", mean_sd(summary["age_years_mean"], summary["age_years_sd"])),
        ("Female, n (%)", missing if summary["female_n"] is None
         else pct(summary["female_n"], summary["sex_recorded_n"])),
        ("BMI, kg/m², mean (SD)", mean_sd(summary["bmi_kg_m2_mean"], summary["bmi_kg_m2_sd"])),
        ("Diabetes duration, years, median (IQR)", missing if summary["diabetes_duration_years_median"] is None
         else f"{summary['diabetes_duration_years_median']:.1f} ({summary['diabetes_duration_years_q1']:.1f}"
              f" to {summary['diabetes_duration_years_q3']:.1f})"),
        ("Baseline HbA1c, %, mean (SD)", "–" if summary["hba1c_baseline_mean"] is None
         else f"{summary['hba1c_baseline_mean']:.2f} ({number(summary['hba1c_baseline_sd'])})"),
        ("MSC dose, cells, median (range)", "–" if summary["dose_median_cells"] is None
         else f"{format_cells(summary['dose_median_cells'])} ({format_cells(summary['dose_min_cells'])} "
              f"to {format_cells(summary['dose_max_cells'])})"),
        *[(f"MSC source: {escape(domain.source_label(source))}, n (%)", pct(k, n))
          for source, k in summary["msc_sources"].items()],
        ("Follow-up, months, median (range)", with_range(summary["followup_median_months"],
                                                         summary["followup_min_months"],
                                                         summary["followup_max_months"], 0)),
        ("Serious adverse events, n", missing if summary["serious_adverse_events"] is None
         else f"{summary['serious_adverse_events']}"),
    ]
    return markdown_table(pd.DataFrame(rows, columns=["Characteristic", "Value"]), escape_cells=False)

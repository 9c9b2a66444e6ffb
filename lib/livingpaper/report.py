"""What the chapters show: sentences, tables and notes built from results.

Chapters only call these functions and display what they return, so the wording of a
result (and what is said when it is not estimable) is written once. Everything returned
is MyST Markdown; text that comes from the data is escaped so that it shows as text.
"""
from __future__ import annotations

from typing import Any, Iterable

import pandas as pd
from IPython.display import Markdown

from . import analysis, escaping, stats
from .analysis import Parameters
from .formatting import format_cells

POPULATION_NAMES = {
    "overall": "all patients",
    "moderate": "the moderate group",
    "severe": "the severe group",
    "dose_high": "the high-dose group",
    "dose_low": "the low-dose group",
}


def escape(text: Any) -> str:
    """Text from the data, safe to place in MyST Markdown, in prose or in a table cell (no
    markup, no HTML; a line break shows as ``\\n``): :func:`livingpaper.escaping.markdown`."""
    return escaping.markdown(text)


def code(text: Any, in_table: bool = False) -> str:
    """Text from outside as inline code, shown literally: :func:`livingpaper.escaping.code`
    (``in_table``: inside a pipe table)."""
    return escaping.code(text, in_table=in_table)


def _num(value: float | None, decimals: int = 2) -> str:
    return "–" if value is None else f"{value:.{decimals}f}"


def _df(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def markdown_table(frame: pd.DataFrame, escape_cells: bool = True, numeric: bool = True) -> str:
    """A pipe table; cells are escaped unless the caller built them from numbers.

    The first column is left-aligned; the others are right-aligned when ``numeric``.
    """
    cell = escape if escape_cells else str
    other = "--:" if numeric else ":--"
    lines = ["| " + " | ".join(escape(c) for c in frame.columns) + " |",
             "|" + "|".join(":--" if i == 0 else other for i in range(len(frame.columns))) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def data_note(reconstructed: bool, data_name: str) -> Markdown:
    """The admonition every results page opens with: which data these numbers come from."""
    if reconstructed:
        return Markdown(
            ":::{important}\nThese results are computed from the **reconstructed cohort** "
            f"({code(data_name)}), not from the patients of the paper: their data are not public. "
            "The reconstruction is built from the published figures alone and agrees with each of them "
            "at the precision the paper reports it (see {doc}`/chapters/data`). Agreement with the paper is "
            "therefore expected by construction; what this book adds is the full set of statistics, "
            "the checks, and a pipeline that recomputes everything on real data.\n:::"
        )
    return Markdown(
        f":::{{note}}\nThese results are computed from {code(data_name)}. The column *published* "
        "shows what Matsuoka et al. 2025 reported for their own cohort, for comparison.\n:::"
    )


def reconstruction_note(caveat: str | None) -> str:
    """A result's ``reconstruction_caveat`` as a MyST admonition placed under it ("" when
    there is none: other data, or a result the reconstruction did not shape)."""
    if not caveat:
        return ""
    prefix = "Made by the reconstruction: "
    body = caveat[len(prefix):] if caveat.startswith(prefix) else caveat
    body = body[:1].upper() + body[1:]
    return f":::{{admonition}} Made by the reconstruction, not found in patients\n:class: caution\n{escape(body)}\n:::"


def _noted(text: str, result: Any) -> Markdown:
    note = reconstruction_note(getattr(result, "reconstruction_caveat", None))
    return Markdown(text + (f"\n\n{note}" if note else ""))


def headline(result: stats.PairedReduction, section: str, params: Parameters) -> Markdown:
    """One sentence: what happened to HbA1c in this population, or why it is not estimable;
    under it, on the reconstructed cohort, what in it the reconstruction chose."""
    who = f"{POPULATION_NAMES[section]} ({analysis.definition(section, params)})"
    if result.n == 0:
        return _noted(f"No patient of this dataset belongs to {who}, so this section is not estimable.", result)
    if not result.estimable:
        return _noted(f"In {who}, n = {result.n}. {escape(result.reason)}", result)
    if result.mean_reduction == 0:
        change = f"mean HbA1c did not change ({result.baseline_mean:.2f} % before and after)"
    else:
        direction = "fell" if result.mean_reduction > 0 else "rose"
        change = f"mean HbA1c {direction} from {result.baseline_mean:.2f} % to {result.post_mean:.2f} %"
    return _noted(
        f"In {who}, n = {result.n}, {change}, a mean reduction of **{result.mean_reduction:.2f} percentage points** "
        f"(95% CI {result.ci95_low:.2f} to {result.ci95_high:.2f}; paired t({_df(result.df)}) = {result.t:.2f}, "
        f"{stats.format_p(result.p)}).", result
    )


def _paired_rows(result: stats.PairedReduction) -> list[str]:
    mean_sd = lambda m, s: "–" if m is None else f"{m:.2f} ({_num(s)})"  # noqa: E731
    return [
        f"{result.n}",
        mean_sd(result.baseline_mean, result.baseline_sd),
        mean_sd(result.post_mean, result.post_sd),
        mean_sd(result.mean_reduction, result.sd_reduction),
        "–" if result.ci95_low is None else f"{result.ci95_low:.2f} to {result.ci95_high:.2f}",
        "–" if result.t is None else f"{result.t:.2f} ({_df(result.df)})",
        stats.format_p_cell(result.p),
        _num(result.cohen_dz),
        "–" if result.wilcoxon_v is None else f"{result.wilcoxon_v:g}",
        stats.format_p_cell(result.wilcoxon_p),
        "–" if result.wilcoxon_method is None else escape(result.wilcoxon_method),
    ]


_PAIRED_STATISTICS = [
    "Patients (n)",
    "Baseline HbA1c, mean (SD), %",
    "Post-treatment HbA1c, mean (SD), %",
    "Mean reduction (SD), percentage points",
    "95% CI of the mean reduction",
    "Paired t statistic (df)",
    "p (two-sided, paired t-test)",
    "Effect size, Cohen's dz",
    "Wilcoxon signed-rank V (R's V: rank sum of the falls)",
    "p (Wilcoxon signed-rank, check)",
    "Wilcoxon variant (see Methods)",
]


def paired_table(columns: dict[str, stats.PairedReduction]) -> str:
    """All statistics of one or more paired sections, one statistic per row."""
    frame = pd.DataFrame({"Statistic": _PAIRED_STATISTICS,
                          **{name: _paired_rows(result) for name, result in columns.items()}})
    return markdown_table(frame, escape_cells=False)


def signed_rank_variants_table() -> str:
    """Which variant of the Wilcoxon signed-rank test the book uses for which sample, and the
    R call that gives the same two-sided p (for the Methods)."""
    n_exact, n_conditional = stats.EXACT_MAX_N, stats.PERMUTATION_MAX_N
    rows = [
        (stats.SIGNED_RANK_EXACT, f"no ties and no zero changes, n ≤ {n_exact}",
         code(stats.SIGNED_RANK_R_CALLS[stats.SIGNED_RANK_EXACT])),
        (stats.SIGNED_RANK_CONDITIONAL,
         f"ties or zero changes, n ≤ {n_conditional} (zeros dropped; every sign pattern of the mid-ranks "
         "enumerated)", code(stats.SIGNED_RANK_R_CALLS[stats.SIGNED_RANK_CONDITIONAL])),
        (stats.SIGNED_RANK_NORMAL,
         f"n > {n_exact}, or ties or zero changes with {n_conditional} < n ≤ {n_exact} (zeros dropped; variance "
         "corrected for ties)", code(stats.SIGNED_RANK_R_CALLS[stats.SIGNED_RANK_NORMAL])),
    ]
    frame = pd.DataFrame(rows, columns=["Variant (column of the results tables)", "Used when (n counts zero changes)",
                                        "The same p in R"])
    return markdown_table(frame, escape_cells=False, numeric=False)


def published_table(comparison: pd.DataFrame) -> str:
    """Published vs reproduced, with a match mark at the paper's precision."""
    if comparison.empty:
        return "The paper reports no figure for this section."
    shown = comparison.assign(match=comparison["match"].map({True: "✓ matches", False: "✗ differs"}))
    shown = shown[["figure", "published", "reproduced", "match"]]
    shown.columns = ["Figure", "Published (Matsuoka 2025)", "This build", "Match at the paper's precision"]
    return markdown_table(shown, numeric=False)


def dose_comparison_sentence(result: stats.DoseComparison, params: Parameters) -> Markdown:
    if not result.estimable:
        return _noted(f"The comparison of the dose groups is not estimable. {escape(result.reason)}", result)
    larger = "larger" if result.difference > 0 else "smaller"
    return _noted(
        f"Patients who received at least {format_cells(params.dose_cutoff_cells)} cells (n = {result.n_high}) had a "
        f"{larger} mean reduction than those who received fewer (n = {result.n_low}): difference "
        f"(high − low) **{result.difference:.2f} percentage points** (95% CI {result.ci95_low:.2f} to "
        f"{result.ci95_high:.2f}; Welch t({result.df:.1f}) = {result.t:.2f}, {stats.format_p(result.p)}).", result
    )


def dose_correlation_sentence(result: stats.DoseCorrelation) -> Markdown:
    if not result.estimable:
        return _noted(f"The correlation of dose with the reduction is not estimable. {escape(result.reason)}",
                      result)
    return _noted(
        f"Across the {result.n} patients with a known dose, the correlation of dose with the reduction "
        f"was Pearson r = **{result.pearson_r:.2f}** ({stats.format_p(result.pearson_p)}) and Spearman "
        f"ρ = **{result.spearman_rho:.2f}** ({stats.format_p(result.spearman_p)}).", result
    )


def flow_table(cohort, params: Parameters) -> str:
    """Flow of patients: rows read, excluded (with reasons), analysed, per section."""
    rows = [("Rows read from the file", f"{cohort.n_rows}")]
    reasons = pd.Series([e["reason"] for e in cohort.excluded], dtype=object)
    for reason, count in reasons.value_counts().sort_index().items():
        rows.append((f"Excluded: {reason}", f"{count}"))
    rows.append(("Analysed (baseline and post-treatment HbA1c present)", f"{cohort.n_analysed}"))
    for section in analysis.PAIRED_SECTIONS[1:]:
        n = len(analysis.population(cohort, section, params))
        rows.append((f"… {POPULATION_NAMES[section]}: {analysis.definition(section, params)}", f"{n}"))
        if section == "severe":
            below = len(analysis.outside_severity_groups(cohort, params))
            rows.append((f"… in no severity group: baseline HbA1c below {params.moderate_min:.1f} % (counted in all "
                         "patients only)", f"{below}"))
    return markdown_table(pd.DataFrame(rows, columns=["Step", "Patients"]))


#: Tables list at most this many rows of patients or changes; the rest are counted.
MAX_LISTED = 50


def _more(total: int, where: str) -> str:
    return f"\n\n… and {total - MAX_LISTED} more, all listed in {where}." if total > MAX_LISTED else ""


def exclusions_table(excluded: Iterable[dict[str, Any]]) -> str:
    """Excluded rows with their reasons (the first MAX_LISTED; results.json has all)."""
    frame = pd.DataFrame(list(excluded), columns=["row", "patient_id", "reason"])
    if frame.empty:
        return "No row was excluded."
    shown = frame.head(MAX_LISTED)
    shown.columns = ["Row of the file", "Patient id", "Reason"]
    return markdown_table(shown, numeric=False) + _more(len(frame), "`results.json` (dataset.excluded)")


KEY_PACKAGES = ("livingpaper", "jupyter-book", "myst-nb", "sphinx", "papermill", "numpy", "pandas",
                "scipy", "statsmodels", "matplotlib", "seaborn")


def provenance_table(record: dict[str, Any] | None) -> str:
    """The build's data, code, parameters and time, from provenance.json."""
    if record is None:
        return "This page was executed outside a build: there is no provenance record."
    commit, dirty = record["code"]["commit"], record["code"]["dirty"]
    state = "unknown" if dirty is None else ("with uncommitted changes" if dirty else "clean")
    rows = [
        ("Data file", code(record["data"]["file"], in_table=True)),
        ("Data SHA-256", code(record["data"]["sha256"], in_table=True)),
        ("Rows in the file", f"{record['data']['n_rows']}"),
        ("Reconstructed cohort of the paper", "yes" if record["data"]["reconstructed"] else "no"),
        ("Code (git commit)", "not a git checkout" if commit is None else f"{code(commit, in_table=True)} ({state})"),
        ("Moderate group from (baseline HbA1c, %)", f"{record['parameters']['moderate_min']:.1f}"),
        ("Severe group above (baseline HbA1c, %)", f"{record['parameters']['severe_above']:.1f}"),
        ("High dose from (cells)", format_cells(record["parameters"]["dose_cutoff_cells"])),
        ("Python", escape(record["python"])),
        ("Built (UTC)", escape(record["built_at_utc"])),
    ]
    return markdown_table(pd.DataFrame(rows, columns=["Item", "Value"]), escape_cells=False, numeric=False)


def packages_table(record: dict[str, Any] | None) -> str:
    """Versions of the packages that matter most; provenance.json lists all of them."""
    if record is None:
        return ""
    rows = [(name, record["packages"].get(name, "not installed")) for name in KEY_PACKAGES]
    return (markdown_table(pd.DataFrame(rows, columns=["Package", "Version"]), numeric=False)
            + f"\n\n{len(record['packages'])} packages in all; `provenance.json` lists every one.")


def data_dictionary(columns: Iterable[Any]) -> str:
    """The data dictionary as a definition list (one entry per column of the schema)."""
    entries = []
    for c in columns:
        unit = f", in {c.unit}" if c.unit else ""
        need = "required" if c.required else "optional"
        entries.append(f"`{c.name}`\n: {c.type}{unit}; {need}; allowed: {c.allowed}.\n  {c.description}\n")
    return "\n".join(entries)


def _value(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return {True: "true", False: "false", None: "–"}[v]
    if isinstance(v, float):
        return f"{v:.4g}"
    text = str(v)
    return escape(text if len(text) <= 24 else text[:12] + "…")  # hashes and long paths


def changes_report(record: dict[str, Any] | None) -> str:
    """The changes page: the previous build, the flagged changes, then every change."""
    if record is None or record["previous_build"] is None:
        return "This is the first build in this output folder: there is nothing to compare with."
    prev = record["previous_build"]
    head = (f"Previous build: {escape(prev['built_at_utc'])} UTC, data file {code(prev['data_file'])} "
            f"(SHA-256 {code(str(prev['data_sha256'])[:12] + '…')}).")
    rows = record["changes"]
    if not rows:
        return head + "\n\nNo number changed."
    # What can change a conclusion: a p crossing 0.05, a section (no longer) estimable.
    flagged = [r for r in rows if r["note"].startswith(("crossed", "became"))]
    parts = [head, f"{len(rows)} value(s) changed."]
    if flagged:
        parts.append("What matters most:\n\n" + "\n".join(
            f"- {code(r['key'])}: {_value(r['old'])} → {_value(r['new'])}, **{escape(r['note'])}**"
            for r in flagged))
    table = pd.DataFrame([(r["key"], _value(r["old"]), _value(r["new"]), escape(r["note"]))
                          for r in rows[:MAX_LISTED]], columns=["Value", "Previous build", "This build", "Note"])
    table["Value"] = table["Value"].map(lambda key: code(key, in_table=True))
    parts.append(markdown_table(table, escape_cells=False) + _more(len(rows), "`changes.json`"))
    return "\n\n".join(parts)


def characteristics_table(summary: dict[str, Any]) -> str:
    """Table 1: the patients' characteristics (all valid rows of the file)."""
    n = summary["n_rows"]
    missing = "not recorded"
    pct = lambda k, of: f"{k} ({100 * k / of:.0f} %)" if of else "–"  # noqa: E731
    mean_sd = lambda m, s: missing if m is None else f"{m:.1f} ({_num(s, 1)})"  # noqa: E731
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
         else f"{summary['hba1c_baseline_mean']:.2f} ({_num(summary['hba1c_baseline_sd'])})"),
        ("MSC dose, cells, median (range)", "–" if summary["dose_median_cells"] is None
         else f"{format_cells(summary['dose_median_cells'])} ({format_cells(summary['dose_min_cells'])} "
              f"to {format_cells(summary['dose_max_cells'])})"),
        *[(f"MSC source: {escape(source.replace('_', ' '))}, n (%)", pct(k, n))
          for source, k in summary["msc_sources"].items()],
        ("Follow-up, months, median (range)", "–" if summary["followup_median_months"] is None
         else f"{summary['followup_median_months']:.0f} ({summary['followup_min_months']:.0f} "
              f"to {summary['followup_max_months']:.0f})"),
        ("Serious adverse events, n", missing if summary["serious_adverse_events"] is None
         else f"{summary['serious_adverse_events']}"),
    ]
    return markdown_table(pd.DataFrame(rows, columns=["Characteristic", "Value"]), escape_cells=False)

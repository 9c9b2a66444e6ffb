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


# ---------------------------------------------------------------------------------------
# Replication: does this cohort show what the paper reported? (livingpaper.replication)
# ---------------------------------------------------------------------------------------

CLAIM_NAMES = {"overall": "All patients", "moderate": "Moderate group", "severe": "Severe group",
               "dose": "Dose trend (high − low dose)"}
VERDICT_NAMES = {"consistent": "consistent", "inconsistent": "inconsistent", "inconclusive": "inconclusive",
                 "not_assessable": "not assessable"}


def _pp(value: float | None, decimals: int = 2) -> str:
    """A number of percentage points with a typographic minus (no "−0.00")."""
    if value is None:
        return "–"
    text = f"{value:.{decimals}f}"
    return text.lstrip("-") if float(text) == 0 else text.replace("-", "−")


def _interval(low: float | None, high: float | None, decimals: int = 2) -> str:
    return "–" if low is None or high is None else f"{_pp(low, decimals)} to {_pp(high, decimals)}"


def _p3(p: float | None) -> str:
    """A p-value to three significant digits for a table (never rounded up to 1)."""
    return "–" if p is None else ("> 0.999" if p > 0.999 else f"{p:.3g}")


def verdict_name(verdict: str) -> str:
    """A verdict as the pages print it (``not_assessable`` -> ``not assessable``)."""
    return VERDICT_NAMES.get(verdict, verdict.replace("_", " "))


def published_versus(reconstructed: bool) -> str:
    """What the paper's figures are set beside on a results page: the reproduction of the
    reconstructed cohort, or this cohort (a replication)."""
    return "reproduced" if reconstructed else "this cohort"


def claim_meaning(claim) -> str:
    """What a claim's verdict means for the clinic that sent the file, in words."""
    verdict = claim.verdict
    if verdict == "consistent":
        return ("These patients show what the paper reported: a fall of the size that a replication with this many "
                "patients would find if the paper's estimate were right.")
    if verdict == "inconsistent":
        if claim.same_direction is not None and not claim.same_direction and claim.significant:
            return "These patients' HbA1c changed significantly in the opposite direction: they contradict the paper."
        if claim.estimate is not None and claim.prediction_low is not None and claim.estimate < claim.prediction_low:
            return ("These patients' fall is smaller than a replication of the paper's finding with this many "
                    "patients would show 95 times in 100: they do not show what the paper reported.")
        return ("These patients' fall is larger than a replication of the paper's finding with this many patients "
                "would show 95 times in 100: a different effect, or different patients (see the case mix in "
                "{doc}`/chapters/replication`).")
    if verdict == "inconclusive":
        text = ("These data cannot tell: the fall is compatible with the paper's estimate, but not distinguishable "
                "from no fall at all. More patients would be needed.")
        if claim.smaller_than_d33:
            text += (" The fall is, however, significantly smaller than the smallest effect the paper's study could "
                     "reliably have detected (d33): a hint that the effect is smaller than the paper suggests.")
        return text
    return "No verdict: " + escape(claim.reason)


def claim_sentence(claim, reconstructed: bool = False) -> Markdown:
    """One claim on a results page or in the replication chapter: verdict, numbers, meaning
    (on the reconstructed cohort, that agreement is by construction)."""
    name = CLAIM_NAMES.get(claim.claim, claim.claim).lower()
    head = f"**Replication, {escape(name)}: {verdict_name(claim.verdict)}.**"
    if claim.claim == "dose" or claim.published_estimate is None:
        return Markdown(f"{head} {escape(claim.reason)}")
    if claim.estimate is None or claim.ci95_low is None:
        return Markdown(f"{head} {escape(claim.reason)}")
    numbers = (f"This cohort's mean reduction is {_pp(claim.estimate)} percentage points (95% CI "
               f"{_interval(claim.ci95_low, claim.ci95_high)}, {stats.format_p(claim.p)}, n = {claim.n}); the paper "
               f"reports {_pp(claim.published_estimate)}, and a replication with this cohort's precision would be "
               f"expected, if the paper's estimate were right, between {_pp(claim.prediction_low)} and "
               f"{_pp(claim.prediction_high)} (widest 95% prediction interval over what the abstract allows).")
    if claim.verdict == "not_assessable":
        return Markdown(f"{head} {numbers} {escape(claim.reason)}")
    if reconstructed:
        return Markdown(f"{head} {numbers} By construction: the reconstructed cohort was made to match the paper.")
    return Markdown(f"{head} {numbers} {claim_meaning(claim)}")


def published_section(comparison: pd.DataFrame, claim, reconstructed: bool) -> Markdown:
    """The table of the paper's figures on a results page, with what it means.

    On the reconstructed cohort: published vs reproduced, with a match at the paper's
    precision (agreement is by construction). On any other data: published vs this
    cohort, where only the claim is judged, by its replication verdict; the other rows
    describe the two cohorts, which need not agree.
    """
    if reconstructed:
        return Markdown(
            published_table(comparison)
            + "\n\nA figure *matches* when the value of this build rounds to the published one at the precision "
              "the paper gives it (a mean reported to two decimals matches every value that rounds to it), or, for "
              "a published \"p < …\", when the reproduced p lies below the bound. The reconstructed cohort was made "
              "to match these figures, so the matches are by construction; the replication criteria are in "
              "{doc}`/chapters/replication`.")
    rows = [[escape(f), escape(p), escape(r), "–"] for f, p, r in
            zip(comparison["figure"], comparison["published"], comparison["reproduced"])]
    verdict = f"**{verdict_name(claim.verdict)}**"
    if claim.claim == "dose":
        for row, figure_id in zip(rows, comparison["id"]):
            if figure_id == "dose_trend":
                row[3] = verdict
    else:
        published = (f"{_pp(claim.published_estimate)} (widest 95% prediction interval for a cohort of this size: "
                     f"{_interval(claim.prediction_low, claim.prediction_high)})")
        this = f"{_pp(claim.estimate)} (95% CI {_interval(claim.ci95_low, claim.ci95_high)})"
        row = ["Mean reduction, percentage points: the claim", published, this, verdict]
        ids = list(comparison["id"])
        if f"{claim.claim}_mean_reduction" in ids:  # the paper's own figure of the claim: judged in its row
            rows[ids.index(f"{claim.claim}_mean_reduction")] = row
        else:
            rows.append(row)
    frame = pd.DataFrame(rows, columns=["Figure", "Published (Matsuoka 2025)", "This cohort", "Replication"])
    table = markdown_table(frame, escape_cells=False, numeric=False)
    note = "The claim is judged by its replication verdict (criteria in {doc}`/chapters/replication`)"
    note += ("; the other rows describe the paper's patients and these, which need not agree." if len(rows) > 1
             else ".")
    return Markdown(f"{table}\n\n{note}\n\n{claim_sentence(claim).data}")


def replication_intro(replication, data_name: str) -> Markdown:
    """The introduction's paragraph on replication: on new data, the verdicts in one sentence."""
    if replication.reconstructed:
        return Markdown(
            "On the reconstructed cohort the book reproduces the paper: every published figure agrees with it by "
            "construction, since the cohort was made to match. Built on another file, the book becomes a "
            "**replication** on that "
            "file and says, claim by claim, whether its patients show what the paper reported "
            "(see {doc}`/chapters/replication`).")
    parts = [f"{CLAIM_NAMES[name].lower()}: **{verdict_name(claim.verdict)}**"
             for name, claim in replication.claims.items()]
    return Markdown(
        f":::{{important}}\nThis build is a **replication** of the paper on {code(data_name)}: it asks whether these "
        f"patients show what Matsuoka et al. reported. The verdicts are {'; '.join(parts)} (criteria, case mix and "
        "reasons in {doc}`/chapters/replication`).\n:::")


def replication_headline(replication) -> Markdown:
    """The replication chapter's opening: one line per claim, the verdict and what it means."""
    lines = [f"- {claim_sentence(claim, replication.reconstructed).data}" for claim in replication.claims.values()]
    return Markdown("\n".join(lines))


def replication_note(replication) -> Markdown | None:
    """On the reconstructed cohort, the warning that agreement is by construction; when no
    claim could be assessed, why; otherwise nothing (``None`` shows nothing in a page)."""
    if replication.reconstructed:
        return Markdown(
            ":::{important}\nOn the reconstructed cohort the criteria below are computed as on any other file, "
            "but the cohort was made to agree with every published figure: **agreement here is by construction**, "
            "not a replication. The chapter shows what a clinic that builds the book on its own patients reads.\n:::")
    if not replication.estimable:
        return Markdown(f":::{{warning}}\n{escape(replication.reason)}\n:::")
    return None


def _yes_no(value: bool | None) -> str:
    return {True: "yes", False: "no", None: "–"}[value]


def replication_table(replication) -> str:
    """The criteria, one row per criterion, one column per claim."""
    claims = list(replication.claims.values())

    def row(label: str, cell) -> list[str]:
        return [label] + [cell(c) for c in claims]

    def paper_n(c) -> str:
        if c.published_n_low is None:
            return "–"
        return f"{c.published_n_low}" if c.published_n_low == c.published_n_high else \
            f"{c.published_n_low} to {c.published_n_high}"

    def se(c) -> str:
        if c.published_se_high is None:
            return "–"
        return (f"at most {_pp(c.published_se_high)}" if c.published_se_low == 0
                else _interval(c.published_se_low, c.published_se_high))

    def telescope(c) -> str:
        if c.smaller_than_d33_p is None:
            return "–"
        return f"{_yes_no(c.smaller_than_d33)} (one-sided p {'= ' if c.smaller_than_d33_p <= 0.999 else ''}" \
               f"{_p3(c.smaller_than_d33_p)})"

    rows = [
        row("Paper: estimate, percentage points", lambda c: _pp(c.published_estimate)),
        row("Paper: values that round to it", lambda c: _interval(c.published_estimate_low, c.published_estimate_high, 3)),
        row("Paper: standard error the abstract allows", se),
        row("Paper: patients (feasible)", paper_n),
        row("This cohort: patients", lambda c: f"{c.n}"),
        row("This cohort: estimate (95% CI)", lambda c: "–" if c.estimate is None else
            f"{_pp(c.estimate)} ({_interval(c.ci95_low, c.ci95_high)})"),
        row("This cohort: p (two-sided)", lambda c: _p3(c.p)),
        row("Widest 95% prediction interval for a replication of this size",
            lambda c: _interval(c.prediction_low, c.prediction_high)),
        row("This cohort's estimate inside it", lambda c: _yes_no(c.inside_prediction)),
        row("Paper's estimate inside this cohort's 95% CI", lambda c: _yes_no(c.published_in_ci)),
        row("Difference, this cohort − paper (widest 95% interval)", lambda c: "–" if c.difference is None else
            f"{_pp(c.difference)} ({_interval(c.difference_ci95_low, c.difference_ci95_high)})"),
        row("d33: effect (dz) the paper had 33% power to detect", lambda c: "–" if c.d33 is None else
            (f"{c.d33:.2f}" if c.d33_high is None or abs(c.d33_high - c.d33) < 0.005
             else f"{c.d33:.2f} to {c.d33_high:.2f}")),
        row("This cohort's dz", lambda c: _num(c.cohen_dz)),
        row("This cohort's effect significantly smaller than d33", telescope),
        row("**Verdict**", lambda c: f"**{verdict_name(c.verdict)}**"),
    ]
    header = ["Criterion"] + [CLAIM_NAMES.get(c.claim, escape(c.claim)) for c in claims]
    return markdown_table(pd.DataFrame(rows, columns=header), escape_cells=False)


def _range_cells(low: float | None, high: float | None) -> str:
    return "–" if low is None else f"{format_cells(low)} to {format_cells(high)}"


def case_mix_table(mix, sources: dict[str, int] | None = None) -> str:
    """This cohort's patients beside the paper's (reported, or implied by the abstract).

    ``sources`` (optional) are the patient counts per MSC source, from ``results.json``
    (``cohort.msc_sources``); without them the sources are listed by name.
    """
    pct = lambda x: "–" if x is None else f"{100 * x:.0f} %"  # noqa: E731
    months = lambda m, lo, hi: "–" if m is None else f"{m:.0f} ({lo:.0f} to {hi:.0f})"  # noqa: E731
    paper_severe = ("–" if mix.paper_n_severe_low is None else
                    f"{mix.paper_n_severe_low} to {mix.paper_n_severe_high} of {mix.paper_n} "
                    f"({pct(mix.paper_severe_share_low)} to {pct(mix.paper_severe_share_high)}; implied, not reported)")
    label = lambda s: escape(str(s).replace("_", " "))  # noqa: E731
    if sources:
        these = ", ".join(f"{label(s)} {k}" for s, k in sorted(sources.items()))
    else:
        these = ", ".join(label(s) for s in mix.sources.split(", ")) if mix.sources else "not recorded"
    if mix.sources_not_in_paper:
        these += " (not named by the paper: " + ", ".join(label(s) for s in mix.sources_not_in_paper.split(", ")) + ")"
    rows = [
        ("Patients analysed", f"{mix.paper_n}", f"{mix.n}"),
        ("Mean baseline HbA1c, %", f"{mix.paper_baseline_mean:.2f}", _num(mix.baseline_mean)),
        (f"Baseline below the paper's inclusion threshold ({mix.paper_inclusion_min:g} %)", "0 (inclusion criterion)",
         f"{mix.n_below_inclusion}"),
        (f"Severe patients (baseline above {mix.severe_above:.1f} %)", paper_severe,
         f"{mix.n_severe} of {mix.n} ({pct(mix.severe_share)})"),
        ("Dose range, cells", _range_cells(mix.paper_dose_min_cells, mix.paper_dose_max_cells),
         _range_cells(mix.dose_min_cells, mix.dose_max_cells)),
        ("MSC sources", ", ".join(label(s) for s in mix.paper_sources.split(", ")) + " (numbers not reported)", these),
        ("Follow-up, months, median (range)",
         months(mix.paper_followup_median_months, mix.paper_followup_min_months, mix.paper_followup_max_months),
         months(mix.followup_median_months, mix.followup_min_months, mix.followup_max_months)),
    ]
    return markdown_table(pd.DataFrame(rows, columns=["Characteristic", "Matsuoka 2025", "This cohort"]),
                          escape_cells=False, numeric=False)


def at_paper_baseline_sentence(adjusted, overall) -> Markdown:
    """The reduction this cohort would show at the paper's mean baseline, and what it says."""
    if not adjusted.estimable:
        return Markdown(f"The reduction at the paper's mean baseline cannot be estimated here. {escape(adjusted.reason)}")
    text = (f"From this cohort's own regression of the reduction on baseline HbA1c (n = {adjusted.n}; "
            f"{_pp(adjusted.slope)} percentage points more reduction per 1 % more baseline, 95% CI "
            f"{_interval(adjusted.slope_ci95_low, adjusted.slope_ci95_high)}), patients starting at the paper's mean "
            f"baseline of {adjusted.baseline:.2f} % would have a mean reduction of **{_pp(adjusted.reduction)} "
            f"percentage points** (95% CI {_interval(adjusted.ci95_low, adjusted.ci95_high)}).")
    if adjusted.extrapolated:
        text += (f" That baseline lies outside this cohort's own ({adjusted.baseline_min:.1f} to "
                 f"{adjusted.baseline_max:.1f} %): the line is extrapolated, and the interval says how far it can be "
                 "trusted.")
    if adjusted.inside_prediction is not None and overall.published_estimate is not None:
        where = "inside" if adjusted.inside_prediction else "outside"
        text += (f" Against the paper's {_pp(overall.published_estimate)}, that lies {where} the widest 95% "
                 f"prediction interval for its precision ({_interval(adjusted.prediction_low, adjusted.prediction_high)}).")
        if overall.verdict == "inconsistent" and adjusted.inside_prediction:
            text += (" The overall difference from the paper is therefore compatible with a different case mix "
                     "rather than a different effect.")
        elif overall.verdict == "inconsistent" and not adjusted.inside_prediction:
            text += (" A different case mix does not explain the difference from the paper: at the paper's baseline "
                     "this cohort's fall still lies outside what a replication would show.")
        elif overall.verdict == "consistent" and not adjusted.inside_prediction:
            text += (" The overall agreement may owe something to the case mix: at the paper's baseline, this cohort "
                     "would fall differently.")
    return Markdown(text)

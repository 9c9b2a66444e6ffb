"""What the chapters show: sentences, tables and notes built from results.

Chapters only call these functions and display what they return, so the wording of a
result (and what is said when it is not estimable) is written once. Everything returned
is MyST Markdown; text that comes from the data is escaped so that it shows as text.
"""
from __future__ import annotations

import pandas as pd
from IPython.display import Markdown

from livingpaper import domain, formatting
from livingpaper.formatting import df_text, format_cells, number
from livingpaper.parameters import Parameters
from livingpaper.present.markdown import (
    code,
    escape,
    markdown_table,
    not_estimable,
    with_note,
)
from livingpaper.stats import paired


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


def headline(result: paired.PairedReduction, section: str, params: Parameters) -> Markdown:
    """One sentence: what happened to HbA1c in this population, or why it is not estimable;
    under it, on the reconstructed cohort, what in it the reconstruction chose."""
    who = f"{domain.SECTIONS[section].in_sentence} ({domain.definition(section, params)})"
    if result.n == 0:
        return with_note(f"No patient of this dataset belongs to {who}, so this section is not estimable.", result)
    if not result.estimable:
        return with_note(f"In {who}, n = {result.n}, " + not_estimable("the mean reduction", result.reason), result)
    if result.mean_reduction == 0:
        change = f"mean HbA1c did not change ({result.baseline_mean:.2f} % before and after)"
    else:
        direction = "fell" if result.mean_reduction > 0 else "rose"
        change = f"mean HbA1c {direction} from {result.baseline_mean:.2f} % to {result.post_mean:.2f} %"
    return with_note(
        f"In {who}, n = {result.n}, {change}, a mean reduction of **{result.mean_reduction:.2f} percentage points** "
        f"(95% CI {formatting.span(result.ci95_low, result.ci95_high)}; paired t({df_text(result.df)}) = {result.t:.2f}, "
        f"{formatting.format_p(result.p)}).", result
    )


def _paired_rows(result: paired.PairedReduction) -> list[str]:
    mean_sd = lambda m, s: "–" if m is None else f"{m:.2f} ({number(s)})"  # noqa: E731
    return [
        f"{result.n}",
        mean_sd(result.baseline_mean, result.baseline_sd),
        mean_sd(result.post_mean, result.post_sd),
        mean_sd(result.mean_reduction, result.sd_reduction),
        formatting.span(result.ci95_low, result.ci95_high),
        "–" if result.t is None else f"{result.t:.2f} ({df_text(result.df)})",
        formatting.format_p_cell(result.p),
        number(result.cohen_dz),
        "–" if result.wilcoxon_v is None else f"{result.wilcoxon_v:g}",
        formatting.format_p_cell(result.wilcoxon_p),
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


def paired_table(columns: dict[str, paired.PairedReduction]) -> str:
    """All statistics of one or more paired sections, one statistic per row."""
    frame = pd.DataFrame({"Statistic": _PAIRED_STATISTICS,
                          **{name: _paired_rows(result) for name, result in columns.items()}})
    return markdown_table(frame, escape_cells=False)


def signed_rank_variants_table() -> str:
    """Which variant of the Wilcoxon signed-rank test the book uses for which sample, and the
    R call that gives the same two-sided p (for the Methods)."""
    n_exact, n_conditional = paired.EXACT_MAX_N, paired.PERMUTATION_MAX_N
    rows = [
        (paired.SIGNED_RANK_EXACT, f"no ties and no zero changes, n ≤ {n_exact}",
         code(paired.SIGNED_RANK_R_CALLS[paired.SIGNED_RANK_EXACT])),
        (paired.SIGNED_RANK_CONDITIONAL,
         f"ties or zero changes, n ≤ {n_conditional} (zeros dropped; every sign pattern of the mid-ranks "
         "enumerated)", code(paired.SIGNED_RANK_R_CALLS[paired.SIGNED_RANK_CONDITIONAL])),
        (paired.SIGNED_RANK_NORMAL,
         f"n > {n_exact}, or ties or zero changes with {n_conditional} < n ≤ {n_exact} (zeros dropped; variance "
         "corrected for ties)", code(paired.SIGNED_RANK_R_CALLS[paired.SIGNED_RANK_NORMAL])),
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


def dose_comparison_sentence(result: paired.DoseComparison, params: Parameters) -> Markdown:
    if not result.estimable:
        return with_note(not_estimable("The comparison of the dose groups", result.reason), result)
    larger = "larger" if result.difference > 0 else "smaller"
    return with_note(
        f"Patients who received at least {format_cells(params.dose_cutoff_cells)} cells (n = {result.n_high}) had a "
        f"{larger} mean reduction than those who received fewer (n = {result.n_low}): difference "
        f"(high − low) **{result.difference:.2f} percentage points** (95% CI "
        f"{formatting.span(result.ci95_low, result.ci95_high)}; Welch t({result.df:.1f}) = {result.t:.2f}, "
        f"{formatting.format_p(result.p)}).", result
    )


def dose_correlation_sentence(result: paired.DoseCorrelation) -> Markdown:
    if not result.estimable:
        return with_note(not_estimable("The correlation of dose with the reduction", result.reason), result)
    return with_note(
        f"Across the {result.n} patients with a known dose, the correlation of dose with the reduction "
        f"was Pearson r = **{result.pearson_r:.2f}** ({formatting.format_p(result.pearson_p)}) and Spearman "
        f"ρ = **{result.spearman_rho:.2f}** ({formatting.format_p(result.spearman_p)}).", result
    )

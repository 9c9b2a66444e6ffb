"""The replication report on the page: criteria, verdicts in words, case mix."""
from __future__ import annotations

import pandas as pd
from IPython.display import Markdown

from livingpaper import formatting
from livingpaper.domain import CLAIMS, source_label, verdict_name
from livingpaper.formatting import (
    format_cells,
    format_p_cell,
    number,
    percent,
    points,
    points_span,
    span,
    with_range,
)
from livingpaper.present.markdown import code, escape, markdown_table
from livingpaper.present.paired import published_table

# ---------------------------------------------------------------------------------------
# Replication: does this cohort show what the paper reported? (livingpaper.stats.replication)
# ---------------------------------------------------------------------------------------

CLAIM_NAMES = {key: claim.label for key, claim in CLAIMS.items()}


def published_versus(reconstructed: bool) -> str:
    """What the paper's figures are set beside on a results page: the reproduction of the
    reconstructed cohort, or this cohort (a replication)."""
    return "reproduced" if reconstructed else "this cohort"


def claim_meaning(claim) -> str:
    """What a claim's verdict means for the clinic that sent the file, in words."""
    verdict = claim.verdict
    if verdict == "consistent":
        return ("These patients' fall is compatible with the paper's estimate: it is significant, in the paper's "
                "direction, and within what a replication with this many patients would find if the paper's "
                "estimate were right (a range taken at its widest: compatible, not shown to be equal).")
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
    if claim.claim == "dose" or None in (claim.published_estimate, claim.estimate, claim.ci95_low):
        return Markdown(f"{head} {escape(claim.reason)}")
    numbers = (f"This cohort's mean reduction is {points(claim.estimate)} percentage points (95% CI "
               f"{points_span(claim.ci95_low, claim.ci95_high)}, {formatting.format_p(claim.p)}, n = {claim.n}); the paper "
               f"reports {points(claim.published_estimate)}, and a replication with this cohort's precision would be "
               f"expected, if the paper's estimate were right, between {points(claim.prediction_low)} and "
               f"{points(claim.prediction_high)} (widest 95% prediction interval over what the abstract allows).")
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
        published = (f"{points(claim.published_estimate)} (widest 95% prediction interval for a cohort of this size: "
                     f"{points_span(claim.prediction_low, claim.prediction_high)})")
        this = f"{points(claim.estimate)} (95% CI {points_span(claim.ci95_low, claim.ci95_high)})"
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
        return (f"at most {points(c.published_se_high)}" if c.published_se_low == 0
                else points_span(c.published_se_low, c.published_se_high))

    def telescope(c) -> str:
        if c.smaller_than_d33_p is None:
            return "–"
        return f"{_yes_no(c.smaller_than_d33)} (one-sided {formatting.format_p(c.smaller_than_d33_p)})"

    rows = [
        row("Paper: estimate, percentage points", lambda c: points(c.published_estimate)),
        row("Paper: values that round to it", lambda c: points_span(c.published_estimate_low, c.published_estimate_high, 3)),
        row("Paper: standard error the abstract allows", se),
        row("Paper: patients (feasible)", paper_n),
        row("This cohort: patients", lambda c: f"{c.n}"),
        row("This cohort: estimate (95% CI)", lambda c: "–" if c.estimate is None else
            f"{points(c.estimate)} ({points_span(c.ci95_low, c.ci95_high)})"),
        row("This cohort: p (two-sided)", lambda c: format_p_cell(c.p)),
        row("Widest 95% prediction interval for a replication of this size",
            lambda c: points_span(c.prediction_low, c.prediction_high)),
        row("This cohort's estimate inside it", lambda c: _yes_no(c.inside_prediction)),
        row("Paper's estimate inside this cohort's 95% CI", lambda c: _yes_no(c.published_in_ci)),
        row("Difference, this cohort − paper (widest 95% interval)", lambda c: "–" if c.difference is None else
            f"{points(c.difference)} ({points_span(c.difference_ci95_low, c.difference_ci95_high)})"),
        row("d33: effect (dz) the paper had 33% power to detect", lambda c: "–" if c.d33 is None else
            (number(c.d33) if c.d33_high is None or abs(c.d33_high - c.d33) < 0.005
             else span(c.d33, c.d33_high))),
        row("This cohort's dz", lambda c: number(c.cohen_dz)),
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
    paper_severe = ("–" if mix.paper_n_severe_low is None else
                    f"{mix.paper_n_severe_low} to {mix.paper_n_severe_high} of {mix.paper_n} "
                    f"({percent(mix.paper_severe_share_low, 0)} to {percent(mix.paper_severe_share_high, 0)}; "
                    "implied, not reported)")
    label = lambda s: escape(source_label(s))  # noqa: E731
    if sources:
        these = ", ".join(f"{label(s)} {k}" for s, k in sorted(sources.items()))
    else:
        these = ", ".join(label(s) for s in mix.sources.split(", ")) if mix.sources else "not recorded"
    if mix.sources_not_in_paper:
        these += " (not named by the paper: " + ", ".join(label(s) for s in mix.sources_not_in_paper.split(", ")) + ")"
    rows = [
        ("Patients analysed", f"{mix.paper_n}", f"{mix.n}"),
        ("Mean baseline HbA1c, %", f"{mix.paper_baseline_mean:.2f}", number(mix.baseline_mean)),
        (f"Baseline below the paper's inclusion threshold ({mix.paper_inclusion_min:g} %)", "0 (inclusion criterion)",
         f"{mix.n_below_inclusion}"),
        (f"Severe patients (baseline above {mix.severe_above:.1f} %)", paper_severe,
         f"{mix.n_severe} of {mix.n} ({percent(mix.severe_share, 0)})"),
        ("Dose range, cells", _range_cells(mix.paper_dose_min_cells, mix.paper_dose_max_cells),
         _range_cells(mix.dose_min_cells, mix.dose_max_cells)),
        ("MSC sources", ", ".join(label(s) for s in mix.paper_sources.split(", ")) + " (numbers not reported)", these),
        ("Follow-up, months, median (range)",
         with_range(mix.paper_followup_median_months, mix.paper_followup_min_months, mix.paper_followup_max_months, 0),
         with_range(mix.followup_median_months, mix.followup_min_months, mix.followup_max_months, 0)),
    ]
    return markdown_table(pd.DataFrame(rows, columns=["Characteristic", "Matsuoka 2025", "This cohort"]),
                          escape_cells=False, numeric=False)


def at_paper_baseline_sentence(adjusted, overall) -> Markdown:
    """The reduction this cohort would show at the paper's mean baseline, and what it says."""
    if not adjusted.estimable:
        return Markdown(f"The reduction at the paper's mean baseline cannot be estimated here. {escape(adjusted.reason)}")
    text = (f"From this cohort's own regression of the reduction on baseline HbA1c (n = {adjusted.n}; "
            f"{points(adjusted.slope)} percentage points more reduction per 1 % more baseline, 95% CI "
            f"{points_span(adjusted.slope_ci95_low, adjusted.slope_ci95_high)}), patients starting at the paper's mean "
            f"baseline of {adjusted.baseline:.2f} % would have a mean reduction of **{points(adjusted.reduction)} "
            f"percentage points** (95% CI {points_span(adjusted.ci95_low, adjusted.ci95_high)}).")
    if adjusted.extrapolated:
        text += (f" That baseline lies outside this cohort's own ({adjusted.baseline_min:.1f} to "
                 f"{adjusted.baseline_max:.1f} %): the line is extrapolated, and the interval says how far it can be "
                 "trusted.")
    if adjusted.inside_prediction is not None and overall.published_estimate is not None:
        where = "inside" if adjusted.inside_prediction else "outside"
        text += (f" Against the paper's {points(overall.published_estimate)}, that lies {where} the widest 95% "
                 f"prediction interval for its precision ({points_span(adjusted.prediction_low, adjusted.prediction_high)}).")
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

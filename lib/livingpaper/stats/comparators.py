"""Computations on the evidence table (``data/evidence.csv``, loaded by
:mod:`livingpaper.inputs.evidence`).

* the forest plot's rows, this build's estimates beside the published ones on one sign
  convention (:func:`forest_rows`), and the rows it leaves out, with the reason
  (:func:`excluded_rows`);
* the selections the evidence chapter's tables show: flagged rows (:func:`flagged_rows`),
  rows of a change with no published estimate and what they lack (:func:`unreported_rows`);
* the comparisons the chapter states in words (:func:`group_range`, :func:`compare_book`,
  :func:`same_source_gap`, :func:`stated_versus_means`);
* what the chapter states, **by meaning**: the forest groups it sets this build's change
  beside (:data:`BOOK_COMPARISONS`), the rows of the table it quotes (:data:`CITED_ROWS`,
  each with what the row must be), the meta-analysis that reports both a controlled and an
  uncontrolled estimate (:data:`BOTH_POOLED_SOURCE`), all computed at once by
  :func:`summarise`. The row ids live here, once: a row that disappears from the file, or
  stops being what the chapter says it is, fails :func:`check_cited_rows` (and its test)
  with a line naming it, instead of changing the page.

Sign convention of the forest plot: **change in HbA1c, percentage points, negative = HbA1c
fell**; for a controlled contrast, MSC minus control (negative = lower with MSC). A source
that reports a reduction as a positive number is flipped (flag ``sign_reversed_in_source``).
Standardised mean differences (SMD) have no percentage-point unit and are never put on
that axis. Nothing here fills a gap: a number the source does not give stays empty.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from livingpaper.domain import SECTIONS, SEVERITY_SECTIONS
from livingpaper.errors import EvidenceError
from livingpaper.inputs.evidence import PERCENT_MEASURES, POSITIVE_FELL, flags_of
from livingpaper.stats.result import TidyResult

# --------------------------------------------------------------------------------------
# Forest-plot rows
# --------------------------------------------------------------------------------------

GROUP_BOOK = "this book (uncontrolled)"
GROUP_RCT_MSC = "RCT MSC arm"
GROUP_SINGLE_ARM = "single-arm MSC study"
GROUP_RCT_PLACEBO = "RCT placebo arm"
GROUP_DRUG_PLACEBO = "pooled placebo arms (drug RCTs)"
GROUP_POOLED_UNCONTROLLED = "pooled uncontrolled (before/after)"
GROUP_RCT_CONTRAST = "RCT MSC minus placebo"
GROUP_POOLED_CONTROLLED = "pooled controlled (MSC vs control)"

#: Groups of the forest plot, top to bottom, and whether they are controlled contrasts.
GROUPS: dict[str, bool] = {
    GROUP_BOOK: False,
    GROUP_RCT_MSC: False,
    GROUP_SINGLE_ARM: False,
    GROUP_RCT_PLACEBO: False,
    GROUP_DRUG_PLACEBO: False,
    GROUP_POOLED_UNCONTROLLED: False,
    GROUP_RCT_CONTRAST: True,
    GROUP_POOLED_CONTROLLED: True,
}

#: Headings of the groups in the figure and tables.
GROUP_TITLES: dict[str, str] = {
    GROUP_BOOK: "This book",
    GROUP_RCT_MSC: "MSC arms of randomized trials",
    GROUP_SINGLE_ARM: "Single-arm MSC studies",
    GROUP_RCT_PLACEBO: "Placebo arms of MSC trials",
    GROUP_DRUG_PLACEBO: "Placebo arms of drug trials, pooled",
    GROUP_POOLED_UNCONTROLLED: "Meta-analyses, MSC arms before/after",
    GROUP_RCT_CONTRAST: "Randomized trial, MSC minus placebo",
    GROUP_POOLED_CONTROLLED: "Meta-analyses, MSC minus control",
}

#: Headings of the two blocks (controlled or not).
BLOCK_TITLES: dict[bool, str] = {
    False: "Before/after (not controlled)",
    True: "MSC minus control (controlled)",
}


FOREST_COLUMNS = ["block", "group", "label", "estimate", "ci_low", "ci_high", "has_ci", "controlled",
                  "sign_flipped", "flags", "row_id", "citation_key", "n", "k_studies", "note"]


def _group_of(row: pd.Series) -> tuple[str | None, str]:
    """The forest group of an evidence row, or None and the reason it is not plotted."""
    measure, arm, design = row["measure"], row["arm"], row["design"]
    if arm == "published (this paper)":
        return None, "the paper's own published figure: this build's estimate is plotted instead"
    if arm == "anchor":
        return None, "natural-history or regression-to-the-mean anchor (used in the text)"
    if measure == "smd":
        return None, "standardised mean difference: no percentage-point unit, cannot share the axis"
    if measure not in PERCENT_MEASURES:
        return None, f"{measure} is not a change in HbA1c"
    if not row["headline"]:
        return None, "secondary time point or subgroup (listed in the table)"
    if pd.isna(row["estimate"]):
        return None, "no estimate published"
    if measure == "change_percent":
        if arm == "MSC":
            return (GROUP_RCT_MSC if design == "RCT" else GROUP_SINGLE_ARM), ""
        if arm == "placebo" and design == "RCT":
            return GROUP_RCT_PLACEBO, ""
        if arm == "pooled placebo":
            return GROUP_DRUG_PLACEBO, ""
        if arm == "pooled before/after":
            return GROUP_POOLED_UNCONTROLLED, ""
    if measure == "mean_difference_percent":
        if arm == "MSC vs placebo":
            return GROUP_RCT_CONTRAST, ""
        if arm == "pooled MSC vs control":
            return GROUP_POOLED_CONTROLLED, ""
    return None, f"no figure group for arm {arm!r} with measure {measure}"


def _with_size(label: str, n: Any, k: Any) -> str:
    parts = []
    if k is not None and not pd.isna(k):
        parts.append(f"k={int(k)}")
    if n is not None and not pd.isna(n):
        parts.append(f"n={int(n)}")
    return f"{label} ({', '.join(parts)})" if parts else label


def _sections(results: dict) -> dict:
    return results["sections"] if "sections" in results else results


def forest_rows(results: dict, evidence: pd.DataFrame) -> pd.DataFrame:
    """The rows of the forest plot: this build's estimates and the published ones.

    Parameters
    ----------
    results : the ``results.json`` dictionary of this build (or its ``sections``).
    evidence : the loaded evidence table (:func:`load`).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`FOREST_COLUMNS`, ordered by group (:data:`GROUPS`) and, within a
        group, by the order of the evidence file. ``estimate``, ``ci_low`` and ``ci_high``
        are a **change in HbA1c, percentage points, negative = fell** (for controlled
        rows: MSC minus control, negative = lower with MSC):

        * this book's ``overall``, ``moderate`` and ``severe`` sections: change =
          ``-mean_reduction`` and CI = ``-ci95_high`` to ``-ci95_low`` (results.json
          reports the reduction, baseline minus post); a section that is not estimable
          has NaN and its reason in ``note``;
        * a source that reports a reduction as positive (``sign_convention`` 'positive =
          fell') is flipped, CI ends swapped, ``sign_flipped`` True (its flag stays in
          ``flags``);
        * only headline rows with a percentage-point estimate are plotted; see
          :func:`excluded_rows` for the others and why (SMDs are never on this axis).

        ``has_ci`` is False for a point without a published 95 % CI.
    """
    sections = _sections(results)
    out: list[dict[str, Any]] = []
    for section in SEVERITY_SECTIONS:
        words = SECTIONS[section].label.lower()  # "all patients", "moderate group", ...
        if section not in sections:
            raise KeyError(f"results has no section {section!r}")
        s = sections[section]
        ok = bool(s.get("estimable")) and s.get("mean_reduction") is not None
        has_ci = ok and s.get("ci95_low") is not None and s.get("ci95_high") is not None
        out.append({
            "block": BLOCK_TITLES[False], "group": GROUP_BOOK,
            "label": _with_size(f"This book, {words}", s.get("n"), None),
            "estimate": -float(s["mean_reduction"]) if ok else math.nan,
            "ci_low": -float(s["ci95_high"]) if has_ci else math.nan,
            "ci_high": -float(s["ci95_low"]) if has_ci else math.nan,
            "has_ci": has_ci, "controlled": False, "sign_flipped": False, "flags": "",
            "row_id": f"book_{section}", "citation_key": "", "n": s.get("n"), "k_studies": None,
            "note": "" if ok else (s.get("reason") or "not estimable"),
        })
    for _, row in evidence.iterrows():
        group, _reason = _group_of(row)
        if group is None:
            continue
        est, lo, hi = float(row["estimate"]), float(row["ci_low"]), float(row["ci_high"])
        flipped = row["sign_convention"] == POSITIVE_FELL
        if flipped:
            est, lo, hi = -est, -hi, -lo
        out.append({
            "block": BLOCK_TITLES[GROUPS[group]], "group": group,
            "label": _with_size(row["label"], row["n"], row["k_studies"]),
            "estimate": est, "ci_low": lo, "ci_high": hi,
            "has_ci": not (math.isnan(lo) or math.isnan(hi)), "controlled": GROUPS[group],
            "sign_flipped": flipped, "flags": row["flags"], "row_id": row["row_id"],
            "citation_key": row["citation_key"],
            "n": None if pd.isna(row["n"]) else int(row["n"]),
            "k_studies": None if pd.isna(row["k_studies"]) else int(row["k_studies"]),
            "note": "",
        })
    frame = pd.DataFrame(out, columns=FOREST_COLUMNS)
    order = {g: i for i, g in enumerate(GROUPS)}
    frame["_order"] = frame["group"].map(order)
    frame = frame.sort_values("_order", kind="stable").drop(columns="_order").reset_index(drop=True)
    return frame


def excluded_rows(evidence: pd.DataFrame) -> pd.DataFrame:
    """Evidence rows the forest plot leaves out, each with the reason (columns row_id,
    label, reason), in file order."""
    out = []
    for _, row in evidence.iterrows():
        group, reason = _group_of(row)
        if group is None:
            out.append({"row_id": row["row_id"], "label": row["label"], "reason": reason})
    return pd.DataFrame(out, columns=["row_id", "label", "reason"])


# --------------------------------------------------------------------------------------
# Summaries for the prose
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupRange(TidyResult):
    """Range of the plotted estimates of one forest group (percentage points, negative = fell).

    change_min is the most negative (largest fall), change_max the least negative.
    """

    group: str
    estimable: bool
    reason: str | None
    n_estimates: int
    change_min: float | None
    change_max: float | None


def group_range(rows: pd.DataFrame, group: str) -> GroupRange:
    """The lowest and highest estimate of a forest group (rows from :func:`forest_rows`)."""
    values = rows.loc[rows["group"] == group, "estimate"].astype(float).dropna()
    if values.empty:
        return GroupRange(group, False, f"no estimate in the group '{group}'", 0, None, None)
    return GroupRange(group, True, None, int(values.size), float(values.min()), float(values.max()))


@dataclass(frozen=True)
class BookComparison(TidyResult):
    """This build's change beside the estimates of one forest group.

    All values in percentage points, negative = fell. ``difference_*`` = book change
    minus a comparator (negative: HbA1c fell more in this book); ``ratio_*`` = book
    change / comparator, only when every comparator has the sign of the book change
    (else None and ``ratio_note`` says why). min/max are over the comparators.
    """

    section: str
    group: str
    estimable: bool
    reason: str | None
    book_change: float | None
    book_ci95_low: float | None
    book_ci95_high: float | None
    n_comparators: int
    comparator_min: float | None
    comparator_max: float | None
    difference_min: float | None
    difference_max: float | None
    ratio_min: float | None
    ratio_max: float | None
    ratio_note: str | None


def _book_point(rows: pd.DataFrame, section: str) -> tuple[float | None, float | None, float | None, str]:
    """This build's change in ``section`` from the forest rows: (change, CI low, CI high, note),
    None where there is no value."""
    book = rows[rows["row_id"] == f"book_{section}"]
    if book.empty:
        raise KeyError(f"no row for section {section!r} in the forest rows")
    b = book.iloc[0]
    plain = lambda x: None if math.isnan(x) else float(x)  # noqa: E731
    return plain(b["estimate"]), plain(b["ci_low"]), plain(b["ci_high"]), str(b["note"])


def compare_book(rows: pd.DataFrame, group: str, section: str = "overall") -> BookComparison:
    """Compare this build's change in one section with a forest group (rows of :func:`forest_rows`).

    A difference of two changes from different studies is descriptive: the populations,
    follow-up times and co-treatments differ, so it is not an estimate of a treatment effect.
    """
    change, lo, hi, note = _book_point(rows, section)
    comp = rows.loc[rows["group"] == group, "estimate"].astype(float).dropna().to_numpy()
    empty = dict(n_comparators=int(comp.size), comparator_min=None, comparator_max=None, difference_min=None,
                 difference_max=None, ratio_min=None, ratio_max=None, ratio_note=None)
    if change is None:
        return BookComparison(section, group, False, f"this book's {section} change is not estimable: {note}",
                              None, None, None, **empty)
    if comp.size == 0:
        return BookComparison(section, group, False, f"no estimate in the group '{group}'",
                              change, lo, hi, **empty)
    differences = change - comp
    same_sign = change != 0 and bool(np.all(np.sign(comp) == np.sign(change)))
    ratios = change / comp if same_sign else None
    note = None if same_sign else "a ratio needs comparators with the same sign as this book's change"
    return BookComparison(
        section, group, True, None, change, lo, hi, int(comp.size), float(comp.min()), float(comp.max()),
        float(differences.min()), float(differences.max()),
        float(ratios.min()) if ratios is not None else None,
        float(ratios.max()) if ratios is not None else None, note,
    )


@dataclass(frozen=True)
class SourceGap(TidyResult):
    """One meta-analysis that reports both a controlled and an uncontrolled pooled estimate.

    Percentage points, negative = fell. ``gap`` = uncontrolled change minus controlled
    difference (the part of the before/after change that the control arm also showed,
    or that the two analyses' different study sets produce); ``controlled_share`` =
    controlled / uncontrolled. Both are approximate, since the two estimates come from
    separate poolings (``reason`` says so when the gap is estimable): an exact split
    needs the MSC arms' before/after changes and the controlled differences pooled
    within one meta-analysis, trial by trial.
    """

    citation_key: str
    estimable: bool
    reason: str | None
    controlled_difference: float | None
    controlled_ci95_low: float | None
    controlled_ci95_high: float | None
    uncontrolled_change: float | None
    uncontrolled_ci95_low: float | None
    uncontrolled_ci95_high: float | None
    gap: float | None
    controlled_share: float | None


def _first(rows: pd.DataFrame) -> tuple[float | None, float | None, float | None]:
    if rows.empty:
        return None, None, None
    r = rows.iloc[0]
    plain = lambda x: None if math.isnan(x) else float(x)  # noqa: E731
    return plain(r["estimate"]), plain(r["ci_low"]), plain(r["ci_high"])


#: The meta-analysis that reports, on its own trials, both a pooled difference against
#: control and a pooled before/after change of the MSC arms (the chapter cites it by this key).
BOTH_POOLED_SOURCE = "pmid33705413"


def same_source_gap(rows: pd.DataFrame, citation_key: str = BOTH_POOLED_SOURCE) -> SourceGap:
    """Controlled vs uncontrolled pooled estimate of the same meta-analysis (forest rows);
    by default the one the chapter states, :data:`BOTH_POOLED_SOURCE`."""
    mine = rows[rows["citation_key"] == citation_key]
    c = _first(mine[mine["group"] == GROUP_POOLED_CONTROLLED])
    u = _first(mine[mine["group"] == GROUP_POOLED_UNCONTROLLED])
    if c[0] is None or u[0] is None:
        return SourceGap(citation_key, False, f"{citation_key} does not report both a controlled and an "
                         "uncontrolled pooled estimate", *c, *u, None, None)
    share = c[0] / u[0] if u[0] != 0 else None
    note = ("Approximate: the two estimates were pooled separately, each with its own study weights (and "
            "perhaps over different trials), so their difference and ratio are not an estimate from one "
            "meta-analysis.")
    return SourceGap(citation_key, True, note, *c, *u, u[0] - c[0], share)


@dataclass(frozen=True)
class StatedVersusMeans(TidyResult):
    """A stated change beside the difference of the reported mean levels (percentage points).

    ``discrepancy`` = stated change minus the difference of the means; ``flagged`` says
    whether the row carries ``reported_change_differs_from_means``.
    """

    row_id: str
    estimable: bool
    reason: str | None
    stated_change: float | None
    baseline_mean: float | None
    followup_mean: float | None
    difference_of_means: float | None
    discrepancy: float | None
    flagged: bool


def stated_versus_means(evidence: pd.DataFrame, row_id: str) -> StatedVersusMeans:
    """Compare a row's stated change with followup_value - baseline_value (mean levels only)."""
    found = evidence[evidence["row_id"] == row_id]
    if found.empty:
        raise KeyError(f"no evidence row {row_id!r}")
    r = found.iloc[0]
    flagged = "reported_change_differs_from_means" in flags_of(r["flags"])
    values = [r["estimate"], r["baseline_value"], r["followup_value"]]
    if any(pd.isna(v) for v in values) or not r["level_statistic"].startswith("mean"):
        return StatedVersusMeans(row_id, False, "the row lacks a stated change or a mean level",
                                 None, None, None, None, None, flagged)
    stated = -float(r["estimate"]) if r["sign_convention"] == POSITIVE_FELL else float(r["estimate"])
    diff = float(r["followup_value"]) - float(r["baseline_value"])
    return StatedVersusMeans(row_id, True, None, stated, float(r["baseline_value"]),
                             float(r["followup_value"]), diff, stated - diff, flagged)


def value(evidence: pd.DataFrame, row_id: str, column: str = "estimate") -> float | None:
    """One number of one row (None when the source gives none), for the prose."""
    found = evidence.loc[evidence["row_id"] == row_id, column]
    if found.empty:
        raise KeyError(f"no evidence row {row_id!r}")
    v = found.iloc[0]
    return None if pd.isna(v) else float(v)


_R_SQUARED = re.compile(r"\bR(?:2|²|\^2)\s*=\s*([0-9]*\.?[0-9]+)")


def reported_r_squared(evidence: pd.DataFrame, row_id: str) -> float | None:
    """The R² a row's source reports, as written in its notes ("R2 = 0.19"); None when the
    notes give none."""
    found = evidence.loc[evidence["row_id"] == row_id, "notes"]
    if found.empty:
        raise KeyError(f"no evidence row {row_id!r}")
    match = _R_SQUARED.search(str(found.iloc[0]))
    return float(match.group(1)) if match else None


# --------------------------------------------------------------------------------------
# Selections for the chapter's tables
# --------------------------------------------------------------------------------------


def flagged_rows(evidence: pd.DataFrame) -> pd.DataFrame:
    """The rows that carry at least one flag, in file order (all columns of the table)."""
    return evidence[evidence["flags"] != ""]


def missing_items(row: pd.Series) -> list[str]:
    """What a row of a change or difference measure does not report: its estimate (or,
    when there is one, its 95 % CI or spread), its n, and, for a study arm (not a pooled
    estimate), its baseline and follow-up levels."""
    missing = []
    if pd.isna(row["estimate"]):
        missing.append("estimate")
    elif pd.isna(row["ci_low"]) and row["spread_type"] == "":
        missing.append("95% CI or spread")
    if pd.isna(row["n"]):
        missing.append("n")
    if row["measure"] == "change_percent" and row["arm"] != "pooled before/after" and row["arm"] != "pooled placebo":
        if pd.isna(row["baseline_value"]):
            missing.append("baseline level")
        if pd.isna(row["followup_value"]):
            missing.append("follow-up level")
    return missing


def unreported_rows(evidence: pd.DataFrame) -> pd.DataFrame:
    """Rows of a change or difference in percentage points whose estimate the source does not
    give, in file order, with a column ``missing``: what each lacks (:func:`missing_items`)."""
    rows = evidence[evidence["measure"].isin(PERCENT_MEASURES) & evidence["estimate"].isna()]
    return rows.assign(missing=[missing_items(r) for _, r in rows.iterrows()])


def n_plotted(rows: pd.DataFrame) -> int:
    """How many published estimates the forest plot shows (rows of :func:`forest_rows` other
    than this book's)."""
    return int((rows["group"] != GROUP_BOOK).sum())


# --------------------------------------------------------------------------------------
# What the evidence chapter states, by meaning
# --------------------------------------------------------------------------------------

#: The forest groups the chapter sets this build's change beside, by the name its prose
#: uses (:func:`book_comparisons`).
BOOK_COMPARISONS: dict[str, str] = {
    "rct_placebo": GROUP_RCT_PLACEBO,                  # the placebo arms of the randomized MSC trials
    "drug_placebo": GROUP_DRUG_PLACEBO,                # the pooled placebo arms of drug trials
    "pooled_controlled": GROUP_POOLED_CONTROLLED,      # meta-analyses: MSC minus control
    "pooled_uncontrolled": GROUP_POOLED_UNCONTROLLED,  # meta-analyses: MSC arms before/after
    "rct_msc": GROUP_RCT_MSC,                          # the MSC arms of the randomized trials
}


def book_comparisons(rows: pd.DataFrame, section: str = "overall") -> dict[str, BookComparison]:
    """This build's change beside each of :data:`BOOK_COMPARISONS` (:func:`compare_book`)."""
    return {name: compare_book(rows, group, section) for name, group in BOOK_COMPARISONS.items()}


@dataclass(frozen=True)
class CitedRow:
    """A row of the evidence table that the chapter quotes, and what the row must be for the
    chapter's sentence to stay true: its arm and measure, the flags the sentence speaks of,
    and the kind of spread it names (None: not named)."""

    row_id: str
    arm: str
    measure: str
    meaning: str
    flags: tuple[str, ...] = ()
    spread_type: str | None = None


#: The rows the chapter quotes, by the name its prose uses (``ev_<name>``, ``ev_<name>_low``,
#: ...). The one place where the chapter's sentences meet the row ids of evidence.csv.
CITED_ROWS: dict[str, CitedRow] = {
    "rct_placebo_early": CitedRow(
        "zang2023_placebo_9wk", "placebo", "change_percent",
        "the change in the placebo arm of a randomized MSC trial at an early time point (9 weeks)"),
    "drug_placebo_pooled": CitedRow(
        "lin2020_t2dm", "pooled placebo", "change_percent",
        "the pooled change in the placebo arms of randomized drug trials in type 2 diabetes"),
    "drug_placebo_injected": CitedRow(
        "lin2020_injectable", "pooled placebo", "change_percent",
        "the pooled change in the placebo arms of drug trials with an injected placebo"),
    "drug_placebo_oral": CitedRow(
        "lin2020_oral", "pooled placebo", "change_percent",
        "the pooled change in the placebo arms of drug trials with an oral placebo"),
    "rct_placebo_adjusted": CitedRow(
        "skyler2015_msc_2_0", "MSC vs placebo", "mean_difference_percent",
        "the placebo-adjusted difference of the randomized trial of an intravenous bone-marrow cell "
        "product in type 2 diabetes, with its SE",
        flags=("attribution_inferred",), spread_type="SE"),
    "t2dm_pooled_smd": CitedRow(
        "ranjbaran2021_prepost", "pooled before/after", "smd",
        "the only pooled estimate restricted to type 2 diabetes: standardised, before against after"),
    "sign_reversed_pooled": CitedRow(
        "habiba2024_prepost", "pooled before/after", "change_percent",
        "a pooled before/after change that the source reports as a positive reduction",
        flags=("sign_reversed_in_source",)),
    "paper_overall": CitedRow(
        "matsuoka2025_overall", "published (this paper)", "change_percent",
        "the paper's own overall change, derived from its two published means",
        flags=("derived_not_published",)),
    "disagreeing_msc_arm": CitedRow(
        "zang2022_msc", "MSC", "change_percent",
        "the MSC arm of a randomized trial whose stated change disagrees with its reported means",
        flags=("reported_change_differs_from_means",)),
    "disagreeing_placebo_arm": CitedRow(
        "zang2022_placebo", "placebo", "change_percent",
        "the placebo arm of the same trial, whose stated change also disagrees with its means",
        flags=("reported_change_differs_from_means",)),
    "usual_care_drift": CitedRow(
        "oke_drift", "anchor", "drift_percent_per_6_months",
        "the drift of HbA1c under usual care in type 2 diabetes without insulin"),
    "baseline_slope": CitedRow(
        "baselinehba1c2016_slope", "anchor", "baseline_slope",
        "the change per point of higher baseline HbA1c with an active drug"),
    "regressed_at_retest": CitedRow(
        "schmidt2021_unadjusted", "anchor", "proportion_percent",
        "the share of newly ascertained diabetes that 'regressed' at retest"),
    "regressed_rtm_adjusted": CitedRow(
        "schmidt2021_adjusted", "anchor", "proportion_percent",
        "the same share after adjustment for regression to the mean"),
}

#: The cited rows whose stated change the chapter sets beside their reported means.
DISAGREEING_ARMS = ("disagreeing_msc_arm", "disagreeing_placebo_arm")


def _cited_row_problems(evidence: pd.DataFrame, name: str) -> list[str]:
    cited = CITED_ROWS[name]
    where = f"evidence: {name} ({cited.meaning})"
    found = evidence[evidence["row_id"] == cited.row_id]
    if found.empty:
        return [f"{where}: no row {cited.row_id!r} in the table"]
    row = found.iloc[0]
    problems = []
    if (row["arm"], row["measure"]) != (cited.arm, cited.measure):
        problems.append(f"{where}: row {cited.row_id!r} is arm {row['arm']!r} with measure {row['measure']!r}, "
                        f"not arm {cited.arm!r} with measure {cited.measure!r}")
    lacking = [f for f in cited.flags if f not in flags_of(row["flags"])]
    if lacking:
        problems.append(f"{where}: row {cited.row_id!r} lacks the flag(s) {', '.join(lacking)}")
    if cited.spread_type is not None and row["spread_type"] != cited.spread_type:
        problems.append(f"{where}: row {cited.row_id!r} has spread {row['spread_type'] or 'none'!r}, "
                        f"not {cited.spread_type!r}")
    return problems


def check_cited_rows(evidence: pd.DataFrame) -> list[str]:
    """Every cited row (:data:`CITED_ROWS`) that is missing from the table or is no longer
    what the chapter says it is, one line each naming the name, its meaning and the row.
    Empty when the chapter's sentences still hold."""
    return [problem for name in CITED_ROWS for problem in _cited_row_problems(evidence, name)]


@dataclass(frozen=True)
class CitedFigure(TidyResult):
    """The numbers of one cited row, as published (in the source's sign convention): the
    estimate, its 95 % CI, its SD or SE (``spread``), participants and studies pooled."""

    name: str
    row_id: str
    citation_key: str
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    spread: float | None
    n: int | None
    k_studies: int | None


def cited_figure(evidence: pd.DataFrame, name: str) -> CitedFigure:
    """The row the chapter quotes as ``name`` (:data:`CITED_ROWS`).

    Raises
    ------
    KeyError
        ``name`` is not one of :data:`CITED_ROWS`.
    EvidenceError
        The row is missing, or is no longer what the chapter says (:func:`check_cited_rows`).
    """
    if name not in CITED_ROWS:
        raise KeyError(f"no cited evidence row named {name!r} (known: {', '.join(CITED_ROWS)})")
    cited = CITED_ROWS[name]
    problems = _cited_row_problems(evidence, name)
    if problems:
        raise EvidenceError(problems)
    row = evidence[evidence["row_id"] == cited.row_id].iloc[0]
    count = lambda x: None if pd.isna(x) else int(x)  # noqa: E731
    return CitedFigure(name, cited.row_id, row["citation_key"], value(evidence, cited.row_id),
                       value(evidence, cited.row_id, "ci_low"), value(evidence, cited.row_id, "ci_high"),
                       value(evidence, cited.row_id, "spread"), count(row["n"]), count(row["k_studies"]))


def cited_figures(evidence: pd.DataFrame) -> dict[str, CitedFigure]:
    """Every row the chapter quotes, by name (:func:`cited_figure`); one error lists every
    cited row that is missing or changed."""
    problems = check_cited_rows(evidence)
    if problems:
        raise EvidenceError(problems)
    return {name: cited_figure(evidence, name) for name in CITED_ROWS}


def disagreements(evidence: pd.DataFrame) -> dict[str, StatedVersusMeans]:
    """The stated change beside the difference of the reported means, for each of
    :data:`DISAGREEING_ARMS` (:func:`stated_versus_means`)."""
    return {name: stated_versus_means(evidence, cited_figure(evidence, name).row_id) for name in DISAGREEING_ARMS}


@dataclass(frozen=True)
class EvidenceSummary:
    """Everything the evidence chapter states in words, from this build's forest rows and the
    evidence table (percentage points, negative = fell, unless a cited row's own measure
    says otherwise).

    n_rows, n_plotted : rows of the table; published estimates in the forest plot.
    book_change, book_ci95_low, book_ci95_high : this build's change in ``section`` and its
        95 % CI (None when not estimable).
    comparisons : :data:`BOOK_COMPARISONS` name -> :class:`BookComparison`.
    cited : :data:`CITED_ROWS` name -> :class:`CitedFigure`.
    same_source : the gap within :data:`BOTH_POOLED_SOURCE` (:class:`SourceGap`).
    disagreements : :data:`DISAGREEING_ARMS` name -> :class:`StatedVersusMeans`.
    """

    section: str
    n_rows: int
    n_plotted: int
    book_change: float | None
    book_ci95_low: float | None
    book_ci95_high: float | None
    comparisons: dict[str, BookComparison]
    cited: dict[str, CitedFigure]
    same_source: SourceGap
    disagreements: dict[str, StatedVersusMeans]


def summarise(rows: pd.DataFrame, evidence: pd.DataFrame, section: str = "overall") -> EvidenceSummary:
    """What the evidence chapter states (:class:`EvidenceSummary`), computed once.

    Parameters
    ----------
    rows : the forest rows of this build (:func:`forest_rows`).
    evidence : the loaded evidence table.
    section : this build's section set beside the published evidence.

    Raises
    ------
    EvidenceError
        A row the chapter quotes is missing or changed (:func:`check_cited_rows`).
    """
    change, low, high, _ = _book_point(rows, section)
    return EvidenceSummary(
        section=section, n_rows=len(evidence), n_plotted=n_plotted(rows),
        book_change=change, book_ci95_low=low, book_ci95_high=high,
        comparisons=book_comparisons(rows, section), cited=cited_figures(evidence),
        same_source=same_source_gap(rows), disagreements=disagreements(evidence),
    )

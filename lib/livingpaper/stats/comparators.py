"""Computations on the evidence table: the forest plot's rows on one sign convention, the
ranges and comparisons the evidence chapter states."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

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

_BOOK_SECTIONS = {"overall": "all patients", "moderate": "moderate group", "severe": "severe group"}

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
    for section, words in _BOOK_SECTIONS.items():
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


def compare_book(rows: pd.DataFrame, group: str, section: str = "overall") -> BookComparison:
    """Compare this build's change in one section with a forest group (rows of :func:`forest_rows`).

    A difference of two changes from different studies is descriptive: the populations,
    follow-up times and co-treatments differ, so it is not an estimate of a treatment effect.
    """
    book = rows[rows["row_id"] == f"book_{section}"]
    if book.empty:
        raise KeyError(f"no row for section {section!r} in the forest rows")
    b = book.iloc[0]
    comp = rows.loc[rows["group"] == group, "estimate"].astype(float).dropna().to_numpy()
    empty = dict(n_comparators=int(comp.size), comparator_min=None, comparator_max=None, difference_min=None,
                 difference_max=None, ratio_min=None, ratio_max=None, ratio_note=None)
    if math.isnan(b["estimate"]):
        return BookComparison(section, group, False, f"this book's {section} change is not estimable: {b['note']}",
                              None, None, None, **empty)
    lo = None if math.isnan(b["ci_low"]) else float(b["ci_low"])
    hi = None if math.isnan(b["ci_high"]) else float(b["ci_high"])
    if comp.size == 0:
        return BookComparison(section, group, False, f"no estimate in the group '{group}'",
                              float(b["estimate"]), lo, hi, **empty)
    change = float(b["estimate"])
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


def same_source_gap(rows: pd.DataFrame, citation_key: str) -> SourceGap:
    """Controlled vs uncontrolled pooled estimate of the same meta-analysis (forest rows)."""
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

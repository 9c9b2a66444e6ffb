"""The evidence chapter's tables and the numbers its prose pastes, from the evidence table
and what :mod:`livingpaper.stats.comparators` selected and computed from it (nothing is
selected or computed here)."""
from __future__ import annotations

import math
from typing import Any

import pandas as pd

from livingpaper.formatting import MISSING, compact, minus
from livingpaper.inputs.evidence import FLAG_SHORT, RtmAnchors, flags_of
from livingpaper.present.markdown import escape, markdown_table
from livingpaper.stats.comparators import EvidenceSummary

# --------------------------------------------------------------------------------------
# Tables for the chapter (MyST Markdown)
# --------------------------------------------------------------------------------------


def _published(row: pd.Series, column: str) -> str:
    """A number of a row as written in the file (typographic minus), or '–' when empty."""
    text = row.get(f"{column}_text")
    if isinstance(text, str):
        return minus(text) if text else MISSING
    return compact(row[column])


def _estimate_text(row: pd.Series) -> str:
    if pd.isna(row["estimate"]):
        return "not reported"
    text = _published(row, "estimate")
    if not pd.isna(row["ci_low"]):
        text += f" ({_published(row, 'ci_low')} to {_published(row, 'ci_high')})"
    elif row["spread_type"] in ("SD", "SE"):
        text += f" ({row['spread_type']} {_published(row, 'spread')})"
    elif row["spread_type"] in ("IQR", "range"):
        text += f" ({row['spread_type']} {_published(row, 'spread_low')} to {_published(row, 'spread_high')})"
    return text


def _levels_text(row: pd.Series) -> str:
    if pd.isna(row["baseline_value"]) and pd.isna(row["followup_value"]):
        return "–"
    return f"{_published(row, 'baseline_value')} → {_published(row, 'followup_value')} ({row['level_statistic']})"


def _table(frame: pd.DataFrame, raw_columns: tuple[str, ...] = ()) -> str:
    """A Markdown table; every cell escaped except those of ``raw_columns`` (MyST roles)."""
    shown = frame.copy()
    for column in shown.columns:
        if column not in raw_columns:
            shown[column] = shown[column].map(escape)
    return markdown_table(shown, escape_cells=False, numeric=False)


def _cite(key: str) -> str:
    return "{cite:t}`" + key + "`" if key else ""


def evidence_table(rows: pd.DataFrame) -> str:
    """Rows of the evidence table, in their order, as a Markdown table.

    Numbers are shown as published (in the source's sign convention: see the column
    "Sign"); flags are listed by name (data/evidence.md explains each); the column
    "Source" cites the row's source (a ``{cite:t}`` role, resolved by the book's bibliography).
    """
    frame = pd.DataFrame({
        "Row": rows["row_id"],
        "Study, arm": rows["label"],
        "Source": [_cite(k) for k in rows["citation_key"]],
        "Design": rows["design"],
        "Measure": rows["measure"],
        "Estimate (95% CI or spread)": [_estimate_text(r) for _, r in rows.iterrows()],
        "Levels, %": [_levels_text(r) for _, r in rows.iterrows()],
        "Sign": rows["sign_convention"],
        "Flags": rows["flags"].str.replace(";", ", "),
        "Where in the source": rows["source_location"],
    })
    return _table(frame, raw_columns=("Source",))


def flags_table(rows: pd.DataFrame) -> str:
    """Flagged rows (:func:`livingpaper.stats.comparators.flagged_rows`): their flags in
    words and the note of each row (Markdown table)."""
    frame = pd.DataFrame({
        "Row": rows["row_id"],
        "Study, arm": rows["label"],
        "Flags": ["; ".join(FLAG_SHORT[f] for f in flags_of(v)) for v in rows["flags"]],
        "Note": rows["notes"],
    })
    return _table(frame)


def gaps_table(rows: pd.DataFrame) -> str:
    """Rows of change or difference measures whose estimate is missing
    (:func:`livingpaper.stats.comparators.unreported_rows`): what each lacks (its column
    ``missing``) and what it does report (Markdown table)."""
    frame = pd.DataFrame({
        "Row": rows["row_id"],
        "Study, arm": rows["label"],
        "Not reported": [", ".join(items) for items in rows["missing"]],
        "What there is": [_levels_text(r) for _, r in rows.iterrows()],
    })
    return _table(frame)


def excluded_table(excluded: pd.DataFrame) -> str:
    """Rows the forest plot leaves out, with the reason
    (:func:`livingpaper.stats.comparators.excluded_rows`; Markdown table)."""
    frame = excluded.rename(columns={"row_id": "Row", "label": "Study, arm", "reason": "Not plotted because"})
    return _table(frame)


# --------------------------------------------------------------------------------------
# Numbers for the prose ({glue:text})
# --------------------------------------------------------------------------------------

#: Fields of a book comparison that the prose may paste, as ``ev_<comparison>_<field>``.
COMPARISON_FIELDS = ("n_comparators", "comparator_min", "comparator_max", "difference_min", "difference_max",
                     "ratio_min", "ratio_max")


def _plain(value: Any) -> float | int:
    """A number as glue needs it: a plain int stays an int (pasted as "392"), anything else
    is a float, NaN where there is no value ({glue:text} formats NaN; it cannot format None)."""
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"not a number: {value!r}")
    return value if isinstance(value, int) else float(value)


def prose_values(results: dict[str, Any], summary: EvidenceSummary, anchors: RtmAnchors) -> dict[str, float | int]:
    """Every number the evidence chapter's prose pastes, by glue key, as plain Python numbers.

    Parameters
    ----------
    results : this build's ``results.json`` (the size and follow-up of the cohort).
    summary : what the chapter states (:func:`livingpaper.stats.comparators.summarise`).
    anchors : the regression-to-the-mean anchors (:func:`livingpaper.inputs.evidence.rtm_anchors`).

    Returns
    -------
    dict
        Glue key -> int (counts) or float (NaN where there is no value). The keys, by what
        they are (the names come from :mod:`livingpaper.stats.comparators`):

    * ``ev_book_n``, ``ev_followup_median``: patients of ``summary.section`` and the median
      follow-up of the cohort, months, from ``results``;
    * ``ev_n_rows``, ``ev_n_plotted``: rows of the table, published estimates in the figure;
    * ``ev_book_change``, ``ev_book_low``, ``ev_book_high``: this build's change and its 95 % CI;
    * ``ev_<comparison>_<field>`` for each of ``BOOK_COMPARISONS`` and :data:`COMPARISON_FIELDS`
      (``ev_rct_placebo_ratio_min``);
    * ``ev_<cited>`` (the estimate as published), ``ev_<cited>_low``, ``ev_<cited>_high``,
      ``ev_<cited>_spread``, ``ev_<cited>_n``, ``ev_<cited>_k`` for each of ``CITED_ROWS``
      (``ev_usual_care_drift_low``);
    * ``ev_same_controlled``, ``ev_same_uncontrolled``, ``ev_same_share``: the meta-analysis
      with both pooled estimates;
    * ``ev_<arm>_stated``, ``ev_<arm>_baseline``, ``ev_<arm>_followup``, ``ev_<arm>_means``
      for each of ``DISAGREEING_ARMS``;
    * ``ev_pop_mean``, ``ev_pop_sd``, ``ev_cv``, ``ev_within_sd``, ``ev_reliability``: the
      regression-to-the-mean anchors.
    """
    values: dict[str, float | int] = {}

    def put(key: str, value: Any) -> None:
        if key in values:
            raise ValueError(f"two numbers of the evidence chapter have the glue key {key!r}")
        values[key] = _plain(value)

    put("ev_book_n", results["sections"][summary.section]["n"])
    median = results["cohort"]["followup_median_months"]
    put("ev_followup_median", None if median is None else float(median))
    put("ev_n_rows", summary.n_rows)
    put("ev_n_plotted", summary.n_plotted)
    put("ev_book_change", summary.book_change)
    put("ev_book_low", summary.book_ci95_low)
    put("ev_book_high", summary.book_ci95_high)
    for name, comparison in summary.comparisons.items():
        for field in COMPARISON_FIELDS:
            put(f"ev_{name}_{field}", getattr(comparison, field))
    for name, figure in summary.cited.items():
        for suffix, field in (("", "estimate"), ("_low", "ci_low"), ("_high", "ci_high"), ("_spread", "spread"),
                              ("_n", "n"), ("_k", "k_studies")):
            put(f"ev_{name}{suffix}", getattr(figure, field))
    put("ev_same_controlled", summary.same_source.controlled_difference)
    put("ev_same_uncontrolled", summary.same_source.uncontrolled_change)
    put("ev_same_share", summary.same_source.controlled_share)
    for name, arm in summary.disagreements.items():
        for suffix, field in (("stated", "stated_change"), ("baseline", "baseline_mean"),
                              ("followup", "followup_mean"), ("means", "difference_of_means")):
            put(f"ev_{name}_{suffix}", getattr(arm, field))
    for key, field in (("ev_pop_mean", "population_mean_percent"), ("ev_pop_sd", "population_sd_percent"),
                       ("ev_cv", "within_person_cv"), ("ev_within_sd", "within_person_sd_percent"),
                       ("ev_reliability", "reliability")):
        put(key, getattr(anchors, field))
    return values

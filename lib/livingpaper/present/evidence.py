"""The evidence chapter's tables, from the evidence table and this build's results."""
from __future__ import annotations

from typing import Any, Iterable

import pandas as pd

from livingpaper.inputs.evidence import FLAG_SHORT, PERCENT_MEASURES, flags_of
from livingpaper.stats.comparators import excluded_rows

# --------------------------------------------------------------------------------------
# Tables for the chapter (MyST Markdown)
# --------------------------------------------------------------------------------------


def _number(x: Any) -> str:
    if x is None or pd.isna(x):
        return "–"
    text = f"{float(x):.3f}".rstrip("0").rstrip(".")
    return text.replace("-", "−")


def _published(row: pd.Series, column: str) -> str:
    """A number of a row as written in the file (typographic minus), or '–' when empty."""
    text = row.get(f"{column}_text")
    if isinstance(text, str):
        return text.replace("-", "−") if text else "–"
    return _number(row[column])


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
    from livingpaper.present.markdown import escape, markdown_table

    shown = frame.copy()
    for column in shown.columns:
        if column not in raw_columns:
            shown[column] = shown[column].map(escape)
    return markdown_table(shown, escape_cells=False, numeric=False)


def _cite(key: str) -> str:
    return "{cite:t}`" + key + "`" if key else ""


def evidence_table(evidence: pd.DataFrame, row_ids: Iterable[str] | None = None) -> str:
    """The evidence rows (all, or those in ``row_ids``, in file order) as a Markdown table.

    Numbers are shown as published (in the source's sign convention: see the column
    "Sign"); flags are listed by name (data/evidence.md explains each); the column
    "Source" cites the row's source (a ``{cite:t}`` role, resolved by the book's bibliography).
    """
    rows = evidence if row_ids is None else evidence[evidence["row_id"].isin(list(row_ids))]
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


def flags_table(evidence: pd.DataFrame) -> str:
    """Every flagged row: its flags in words and the note of the row (Markdown table)."""
    rows = evidence[evidence["flags"] != ""]
    frame = pd.DataFrame({
        "Row": rows["row_id"],
        "Study, arm": rows["label"],
        "Flags": ["; ".join(FLAG_SHORT[f] for f in flags_of(v)) for v in rows["flags"]],
        "Note": rows["notes"],
    })
    return _table(frame)


def missing_items(row: pd.Series) -> list[str]:
    """What a row of a change or difference measure does not report."""
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


def gaps_table(evidence: pd.DataFrame) -> str:
    """Rows of change or difference measures whose estimate is missing (Markdown table)."""
    rows = evidence[evidence["measure"].isin(PERCENT_MEASURES) & evidence["estimate"].isna()]
    frame = pd.DataFrame({
        "Row": rows["row_id"],
        "Study, arm": rows["label"],
        "Not reported": [", ".join(missing_items(r)) for _, r in rows.iterrows()],
        "What there is": [_levels_text(r) for _, r in rows.iterrows()],
    })
    return _table(frame)


def excluded_table(evidence: pd.DataFrame) -> str:
    """Rows the forest plot leaves out, with the reason (Markdown table)."""
    frame = excluded_rows(evidence).rename(columns={"row_id": "Row", "label": "Study, arm", "reason": "Not plotted because"})
    return _table(frame)

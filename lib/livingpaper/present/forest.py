"""Forest plot of HbA1c changes: this book's estimates among the published evidence.

:func:`forest_plot` draws the rows built by :func:`livingpaper.stats.comparators.forest_rows`
(one row per estimate, already on one sign convention: change in HbA1c, percentage
points, negative = fell). It reads nothing else, so the figure follows the evidence file
and this build's ``results.json``.

Layout, top to bottom: the before/after block (this book, MSC and placebo arms of trials,
pooled placebo arms of drug trials, pooled before/after of MSC arms), then the controlled
block on a grey band (MSC minus placebo or control). Circles are before/after changes,
squares controlled differences; a filled marker with a line has a published 95 % CI, a
hollow marker has none. Letters in brackets after a label point to the flags listed under
the plot (``abstract_only`` is not marked: almost every value comes from an abstract).
"""
from __future__ import annotations

import math
import textwrap

import matplotlib as mpl
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MultipleLocator

from livingpaper.formatting import points, points_span
from livingpaper.inputs import evidence
from livingpaper.present.figures import PRINT_RCPARAMS, STYLE
from livingpaper.stats import comparators

X_LABEL = "Change in HbA1c (percentage points)"

#: Okabe-Ito colour of each group; the shape (circle / square) carries controlled or not.
GROUP_COLOURS: dict[str, str] = {
    comparators.GROUP_BOOK: STYLE["black"],
    comparators.GROUP_RCT_MSC: STYLE["blue"],
    comparators.GROUP_SINGLE_ARM: STYLE["sky_blue"],
    comparators.GROUP_RCT_PLACEBO: STYLE["orange"],
    comparators.GROUP_DRUG_PLACEBO: STYLE["reddish_purple"],
    comparators.GROUP_POOLED_UNCONTROLLED: STYLE["sky_blue"],
    comparators.GROUP_RCT_CONTRAST: STYLE["bluish_green"],
    comparators.GROUP_POOLED_CONTROLLED: STYLE["bluish_green"],
}

#: Flags marked in the figure, in the order their letters are given.
MARKED_FLAGS = tuple(f for f in evidence.FLAGS if f != "abstract_only")

_WIDTH = 6.5  # inches: a full journal text width
_DPI = 150
_LINE_IN = 0.215  # height of one label line, inches
_NOTE_LINE_IN = 0.165
_BAND = "#EFEFEF"
_ZERO = "#8C8C8C"
_NOTE_WRAP = 105  # characters per footnote line at 8 pt over 6.5 in


def _value_text(row: pd.Series) -> str:
    if math.isnan(row["estimate"]):
        return "not estimable"
    text = points(row["estimate"])
    if row["has_ci"]:
        text += f" ({points_span(row['ci_low'], row['ci_high'])})"
    else:
        text += " (no CI)"
    return text


def _layout(rows: pd.DataFrame) -> list[tuple[str, object]]:
    """Lines of the plot, top to bottom: ("block", title), ("group", group), ("row", index)."""
    lines: list[tuple[str, object]] = []
    for controlled in (False, True):
        groups = [g for g, c in comparators.GROUPS.items() if c == controlled and (rows["group"] == g).any()]
        if not groups:
            continue
        lines.append(("block", comparators.BLOCK_TITLES[controlled]))
        for group in groups:
            lines.append(("group", group))
            lines += [("row", i) for i in rows.index[rows["group"] == group]]
    return lines


def _letters(rows: pd.DataFrame) -> dict[str, str]:
    present = {f for v in rows["flags"] for f in evidence.flags_of(v)}
    marked = [f for f in MARKED_FLAGS if f in present]
    return {flag: "abcdefghijklmnopqrstuvwxyz"[i] for i, flag in enumerate(marked)}


def _x_limits(rows: pd.DataFrame) -> tuple[float, float]:
    values = pd.concat([rows["estimate"], rows["ci_low"], rows["ci_high"]]).astype(float).dropna()
    lo, hi = min(0.0, float(values.min()) if len(values) else -1.0), max(0.0, float(values.max()) if len(values) else 0.5)
    pad = 0.06 * (hi - lo if hi > lo else 1.0)
    lo, hi = lo - pad, hi + pad
    # Round outwards to a quarter point so that the ticks fall on round values.
    return math.floor(lo * 4) / 4, math.ceil(hi * 4) / 4


def forest_plot(rows: pd.DataFrame, title: str | None = None) -> Figure:
    """Forest-style plot of HbA1c changes and differences, grouped by kind of evidence.

    Parameters
    ----------
    rows : pandas.DataFrame
        Rows from :func:`livingpaper.stats.comparators.forest_rows` (columns group, label,
        estimate, ci_low, ci_high, has_ci, controlled, flags, row_id): percentage points
        of HbA1c, negative = fell.
    title : optional title above the plot.

    Returns
    -------
    matplotlib.figure.Figure
        6.5 inches wide, its height growing with the number of rows. Each point has the
        gid ``point:<row_id>`` and each CI line ``ci:<row_id>`` (tests and readers of the
        SVG can find them); the line at zero has the gid ``zero``. Deterministic: the same
        rows give the same image.
    """
    needed = ["group", "label", "estimate", "ci_low", "ci_high", "has_ci", "controlled", "flags", "row_id"]
    missing = [c for c in needed if c not in rows.columns]
    if missing:
        raise KeyError(f"forest rows miss column(s): {', '.join(missing)}")
    rows = rows.reset_index(drop=True)
    unknown = sorted(set(rows["group"]) - set(comparators.GROUPS))
    if unknown:
        raise ValueError(f"unknown forest group(s): {', '.join(unknown)}")

    with mpl.rc_context(PRINT_RCPARAMS):
        lines = _layout(rows)
        letters = _letters(rows)
        note_lines = _footnote(letters)
        plot_h = max(1.2, _LINE_IN * max(len(lines), 1) + 0.75)
        note_h = 0.32 + _NOTE_LINE_IN * len(note_lines)
        # Created through pyplot (loads the session's backend, so glue() stores a PNG), then
        # released from pyplot at once: the caller owns the figure (as in figures.py).
        fig = plt.figure(figsize=(_WIDTH, plot_h + note_h), dpi=_DPI, layout="constrained")
        plt.close(fig)
        # Two subfigures: the footnote spans the full width, independent of the plot's
        # label column (constrained layout would otherwise align it with the axes).
        top_fig, note_fig = fig.subfigures(2, 1, height_ratios=[plot_h, note_h])
        ax = top_fig.add_subplot()
        note_ax = note_fig.add_subplot()
        note_ax.set_axis_off()
        ax.spines[["top", "right", "left"]].set_visible(False)

        if not lines:
            ax.set_axis_off()
            ax.text(0.5, 0.5, "No estimates to show", transform=ax.transAxes, ha="center", va="center")
            return fig

        top = len(lines) - 1
        y_of = {i: top - k for k, i in enumerate(range(len(lines)))}
        ticks, labels, styles, values = [], [], [], []
        band_rows: list[float] = []
        for k, (kind, item) in enumerate(lines):
            y = y_of[k]
            ticks.append(y)
            if kind == "block":
                labels.append(str(item))
                styles.append("block")
                values.append("")
                if item == comparators.BLOCK_TITLES[True]:
                    band_rows.append(y)
                continue
            if kind == "group":
                labels.append(comparators.GROUP_TITLES[str(item)])
                styles.append("group")
                values.append("")
                if comparators.GROUPS[str(item)]:
                    band_rows.append(y)
                continue
            row = rows.loc[item]
            marks = [letters[f] for f in evidence.flags_of(row["flags"]) if f in letters]
            labels.append(str(row["label"]) + (f" [{','.join(marks)}]" if marks else ""))
            styles.append("row")
            values.append(_value_text(row))
            if row["controlled"]:
                band_rows.append(y)
            _draw_row(ax, row, y)

        if band_rows:
            ax.axhspan(min(band_rows) - 0.5, max(band_rows) + 0.5, color=_BAND, zorder=0, lw=0)
        ax.axvline(0, color=_ZERO, lw=0.9, zorder=1, gid="zero")
        ax.set_ylim(-0.6, top + 0.6)
        x_lo, x_hi = _x_limits(rows)
        ax.set_xlim(x_lo, x_hi)
        # About four to six ticks in the narrow plot column.
        ax.xaxis.set_major_locator(MultipleLocator(0.5 if x_hi - x_lo <= 2.5 else 1.0))
        ax.set_yticks(ticks, labels)
        ax.tick_params(axis="y", length=0)
        for tick, style in zip(ax.get_yticklabels(), styles):
            if style == "block":
                tick.set_fontweight("bold")
                tick.set_fontsize(PRINT_RCPARAMS["axes.labelsize"])
            elif style == "group":
                tick.set_fontstyle("italic")
                tick.set_color("#333333")
        ax.set_xlabel(X_LABEL)

        right = ax.twinx()
        right.set_ylim(ax.get_ylim())
        right.set_yticks(ticks, values)
        right.tick_params(axis="y", length=0, labelsize=PRINT_RCPARAMS["ytick.labelsize"] - 0.5)
        right.spines[["top", "right", "left"]].set_visible(False)
        if title:
            ax.set_title(title)
        _draw_footnote(note_ax, note_lines, note_h)
        return fig


def _draw_row(ax, row: pd.Series, y: float) -> None:
    colour = GROUP_COLOURS[row["group"]]
    marker = "s" if row["controlled"] else "o"
    if math.isnan(row["estimate"]):
        ax.text(0, y, "  not estimable", va="center", ha="left", color="#444444",
                fontsize=PRINT_RCPARAMS["ytick.labelsize"], gid=f"point:{row['row_id']}")
        return
    if row["has_ci"]:
        ax.plot([row["ci_low"], row["ci_high"]], [y, y], color=colour, lw=1.6, solid_capstyle="butt",
                zorder=2, gid=f"ci:{row['row_id']}")
    face = colour if row["has_ci"] else "white"
    ax.plot([row["estimate"]], [y], linestyle="none", marker=marker, ms=6.5 if row["has_ci"] else 6,
            color=colour, markerfacecolor=face, markeredgewidth=1.4, zorder=3, gid=f"point:{row['row_id']}")


def _footnote(letters: dict[str, str]) -> list[str]:
    text = ("Negative = HbA1c fell; for the controlled rows, lower with MSC than with control. "
            "k = studies pooled, n = participants.")
    if letters:
        text += " Flags: " + "; ".join(f"[{ch}] {evidence.FLAG_SHORT[f]}" for f, ch in letters.items()) + "."
    return textwrap.wrap(text, _NOTE_WRAP)


def _draw_footnote(ax, lines: list[str], height_in: float) -> None:
    handles = [
        Line2D([], [], ls="-", marker="o", color="#555555", ms=6, label="before/after change, 95% CI"),
        Line2D([], [], ls="-", marker="s", color="#555555", ms=6, label="MSC minus control, 95% CI"),
        Line2D([], [], ls="none", marker="o", color="#555555", markerfacecolor="white", ms=6,
               label="no CI published"),
    ]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.0, 1.0), ncol=3, frameon=False,
              handlelength=1.8, columnspacing=1.4, borderaxespad=0.0)
    first = 1.0 - 0.3 / height_in
    step = _NOTE_LINE_IN / height_in
    for k, line in enumerate(lines):
        ax.text(0.0, first - k * step, line, transform=ax.transAxes, ha="left", va="top",
                fontsize=8, color="#333333")

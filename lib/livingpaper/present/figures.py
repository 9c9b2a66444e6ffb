"""The book's figures: HbA1c before and after one intravenous MSC infusion.

Every plotting function takes the cohort DataFrame (one row per patient) and returns a
:class:`matplotlib.figure.Figure`; nothing is written to disk except by :func:`save_figure`.

Conventions shared by all figures

* Rows missing a value the figure needs are dropped *per figure* (a patient without a
  post-infusion HbA1c still counts in figures that do not need it).
* ``change = post - baseline`` (negative = HbA1c fell); ``reduction = baseline - post``
  (positive = HbA1c fell). Both are in percentage points of NGSP HbA1c.
* Above a size threshold each figure switches from per-patient marks to a summary form
  that stays readable and fast up to 10**6 patients.
* Each figure is created through pyplot (which loads the session's backend) and then
  released from pyplot's figure list at once: the caller owns the returned Figure,
  nothing has to be closed, and in a notebook it is shown by returning it,
  ``display(fig)`` or ``glue(name, fig)`` (``plt.show()`` does not know about it).
* The print style (:data:`PRINT_RCPARAMS`) is applied while a figure is built, whatever
  the global rcParams are, so a figure looks the same in the HTML book, the PDF
  supplement and the tests. :func:`use_print_style` applies it globally as well.
* No text in a figure comes from the data except numbers (no patient ids, no labels).
* A figure draws what it is given: the statistics it shows in a legend (a mean with its
  95% CI, a least-squares line) come from :mod:`livingpaper.stats`, and the curves that
  need no patient rows from the build's ``results.json``; labels of sections and claims
  come from :mod:`livingpaper.domain`.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from cycler import cycler
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import (
    FixedLocator,
    FuncFormatter,
    LogLocator,
    NullLocator,
    StrMethodFormatter,
)
from matplotlib.transforms import blended_transform_factory

from livingpaper.domain import CLAIMS, HBA1C_STEP, SECTIONS, SEVERITY_SECTIONS, verdict_name
from livingpaper.formatting import format_cells, signed_points
from livingpaper.stats.covariates import least_squares_line
from livingpaper.stats.paired import mean_ci

# --------------------------------------------------------------------------------------
# Style
# --------------------------------------------------------------------------------------

#: Okabe & Ito (2008) colour-blind-safe palette, name -> hex.
STYLE: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}

# Roles. Blue/vermillion is the pair best kept apart under every common colour-vision
# deficiency, so it carries the one contrast that matters: HbA1c fell / rose.
_FELL = STYLE["blue"]
_ROSE = STYLE["vermillion"]
_MEAN = STYLE["blue"]
_GROUP_MEAN = STYLE["black"]
_CUTOFF = STYLE["reddish_purple"]
_NEUTRAL = "#8C8C8C"  # unchanged / reference lines (a grey, not a palette hue)
_PATIENT_LINE = "#9A9A9A"
_DENSITY = STYLE["sky_blue"]

_HASHSALT = "livingpaper"
_FIGSIZE = (6.5, 3.6)  # inches: a full journal text width
_DPI = 150

#: rcParams of the print style (fonts readable at 6.5 in wide, >= 9 pt).
PRINT_RCPARAMS: dict[str, object] = {
    "figure.figsize": _FIGSIZE,
    "figure.dpi": _DPI,
    "savefig.dpi": _DPI,
    "savefig.facecolor": "white",
    "figure.facecolor": "white",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],  # ships with matplotlib: same glyphs everywhere
    "font.size": 9.5,
    "axes.titlesize": 10.5,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.linewidth": 0.8,
    "axes.prop_cycle": cycler(color=list(STYLE.values())[1:] + [STYLE["black"]]),
    "axes.unicode_minus": True,
    "lines.linewidth": 1.5,
    "svg.hashsalt": _HASHSALT,
    "svg.fonttype": "path",
    "pdf.fonttype": 42,  # embed TrueType: text stays selectable in the PDF supplement
    "ps.fonttype": 42,
}


def use_print_style() -> None:
    """Set the print style in the global rcParams (idempotent)."""
    mpl.rcParams.update(PRINT_RCPARAMS)


#: Above these numbers of patients the figures switch to their summary forms.
SUMMARY_ABOVE_N_PAIRED = 500
SUMMARY_ABOVE_N_CHANGE = 500
SUMMARY_ABOVE_N_DOSE = 2000

#: Seed of the dose plot's horizontal jitter (fixed: same data -> same figure).
JITTER_SEED = 20250611

_Y_HBA1C = "HbA1c (%, NGSP)"
_Y_CHANGE = "Change in HbA1c (percentage points)"
_X_CHANGE = "Patients, ordered by change"
_X_DOSE = "MSC dose (cells, log scale)"
_Y_REDUCTION = "HbA1c reduction (percentage points)"
_NO_PAIRS = "No patients with both HbA1c values"
_NO_DOSE = "No patients with both HbA1c values and a dose"

# Values are recorded to 0.1 %; differences are rounded to this many decimals so that
# 7.3 - 7.2 counts as 0.1 and 7.2 - 7.2 as exactly 0.
_ROUND = 9

# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


def _columns(data: pd.DataFrame, columns: tuple[str, ...], *, positive: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """The named columns as float arrays, restricted to rows where all are finite.

    Columns in ``positive`` must also be > 0 (doses on a log axis).
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(data).__name__}")
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise KeyError(f"missing column(s): {', '.join(missing)}")
    arrays = {c: pd.to_numeric(data[c]).to_numpy(dtype=float, na_value=np.nan) for c in columns}
    keep = np.ones(len(data), dtype=bool)
    for c, values in arrays.items():
        keep &= np.isfinite(values)
        if c in positive:
            keep &= values > 0
    return {c: values[keep] for c, values in arrays.items()}


def _new_figure() -> tuple[Figure, object]:
    # Created through pyplot so that the session's backend is loaded (in Jupyter this is
    # what registers the inline PNG formatter that glue()/display() need), then released
    # from pyplot at once: callers own the Figure, nothing piles up in pyplot's registry,
    # and a notebook does not show it twice (once returned, once auto-flushed).
    fig = plt.figure(figsize=_FIGSIZE, dpi=_DPI, layout="constrained")
    plt.close(fig)
    ax = fig.add_subplot()
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=PRINT_RCPARAMS["xtick.labelsize"])
    return fig, ax


def _finish(ax, title: str | None) -> None:
    if title:
        ax.set_title(title)


def _message_figure(message: str, title: str | None) -> Figure:
    fig, ax = _new_figure()
    ax.set_axis_off()
    ax.text(0.5, 0.5, message, transform=ax.transAxes, ha="center", va="center",
            fontsize=PRINT_RCPARAMS["axes.labelsize"], color="#444444")
    _finish(ax, title)
    return fig


def _hist_edges(values: np.ndarray, max_bins: int = 200) -> np.ndarray:
    """Bin edges centred on multiples of the recording step (0.1), so discrete values
    never fall on an edge (no aliasing stripes); widened to keep <= max_bins bins."""
    lo, hi = float(values.min()), float(values.max())
    step = HBA1C_STEP * max(1, math.ceil((hi - lo) / HBA1C_STEP / max_bins))
    k0, k1 = math.floor(lo / step + 0.5), math.floor(hi / step + 0.5)
    return (np.arange(k0, k1 + 2) - 0.5) * step


# --------------------------------------------------------------------------------------
# Captions: what a figure draws depends on how many patients it has (one mark per patient
# up to a SUMMARY_ABOVE_N_* threshold, a summary of their distribution above it), so its
# caption is made here, from the same data and the same threshold as the figure.
# --------------------------------------------------------------------------------------

_BOX = "a box (median and interquartile range; whiskers at the 5th and 95th percentiles)"


def paired_plot_caption(data: pd.DataFrame) -> str:
    """The sentence of the caption of :func:`paired_plot` that says how patients are drawn."""
    n = _columns(data, ("hba1c_baseline", "hba1c_post"))["hba1c_baseline"].size
    if n <= SUMMARY_ABOVE_N_PAIRED:
        return ("Each grey line joins one patient's two values; the coloured points are the means "
                "with their 95% confidence intervals.")
    return (f"With {n:,} patients, each time point shows the distribution of the values (shaded) and "
            f"{_BOX} instead of one line per patient; the coloured points are the means with their "
            "95% confidence intervals.")


def change_plot_caption(data: pd.DataFrame) -> str:
    """The caption of :func:`change_plot`."""
    cols = _columns(data, ("hba1c_baseline", "hba1c_post"))
    n = cols["hba1c_baseline"].size
    if n <= SUMMARY_ABOVE_N_CHANGE:
        return ("Change in HbA1c for each patient, post-treatment minus baseline, ordered from the largest "
                "fall to the largest rise. Bars below zero are patients whose HbA1c fell.")
    # The bins of change_plot, from the same values (wider than the recording step when the
    # changes span more than max_bins steps).
    edges = _hist_edges(np.round(cols["hba1c_post"] - cols["hba1c_baseline"], _ROUND))
    return (f"Change in HbA1c, post-treatment minus baseline, of {n:,} patients: the bars count the "
            f"patients at each change (bins of {edges[1] - edges[0]:.1f} percentage points). Bars below zero are "
            "patients whose HbA1c fell; the dashed line is the mean change.")


def dose_plot_caption(data: pd.DataFrame) -> str:
    """The caption of :func:`dose_plot`."""
    n = _columns(data, ("hba1c_baseline", "hba1c_post", "dose_cells"), positive=("dose_cells",))["dose_cells"].size
    drawn = ("one point per patient, spread sideways a little because doses are given in round numbers"
             if n <= SUMMARY_ABOVE_N_DOSE else f"{_BOX} per dose group for its {n:,} patients")
    return (f"HbA1c reduction against the dose (logarithmic scale): {drawn}. The dashed line is the "
            "cut-off between the dose groups; the horizontal segments are each group's mean reduction.")


def followup_plot_caption(data: pd.DataFrame) -> str:
    """The caption of :func:`followup_plot`."""
    n = _columns(data, ("hba1c_baseline", "hba1c_post", "followup_months"))["followup_months"].size
    drawn = ("Each patient's fall in HbA1c" if n <= SUMMARY_ABOVE_N_DOSE else
             f"The fall in HbA1c of {n:,} patients, as their density (darker hexagons: more patients),")
    return (f"{drawn} against the time from the infusion to the post-treatment measurement, with the "
            "least-squares line (not adjusted for the baseline).")


# --------------------------------------------------------------------------------------
# Paired (slope) plot
# --------------------------------------------------------------------------------------


def paired_plot(data: pd.DataFrame, title: str | None = None) -> Figure:
    """HbA1c at baseline and after infusion, one grey line per patient.

    The group mean of each time point is drawn in bold with the 95 % CI of that time
    point's mean (Student t, n - 1 df). Note that these are CIs of each mean, not of the
    paired change: overlap of the two intervals says nothing about the paired test.

    Above :data:`SUMMARY_ABOVE_N_PAIRED` patients the per-patient lines are replaced by
    the distribution of each time point (histogram "violin", 0.1 % bins), a box
    (median, IQR; whiskers 5th-95th percentile) and the same mean line.
    Patients without both HbA1c values are left out.
    """
    with mpl.rc_context(PRINT_RCPARAMS):
        cols = _columns(data, ("hba1c_baseline", "hba1c_post"))
        base, post = cols["hba1c_baseline"], cols["hba1c_post"]
        n = base.size
        if n == 0:
            return _message_figure(_NO_PAIRS, title)

        fig, ax = _new_figure()
        handles: list[object] = []
        if n <= SUMMARY_ABOVE_N_PAIRED:
            alpha = 0.7 if n <= 100 else 0.4
            for b, p in zip(base, post):
                # label "_patient": hidden from legends, lets tests find these lines
                ax.plot([0, 1], [b, p], color=_PATIENT_LINE, lw=0.7, alpha=alpha,
                        solid_capstyle="round", label="_patient", zorder=1)
            handles.append(Line2D([], [], color=_PATIENT_LINE, lw=0.9, label="Individual patients"))
        else:
            handles += _distribution_summary(ax, [base, post], positions=[0, 1])

        means, halves = zip(*(mean_ci(v) for v in (base, post)))
        yerr = None if any(math.isnan(h) for h in halves) else np.array(halves)
        ax.errorbar([0, 1], means, yerr=yerr, color=_MEAN, lw=2.5, marker="o", ms=6,
                    capsize=5, capthick=2, elinewidth=2, zorder=4)
        mean_label = "Mean (95% CI)" if yerr is not None else "Mean"
        handles.append(Line2D([], [], color=_MEAN, lw=2.5, marker="o", ms=6, label=mean_label))

        ax.set_xticks([0, 1], ["Baseline", "After infusion"])
        ax.set_xlim(-0.45, 1.45)
        ax.set_ylabel(_Y_HBA1C)
        ax.tick_params(axis="x", length=0)
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        _finish(ax, title)
        return fig


def _distribution_summary(ax, samples: list[np.ndarray], positions: list[float]) -> list[object]:
    """Mirrored histograms + box (IQR, median, 5-95 % whiskers) at each position."""
    edges = _hist_edges(np.concatenate(samples))
    centres = (edges[:-1] + edges[1:]) / 2
    counts = [np.histogram(v, bins=edges)[0] / v.size for v in samples]
    peak = max(float(c.max()) for c in counts) or 1.0
    for x, v, c in zip(positions, samples, counts):
        half = 0.32 * c / peak
        ax.fill_betweenx(centres, x - half, x + half, step="mid", color=_DENSITY, alpha=0.45, lw=0, zorder=1)
        q05, q25, q50, q75, q95 = np.percentile(v, [5, 25, 50, 75, 95])
        ax.plot([x, x], [q05, q25], color="#333333", lw=1, zorder=2)
        ax.plot([x, x], [q75, q95], color="#333333", lw=1, zorder=2)
        ax.add_patch(Rectangle((x - 0.05, q25), 0.1, q75 - q25, facecolor="white",
                               edgecolor="#333333", lw=1, zorder=2))
        ax.plot([x - 0.05, x + 0.05], [q50, q50], color="#333333", lw=1.5, zorder=3)
    return [
        Patch(facecolor=_DENSITY, alpha=0.45, label="Distribution"),
        Patch(facecolor="white", edgecolor="#333333", label="Median, IQR;\nwhiskers 5th\u201395th pct."),
    ]


# --------------------------------------------------------------------------------------
# Change ("waterfall") plot
# --------------------------------------------------------------------------------------


def change_plot(data: pd.DataFrame, title: str | None = None) -> Figure:
    """Per-patient change (post - baseline; negative = improvement), sorted, one bar per
    patient coloured by sign, with the mean change as a dashed line.

    Above :data:`SUMMARY_ABOVE_N_CHANGE` patients: a horizontal histogram of the change
    (0.1-point bins centred on the recorded values), so the y axis keeps the same meaning.
    Patients without both HbA1c values are left out.
    """
    with mpl.rc_context(PRINT_RCPARAMS):
        cols = _columns(data, ("hba1c_baseline", "hba1c_post"))
        change = np.round(cols["hba1c_post"] - cols["hba1c_baseline"], _ROUND)
        n = change.size
        if n == 0:
            return _message_figure(_NO_PAIRS, title)

        fell, rose = change < 0, change > 0
        same = ~(fell | rose)
        categories = [
            (fell, _FELL, f"HbA1c fell (n = {fell.sum():,})"),
            (rose, _ROSE, f"HbA1c rose (n = {rose.sum():,})"),
            (same, _NEUTRAL, f"Unchanged (n = {same.sum():,})"),
        ]
        mean = float(change.mean())
        fig, ax = _new_figure()
        handles: list[object] = []

        if n <= SUMMARY_ABOVE_N_CHANGE:
            order = np.argsort(change, kind="stable")
            sorted_change = change[order]
            x = np.arange(n)
            width = 0.8 if n <= 150 else 1.0
            for mask, colour, label in categories:
                m = mask[order]
                if not m.any():
                    continue
                ax.bar(x[m], sorted_change[m], width=width, color=colour, lw=0, zorder=2)
                handles.append(Patch(color=colour, label=label))
            if same.any():  # zero-height bars are invisible: mark them on the 0 line
                m = same[order]
                ax.plot(x[m], sorted_change[m], ls="none", marker="o", ms=3.5,
                        color=_NEUTRAL, zorder=3)
                handles[-1] = Line2D([], [], ls="none", marker="o", ms=5, color=_NEUTRAL,
                                     label=categories[2][2])
            ax.axhline(0, color="#333333", lw=0.9, zorder=2.5)
            ax.axhline(mean, color="#333333", lw=1.2, ls="--", zorder=2.6)
            ax.set_xlim(-0.5 - 0.02 * n, n - 0.5 + 0.02 * n)
            ax.set_xticks([])
            ax.set_xlabel(_X_CHANGE)
        else:
            edges = _hist_edges(change)
            counts, _ = np.histogram(change, bins=edges)
            centres = (edges[:-1] + edges[1:]) / 2
            step = edges[1] - edges[0]
            tol = step / 2 - 1e-12
            colours = np.where(centres < -tol, _FELL, np.where(centres > tol, _ROSE, _NEUTRAL))
            # edges in the fill colour: no hairline gaps between adjacent bars (PNG or PDF)
            ax.barh(centres, counts, height=step, color=colours, edgecolor=colours, lw=0.4, zorder=2)
            for mask, colour, label in categories:
                if mask.any():
                    handles.append(Patch(color=colour, label=label))
            ax.axhline(0, color="#333333", lw=0.9, zorder=2.5)
            ax.axhline(mean, color="#333333", lw=1.2, ls="--", zorder=2.6)
            ax.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
            ax.set_xlabel("Patients (count)")

        handles.append(Line2D([], [], color="#333333", lw=1.2, ls="--",
                              label=f"Mean change ({signed_points(mean)})"))
        ax.set_ylabel(_Y_CHANGE)
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        _finish(ax, title)
        return fig


# --------------------------------------------------------------------------------------
# Dose plot
# --------------------------------------------------------------------------------------


def dose_plot(data: pd.DataFrame, dose_cutoff_cells: float = 1e9, title: str | None = None) -> Figure:
    """HbA1c reduction (baseline - post) against the MSC dose (log scale).

    Doses are few discrete values, so points get a small deterministic horizontal jitter
    (seed :data:`JITTER_SEED`). The high-dose group is "dose >= cut-off"; points and the
    group mean at a dose equal to the cut-off are therefore drawn just to the *right* of
    the dashed cut-off line (one-sided jitter), never straddling it. Each dose group's
    mean reduction is a black horizontal segment. With more than 20 distinct doses the
    groups are log-dose bins (split at the cut-off) and no jitter is applied.

    Above :data:`SUMMARY_ABOVE_N_DOSE` patients the points are replaced by a box per
    group (median, IQR; whiskers 5th-95th percentile) with the same mean segments.
    Patients without both HbA1c values or without a positive dose are left out.
    """
    with mpl.rc_context(PRINT_RCPARAMS):
        cutoff = float(dose_cutoff_cells)
        if not (np.isfinite(cutoff) and cutoff > 0):
            raise ValueError(f"dose_cutoff_cells must be a positive number, got {dose_cutoff_cells!r}")
        cols = _columns(data, ("hba1c_baseline", "hba1c_post", "dose_cells"), positive=("dose_cells",))
        reduction = np.round(cols["hba1c_baseline"] - cols["hba1c_post"], _ROUND)
        log_dose = np.log10(cols["dose_cells"])
        n = reduction.size
        if n == 0:
            return _message_figure(_NO_DOSE, title)

        log_cut = math.log10(cutoff)
        groups = _dose_groups(log_dose, log_cut)
        fig, ax = _new_figure()
        handles: list[object] = []

        if n <= SUMMARY_ABOVE_N_DOSE:
            rng = np.random.default_rng(JITTER_SEED)
            u = rng.uniform(-1.0, 1.0, size=n)
            x = log_dose + groups["shift"][groups["index"]] + groups["jitter"] * u
            ax.scatter(10**x, reduction, s=20, color=STYLE["blue"], alpha=0.6, lw=0, zorder=3)
            handles.append(Line2D([], [], ls="none", marker="o", ms=5, color=STYLE["blue"],
                                  alpha=0.6, label="Patients"))
        else:
            _dose_boxes(ax, groups, reduction)
            handles.append(Patch(facecolor="white", edgecolor="#333333",
                                 label="Median, IQR;\nwhiskers 5th\u201395th pct."))

        for g, (centre, hw) in enumerate(zip(groups["centre"], groups["half_width"])):
            values = reduction[groups["index"] == g]
            if values.size == 0:
                continue
            ax.plot(10 ** np.array([centre - hw, centre + hw]), [values.mean()] * 2,
                    color=_GROUP_MEAN, lw=2.5, solid_capstyle="butt", zorder=4)
        handles.append(Line2D([], [], color=_GROUP_MEAN, lw=2.5, label="Dose-group mean"))

        ax.axhline(0, color=_NEUTRAL, lw=0.8, zorder=1)
        ax.axvline(cutoff, color=_CUTOFF, lw=1.4, ls="--", zorder=2)
        ax.text(cutoff, 1.0, " cut-off", color=_CUTOFF, ha="left", va="top",
                transform=blended_transform_factory(ax.transData, ax.transAxes),
                fontsize=PRINT_RCPARAMS["legend.fontsize"])
        handles.append(Line2D([], [], color=_CUTOFF, lw=1.4, ls="--",
                              label=f"Cut-off (\u2265 {format_cells(cutoff)} = high dose)"))

        ax.set_xscale("log")
        lo = min(float(groups["edges_lo"]), log_cut) - 0.15
        hi = max(float(groups["edges_hi"]), log_cut) + 0.15
        ax.set_xlim(10**lo, 10**hi)
        _dose_ticks(ax, groups, log_cut, lo, hi)
        ax.set_xlabel(_X_DOSE)
        ax.set_ylabel(_Y_REDUCTION)
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        _finish(ax, title)
        return fig


_MAX_DISCRETE_DOSES = 20


def _dose_groups(log_dose: np.ndarray, log_cut: float) -> dict[str, object]:
    """Dose groups in log10 units: exact doses when there are few, else log bins."""
    uniques = np.unique(log_dose)
    if uniques.size <= _MAX_DISCRETE_DOSES:
        gap = float(np.diff(uniques).min()) if uniques.size > 1 else math.inf
        half_width = np.full(uniques.size, min(0.08, 0.3 * gap))
        index = np.searchsorted(uniques, log_dose)
        centre = uniques.copy()
        # dose == cut-off belongs to the high group: draw it entirely right of the line
        shift = np.where(np.isclose(uniques, log_cut, rtol=0, atol=1e-9), half_width, 0.0)
        return {
            "discrete": True, "centre": centre + shift, "shift": shift, "index": index,
            "half_width": half_width, "jitter": 0.6 * half_width[0],
            "edges_lo": uniques.min(), "edges_hi": float((uniques + 2 * shift).max()),
        }
    lo, hi = float(uniques.min()), float(uniques.max())
    # about 12 equal log-width bins, with the cut-off as a bin edge (>= cut-off = high)
    target = (hi - lo) / 12
    spans = [(lo, log_cut), (log_cut, hi)] if lo < log_cut < hi else [(lo, hi)]
    edges = np.unique(np.concatenate(
        [np.linspace(a, b, max(1, round((b - a) / target)) + 1) for a, b in spans]))
    index = np.clip(np.searchsorted(edges, log_dose, side="right") - 1, 0, edges.size - 2)
    centre = (edges[:-1] + edges[1:]) / 2
    return {
        "discrete": False, "centre": centre, "shift": np.zeros(centre.size), "index": index,
        "half_width": 0.45 * np.diff(edges), "jitter": 0.0,
        "edges_lo": lo, "edges_hi": hi,
    }


def _dose_boxes(ax, groups: Mapping[str, object], reduction: np.ndarray) -> None:
    for g, (centre, hw) in enumerate(zip(groups["centre"], groups["half_width"])):
        values = reduction[groups["index"] == g]
        if values.size == 0:
            continue
        q05, q25, q50, q75, q95 = np.percentile(values, [5, 25, 50, 75, 95])
        x0, x1, xc = 10 ** (centre - 0.7 * hw), 10 ** (centre + 0.7 * hw), 10**centre
        ax.plot([xc, xc], [q05, q25], color="#333333", lw=1, zorder=2)
        ax.plot([xc, xc], [q75, q95], color="#333333", lw=1, zorder=2)
        ax.add_patch(Rectangle((x0, q25), x1 - x0, q75 - q25, facecolor="white",
                               edgecolor="#333333", lw=1, zorder=3))
        ax.plot([x0, x1], [q50, q50], color="#333333", lw=1.2, zorder=3)


def _dose_ticks(ax, groups: Mapping[str, object], log_cut: float, lo: float, hi: float) -> None:
    """Label the doses themselves when there are few, else 1-2-5 log ticks."""
    ax.xaxis.set_major_formatter(FuncFormatter(format_cells))
    if groups["discrete"]:
        candidates = np.unique(np.r_[groups["centre"] - groups["shift"], log_cut])
        if candidates.size <= 8 and (candidates.size == 1 or np.diff(candidates).min() >= 0.2):
            ax.xaxis.set_major_locator(FixedLocator(10**candidates))
            ax.xaxis.set_minor_locator(NullLocator())
            return
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0) if hi - lo < 2.5 else (1.0,)))
    ax.xaxis.set_minor_locator(LogLocator(base=10, subs="auto"))
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda x, pos: ""))


# --------------------------------------------------------------------------------------
# Saving
# --------------------------------------------------------------------------------------

_METADATA = {
    "png": {"Software": None},
    "svg": {"Date": None, "Creator": None},
    "pdf": {"CreationDate": None, "ModDate": None},
    "eps": {"CreationDate": None},
    "ps": {"CreationDate": None},
}


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Save ``fig`` to ``path`` (format from the suffix: png, svg, pdf, eps, ps) so that
    the same figure gives the same bytes: no dates, no software version in PNG/SVG, a
    fixed SVG hash salt, 150 dpi. Creates the parent directory. Returns the path.
    """
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in _METADATA:
        raise ValueError(f"unsupported figure format {path.suffix!r}; use one of {', '.join(_METADATA)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    with mpl.rc_context({"svg.hashsalt": _HASHSALT, "svg.fonttype": "path",
                         "pdf.fonttype": 42, "ps.fonttype": 42}):
        fig.savefig(path, format=fmt, dpi=_DPI, metadata=_METADATA[fmt], facecolor="white")
    return path


# --------------------------------------------------------------------------------------
# Beyond the paper: regression to the mean, follow-up, power of a trial
# --------------------------------------------------------------------------------------


#: Colours of the populations in the beyond-the-paper figures (Okabe-Ito).
GROUP_COLOURS: dict[str, str] = {"overall": STYLE["black"], "moderate": STYLE["blue"], "severe": STYLE["orange"]}
_GROUP_LABELS = {key: SECTIONS[key].short_label for key in SEVERITY_SECTIONS}
_SCENARIO_COLOURS = [STYLE["blue"], STYLE["orange"], STYLE["bluish_green"], STYLE["reddish_purple"],
                     STYLE["sky_blue"], STYLE["vermillion"]]
_X_RELIABILITY = "Test\u2013retest correlation of HbA1c, r"
_Y_BEYOND_RTM = "Fall in HbA1c (percentage points)"
_X_FOLLOWUP = "Follow-up (months)"
_X_PER_ARM = "Patients per arm"
_Y_POWER = "Power (%)"


def rtm_curve_plot(curve: pd.DataFrame, central_reliability: float | None = None,
                   title: str | None = None) -> Figure:
    """The fall beyond regression to the mean against the test-retest correlation of HbA1c.

    ``curve`` is the frame of :func:`livingpaper.stats.rtm.rtm_curve` (columns ``group,
    reliability, observed_mean_reduction, residual_reduction, residual_ci95_low,
    residual_ci95_high``). For each group: the fall left after regression to the mean
    (solid line) with its 95 % confidence band, and the observed fall (dashed line, same
    colour), which the solid line approaches as the correlation approaches 1 (no
    regression to the mean). A dotted vertical line marks ``central_reliability``.
    Groups with no estimable value are left out.
    """
    with mpl.rc_context(PRINT_RCPARAMS):
        needed = ["group", "reliability", "observed_mean_reduction", "residual_reduction",
                  "residual_ci95_low", "residual_ci95_high"]
        missing = [c for c in needed if c not in curve.columns]
        if missing:
            raise KeyError(f"missing column(s): {', '.join(missing)}")
        frame = curve.copy()
        for c in needed[1:]:
            frame[c] = pd.to_numeric(frame[c], errors="coerce")
        frame = frame[np.isfinite(frame["residual_reduction"].to_numpy(dtype=float))]
        if frame.empty:
            return _message_figure(_NO_PAIRS, title)
        fig, ax = _new_figure()
        handles: list[object] = []
        for i, (group, rows) in enumerate(frame.groupby("group", sort=False)):
            rows = rows.sort_values("reliability")
            colour = GROUP_COLOURS.get(group, _SCENARIO_COLOURS[i % len(_SCENARIO_COLOURS)])
            r = rows["reliability"].to_numpy(dtype=float)
            low, high = rows["residual_ci95_low"].to_numpy(dtype=float), rows["residual_ci95_high"].to_numpy(dtype=float)
            band = np.isfinite(low) & np.isfinite(high)
            if band.any():
                ax.fill_between(r[band], low[band], high[band], color=colour, alpha=0.12, lw=0, zorder=1)
            ax.plot(r, rows["residual_reduction"].to_numpy(dtype=float), color=colour, lw=2, zorder=3)
            observed = float(rows["observed_mean_reduction"].iloc[0])
            ax.plot([r.min(), r.max()], [observed, observed], color=colour, lw=1.2, ls="--", zorder=2)
            handles.append(Line2D([], [], color=colour, lw=2, label=_GROUP_LABELS.get(group, str(group))))
        ax.axhline(0, color=_NEUTRAL, lw=0.8, zorder=0)
        if central_reliability is not None and math.isfinite(central_reliability):
            ax.axvline(central_reliability, color="#333333", lw=1, ls=":", zorder=2)
            ax.text(central_reliability, 1.0, f" central case\n r = {central_reliability:.2f}", ha="left", va="top",
                    transform=blended_transform_factory(ax.transData, ax.transAxes),
                    fontsize=PRINT_RCPARAMS["legend.fontsize"], color="#333333")
        handles += [Line2D([], [], color="#333333", lw=2, label="Beyond regression\nto the mean"),
                    Patch(facecolor="#333333", alpha=0.12, label="95% CI"),
                    Line2D([], [], color="#333333", lw=1.2, ls="--", label="Observed fall")]
        ax.set_xlabel(_X_RELIABILITY)
        ax.set_ylabel(_Y_BEYOND_RTM)
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        _finish(ax, title)
        return fig


def followup_plot(data: pd.DataFrame, title: str | None = None) -> Figure:
    """HbA1c reduction (baseline - post) against the follow-up time of each patient.

    One point per patient (above :data:`SUMMARY_ABOVE_N_DOSE` patients, a hexagonal
    density instead), the least-squares line of reduction on months (unadjusted; drawn
    when there are at least two distinct follow-up times) and the zero line. A falling
    line means that patients measured later had smaller falls. Patients without both
    HbA1c values or a follow-up time are left out.
    """
    with mpl.rc_context(PRINT_RCPARAMS):
        cols = _columns(data, ("hba1c_baseline", "hba1c_post", "followup_months"))
        reduction = np.round(cols["hba1c_baseline"] - cols["hba1c_post"], _ROUND)
        months = cols["followup_months"]
        if reduction.size == 0:
            return _message_figure("No patients with both HbA1c values and a follow-up time", title)
        fig, ax = _new_figure()
        handles: list[object] = []
        if reduction.size <= SUMMARY_ABOVE_N_DOSE:
            ax.scatter(months, reduction, s=20, color=STYLE["blue"], alpha=0.6, lw=0, zorder=3)
            handles.append(Line2D([], [], ls="none", marker="o", ms=5, color=STYLE["blue"], alpha=0.6,
                                  label="Patients"))
        else:
            ax.hexbin(months, reduction, gridsize=40, cmap="Blues", mincnt=1, zorder=2)
            handles.append(Patch(facecolor=_DENSITY, label="Patients (density)"))
        if np.unique(months).size >= 2:
            slope, intercept = least_squares_line(months, reduction)
            xs = np.array([months.min(), months.max()])
            ax.plot(xs, intercept + slope * xs, color=_GROUP_MEAN, lw=2, zorder=4)
            handles.append(Line2D([], [], color=_GROUP_MEAN, lw=2,
                                  label=f"Least-squares line\n({signed_points(12 * slope)} per year)"))
        ax.axhline(0, color=_NEUTRAL, lw=0.8, zorder=1)
        ax.set_xlabel(_X_FOLLOWUP)
        ax.set_ylabel(_Y_REDUCTION)
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        _finish(ax, title)
        return fig


def power_curve_plot(curve: pd.DataFrame, target_power: float = 0.8, title: str | None = None) -> Figure:
    """Power of a two-arm trial against its size, one line per planning scenario.

    ``curve`` is the frame of :func:`livingpaper.stats.power.power_curve` (columns ``scenario,
    n_per_arm, power``). A horizontal line marks ``target_power``; a marker on each line
    shows the smallest size that reaches it (when the curve does). Consecutive scenarios
    are read as pairs (observed fall, fall after regression to the mean): a pair shares a
    colour and its second line is dashed.
    """
    with mpl.rc_context(PRINT_RCPARAMS):
        missing = [c for c in ("scenario", "n_per_arm", "power") if c not in curve.columns]
        if missing:
            raise KeyError(f"missing column(s): {', '.join(missing)}")
        if curve.empty:
            return _message_figure("No planning scenario can be computed", title)
        fig, ax = _new_figure()
        handles: list[object] = []
        for i, (scenario, rows) in enumerate(curve.groupby("scenario", sort=False)):
            rows = rows.sort_values("n_per_arm")
            # Scenarios come in pairs (observed, after regression to the mean): a pair
            # shares a colour, the second of it is dashed.
            colour = _SCENARIO_COLOURS[(i // 2) % len(_SCENARIO_COLOURS)]
            style = "-" if i % 2 == 0 else "--"
            n = rows["n_per_arm"].to_numpy(dtype=float)
            pw = 100 * rows["power"].to_numpy(dtype=float)
            ax.plot(n, pw, color=colour, lw=2, ls=style, zorder=3)
            reached = np.flatnonzero(pw >= 100 * target_power)
            label = str(scenario)
            if reached.size:
                k = reached[0]
                ax.plot([n[k]], [pw[k]], marker="o", ms=6, color=colour, zorder=4)
                label += f" (n = {n[k]:.0f})"
            handles.append(Line2D([], [], color=colour, lw=2, ls=style, label=label))
        ax.axhline(100 * target_power, color=_NEUTRAL, lw=1, ls=":", zorder=1)
        handles.append(Line2D([], [], color=_NEUTRAL, lw=1, ls=":", label=f"Target {100 * target_power:.0f} % power"))
        ax.set_ylim(0, 100)
        ax.set_xlim(left=0)
        ax.set_xlabel(_X_PER_ARM)
        ax.set_ylabel(_Y_POWER)
        ax.legend(handles=handles, loc="lower right")
        _finish(ax, title)
        return fig


# --------------------------------------------------------------------------------------
# Replication: the paper's estimate with its widest prediction interval, this cohort's with its CI
# --------------------------------------------------------------------------------------


_CLAIM_LABELS = {**{key: claim.short_label for key, claim in CLAIMS.items()},
                 "dose": CLAIMS["dose"].short_label + "\n(high \u2212 low)"}
_PAPER_BAR = "#BDBDBD"
_OFFSET = 0.2  # vertical distance of the paper's and this cohort's rows from the claim's centre


def replication_plot(replication, title: str | None = None) -> Figure:
    """For each claim of the paper, the paper's estimate beside this cohort's.

    ``replication`` is the :class:`livingpaper.stats.replication.Replication` of the build (its
    ``claims``, in the order shown top to bottom). Per claim, two rows: the paper's printed
    estimate (open diamond) on a grey bar, the widest 95 % prediction interval for a
    replication of this cohort's size; below it, this cohort's estimate (filled circle) with
    its 95 % confidence interval (black line). A claim is replicated when the circle lies on
    the grey bar and its interval excludes 0 (the vertical line). The verdict is written at
    the right. Where a number does not exist (the paper gives no estimate of the dose
    trend; a section not estimable) the row says so in words. Percentage points of HbA1c,
    positive = fell. Deterministic: the same results give the same image.
    """
    with mpl.rc_context(PRINT_RCPARAMS):
        claims = list(replication.claims.values())
        height = 1.1 + 0.78 * max(len(claims), 1)
        fig = plt.figure(figsize=(_FIGSIZE[0], height), dpi=_DPI, layout="constrained")
        plt.close(fig)
        ax = fig.add_subplot()
        ax.spines[["top", "right", "left"]].set_visible(False)
        values = [0.0]
        for c in claims:
            values += [v for v in (c.published_estimate, c.prediction_low, c.prediction_high, c.estimate,
                                   c.ci95_low, c.ci95_high) if v is not None and math.isfinite(v)]
        lo, hi = min(values), max(values)
        pad = 0.08 * (hi - lo if hi > lo else 1.0)
        lo, hi = math.floor((lo - pad) * 4) / 4, math.ceil((hi + pad) * 4) / 4
        ax.set_xlim(lo, hi)
        ticks, labels, verdicts = [], [], []
        for k, c in enumerate(claims):
            y = len(claims) - 1 - k
            ticks.append(y)
            labels.append(_CLAIM_LABELS.get(c.claim, str(c.claim)))
            verdicts.append(verdict_name(c.verdict))
            top, bottom = y + _OFFSET, y - _OFFSET
            if k % 2 == 1:
                ax.axhspan(y - 0.5, y + 0.5, color="#F4F4F4", lw=0, zorder=0)
            if c.published_estimate is None:
                ax.text(lo + 0.01 * (hi - lo), top, "paper: no estimate published", va="center", ha="left",
                        fontsize=PRINT_RCPARAMS["legend.fontsize"], color="#444444", gid=f"paper:{c.claim}")
            else:
                if c.prediction_low is not None:
                    ax.plot([c.prediction_low, c.prediction_high], [top, top], color=_PAPER_BAR, lw=7,
                            solid_capstyle="butt", zorder=2, gid=f"prediction:{c.claim}")
                ax.plot([c.published_estimate], [top], ls="none", marker="D", ms=6.5, color=STYLE["black"],
                        markerfacecolor="white", markeredgewidth=1.4, zorder=4, gid=f"paper:{c.claim}")
            if c.estimate is None:
                ax.text(lo + 0.01 * (hi - lo), bottom, "this cohort: not estimable", va="center", ha="left",
                        fontsize=PRINT_RCPARAMS["legend.fontsize"], color="#444444", gid=f"cohort:{c.claim}")
            else:
                if c.ci95_low is not None:
                    ax.plot([c.ci95_low, c.ci95_high], [bottom, bottom], color=STYLE["black"], lw=1.6,
                            solid_capstyle="butt", zorder=3, gid=f"ci:{c.claim}")
                ax.plot([c.estimate], [bottom], ls="none", marker="o", ms=6.5, color=_FELL, zorder=5,
                        markeredgecolor=STYLE["black"], markeredgewidth=0.8, gid=f"cohort:{c.claim}")
        ax.axvline(0, color=_NEUTRAL, lw=0.9, zorder=1, gid="zero")
        ax.set_ylim(-0.6, len(claims) - 0.4)
        ax.set_yticks(ticks, labels)
        ax.tick_params(axis="y", length=0)
        ax.set_xlabel("HbA1c reduction (percentage points; positive = fell)")
        right = ax.twinx()
        right.set_ylim(ax.get_ylim())
        right.set_yticks(ticks, verdicts)
        right.tick_params(axis="y", length=0)
        right.spines[["top", "right", "left"]].set_visible(False)
        for tick in right.get_yticklabels():
            tick.set_fontweight("bold")
        handles = [
            Line2D([], [], ls="none", marker="D", ms=6.5, color=STYLE["black"], markerfacecolor="white",
                   markeredgewidth=1.4, label="Paper's estimate"),
            Line2D([], [], color=_PAPER_BAR, lw=7, label="Widest 95% prediction interval\nfor a cohort of this size"),
            Line2D([], [], color=STYLE["black"], lw=1.6, marker="o", ms=6.5, markerfacecolor=_FELL,
                   markeredgewidth=0.8, label="This cohort: estimate, 95% CI"),
        ]
        fig.legend(handles=handles, loc="outside lower center", ncol=3, frameon=False, handlelength=1.8)
        _finish(ax, title)
        return fig

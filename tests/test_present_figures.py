"""Tests for livingpaper.present.figures: the book's figures."""
from __future__ import annotations

import math
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from livingpaper.present import figures  # noqa: E402
from livingpaper.present.figures import (
    STYLE,
    change_plot,
    dose_plot,
    followup_plot,
    paired_plot,
    power_curve_plot,
    rtm_curve_plot,
    save_figure,
)
from livingpaper.stats import power as _power
from livingpaper.stats import rtm as _sensitivity
from matplotlib.collections import LineCollection, PathCollection  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402
from matplotlib.text import Text  # noqa: E402
from scipy import stats  # noqa: E402

  # noqa: E402

# Six patients, written out. change = post - baseline:
#   P01 -0.7, P02 -1.3, P03 0.0 (unchanged), P04 -1.5, P05 +0.2, P06 -0.2
SIX = pd.DataFrame(
    {
        "patient_id": ["P01", "P02", "P03", "P04", "P05", "P06"],
        "hba1c_baseline": [7.5, 8.4, 6.9, 9.1, 7.2, 6.5],
        "hba1c_post": [6.8, 7.1, 6.9, 7.6, 7.4, 6.3],
        "dose_cells": [1e8, 5e8, 1e9, 1e9, 2e9, 1e8],
        "msc_source": ["umbilical_cord", "bone_marrow", "adipose", "umbilical_cord", "adipose", "bone_marrow"],
        "followup_months": [12, 35, 40, 6, 68, 24],
    }
)
SIX_CHANGES_SORTED = [-1.5, -1.3, -0.7, -0.2, 0.0, 0.2]

PLOTS = [paired_plot, change_plot, dose_plot]


def cohort(n: int, seed: int = 0) -> pd.DataFrame:
    """A synthetic cohort of n patients (for the large-n forms)."""
    rng = np.random.default_rng(seed)
    baseline = np.round(rng.uniform(6.2, 11.0, n), 1)
    return pd.DataFrame(
        {
            "patient_id": [f"S{i:06d}" for i in range(n)],
            "hba1c_baseline": baseline,
            "hba1c_post": np.round(baseline - rng.normal(0.8, 0.6, n), 1),
            "dose_cells": rng.choice([1e8, 5e8, 1e9, 2e9], n),
            "msc_source": rng.choice(["umbilical_cord", "bone_marrow", "adipose"], n),
            "followup_months": rng.integers(6, 69, n),
        }
    )


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def patient_lines(ax):
    return [line for line in ax.get_lines() if line.get_label() == "_patient"]


def bars(ax):
    return sorted((p for p in ax.patches if isinstance(p, Rectangle)), key=lambda r: r.get_x())


def all_text(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


# --- style ----------------------------------------------------------------------------


def test_palette_is_okabe_ito_and_distinct():
    colours = [to_hex(c).lower() for c in STYLE.values()]
    assert len(colours) == 8
    assert len(set(colours)) == len(colours)
    assert all(re.fullmatch(r"#[0-9a-f]{6}", c) for c in colours)
    assert {"#e69f00", "#56b4e9", "#009e73", "#0072b2", "#d55e00", "#cc79a7"} <= set(colours)


def test_use_print_style_sets_print_rcparams_and_is_idempotent():
    with matplotlib.rc_context():
        figures.use_print_style()
        first = {k: matplotlib.rcParams[k] for k in figures.PRINT_RCPARAMS}
        figures.use_print_style()
        second = {k: matplotlib.rcParams[k] for k in figures.PRINT_RCPARAMS}
        assert first == second
        assert matplotlib.rcParams["savefig.dpi"] == 150
        assert matplotlib.rcParams["svg.hashsalt"]
        assert matplotlib.rcParams["axes.spines.top"] is False
        assert matplotlib.rcParams["axes.spines.right"] is False
        for key in ("font.size", "axes.labelsize", "xtick.labelsize", "ytick.labelsize", "legend.fontsize"):
            assert float(matplotlib.rcParams[key]) >= 9


def test_figures_do_not_depend_on_or_change_global_rcparams():
    with matplotlib.rc_context({"font.size": 4, "axes.spines.top": True}):
        fig = paired_plot(SIX)
        ax = fig.axes[0]
        assert ax.yaxis.label.get_fontsize() >= 9
        assert not ax.spines["top"].get_visible()
        assert matplotlib.rcParams["font.size"] == 4


def test_figures_are_left_to_the_caller_and_close_nothing_else():
    mine = plt.figure()  # a figure the caller is using must stay open
    before = plt.get_fignums()
    for plot in PLOTS:
        fig = plot(SIX)
        assert isinstance(fig, Figure)
    assert plt.get_fignums() == before  # nothing added to pyplot, nothing closed
    assert plt.fignum_exists(mine.number)
    plt.close(mine)


# --- paired plot ----------------------------------------------------------------------


def test_paired_plot_one_line_per_patient_and_labels():
    fig = paired_plot(SIX)
    ax = fig.axes[0]
    assert ax.get_ylabel() == "HbA1c (%, NGSP)"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Baseline", "After infusion"]
    lines = patient_lines(ax)
    assert len(lines) == 6
    drawn = sorted(tuple(np.round(line.get_ydata(), 6)) for line in lines)
    expected = sorted(zip(SIX["hba1c_baseline"], SIX["hba1c_post"]))
    assert drawn == expected
    assert all(list(line.get_xdata()) == [0, 1] for line in lines)
    plt.close(fig)


def test_paired_plot_mean_and_t_confidence_interval():
    fig = paired_plot(SIX)
    ax = fig.axes[0]
    # the error bars: one vertical segment per time point, mean -/+ t(0.975, n-1) * SE
    (segments,) = [c.get_segments() for c in ax.collections if isinstance(c, LineCollection)]
    for x, column in [(0, "hba1c_baseline"), (1, "hba1c_post")]:
        values = SIX[column].to_numpy()
        half = stats.t.ppf(0.975, 5) * values.std(ddof=1) / math.sqrt(6)
        (seg,) = [s for s in segments if s[0][0] == x]
        assert sorted(seg[:, 1]) == pytest.approx([values.mean() - half, values.mean() + half])
    plt.close(fig)


def test_paired_plot_drops_rows_missing_post():
    data = SIX.assign(hba1c_post=[6.8, np.nan, 6.9, None, 7.4, 6.3])
    fig = paired_plot(data)
    assert len(patient_lines(fig.axes[0])) == 4
    plt.close(fig)


def test_paired_plot_large_n_has_no_per_patient_lines():
    fig = paired_plot(cohort(600))
    ax = fig.axes[0]
    assert patient_lines(ax) == []
    assert len(ax.get_lines()) < 20
    assert ax.get_ylabel() == "HbA1c (%, NGSP)"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Baseline", "After infusion"]
    plt.close(fig)


# --- change plot ----------------------------------------------------------------------


def test_change_plot_one_sorted_bar_per_patient_coloured_by_sign():
    fig = change_plot(SIX)
    ax = fig.axes[0]
    assert ax.get_ylabel() == "Change in HbA1c (percentage points)"
    assert ax.get_xlabel() == "Patients, ordered by change"
    rects = bars(ax)
    assert len(rects) == 6
    heights = [r.get_height() for r in rects]
    assert heights == sorted(heights)
    assert heights == pytest.approx(SIX_CHANGES_SORTED)
    fell, rose = to_hex(STYLE["blue"]), to_hex(STYLE["vermillion"])
    for r in rects:
        if r.get_height() < 0:
            assert to_hex(r.get_facecolor()) == fell
        elif r.get_height() > 0:
            assert to_hex(r.get_facecolor()) == rose
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("fell (n = 4)" in t for t in legend)
    assert any("rose (n = 1)" in t for t in legend)
    assert any("Unchanged (n = 1)" in t for t in legend)
    # the zero line
    assert any(list(line.get_ydata()) == [0, 0] for line in ax.get_lines())
    plt.close(fig)


def test_change_plot_large_n_is_a_histogram_of_all_patients():
    fig = change_plot(cohort(600))
    ax = fig.axes[0]
    assert ax.get_ylabel() == "Change in HbA1c (percentage points)"
    assert ax.get_xlabel() == "Patients (count)"
    rects = bars(ax)
    assert len(rects) < 600
    assert sum(r.get_width() for r in rects) == 600  # bar lengths are counts
    plt.close(fig)


# --- dose plot ------------------------------------------------------------------------


def test_dose_plot_axes_scale_ticks_and_points():
    fig = dose_plot(SIX)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert ax.get_xlabel() == "MSC dose (cells, log scale)"
    assert ax.get_ylabel() == "HbA1c reduction (percentage points)"
    fig.canvas.draw()
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert {"1×10⁸", "5×10⁸", "1×10⁹", "2×10⁹"} <= set(ticks)
    (points,) = [c for c in ax.collections if isinstance(c, PathCollection)]
    xy = points.get_offsets()
    assert len(xy) == 6
    reduction = (SIX["hba1c_baseline"] - SIX["hba1c_post"]).to_numpy()
    assert sorted(xy[:, 1]) == pytest.approx(sorted(reduction))
    # jitter is small: every point stays within 25 % of its dose
    order = np.argsort(xy[:, 1], kind="stable")
    dose = SIX["dose_cells"].to_numpy()[np.argsort(reduction, kind="stable")]
    assert np.all(np.abs(np.log10(xy[order, 0] / dose)) < 0.1)
    plt.close(fig)


@pytest.mark.parametrize("cutoff", [1e9, 5e8, 3e9])
def test_dose_plot_cutoff_line_at_parameter(cutoff):
    fig = dose_plot(SIX, dose_cutoff_cells=cutoff)
    ax = fig.axes[0]
    vertical = [line for line in ax.get_lines() if line.get_linestyle() == "--"
                and len(set(line.get_xdata())) == 1]
    assert len(vertical) == 1
    assert vertical[0].get_xdata()[0] == cutoff
    assert "cut-off" in [t.get_text().strip() for t in ax.texts]
    lo, hi = ax.get_xlim()
    assert lo < cutoff < hi
    plt.close(fig)


def test_dose_plot_points_at_cutoff_are_drawn_on_the_high_side():
    fig = dose_plot(SIX, dose_cutoff_cells=1e9)
    (points,) = [c for c in fig.axes[0].collections if isinstance(c, PathCollection)]
    x = points.get_offsets()[:, 0]
    at_cutoff = SIX["dose_cells"].to_numpy() == 1e9  # rows keep their order in the scatter
    assert np.all(x[at_cutoff] >= 1e9)
    assert np.all(x[SIX["dose_cells"].to_numpy() < 1e9] < 1e9)
    plt.close(fig)


def test_dose_plot_group_means_and_deterministic_jitter():
    fig1, fig2 = dose_plot(SIX), dose_plot(SIX)
    off1 = [c for c in fig1.axes[0].collections if isinstance(c, PathCollection)][0].get_offsets()
    off2 = [c for c in fig2.axes[0].collections if isinstance(c, PathCollection)][0].get_offsets()
    np.testing.assert_array_equal(off1, off2)
    ax = fig1.axes[0]
    segments = [line for line in ax.get_lines() if line.get_linewidth() == 2.5 and len(line.get_xdata()) == 2
                and line.get_ydata()[0] == line.get_ydata()[1]]
    means = sorted(round(line.get_ydata()[0], 9) for line in segments)
    reduction = SIX["hba1c_baseline"] - SIX["hba1c_post"]
    expected = sorted(round(v, 9) for v in reduction.groupby(SIX["dose_cells"]).mean().round(9))
    assert means == pytest.approx(expected)
    plt.close(fig1)
    plt.close(fig2)


def test_dose_plot_large_n_summarises_instead_of_points():
    fig = dose_plot(cohort(2500))
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert not [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(bars(ax)) == 4  # one box per dose group
    assert ax.get_ylabel() == "HbA1c reduction (percentage points)"
    plt.close(fig)


def test_dose_plot_many_distinct_doses_uses_bins():
    data = cohort(300, seed=3).assign(dose_cells=np.geomspace(1e8, 2e9, 300))
    fig = dose_plot(data)
    ax = fig.axes[0]
    segments = [line for line in ax.get_lines() if line.get_linewidth() == 2.5]
    assert 5 <= len(segments) <= 20
    # no bin straddles the cut-off
    assert all(line.get_xdata()[1] <= 1e9 or line.get_xdata()[0] >= 1e9 for line in segments)
    plt.close(fig)


# --- degenerate inputs ----------------------------------------------------------------

DEGENERATE = {
    "empty": SIX.iloc[:0],
    "one patient": SIX.iloc[[0]],
    "constant dose": SIX.assign(dose_cells=5e8),
    "constant dose at cut-off": SIX.assign(dose_cells=1e9),
    "some post missing": SIX.assign(hba1c_post=[np.nan, 7.1, np.nan, 7.6, None, 6.3]),
    "all post missing": SIX.assign(hba1c_post=np.nan),
    "nullable Float64 with NA": SIX.astype({"hba1c_post": "Float64"}).assign(
        hba1c_post=pd.array([6.8, pd.NA, 6.9, 7.6, 7.4, 6.3], dtype="Float64")),
    "zero or missing dose": SIX.assign(dose_cells=[0.0, np.nan, 1e9, 1e9, 2e9, 1e8]),
    "everyone unchanged": SIX.assign(hba1c_post=SIX["hba1c_baseline"]),
}


@pytest.mark.parametrize("plot", PLOTS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("case", list(DEGENERATE), ids=str)
def test_degenerate_inputs_give_a_figure(plot, case):
    fig = plot(DEGENERATE[case], title="A title")
    assert isinstance(fig, Figure)
    fig.canvas.draw()  # rendering must not fail either
    plt.close(fig)


@pytest.mark.parametrize("plot", PLOTS, ids=lambda f: f.__name__)
def test_empty_input_says_so(plot):
    fig = plot(SIX.iloc[:0])
    assert any(t.startswith("No patients with both HbA1c values") for t in all_text(fig))
    plt.close(fig)


@pytest.mark.parametrize("plot", PLOTS, ids=lambda f: f.__name__)
def test_missing_column_is_an_error(plot):
    with pytest.raises(KeyError, match="hba1c_post"):
        plot(SIX.drop(columns="hba1c_post"))


@pytest.mark.parametrize("plot", PLOTS, ids=lambda f: f.__name__)
def test_no_patient_ids_or_sources_in_figure_text(plot):
    fig = plot(SIX, title=None)
    text = " ".join(all_text(fig))
    for word in list(SIX["patient_id"]) + list(SIX["msc_source"]):
        assert word not in text
    plt.close(fig)


def test_title_is_optional():
    assert paired_plot(SIX).axes[0].get_title() == ""
    assert change_plot(SIX, title="Change").axes[0].get_title() == "Change"


# --- saving ---------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf"])
@pytest.mark.parametrize("plot", PLOTS, ids=lambda f: f.__name__)
def test_save_figure_is_byte_reproducible(tmp_path, plot, suffix):
    a = save_figure(plot(SIX), tmp_path / f"a{suffix}")
    b = save_figure(plot(SIX), tmp_path / "sub" / f"b{suffix}")
    c = save_figure(plot(SIX.assign(hba1c_post=SIX["hba1c_post"] - 0.3)), tmp_path / f"c{suffix}")
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_save_figure_strips_dates_and_software(tmp_path):
    fig = paired_plot(SIX)
    png = save_figure(fig, tmp_path / "f.png").read_bytes()
    svg = save_figure(fig, tmp_path / "f.svg").read_text()
    assert png.startswith(b"\x89PNG") and b"Software" not in png
    assert "<dc:date>" not in svg and "Matplotlib" not in svg
    assert save_figure(fig, tmp_path / "f.pdf").read_bytes().startswith(b"%PDF")
    plt.close(fig)


def test_save_figure_rejects_unknown_format(tmp_path):
    fig = paired_plot(SIX)
    with pytest.raises(ValueError, match="format"):
        save_figure(fig, tmp_path / "f.jpeg")
    assert not (tmp_path / "f.jpeg").exists()
    plt.close(fig)


# --- beyond the paper: regression to the mean, follow-up, power -------------------------

  # noqa: E402
  # noqa: E402
  # noqa: E402


def _rtm_curve(data=SIX):
    severe = data[data["hba1c_baseline"] > 8.0]
    return _sensitivity.rtm_curve({"overall": data, "severe": severe}, 7.1, reliabilities=[0.5, 0.7, 0.9])


def test_rtm_curve_plot_draws_each_group_in_its_colour_with_the_observed_fall_dashed():
    curve = _rtm_curve()
    fig = rtm_curve_plot(curve, central_reliability=0.71)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Test\u2013retest correlation of HbA1c, r"
    assert ax.get_ylabel() == "Fall in HbA1c (percentage points)"
    for group in ("overall", "severe"):
        colour = to_hex(figures.GROUP_COLOURS[group])
        rows = curve[curve["group"] == group]
        solid = [line for line in ax.get_lines() if to_hex(line.get_color()) == colour and line.get_linestyle() == "-"]
        dashed = [line for line in ax.get_lines() if to_hex(line.get_color()) == colour
                  and line.get_linestyle() == "--"]
        assert list(solid[0].get_ydata()) == pytest.approx(list(rows["residual_reduction"]))
        assert list(dashed[0].get_ydata()) == pytest.approx([rows["observed_mean_reduction"].iloc[0]] * 2)
    vertical = [line for line in ax.get_lines() if line.get_linestyle() == ":"]
    assert vertical and vertical[0].get_xdata()[0] == 0.71
    assert any("r = 0.71" in t for t in all_text(fig))
    plt.close(fig)


def test_rtm_curve_plot_uses_the_okabe_ito_palette():
    assert {to_hex(c) for c in figures.GROUP_COLOURS.values()} <= {to_hex(c) for c in STYLE.values()}


def test_followup_plot_points_and_per_year_line():
    fig = followup_plot(SIX)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Follow-up (months)"
    assert ax.get_ylabel() == "HbA1c reduction (percentage points)"
    (points,) = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(points.get_offsets()) == 6
    reduction = SIX["hba1c_baseline"] - SIX["hba1c_post"]
    slope = stats.linregress(SIX["followup_months"], reduction).slope
    (line,) = [line for line in ax.get_lines() if line.get_linewidth() == 2]
    x, y = line.get_xdata(), line.get_ydata()
    assert (y[1] - y[0]) / (x[1] - x[0]) == pytest.approx(slope)
    legend = " ".join(t.get_text() for t in ax.get_legend().get_texts())
    assert f"{12 * slope:+.2f}".replace("-", "\u2212") in legend
    plt.close(fig)


def test_power_curve_plot_marks_the_size_reaching_the_target():
    curve = _power.power_curve(1.1, {"Observed": 0.79, "After regression to the mean": 0.67})
    fig = power_curve_plot(curve)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Patients per arm" and ax.get_ylabel() == "Power (%)"
    assert ax.get_ylim() == (0, 100)
    markers = sorted(line.get_xdata()[0] for line in ax.get_lines() if line.get_marker() == "o")
    expected = sorted(_power.sample_size(d, 1.1).n_per_arm for d in (0.79, 0.67))
    assert markers == expected
    target = [line for line in ax.get_lines() if line.get_linestyle() == ":"]
    assert list(target[0].get_ydata()) == [80, 80]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(f"(n = {expected[0]})" in t for t in legend)
    plt.close(fig)


@pytest.mark.parametrize("case", ["empty", "one patient", "everyone unchanged", "all post missing"])
def test_beyond_figures_degrade_into_a_figure(case):
    data = DEGENERATE[case]
    for fig in (rtm_curve_plot(_rtm_curve(data)), followup_plot(data),
                power_curve_plot(_power.power_curve(None, {"Observed": 0.5}))):
        assert isinstance(fig, Figure)
        fig.canvas.draw()
        plt.close(fig)


def test_beyond_figures_say_when_there_is_nothing_to_draw():
    assert any(t.startswith("No patients") for t in all_text(rtm_curve_plot(_rtm_curve(SIX.iloc[:0]))))
    assert any(t.startswith("No patients") for t in all_text(followup_plot(SIX.iloc[:0])))
    assert any(t.startswith("No planning") for t in all_text(power_curve_plot(_power.power_curve(None, {}))))


@pytest.mark.parametrize("make", [
    lambda d: rtm_curve_plot(_rtm_curve(d), 0.71),
    followup_plot,
    lambda d: power_curve_plot(_power.power_curve(
        float((d["hba1c_baseline"] - d["hba1c_post"]).std()), {"Observed": 0.79, "Adjusted": 0.67})),
], ids=["rtm_curve_plot", "followup_plot", "power_curve_plot"])
def test_beyond_figures_are_byte_reproducible(tmp_path, make):
    a = save_figure(make(SIX), tmp_path / "a.png")
    b = save_figure(make(SIX), tmp_path / "b.png")
    c = save_figure(make(SIX.assign(hba1c_post=SIX["hba1c_post"] - 0.3 * np.arange(6))), tmp_path / "c.png")
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


# --- captions -------------------------------------------------------------------------


@pytest.mark.parametrize("n", [figures.SUMMARY_ABOVE_N_PAIRED, figures.SUMMARY_ABOVE_N_PAIRED + 1])
def test_paired_caption_describes_what_the_figure_draws(n):
    data = cohort(n)
    drawn_per_patient = bool(patient_lines(paired_plot(data).axes[0]))
    caption = figures.paired_plot_caption(data)
    assert ("Each grey line joins one patient's two values" in caption) == drawn_per_patient
    assert (f"With {n:,} patients" in caption and "box (median" in caption) == (not drawn_per_patient)


@pytest.mark.parametrize("n", [figures.SUMMARY_ABOVE_N_CHANGE, figures.SUMMARY_ABOVE_N_CHANGE + 1])
def test_change_caption_describes_what_the_figure_draws(n):
    data = cohort(n)
    ax = change_plot(data).axes[0]
    one_bar_each = ax.get_xlabel() != "Patients (count)"
    caption = figures.change_plot_caption(data)
    assert ("for each patient" in caption) == one_bar_each
    assert (f"of {n:,} patients: the bars count the patients" in caption) == (not one_bar_each)


def test_change_caption_gives_the_bins_the_figure_uses():
    data = cohort(figures.SUMMARY_ABOVE_N_CHANGE + 1)
    assert "bins of 0.1 percentage points" in figures.change_plot_caption(data)
    # Changes spread over 21.9 points: 219 recording steps, more than the 200 bins drawn at most.
    wide = data.copy()
    wide.loc[0, ["hba1c_baseline", "hba1c_post"]] = [19.9, 3.0]
    wide.loc[1, ["hba1c_baseline", "hba1c_post"]] = [4.0, 9.0]
    assert "bins of 0.2 percentage points" in figures.change_plot_caption(wide)


@pytest.mark.parametrize("n", [figures.SUMMARY_ABOVE_N_DOSE, figures.SUMMARY_ABOVE_N_DOSE + 1])
def test_dose_and_followup_captions_describe_what_the_figures_draw(n):
    data = cohort(n)
    points = [c for c in dose_plot(data).axes[0].collections if isinstance(c, PathCollection)]
    assert ("one point per patient" in figures.dose_plot_caption(data)) == bool(points)
    assert ("box (median" in figures.dose_plot_caption(data)) == (not points)
    hexagons = [c for c in followup_plot(data).axes[0].collections if not isinstance(c, PathCollection)]
    assert ("density" in figures.followup_plot_caption(data)) == bool(hexagons)
    assert ("Each patient's fall" in figures.followup_plot_caption(data)) == (not hexagons)

"""Tests of livingpaper.present.forest: the forest plot draws the rows that
livingpaper.stats.comparators.forest_rows builds from the evidence file (data/evidence.csv)
and this build's results, and nothing else."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from livingpaper import parameters, paths  # noqa: E402
from livingpaper.inputs import cohort as dataset  # noqa: E402
from livingpaper.inputs import evidence  # noqa: E402
from livingpaper.present import forest  # noqa: E402
from livingpaper.present.figures import STYLE, save_figure  # noqa: E402
from livingpaper.results import document  # noqa: E402
from livingpaper.stats import comparators  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.text import Text  # noqa: E402


def results_of(mean_reduction=0.8, low=0.5, high=1.1, severe=None) -> dict:
    """A results.json-like dict; severe=None makes the severe section not estimable."""
    def section(values, n):
        if values is None:
            return {"estimable": False, "reason": "Only one patient in this group.", "n": n,
                    "mean_reduction": None, "ci95_low": None, "ci95_high": None}
        return {"estimable": True, "reason": None, "n": n, "mean_reduction": values[0],
                "ci95_low": values[1], "ci95_high": values[2]}
    return {"sections": {"overall": section((mean_reduction, low, high), 30),
                         "moderate": section((0.5, 0.3, 0.7), 29), "severe": section(severe, 1)}}


def edited_evidence(tmp_path, row_id: str, **cells: str) -> pd.DataFrame:
    """The shipped evidence file, copied with some cells of one row changed, and loaded."""
    raw = pd.read_csv(paths.EVIDENCE_CSV, dtype=str, keep_default_na=False)
    for column, value in cells.items():
        raw.loc[raw["row_id"] == row_id, column] = value
    path = tmp_path / "evidence.csv"
    raw.to_csv(path, index=False)
    return evidence.load(path)


@pytest.fixture(scope="module")
def shipped() -> pd.DataFrame:
    return evidence.load()


@pytest.fixture(scope="module")
def figure(shipped) -> Figure:
    return forest.forest_plot(comparators.forest_rows(results_of(), shipped))


def artist(fig: Figure, gid: str):
    found = [a for a in fig.findobj() if getattr(a, "get_gid", lambda: None)() == gid]
    assert len(found) == 1, f"{len(found)} artists with gid {gid!r}"
    return found[0]


def has_artist(fig: Figure, gid: str) -> bool:
    return any(getattr(a, "get_gid", lambda: None)() == gid for a in fig.findobj())


def main_axes(fig: Figure):
    return fig.subfigs[0].axes[0]


def y_labels(fig: Figure) -> list[str]:
    return [t.get_text() for t in main_axes(fig).get_yticklabels()]


def texts(fig: Figure) -> str:
    return " ".join(t.get_text() for t in fig.findobj(Text))


def test_the_figure_is_drawn_from_the_evidence_file(tmp_path, shipped):
    # Zang 2022 placebo arm: -0.63 as published; a test copy says -0.40 instead.
    before = forest.forest_plot(comparators.forest_rows(results_of(), shipped))
    assert artist(before, "point:zang2022_placebo").get_xdata()[0] == -0.63
    changed = edited_evidence(tmp_path, "zang2022_placebo", estimate="-0.40", flags="abstract_only;secondary_detail_conflict",
                              baseline_value="", followup_value="")
    after = forest.forest_plot(comparators.forest_rows(results_of(), changed))
    assert artist(after, "point:zang2022_placebo").get_xdata()[0] == -0.40
    # Without its disagreement flag the row keeps only the letter of the dose conflict.
    assert "Zang 2022, placebo arm (n=46) [f]" in y_labels(after)


def test_a_row_added_to_the_file_appears_in_the_figure(tmp_path, shipped):
    changed = edited_evidence(tmp_path, "skyler2015_placebo", estimate="-0.25")
    fig = forest.forest_plot(comparators.forest_rows(results_of(), changed))
    assert artist(fig, "point:skyler2015_placebo").get_xdata()[0] == -0.25
    assert not has_artist(forest.forest_plot(comparators.forest_rows(results_of(), shipped)), "point:skyler2015_placebo")


def test_the_book_points_follow_this_builds_results(shipped):
    fig = forest.forest_plot(comparators.forest_rows(results_of(mean_reduction=1.2, low=0.9, high=1.5), shipped))
    assert artist(fig, "point:book_overall").get_xdata()[0] == -1.2
    assert list(artist(fig, "ci:book_overall").get_xdata()) == [-1.5, -0.9]


def test_the_book_points_of_a_real_cohort(shipped, cohort_csv):
    results = document.results(dataset.load(cohort_csv), parameters.Parameters(), reconstructed=False)
    fig = forest.forest_plot(comparators.forest_rows(results, shipped))
    reduction = results["sections"]["moderate"]["mean_reduction"]
    assert artist(fig, "point:book_moderate").get_xdata()[0] == pytest.approx(-reduction)


def test_a_vertical_line_marks_no_change(figure):
    assert list(artist(figure, "zero").get_xdata()) == [0, 0]


def test_the_x_axis_is_the_change_in_percentage_points(figure):
    assert main_axes(figure).get_xlabel() == "Change in HbA1c (percentage points)"


def test_groups_and_the_controlled_block_are_labelled(figure, shipped):
    labels = y_labels(figure)
    for controlled, title in comparators.BLOCK_TITLES.items():
        assert title in labels
    present = set(comparators.forest_rows(results_of(), shipped)["group"])
    for group in present:
        assert comparators.GROUP_TITLES[group] in labels
    # The controlled block comes after (below) every before/after row.
    assert labels.index(comparators.BLOCK_TITLES[True]) > labels.index("Lin 2020, placebo arms of T2DM drug RCTs (k=392)")


def test_controlled_differences_are_squares_and_changes_circles(figure):
    assert artist(figure, "point:kashbour2025_controlled").get_marker() == "s"
    assert artist(figure, "point:zang2022_placebo").get_marker() == "o"
    assert artist(figure, "point:book_overall").get_marker() == "o"


def test_the_controlled_block_sits_on_a_grey_band(figure):
    ax = main_axes(figure)
    y = artist(figure, "point:kashbour2025_controlled").get_ydata()[0]
    bands = [p for p in ax.patches if p.get_facecolor()[:3] != (1.0, 1.0, 1.0)]
    assert len(bands) == 1
    low, high = bands[0].get_y(), bands[0].get_y() + bands[0].get_height()  # y in data units
    assert low < y < high
    y_book = artist(figure, "point:book_overall").get_ydata()[0]
    assert not low < y_book < high


def test_points_without_a_ci_are_hollow_and_have_no_line(figure):
    point = artist(figure, "point:zang2022_msc")
    assert point.get_markerfacecolor() == "white"
    assert not has_artist(figure, "ci:zang2022_msc")
    with_ci = artist(figure, "point:kashbour2025_controlled")
    assert with_ci.get_markerfacecolor() == with_ci.get_color()
    assert list(artist(figure, "ci:kashbour2025_controlled").get_xdata()) == [-1.11, -0.33]
    assert "no CI published" in texts(figure)


def test_a_sign_reversed_source_is_plotted_as_a_fall(figure):
    # Habiba 2024 reports +0.95 (0.33 to 1.57) with positive = reduction.
    assert artist(figure, "point:habiba2024_prepost").get_xdata()[0] == -0.95
    assert list(artist(figure, "ci:habiba2024_prepost").get_xdata()) == [-1.57, -0.33]


def test_flagged_rows_carry_letters_that_the_footnote_explains(figure):
    labels = y_labels(figure)
    zang = next(label for label in labels if label.startswith("Zang 2022, placebo arm"))
    habiba = next(label for label in labels if label.startswith("Habiba 2024"))
    assert zang.endswith("[a,f]") and habiba.endswith("[b,e]")
    words = " ".join(texts(figure).split())
    assert "[a] stated change differs from the difference of the reported means" in words
    assert "[b] published as a positive reduction; sign flipped here" in words
    assert "abstract only" not in words  # on nearly every row: listed in the table, not marked
    assert "This book, all patients (n=30)" in labels  # unflagged rows carry no letters


def test_standardised_differences_are_not_on_the_axis(figure, shipped):
    for row_id in shipped.loc[shipped["measure"] == "smd", "row_id"]:
        assert not has_artist(figure, f"point:{row_id}")


def test_a_section_that_is_not_estimable_is_said_in_words(figure):
    note = artist(figure, "point:book_severe")
    assert isinstance(note, Text) and "not estimable" in note.get_text()


def test_colours_are_from_the_okabe_ito_palette(figure, shipped):
    palette = {to_hex(c) for c in STYLE.values()}
    for row_id in comparators.forest_rows(results_of(), shipped)["row_id"]:
        point = artist(figure, f"point:{row_id}")
        if not isinstance(point, Text):
            assert to_hex(point.get_color()) in palette


def test_values_are_written_beside_the_points(figure):
    words = texts(figure)
    assert "\u22120.72 (\u22121.11 to \u22120.33)" in words
    assert "\u22121.31 (no CI)" in words


def test_the_figure_is_a_text_width_wide_and_deterministic(tmp_path, shipped):
    rows = comparators.forest_rows(results_of(), shipped)
    first, second = forest.forest_plot(rows), forest.forest_plot(rows)
    assert first.get_size_inches()[0] == pytest.approx(6.5)
    a, b = save_figure(first, tmp_path / "a.png"), save_figure(second, tmp_path / "b.png")
    assert a.read_bytes() == b.read_bytes()


def test_more_rows_make_a_taller_figure_not_smaller_text(shipped):
    rows = comparators.forest_rows(results_of(), shipped)
    few = forest.forest_plot(rows[rows["group"] == comparators.GROUP_BOOK])
    many = forest.forest_plot(rows)
    assert many.get_size_inches()[1] > few.get_size_inches()[1]


def test_rows_without_needed_columns_are_refused(shipped):
    rows = comparators.forest_rows(results_of(), shipped).drop(columns=["has_ci"])
    with pytest.raises(KeyError, match="has_ci"):
        forest.forest_plot(rows)


def test_an_unknown_group_is_refused(shipped):
    rows = comparators.forest_rows(results_of(), shipped).assign(group="somewhere else")
    with pytest.raises(ValueError, match="unknown forest group"):
        forest.forest_plot(rows)


def test_no_rows_give_a_message_not_an_error(shipped):
    rows = comparators.forest_rows(results_of(), shipped).iloc[0:0]
    fig = forest.forest_plot(rows)
    assert "No estimates to show" in texts(fig)

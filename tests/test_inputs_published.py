"""Tests for livingpaper.inputs.published: the paper's figures and the rules by which a
reproduced value matches one of them.

Expected values come from data/published.yaml (read here with yaml directly) and from
the paper's abstract in data/paper/, never from the module under test.
"""
from __future__ import annotations

import re

import pytest
import yaml
from livingpaper import parameters, paths
from livingpaper.inputs import cohort as dataset
from livingpaper.inputs import published
from livingpaper.inputs.published import PublishedFigure
from livingpaper.results import document

PAPER = paths.DATA_DIR / "paper" / "matsuoka2025-abstract-and-references.txt"
RAW = yaml.safe_load(paths.PUBLISHED_FIGURES.read_text(encoding="utf-8"))
FIGURE_IDS = [fig["id"] for fig in RAW["figures"]]


def fig(kind, value, **extra) -> PublishedFigure:
    base = dict(id="x", label="x", kind=kind, value=value, section="overall", field="f", quote="q")
    return PublishedFigure(**{**base, **extra})


# --------------------------------------------------------------------------- match rules


MEAN_749 = fig("value", 7.49, decimals=2)


@pytest.mark.parametrize("reproduced", [7.485, 7.49, 7.4949])
def test_value_with_two_decimals_matches_everything_that_rounds_to_it(reproduced):
    assert published.matches(MEAN_749, reproduced)


@pytest.mark.parametrize("reproduced", [7.4849, 7.495, 7.5, 7.48])
def test_value_with_two_decimals_does_not_match_what_rounds_elsewhere(reproduced):
    assert not published.matches(MEAN_749, reproduced)


def test_value_interval_is_half_a_unit_of_the_last_decimal_either_side():
    assert MEAN_749.interval() == pytest.approx((7.485, 7.495), abs=1e-12)
    assert fig("value", 35, decimals=0).interval() == pytest.approx((34.5, 35.5))


def test_value_with_no_decimals_matches_to_the_integer():
    median = fig("value", 35, decimals=0)
    assert published.matches(median, 35.4) and published.matches(median, 34.5)
    assert not published.matches(median, 35.5) and not published.matches(median, 34.4)


SEVERE_P = fig("p_equal", 0.0122, significant_digits=3)


@pytest.mark.parametrize("reproduced", [0.01215, 0.0122, 0.01224, 0.012249])
def test_p_equal_matches_at_three_significant_digits(reproduced):
    assert published.matches(SEVERE_P, reproduced)


@pytest.mark.parametrize("reproduced", [0.01226, 0.01225, 0.01214, 0.0123, 0.122])
def test_p_equal_does_not_match_other_p_values(reproduced):
    assert not published.matches(SEVERE_P, reproduced)


def test_p_equal_interval_is_half_a_unit_of_the_last_significant_digit():
    assert SEVERE_P.interval() == pytest.approx((0.01215, 0.01225), abs=1e-15)


@pytest.mark.parametrize("reproduced, expected", [(0.00009999, True), (1e-12, True), (0.0, True),
                                                  (0.0001, False), (0.0002, False), (0.5, False)])
def test_p_below_matches_strictly_smaller_p(reproduced, expected):
    assert published.matches(fig("p_below", 0.0001), reproduced) is expected


@pytest.mark.parametrize("reproduced, expected", [(61, True), (61.0, True), (60, False), (62, False)])
def test_count_matches_only_the_same_number(reproduced, expected):
    assert published.matches(fig("count", 61), reproduced) is expected


@pytest.mark.parametrize("kind", ["minimum", "maximum"])
def test_minimum_and_maximum_dose_match_only_the_same_value(kind):
    dose = fig(kind, 1.0e8)
    assert published.matches(dose, 100_000_000)
    assert published.matches(dose, 100_000_000.0)
    assert not published.matches(dose, 150_000_000)
    assert not published.matches(dose, 1e6)


def test_minimum_with_decimals_compares_after_rounding():
    months = fig("maximum", 68, decimals=0)
    assert published.matches(months, 68.0) and published.matches(months, 68.4)
    assert not published.matches(months, 68.6) and not published.matches(months, 67)


def test_set_matches_the_same_labels_in_any_order():
    sources = fig("set", ["umbilical_cord", "bone_marrow", "adipose"])
    assert published.matches(sources, ["adipose", "umbilical_cord", "bone_marrow"])
    # results.json gives the sources as {label: count}; its keys are the set.
    assert published.matches(sources, {"adipose": 20, "bone_marrow": 20, "umbilical_cord": 21})
    assert not published.matches(sources, ["adipose", "bone_marrow"])
    assert not published.matches(sources, ["adipose", "bone_marrow", "umbilical_cord", "placenta"])


DOSE_TREND = fig("not_significant_trend", "high > low, p ≥ 0.05", alpha=0.05,
                 section="dose_comparison", field="difference")


def trend_results(difference, p):
    return {"sections": {"dose_comparison": {"difference": difference, "p": p}}}


@pytest.mark.parametrize("difference, p, expected", [
    (0.3, 0.2, True),      # larger with high dose, not significant: as published
    (0.3, 0.05, True),     # p equal to alpha is not significant
    (0.3, 0.049, False),   # significant
    (0.3, 0.001, False),   # significant
    (-0.3, 0.2, False),    # reversed
    (0.0, 0.2, False),     # no difference is no trend
    (0.3, None, False),    # no test
])
def test_not_significant_trend_needs_positive_difference_and_p_at_least_alpha(difference, p, expected):
    results = trend_results(difference, p)
    assert published.matches(DOSE_TREND, difference, results) is expected


@pytest.mark.parametrize("figure_id", FIGURE_IDS)
def test_no_reproduced_value_is_no_match(figure_id):
    figure = published.figure(published.load(), figure_id)
    assert published.matches(figure, None, trend_results(0.3, 0.5)) is False


def test_unknown_kind_is_an_error_not_a_silent_match():
    with pytest.raises(ValueError, match="kind"):
        published.matches(fig("median", 3.0), 3.0)


# --------------------------------------------------------------------------- the file


def test_load_reads_every_figure_of_the_file():
    loaded = published.load()
    assert [f.id for f in loaded["figures"]] == FIGURE_IDS
    assert len(set(FIGURE_IDS)) == len(FIGURE_IDS)
    for raw, figure in zip(RAW["figures"], loaded["figures"]):
        assert (figure.kind, figure.value, figure.section, figure.field) == (
            raw["kind"], raw["value"], raw["section"], raw["field"])


def test_figure_finds_by_id_and_rejects_an_unknown_id():
    loaded = published.load()
    assert published.figure(loaded, "severe_p").value == 0.0122
    assert published.figure(loaded, "n_patients").value == 61
    with pytest.raises(KeyError):
        published.figure(loaded, "no_such_figure")


def normalise(text: str) -> str:
    text = text.replace("≥", ">=").replace("–", "-").replace("—", "-")
    return re.sub(r"\s+", " ", text).strip()


@pytest.fixture(scope="module")
def paper_text() -> str:
    return normalise(PAPER.read_text(encoding="utf-8"))


@pytest.mark.parametrize("figure_id", FIGURE_IDS)
def test_every_figure_has_a_quote(figure_id):
    figure = published.figure(published.load(), figure_id)
    assert figure.quote and figure.quote.strip()


@pytest.mark.parametrize("figure_id", FIGURE_IDS)
def test_every_quote_occurs_in_the_paper(figure_id, paper_text):
    figure = published.figure(published.load(), figure_id)
    assert normalise(figure.quote) in paper_text


def test_group_definition_quote_occurs_in_the_paper(paper_text):
    assert normalise(RAW["definitions"]["quote_groups"]) in paper_text


def test_scalar_values_has_every_numeric_figure_and_definition():
    values = published.scalar_values(published.load())
    expected = {k: v for k, v in RAW["definitions"].items() if isinstance(v, (int, float))}
    expected.update({f["id"]: f["value"] for f in RAW["figures"]
                     if isinstance(f["value"], (int, float)) and not isinstance(f["value"], bool)})
    assert values == expected
    assert values["n_patients"] == 61 and values["baseline_mean"] == 7.49
    assert values["moderate_min"] == 6.2 and values["dose_cutoff_cells"] == 1e9
    assert "sources" not in values and "quote_groups" not in values
    assert "msc_sources" not in values and "dose_trend" not in values


# --------------------------------------------------------------------------- comparison table


def results_matching_every_figure() -> dict:
    """A results document built from the published values so that each figure matches."""
    results: dict = {"cohort": {}, "sections": {}}
    for raw in RAW["figures"]:
        value = raw["value"]
        if raw["kind"] == "p_below":
            value = value / 2
        elif raw["kind"] == "not_significant_trend":
            value = 0.3
            results["sections"].setdefault(raw["section"], {})["p"] = 0.4
        where = results["cohort"] if raw["section"] == "cohort" else results["sections"].setdefault(raw["section"], {})
        where[raw["field"]] = value
    return results


def test_comparison_table_has_one_row_per_figure_and_all_match():
    table = published.comparison_table(published.load(), results_matching_every_figure())
    assert list(table.columns) == ["id", "figure", "published", "reproduced", "match"]
    assert table["id"].tolist() == FIGURE_IDS
    assert table["match"].tolist() == [True] * len(FIGURE_IDS)


def test_comparison_table_marks_a_changed_result_as_a_mismatch():
    results = results_matching_every_figure()
    results["sections"]["severe"]["mean_reduction"] = 1.60
    results["sections"]["dose_comparison"]["p"] = 0.01
    table = published.comparison_table(published.load(), results).set_index("id")
    assert table.loc["severe_mean_reduction", "match"] == False  # noqa: E712 (must be the bool)
    assert table.loc["dose_trend", "match"] == False  # noqa: E712
    others = table.drop(index=["severe_mean_reduction", "dose_trend"])
    assert others["match"].all()


def test_comparison_table_says_not_estimable_for_a_missing_result():
    results = results_matching_every_figure()
    results["sections"]["severe"]["p"] = None
    table = published.comparison_table(published.load(), results).set_index("id")
    assert table.loc["severe_p", "reproduced"] == "not estimable"
    assert not table.loc["severe_p", "match"]


def test_comparison_table_keeps_only_the_requested_sections():
    table = published.comparison_table(published.load(), results_matching_every_figure(), sections=["severe"])
    assert table["id"].tolist() == [f["id"] for f in RAW["figures"] if f["section"] == "severe"]
    assert table["id"].tolist() == ["severe_mean_reduction", "severe_p"]


def test_comparison_table_shows_the_published_figure_at_the_paper_precision():
    table = published.comparison_table(published.load(), results_matching_every_figure()).set_index("id")
    assert table.loc["baseline_mean", "published"] == "7.49"
    assert table.loc["post_mean", "published"] == "6.7"
    assert table.loc["severe_p", "published"] == "0.0122"
    assert table.loc["n_patients", "published"] == "61"


def test_reconstructed_default_cohort_matches_every_published_figure():
    cohort = dataset.load(paths.DEFAULT_COHORT)
    results = document.results(cohort, parameters.Parameters(), reconstructed=True)
    table = published.comparison_table(published.load(), results)
    assert table.loc[~table["match"], "id"].tolist() == []

"""Tests of livingpaper.stats.comparators: computations on the evidence table.

The forest plot's rows on one sign convention and the rows it leaves out; the selections the
chapter's tables show; the comparisons the chapter states in words; and what the chapter
states by meaning (named comparisons, the rows it quotes, each with what the row must be), so
that a row that disappears from data/evidence.csv or changes its meaning fails here, not on
the page. The numbers pinned here are the published ones, quoted beside each assertion.
"""
from __future__ import annotations

import math

import pandas as pd
import pytest
from conftest import edited_copy, row, shipped_raw, write_rows
from livingpaper import parameters
from livingpaper.errors import EvidenceError
from livingpaper.inputs import cohort as dataset
from livingpaper.inputs import evidence
from livingpaper.results import document
from livingpaper.stats import comparators

# --------------------------------------------------------------------------------------
# Helpers: the shipped file as text, edited copies, and small hand-written evidence tables
# --------------------------------------------------------------------------------------


def book_results(overall=(0.5, 0.2, 0.8), moderate=(0.4, 0.1, 0.7), severe=None) -> dict:
    """A results.json-like dict: (mean_reduction, ci95_low, ci95_high) per section, None = not estimable."""
    def section(values, n):
        if values is None:
            return {"estimable": False, "reason": "Fewer than two patients.", "n": 1, "mean_reduction": None,
                    "ci95_low": None, "ci95_high": None}
        mean, low, high = values
        return {"estimable": True, "reason": None, "n": n, "mean_reduction": mean, "ci95_low": low, "ci95_high": high}
    return {"sections": {"overall": section(overall, 20), "moderate": section(moderate, 19), "severe": section(severe, 1)}}


@pytest.fixture(scope="module")
def shipped() -> pd.DataFrame:
    return evidence.load()


# --------------------------------------------------------------------------------------
# Forest rows
# --------------------------------------------------------------------------------------


def test_this_books_reduction_becomes_a_negative_change_with_its_ci_swapped(shipped):
    rows = comparators.forest_rows(book_results(overall=(0.5, 0.2, 0.8)), shipped).set_index("row_id")
    overall = rows.loc["book_overall"]
    assert (overall["estimate"], overall["ci_low"], overall["ci_high"]) == (-0.5, -0.8, -0.2)
    assert overall["group"] == comparators.GROUP_BOOK and not overall["controlled"]
    assert overall["label"] == "This book, all patients (n=20)"


def test_a_section_that_is_not_estimable_is_kept_with_its_reason(shipped):
    rows = comparators.forest_rows(book_results(severe=None), shipped).set_index("row_id")
    assert math.isnan(rows.loc["book_severe", "estimate"]) and not rows.loc["book_severe", "has_ci"]
    assert rows.loc["book_severe", "note"] == "Fewer than two patients."


def test_the_forest_rows_follow_results_computed_from_a_cohort(shipped, cohort_csv):
    results = document.results(dataset.load(cohort_csv), parameters.Parameters(), reconstructed=False)
    rows = comparators.forest_rows(results, shipped).set_index("row_id")
    for section in ("overall", "moderate", "severe"):
        s = results["sections"][section]
        assert rows.loc[f"book_{section}", "estimate"] == pytest.approx(-s["mean_reduction"])
        assert rows.loc[f"book_{section}", "ci_low"] == pytest.approx(-s["ci95_high"])


def test_a_source_that_reports_a_reduction_as_positive_is_flipped_and_keeps_its_flag(shipped):
    # Habiba 2024: MD 0.95 (0.33 to 1.57), positive = reduction.
    habiba = comparators.forest_rows(book_results(), shipped).set_index("row_id").loc["habiba2024_prepost"]
    assert (habiba["estimate"], habiba["ci_low"], habiba["ci_high"]) == (-0.95, -1.57, -0.33)
    assert habiba["sign_flipped"] and "sign_reversed_in_source" in habiba["flags"]


def test_rows_are_grouped_by_kind_of_evidence(shipped):
    group = comparators.forest_rows(book_results(), shipped).set_index("row_id")["group"]
    assert group["zang2022_msc"] == comparators.GROUP_RCT_MSC
    assert group["zang2022_placebo"] == comparators.GROUP_RCT_PLACEBO
    assert group["lin2020_t2dm"] == comparators.GROUP_DRUG_PLACEBO
    assert group["li2021meta_prepost"] == comparators.GROUP_POOLED_UNCONTROLLED
    assert group["kashbour2025_controlled"] == comparators.GROUP_POOLED_CONTROLLED
    assert group["skyler2015_msc_2_0"] == comparators.GROUP_RCT_CONTRAST


def test_only_contrasts_against_a_control_count_as_controlled(shipped):
    rows = comparators.forest_rows(book_results(), shipped)
    assert set(rows.loc[rows["controlled"], "group"]) == {comparators.GROUP_POOLED_CONTROLLED, comparators.GROUP_RCT_CONTRAST}


def test_the_groups_come_in_the_documented_order(shipped):
    rows = comparators.forest_rows(book_results(), shipped)
    order = [g for g in comparators.GROUPS if g in set(rows["group"])]
    assert list(dict.fromkeys(rows["group"])) == order
    assert rows["group"].iloc[0] == comparators.GROUP_BOOK


def test_standardised_differences_never_reach_the_percentage_point_axis(shipped):
    plotted = set(comparators.forest_rows(book_results(), shipped)["row_id"])
    excluded = comparators.excluded_rows(shipped).set_index("row_id")["reason"]
    for smd in shipped.loc[shipped["measure"] == "smd", "row_id"]:
        assert smd not in plotted
        assert excluded[smd].startswith("standardised mean difference")


def test_every_row_is_either_plotted_or_excluded_with_a_reason(shipped):
    plotted = set(comparators.forest_rows(book_results(), shipped)["row_id"])
    excluded = comparators.excluded_rows(shipped)
    assert (excluded["reason"].str.len() > 0).all()
    assert plotted.isdisjoint(excluded["row_id"])
    assert plotted | set(excluded["row_id"]) == set(shipped["row_id"]) | {"book_overall", "book_moderate", "book_severe"}


def test_secondary_time_points_are_not_plotted(shipped):
    assert "zang2023_placebo_9wk" not in set(comparators.forest_rows(book_results(), shipped)["row_id"])


def test_a_row_without_a_published_estimate_is_not_plotted_and_says_why(shipped):
    # Skyler et al. 2015: the within-arm change of the placebo arm is not in the accessible text.
    assert "skyler2015_placebo" not in set(comparators.forest_rows(book_results(), shipped)["row_id"])
    excluded = comparators.excluded_rows(shipped).set_index("row_id")["reason"]
    assert excluded["skyler2015_placebo"] == "no estimate published"


# --------------------------------------------------------------------------------------
# Summaries for the prose
# --------------------------------------------------------------------------------------


def small_forest(tmp_path, estimates: list[str]) -> pd.DataFrame:
    rows = [row(row_id=f"placebo_{i}", estimate=e) for i, e in enumerate(estimates)]
    return comparators.forest_rows(book_results(overall=(0.6, 0.3, 0.9)), evidence.load(write_rows(tmp_path, rows)))


def test_the_range_of_a_group_runs_from_the_largest_fall_to_the_smallest(tmp_path):
    result = comparators.group_range(small_forest(tmp_path, ["-0.5", "-0.2", "-0.3"]), comparators.GROUP_RCT_PLACEBO)
    assert (result.n_estimates, result.change_min, result.change_max) == (3, -0.5, -0.2)


def test_an_empty_group_is_not_estimable(tmp_path):
    result = comparators.group_range(small_forest(tmp_path, ["-0.5"]), comparators.GROUP_POOLED_CONTROLLED)
    assert not result.estimable and result.change_min is None and "no estimate" in result.reason


def test_the_book_is_compared_with_a_group_by_differences_and_ratios(tmp_path):
    # Book change -0.6 against placebo arms -0.5 and -0.2: differences -0.1 and -0.4, ratios 1.2 and 3.
    result = comparators.compare_book(small_forest(tmp_path, ["-0.5", "-0.2"]), comparators.GROUP_RCT_PLACEBO)
    assert result.estimable and result.book_change == -0.6
    assert (result.difference_min, result.difference_max) == (pytest.approx(-0.4), pytest.approx(-0.1))
    assert (result.ratio_min, result.ratio_max) == (pytest.approx(1.2), pytest.approx(3.0))


def test_no_ratio_is_given_against_a_comparator_of_the_other_sign(tmp_path):
    result = comparators.compare_book(small_forest(tmp_path, ["-0.5", "0.1"]), comparators.GROUP_RCT_PLACEBO)
    assert result.estimable and result.ratio_min is None and result.ratio_max is None
    assert "same sign" in result.ratio_note
    assert (result.difference_min, result.difference_max) == (pytest.approx(-0.7), pytest.approx(-0.1))


def test_a_book_section_that_is_not_estimable_gives_no_comparison(shipped):
    rows = comparators.forest_rows(book_results(overall=None), shipped)
    result = comparators.compare_book(rows, comparators.GROUP_RCT_PLACEBO)
    assert not result.estimable and result.book_change is None and "not estimable" in result.reason


def test_one_meta_analysis_with_both_estimates_gives_the_controlled_share(shipped):
    # PMID 33705413: MD vs control -0.87; pre/post in MSC arms -1.32.
    gap = comparators.same_source_gap(comparators.forest_rows(book_results(), shipped), "pmid33705413")
    assert gap.estimable and gap.gap == pytest.approx(-1.32 + 0.87)
    assert gap.controlled_share == pytest.approx(0.87 / 1.32)


def test_a_source_with_only_one_kind_of_estimate_has_no_gap(shipped):
    gap = comparators.same_source_gap(comparators.forest_rows(book_results(), shipped), "kashbour2025")
    assert not gap.estimable and gap.controlled_difference == -0.72 and gap.uncontrolled_change is None


def test_the_share_of_two_separately_pooled_estimates_is_said_to_be_approximate(shipped):
    section = {"estimable": True, "reason": None, "n": 61, "mean_reduction": 0.79, "ci95_low": 0.5, "ci95_high": 1.07}
    results = {"sections": {name: dict(section) for name in ("overall", "moderate", "severe")}}
    gap = comparators.same_source_gap(comparators.forest_rows(results, shipped), "pmid33705413")
    assert gap.estimable and gap.reason.startswith("Approximate")
    assert gap.controlled_share == pytest.approx(-0.87 / -1.32)


def test_zang2022_keeps_the_stated_changes_and_the_means_that_disagree_with_them(shipped):
    # Zang et al. 2022, abstract: HbA1c "decreased 1.31%" (MSC, 9.02 +/- 1.27 -> 7.52 +/- 1.07)
    # and "only 0.63%" (placebo, 8.89 +/- 1.11 -> 8.19 +/- 1.02).
    msc = comparators.stated_versus_means(shipped, "zang2022_msc")
    placebo = comparators.stated_versus_means(shipped, "zang2022_placebo")
    assert (msc.stated_change, msc.baseline_mean, msc.followup_mean) == (-1.31, 9.02, 7.52)
    assert msc.difference_of_means == pytest.approx(-1.50)
    assert msc.discrepancy == pytest.approx(0.19)
    assert (placebo.stated_change, placebo.difference_of_means) == (-0.63, pytest.approx(-0.70))
    assert msc.flagged and placebo.flagged


def test_summaries_are_plain_python_values(shipped):
    rows = comparators.forest_rows(book_results(), shipped)
    for result in (comparators.compare_book(rows, comparators.GROUP_RCT_PLACEBO), comparators.group_range(rows, comparators.GROUP_RCT_MSC),
                   comparators.same_source_gap(rows, "pmid33705413"), comparators.stated_versus_means(shipped, "zang2022_msc")):
        assert all(v is None or type(v) in (bool, int, float, str) for v in result.to_dict().values())


def test_a_reported_r_squared_is_read_from_the_row_notes(shipped):
    assert comparators.reported_r_squared(shipped, "baselinehba1c2016_slope") == 0.19
    assert comparators.value(shipped, "baselinehba1c2016_slope") == -0.44
    with pytest.raises(KeyError):
        comparators.reported_r_squared(shipped, "no_such_row")


# --------------------------------------------------------------------------------------
# Selections for the chapter's tables
# --------------------------------------------------------------------------------------


def test_flagged_rows_are_the_rows_with_any_flag_in_file_order(shipped):
    flagged = comparators.flagged_rows(shipped)
    assert list(flagged["row_id"]) == [r for r, f in zip(shipped["row_id"], shipped["flags"]) if f]
    assert "zang2022_msc" in set(flagged["row_id"])  # reported_change_differs_from_means; ...
    assert "lin2020_t2dm" not in set(flagged["row_id"])  # no flag


def test_what_a_row_lacks_depends_on_what_kind_of_row_it_is(tmp_path):
    table = evidence.load(write_rows(tmp_path, [
        row(row_id="arm_bare"),
        row(row_id="arm_full", n="40", ci_low="-0.8", ci_high="-0.2", level_statistic="mean",
            baseline_value="8.5", followup_value="8.0"),
        row(row_id="arm_se", n="12", spread_type="SE", spread="0.2"),
        row(row_id="pooled", design="meta-analysis", arm="pooled placebo", estimate=""),
    ])).set_index("row_id")
    missing = {row_id: comparators.missing_items(r) for row_id, r in table.iterrows()}
    assert missing == {
        "arm_bare": ["95% CI or spread", "n", "baseline level", "follow-up level"],
        "arm_full": [],
        "arm_se": ["baseline level", "follow-up level"],  # an SE stands in for the CI
        "pooled": ["estimate", "n"],  # a pooled change has no levels to give
    }


def test_unreported_rows_are_the_changes_without_an_estimate_with_what_they_lack(shipped):
    unreported = comparators.unreported_rows(shipped).set_index("row_id")
    assert shipped.set_index("row_id").loc[unreported.index, "estimate"].isna().all()
    assert set(shipped.loc[shipped["measure"].isin(evidence.PERCENT_MEASURES) & shipped["estimate"].isna(),
                           "row_id"]) == set(unreported.index)
    # Skyler et al. 2015: the placebo arm's baseline level is given, its change and follow-up level are not.
    assert unreported.loc["skyler2015_placebo", "missing"] == ["estimate", "follow-up level"]
    assert "gough2023_cv_t2dm" not in unreported.index  # a CV is not a change, whatever it lacks


def test_the_number_of_plotted_estimates_leaves_out_this_books_rows(tmp_path, shipped):
    assert comparators.n_plotted(small_forest(tmp_path, ["-0.5", "-0.2", "-0.3"])) == 3
    rows = comparators.forest_rows(book_results(), shipped)
    assert comparators.n_plotted(rows) == len(rows) - 3


# --------------------------------------------------------------------------------------
# What the chapter states, by meaning
# --------------------------------------------------------------------------------------


def test_each_named_comparison_is_a_group_of_published_estimates():
    assert set(comparators.BOOK_COMPARISONS.values()) <= set(comparators.GROUPS) - {comparators.GROUP_BOOK}
    assert len(set(comparators.BOOK_COMPARISONS.values())) == len(comparators.BOOK_COMPARISONS)


def test_the_named_comparisons_set_the_book_beside_their_groups(shipped):
    rows = comparators.forest_rows(book_results(overall=(0.6, 0.3, 0.9)), shipped)
    compared = comparators.book_comparisons(rows)
    assert list(compared) == list(comparators.BOOK_COMPARISONS)
    # Placebo arms over 48 weeks: Zang 2022 -0.63 (stated), Zang 2023 -0.51. Book change -0.6:
    # differences -0.6 + 0.51 = -0.09 and -0.6 + 0.63 = 0.03; ratios 0.6/0.63 and 0.6/0.51.
    placebo = compared["rct_placebo"]
    assert (placebo.n_comparators, placebo.comparator_min, placebo.comparator_max) == (2, -0.63, -0.51)
    assert (placebo.difference_min, placebo.difference_max) == (pytest.approx(-0.09), pytest.approx(0.03))
    assert (placebo.ratio_min, placebo.ratio_max) == (pytest.approx(0.6 / 0.63), pytest.approx(0.6 / 0.51))
    # Lin et al. 2020: the pooled placebo change in type 2 diabetes drug trials, -0.12.
    assert (compared["drug_placebo"].n_comparators, compared["drug_placebo"].comparator_min) == (1, -0.12)
    # Kashbour 2025 -0.72 and PMID 33705413 -0.87 against control.
    controlled = compared["pooled_controlled"]
    assert (controlled.comparator_min, controlled.comparator_max) == (-0.87, -0.72)
    # PMID 33705413 -1.32, Li 2021 -1.51, Habiba 2024 +0.95 published as a reduction: -0.95.
    uncontrolled = compared["pooled_uncontrolled"]
    assert (uncontrolled.n_comparators, uncontrolled.comparator_min, uncontrolled.comparator_max) == (3, -1.51, -0.95)


def test_the_meta_analysis_the_chapter_names_reports_both_pooled_estimates(shipped):
    # PMID 33705413: MD vs control -0.87 (-1.53 to -0.22); MSC arms pre/post -1.32 (-2.06 to -0.57).
    gap = comparators.same_source_gap(comparators.forest_rows(book_results(), shipped))
    assert gap.citation_key == comparators.BOTH_POOLED_SOURCE and gap.estimable
    assert (gap.controlled_difference, gap.uncontrolled_change) == (-0.87, -1.32)


def test_every_row_the_chapter_quotes_is_in_the_shipped_file_and_is_what_the_chapter_says(shipped):
    assert comparators.check_cited_rows(shipped) == []
    cited = comparators.cited_figures(shipped)
    assert list(cited) == list(comparators.CITED_ROWS)
    assert {name: figure.row_id for name, figure in cited.items()} == {
        name: row.row_id for name, row in comparators.CITED_ROWS.items()}


def test_the_quoted_rows_give_the_published_numbers(shipped):
    cited = comparators.cited_figures(shipped)
    numbers = lambda name: tuple(getattr(cited[name], f) for f in ("estimate", "ci_low", "ci_high"))  # noqa: E731
    # Lin et al. 2020, Table 1: placebo arms of 392 T2DM drug RCTs, -0.12 (-0.16 to -0.07);
    # injectable placebo -0.22 (-0.32 to -0.11), oral -0.09 (-0.14 to -0.04).
    assert numbers("drug_placebo_pooled") == (-0.12, -0.16, -0.07) and cited["drug_placebo_pooled"].k_studies == 392
    assert numbers("drug_placebo_injected") == (-0.22, -0.32, -0.11)
    assert numbers("drug_placebo_oral") == (-0.09, -0.14, -0.04)
    # Zang et al. 2023: placebo arm -0.96 at 9 weeks (no CI).
    assert numbers("rct_placebo_early") == (-0.96, None, None)
    # Skyler et al. 2015: -0.3 placebo-adjusted, SE 0.25.
    assert (cited["rct_placebo_adjusted"].estimate, cited["rct_placebo_adjusted"].spread) == (-0.3, 0.25)
    # Habiba et al. 2024: 0.95 (0.33 to 1.57), quoted in the source's own sign (positive = fell).
    assert numbers("sign_reversed_pooled") == (0.95, 0.33, 1.57)
    # Oke et al.: +0.1 % per 6 months (0.05 to 0.15); Schmidt et al. 2021: 49.4 % (45.2 to 53.7),
    # 20.2 % (12.1 to 28.3) after adjustment; Jones 2016: beta -0.44.
    assert numbers("usual_care_drift") == (0.1, 0.05, 0.15)
    assert numbers("regressed_at_retest") == (49.4, 45.2, 53.7)
    assert numbers("regressed_rtm_adjusted") == (20.2, 12.1, 28.3)
    assert cited["baseline_slope"].estimate == -0.44
    # Matsuoka 2025: 6.7 - 7.49 = -0.79, derived from the two published means.
    assert cited["paper_overall"].estimate == -0.79 and cited["paper_overall"].citation_key == "matsuoka2025"


def test_a_quoted_row_that_disappears_fails_with_its_name_its_meaning_and_its_row_id(tmp_path, shipped):
    raw = shipped_raw()
    path = tmp_path / "evidence.csv"
    raw[raw["row_id"] != "oke_drift"].to_csv(path, index=False)
    table = evidence.load(path)  # still a valid evidence file
    meaning = comparators.CITED_ROWS["usual_care_drift"].meaning
    assert comparators.check_cited_rows(table) == [f"evidence: usual_care_drift ({meaning}): no row 'oke_drift' in the table"]
    with pytest.raises(EvidenceError, match="usual_care_drift .*no row 'oke_drift'"):
        comparators.cited_figures(table)
    with pytest.raises(EvidenceError, match="oke_drift"):
        comparators.summarise(comparators.forest_rows(book_results(), table), table)
    assert comparators.cited_figure(table, "drug_placebo_pooled").estimate == -0.12  # the others still answer


def test_a_quoted_row_that_becomes_another_kind_of_row_fails(tmp_path):
    table = evidence.load(edited_copy(tmp_path, "lin2020_oral", arm="placebo"))
    [problem] = comparators.check_cited_rows(table)
    assert problem.startswith("evidence: drug_placebo_oral (")
    assert problem.endswith("row 'lin2020_oral' is arm 'placebo' with measure 'change_percent', "
                            "not arm 'pooled placebo' with measure 'change_percent'")


def test_a_quoted_row_that_loses_the_flag_its_sentence_speaks_of_fails(tmp_path):
    # Habiba 2024 rewritten in the usual sign convention: no longer "reported as a positive reduction".
    table = evidence.load(edited_copy(tmp_path, "habiba2024_prepost", sign_convention="negative = fell",
                                      estimate="-0.95", ci_low="-1.57", ci_high="-0.33",
                                      flags="mixed_diabetes_types;abstract_only"))
    assert [p.split(": ", 2)[-1] for p in comparators.check_cited_rows(table)] == [
        "row 'habiba2024_prepost' lacks the flag(s) sign_reversed_in_source"]


def test_a_quoted_spread_of_another_kind_fails(tmp_path):
    # The chapter says "SE" of Skyler 2015's difference.
    table = evidence.load(edited_copy(tmp_path, "skyler2015_msc_2_0", spread_type="SD"))
    assert [p.split(": ", 2)[-1] for p in comparators.check_cited_rows(table)] == [
        "row 'skyler2015_msc_2_0' has spread 'SD', not 'SE'"]


def test_an_unknown_name_is_refused_with_the_known_ones(shipped):
    with pytest.raises(KeyError, match="no cited evidence row named 'lin2020_t2dm' .*drug_placebo_pooled"):
        comparators.cited_figure(shipped, "lin2020_t2dm")


def test_the_disagreeing_arms_are_the_quoted_rows_flagged_for_it(shipped):
    disagreements = comparators.disagreements(shipped)
    assert list(disagreements) == list(comparators.DISAGREEING_ARMS)
    assert all(d.flagged and d.estimable for d in disagreements.values())
    # Zang 2022: stated -1.31 against 7.52 - 9.02 = -1.50 (MSC); -0.63 against 8.19 - 8.89 = -0.70 (placebo).
    assert disagreements["disagreeing_msc_arm"].discrepancy == pytest.approx(0.19)
    assert disagreements["disagreeing_placebo_arm"].difference_of_means == pytest.approx(-0.70)


def test_the_summary_holds_everything_the_chapter_states(shipped):
    rows = comparators.forest_rows(book_results(overall=(0.6, 0.3, 0.9)), shipped)
    summary = comparators.summarise(rows, shipped)
    assert (summary.book_change, summary.book_ci95_low, summary.book_ci95_high) == (-0.6, -0.9, -0.3)
    assert (summary.n_rows, summary.n_plotted) == (len(shipped), comparators.n_plotted(rows))
    assert summary.comparisons == comparators.book_comparisons(rows)
    assert summary.cited == comparators.cited_figures(shipped)
    assert summary.disagreements == comparators.disagreements(shipped)
    assert summary.same_source == comparators.same_source_gap(rows, comparators.BOTH_POOLED_SOURCE)


def test_the_summary_of_another_section_uses_that_sections_change(shipped):
    rows = comparators.forest_rows(book_results(moderate=(0.4, 0.1, 0.7)), shipped)
    summary = comparators.summarise(rows, shipped, section="moderate")
    assert (summary.section, summary.book_change) == ("moderate", -0.4)
    assert summary.comparisons["rct_placebo"].section == "moderate"


def test_a_book_change_that_is_not_estimable_leaves_the_summary_without_it(shipped):
    summary = comparators.summarise(comparators.forest_rows(book_results(overall=None), shipped), shipped)
    assert summary.book_change is None and summary.book_ci95_low is None
    assert not summary.comparisons["rct_placebo"].estimable
    assert summary.cited["drug_placebo_pooled"].estimate == -0.12  # the published numbers do not depend on it

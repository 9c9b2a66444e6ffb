"""Tests of livingpaper.present.evidence: the evidence chapter's tables and the numbers its
prose pastes, and of chapters/evidence.md, which calls them.

The tables are checked as MyST Markdown (escaped text, citation roles); the selections they
show come from livingpaper.stats.comparators (tests/test_stats_comparators.py).
"""
from __future__ import annotations

import dataclasses
import math
import re

import pandas as pd
import pytest
from livingpaper import paths
from livingpaper.inputs import evidence
from livingpaper.present import evidence as present_evidence
from livingpaper.stats import comparators

ROOT = paths.ROOT
BIBFILES = [paths.REFERENCES, paths.EVIDENCE_BIB]
CHAPTER = ROOT / "chapters" / "evidence.md"


@pytest.fixture(scope="module")
def shipped() -> pd.DataFrame:
    return evidence.load()


# --------------------------------------------------------------------------------------
# Tables of the chapter
# --------------------------------------------------------------------------------------


def test_the_evidence_table_cites_each_row_and_escapes_the_text(shipped):
    table = present_evidence.evidence_table(shipped)
    assert table.count("\n") == len(shipped) + 1
    for key in set(shipped["citation_key"]):
        assert "{cite:t}`" + key + "`" in table
    assert "dose &gt;=1e9 vs &lt;1e9 cells" in table  # '<' and '>' never become HTML


def test_a_table_shows_the_rows_it_is_given_and_no_others(shipped):
    # Selecting rows is the statistics layer's job: the tables show what they receive.
    assert present_evidence.evidence_table(shipped.head(3)).count("\n") == 3 + 1
    assert present_evidence.flags_table(shipped.iloc[:0]).count("\n") == 1  # header and rule only
    unflagged = shipped[shipped["row_id"] == "lin2020_t2dm"]
    assert "lin2020\\_t2dm" in present_evidence.flags_table(unflagged)


def test_the_flags_table_lists_every_flagged_row_in_words(shipped):
    table = present_evidence.flags_table(comparators.flagged_rows(shipped))
    assert table.count("\n") == int((shipped["flags"] != "").sum()) + 1
    assert "stated change differs from the difference of the reported means" in table


def test_the_gaps_table_says_what_each_row_lacks(shipped):
    table = present_evidence.gaps_table(comparators.unreported_rows(shipped))
    assert "| skyler2015\\_placebo | Skyler 2015, placebo arm | estimate, follow-up level |" in table
    assert "zang2022" not in table


def test_the_gaps_table_shows_levels_as_published_with_their_trailing_zeros(shipped):
    # Lian et al. 2022, abstract: median 7.80 (7.525-8.675) -> 7.15 (6.600-7.925).
    assert "7.80 → 7.15 \\(median \\(IQR\\)\\)" in present_evidence.gaps_table(comparators.unreported_rows(shipped))


def test_the_excluded_table_gives_each_row_its_reason(shipped):
    excluded = comparators.excluded_rows(shipped)
    table = present_evidence.excluded_table(excluded)
    assert table.count("\n") == len(excluded) + 1
    assert ("| ranjbaran2021\\_prepost | Ranjbaran 2021, 7 trials pre/post \\(SMD\\) | standardised mean difference\\: "
            "no percentage-point unit, cannot share the axis |") in table


# --------------------------------------------------------------------------------------
# Numbers for the prose
# --------------------------------------------------------------------------------------


def book_results(overall=(0.6, 0.3, 0.9)) -> dict:
    """A results.json-like dict: (mean_reduction, ci95_low, ci95_high) of each section, None = not estimable."""
    def section(values):
        if values is None:
            return {"estimable": False, "reason": "Fewer than two patients.", "n": 1, "mean_reduction": None,
                    "ci95_low": None, "ci95_high": None}
        return {"estimable": True, "reason": None, "n": 20, "mean_reduction": values[0], "ci95_low": values[1],
                "ci95_high": values[2]}
    return {"sections": {"overall": section(overall), "moderate": section((0.4, 0.1, 0.7)), "severe": section(None)},
            "cohort": {"followup_median_months": 35.0}}


def prose_of(results: dict, table: pd.DataFrame) -> dict:
    summary = comparators.summarise(comparators.forest_rows(results, table), table)
    return present_evidence.prose_values(results, summary, evidence.rtm_anchors(table))


@pytest.fixture(scope="module")
def prose(shipped) -> dict:
    return prose_of(book_results(), shipped)


def test_every_number_the_chapter_pastes_is_among_the_prose_values(prose):
    pasted = set(re.findall(r"\{glue:text\}`(ev_\w+)", CHAPTER.read_text(encoding="utf-8")))
    assert pasted, "the chapter pastes no number"
    assert sorted(pasted - set(prose)) == []


def test_prose_values_are_plain_ints_for_counts_and_floats_otherwise(prose):
    assert all(type(v) in (int, float) for v in prose.values())
    # Counts paste as "2", not "2.0".
    for key in ("ev_book_n", "ev_n_rows", "ev_n_plotted", "ev_rct_placebo_n_comparators", "ev_drug_placebo_pooled_k"):
        assert type(prose[key]) is int, key
    assert type(prose["ev_followup_median"]) is float


def test_prose_values_are_the_summarys_numbers(prose, shipped):
    assert (prose["ev_book_change"], prose["ev_book_low"], prose["ev_book_high"]) == (-0.6, -0.9, -0.3)
    assert (prose["ev_book_n"], prose["ev_followup_median"], prose["ev_n_rows"]) == (20, 35.0, len(shipped))
    # Zang 2022 and 2023 placebo arms, -0.63 and -0.51: the book's -0.6 is 0.6/0.63 to 0.6/0.51 times them.
    assert (prose["ev_rct_placebo_n_comparators"], prose["ev_rct_placebo_comparator_min"]) == (2, -0.63)
    assert prose["ev_rct_placebo_ratio_max"] == pytest.approx(0.6 / 0.51)
    # Lin et al. 2020, Table 1: -0.12 (-0.16 to -0.07) over 392 trials; Skyler 2015: SE 0.25.
    assert [prose[f"ev_drug_placebo_pooled{s}"] for s in ("", "_low", "_high", "_k")] == [-0.12, -0.16, -0.07, 392]
    assert prose["ev_rct_placebo_adjusted_spread"] == 0.25
    # PMID 33705413: -0.87 against control, -1.32 before/after.
    assert prose["ev_same_share"] == pytest.approx(0.87 / 1.32)
    # Zang 2022 placebo arm: mean baseline 8.89 %, means differ by 8.19 - 8.89.
    assert prose["ev_disagreeing_placebo_arm_baseline"] == 8.89
    assert prose["ev_disagreeing_placebo_arm_means"] == pytest.approx(-0.70)
    # Miyazawa 2022: 7.1 %, SD 1.1; Gough 2023: CV 0.083; within-person SD 0.083 x 7.1.
    assert (prose["ev_pop_mean"], prose["ev_pop_sd"], prose["ev_cv"]) == (7.1, 1.1, 0.083)
    assert prose["ev_within_sd"] == pytest.approx(0.5893)


def test_a_number_that_is_not_there_is_pasted_as_nan(prose, shipped):
    # Lin 2020 gives a CI, no SD or SE; Zang 2023 at 9 weeks gives no CI.
    assert math.isnan(prose["ev_drug_placebo_pooled_spread"]) and math.isnan(prose["ev_rct_placebo_early_low"])
    unestimable = prose_of(book_results(overall=None), shipped)
    assert math.isnan(unestimable["ev_book_change"]) and math.isnan(unestimable["ev_rct_placebo_ratio_min"])
    assert unestimable["ev_drug_placebo_pooled"] == -0.12


def test_two_numbers_with_one_glue_key_are_refused(shipped):
    results = book_results()
    summary = comparators.summarise(comparators.forest_rows(results, shipped), shipped)
    # A quoted row named "rct_placebo_comparator_min" would paste as the comparison's ev_rct_placebo_comparator_min.
    clash = dataclasses.replace(summary, cited={"rct_placebo_comparator_min": summary.cited["usual_care_drift"]})
    with pytest.raises(ValueError, match="ev_rct_placebo_comparator_min"):
        present_evidence.prose_values(results, clash, evidence.rtm_anchors(shipped))


# --------------------------------------------------------------------------------------
# chapters/evidence.md: it calls, shows and glues
# --------------------------------------------------------------------------------------


def code_of_chapter() -> str:
    return "\n".join(re.findall(r"```\{code-cell\}[^\n]*\n(.*?)```", CHAPTER.read_text(encoding="utf-8"), re.S))


def test_every_citation_of_the_chapter_resolves():
    text = CHAPTER.read_text(encoding="utf-8")
    cited = {key.strip() for keys in re.findall(r"\{cite:[pt]\}`([^`]+)`", text) for key in keys.split(",")}
    assert cited, "the chapter cites nothing"
    assert cited - evidence.citation_keys(BIBFILES) == set()


def test_the_chapter_names_no_row_of_the_evidence_table(shipped):
    # The rows it quotes are named by meaning in stats/comparators.py (CITED_ROWS).
    text = CHAPTER.read_text(encoding="utf-8")
    assert [r for r in shipped["row_id"] if re.search(rf"(?<![\w]){re.escape(r)}(?!\w)", text)] == []


def test_the_chapter_defines_no_function_and_selects_no_rows():
    code = code_of_chapter()
    assert code, "no code cell found"
    assert "lambda" not in code and not re.search(r"^\s*def ", code, re.M)
    assert ".sum()" not in code and ".loc[" not in code and "len(" not in code


def test_the_chapter_cites_every_source_of_the_comparisons_it_states(shipped):
    # The prose names these groups' sources in one citation each; a new row in a group
    # (a new source) makes the sentence incomplete and must fail here.
    cited_for = {"rct_placebo": "zang2022,zang2023", "pooled_controlled": "kashbour2025,pmid33705413",
                 "pooled_uncontrolled": "pmid33705413,li2021meta,habiba2024", "drug_placebo": "lin2020"}
    text = CHAPTER.read_text(encoding="utf-8")
    rows = comparators.forest_rows(book_results(), shipped)
    for name, keys in cited_for.items():
        group = comparators.BOOK_COMPARISONS[name]
        assert set(rows.loc[rows["group"] == group, "citation_key"]) == set(keys.split(",")), name
        assert "{cite:p}`" + keys + "`" in text, name

"""Tests for livingpaper.present.paired: the Markdown of the results pages.

What a reader sees is checked by rendering the Markdown with the MyST parser the book
uses (markdown-it with the MyST plugins) and reading the text back out of the HTML, so
the tests judge the rendered page, not the exact escaping characters chosen.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import cohort_frame, rendered, table, write_csv
from livingpaper.inputs import cohort as dataset
from livingpaper.parameters import Parameters
from livingpaper.present import paired
from livingpaper.results import document
from livingpaper.stats import paired as stats
from markdown_it import MarkdownIt
from statsmodels.stats.weightstats import DescrStatsW

COMMONMARK = MarkdownIt("commonmark")


def md(value) -> str:
    return value.data if hasattr(value, "data") else value


@pytest.fixture
def cohort(cohort_csv):
    return dataset.load(cohort_csv)


# --------------------------------------------------------------------------- headline


def reductions(patients):
    frame = cohort_frame().set_index("patient_id").loc[sorted(patients)]
    b = frame["hba1c_baseline"].to_numpy(float)
    a = frame["hba1c_post"].to_numpy(float)
    return b, a


def test_headline_of_an_estimable_result_quotes_its_numbers(cohort):
    params = Parameters()
    result = document.paired(cohort, "moderate", params)
    b, a = reductions({"P01", "P02", "P03", "P04", "P05"})
    d = DescrStatsW(b - a)
    t, p, df = d.ttest_mean(0)
    low, high = d.tconfint_mean()
    assert p >= 0.001  # so the paper's style writes it as p = x.xxx (three significant digits)
    text = md(paired.headline(result, "moderate", params))
    for expected in [
        "n = 5", f"{b.mean():.2f} %", f"{a.mean():.2f} %", f"{(b - a).mean():.2f} percentage points",
        f"95% CI {low:.2f} to {high:.2f}", f"t({df:.0f}) = {t:.2f}", f"p = {p:#.3g}", "fell",
    ]:
        assert expected in text, (expected, text)
    assert "6.2 % to 8.0 %" in text  # the population in words, with this build's thresholds


def test_headline_says_rose_when_hba1c_rose(tmp_path):
    frame = cohort_frame()
    frame["hba1c_post"] = [round(v + 0.1 * (i + 1), 1) for i, v in enumerate(frame["hba1c_baseline"])]
    cohort = dataset.load(write_csv(tmp_path, frame))
    result = document.paired(cohort, "overall", Parameters())
    text = md(paired.headline(result, "overall", Parameters()))
    assert "rose" in text and "fell" not in text
    assert f"{-0.55:.2f} percentage points" in text  # mean of -0.1 ... -1.0


def test_headline_for_an_empty_population_says_so_in_words(cohort):
    params = Parameters(severe_above=11.0)
    result = document.paired(cohort, "severe", params)
    assert result.n == 0
    text = md(paired.headline(result, "severe", params))
    assert "not estimable" in text and "No patient" in text
    assert "percentage points" not in text and "nan" not in text.lower()


def test_headline_for_a_single_patient_says_not_estimable(cohort):
    params = Parameters(severe_above=10.0)  # only P08 (10.2)
    result = document.paired(cohort, "severe", params)
    text = md(paired.headline(result, "severe", params))
    assert "n = 1" in text
    assert "not estimable" in "".join(rendered(text).text).lower()
    assert "percentage points" not in text and "None" not in text


def test_headline_does_not_say_rose_when_the_mean_did_not_change():
    result = stats.paired_reduction(pd.DataFrame({"hba1c_baseline": [7.0, 7.5], "hba1c_post": [7.5, 7.0]}))
    assert result.estimable and result.mean_reduction == 0
    assert "rose" not in md(paired.headline(result, "overall", Parameters()))


# --------------------------------------------------------------------------- tables


def test_published_table_marks_matches_and_mismatches():
    comparison = pd.DataFrame({
        "id": ["baseline_mean", "severe_p"],
        "figure": ["Mean baseline HbA1c (%)", "Severe group, paired t-test p"],
        "published": ["7.49", "0.0122"],
        "reproduced": ["7.4902", "0.0310"],
        "match": [True, False],
    })
    rows = table(paired.published_table(comparison))
    assert len(rows) == 3
    assert rows[1][0] == "Mean baseline HbA1c (%)" and rows[1][1:3] == ["7.49", "7.4902"]
    assert "✓" in rows[1][3] and "✗" not in rows[1][3]
    assert rows[2][0] == "Severe group, paired t-test p"
    assert "✗" in rows[2][3] and "✓" not in rows[2][3]


def test_published_table_of_nothing_says_so():
    empty = pd.DataFrame(columns=["id", "figure", "published", "reproduced", "match"])
    assert "no figure" in paired.published_table(empty)


def test_published_table_header_reads_as_written():
    comparison = pd.DataFrame({"id": ["a"], "figure": ["A"], "published": ["1"], "reproduced": ["1"],
                               "match": [True]})
    header = table(paired.published_table(comparison))[0]
    assert header[-1] == "Match at the paper's precision"


def test_paired_table_has_one_row_per_statistic_and_a_column_per_result(cohort):
    params = Parameters()
    columns = {"moderate": document.paired(cohort, "moderate", params),
               "severe": document.paired(cohort, "severe", params),
               "tiny": document.paired(cohort, "severe", Parameters(severe_above=10.0))}
    rows = table(paired.paired_table(columns))
    assert rows[0][1:] == ["moderate", "severe", "tiny"]
    assert len(rows) == 1 + 11  # header + eleven statistics
    assert all(len(r) == 4 for r in rows)
    by_statistic = {r[0]: r[1:] for r in rows[1:]}
    b, a = reductions({"P06", "P07", "P08", "P09"})
    d = DescrStatsW(b - a)
    t, p, df = d.ttest_mean(0)
    assert by_statistic["Patients (n)"] == ["5", "4", "1"]
    assert by_statistic["Baseline HbA1c, mean (SD), %"][1] == f"{b.mean():.2f} ({b.std(ddof=1):.2f})"
    assert by_statistic["Post-treatment HbA1c, mean (SD), %"][1] == f"{a.mean():.2f} ({a.std(ddof=1):.2f})"
    assert by_statistic["Mean reduction (SD), percentage points"][1] == (
        f"{(b - a).mean():.2f} ({(b - a).std(ddof=1):.2f})")
    assert by_statistic["Paired t statistic (df)"][1] == f"{t:.2f} (3)"
    assert by_statistic["Paired t statistic (df)"][2] == "–"  # not estimable with one patient
    # R's V = W+, by hand: moderate |changes| 0.1 (a rise), 0.3, 0.4, 0.5, 0.9 -> ranks of the
    # falls 2 + 3 + 4 + 5 = 14; severe 0.2, 1.1, 1.3, 1.8, all falls -> 1 + 2 + 3 + 4 = 10.
    # R: wilcox.test(baseline, post, paired = TRUE)$statistic gives V = 14 and V = 10.
    v_row = by_statistic["Wilcoxon signed-rank V (R's V: rank sum of the falls)"]
    assert v_row[:2] == ["14", "10"]
    assert by_statistic["Wilcoxon variant (see Methods)"][:2] == ["exact", "exact"]


def test_tables_print_p_below_one_in_ten_thousand_as_less_than_never_as_digits_of_a_tail():
    result = stats.PairedReduction(
        estimable=True, reason=None, n=61, baseline_mean=7.5, baseline_sd=0.7, post_mean=6.7, post_sd=0.9,
        mean_reduction=0.8, sd_reduction=1.1, ci95_low=0.5, ci95_high=1.1, t=5.6, df=60, p=5.8e-07,
        cohen_dz=0.72, wilcoxon_statistic=201.5, wilcoxon_p=2.46e-07, wilcoxon_v=1689.5,
        wilcoxon_method="normal approximation (no continuity correction)")
    by_statistic = {r[0]: r[1:] for r in table(paired.paired_table({"All": result}))[1:]}
    assert by_statistic["p (two-sided, paired t-test)"] == ["< 0.0001"]
    assert by_statistic["p (Wilcoxon signed-rank, check)"] == ["< 0.0001"]
    text = paired.paired_table({"All": result})
    assert "e-07" not in text and "5.8" not in text


# --------------------------------------------------------------------------- notes and sentences


@pytest.mark.parametrize("reconstructed", [True, False])
def test_data_note_shows_the_file_name_as_written(reconstructed):
    note = md(paired.data_note(reconstructed, "my_clinic_2024.csv"))
    assert note.startswith(":::{") and note.rstrip().endswith(":::")
    body = "\n".join(note.splitlines()[1:-1])  # the admonition's content
    html = COMMONMARK.render(body)
    assert "<code>my_clinic_2024.csv</code>" in html, html


def test_data_note_says_when_the_data_are_the_reconstruction():
    assert "reconstructed" in md(paired.data_note(True, "cohort.csv"))
    assert "reconstructed" not in md(paired.data_note(False, "cohort.csv"))


def test_not_estimable_dose_sentences_say_so_in_words(cohort):
    params = Parameters(dose_cutoff_cells=1e7)  # everybody is high-dose
    comparison = document.dose_comparison(cohort, params)
    text = md(paired.dose_comparison_sentence(comparison, params))
    assert "not estimable" in text and "None" not in text
    constant = cohort_frame()
    constant["dose_cells"] = 1e9
    correlation = stats.dose_correlation(constant.astype({"hba1c_baseline": float, "hba1c_post": float,
                                                          "dose_cells": float}))
    text = md(paired.dose_correlation_sentence(correlation))
    assert "not estimable" in text and "None" not in text


def test_dose_comparison_sentence_quotes_the_difference(cohort):
    params = Parameters()
    result = document.dose_comparison(cohort, params)
    high = np.array([0.3, 0.5, 1.1, 1.8, 0.6])
    low = np.array([0.4, 0.9, -0.1, 1.3, 0.2])
    text = md(paired.dose_comparison_sentence(result, params))
    assert f"{high.mean() - low.mean():.2f} percentage points" in text
    assert "n = 5" in text and "larger" in text


def test_the_methods_table_gives_the_r_call_of_each_signed_rank_variant():
    rows = table(paired.signed_rank_variants_table())
    assert [r[0] for r in rows[1:]] == ["exact", "exact conditional (ties or zeros)",
                                        "normal approximation (no continuity correction)"]
    assert "correct = FALSE" in rows[3][2] and "coin::wilcoxsign_test" in rows[2][2]

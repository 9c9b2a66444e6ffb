"""Tests for livingpaper.present.replication: how the pages say the replication verdicts.

Verdicts are checked on small cohorts whose answer can be worked out by hand: one whose
HbA1c falls like the paper's, one whose HbA1c did not fall, one of three patients, one with
no severe patient. The prediction interval is checked against a hand computation; the
paper's standard errors, d33, the small-telescopes p and the regression at the paper's
baseline against R (the call beside each assertion, R 4.2.2).
"""
from __future__ import annotations

import dataclasses

from conftest import DID_NOT_FALL, LIKE_THE_PAPER, replicate, table
from livingpaper.inputs import published
from livingpaper.present import figures
from livingpaper.present import replication as present_replication
from livingpaper.stats import replication


def test_a_larger_fall_from_higher_baselines_is_told_apart_as_case_mix(tmp_path):
    # 40 patients starting at 8.0 to 11.9 %: each falls 0.79 plus 0.8 per point of baseline above 7.49,
    # +/- 0.2 in turn. Far more than the paper overall, like the paper at the paper's baseline.
    spec = [(8.0 + 0.1 * i, round(0.79 + 0.8 * (8.0 + 0.1 * i - 7.49) + (0.2 if i % 2 else -0.2), 1))
            for i in range(40)]
    found = replicate(tmp_path, spec)
    overall, adjusted = found.claims["overall"], found.at_paper_baseline
    assert overall.verdict == "inconsistent" and "above" in overall.reason
    assert adjusted.extrapolated and adjusted.inside_prediction
    assert found.case_mix.baseline_mean > 9.5 and found.case_mix.severe_share > 0.9
    sentence = present_replication.at_paper_baseline_sentence(adjusted, overall).data
    assert "different case mix rather than a different effect" in sentence


# --------------------------------------------------------------------------- the pages


def test_results_page_on_new_data_shows_the_verdict_instead_of_a_rounding_match(tmp_path):
    found = replicate(tmp_path, DID_NOT_FALL)
    fake = {"cohort": {}, "sections": {"overall": {"n": 30, "baseline_mean": 7.33, "post_mean": 7.33, "p": 1.0}}}
    comparison = published.comparison_table(published.load(), fake, sections=["overall"])
    new = present_replication.published_section(comparison, found.claims["overall"], reconstructed=False).data
    assert "| Replication |" in new and "**inconsistent**" in new and "differs" not in new
    assert "Match at the paper" not in new
    old = present_replication.published_section(comparison, found.claims["overall"], reconstructed=True).data
    assert "Match at the paper's precision" in old and "by construction" in old
    assert present_replication.published_versus(False) == "this cohort" and present_replication.published_versus(True) == "reproduced"
    # Where the paper printed the claim's mean reduction itself, that row carries the verdict (no second row).
    severe = {"cohort": {}, "sections": {"severe": {"mean_reduction": 0.0, "p": 1.0}}}
    rows = present_replication.published_section(published.comparison_table(published.load(), severe, sections=["severe"]),
                                    found.claims["severe"], reconstructed=False).data.split("\n\n")[0].splitlines()
    assert len(rows) == 2 + 2 and "the claim" in rows[2] and "**inconsistent**" in rows[2]


def test_case_mix_table_escapes_text_from_the_data(tmp_path):
    found = replicate(tmp_path, LIKE_THE_PAPER)
    mix = found.case_mix.__class__(**{**found.case_mix.to_dict(), "sources": "<b>x</b>",
                                      "sources_not_in_paper": "<b>x</b>"})
    table = present_replication.case_mix_table(mix)
    assert "<b>" not in table and "&lt;b&gt;x&lt;/b&gt;" in table


def test_the_introduction_on_new_data_says_it_is_a_replication_and_gives_the_verdicts(tmp_path):
    found = replicate(tmp_path, DID_NOT_FALL)
    text = present_replication.replication_intro(found, "clinic.csv").data
    assert "**replication**" in text and "`clinic.csv`" in text
    assert text.count("**inconsistent**") == 3 and "**not assessable**" in text
    reconstructed = replication.Replication(**{**vars(found), "reconstructed": True})
    assert "by construction" in present_replication.replication_intro(reconstructed, "data/cohort.csv").data


def test_on_the_reconstructed_cohort_each_claim_says_agreement_is_by_construction(tmp_path):
    found = replicate(tmp_path, LIKE_THE_PAPER)
    assert "compatible with the paper's estimate" in present_replication.replication_headline(found).data
    reconstructed = replication.Replication(**{**vars(found), "reconstructed": True})
    text = present_replication.replication_headline(reconstructed).data
    assert text.count("By construction") == 3 and "compatible with the paper's estimate" not in text


def test_replication_plot_is_deterministic_and_draws_every_claim(tmp_path):
    found = replicate(tmp_path, LIKE_THE_PAPER)
    first = figures.save_figure(figures.replication_plot(found), tmp_path / "a.svg").read_bytes()
    second = figures.save_figure(figures.replication_plot(found), tmp_path / "b.svg").read_bytes()
    assert first == second
    svg = first.decode()
    for name in ("overall", "moderate", "severe"):
        assert f'id="prediction:{name}"' in svg and f'id="cohort:{name}"' in svg, name
    assert 'id="paper:dose"' in svg and 'id="prediction:dose"' not in svg


def test_the_small_telescope_cell_prints_a_tiny_p_as_a_bound(tmp_path):
    found = replicate(tmp_path, LIKE_THE_PAPER)
    claims = {k: dataclasses.replace(c, smaller_than_d33_p=1e-6, smaller_than_d33=True) if k == "overall" else c
              for k, c in found.claims.items()}
    rows = table(present_replication.replication_table(dataclasses.replace(found, claims=claims)))
    cell = next(r for r in rows if r[0].startswith("This cohort's effect significantly smaller"))[1]
    assert cell == "yes (one-sided p < 0.0001)"

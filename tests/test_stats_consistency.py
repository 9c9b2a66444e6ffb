"""Tests for livingpaper.stats.consistency: whether the abstract's figures are consistent.

References used:
- The GRIM examples of Brown & Heathers 2017 (Soc Psychol Personal Sci 8:363) as told in
  their paper's standard illustration: 20 rolls of a die cannot average 3.48 (means of 20
  integers end in .x0 or .x5), while 3.45 is possible.
"""
from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest
from livingpaper.inputs import published
from livingpaper.stats import consistency, implied
from scipy import stats

pytestmark = pytest.mark.filterwarnings("error")


def with_figure(paper, figure_id: str, value):
    """A copy of the published figures with one value changed."""
    changed = copy.deepcopy(paper)
    for i, fig in enumerate(changed["figures"]):
        if fig.id == figure_id:
            changed["figures"][i] = published.PublishedFigure(**{**fig.__dict__, "value": value})
    return changed


# --- what the abstract alone implies, read honestly (issue 12, point 8) -----------------


def _welch_p(m1, s1, n1, m2, s2, n2):
    """Welch's t-test by hand (Welch-Satterthwaite df)."""
    v1, v2 = s1**2 / n1, s2**2 / n2
    t = (m1 - m2) / math.sqrt(v1 + v2)
    df = (v1 + v2) ** 2 / (v1**2 / (n1 - 1) + (v2**2 / (n2 - 1) if v2 else 0.0))
    return 2 * stats.t.sf(abs(t), df)


def test_grim_flags_an_impossible_mean_of_twenty_die_rolls():
    bad = consistency.grim(3.48, decimals=2, n=20, step=1)
    assert bad.informative and bad.consistent is False
    good = consistency.grim(3.45, decimals=2, n=20, step=1)
    assert good.informative and good.consistent is True


def test_grim_cannot_fail_with_ten_or_more_hba1c_values_at_two_decimals():
    assert not consistency.grim(1.55, decimals=2, n=10).informative
    assert consistency.grim(1.55, decimals=2, n=10).consistent
    few = consistency.grim(1.57, decimals=2, n=3)  # means of 3 values in 0.1 steps: ...1.53, 1.57, 1.60
    assert few.informative and few.consistent
    assert consistency.grim(1.55, decimals=2, n=3).consistent is False


def test_weighted_subgroup_reductions_meet_the_overall_reduction_at_every_feasible_size(paper, implied_table):
    fig = lambda i: published.figure(paper, i).interval()  # noqa: E731
    low = fig("baseline_mean")[0] - fig("post_mean")[1]
    high = fig("baseline_mean")[1] - fig("post_mean")[0]
    assert (implied_table["weighted_reduction_high"] > low).all() and (implied_table["weighted_reduction_low"] < high).all()


# --- the audit ---------------------------------------------------------------------------


def test_the_paper_passes_every_check_that_can_be_made(paper):
    verdicts = consistency.checks(paper)
    assert set(verdicts["verdict"]) <= {consistency.CONSISTENT, consistency.NOT_INFORMATIVE,
                                        consistency.NOT_VERIFIABLE}
    assert (verdicts["verdict"] == consistency.CONSISTENT).sum() >= 5
    grim_rows = verdicts[verdicts["check"].str.startswith("GRIM")]
    assert (grim_rows["verdict"] == consistency.NOT_INFORMATIVE).all()


def test_an_overall_p_bound_the_subgroups_cannot_reach_is_flagged(paper):
    strict = with_figure(paper, "overall_p", 1e-12)
    verdicts = consistency.checks(strict)
    row = verdicts[verdicts["check"].str.contains("overall p")].iloc[0]
    assert row["verdict"] == consistency.INCONSISTENT
    assert consistency.audit(strict).all_consistent is False


def test_subgroup_means_that_cannot_make_the_overall_mean_make_the_audit_not_estimable(paper):
    impossible = with_figure(paper, "severe_mean_reduction", 9.99)
    res = consistency.audit(impossible)
    assert not res.estimable and "no subgroup split" in res.reason
    assert res.n_severe_min is None


def test_audit_summary_gives_ranges_over_the_feasible_sizes(paper, implied_table):
    res = consistency.audit(paper)
    assert res.estimable and res.all_consistent
    assert (res.n_severe_min, res.n_severe_max) == (implied_table["n_severe"].min(), implied_table["n_severe"].max())
    assert res.sd_reduction_severe_min < res.sd_reduction_severe_max
    assert res.n_checks == res.n_consistent + res.n_inconsistent + res.n_not_informative + res.n_not_verifiable
    d = res.to_dict()
    json.dumps(d, allow_nan=False)
    assert all(isinstance(v, (int, float, bool, str, type(None))) for v in d.values())


def test_build_comparison_places_a_dataset_inside_or_outside_the_implied_ranges(paper):
    res = consistency.audit(paper)
    inside = {"severe": {"n": 13, "sd_reduction": 1.89}, "moderate": {"sd_reduction": 0.6},
              "overall": {"p": 1e-6}}
    frame = consistency.build_comparison(res, inside)
    assert frame["within"].tolist() == [True, True, True, True]
    # The numbers as they are (the page formats them): nothing rounded, no text.
    assert frame["this_build"].tolist() == [13, 1.89, 0.6, 1e-6]
    assert frame["kind"].tolist() == [consistency.COUNT, consistency.POINTS, consistency.POINTS, consistency.P_VALUE]
    assert frame.loc[0, ["implied_low", "implied_high"]].tolist() == [res.n_severe_min, res.n_severe_max]
    assert frame.loc[3, ["implied_low", "implied_high"]].tolist() == [None, res.overall_p_max]
    outside = {"severe": {"n": 30, "sd_reduction": None}, "moderate": {"sd_reduction": 1.2},
               "overall": {"p": 0.2}}
    frame = consistency.build_comparison(res, outside)
    assert frame["within"].tolist() == [False, None, False, False]
    assert frame.loc[1, "this_build"] is None
    assert math.isclose(res.severe_ci95_low, implied.implied_by_size(paper)["severe_ci95_low"].min())


def test_welch_p_range_varies_every_rounded_figure_and_every_moderate_sd_the_bound_allows(paper):
    # The range "from the abstract alone": sizes 10 to 16, both means and the severe p over
    # their rounding intervals, and the moderate SD anywhere from 0 up to what p < 2e-7 allows.
    # Recomputed on a grid (interior points included) with Welch's test by hand.
    res = consistency.audit(paper)
    ps = []
    for n_sev in range(10, 17):
        n_mod = 61 - n_sev
        for m_sev in np.linspace(1.545, 1.555, 3):
            for p_sev in np.linspace(0.01215, 0.01225, 3):
                s_sev = m_sev * math.sqrt(n_sev) / stats.t.isf(p_sev / 2, n_sev - 1)
                for m_mod in np.linspace(0.575, 0.585, 3):
                    s_max = m_mod * math.sqrt(n_mod) / stats.t.isf(2e-7 / 2, n_mod - 1)
                    for s_mod in np.linspace(0.0, s_max, 5):
                        ps.append(_welch_p(m_sev, s_sev, n_sev, m_mod, s_mod, n_mod))
    assert res.difference_p_min == pytest.approx(min(ps), rel=1e-9)
    assert res.difference_p_max == pytest.approx(max(ps), rel=1e-9)
    assert round(res.difference_p_min, 3) == 0.080 and round(res.difference_p_max, 3) == 0.101


def test_a_check_that_cannot_fail_is_not_counted_as_passed(paper):
    verdicts = consistency.checks(paper)
    granular = verdicts[verdicts["check"].str.contains("recorded to 0.1")].iloc[0]
    # Every feasible group has at least 10 patients: means of values recorded to 0.1 are then
    # spaced at most 0.01 apart, the reported precision (as for the GRIM rows).
    assert granular["verdict"] == consistency.NOT_INFORMATIVE
    res = consistency.audit(paper)
    assert res.n_consistent == int((verdicts["verdict"] == consistency.CONSISTENT).sum())
    assert res.n_not_informative == int((verdicts["verdict"] == consistency.NOT_INFORMATIVE).sum())


def test_the_granular_check_counts_when_a_group_is_small_enough_for_it_to_fail(paper):
    # With 12 patients in all, some feasible severe groups have fewer than 10 patients, whose
    # means are spaced more coarsely than 0.01: the check can then fail, and counts.
    small = with_figure(paper, "n_patients", 12)
    verdicts = consistency.checks(small)
    granular = verdicts[verdicts["check"].str.contains("recorded to 0.1")].iloc[0]
    assert granular["verdict"] in (consistency.CONSISTENT, consistency.INCONSISTENT)


def test_the_headline_never_rounds_a_lower_bound_up_nor_an_upper_bound_down(paper):
    import re

    from livingpaper.present import beyond

    res = consistency.audit(paper)
    text = beyond.consistency_headline(res).data
    ratio = res.sd_reduction_severe_min / res.sd_reduction_moderate_max
    assert 2.25 < ratio < 2.26  # the bound is 2.25...: "at least 2.3" would overstate it
    at_least = float(re.search(r"at least ([0-9.]+) times", text).group(1))
    assert at_least == 2.2 and at_least <= ratio
    at_most = float(re.search(r"SD at most ([0-9.]+)", text).group(1))
    assert at_most >= res.sd_reduction_moderate_max and at_most == 0.70
    low, high = (float(x) for x in re.search(r"Welch p ([0-9.]+) to ([0-9.]+)", text).groups())
    assert low <= res.difference_p_min and high >= res.difference_p_max
    assert (low, high) == (0.080, 0.101)
    ci_low, ci_high = (float(x) for x in re.search(r"as wide as ([0-9.]+) to ([0-9.]+)", text).groups())
    assert ci_low <= res.severe_ci95_low and ci_high >= res.severe_ci95_high
    assert "5 of the 5 checks that could fail pass" in text and "not counted as passed" in text

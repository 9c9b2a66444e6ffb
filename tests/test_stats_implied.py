"""Tests for livingpaper.stats.implied: what the abstract's figures imply.

References used:
- The paired t-test recomputed with scipy on synthetic samples built to have an exact
  mean and SD (independent of the inversion formulas under test).
- numpy on the pooled sample, for the combined SD.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from livingpaper.stats import implied
from scipy import stats

pytestmark = pytest.mark.filterwarnings("error")


def sample(mean: float, sd: float, n: int) -> np.ndarray:
    """n values with exactly this mean and sample SD (standardised normal quantiles)."""
    z = stats.norm.ppf((np.arange(n) + 0.5) / n)
    z = (z - z.mean()) / z.std(ddof=1)
    return mean + sd * z


# --- building blocks -------------------------------------------------------------------


@pytest.mark.parametrize("mean, sd, n", [(1.55, 1.9, 13), (0.58, 0.65, 48), (0.3, 2.0, 5)])
def test_sd_from_p_recovers_the_sd_of_a_sample_with_that_p(mean, sd, n):
    p = stats.ttest_1samp(sample(mean, sd, n), 0).pvalue
    assert implied.sd_from_p(mean, n, p) == pytest.approx(sd, rel=1e-9)


@pytest.mark.parametrize("mean, sd, n", [(1.55, 1.9, 13), (0.58, 0.65, 48)])
def test_ci_from_p_equals_the_t_interval_of_a_sample_with_that_p(mean, sd, n):
    x = sample(mean, sd, n)
    result = stats.ttest_1samp(x, 0)
    ci = result.confidence_interval(0.95)
    assert implied.ci_from_p(mean, n, result.pvalue) == pytest.approx((ci.low, ci.high), rel=1e-9)


def test_combined_sd_is_the_sd_of_the_pooled_sample():
    a, b = sample(0.58, 0.65, 48), sample(1.55, 1.9, 13)
    expected = np.concatenate([a, b]).std(ddof=1)
    assert implied.combined_sd([(48, 0.58, 0.65), (13, 1.55, 1.9)]) == pytest.approx(expected, rel=1e-12)


# --- what the paper implies --------------------------------------------------------------


def test_feasible_sizes_are_the_reconstructions_and_survive_the_granularity_check(paper, implied_table):
    design = implied.derive_design(paper)
    assert tuple(implied_table["n_severe"]) == design.feasible_n_severe
    assert set(design.feasible_n_severe) <= set(implied.granular_sizes(paper))
    assert implied_table["granular"].all()


def test_implied_severe_sd_brackets_the_reconstructions_choice(paper, implied_table):
    design = implied.derive_design(paper)
    row = implied_table[implied_table["n_severe"] == design.n_severe].iloc[0]
    assert row["sd_severe_low"] <= design.sd_reduction_severe_range[0]
    assert design.sd_reduction_severe_range[1] <= row["sd_severe_high"]
    assert design.sd_reduction_moderate_range[1] <= row["sd_moderate_max"]


def test_the_severe_ci_needs_no_sd_and_matches_a_sample_with_the_implied_sd():
    low, high = implied.ci_from_p(1.55, 13, 0.0122)
    sd = implied.sd_from_p(1.55, 13, 0.0122)
    ci = stats.ttest_1samp(sample(1.55, sd, 13), 0).confidence_interval(0.95)
    assert (low, high) == pytest.approx((ci.low, ci.high), rel=1e-9)


def test_the_severe_ci_from_the_abstract_alone_spans_every_rounded_mean_and_p(implied_table):
    # The published 1.55 and 0.0122 stand for [1.545, 1.555) and [0.01215, 0.01225): the
    # range "from the abstract alone" is the widest interval any of them gives, each
    # recomputed here from a sample with that mean and the SD its p implies.
    row = implied_table[implied_table["n_severe"] == 13].iloc[0]
    limits = []
    for mean in (1.545, 1.55, 1.555):
        for p in (0.01215, 0.0122, 0.01225):
            ci = stats.ttest_1samp(sample(mean, implied.sd_from_p(mean, 13, p), 13), 0).confidence_interval(0.95)
            limits.append((ci.low, ci.high))
    assert row["severe_ci95_low"] == pytest.approx(min(lo for lo, _ in limits), rel=1e-9)
    assert row["severe_ci95_high"] == pytest.approx(max(hi for _, hi in limits), rel=1e-9)
    at_reported = implied.ci_from_p(1.55, 13, 0.0122)
    assert row["severe_ci95_low"] < at_reported[0] and at_reported[1] < row["severe_ci95_high"]


def test_implied_overall_p_is_below_the_published_bound_and_recomputes_from_pooled_samples(implied_table):
    assert (implied_table["overall_p_max"] < 1e-4).all()
    # One corner of the rounding intervals, recomputed from pooled samples: both means at
    # their lowest, the severe p at its highest, the moderate SD at its bound.
    n_sev, n_mod = 13, 48
    pooled = np.concatenate([sample(0.575, implied.sd_from_p(0.575, n_mod, 2e-7), n_mod),
                             sample(1.545, implied.sd_from_p(1.545, n_sev, 0.01225), n_sev)])
    corner_p = stats.ttest_1samp(pooled, 0).pvalue
    row = implied_table[implied_table["n_severe"] == n_sev].iloc[0]
    assert 0 < corner_p <= row["overall_p_max"] * (1 + 1e-9)


def test_the_severe_moderate_difference_is_not_significant_at_any_feasible_size(implied_table):
    assert (implied_table["difference_p_low"] > 0.05).all()
    row = implied_table[implied_table["n_severe"] == 13].iloc[0]
    p = stats.ttest_ind(sample(1.55, implied.sd_from_p(1.55, 13, 0.0122), 13),
                        sample(0.58, implied.sd_from_p(0.58, 48, 2e-7), 48), equal_var=False).pvalue
    assert row["difference_p_low"] - 1e-3 <= p <= row["difference_p_high"] + 1e-3


def test_what_the_figures_imply_is_derived_once_and_anew_when_a_figure_changes(paper, monkeypatch):
    calls = []
    real = implied._implied_by_size
    monkeypatch.setattr(implied, "_implied_by_size", lambda p, c=0.95: calls.append(1) or real(p, c))
    monkeypatch.setattr(implied, "_DERIVED", {})
    first = implied.implied_by_size(paper)
    first.loc[0, "n_severe"] = -1  # a caller changing its copy changes nothing for the next
    again = implied.implied_by_size(paper)
    assert len(calls) == 1 and again.loc[0, "n_severe"] > 0
    changed = dict(paper, figures=[dataclasses.replace(f, value=1.6) if f.id == "severe_mean_reduction" else f
                                   for f in paper["figures"]])
    implied.implied_by_size(changed)
    assert len(calls) == 2

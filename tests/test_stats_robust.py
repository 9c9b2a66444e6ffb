"""Tests for livingpaper.stats.robust (the BCa bootstrap and the Hodges-Lehmann interval).

References used:
- R's ?wilcox.test example (Hollander & Wolfe 1973, depression scale): V = 40,
  two-sided p = 0.03906; the exact interval is R's [W_(k), W_(M-k+1)] with k from the
  signed-rank distribution, enumerated here over all 2^9 sign patterns.
- The Student t interval of the results chapters, which the seeded BCa interval must
  approach for normal data.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from conftest import patients, plain
from livingpaper.stats import robust
from livingpaper.stats.paired import paired_reduction

pytestmark = pytest.mark.filterwarnings("error")


# --- robust intervals ------------------------------------------------------------------

# R ?wilcox.test: x - y for the depression-scale example (no ties, no zeros)
HW_X = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30]
HW_Y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29]


def exact_signed_rank_interval(d: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """R's exact wilcox.test(conf.int = TRUE) interval, from the enumerated null distribution."""
    n = len(d)
    ranks = np.arange(1, n + 1)
    v = np.array([ranks[list(s)].sum() for k in range(n + 1) for s in itertools.combinations(range(n), k)])
    cdf = lambda q: np.mean(v <= q)  # noqa: E731
    qu = next(q for q in range(n * (n + 1) // 2 + 1) if cdf(q) >= (1 - confidence) / 2)  # qsignrank
    walsh = np.sort([(d[i] + d[j]) / 2 for i in range(n) for j in range(i, n)])
    m = len(walsh)
    return walsh[qu - 1], walsh[m - qu]  # diffs[qu], diffs[ql + 1] in R's 1-based indexing


def test_wilcoxon_p_and_hodges_lehmann_interval_match_r_on_the_textbook_example():
    data = patients(HW_X, HW_Y)
    res = robust.robust_intervals(data)
    assert res.wilcoxon_p == pytest.approx(0.0390625)  # R: V = 40, p-value = 0.03906
    d = np.round(np.array(HW_X) - np.array(HW_Y), 10)
    walsh = [(d[i] + d[j]) / 2 for i in range(len(d)) for j in range(i, len(d))]
    assert res.hodges_lehmann == pytest.approx(np.median(walsh))
    assert (res.wilcoxon_ci95_low, res.wilcoxon_ci95_high) == pytest.approx(exact_signed_rank_interval(d))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hodges_lehmann_interval_matches_the_exact_order_statistics_for_distinct_values(seed):
    d = np.round(np.random.default_rng(seed).normal(0.8, 1.0, 12), 6)
    res = robust.robust_intervals(patients(d, np.zeros_like(d)))
    assert (res.wilcoxon_ci95_low, res.wilcoxon_ci95_high) == pytest.approx(exact_signed_rank_interval(d))


def test_t_interval_is_the_one_of_the_results_chapters():
    data = patients(HW_X, HW_Y)
    res, paired = robust.robust_intervals(data), paired_reduction(data)
    assert (res.t_ci95_low, res.t_ci95_high) == pytest.approx((paired.ci95_low, paired.ci95_high))
    assert res.mean_reduction == pytest.approx(paired.mean_reduction)


def test_bootstrap_is_seeded_deterministic_and_close_to_the_t_interval_for_normal_data():
    rng = np.random.default_rng(7)
    base = rng.normal(8, 1, 200)
    data = patients(base, base - rng.normal(0.8, 1.0, 200))
    a, b = robust.robust_intervals(data), robust.robust_intervals(data)
    assert a == b and a.bootstrap_method == "BCa" and a.seed == robust.BOOTSTRAP_SEED
    assert a.bootstrap_ci95_low == pytest.approx(a.t_ci95_low, abs=0.05)
    assert a.bootstrap_ci95_high == pytest.approx(a.t_ci95_high, abs=0.05)
    other = robust.robust_intervals(data, seed=1)
    assert other.bootstrap_ci95_low != a.bootstrap_ci95_low


def test_robust_intervals_with_hba1c_ties_agree_in_direction():
    data = patients([8.1, 8.4, 9.0, 9.0, 10.2, 8.8, 9.5, 8.3, 9.9, 8.6, 9.2],
                    [7.6, 7.9, 7.9, 8.5, 8.7, 8.8, 8.0, 7.8, 8.4, 8.6, 8.1])
    res = robust.robust_intervals(data, group="severe")
    assert res.estimable and res.group == "severe" and res.bootstrap_estimable
    assert res.wilcoxon_ci95_low <= res.hodges_lehmann <= res.wilcoxon_ci95_high
    assert res.bootstrap_ci95_low < res.mean_reduction < res.bootstrap_ci95_high


@pytest.mark.parametrize("n", [3, 7, 9])
def test_no_bootstrap_interval_is_reported_for_fewer_than_ten_patients(n):
    baseline = [8.1, 8.4, 9.0, 9.3, 10.2, 8.8, 9.5, 8.3, 9.9][:n]
    post = [7.6, 7.9, 7.9, 8.5, 8.7, 8.8, 8.0, 7.8, 8.4][:n]
    res = robust.robust_intervals(patients(baseline, post), group="severe")
    assert res.estimable and res.t_ci95_low is not None  # the t interval stays
    assert not res.bootstrap_estimable and res.bootstrap_ci95_low is None and res.bootstrap_ci95_high is None
    assert res.bootstrap_method is None
    assert res.bootstrap_reason.startswith("Not estimable") and f"n = {n}" in res.bootstrap_reason
    assert res.wilcoxon_p is not None  # and so does the rank-based test


def test_ten_patients_are_enough_for_a_bootstrap_interval():
    assert robust.MIN_BOOTSTRAP_N == 10
    baseline = [8.1, 8.4, 9.0, 9.3, 10.2, 8.8, 9.5, 8.3, 9.9, 8.7]
    post = [7.6, 7.9, 7.9, 8.5, 8.7, 8.8, 8.0, 7.8, 8.4, 8.0]
    res = robust.robust_intervals(patients(baseline, post))
    assert res.bootstrap_estimable and res.bootstrap_reason is None and res.bootstrap_method == "BCa"


def test_too_few_patients_for_a_wilcoxon_interval_says_so():
    res = robust.robust_intervals(patients([8.0, 9.0, 10.0], [7.5, 8.0, 8.7]))
    assert res.estimable and res.wilcoxon_ci95_low is None and "Too few" in res.reason


@pytest.mark.parametrize("data, words", [
    (patients([], []), "fewer than 2"),
    (patients([8.0], [7.0]), "fewer than 2"),
    (patients([8.0, 9.0, 10.0], [7.5, 8.5, 9.5]), "same amount"),
])
def test_robust_intervals_degenerate_input(data, words):
    res = robust.robust_intervals(data)
    assert not res.estimable and words in res.reason and res.bootstrap_ci95_low is None
    assert all(plain(v) for v in res.to_dict().values())


def test_large_groups_switch_to_percentile_then_to_no_bootstrap_and_no_walsh_averages(monkeypatch):
    monkeypatch.setattr(robust, "BCA_MAX_N", 10)
    monkeypatch.setattr(robust, "BOOTSTRAP_MAX_N", 20)
    monkeypatch.setattr(robust, "WALSH_MAX_N", 15)
    rng = np.random.default_rng(3)
    medium = patients(np.full(12, 9.0), 9.0 - rng.normal(1, 1, 12))
    res = robust.robust_intervals(medium)
    assert res.bootstrap_method == "percentile" and res.bootstrap_ci95_low is not None
    large = patients(np.full(25, 9.0), 9.0 - rng.normal(1, 1, 25))
    res = robust.robust_intervals(large)
    assert res.bootstrap_method is None and res.bootstrap_ci95_low is None and "No bootstrap" in res.reason
    assert res.hodges_lehmann is None and "Walsh" in res.reason
    assert res.wilcoxon_p is not None and res.t_ci95_low is not None


def test_two_patients_give_a_t_interval_without_warnings():
    res = robust.robust_intervals(patients([9.0, 10.0], [8.0, 8.5]))
    assert res.estimable and res.t_ci95_low is not None
    assert res.wilcoxon_ci95_low is None  # two patients cannot reject any location at 5 %


def test_the_paired_sections_mean_t_interval_and_wilcoxon_p_are_taken_not_recomputed():
    data = patients(HW_X, HW_Y)
    section = paired_reduction(data)
    alone = robust.robust_intervals(data, n_resamples=999)
    taken = robust.robust_intervals(data, n_resamples=999, paired=section)
    assert (taken.mean_reduction, taken.t_ci95_low, taken.t_ci95_high, taken.wilcoxon_p) == (
        section.mean_reduction, section.ci95_low, section.ci95_high, section.wilcoxon_p)
    # The same tests on the same reductions: what it would have computed, up to rounding.
    assert taken.to_dict() == pytest.approx(alone.to_dict(), rel=1e-12)
    with pytest.raises(ValueError, match="not of these"):
        robust.robust_intervals(data.iloc[:5], paired=section)

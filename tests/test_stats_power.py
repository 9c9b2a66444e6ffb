"""Tests of livingpaper.stats.power: sample size and power of a two-arm trial.

References used:
- Cohen J (1988), Statistical Power Analysis for the Behavioral Sciences, Table 2.4.1:
  two-tailed alpha = 0.05, power 0.80 needs n = 64 and 26 per group for d = 0.5 and 0.8
  (393 for d = 0.2, from an approximation).
- R: pwr::pwr.t.test(d = 0.2, sig.level = 0.05, power = 0.8) -> n = 393.4057 per group,
  i.e. 394 patients (G*Power also gives 394).
- The normal-approximation formula n = 2 (z_{1-a/2} + z_{1-b})^2 / d^2 per group, which
  the t-based size exceeds by about one patient.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from livingpaper.stats import power
from scipy import stats
from statsmodels.stats.power import TTestIndPower

pytestmark = pytest.mark.filterwarnings("error")


@pytest.mark.parametrize("d, n_cohen", [(0.2, 394), (0.5, 64), (0.8, 26)])
def test_sizes_match_cohens_table(d, n_cohen):
    res = power.sample_size(reduction_difference=d, sd_change=1.0)
    assert res.n_per_arm == n_cohen and res.n_total == 2 * n_cohen
    assert res.effect_size == pytest.approx(d)


@pytest.mark.parametrize("delta, sd", [(0.79, 1.1), (0.4, 1.9), (1.2, 0.9)])
def test_t_based_size_is_just_above_the_normal_approximation(delta, sd):
    d = delta / sd
    normal = 2 * (stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) ** 2 / d**2
    res = power.sample_size(delta, sd)
    assert normal <= res.n_per_arm <= math.ceil(normal) + 2


def test_size_is_the_smallest_that_reaches_the_power():
    res = power.sample_size(0.67, 1.1, allocation_ratio=2.0)
    d = 0.67 / 1.1
    reach = lambda n1: TTestIndPower().power(d, n1, 0.05, ratio=2.0)  # noqa: E731
    assert reach(res.n_per_arm) >= 0.8 > reach(res.n_per_arm - 1)
    raw = TTestIndPower().solve_power(effect_size=d, alpha=0.05, power=0.8, ratio=2.0)
    assert (res.n_per_arm, res.n_treated) == (math.ceil(raw), math.ceil(2 * raw))


def test_dropout_inflates_enrolment():
    res = power.sample_size(0.5, 1.0, dropout=0.1)
    assert res.n_per_arm == 64 and res.n_total_with_dropout == 2 * math.ceil(64 / 0.9)


@pytest.mark.parametrize("delta, sd, words", [
    (None, 1.0, "no reduction"), (0.0, 1.0, "zero or negative"), (-0.3, 1.0, "zero or negative"),
    (0.5, 0.0, "standard deviation"), (0.5, None, "standard deviation"), (1e-4, 1.0, "below"),
])
def test_nothing_to_detect_is_not_estimable(delta, sd, words):
    res = power.sample_size(delta, sd)
    assert not res.estimable and words in res.reason and res.n_per_arm is None


def test_regression_adjusted_plan_needs_more_patients_than_the_observed_one():
    plan = power.trial_plan(0.79, 0.67, 1.1, group="overall", reliability=0.71, dropout=0.1)
    assert plan.estimable and plan.group == "overall"
    assert plan.n_per_arm_rtm_adjusted > plan.n_per_arm_observed
    assert plan.n_total_observed_with_dropout >= plan.n_total_observed
    assert plan.rtm_adjusted_reason is None


def test_plan_reports_why_the_adjusted_size_is_missing():
    plan = power.trial_plan(0.3, -0.1, 1.0)
    assert plan.estimable and plan.n_per_arm_rtm_adjusted is None and "negative" in plan.rtm_adjusted_reason


def test_power_curve_rises_with_size_and_reaches_the_target_at_the_computed_size():
    curve = power.power_curve(1.1, {"observed": 0.79, "adjusted": 0.67, "none": None})
    assert set(curve["scenario"]) == {"observed", "adjusted"}
    for name, delta in (("observed", 0.79), ("adjusted", 0.67)):
        rows = curve[curve["scenario"] == name]
        assert np.all(np.diff(rows["power"].to_numpy()) > 0)
        n = power.sample_size(delta, 1.1).n_per_arm
        assert rows.loc[rows["n_per_arm"] == n, "power"].item() >= 0.8
        assert rows.loc[rows["n_per_arm"] == n - 1, "power"].item() < 0.8


def test_power_curve_without_usable_scenarios_is_empty():
    assert power.power_curve(None, {"observed": 0.5}).empty
    assert power.power_curve(1.0, {"observed": None}).empty


def test_assumptions_outside_their_range_are_errors():
    for kwargs in (dict(alpha=0), dict(power=1.0), dict(allocation_ratio=0), dict(dropout=1.0)):
        with pytest.raises(ValueError):
            power.sample_size(0.5, 1.0, **kwargs)


def test_results_are_plain_json():
    json.dumps(power.trial_plan(0.79, 0.67, 1.1).to_dict(), allow_nan=False)
    json.dumps(power.sample_size(None, 1.0).to_dict(), allow_nan=False)

"""Tests of livingpaper.stats.safety: exact binomial bounds for adverse-event rates.

References used:
- Closed form: with 0 events in n patients the two-sided 95 % Clopper-Pearson upper
  bound is 1 - 0.025**(1/n) (P(0 events) = (1 - p)**n = 0.025).
- Clopper & Pearson 1934 via the beta distribution (independent of binomtest):
  lower = Beta(a/2; k, n-k+1), upper = Beta(1-a/2; k+1, n-k).
- Hanley & Lippman-Hand 1983 (JAMA 249:1743): the rule of three, 3/n, approximates the
  one-sided 95 % upper bound 1 - 0.05**(1/n) when n is at least about 30.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from livingpaper.stats import safety
from scipy import stats

pytestmark = pytest.mark.filterwarnings("error")


@pytest.mark.parametrize("n", [1, 10, 30, 61, 500])
def test_zero_events_upper_bound_is_the_closed_form(n):
    res = safety.clopper_pearson(0, n)
    assert res.upper95 == pytest.approx(1 - 0.025 ** (1 / n), rel=1e-9)
    assert res.lower95 == 0 and res.rate == 0 and res.events == 0


def test_sixty_one_patients_without_a_serious_event_allow_a_rate_up_to_about_six_percent():
    res = safety.clopper_pearson(0, 61)
    assert 0.058 < res.upper95 < 0.059
    assert res.rule_of_three_upper95 == pytest.approx(3 / 61)


@pytest.mark.parametrize("n, tolerance", [(30, 0.06), (61, 0.03), (300, 0.007), (1000, 0.0035)])
def test_rule_of_three_approximates_the_one_sided_95_percent_bound(n, tolerance):
    # 3/n overstates the exact bound by about 0.0014 + 1.5/n in relative terms (-ln 0.05 = 2.996;
    # Hanley 1983: use it for n >= 30)
    one_sided = 1 - 0.05 ** (1 / n)
    assert safety.clopper_pearson(0, n).rule_of_three_upper95 == pytest.approx(one_sided, rel=tolerance)
    # the one-sided 95 % bound is the upper limit of the two-sided 90 % interval
    assert safety.clopper_pearson(0, n, confidence=0.90).upper95 == pytest.approx(one_sided, rel=1e-9)


@pytest.mark.parametrize("k, n", [(1, 61), (5, 20), (12, 12)])
def test_nonzero_events_match_the_beta_quantile_form(k, n):
    res = safety.clopper_pearson(k, n)
    lower = stats.beta.ppf(0.025, k, n - k + 1)
    upper = 1.0 if k == n else stats.beta.ppf(0.975, k + 1, n - k)
    assert (res.lower95, res.upper95) == pytest.approx((lower, upper), rel=1e-7)
    assert res.rate == pytest.approx(k / n) and res.rule_of_three_upper95 is None


def test_events_are_counted_from_the_data_column_and_missing_values_left_out():
    data = pd.DataFrame({"serious_adverse_event": [0, 0, 1, np.nan, 0]})
    res = safety.serious_adverse_events(data)
    assert (res.n, res.events) == (4, 1)


def test_a_file_without_the_column_or_without_any_value_is_not_estimable():
    no_column = safety.serious_adverse_events(pd.DataFrame({"x": [1, 2]}))
    assert not no_column.estimable and "does not record" in no_column.reason
    empty = safety.serious_adverse_events(pd.DataFrame({"serious_adverse_event": [np.nan, np.nan]}))
    assert not empty.estimable and empty.upper95 is None and empty.n == 0


def test_impossible_counts_are_an_error():
    with pytest.raises(ValueError):
        safety.clopper_pearson(3, 2)


def test_result_is_plain_json_with_the_required_fields():
    d = safety.clopper_pearson(0, 61).to_dict()
    assert {"estimable", "reason", "n", "events", "rate", "upper95"} <= set(d)
    json.dumps(d, allow_nan=False)


def test_rule_of_three_is_left_out_below_thirty_patients():
    assert safety.clopper_pearson(0, 29).rule_of_three_upper95 is None
    assert safety.clopper_pearson(0, 30).rule_of_three_upper95 == pytest.approx(0.1)
    assert safety.clopper_pearson(0, 1).upper95 == pytest.approx(0.975)


# --- the sentence "a true rate as high as about 1 in N" (issue 12, point 7) -------------


def test_one_in_n_is_never_above_the_exact_upper_bound():
    # 0 of 61: upper bound 1 - 0.025**(1/61) = 5.868 %; 1/17 = 5.882 % is above it, 1/18 = 5.556 % is not.
    res = safety.clopper_pearson(0, 61)
    upper = 1 - 0.025 ** (1 / 61)
    assert 1 / 17 > upper >= 1 / 18
    assert res.one_in == 18


@pytest.mark.parametrize("n", range(37, 400, 7))
def test_one_in_n_is_the_largest_such_rate_inside_the_interval(n):
    res = safety.clopper_pearson(0, n)
    upper = 1 - 0.025 ** (1 / n)  # closed form, independent of binomtest
    assert 1 / res.one_in <= upper < 1 / (res.one_in - 1)


def test_a_large_bound_is_given_as_a_percentage_not_as_one_in_n():
    # 0 of 12: upper bound 1 - 0.025**(1/12) = 26.46 %; "1 in 3" (33 %) or "1 in 4" (25 %) misstate it.
    from livingpaper.present import beyond

    res = safety.clopper_pearson(0, 12)
    assert res.upper95 == pytest.approx(1 - 0.025 ** (1 / 12))
    assert res.one_in is None
    text = beyond.safety_headline(res).data
    assert "26.5 %" in text and "1 in" not in text


def test_the_denominator_is_the_patients_with_a_recorded_status_and_the_sentence_says_so():
    from livingpaper.present import beyond

    data = pd.DataFrame({"serious_adverse_event": [0, 0, np.nan, 0, np.nan] + [0] * 35})
    res = safety.serious_adverse_events(data)
    assert (res.n, res.n_treated, res.events) == (38, 40, 0)
    assert res.upper95 == pytest.approx(1 - 0.025 ** (1 / 38))
    text = beyond.safety_headline(res).data
    assert "38 patients whose adverse-event status is recorded (of 40 treated" in text
    assert f"1 in {res.one_in}" in text and 1 / res.one_in <= res.upper95
    complete = beyond.safety_headline(safety.serious_adverse_events(pd.DataFrame({"serious_adverse_event": [0] * 61})))
    assert "61 treated patients (all with a recorded adverse-event status)" in complete.data
    assert "1 in 18 patients" in complete.data


def test_one_in_n_is_given_only_below_ten_percent():
    # 0 of 30: upper 11.6 % (1 - 0.025**(1/30)); 0 of 36: 9.7 %.
    assert safety.clopper_pearson(0, 30).one_in is None
    assert safety.clopper_pearson(0, 36).one_in == 11  # 1/11 = 9.1 % <= 9.7 % < 1/10
    assert safety.clopper_pearson(1, 200).one_in is None  # an event was seen: no "seeing none" sentence


def test_the_interval_is_shown_widened_and_a_compatible_rate_never_above_its_upper_end():
    from livingpaper.present import beyond

    # R: binom.test(2, 61)$conf.int -> 0.003995603 0.113472167
    #    (= qbeta(0.025, 2, 60), qbeta(0.975, 3, 59))
    res = safety.clopper_pearson(2, 61)
    assert (res.lower95, res.upper95) == pytest.approx((0.003995603, 0.113472167), abs=5e-10)
    text = beyond.safety_headline(res).data
    assert "from 0.3 % to **11.4 %**" in text  # not 0.4 % (overstated) nor 11.3 % (understated)
    # R: binom.test(0, 12)$conf.int -> 0.0000000 0.2646485
    res = safety.clopper_pearson(0, 12)
    assert res.upper95 == pytest.approx(0.2646485, abs=5e-8)
    text = beyond.safety_headline(res).data
    assert "to **26.5 %**" in text
    assert "a true rate as high as 26.4 % is compatible" in text  # 26.5 % lies outside the interval


@pytest.mark.parametrize("n", [12, 20, 29, 30, 38, 61, 100, 250])
def test_the_rate_said_compatible_with_no_event_lies_inside_the_interval(n):
    import re

    from livingpaper.present import beyond

    res = safety.clopper_pearson(0, n)
    text = beyond.safety_headline(res).data
    high = float(re.search(r"as high as (?:about 1 in \d+ patients \()?([0-9.]+) %", text).group(1))
    assert high / 100 <= res.upper95
    assert float(re.search(r"to \*\*([0-9.]+) %", text).group(1)) / 100 >= res.upper95

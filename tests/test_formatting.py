"""Tests for livingpaper.formatting: every rule by which a number becomes text.

The expected texts are written out by hand (the rounding of bounds, the p-value rules of
the prose and of the tables).
"""

from __future__ import annotations

import numpy as np
import pytest
from livingpaper.formatting import format_p

# Any warning (e.g. numpy's RuntimeWarning on empty input, scipy's
# precision-loss warning) fails the test.
pytestmark = pytest.mark.filterwarnings("error")


# ---------------------------------------------------------------------------
# format_p
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("p", "text"),
    [
        (None, "not estimable"),
        (float("nan"), "not estimable"),
        (0.0, "p < 0.0001"),
        (0.00003, "p < 0.0001"),
        (0.0001, "p = 0.00010"),
        (0.00043, "p = 0.00043"),
        (0.0004321, "p = 0.00043"),
        (0.002833, "p = 0.00283"),
        (0.01224, "p = 0.0122"),
        (0.0390625, "p = 0.0391"),
        (0.21401, "p = 0.214"),
        (0.5, "p = 0.500"),
        (1.0, "p = 1.00"),
        (np.float64(0.07939), "p = 0.0794"),
    ],
)
def test_format_p_writes_p_values_for_prose(p, text):
    assert format_p(p) == text


@pytest.mark.parametrize("p", [-0.01, 1.5])
def test_format_p_rejects_impossible_p_values(p):
    with pytest.raises(ValueError):
        format_p(p)


@pytest.mark.parametrize(("p", "text"), [
    (None, "–"), (float("nan"), "–"), (5.8e-07, "< 0.0001"), (0.0, "< 0.0001"), (0.0001, "0.00010"),
    (0.00043, "0.00043"), (0.0122, "0.0122"), (0.2284, "0.228"), (1.0, "1.00"),
])
def test_table_cells_print_p_as_the_prose_does(p, text):
    from livingpaper.formatting import format_p_cell

    assert format_p_cell(p) == text


# ---------------------------------------------------------------------------
# Bounds at the precision shown (issue 12, point 8)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(("x", "decimals", "down", "up"), [
    (2.2523, 1, 2.2, 2.3),      # "at least 2.3 times" would overstate a bound of 2.25
    (0.69337, 2, 0.69, 0.70),   # "at most 0.69" would understate a bound of 0.6934
    (2.25, 1, 2.2, 2.3),
    (0.69, 2, 0.69, 0.69),      # a value already at the precision stays (no float-noise step)
    (0.1 + 0.2, 1, 0.3, 0.3),   # 0.30000000000000004
    (0.0801237, 3, 0.080, 0.081),
])
def test_lower_bounds_round_down_and_upper_bounds_round_up(x, decimals, down, up):
    from livingpaper.formatting import round_down, round_up

    assert round_down(x, decimals) == pytest.approx(down, abs=1e-12)
    assert round_up(x, decimals) == pytest.approx(up, abs=1e-12)
    assert round_down(x, decimals) <= x + 1e-12 and round_up(x, decimals) >= x - 1e-12


@pytest.mark.parametrize(("x", "down", "up"), [
    (0.003996, "0.3 %", "0.4 %"),     # rounded to nearest, 0.4 % would overstate a lower bound
    (0.113472, "11.3 %", "11.4 %"),   # rounded to nearest, 11.3 % would understate an upper bound
    (0.2646, "26.4 %", "26.5 %"),
    (0.25, "25.0 %", "25.0 %"),       # already at the precision shown
    (0.0, "0.0 %", "0.0 %"),
    (1.0, "100.0 %", "100.0 %"),
])
def test_percentages_of_bounds_are_rounded_outward(x, down, up):
    from livingpaper.formatting import percent_down, percent_up

    assert (percent_down(x), percent_up(x)) == (down, up)
    assert percent_down(None) == percent_up(None) == "–"

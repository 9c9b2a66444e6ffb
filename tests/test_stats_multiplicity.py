"""Tests for livingpaper.stats.multiplicity: the Holm adjustment, pinned to R's
``p.adjust(..., method = "holm")`` and to the step-down procedure worked by hand.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

# Any warning (e.g. numpy's RuntimeWarning on empty input, scipy's
# precision-loss warning) fails the test.
pytestmark = pytest.mark.filterwarnings("error")


# ---------------------------------------------------------------------------
# Multiplicity (issue 12, point 5)
# ---------------------------------------------------------------------------


def test_holm_matches_the_step_down_procedure_by_hand_and_leaves_missing_p_out():
    # R: p.adjust(c(0.01, 0.04, 0.03, 0.005), method = "holm") -> 0.03 0.06 0.06 0.02
    # By hand (m = 4): sorted 0.005 x 4 = 0.02; 0.01 x 3 = 0.03; 0.03 x 2 = 0.06;
    # 0.04 x 1 = 0.04 -> raised to 0.06 (non-decreasing).
    from livingpaper.stats.multiplicity import holm

    tests = pd.DataFrame({"name": list("abcde"), "p": [0.01, 0.04, None, 0.03, 0.005]})
    out = holm(tests)
    assert list(out["in_family"]) == [True, True, False, True, True]
    assert out["p_holm"].tolist()[:2] == pytest.approx([0.03, 0.06], abs=1e-15)
    assert math.isnan(out["p_holm"].iloc[2])
    assert out["p_holm"].tolist()[3:] == pytest.approx([0.06, 0.02], abs=1e-15)


def test_holm_caps_adjusted_p_at_one():
    from livingpaper.stats.multiplicity import holm

    out = holm(pd.DataFrame({"p": [0.6, 0.7, 0.9]}))
    # By hand: 0.6 x 3 = 1.8 -> 1; then max(1, ...) = 1 for the others.
    assert out["p_holm"].tolist() == [1.0, 1.0, 1.0]

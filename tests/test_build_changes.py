"""What changed between two builds (livingpaper.build.changes): every differing value, and the
ones that matter flagged."""
from __future__ import annotations

from livingpaper.build import changes


def results(p: float, estimable: bool = True, n: int = 10, excluded=None) -> dict:
    return {"dataset": {"excluded": excluded or []},
            "sections": {"severe": {"estimable": estimable, "n": n, "p": p}}}


def test_first_build_has_nothing_to_compare():
    assert changes.compare(None, results(0.2)) == []


def test_identical_results_have_no_change():
    assert changes.compare(results(0.2), results(0.2)) == []


def test_p_crossing_005_is_flagged_both_ways():
    down = {c.key: c for c in changes.compare(results(0.2), results(0.01))}
    assert down["sections.severe.p"].note == "crossed 0.05: now significant"
    up = {c.key: c for c in changes.compare(results(0.01), results(0.07))}
    assert up["sections.severe.p"].note == "crossed 0.05: no longer significant"
    same_side = {c.key: c for c in changes.compare(results(0.01), results(0.02))}
    assert same_side["sections.severe.p"].note == ""


def test_estimability_change_is_flagged_with_old_and_new():
    change = {c.key: c for c in changes.compare(results(0.2, estimable=False), results(0.2))}
    assert change["sections.severe.estimable"].old is False
    assert change["sections.severe.estimable"].new is True
    assert change["sections.severe.estimable"].note == "became estimable"


def test_values_added_or_removed_are_listed():
    excluded = [{"row": 5, "patient_id": "P04", "reason": "post missing"}]
    listed = {c.key: c for c in changes.compare(results(0.2), results(0.2, excluded=excluded))}
    assert listed["dataset.excluded[0].patient_id"].old is None
    assert listed["dataset.excluded[0].patient_id"].new == "P04"
    assert listed["dataset.excluded[0].patient_id"].note == "new"
    assert "dataset.excluded" not in listed  # an empty list is not a value of its own


def test_summary_lists_flagged_changes_first():
    found = changes.compare(results(0.2, n=10), results(0.01, n=12))
    lines = changes.summary(found)
    assert lines[0].startswith("2 value(s) changed")
    assert "sections.severe.p" in lines[1] and "now significant" in lines[1]
    assert "sections.severe.n: 10 -> 12" in lines[2]

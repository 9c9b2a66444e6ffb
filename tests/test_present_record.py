"""Tests for livingpaper.present.record: the build's records on the page."""
from __future__ import annotations

from livingpaper.build import changes
from livingpaper.present.record import changes_report


def results(p: float) -> dict:
    return {"dataset": {"excluded": []}, "sections": {"severe": {"estimable": True, "n": 10, "p": p}}}


def test_changes_page_lists_flagged_changes_and_shortens_hashes():
    found = changes.compare(results(0.2), results(0.01))
    record = {"previous_build": {"built_at_utc": "2026-01-01T00:00:00+00:00", "data_file": "a.csv",
                                 "data_sha256": "f" * 64, "commit": None},
              "changes": [c.to_dict() for c in found]
              + [{"key": "dataset.sha256", "old": "a" * 64, "new": "b" * 64, "note": ""}]}
    page = changes_report(record)
    assert "What matters most" in page and "now significant" in page
    assert "a" * 64 not in page and "aaaaaaaaaaaa…" in page
    assert changes_report(None).startswith("This is the first build")

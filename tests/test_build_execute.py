"""Execution of the chapters (livingpaper.build.execute): how many at once, in which order."""
from __future__ import annotations

from pathlib import Path

from livingpaper.build import execute
from livingpaper.build.book import Chapter


def test_default_parallelism_is_one_more_than_the_cores_except_for_large_cohorts(monkeypatch):
    monkeypatch.setattr(execute.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert execute.default_jobs(61) == 3
    assert execute.default_jobs(execute.LARGE_COHORT_ROWS) == 3
    assert execute.default_jobs(execute.LARGE_COHORT_ROWS + 1) == 2
    monkeypatch.setattr(execute.os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert execute.default_jobs(61) == 2


def work(*names: str) -> list[tuple[Chapter, Path]]:
    return [(Chapter(name, f"{name}.md", f"chapters/{name}"), Path(f"{name}.ipynb")) for name in names]


def test_longest_chapters_start_first_by_the_previous_build_or_else_by_the_known_order():
    chapters = work("cite", "overall", "evidence", "intro", "beyond")
    assert [c.name for c, _ in execute.longest_first(chapters, {})] == ["evidence", "beyond", "overall", "cite", "intro"]
    seconds = {"cite": 0.5, "overall": 3.0, "evidence": 1.0, "intro": 2.0, "beyond": 0.1}
    assert [c.name for c, _ in execute.longest_first(chapters, seconds)] == ["overall", "intro", "evidence", "cite", "beyond"]

"""The book: its chapters (for each page, its template, where it goes and its parameters)
and the files it is rendered with besides them.

``_toc.yml`` lists the same pages in the same order (tests/test_build_book.py checks it).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from livingpaper import paths
from livingpaper.domain import SECTIONS


@dataclass(frozen=True)
class Chapter:
    """One page of the book: a MyST Markdown template executed with parameters."""

    name: str
    template: str  # relative to chapters/
    output: str  # relative to the book folder, without suffix
    title: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    execute: bool = True  # False: a plain Markdown page, copied as it is


CHAPTERS: tuple[Chapter, ...] = (
    Chapter("intro", "intro.md", "chapters/intro"),
    Chapter("methods", "methods.md", "chapters/methods"),
    Chapter("overall", "templates/paired.md", "chapters/results/overall", SECTIONS["overall"].title, {"section": "overall"}),
    Chapter("moderate", "templates/paired.md", "chapters/results/moderate", SECTIONS["moderate"].title, {"section": "moderate"}),
    Chapter("severe", "templates/paired.md", "chapters/results/severe", SECTIONS["severe"].title, {"section": "severe"}),
    Chapter("dose", "templates/dose.md", "chapters/results/dose", "Dose subgroups"),
    Chapter("replication", "replication.md", "chapters/replication"),
    Chapter("implied", "implied.md", "chapters/implied"),
    Chapter("beyond", "beyond.md", "chapters/beyond"),
    Chapter("evidence", "evidence.md", "chapters/evidence"),
    Chapter("data", "data.md", "chapters/data"),
    Chapter("changes", "changes.md", "chapters/changes"),
    Chapter("reproducibility", "reproducibility.md", "chapters/reproducibility"),
    Chapter("strobe", "strobe.md", "chapters/strobe", execute=False),
    Chapter("cite", "cite.md", "chapters/cite"),
    Chapter("references", "references.md", "chapters/references", execute=False),
)


def files() -> list[Path]:
    """The files of the book besides its chapters: configuration, bibliography, styles,
    local Sphinx extensions."""
    root = paths.ROOT
    return sorted([root / "_config.yml", root / "_toc.yml", *root.glob("*.bib"),
                   *(p for p in (root / "_static").glob("*") if p.is_file()), *(root / "_ext").glob("*.py")])

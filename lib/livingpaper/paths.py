"""Where things are: every path the project uses is defined once, here."""
from __future__ import annotations

from pathlib import Path

#: The repository root (two levels up from lib/livingpaper/paths.py).
ROOT = Path(__file__).resolve().parents[2]
#: The library's own package folder (lib/livingpaper): the build's cache keys read it.
LIB_DIR = Path(__file__).resolve().parent
DATA_DIR = ROOT / "data"
CHAPTERS_DIR = ROOT / "chapters"
TEMPLATES_DIR = CHAPTERS_DIR / "templates"

DEFAULT_COHORT = DATA_DIR / "cohort.csv"
#: The default output folder, the only place inside the checkout a book may go.
DEFAULT_OUT = ROOT / "_build"
PUBLISHED_FIGURES = DATA_DIR / "published.yaml"

#: Book configuration files copied into every build.
BOOK_CONFIG = ROOT / "_config.yml"
BOOK_TOC = ROOT / "_toc.yml"
REFERENCES = ROOT / "references.bib"
CITATION = ROOT / "CITATION.cff"

#: The evidence file shipped with the book, and the BibTeX file of its citations.
EVIDENCE_CSV = DATA_DIR / "evidence.csv"
EVIDENCE_BIB = ROOT / "references-evidence.bib"

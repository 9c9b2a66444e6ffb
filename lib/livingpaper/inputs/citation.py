"""What the "How to cite" page says, read from the files that describe the two works.

* ``CITATION.cff`` (the Citation File Format 1.2.0) describes this supplement, and lists the
  paper it accompanies under ``references`` (:func:`load_citation`, :func:`paper_of`);
* ``references.bib`` holds the paper's BibTeX entry, shown exactly as written there
  (:func:`load_bibliography`, :meth:`Bibliography.key_of_doi`,
  :meth:`Bibliography.entry_as_written`);
* a build's ``provenance.json`` says which data file and code produced the book
  (:func:`load_provenance`; ``None`` when a page runs outside a build).

Nothing here writes text for a page: :mod:`livingpaper.present.citation` does, from these.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from livingpaper import paths


def load_citation(path: str | Path | None = None) -> dict[str, Any]:
    """``CITATION.cff`` as a mapping, keys as in the CFF 1.2.0 schema (default: the one of this
    source tree, :data:`livingpaper.paths.CITATION`)."""
    return yaml.safe_load(Path(path or paths.CITATION).read_text(encoding="utf-8"))


def paper_of(citation: dict[str, Any]) -> dict[str, Any]:
    """The paper this supplement accompanies: the first work under ``references`` of the
    citation file (a CFF reference: ``authors``, ``title``, ``journal``, ``doi``, ...)."""
    references = citation.get("references") or []
    if not references:
        raise KeyError("the citation file lists no reference: the paper this supplement accompanies "
                       "must be its first entry under 'references'")
    return references[0]


@dataclass(frozen=True)
class Bibliography:
    """A BibTeX file: its entries as pybtex parses them (the parser Jupyter Book uses), and its
    text, so that an entry can be shown exactly as written (pybtex's writer would re-escape it)."""

    path: Path
    text: str
    entries: Any  # pybtex's case-insensitive mapping of key -> Entry

    def key_of_doi(self, doi: str) -> str:
        """The key of the entry whose ``doi`` field is ``doi`` (compared case-insensitively,
        as DOIs are)."""
        wanted = str(doi).lower()
        for key, entry in self.entries.items():
            if entry.fields.get("doi", "").lower() == wanted:
                return key
        raise KeyError(f"{self.path.name} has no entry with doi {doi}")

    def entry_as_written(self, key: str) -> str:
        """The entry ``key`` as it stands in the file, from ``@type{key,`` to its closing brace
        at the start of a line, with one line break after it."""
        match = re.search(r"@\w+\{" + re.escape(key) + r",.*?\n\}[ \t]*(?:\n|\Z)", self.text, re.S)
        if match is None:
            raise KeyError(f"{self.path.name} has no entry {key!r} closed by a '}}' at the start of a line")
        return match.group(0).rstrip() + "\n"


def load_bibliography(path: str | Path | None = None) -> Bibliography:
    """Read a BibTeX file (default: the book's ``references.bib``, :data:`livingpaper.paths.REFERENCES`)."""
    from pybtex.database import parse_file

    path = Path(path or paths.REFERENCES)
    return Bibliography(path, path.read_text(encoding="utf-8"), parse_file(str(path), bib_format="bibtex").entries)


def load_provenance(path: str | Path | None) -> dict[str, Any] | None:
    """A build's provenance record (``provenance.json``, written by the build beside the book),
    or None when there is none (``path`` empty: the page runs outside a build)."""
    if not path:
        return None
    return json.loads(Path(path).read_text(encoding="utf-8"))

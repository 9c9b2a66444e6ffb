"""The book's metadata files: citation metadata (CITATION.cff, .zenodo.json), the bibliography
(references*.bib, and the paper's reference list in it), and the STROBE checklist page.

CITATION.cff is validated with cffconvert, the Citation File Format project's own tool,
against the official CFF 1.2.0 JSON schema that it ships; .zenodo.json is checked against
the conversion cffconvert makes of CITATION.cff, so the two descriptions cannot drift. The
"How to cite" page, which reads CITATION.cff and references.bib, is tested in
tests/test_present_citation.py.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from cffconvert import Citation
from livingpaper import paths
from pybtex.database import parse_file

CITATION_CFF = paths.ROOT / "CITATION.cff"
ZENODO_JSON = paths.ROOT / ".zenodo.json"
PAPER_TEXT = paths.DATA_DIR / "paper" / "matsuoka2025-abstract-and-references.txt"
PAPER_DOI = "10.37871/jbres2087"

# Zenodo's deposit metadata: the upload types it accepts (developers.zenodo.org, "Deposit metadata").
ZENODO_UPLOAD_TYPES = {"publication", "poster", "presentation", "dataset", "image", "video",
                       "software", "lesson", "physicalobject", "other"}

# The STROBE checklist for cohort studies (von Elm et al. 2007, doi:10.1371/journal.pmed.0040296):
# 22 items, several of them in parts.
STROBE_COHORT_ITEMS = [
    "1a", "1b", "2", "3", "4", "5", "6a", "6b", "7", "8", "9", "10", "11",
    "12a", "12b", "12c", "12d", "12e", "13a", "13b", "13c", "14a", "14b", "14c", "15",
    "16a", "16b", "16c", "17", "18", "19", "20", "21", "22",
]
# The pages the STROBE page may link to (the book's chapters).
BOOK_PAGES = {"/chapters/intro", "/chapters/methods", "/chapters/results/overall", "/chapters/results/moderate",
              "/chapters/results/severe", "/chapters/results/dose", "/chapters/data", "/chapters/reproducibility",
              "/chapters/changes"}


def citation_text() -> str:
    return CITATION_CFF.read_text(encoding="utf-8")


def bib_files() -> list[Path]:
    """references.bib and every references-*.bib beside it (another chapter may add one)."""
    return sorted(paths.ROOT.glob("references*.bib"))


def bib_entries() -> dict[str, object]:
    """Every entry of every bibliography file, by key."""
    entries = {}
    for path in bib_files():
        entries.update(parse_file(path).entries)
    return entries


def paper_dois() -> tuple[list[str], list[str]]:
    """(numbered items of the paper's reference list, the DOI of each item), from the paper file."""
    text = PAPER_TEXT.read_text(encoding="utf-8")
    references = text.split("\nReferences\n", 1)[1]
    items = re.findall(r"^\s*\d+\.\s+(.+)$", references, re.MULTILINE)
    dois = [m.group(1).rstrip(".,;").lower() for item in items
            for m in [re.search(r"doi:\s*(10\.\S+)", item, re.IGNORECASE)] if m]
    return items, dois


def cited_keys() -> dict[str, set[str]]:
    """Every key cited with a {cite}, {cite:p}, {cite:t}, ... role, by chapter file."""
    keys = {}
    for path in sorted(paths.CHAPTERS_DIR.rglob("*.md")):
        found = re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", path.read_text(encoding="utf-8"))
        keys[str(path.relative_to(paths.ROOT))] = {k.strip() for group in found for k in group.split(",")}
    return keys


# --- CITATION.cff --------------------------------------------------------------------------

def test_citation_cff_is_valid_against_the_official_cff_1_2_0_schema():
    citation = Citation(citation_text())
    assert citation.cffversion == "1.2.0"
    citation.validate()  # raises jsonschema.ValidationError when invalid


def test_the_validator_rejects_a_citation_file_without_authors():
    cff = yaml.safe_load(citation_text())
    del cff["authors"]
    with pytest.raises(jsonschema.ValidationError, match="authors"):
        Citation(yaml.safe_dump(cff, sort_keys=False)).validate()


def test_the_validator_rejects_a_malformed_doi_of_the_paper():
    cff = yaml.safe_load(citation_text())
    cff["references"][0]["doi"] = "jbres2087"
    with pytest.raises(jsonschema.ValidationError):
        Citation(yaml.safe_dump(cff, sort_keys=False)).validate()


def test_citation_cff_references_the_paper_as_the_bibliography_describes_it():
    cff = yaml.safe_load(citation_text())
    paper = next(r for r in cff["references"] if r.get("doi") == PAPER_DOI)
    entry = bib_entries()["matsuoka2025"]
    assert [a["family-names"] for a in paper["authors"]] == [p.last_names[0] for p in entry.persons["author"]]
    assert [a["given-names"] for a in paper["authors"]] == [p.first_names[0] for p in entry.persons["author"]]
    assert (paper["year"], paper["volume"], paper["issue"]) == tuple(int(entry.fields[f]) for f in
                                                                      ("year", "volume", "number"))
    assert f"{paper['start']}--{paper['end']}" == entry.fields["pages"]
    assert paper["journal"] == entry.fields["journal"].replace("\\&", "&")


def test_citation_cff_describes_this_supplement():
    cff = yaml.safe_load(citation_text())
    assert cff["type"] == "software" and cff["license"] == "MIT" and cff["version"] == "0.1.0"
    assert "CC BY 4.0" in cff["abstract"]  # the licence of the data and of the paper's text
    assert "preferred-citation" not in cff  # the paper is cited *with* the supplement, not instead of it


# --- .zenodo.json ----------------------------------------------------------------------------

def test_zenodo_json_has_the_required_deposit_metadata():
    zenodo = json.loads(ZENODO_JSON.read_text(encoding="utf-8"))
    assert zenodo["upload_type"] in ZENODO_UPLOAD_TYPES
    for key in ("title", "description", "creators", "license", "access_right", "version", "keywords"):
        assert zenodo[key], key
    assert all(creator["name"] for creator in zenodo["creators"])
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", zenodo["publication_date"])


def test_zenodo_json_marks_the_deposit_as_a_supplement_to_the_paper():
    zenodo = json.loads(ZENODO_JSON.read_text(encoding="utf-8"))
    assert {"identifier": PAPER_DOI, "relation": "isSupplementTo", "resource_type": "publication-article",
            "scheme": "doi"} in zenodo["related_identifiers"]


def test_zenodo_json_agrees_with_cffconverts_conversion_of_citation_cff():
    zenodo = json.loads(ZENODO_JSON.read_text(encoding="utf-8"))
    converted = json.loads(Citation(citation_text()).as_zenodo())
    for key in ("title", "version", "creators", "keywords", "publication_date"):
        assert zenodo[key] == converted[key], key
    assert zenodo["license"] == converted["license"]["id"]


# --- references.bib --------------------------------------------------------------------------

def test_every_bibliography_file_parses():
    assert paths.REFERENCES in bib_files()
    for path in bib_files():
        assert parse_file(path).entries, path.name  # pybtex raises on a malformed or repeated entry


def test_no_key_is_defined_twice_across_the_bibliography_files():
    # BibTeX keys are case-insensitive; Sphinx warns (an error here) on a duplicate.
    keys = [key.lower() for path in bib_files()
            for key in re.findall(r"^@\w+\{([^,\s]+),", path.read_text(encoding="utf-8"), re.MULTILINE)]
    assert keys and len(keys) == len(set(keys)), sorted(k for k in set(keys) if keys.count(k) > 1)


def test_the_bibliography_has_the_paper_and_every_item_of_its_reference_list():
    items, dois = paper_dois()
    assert len(items) == 26 and len(dois) == len(items)  # every item of the list has a DOI
    bib_dois = {str(entry.fields.get("doi", "")).lower() for entry in bib_entries().values()}
    assert PAPER_DOI in bib_dois
    assert [doi for doi in dois if doi not in bib_dois] == []


def test_the_paper_reference_list_has_one_entry_per_distinct_paper():
    _, dois = paper_dois()
    by_doi = {}
    for key, entry in bib_entries().items():
        by_doi.setdefault(str(entry.fields.get("doi", "")).lower(), []).append(key)
    assert {doi: keys for doi, keys in by_doi.items() if doi in dois and len(keys) > 1} == {}
    assert by_doi["10.3892/etm.2016.3544"] == ["hu2016"]  # items 2 and 11 of the list: one paper


def test_every_cited_key_in_the_chapters_resolves():
    known = set(bib_entries())
    cited = cited_keys()
    assert cited["chapters/methods.md"]  # the scan finds citations at all
    missing = {chapter: sorted(keys - known) for chapter, keys in cited.items() if keys - known}
    assert missing == {}


def test_every_reference_of_the_paper_is_cited_somewhere_in_the_book():
    # The bibliography page lists cited entries only: an uncited reference would not appear.
    _, dois = paper_dois()
    cited = set().union(*cited_keys().values())
    cited_dois = {str(entry.fields.get("doi", "")).lower() for key, entry in bib_entries().items() if key in cited}
    assert sorted(set(dois) - cited_dois) == []


# --- chapters/strobe.md ----------------------------------------------------------------------

def strobe_rows() -> list[list[str]]:
    """The rows of the STROBE page's list-tables (header rows left out), as lists of cells."""
    text = (paths.CHAPTERS_DIR / "strobe.md").read_text(encoding="utf-8")
    rows = []
    for table in re.findall(r"```\{list-table\}\n(.*?)```", text, re.S):
        for row in re.split(r"^\* ", table, flags=re.MULTILINE)[1:]:
            rows.append([cell.strip() for cell in re.split(r"^\s+- |^- ", row, flags=re.MULTILINE) if cell.strip()])
    return [row for row in rows if row[0] != "Item"]


def test_strobe_page_has_every_cohort_item_once_in_order():
    assert [row[0] for row in strobe_rows()] == STROBE_COHORT_ITEMS


def test_strobe_page_gives_every_item_a_recommendation_book_abstract_and_status():
    statuses = ("Reported", "Partly", "Open", "N/A")
    for row in strobe_rows():
        assert len(row) == 5, row
        assert row[4].startswith(statuses), row


def test_strobe_page_marks_the_items_the_abstract_leaves_open():
    status = {row[0]: row[4] for row in strobe_rows()}
    # The abstract says nothing of missing data, study size or funding.
    for item in ("10", "12c", "22"):
        assert status[item].startswith("Open"), item
    # It does give the follow-up time and the category boundaries.
    for item in ("14c", "16b"):
        assert status[item].startswith("Reported"), item


def test_strobe_page_links_only_to_pages_of_the_book():
    text = (paths.CHAPTERS_DIR / "strobe.md").read_text(encoding="utf-8")
    # {doc}`/chapters/methods` or {doc}`Methods </chapters/methods>`
    targets = {m.group(2) or m.group(1) for m in re.finditer(r"\{doc\}`([^`<]*?)\s*(?:<([^`>]+)>)?`", text)}
    assert targets and targets <= BOOK_PAGES, targets - BOOK_PAGES

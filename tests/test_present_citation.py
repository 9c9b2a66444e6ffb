"""Tests of the "How to cite" page: livingpaper.inputs.citation reads CITATION.cff, the
bibliography and the build's provenance record; livingpaper.present.citation writes the two
references, the two BibTeX entries and the build's sentence; chapters/cite.md calls them.

Outside text (a data file's name) is checked by what its real consumers make of it: MyST's
own Markdown parser (markdown-it, as the book uses it) for the page, pybtex (the parser
Jupyter Book's bibliography uses) for the BibTeX entry. The metadata files themselves
(CITATION.cff against the CFF schema, .zenodo.json, the bibliography) are tested in
tests/test_citation_metadata.py.
"""
from __future__ import annotations

import copy
import html
import json
import re
from pathlib import Path

import pytest
from livingpaper import escaping, paths
from livingpaper.inputs import citation as sources
from livingpaper.present import citation as cite
from markdown_it.renderer import RendererHTML
from myst_parser.config.main import MdParserConfig
from myst_parser.parsers.mdit import create_md_parser
from pybtex.database import parse_string

PAPER_DOI = "10.37871/jbres2087"
SHA = "5" * 64
COMMIT = "c0ffee" + "0" * 34
# A data file name that tries every way out of its place: a table cell (|), HTML (<img
# onerror>, <b>), a code fence (```), a line break, BibTeX braces, LaTeX ($ _ %), a
# terminal escape.
HOSTILE_NAME = "a|<img src=x onerror=alert(1)>\n```\n<b>bold<\\b> {x} $y$ _z_ %c \x1b[31mred.csv"

BUILD = {
    "data": {"file": "clinic/cohort-2026.csv", "sha256": SHA, "n_rows": 12, "reconstructed": False},
    "parameters": {"moderate_min": 6.2, "severe_above": 8.0, "dose_cutoff_cells": 1e9},
    "load_options": {}, "code": {"commit": COMMIT, "dirty": False},
    "python": "3.11.2", "platform": "Linux", "packages": {}, "command": ["livingpaper", "build"],
    "built_at_utc": "2026-11-25T10:20:30+00:00",
}


def build(data_file: str = "clinic/cohort-2026.csv", commit: str | None = COMMIT, dirty: bool | None = False) -> dict:
    record = copy.deepcopy(BUILD)
    record["data"]["file"] = data_file
    record["code"] = {"commit": commit, "dirty": dirty}
    return record


@pytest.fixture(scope="module")
def citation() -> dict:
    return sources.load_citation()


@pytest.fixture(scope="module")
def bibliography() -> sources.Bibliography:
    return sources.load_bibliography()


@pytest.fixture(scope="module")
def myst():
    return create_md_parser(MdParserConfig(), RendererHTML).render


def tags(rendered: str) -> set[str]:
    return set(re.findall(r"<(\w+)", rendered))


def text_of(rendered: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", rendered))


def codes_of(rendered: str) -> list[str]:
    return [html.unescape(c) for c in re.findall(r"<code>(.*?)</code>", rendered, re.S)]


def entry_of(bibtex: str):
    entries = parse_string(bibtex, "bibtex").entries
    assert len(entries) == 1, list(entries)
    return next(iter(entries.items()))


# --------------------------------------------------------------------------------------
# Reading: CITATION.cff, references.bib, provenance.json
# --------------------------------------------------------------------------------------


def test_the_citation_file_is_read_with_the_paper_as_its_first_reference(citation):
    assert citation["version"] == "0.1.0" and citation["license"] == "MIT"
    assert sources.paper_of(citation)["doi"] == PAPER_DOI


def test_a_citation_file_without_the_paper_is_refused_by_saying_what_is_missing(citation):
    with pytest.raises(KeyError, match="no reference"):
        sources.paper_of({**citation, "references": []})


def test_another_citation_file_can_be_read(tmp_path, citation):
    other = tmp_path / "CITATION.cff"
    other.write_text(paths.CITATION.read_text(encoding="utf-8").replace("version: 0.1.0", "version: 2.3.4"),
                     encoding="utf-8")
    assert sources.load_citation(other)["version"] == "2.3.4"
    assert sources.load_citation("")["version"] == citation["version"]  # empty: this source tree's


def test_the_papers_entry_is_found_by_its_doi_in_any_case(bibliography):
    assert bibliography.key_of_doi(PAPER_DOI) == "matsuoka2025"
    assert bibliography.key_of_doi(PAPER_DOI.upper()) == "matsuoka2025"
    with pytest.raises(KeyError, match="no entry with doi 10.0000/none"):
        bibliography.key_of_doi("10.0000/none")


def test_an_entry_is_shown_exactly_as_written_in_the_bibliography(bibliography):
    text = paths.REFERENCES.read_text(encoding="utf-8")
    entry = bibliography.entry_as_written("matsuoka2025")
    assert entry.startswith("@article{matsuoka2025,\n") and entry.endswith("\n}\n")
    assert entry in text
    assert "Journal of Biomedical Research \\& Environmental Sciences" in entry  # not re-escaped by a writer
    assert entry.count("@") == 1  # the next entry is not swallowed


def test_the_last_entry_of_a_file_without_a_final_line_break_is_found(tmp_path):
    bib = tmp_path / "x.bib"
    bib.write_text("@misc{first,\n  title = {One}\n}\n\n@misc{second,\n  title = {Two}\n}", encoding="utf-8")
    bibliography = sources.load_bibliography(bib)
    assert bibliography.entry_as_written("second") == "@misc{second,\n  title = {Two}\n}\n"
    assert bibliography.entry_as_written("first") == "@misc{first,\n  title = {One}\n}\n"
    with pytest.raises(KeyError, match="no entry 'third'"):
        bibliography.entry_as_written("third")


def test_the_provenance_record_is_read_and_is_none_outside_a_build(tmp_path):
    path = tmp_path / "provenance.json"
    path.write_text(json.dumps(BUILD), encoding="utf-8")
    assert sources.load_provenance(path) == BUILD
    assert sources.load_provenance(str(path)) == BUILD
    assert sources.load_provenance("") is None and sources.load_provenance(None) is None


# --------------------------------------------------------------------------------------
# The paper
# --------------------------------------------------------------------------------------


def test_the_paper_is_referenced_in_the_journals_vancouver_style(citation, myst):
    rendered = myst(cite.paper_reference(citation))
    assert text_of(rendered).strip() == (
        "Matsuoka T, Hara Y, Itohara T, Ueda N, Nishimura K, Ryugo A, Kanai S, Kobayashi N. Long-Term Efficacy "
        "of a Single Intravenous MSC Infusion on HbA1c Reduction in Type 2 Diabetic Mellitus. Journal of "
        "Biomedical Research & Environmental Sciences. 2025;6(4):320-327. doi:10.37871/jbres2087")
    assert "<em>Journal of Biomedical Research &amp; Environmental Sciences</em>" in rendered
    assert '<a href="https://doi.org/10.37871/jbres2087">10.37871/jbres2087</a>' in rendered


def test_initials_lose_their_dots_and_spaces(citation):
    paper = {**sources.paper_of(citation), "authors": [{"family-names": "Tolkien", "given-names": "J. R. R."}]}
    assert cite.paper_reference({**citation, "references": [paper]}).startswith("Tolkien JRR. ")


def test_the_papers_bibtex_is_its_entry_in_references_bib(citation, bibliography):
    entry = cite.paper_bibtex(citation, bibliography)
    key, parsed = entry_of(entry)
    assert key == "matsuoka2025"
    assert dict(parsed.fields) == dict(bibliography.entries["matsuoka2025"].fields)
    assert entry in paths.REFERENCES.read_text(encoding="utf-8")


# --------------------------------------------------------------------------------------
# The supplement: reference and BibTeX
# --------------------------------------------------------------------------------------


def test_the_supplements_reference_names_the_build(citation, myst):
    rendered = myst(cite.supplement_reference(citation, build()))
    assert text_of(rendered).strip() == (
        "The living-paper team. A single intravenous MSC infusion and HbA1c in type 2 diabetes: a living paper. "
        "Version 0.1.0, released 2026-11-25. Re-executable supplement to doi:10.37871/jbres2087. Built from the "
        f"data file clinic/cohort-2026.csv (SHA-256 {SHA}) with the code of git commit {COMMIT}, on "
        "2026-11-25T10:20:30+00:00.")
    assert codes_of(rendered) == ["clinic/cohort-2026.csv", SHA, COMMIT]


def test_outside_a_build_the_supplements_reference_names_no_build(citation):
    text = cite.supplement_reference(citation, None)
    assert text.endswith("Re-executable supplement to doi:[10.37871/jbres2087](https://doi.org/10.37871/jbres2087).")
    assert "Built from" not in text


def test_the_supplements_bibtex_parses_with_every_field(citation):
    key, entry = entry_of(cite.supplement_bibtex(citation, build()))
    assert key == "livingpaper2026" and entry.type == "misc"
    assert dict(entry.fields) == {
        "title": "{A single intravenous MSC infusion and HbA1c in type 2 diabetes: a living paper}",
        "year": "2026",
        "version": "0.1.0",
        "howpublished": "Re-executable supplement to doi:10.37871/jbres2087",
        "note": f"Built from data file clinic/cohort-2026.csv (SHA-256 {SHA}) at git commit {COMMIT}, "
                "2026-11-25T10:20:30+00:00",
    }
    # An entity is braced: BibTeX keeps "The living-paper team" as one name, not "team, The living-paper".
    assert [str(p) for p in entry.persons["author"]] == ["{The living-paper team}"]


def test_a_person_is_family_comma_given_and_an_entity_one_braced_name(citation):
    authors = [{"name": "The living-paper team"}, {"family-names": "Doe", "given-names": "Jane"}]
    _, entry = entry_of(cite.supplement_bibtex({**citation, "authors": authors}, None))
    team, doe = entry.persons["author"]
    assert (team.last_names, team.first_names) == (["{The living-paper team}"], [])
    assert (doe.last_names, doe.first_names) == (["Doe"], ["Jane"])


def test_outside_a_build_the_bibtex_note_asks_for_the_builds_hash_and_commit(citation):
    _, entry = entry_of(cite.supplement_bibtex(citation, None))
    assert entry.fields["note"] == "Add the data SHA-256 and git commit of the build you used (provenance.json)"


def _latex_decoded(value: str) -> str:
    """Undo escaping.latex's substitutions (the inverse table, written out here)."""
    for escaped, char in ((r"\textbackslash{}", "\\"), (r"\textbraceleft{}", "{"), (r"\textbraceright{}", "}"),
                          (r"\^{}", "^"), (r"\~{}", "~"), (r"\$", "$"), (r"\&", "&"), (r"\#", "#"),
                          (r"\_", "_"), (r"\%", "%")):
        value = value.replace(escaped, char)
    return value


def test_a_hostile_data_file_name_keeps_the_bibtex_entry_whole(citation):
    _, entry = entry_of(cite.supplement_bibtex(citation, build(HOSTILE_NAME)))
    # Every field survives: the name closed no field and no entry.
    assert set(entry.fields) == {"title", "year", "version", "howpublished", "note"}
    assert (entry.fields["year"], entry.fields["version"]) == ("2026", "0.1.0")
    note = entry.fields["note"]
    assert "\n" not in note and "\x1b" not in note
    assert note.count("{") == note.count("}")  # BibTeX counts every brace
    assert not re.search(r"(?<!\\)[$_%&#]", note)  # LaTeX's special characters are escaped
    assert note.endswith(f"(SHA-256 {SHA}) at git commit {COMMIT}, 2026-11-25T10:20:30+00:00")
    # Nothing of the name is lost: undoing the escapes gives the name as the page shows it.
    shown = _latex_decoded(note)
    assert shown.startswith(f"Built from data file {escaping.visible(HOSTILE_NAME)} (SHA-256")


def test_a_hostile_data_file_name_renders_as_text_in_the_reference_and_the_build_sentence(citation, myst):
    for markdown in (cite.supplement_reference(citation, build(HOSTILE_NAME)), cite.build_paragraphs(build(HOSTILE_NAME))[0]):
        rendered = myst(markdown)
        assert tags(rendered) <= {"p", "em", "a", "code"}, rendered  # no <img>, <b>, <pre>, table
        assert rendered.count("<p>") == 1  # one paragraph: the line breaks of the name did not split it
        assert codes_of(rendered)[0] == escaping.visible(HOSTILE_NAME)  # shown literally, \n as text
        assert "<img" not in rendered and "<b>" not in rendered  # the markup of the name is only text


def test_a_hostile_data_file_name_cannot_close_the_bibtex_code_block(citation, myst):
    rendered = myst(cite.bibtex_block(cite.supplement_bibtex(citation, build(HOSTILE_NAME))) + "\n\nafter")
    assert rendered.count("<pre>") == 1 and "<img" not in rendered
    assert rendered.rstrip().endswith("<p>after</p>")
    block = html.unescape(re.search(r"<code[^>]*>(.*?)</code>", rendered, re.S).group(1))
    assert block == cite.supplement_bibtex(citation, build(HOSTILE_NAME))


# --------------------------------------------------------------------------------------
# The build
# --------------------------------------------------------------------------------------


def test_the_build_sentence_names_file_hash_commit_and_time(myst):
    [sentence] = cite.build_paragraphs(build())
    rendered = myst(sentence)
    assert codes_of(rendered) == ["clinic/cohort-2026.csv", SHA, COMMIT]
    assert text_of(rendered).strip().endswith("on 2026-11-25T10:20:30+00:00.")


def test_a_dirty_tree_adds_a_warning_and_an_unknown_state_does_not():
    assert cite.build_paragraphs(build(dirty=True))[1].startswith(":::{warning}\nThe source tree had uncommitted")
    assert len(cite.build_paragraphs(build(dirty=False))) == 1
    assert len(cite.build_paragraphs(build(dirty=None))) == 1  # git was not available: nothing to warn about


def test_a_build_outside_a_git_checkout_says_so(citation):
    assert "`not a git checkout`" in cite.build_paragraphs(build(commit=None))[0]
    _, entry = entry_of(cite.supplement_bibtex(citation, build(commit=None)))
    assert "at git commit not a git checkout," in entry.fields["note"]


def test_outside_a_build_the_page_says_there_is_no_record():
    [sentence] = cite.build_paragraphs(None)
    assert sentence.startswith("This page was executed outside a build: there is no provenance record")


def test_glued_values_are_visible_text_and_not_recorded_outside_a_build(citation):
    glued = cite.glued_values(citation, build(HOSTILE_NAME))
    assert glued["cite_data_file"] == escaping.visible(HOSTILE_NAME) and "\n" not in glued["cite_data_file"]
    assert (glued["cite_data_sha256"], glued["cite_commit"]) == (SHA, COMMIT)
    assert (glued["cite_version"], glued["cite_paper_license"], glued["cite_license"]) == ("0.1.0", "CC-BY-4.0", "MIT")
    outside = cite.glued_values(citation, None)
    assert [outside[f"cite_{k}"] for k in ("data_file", "data_sha256", "commit", "built_at_utc")] == ["not recorded"] * 4
    assert all(type(v) is str for v in outside.values())


# --------------------------------------------------------------------------------------
# chapters/cite.md, executed: it calls the functions above and shows what they return
# --------------------------------------------------------------------------------------


def run_cite_page(tmp_path: Path, provenance: dict | None) -> str:
    """Execute chapters/cite.md with papermill; all its Markdown output, joined."""
    import jupytext
    import papermill

    notebook = tmp_path / "cite.ipynb"
    jupytext.write(jupytext.read(paths.CHAPTERS_DIR / "cite.md"), notebook, fmt="ipynb")
    parameters = {}
    if provenance is not None:
        (tmp_path / "provenance.json").write_text(json.dumps(provenance), encoding="utf-8")
        parameters["provenance_path"] = str(tmp_path / "provenance.json")
    papermill.execute_notebook(str(notebook), str(notebook), parameters=parameters, kernel_name="python3",
                               cwd=str(paths.CHAPTERS_DIR), progress_bar=False)
    outputs = [o for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]
               for o in cell.get("outputs", [])]
    return "\n".join("".join(o["data"]["text/markdown"]) if "text/markdown" in o.get("data", {})
                     else "".join(o.get("data", {}).get("text/plain", "")) for o in outputs)


def test_cite_page_gives_the_data_hash_and_commit_of_this_build_in_text_and_bibtex(tmp_path):
    page = run_cite_page(tmp_path, BUILD)
    bibtex = re.search(r"@misc\{livingpaper\d{4},.*?\n\}", page, re.S).group(0)
    for value in (SHA, COMMIT, "clinic/cohort-2026.csv"):
        assert value in bibtex
        assert page.count(value) >= 3  # the reference, the BibTeX entry and the glued prose/table
    assert "doi:10.37871/jbres2087" in bibtex
    assert "uncommitted changes" not in page


def test_cite_page_warns_when_the_build_came_from_a_dirty_tree(tmp_path):
    page = run_cite_page(tmp_path, build(dirty=True))
    assert "uncommitted changes" in page


def test_cite_page_runs_outside_a_build_and_says_so(tmp_path):
    page = run_cite_page(tmp_path, None)
    assert "executed outside a build" in page
    assert not re.search(r"\b[0-9a-f]{64}\b", page)  # no data hash where there is no build
    # the paper's reference and BibTeX come from CITATION.cff and references.bib
    assert "Matsuoka T, Hara Y, Itohara T, Ueda N, Nishimura K, Ryugo A, Kanai S, Kobayashi N." in page
    assert "@article{matsuoka2025," in page

"""The "How to cite" page: the two works to cite, in words and in BibTeX, and the build to name.

Every function takes what :mod:`livingpaper.inputs.citation` read: the citation file
(``CITATION.cff`` as a mapping: this supplement, and the paper under ``references``), the
book's bibliography, and the build's provenance record (``provenance.json`` as a mapping;
``None`` when the page runs outside a build). They return MyST Markdown, BibTeX, or plain
strings to glue.

The build's values come from outside the book: a data file's name may hold ``|``, line
breaks, backticks, braces or HTML. Each goes through :mod:`livingpaper.escaping` for the
place it lands: inline code or escaped text in Markdown, LaTeX-escaped text in BibTeX, made
visible in glued text. The citation file's own text is escaped the same way.
"""
from __future__ import annotations

from typing import Any

from livingpaper import escaping
from livingpaper.inputs.citation import Bibliography, paper_of

#: The BibTeX note of the supplement when there is no build to name.
NO_BUILD_NOTE = "Add the data SHA-256 and git commit of the build you used (provenance.json)"
#: Glued for each build value when there is no build.
NOT_RECORDED = "not recorded"
#: Said of the code when the source tree was not a git checkout.
NOT_A_CHECKOUT = "not a git checkout"
#: Shown under the build's sentence when the source tree had uncommitted changes.
DIRTY_WARNING = (":::{warning}\nThe source tree had uncommitted changes when this book was built: "
                 "the commit above alone does not reproduce it.\n:::")

_BUILD_VALUES = ("data_file", "data_sha256", "commit", "built_at_utc")


def _build(record: dict[str, Any] | None) -> dict[str, Any] | None:
    """The values of a provenance record that a citation names (None outside a build)."""
    if record is None:
        return None
    return {
        "data_file": record["data"]["file"],
        "data_sha256": record["data"]["sha256"],
        "commit": record["code"]["commit"] or NOT_A_CHECKOUT,
        "dirty": record["code"]["dirty"],
        "built_at_utc": record["built_at_utc"],
    }


def _is_entity(author: dict[str, Any]) -> bool:
    """A CFF entity (a team, an institution) has a ``name``; a person has family and given names."""
    return bool(author.get("name"))


def _doi_link(doi: Any) -> str:
    return f"doi:[{doi}](https://doi.org/{doi})"


# --------------------------------------------------------------------------------------
# The paper
# --------------------------------------------------------------------------------------


def paper_reference(citation: dict[str, Any]) -> str:
    """The paper in the journal's own (Vancouver) style, as MyST Markdown: "Family Initials",
    initials without dots, the journal in italics, the DOI as a link."""
    paper = paper_of(citation)
    authors = ", ".join(f"{a['family-names']} {a['given-names'].replace('.', '').replace(' ', '')}"
                        for a in paper["authors"])
    return (
        f"{escaping.markdown(authors)}. {escaping.markdown(paper['title'])}. *{escaping.markdown(paper['journal'])}*. "
        f"{paper['year']};{paper['volume']}({paper['issue']}):{paper['start']}-{paper['end']}. "
        f"{_doi_link(paper['doi'])}"
    )


def paper_bibtex(citation: dict[str, Any], bibliography: Bibliography) -> str:
    """The paper's BibTeX entry exactly as written in the bibliography (found by its DOI)."""
    return bibliography.entry_as_written(bibliography.key_of_doi(paper_of(citation)["doi"]))


# --------------------------------------------------------------------------------------
# The supplement
# --------------------------------------------------------------------------------------


def supplement_reference(citation: dict[str, Any], record: dict[str, Any] | None) -> str:
    """This supplement as a reference (MyST Markdown): authors ("Family, Given" for a person,
    the name of an entity), title, version and release date, the paper it supplements, and
    the data file, its SHA-256, the commit and the time of the build."""
    paper, build = paper_of(citation), _build(record)
    authors = [a["name"] if _is_entity(a) else f"{a['family-names']}, {a['given-names']}" for a in citation["authors"]]
    text = (
        f"{escaping.markdown('; '.join(authors))}. *{escaping.markdown(citation['title'])}*. "
        f"Version {escaping.markdown(citation['version'])}, released {citation['date-released']}. "
        f"Re-executable supplement to {_doi_link(paper['doi'])}."
    )
    if build is not None:
        text += (f" Built from the data file {escaping.code(build['data_file'])} "
                 f"(SHA-256 {escaping.code(build['data_sha256'])}) with the code of git commit "
                 f"{escaping.code(build['commit'])}, on {escaping.markdown(build['built_at_utc'])}.")
    return text


def supplement_bibtex(citation: dict[str, Any], record: dict[str, Any] | None) -> str:
    """A ``@misc`` BibTeX entry for this supplement, keyed ``livingpaper<year>``.

    Every value is LaTeX-escaped (:func:`livingpaper.escaping.latex`), so a data file name
    with braces, line breaks or ``%`` cannot end a field or the entry. An entity author is
    braced, so that BibTeX keeps its name whole instead of reading it as "Family, Given".
    Outside a build, the note asks for the data SHA-256 and the commit of the build used.
    """
    paper, build = paper_of(citation), _build(record)
    year = str(citation["date-released"])[:4]
    latex = escaping.latex
    fields = {
        "author": " and ".join("{" + latex(a["name"]) + "}" if _is_entity(a)
                               else f"{latex(a['family-names'])}, {latex(a['given-names'])}"
                               for a in citation["authors"]),
        "title": "{" + latex(citation["title"]) + "}",
        "year": year,
        "version": latex(citation["version"]),
        "howpublished": f"Re-executable supplement to doi:{latex(paper['doi'])}",
        "note": (NO_BUILD_NOTE if build is None else
                 f"Built from data file {latex(build['data_file'])} (SHA-256 {latex(build['data_sha256'])}) "
                 f"at git commit {latex(build['commit'])}, {latex(build['built_at_utc'])}"),
    }
    return ("@misc{livingpaper" + year + ",\n"
            + ",\n".join(f"  {name:<12} = {{{value}}}" for name, value in fields.items())
            + "\n}\n")


def bibtex_block(entry: str) -> str:
    """A BibTeX entry as a MyST code block (the fence is longer than any backtick run inside)."""
    return escaping.fenced(entry, "bibtex")


# --------------------------------------------------------------------------------------
# The build
# --------------------------------------------------------------------------------------


def build_paragraphs(record: dict[str, Any] | None) -> list[str]:
    """The build's record in words (MyST Markdown), one paragraph per item: the sentence that
    names the data file, its SHA-256, the commit and the time, then a warning when the source
    tree had uncommitted changes. Outside a build, one sentence that says there is no record."""
    build = _build(record)
    if build is None:
        return ["This page was executed outside a build: there is no provenance record, hence no data hash or "
                "commit to cite. A book built with `make book` shows them here."]
    paragraphs = [
        f"This book was built from the data file {escaping.code(build['data_file'])}, whose SHA-256 is "
        f"{escaping.code(build['data_sha256'])}, with the code of git commit {escaping.code(build['commit'])}, "
        f"on {escaping.markdown(build['built_at_utc'])}."
    ]
    if build["dirty"]:
        paragraphs.append(DIRTY_WARNING)
    return paragraphs


def glued_values(citation: dict[str, Any], record: dict[str, Any] | None) -> dict[str, str]:
    """The values other pages may paste (``{glue:text}`cite::cite_commit```), by glue key:
    ``cite_data_file``, ``cite_data_sha256``, ``cite_commit``, ``cite_built_at_utc`` (made
    visible: a line break shows as ``\\n``; "not recorded" outside a build), ``cite_version``,
    ``cite_paper_license`` and ``cite_license``."""
    build = _build(record)
    values = {f"cite_{name}": NOT_RECORDED if build is None else escaping.visible(build[name])
              for name in _BUILD_VALUES}
    values["cite_version"] = str(citation["version"])
    values["cite_paper_license"] = str(paper_of(citation)["license"])
    values["cite_license"] = str(citation["license"])
    return values

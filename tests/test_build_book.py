"""The book's chapters (livingpaper.build.book): the table of contents lists them all, and
every executed chapter can take parameters."""
from __future__ import annotations

import yaml
from livingpaper import paths
from livingpaper.build import book


def test_toc_and_pipeline_chapters_agree():
    toc = yaml.safe_load(paths.BOOK_TOC.read_text())
    files = [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]
    assert sorted(files) == sorted(c.output for c in book.CHAPTERS)


def test_every_executed_chapter_declares_a_parameters_cell(tmp_path):
    import jupytext
    import papermill

    for template in sorted({c.template for c in book.CHAPTERS if c.execute}):
        notebook = tmp_path / "nb.ipynb"
        jupytext.write(jupytext.read(paths.CHAPTERS_DIR / template), notebook, fmt="ipynb")
        assert papermill.inspect_notebook(str(notebook)), f"{template} has no cell tagged 'parameters'"


def test_the_book_files_are_its_configuration_bibliographies_styles_and_extensions():
    names = {f.relative_to(paths.ROOT).as_posix() for f in book.files()}
    assert {"_config.yml", "_toc.yml", "references.bib"} <= names
    assert all(f.is_file() for f in book.files())
    assert not any(name.startswith(("chapters/", "lib/", "data/")) for name in names)

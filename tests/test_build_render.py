"""Rendering (livingpaper.build.render): the renderer gives exactly what `jupyter-book build`
gives, reads a pending page only once it is final, and reports Sphinx's warnings; the plain
executor's `jupyter-book build` reports them the same way."""
from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from livingpaper import paths
from livingpaper.build import book as build_book
from livingpaper.build import pipeline, render
from livingpaper.errors import BuildError

TINY_CONFIG = 'title: "A tiny book"\nexecute:\n  execute_notebooks: "off"\n'
TINY_TOC = "format: jb-book\nroot: intro\nchapters:\n  - file: page\n"


def tiny_book(folder: Path, page: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "_config.yml").write_text(TINY_CONFIG)
    (folder / "_toc.yml").write_text(TINY_TOC)
    (folder / "intro.md").write_text("# Introduction\n\nSee {doc}`page`.\n")
    (folder / "page.md").write_text(page)
    return folder


def test_a_pending_page_is_read_only_once_it_is_final(tmp_path):
    book = tiny_book(tmp_path / "book", "# Page\n\nNOT FINAL YET\n")
    renderer = render.Renderer(book, tmp_path / "out", pending=["page"])
    time.sleep(3)  # Sphinx is set up by now, and waiting for the page
    assert renderer.process.poll() is None  # it waits: it has not rendered the unfinished page
    (book / "page.md").write_text("# Page\n\nThe executed page.\n")
    renderer.executed("page")
    html = (renderer.render() / "page.html").read_text()
    assert "The executed page." in html and "NOT FINAL" not in html


def test_the_end_of_execution_releases_every_pending_page(tmp_path):
    book = tiny_book(tmp_path / "book", "# Page\n\nFinal.\n")
    renderer = render.Renderer(book, tmp_path / "out", pending=["page", "intro"])
    assert "Final." in (renderer.render() / "page.html").read_text()


def test_a_warning_fails_the_render_and_is_reported(tmp_path):
    book = tiny_book(tmp_path / "book", "# Page\n\nSee {ref}`a-label-that-does-not-exist`.\n")
    with pytest.raises(BuildError, match="a-label-that-does-not-exist"):
        render.Renderer(book, tmp_path / "out").render()


def test_the_plain_executors_jupyter_book_build_renders_the_book(tmp_path):
    book = tiny_book(tmp_path / "book", "# Page\n\nRendered by the command.\n")
    html = render.jupyter_book_build(book, tmp_path / "out")
    assert html == tmp_path / "out" / "_build" / "html"
    assert "Rendered by the command." in (html / "page.html").read_text()


def test_a_warning_fails_the_plain_executors_render_and_is_reported(tmp_path):
    book = tiny_book(tmp_path / "book", "# Page\n\nSee {ref}`a-label-that-does-not-exist`.\n")
    with pytest.raises(BuildError, match="Jupyter Book failed:\n.*WARNING.*a-label-that-does-not-exist"):
        render.jupyter_book_build(book, tmp_path / "out")


def test_a_cancelled_renderer_is_stopped(tmp_path):
    book = tiny_book(tmp_path / "book", "# Page\n")
    renderer = render.Renderer(book, tmp_path / "out", pending=["page"])
    renderer.cancel()
    assert renderer.process.poll() is not None




@pytest.mark.slow
def test_the_book_is_byte_for_byte_what_jupyter_book_build_makes(tmp_path, book_csv):
    # The build reads pages in the order their chapters finish, while they finish: the
    # HTML must still be that of `jupyter-book build` on the same executed notebooks.
    out = tmp_path / "book"
    pipeline.build(book_csv, out, log=lambda _: None, jobs=2)
    source = tmp_path / "source"
    for f in build_book.files():
        target = source / f.relative_to(paths.ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, target)
    shutil.copytree(out / "notebooks", source / "chapters")
    for chapter in build_book.CHAPTERS:
        if not chapter.execute:
            shutil.copy2(paths.CHAPTERS_DIR / chapter.template, source / f"{chapter.output}.md")
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    proc = subprocess.run([str(jupyter_book), "build", str(source), "--path-output", str(tmp_path / "cli"),
                           "--builder", "html", "--warningiserror", "--keep-going"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    cli = tmp_path / "cli" / "_build" / "html"
    ours = sorted(p.relative_to(out / "html") for p in (out / "html").rglob("*") if p.is_file())
    assert ours == sorted(p.relative_to(cli) for p in cli.rglob("*") if p.is_file())
    differing = [str(p) for p in ours if (out / "html" / p).read_bytes() != (cli / p).read_bytes()]
    assert differing == []

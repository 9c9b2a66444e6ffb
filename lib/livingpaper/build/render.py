"""The executed book rendered: HTML by Jupyter Book (Sphinx), the PDF by Chromium.

Jupyter Book renders with execution off and warnings as errors, so a broken page cannot
ship. It is run through :func:`jupyter_book.sphinx.build_sphinx`, the function its
``jupyter-book build`` command calls, with the same arguments, in a process of its own
(:class:`Renderer`) that can start *before* the chapters have finished executing: it
imports Sphinx and its extensions, reads the configuration and the bibliographies and
sets up the theme at once, then reads each page as soon as its chapter has executed
(pages are read in Sphinx's own order; a page still executing is waited for). Only
writing the pages waits for the last chapter. The pages are read from the same files in
the same order as by ``jupyter-book build``, so the book is the same
(tests/test_build_render.py compares the two).

The plain executor renders with :func:`jupyter_book_build` instead: the ``jupyter-book
build`` command itself, once every chapter has executed.
"""
from __future__ import annotations

import gc
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterable

from livingpaper.build import processes
from livingpaper.errors import BuildError
from livingpaper.escaping import terminal, without_colours

#: Message to a renderer: this page's chapter has executed (followed by the page's name).
DONE = "done"



class Renderer:
    """``jupyter-book build BOOK --path-output OUT --builder BUILDER -W --keep-going`` in a
    process that starts now; the pages named in ``pending`` (Sphinx document names, such
    as ``chapters/results/overall``) are read only once :meth:`executed` has been called
    for them, or when :meth:`render` is."""

    def __init__(self, book_dir: Path, out_dir: Path, builder: str = "html", pending: Iterable[str] = ()):
        self.out_dir, self.builder = out_dir, builder
        out_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = out_dir / f"{builder}.log"
        self._log = open(self.log_path, "w", encoding="utf-8")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "livingpaper.build.render", str(book_dir), str(out_dir), builder, json.dumps(list(pending))],
            stdin=subprocess.PIPE, stdout=self._log, stderr=subprocess.STDOUT, text=True, **processes.popen_options())

    def executed(self, docname: str) -> None:
        """This page's notebook is final: the renderer may read it."""
        try:
            self.process.stdin.write(f"{DONE} {docname}\n")
            self.process.stdin.flush()
        except (BrokenPipeError, ValueError):  # the renderer failed: render() reports why
            pass

    def render(self) -> Path:
        """Every page is final: render the rest; returns the folder of the output. Raises
        BuildError with Sphinx's warnings."""
        try:
            try:
                self.process.stdin.close()
            except BrokenPipeError:
                pass
            self.process.wait()
        finally:
            self._log.close()
        if self.process.returncode != 0:
            raise _failure(self.log_path)
        return self.out_dir / "_build" / self.builder

    def cancel(self) -> None:
        """Stop a renderer that will not be needed (the build failed); idempotent."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._log.close()


def _failure(log_path: Path) -> BuildError:
    """Why Jupyter Book failed, from its log: Sphinx's warnings and errors (else the end of
    the log), or the one line that says the disk is full."""
    log = without_colours(log_path.read_text(encoding="utf-8", errors="replace")).strip().splitlines()
    full = [line for line in log if "No space left on device" in line]
    if full:
        return BuildError(f"Jupyter Book failed: {terminal(full[-1].strip())}")
    problems = [line for line in log if "WARNING" in line or "ERROR" in line] or log[-15:]
    return BuildError("Jupyter Book failed:\n" + "\n".join(terminal(p) for p in problems[:20]))


#: ``jupyter-book`` as its console script runs it (the script may not be on PATH).
_JUPYTER_BOOK = "import sys; from jupyter_book.cli.main import main; sys.exit(main())"


def jupyter_book_build(book_dir: Path, out_dir: Path, builder: str = "html") -> Path:
    """``jupyter-book build BOOK --path-output OUT --builder BUILDER -W --keep-going``: the
    command's own function, unchanged, in a process of its own that ends with the build;
    returns the folder of the output. Raises BuildError with Sphinx's warnings."""
    out_dir.mkdir(parents=True, exist_ok=True)
    log_path = out_dir / f"{builder}.log"
    with open(log_path, "w", encoding="utf-8") as log:
        # run() kills the process if the build is interrupted while it waits.
        proc = subprocess.run([sys.executable, "-c", _JUPYTER_BOOK, "build", str(book_dir), "--path-output",
                               str(out_dir), "--builder", builder, "--warningiserror", "--keep-going"],
                              stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                              **processes.popen_options())
    if proc.returncode != 0:
        raise _failure(log_path)
    return out_dir / "_build" / builder


def _render_when_ready(book_dir: Path, out_dir: Path, builder: str, order: list[str]) -> int:
    """In the renderer process: set Sphinx up and build, reading each pending page (``order``:
    in the order they are expected to be final) only once stdin has said it is final
    (``done NAME``; end of input: all are)."""
    pending = set(order)

    def read_final_pages_first(app, env, docnames: list[str]) -> None:
        # The pages that are final now first, then the pending ones as they will come.
        rank = {name: i for i, name in enumerate(order)}
        docnames.sort(key=lambda name: (name in rank, rank.get(name, 0)))

    from jupyter_book.cli.main import BUILDER_OPTS
    from jupyter_book.sphinx import build_sphinx
    from sphinx.application import Sphinx

    def wait_until_final(app, docname: str, source: list[str]) -> None:
        if docname not in pending:
            return
        while docname in pending:
            line = sys.stdin.readline()
            if not line:  # the build has executed every chapter
                pending.clear()
            elif line.startswith(DONE + " "):
                pending.discard(line[len(DONE) + 1:].strip())
        # Sphinx read the file before this event: read the executed notebook instead.
        source[0] = Path(app.env.doc2path(docname)).read_text(encoding="utf-8")

    build = Sphinx.build

    def build_reading_when_final(app, *args, **kwargs):
        app.connect("env-before-read-docs", read_final_pages_first)
        app.connect("source-read", wait_until_final, priority=1)  # before any extension sees the page
        return build(app, *args, **kwargs)

    Sphinx.build = build_reading_when_final
    source = book_dir.absolute()
    output = out_dir.absolute() / "_build" / {"html": "html", "singlehtml": "singlehtml"}[builder]
    # The arguments `jupyter-book build` passes (jupyter_book/cli/main.py, build()).
    result = build_sphinx(
        source, output, use_external_toc=True, noconfig=True, path_config=str(source / "_config.yml"),
        confoverrides={"external_toc_path": (source / "_toc.yml").as_posix(), "latex_individualpages": False},
        builder=BUILDER_OPTS[builder], warningiserror=True, keep_going=True, freshenv=False, verbosity=0,
        quiet=False, really_quiet=False)
    return 0 if result == 0 else 1


CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
#: Flags for a headless Chromium on a machine without network or display.
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync")


def chromium() -> str | None:
    """The Chromium executable, if one is installed."""
    return next((found for name in CHROMIUM_NAMES if (found := shutil.which(name))), None)


def pdf_printer() -> str:
    """The Chromium that prints the PDF; BuildError if there is none (asked before the
    single-page book is rendered for nothing)."""
    browser = chromium()
    if browser is None:
        raise BuildError("the PDF needs Chromium, which is not installed: `make pdf` installs it "
                         "(apt-get install chromium)")
    return browser


def pdf(book_dir: Path, single: Path, target: Path) -> None:
    """The whole book as one PDF: the single-page HTML book (``single``, the output folder
    of the ``singlehtml`` builder) printed by headless Chromium (numbered chapters, figures
    and tables, bibliography; print styles in _static/print.css)."""
    import yaml

    browser = pdf_printer()
    root = yaml.safe_load((book_dir / "_toc.yml").read_text(encoding="utf-8"))["root"]
    # The single page is written where the root chapter lives, but its links are relative
    # to the top of the output: printed from there, images and styles resolve.
    page = single / "book.html"
    shutil.copy2(single / f"{root}.html", page)
    with tempfile.TemporaryDirectory(prefix="lp-chromium-") as profile:
        proc = subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--no-pdf-header-footer",
                               f"--print-to-pdf={target}", page.as_uri()], capture_output=True, text=True, timeout=300,
                              **processes.popen_options())
    if proc.returncode != 0 or not target.is_file() or target.stat().st_size < 10_000:
        raise BuildError(f"Chromium could not print the PDF: {terminal(without_colours(proc.stderr.strip())[-500:])}")


if __name__ == "__main__":
    code = _render_when_ready(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4]))
    gc.freeze()  # exit without a final collection over every object of Sphinx (half a second)
    sys.exit(code)

"""The book as a publication: the PDF, byte-identical rebuilds, and the HTML in a real browser.

One book is built from the default cohort with its PDF; a second, forced build of the same
data and commit must give the same results.json and figure files byte for byte. The HTML
is then opened in headless Chromium (Debian's, driven by Playwright); screenshots of every
page go to tests/_screenshots/ for review.
"""
from __future__ import annotations

import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from livingpaper import paths
from livingpaper.build import book as build_book
from livingpaper.build import pipeline, render

pytestmark = pytest.mark.slow
SCREENSHOTS = paths.ROOT / "tests" / "_screenshots"
NEEDS_CHROMIUM = pytest.mark.skipif(
    render.chromium() is None,
    reason="Chromium is not installed: `make test` installs it with apt-get (needs root); run `make browser`")


def files_digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    out = tmp_path_factory.mktemp("publication") / "book"
    pipeline.build(paths.DEFAULT_COHORT, out, log=lambda _: None, pdf=render.chromium() is not None)
    return out


# --------------------------------------------------------------------------- determinism


def test_rebuilding_from_the_same_data_and_commit_gives_identical_results_and_figures(book, tmp_path):
    again = tmp_path / "again"
    pipeline.build(paths.DEFAULT_COHORT, again, log=lambda _: None, force=True)
    assert (again / "results.json").read_bytes() == (book / "results.json").read_bytes()
    figures = files_digest(book / "html" / "_images")
    assert figures, "the book has figures"
    assert files_digest(again / "html" / "_images") == figures


# --------------------------------------------------------------------------- the reconstruction says so


def test_patterns_the_reconstruction_made_are_marked_in_results_json_and_on_their_pages(book):
    sections = json.loads((book / "results.json").read_text())["sections"]
    for name in ("source_comparison", "followup", "dose_correlation", "dose_comparison", "dose_regression",
                 "ancova", "change_on_baseline"):
        assert sections[name]["reconstruction_caveat"], name
    assert sections["safety"]["reconstruction_caveat"] is None
    beyond_page = (book / "html" / "chapters" / "beyond.html").read_text()
    dose_page = (book / "html" / "chapters" / "results" / "dose.html").read_text()
    assert beyond_page.count("Made by the reconstruction") >= 8
    assert "Made by the reconstruction" in dose_page and "chance by construction" in beyond_page


def test_on_the_reconstructed_cohort_results_pages_keep_matches_and_replication_says_by_construction(book):
    page = lambda name: (book / "html" / "chapters" / f"{name}.html").read_text()  # noqa: E731
    for name in ("results/overall", "results/moderate", "results/severe", "results/dose"):
        assert "Published vs reproduced" in page(name) and "✓ matches" in page(name), name
        assert "✗ differs" not in page(name) and "Published vs this cohort" not in page(name), name
    assert "agreement here is by construction" in page("replication")
    assert "This build is a <strong>replication</strong>" not in page("intro")
    replication = json.loads((book / "results.json").read_text())["sections"]["replication"]
    assert replication["reconstructed"] is True


# --------------------------------------------------------------------------- PDF


@NEEDS_CHROMIUM
def test_pdf_has_every_chapter_and_the_glued_headline_numbers(book):
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(book / "book.pdf")
    text = " ".join(page.extract_text() for page in reader.pages)
    text = re.sub(r"\s+", " ", text)
    chapters = [c for c in build_book.CHAPTERS]
    assert len(reader.pages) >= len(chapters)
    overall = json.loads((book / "results.json").read_text())["sections"]["overall"]
    assert f"{overall['mean_reduction']:.2f} percentage points" in text
    assert f"{overall['ci95_low']:.2f} to {overall['ci95_high']:.2f}" in text
    for heading in ("Methods", "All patients", "Severe diabetes", "Dose subgroups", "References",
                    "Published (Matsuoka 2025)"):
        assert heading in text, heading
    assert re.search(r"Fig\. \d+\.\d+", text), "figures are numbered"


# --------------------------------------------------------------------------- browser


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])


def parse(page: Path) -> _Anchors:
    parser = _Anchors()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def pages(book: Path) -> list[Path]:
    return sorted((book / "html" / "chapters").rglob("*.html"))


def test_every_internal_link_resolves(book):
    html = book / "html"
    broken = []
    for page in pages(book) + [html / "genindex.html"]:
        for href in parse(page).links:
            url = urlparse(href)
            if url.scheme or href.startswith("mailto:"):
                continue
            target = (page.parent / unquote(url.path)).resolve() if url.path else page
            if not target.is_file():
                broken.append(f"{page.relative_to(html)} -> {href}")
            elif url.fragment and url.fragment not in parse(target).ids:
                broken.append(f"{page.relative_to(html)} -> {href} (no such anchor)")
    assert not broken, broken[:20]


@pytest.fixture(scope="module")
def browser():
    if render.chromium() is None:
        pytest.skip("Chromium is not installed: `make test` installs it with apt-get (needs root)")
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=render.chromium(), args=list(render.CHROMIUM_FLAGS[1:]))
        yield instance
        instance.close()


def test_every_page_loads_with_its_figures_and_no_console_error_in_chromium(book, browser):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems = []
    for page_path in pages(book):
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        errors: list[str] = []
        page.on("console", lambda m, errors=errors: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
        page.goto(page_path.as_uri(), wait_until="load")
        name = str(page_path.relative_to(book / "html" / "chapters")).replace("/", "_").removesuffix(".html")
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
        images = page.evaluate("Array.from(document.images).map(i => [i.getAttribute('src'), i.naturalWidth])")
        problems += [f"{name}: image {src} did not load" for src, width in images if not width]
        problems += [f"{name}: console error: {e}" for e in errors]
        if page_path.parent.name == "results":
            assert images, f"{name} has no figure"
            assert page.locator("th", has_text="Published (Matsuoka 2025)").count() >= 1, name
        page.close()
    print(f"\nscreenshots of every page: {SCREENSHOTS}")
    assert not problems, problems
